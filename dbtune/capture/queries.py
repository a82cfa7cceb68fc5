"""``capture_queries()``: the public context manager, a listener that fills a list."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connections

from dbtune import conf
from dbtune.capture.events import QueryEvent
from dbtune.capture.hub import CaptureScope, Subscription, subscribe, unsubscribe
from dbtune.sql import SavepointNumbering
from dbtune.sql.savepoints import match_savepoint


class CapturedQueries(list[QueryEvent]):
    """The queries of one capture, in execution order (across threads: in completion order)."""

    @property
    def total_duration(self) -> float:
        """Seconds spent in all captured queries together."""
        return sum(event.duration for event in self)

    def by_fingerprint(self) -> dict[str, list[QueryEvent]]:
        """Events grouped by fingerprint, groups in order of first appearance."""
        groups: dict[str, list[QueryEvent]] = {}
        for event in self:
            groups.setdefault(event.fingerprint, []).append(event)
        return groups


class QueryCapture:
    """The context manager :func:`capture_queries` returns; entering yields the list."""

    def __init__(
        self,
        *,
        aliases: Iterable[str] | None,
        keep_params: bool,
        stack: bool,
        scope: CaptureScope,
    ) -> None:
        self.queries = CapturedQueries()
        self.aliases = None if aliases is None else tuple(aliases)
        self.keep_params = keep_params
        self.stack = stack
        self.scope: CaptureScope = scope
        self._savepoints = SavepointNumbering()
        self._subscription: Subscription | None = None

    def __enter__(self) -> CapturedQueries:
        if self._subscription is not None:
            raise RuntimeError("this capture_queries() block is already active")
        self._subscription = subscribe(
            self._record,
            aliases=self.aliases,
            keep_params=self.keep_params,
            stack=self.stack,
            scope=self.scope,
        )
        return self.queries

    def __exit__(self, *exc_info: object) -> None:
        if self._subscription is not None:
            unsubscribe(self._subscription)
            self._subscription = None

    def _record(self, event: QueryEvent) -> None:
        if match_savepoint(event.sql):
            label = self._savepoints.label_for(event.sql)
            event = event if label is None else event._labelled(label)
        self.queries.append(event)


def capture_queries(
    *,
    aliases: Iterable[str] | None = None,
    using: str | None = None,
    keep_params: bool | None = None,
    stack: bool = False,
    scope: CaptureScope = "process",
) -> QueryCapture:
    """Collect every query run inside the ``with`` block::

        with dbtune.capture_queries() as queries:
            ...
        queries[0].sql, queries[0].fingerprint, queries[0].callsite

    ``aliases`` (or ``using`` for one alias) limits the capture; the default is the
    ``DBTUNE["CAPTURE"]["ALIASES"]`` setting, whose default is every alias, in every thread,
    including connections opened after the block started. ``keep_params`` defaults to the
    ``DBTUNE["CAPTURE"]["KEEP_PARAMS"]`` setting (off: parameter values are never stored).
    ``stack=True`` also records every user frame (``event.stack``). ``scope="context"``
    keeps only queries run in this context (see :data:`~dbtune.capture.CaptureScope`): what
    a request middleware wants. Captures nest: inner and outer both see the queries of the
    inner block. Savepoint names are numbered ``sp1``, ``sp2``... per capture in
    ``normalized``/``fingerprint``. The list is filled while the block runs and stays valid
    afterwards; a query still running in another thread when the block ends is not added.
    """
    if using is not None:
        if aliases is not None:
            raise TypeError("pass either aliases= or using=, not both")
        aliases = (using,)
    if aliases is None:
        configured = conf.capture_aliases()
        if configured is not None:
            aliases = [alias for alias in configured if alias in connections.settings]
    return QueryCapture(
        aliases=aliases,
        keep_params=conf.keep_params() if keep_params is None else keep_params,
        stack=stack,
        scope=scope,
    )
