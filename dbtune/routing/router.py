"""``TableAffinityRouter``: reads of a table go to the replicas that table is affine to.

Decision order for a read of table ``t`` (first match wins, each logged at DEBUG on the
``dbtune.routing`` logger): inside :func:`~dbtune.routing.use_primary` -> primary; the
primary connection is in an atomic block in this thread -> primary; read-your-writes
``pin`` active -> primary; else the first healthy replica of ``AFFINITY[t]`` (or
``DEFAULT_REPLICAS``) that, with ``lsn`` read-your-writes, has replayed this context's
last write to ``t``; none qualifies -> primary. Writes always go to the primary.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import InterfaceError, OperationalError, connections, transaction
from django.db.backends.signals import connection_created
from django.db.models import Model
from django.db.models.signals import post_delete, post_save

from dbtune import conf
from dbtune.routing import reroute, tokens
from dbtune.routing.monitor import MONITOR, ReplicaMonitor, replica_aliases

logger = logging.getLogger("dbtune.routing")

FORCE_PRIMARY: ContextVar[int] = ContextVar("dbtune_routing_force_primary", default=0)
"""Depth of nested :func:`~dbtune.routing.use_primary` scopes in this context."""

ROUTED: ContextVar[list[str] | None] = ContextVar("dbtune_routing_routed", default=None)
"""When a list is set (by :func:`~dbtune.routing.retry_reads`), replicas chosen are added."""


def choose(table: str) -> str:
    """The alias a read of ``table`` should use right now, per the module's decision order."""
    options = conf.routing_view()
    primary = str(options["PRIMARY"])
    debug = logger.isEnabledFor(logging.DEBUG)
    reason = _primary_reason(primary, str(options["READ_YOUR_WRITES"]))
    if reason:
        if debug:
            logger.debug("read %s -> %s (%s)", table, primary, reason)
        return primary
    candidates = options["AFFINITY"].get(table, options["DEFAULT_REPLICAS"])
    token = tokens.lsn_for(table) if options["READ_YOUR_WRITES"] == "lsn" else None
    for alias in candidates:
        skip = ""
        if not MONITOR.healthy(alias):
            skip = "down"
        elif token is not None and (MONITOR.replay_lsn(alias) or 0) < token:
            skip = "behind own write"
        elif not _connectable(alias):
            skip = "cannot connect"
        if skip:
            if debug:
                logger.debug("read %s: skip %s (%s)", table, alias, skip)
            continue
        if debug:
            logger.debug("read %s -> %s", table, alias)
        routed = ROUTED.get()
        if routed is not None:
            routed.append(alias)
        return str(alias)
    if debug:
        logger.debug("read %s -> %s (no eligible replica)", table, primary)
    return primary


@contextmanager
def use_primary() -> Iterator[None]:
    """Send every read in this block (this context only) to the primary.

    Usable as ``with use_primary():`` and as a decorator ``@use_primary()``; nests.
    """
    reset = FORCE_PRIMARY.set(FORCE_PRIMARY.get() + 1)
    try:
        yield
    finally:
        FORCE_PRIMARY.reset(reset)


def replica_for(table: str) -> str:
    """The alias a read of ``table`` would use right now (a replica or the primary)."""
    return choose(table)


_OPENED = threading.local()
"""Per thread: alias -> the Django connection wrapper :func:`_connectable` last saw open."""


def _connectable(alias: str) -> bool:
    """Open ``alias``'s connection in this thread if it is not open yet.

    A replica that refuses the connection is marked down and ``False`` returned, so the
    read goes to the next candidate instead of failing; an open connection costs nothing
    here (a broken one is handled when its query fails, by :mod:`~dbtune.routing.reroute`).
    The wrapper seen open is remembered per thread, because ``connections[alias]`` alone
    costs more than the rest of a routing decision; a remembered wrapper that has since
    been closed falls back to the lookup.
    """
    seen: dict[str, Any] | None = getattr(_OPENED, "wrappers", None)
    if seen is None:
        seen = _OPENED.wrappers = {}
    wrapper = seen.get(alias)
    if wrapper is not None and wrapper.connection is not None:
        return True
    wrapper = connections[alias]
    if wrapper.connection is None:
        try:
            wrapper.ensure_connection()
        except (OperationalError, InterfaceError) as exc:
            logger.warning("replica %s refuses connections: %s", alias, str(exc).strip()[:200])
            MONITOR.mark_down(alias)
            return False
    seen[alias] = wrapper
    return True


def _primary_reason(primary: str, mode: str) -> str:
    if FORCE_PRIMARY.get():
        return "use_primary"
    if connections[primary].in_atomic_block:
        return "atomic block"
    if mode == "pin" and tokens.pinned():
        return "pinned after write"
    return ""


def note_write(table: str) -> None:
    """Record a write to ``table`` on the primary for read-your-writes, once it commits.

    Called for every ``post_save``/``post_delete`` while the router is installed; call it
    yourself after ``QuerySet.update()``, ``bulk_create()`` or raw SQL, which send no
    signals. With ``lsn`` it captures ``pg_current_wal_lsn()`` on the primary right after
    the commit; with ``pin`` it pins reads to the primary; with ``off`` it does nothing.
    """
    options = conf.routing()
    mode, primary = options["READ_YOUR_WRITES"], str(options["PRIMARY"])
    window = float(options["READ_YOUR_WRITES_WINDOW"])
    if mode == "pin":
        transaction.on_commit(lambda: tokens.pin(window), using=primary)
    elif mode == "lsn":

        def capture() -> None:
            with connections[primary].cursor() as cursor:
                cursor.execute("SELECT pg_current_wal_lsn()::text")
                row = cursor.fetchone()
            if row is not None:
                tokens.record_lsn(table, tokens.parse_lsn(row[0]), window)

        transaction.on_commit(capture, using=primary)


def _installed() -> bool:
    from django.db import router

    return any(isinstance(r, TableAffinityRouter) for r in router.routers)


def _on_write(sender: type[Model], using: str, **kwargs: Any) -> None:
    if using == conf.routing()["PRIMARY"] and _installed():
        note_write(sender._meta.db_table)


class TableAffinityRouter:
    """A Django database router; add ``"dbtune.routing.TableAffinityRouter"`` to
    ``DATABASE_ROUTERS`` and configure ``DBTUNE["ROUTING"]``."""

    monitor: ReplicaMonitor = MONITOR

    def __init__(self) -> None:
        post_save.connect(_on_write, dispatch_uid="dbtune.routing.post_save")
        post_delete.connect(_on_write, dispatch_uid="dbtune.routing.post_delete")
        connection_created.connect(reroute.install, dispatch_uid="dbtune.routing.failover")

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        self.monitor.ensure_started()
        return choose(model._meta.db_table)

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        return str(conf.routing()["PRIMARY"])

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        options = conf.routing()
        members = {options["PRIMARY"], *replica_aliases(options)}
        if obj1._state.db in members and obj2._state.db in members:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        options = conf.routing()
        if db == options["PRIMARY"]:
            return True
        if db in replica_aliases(options):
            return False
        return None
