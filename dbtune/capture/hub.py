"""The listener registry, and where the one execute wrapper per connection goes.

How connections are reached. Django keeps one ``DatabaseWrapper`` per alias *per thread*.
While any listener is active, dbtune's wrapper is in ``execute_wrappers`` of: every connection
of a subscribing thread; every connection opened anywhere afterwards (the
``connection_created`` signal fires in the opening thread); and every connection dbtune has
seen opened since it started tracking (see :func:`track_connections`), which covers
connections other threads already hold. When the last listener goes, every wrapper dbtune
added is removed again, also after exceptions. The wrapper is inserted *first* in the list
(outermost), so Django's own ``connection.execute_wrapper()`` blocks, which append and pop
the last item, stay balanced around it. (Changing another thread's list while that thread is
between building and running its wrapper chain could skip or repeat one wrapper for that
one query; the window is a few bytecodes wide and only exists when the thread has wrappers
of its own.)

The wrapper itself (:mod:`dbtune.capture.wrapper`) reads an immutable snapshot of the
listeners that this module replaces under a lock on every change.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable
from contextlib import suppress
from typing import Any, Literal

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.utils.connection import ConnectionDoesNotExist

from dbtune.capture import wrapper
from dbtune.capture.events import QueryEvent

CaptureScope = Literal["process", "context"]
"""``process``: queries from every thread. ``context``: only queries run in the subscribing
``contextvars`` context (the request's thread or task, and tasks/threads that copy it, such as
asgiref's ``sync_to_async``); threads started with ``threading.Thread`` are not included."""

Listener = Callable[[QueryEvent], None]


class Subscription:
    """A registered listener; pass it to :func:`unsubscribe` or use it as a context manager."""

    __slots__ = (
        "active",
        "aliases",
        "callback",
        "digest",
        "keep_params",
        "on_error",
        "scope",
        "scoped",
        "stack",
    )

    def __init__(
        self,
        callback: Listener,
        aliases: frozenset[str] | None,
        keep_params: bool,
        stack: bool,
        scope: CaptureScope,
        digest: bool = False,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        self.callback = callback
        self.aliases = aliases
        self.keep_params = keep_params
        self.digest = digest
        self.on_error = on_error
        self.stack = stack
        self.scope = scope
        self.scoped = scope == "context"
        self.active = True

    def close(self) -> None:
        unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc_info: object) -> None:
        unsubscribe(self)


_lock = threading.RLock()
_subscriptions: list[Subscription] = []
_known: weakref.WeakSet[BaseDatabaseWrapper] = weakref.WeakSet()
_installed: weakref.WeakKeyDictionary[BaseDatabaseWrapper, wrapper.Wrapper] = (
    weakref.WeakKeyDictionary()
)
_tracking = False


def _install(connection: BaseDatabaseWrapper) -> None:
    if connection not in _installed:
        installed = wrapper.make_wrapper(connection.alias, connection.vendor)
        connection.execute_wrappers.insert(0, installed)
        _installed[connection] = installed


def _uninstall_all() -> None:
    for connection, installed in list(_installed.items()):
        with suppress(ValueError):
            connection.execute_wrappers.remove(installed)
    _installed.clear()


def _on_connection_created(sender: object, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    with _lock:
        _known.add(connection)
        if wrapper.current is not None:
            _install(connection)


def track_connections() -> None:
    """Remember, weakly, every connection opened in this process from now on. Idempotent.

    Subscribing calls this; calling it earlier (e.g. from ``AppConfig.ready``) also lets
    captures reach connections other threads opened before the first capture and keep
    open. Tracking only records weak references; it never wraps anything by itself.
    """
    global _tracking
    if not _tracking:
        connection_created.connect(
            _on_connection_created, weak=False, dispatch_uid="dbtune.capture.track_connections"
        )
        _tracking = True


def _rebuild() -> None:
    """Publish a new snapshot of the listeners for the wrapper to read."""
    if not _subscriptions:
        wrapper.current = None
        return
    keep_params = any(s.keep_params for s in _subscriptions)
    stack = any(s.stack for s in _subscriptions)
    wrapper.current = wrapper.Hub(
        targets=tuple(
            (s, (keep_params and not s.keep_params) or (stack and not s.stack))
            for s in _subscriptions
        ),
        keep_params=keep_params,
        stack=stack,
        digest=any(s.digest for s in _subscriptions),
    )


def _check_aliases(aliases: Iterable[str] | None) -> frozenset[str] | None:
    if aliases is None:
        return None
    chosen = frozenset(aliases)
    unknown = sorted(chosen - set(connections.settings))
    if unknown:
        raise ConnectionDoesNotExist(f"The connection {unknown[0]!r} doesn't exist.")
    return chosen


def subscribe(
    callback: Listener,
    *,
    aliases: Iterable[str] | None = None,
    keep_params: bool = False,
    stack: bool = False,
    scope: CaptureScope = "process",
    params_digest: bool = False,
    on_error: Callable[[Exception], None] | None = None,
) -> Subscription:
    """Call ``callback(event)`` after every query until :func:`unsubscribe`.

    Contract for ``callback``: it runs synchronously in the thread that ran the query, right
    after the query returned or failed (``event.error`` names the exception class; the query's
    exception is re-raised afterwards). It must be quick and thread-safe. Queries it runs
    itself are not reported (to it or to anyone). An exception it raises reaches the code that
    ran the query once every listener has been called, unless the query itself failed.

    ``aliases``: only these aliases (default: all, including aliases added later).
    ``keep_params``: include parameter values in ``event.params`` (default: never stored).
    ``stack``: fill ``event.stack`` with every user frame, not just ``event.callsite``.
    ``scope``: see :data:`CaptureScope`.
    ``params_digest``: fill ``event.params_digest`` (a hash of the parameters, not the
    values; every listener sees it): all a detector needs to tell repeated parameters apart.
    ``on_error``: called (inside the ``except`` block) with an exception ``callback`` raised,
    which then never reaches the code that ran the query; for listeners that must not break
    it, without a guarding frame of their own on every query.
    """
    subscription = Subscription(
        callback, _check_aliases(aliases), keep_params, stack, scope, params_digest, on_error
    )
    if scope == "context":
        wrapper.scopes.set(wrapper.scopes.get() | {subscription})
    track_connections()
    with _lock:
        first = wrapper.current is None
        _subscriptions.append(subscription)
        _rebuild()
        for connection in connections.all(initialized_only=True):
            if connection not in _installed:
                _known.add(connection)
                _install(connection)
        if first:  # while anyone listens, every known connection is wrapped already
            for connection in list(_known):
                _install(connection)
    return subscription


def unsubscribe(subscription: Subscription) -> None:
    """Stop ``subscription``; the last one out removes every installed wrapper. Idempotent."""
    if subscription.scope == "context":
        wrapper.scopes.set(wrapper.scopes.get() - {subscription})
    with _lock:
        if not subscription.active:
            return
        subscription.active = False
        _subscriptions.remove(subscription)
        _rebuild()
        if not _subscriptions:
            _uninstall_all()
