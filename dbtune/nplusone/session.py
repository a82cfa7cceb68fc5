"""One detection session: a capture listener that folds every query into groups.

Memory stays bounded by the number of distinct patterns, not queries: a query run during
an ORM lazy load (``LOAD`` is set) joins the :class:`LoadGroup` of its relation and access
site; every other query joins the :class:`SqlGroup` of its alias, fingerprint and site.
Parameter values are never kept, only whether a group saw more than one set of them.
"""

from __future__ import annotations

import logging
import os
import sys
from types import CodeType, FrameType
from typing import Any

from dbtune.capture.events import params_digest
from dbtune.nplusone import hooks, sites
from dbtune.nplusone.state import (
    ALLOW,
    LOAD,
    MANAGERS,
    MARKED_TABLES,
    PENDING,
    Batch,
    Load,
    Location,
    Tag,
)

logger = logging.getLogger("dbtune.nplusone")

MAX_ORIGINS = 64
"""Distinct origins a load group remembers; memory stays flat in million-row loops."""
MAX_TEXTS = 4096
"""Distinct (alias, SQL text, site) a session memoises; SQL with inlined literals must not
grow memory with every query."""
_STATEMENTS = frozenset({"select", "insert", "update", "delete"})
_COUNTING = frozenset({"count", "exists", "aggregate"})


class Group:
    """What every group records: size, first site and alias, parameter variety, allow().

    ``site`` is the access site shown; when a template triggered the queries it is the
    template line, and ``rendered_at`` the Python line that rendered it. ``where`` is
    ``site`` unformatted: ``(file, line)``.
    """

    __slots__ = ("alias", "allow", "count", "distinct", "first_key", "rendered_at", "site", "where")

    def __init__(self, alias: str, site: str | None, key: int, allow: tuple[str, ...]) -> None:
        self.alias = alias
        self.site = site
        self.rendered_at: str | None = None
        self.where: Location | None = None
        self.count = 0
        self.first_key = key
        self.distinct = False
        self.allow = allow

    def add(self, key: int, allow: tuple[str, ...]) -> None:
        self.count += 1
        if key != self.first_key:
            self.distinct = True
        if allow is not self.allow:
            self.narrow(allow)

    def narrow(self, allow: tuple[str, ...]) -> None:
        """Keep the patterns also in ``allow``: a pattern must cover every query."""
        self.allow = tuple(pattern for pattern in self.allow if pattern in allow)


class LoadGroup(Group):
    """Lazy loads of one relation (``model.field``, ``variant``) at one access site."""

    __slots__ = ("first", "last", "loads", "overflow", "query", "tags", "untagged", "variant")

    def __init__(
        self,
        alias: str,
        site: str | None,
        key: int,
        allow: tuple[str, ...],
        load: Load,
        query: Any,
        variant: str,
    ) -> None:
        super().__init__(alias, site, key, allow)
        self.first = load
        self.query = query
        self.variant = variant
        self.last: Load | None = None
        self.loads = 0
        self.untagged = 0
        self.overflow = 0
        self.tags: dict[Tag, int] = {}

    def add_load(self, load: Load, key: int, allow: tuple[str, ...]) -> None:
        self.add(key, allow)
        if load is not self.last:
            self.new_load(load)

    def new_load(self, load: Load) -> None:
        """Count a load this group has not seen yet (its first query)."""
        self.last = load
        self.loads += 1
        tag = load.tag
        if tag is None:
            self.untagged += 1
        elif tag in self.tags or len(self.tags) < MAX_ORIGINS:
            self.tags[tag] = self.tags.get(tag, 0) + 1
        else:  # so many origins at one site: a loop, whatever their sizes
            self.overflow += 1


class SqlGroup(Group):
    """Queries with one fingerprint from one site on one alias, outside any lazy load."""

    __slots__ = ("fingerprint", "op", "op_model", "query", "sql", "statement", "tables")

    def __init__(
        self, event: Any, site: str | None, key: int, allow: tuple[str, ...], found: sites.Scan
    ) -> None:
        super().__init__(event.alias, site, key, allow)
        self.fingerprint = event.fingerprint
        self.statement = event.kind
        self.tables = event.tables
        self.sql = event.sql
        self.op = found.op
        self.op_model = _model_label(found.op_frame)
        self.query = _query(found.execute)


def _query(execute: FrameType | None) -> Any:
    """The ``Query`` a compiler's ``execute_sql`` frame runs (``None`` for raw SQL)."""
    compiler = None if execute is None else execute.f_locals.get("self")
    return getattr(compiler, "query", None)


def _model_label(frame: FrameType | None) -> str | None:
    """The model an operation frame (``QuerySet.get``, ``Model.save_base``...) acts on."""
    owner = None if frame is None else frame.f_locals.get("self")
    meta = getattr(owner, "_meta", None) or getattr(getattr(owner, "model", None), "_meta", None)
    return None if meta is None else str(meta.label)


class Session:
    """The state of one ``detect()`` block; :meth:`on_query` is its capture listener."""

    def __init__(self) -> None:
        self.loads: dict[tuple[str, str, str, Location | None], LoadGroup] = {}
        self.groups: dict[tuple[str, str, Location], SqlGroup] = {}
        self.eager_batches: list[Batch] = []
        self.queries = 0
        self.internal_errors = 0
        self._texts: dict[tuple[str, str, Location], SqlGroup] = {}
        """SQL groups by exact text, so that repeated texts skip the fingerprint."""

    def on_query(self, event: Any) -> None:
        """Capture listener: must never raise into the code that ran the query."""
        try:
            self._record(event)
        except Exception as exc:  # a detector bug must not break the application's query
            self.on_error(exc)

    def on_error(self, exc: Exception) -> None:
        """A query the listener failed on: counted and logged at DEBUG, never raised.
        (``detect()`` subscribes :meth:`_record` with this as the capture's ``on_error``:
        one frame less per query than :meth:`on_query`.)"""
        self.internal_errors += 1
        logger.debug("dbtune N+1 detector failed on a query", exc_info=exc)

    def _record(self, event: Any) -> None:
        """Fold one query into its group. The hot path: a few dict reads per query; what
        a report needs beyond the group keys is resolved once per new group."""
        if event.error is not None:
            return
        sql = event.sql
        if not sql.startswith(_PREFIXES) and not _is_statement(event):
            return
        self.queries += 1
        found: sites.Scan | None = None
        try:
            site: Location | None = event._location
            key: int | None = event.params_digest
        except AttributeError:  # another capture implementation
            site, key = _location(event), getattr(event, "params_digest", None)
        caller: FrameType | None = None  # the cursor's caller: fetched when needed
        loop = _ASGIREF.__dict__.get("main_event_loop")  # sites.maybe_awaited(), inlined
        if site is None or (loop is not None and loop.is_running()):
            caller = _cursor_caller()
            found = sites.scan(caller)
            site = found.location  # None: no user code on the stack (e.g. the admin)
        if key is None:  # another capture implementation, or one that did not ask for it
            key = 0 if event.many else params_digest(event.params)
        allow = ALLOW.get()
        load = LOAD.get()
        if load is None and MANAGERS:
            pending = PENDING.get()
            if pending is not None:  # a related manager's rows are being fetched: this query?
                caller = caller or _cursor_caller()
                if (
                    caller is not None
                    and caller.f_back is pending[1]
                    and caller.f_code is hooks.EXECUTE_SQL
                ):
                    load = pending[0]
            if load is None:
                for table in MARKED_TABLES:  # else no related manager's query can be running
                    if table in sql:
                        load = hooks.compiler_load(caller or _cursor_caller())
                        break
        if load is not None:
            if load.counts:
                group_key = (load.model, load.field, load.variant, site)
                group = self.loads.get(group_key)
                if group is None:
                    caller = caller or _cursor_caller()
                    group = self._new_load_group(event, load, site, key, allow, found, caller)
                group.count += 1  # LoadGroup.add_load(), inlined
                if key != group.first_key:
                    group.distinct = True
                if allow is not group.allow:
                    group.narrow(allow)
                if load is not group.last:  # LoadGroup.new_load(), inlined
                    group.last = load
                    group.loads += 1
                    tag = load.tag
                    if tag is None:
                        group.untagged += 1
                    else:
                        tags = group.tags
                        seen = tags.get(tag)
                        if seen is not None:
                            tags[tag] = seen + 1
                        elif len(tags) < MAX_ORIGINS:
                            tags[tag] = 1
                        else:  # so many origins at one site: a loop, whatever their sizes
                            group.overflow += 1
            return
        if site is None:  # only library code ran it: nothing a developer could change
            return
        text_key = (event.alias, sql, site)
        sql_group = self._texts.get(text_key)
        if sql_group is None:
            caller = caller or _cursor_caller()
            sql_group = self._sql_group(event, site, key, allow, found, caller)
            if len(self._texts) < MAX_TEXTS:
                self._texts[text_key] = sql_group
        sql_group.count += 1
        if key != sql_group.first_key:
            sql_group.distinct = True
        if allow is not sql_group.allow:
            sql_group.narrow(allow)

    def _new_load_group(
        self,
        event: Any,
        load: Load,
        site: Location | None,
        key: int,
        allow: tuple[str, ...],
        found: sites.Scan | None,
        caller: FrameType | None,
    ) -> LoadGroup:
        """A new group for the loads of ``load``'s relation at ``site``."""
        query, variant = load.query, load.variant
        if query is None or variant == "single":
            found = found or sites.scan(caller)
            query = query if query is not None else _query(found.execute)
            if variant == "single":
                variant = found.op if found.op in _COUNTING else "exists"
        group = LoadGroup(event.alias, "", key, allow, load, query, variant)
        _place(group, site, caller, found)
        self.loads[(load.model, load.field, load.variant, site)] = group
        return group

    def _sql_group(
        self,
        event: Any,
        site: Location,
        key: int,
        allow: tuple[str, ...],
        found: sites.Scan | None,
        caller: FrameType | None,
    ) -> SqlGroup:
        """The group of the statement's fingerprint at ``site`` (created if new)."""
        sql_key = (event.alias, event.fingerprint, site)
        group = self.groups.get(sql_key)
        if group is None:
            found = found or sites.scan(caller)
            group = self.groups[sql_key] = SqlGroup(event, "", key, allow, found)
            _place(group, site, caller, found)
        return group


def _location(event: Any) -> Location | None:
    """The capture's ``(file, line)`` of the event, unformatted (formatting reads the
    working directory, which is too slow to do per query)."""
    location: Any = getattr(event, "_location", _NO_LOCATION)
    if location is _NO_LOCATION:  # another capture implementation: parse the public site
        site = event.callsite
        if site is None:
            return None
        path, _, line = site.rpartition(":")
        return os.path.abspath(path), int(line)
    return location  # type: ignore[no-any-return]  # (str, int) by QueryEvent's contract


def _is_statement(event: Any) -> bool:
    """SELECT/INSERT/UPDATE/DELETE, not transaction control: Django's SQL starts with its
    keyword, so a prefix decides; anything else asks the (slower) SQL analysis."""
    head = event.sql[:6].upper()
    if head in _HEADS:
        return True
    return bool(event.kind in _STATEMENTS)


_HEADS = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"})
_PREFIXES = tuple(_HEADS)
_ASGIREF = sites.ASGIREF_LOCAL


def _place(
    group: Group,
    site: Location | None,
    cursor_caller: FrameType | None,
    found: sites.Scan | None = None,
) -> None:
    """Set where a new group's queries come from (a template line, if one rendered them);
    ``found``, a scan from ``cursor_caller``, already knows the template line."""
    shown = sites.fmt(site)
    template = sites.template_site(cursor_caller) if found is None else found.template
    if template is None:
        group.site, group.where = shown, site
    else:
        group.site, group.rendered_at = sites.fmt(template), shown
        group.where = template


_NO_LOCATION: Any = object()
_SKIP: dict[CodeType, int] = {}


def _cursor_caller() -> FrameType | None:
    """The frame that called the database cursor, for :meth:`Session._record` (the only
    caller). Its distance from the listener never changes for a given path into the
    listener (the capture's ``_deliver``, or :meth:`Session.on_query` under it), so it is
    measured once per path; ``sys._getframe(n)`` creates no frame object for the ``n`` it
    skips, and the capture wrapper has already created those above the cursor's caller."""
    path = sys._getframe(2).f_code  # what called Session._record
    skip = _SKIP.get(path)
    if skip is None:
        depth = 0
        walker: FrameType | None = sys._getframe(1)  # Session._record
        while walker is not None and walker.f_code.co_name != "dbtune_capture":
            depth, walker = depth + 1, walker.f_back
        # Above the wrapper: Django's _execute_with_wrappers, then CursorWrapper.execute.
        skip = _SKIP[path] = depth + 3 if walker is not None else 1
    try:
        return sys._getframe(skip + 1)
    except ValueError:
        return sys._getframe(1).f_back
