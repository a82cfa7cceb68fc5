"""The execute wrapper: the only dbtune code that runs on every query.

It does no SQL parsing and takes no lock: it reads the current :class:`Hub` snapshot (one
global, replaced atomically by :mod:`dbtune.capture.hub`), times the query, finds the user
call site and hands one :class:`~dbtune.capture.events.QueryEvent` to each listener.
"""

from __future__ import annotations

import contextvars
import sys
import threading
from collections.abc import Callable
from contextlib import suppress
from time import perf_counter
from types import FrameType
from typing import TYPE_CHECKING, Any, NamedTuple

from dbtune import callsite
from dbtune.capture.events import QueryEvent, params_digest

if TYPE_CHECKING:
    from dbtune.capture.hub import Subscription

Execute = Callable[[Any, Any, bool, dict[str, Any]], Any]
Wrapper = Callable[[Execute, Any, Any, bool, dict[str, Any]], Any]


class Hub(NamedTuple):
    """An immutable snapshot of the listeners, swapped atomically on every change."""

    targets: tuple[tuple[Subscription, bool], ...]  # (listener, needs a stripped copy)
    keep_params: bool
    stack: bool
    digest: bool = False


current: Hub | None = None
"""The active listeners, or ``None`` when nobody listens (the wrapper then only forwards)."""
busy: set[int] = set()
"""Threads currently inside a listener: queries they run are not reported."""
scopes: contextvars.ContextVar[frozenset[Subscription]] = contextvars.ContextVar(
    "dbtune_capture_scopes", default=frozenset()
)
"""Context-scoped subscriptions active in the current ``contextvars`` context."""
_get_ident = threading.get_ident


def make_wrapper(alias: str, vendor: str) -> Wrapper:
    """A Django execute wrapper for one connection (``alias`` and ``vendor`` are baked in).

    With no listeners it only forwards. Otherwise it times the query, builds the event,
    delivers it and re-raises the query's exception, or else the first listener exception.
    """

    def dbtune_capture(
        execute: Execute, sql: Any, params: Any, many: bool, context: dict[str, Any]
    ) -> Any:
        hub = current
        if hub is None:
            return execute(sql, params, many, context)
        thread_id = _get_ident()
        if thread_id in busy:
            return execute(sql, params, many, context)
        if many and hub.keep_params and not isinstance(params, list | tuple | None):
            params = list(params)  # an iterator would be consumed by the driver
        error: str | None = None  # the class name only: keeping the exception makes a cycle
        started = perf_counter()
        try:
            return execute(sql, params, many, context)
        except BaseException as exc:
            error = type(exc).__name__
            raise
        finally:
            duration = perf_counter() - started
            # Frames 1-2 are Django's _execute_with_wrappers and CursorWrapper.execute (or
            # wrappers outside ours): never the call site. Starting above them saves two frame
            # objects per query, which is most of what walking costs.
            try:
                frame: FrameType | None = sys._getframe(3)
            except ValueError:
                frame = None
            digest = None
            if hub.digest:
                if many:
                    digest = 0
                elif type(params) is tuple:  # params_digest(), inlined for the usual case
                    try:
                        digest = hash(params)
                    except TypeError:
                        digest = params_digest(params)
                else:
                    digest = params_digest(params)
            event = QueryEvent(
                alias,
                vendor,
                sql if type(sql) is str else _as_text(sql),
                params if hub.keep_params else None,
                many,
                duration,
                started,
                thread_id,
                error,
                callsite.locate(frame),
                callsite.user_frames(frame) if hub.stack else None,
                digest,
            )
            failure = _deliver(hub, event, alias, thread_id)
            if failure is not None and error is None:
                raise failure  # replaces the return value: the query succeeded, a listener didn't

    return dbtune_capture


def _deliver(hub: Hub, event: QueryEvent, alias: str, thread_id: int) -> Exception | None:
    """Hand ``event`` to every interested listener; return the first listener error."""
    failure: Exception | None = None
    active: frozenset[Subscription] | None = None  # the context's scopes, read once
    busy.add(thread_id)
    try:
        for subscription, strip in hub.targets:
            aliases = subscription.aliases
            if not subscription.active or (aliases is not None and alias not in aliases):
                continue
            if subscription.scoped:
                if active is None:
                    active = scopes.get()
                if subscription not in active:
                    continue
            try:
                subscription.callback(
                    event._stripped(subscription.keep_params, subscription.stack)
                    if strip
                    else event
                )
            except Exception as exc:
                handler = subscription.on_error
                if handler is not None:
                    try:
                        handler(exc)
                    except Exception as handler_exc:  # reported like the listener's own
                        if failure is None:
                            failure = handler_exc
                elif failure is None:
                    failure = exc
    finally:
        busy.discard(thread_id)
    return failure


def _as_text(sql: Any) -> str:
    """SQL given as bytes or a psycopg ``Composable`` instead of ``str``."""
    if isinstance(sql, bytes):
        return sql.decode("utf-8", "replace")
    with suppress(Exception):
        return str(sql.as_string(None))
    return str(sql)
