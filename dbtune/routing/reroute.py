"""Automatic failover of reads: a read that loses its replica is re-run on the next one.

Installed by :class:`~dbtune.routing.TableAffinityRouter` as an execute wrapper on every
replica connection (outermost, so query capture still sees the failed attempt). When a
``SELECT`` fails because the replica's connection is gone (server stopped, restarted,
network cut: SQLSTATE class 08, 57P01-57P03, or no SQLSTATE at all) outside an atomic
block, its Django connection is closed and the statement run again: on a fresh connection
to the same replica if it accepts one (it restarted), else the replica is marked down and
the statement runs where the router now sends its first table. The caller's cursor then
reads the rows of the new one. A replica target has this wrapper too, so a second dead
replica falls through to the next candidate and, at the end, to the primary. Errors of
the query itself (syntax, statement timeout, conflicts) are never retried.

Connections that cannot be opened at all are handled before any query, by the router
(:func:`~dbtune.routing.router.choose` skips and marks down a replica it cannot connect to).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from django.db import InterfaceError, OperationalError, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from dbtune import conf
from dbtune.routing.monitor import MONITOR, replica_aliases

logger = logging.getLogger("dbtune.routing")

_RETRYING = threading.local()
"""Aliases this thread is re-running a read on: a second loss there marks them down."""

_LOST_STATES = frozenset({"57P01", "57P02", "57P03"})
"""admin_shutdown, crash_shutdown, cannot_connect_now: the server is going away."""


def connection_lost(exc: BaseException) -> bool:
    """Whether a Django database error means the connection is gone, not the query wrong."""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    state = getattr(exc.__cause__, "sqlstate", None)
    return state is None or str(state).startswith("08") or state in _LOST_STATES


def _is_read(sql: str) -> bool:
    head = sql.lstrip()[:6].upper()
    return head == "SELECT" or head.startswith("WITH")


def failover_wrapper(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """Execute wrapper (Django's ``execute_wrappers`` protocol); see the module docstring."""
    try:
        return execute(sql, params, many, context)
    except (OperationalError, InterfaceError) as exc:
        connection: BaseDatabaseWrapper = context["connection"]
        if many or connection.in_atomic_block or not _is_read(sql) or not connection_lost(exc):
            raise
        return _rerun(connection.alias, sql, params, context["cursor"], exc)


def _rerun(alias: str, sql: str, params: Any, cursor: Any, error: Exception) -> Any:
    """Re-run a read whose connection to ``alias`` broke: on a fresh connection to the
    same replica when it accepts one (it restarted; no reason to leave it), else on the
    router's next choice after marking ``alias`` down."""
    from dbtune.routing.router import choose
    from dbtune.sql import tables

    with contextlib.suppress(Exception):  # the connection is broken; closing may complain
        connections[alias].close()
    retrying = _retrying()
    target = alias
    if alias in retrying or not _reconnects(alias):
        MONITOR.mark_down(alias)
        found = tables(sql)
        target = choose(found[0]) if found else str(conf.routing()["PRIMARY"])
        if target == alias:
            raise error
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
    logger.warning("read failed on %s (%s); re-running it on %s", alias, reason, target)
    retrying.add(alias)
    try:
        replacement = connections[target].cursor()
        result = replacement.execute(sql, params)
    finally:
        retrying.discard(alias)
    # The caller fetches from its own cursor wrapper: hand it the cursor holding the rows.
    cursor.cursor = replacement.cursor
    return result


def _retrying() -> set[str]:
    found: set[str] | None = getattr(_RETRYING, "aliases", None)
    if found is None:
        found = _RETRYING.aliases = set()
    return found


def _reconnects(alias: str) -> bool:
    try:
        connections[alias].ensure_connection()
    except (OperationalError, InterfaceError):
        return False
    return True


def install(sender: object, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """``connection_created`` receiver: wrap replica connections once, outermost."""
    if connection.alias not in replica_aliases(conf.routing()):
        return
    if failover_wrapper not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, failover_wrapper)
