"""The ORM hook points, as wrapper factories: ``factory(original) -> replacement``.

Each replacement calls the original unchanged and only observes: it tags rows, marks
querysets and records which relation a lazy load loads (the ``LOAD`` context variable).
With no session in the current context every wrapper goes straight to the original.
Which ORM operation ran a query is read from the stack by the listener, and only when a
new group needs it, so no operation wrapper sits on every query's path; so is the related
manager a query comes from (:func:`compiler_load`), so no compiler class is hooked.
:mod:`.patches` applies and removes the hooks; the relation descriptor hooks live in
:mod:`.relations`.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from django.db.models.sql.compiler import SQLCompiler, SQLDeleteCompiler, SQLUpdateCompiler
from django.db.models.sql.constants import MULTI, SINGLE

from dbtune.nplusone import sites, tagging
from dbtune.nplusone.state import (
    LOAD,
    MANAGERS,
    PENDING,
    SESSIONS,
    SITE_KEY,
    SOURCE_KEY,
    TAG_KEY,
    Load,
    Site,
    Source,
    load_of,
)

Factory = Callable[[Any], Any]
EXECUTE_SQL = sites.code_of(SQLCompiler.execute_sql)
_WRITES = (SQLDeleteCompiler, SQLUpdateCompiler)


def model_iterable_iter(original: Any) -> Any:
    def __iter__(self: Any) -> Iterator[Any]:
        sessions = SESSIONS.get()
        if not sessions:
            yield from original(self)
            return
        pending = None
        rows = original(self)
        queryset = self.queryset
        if MANAGERS and LOAD.get() is None:
            query = queryset.query
            if SOURCE_KEY in query.__dict__:  # a related manager's rows: tell the listener
                load = relation_load(query, MULTI)
                if load is not None:
                    pending = PENDING.set((load, rows.gi_frame))
        batch = tag = tree = None
        try:
            for obj in rows:
                if pending is not None:  # the query has run
                    PENDING.reset(pending)
                    pending = None
                if tag is None:
                    if LOAD.get() is not None:
                        tag = tagging.lazy_single_tag(queryset)
                    if tag is None:
                        batch = tagging.open_batch(queryset, sessions)
                        tag = batch.root_tag()
                        select = batch.select
                        tree = select if isinstance(select, dict) and select else None
                if batch is not None:
                    batch.size += 1
                    if tree is not None:
                        tagging.walk_selected(tag, obj, tree)
                obj._state.__dict__[TAG_KEY] = tag
                yield obj
        except BaseException:
            rows.close()
            raise
        finally:
            if pending is not None:  # no rows, or the query failed
                PENDING.reset(pending)

    return functools.wraps(original)(__iter__)


def manager_get_queryset(original: Any) -> Any:
    def get_queryset(self: Any) -> Any:
        queryset = original(self)
        # Lazy loads are never roots of a fix; related managers mark their own querysets,
        # from a frame closer to the user's (see relations.related_get_queryset).
        if SESSIONS.get() and LOAD.get() is None and type(self) not in MANAGERS:
            meta = getattr(getattr(queryset, "_query", None), "__dict__", None)
            if meta is not None and SITE_KEY not in meta:
                meta[SITE_KEY] = Site(sites.construction(sys._getframe(1)))
        return queryset

    return functools.wraps(original)(get_queryset)


_COMPILER_HOPS = 4
"""Frames between a cursor's caller and ``SQLCompiler.execute_sql`` that are searched:
cursor wrappers (``DEBUG``'s ``CursorDebugWrapper``, a toolbar's) sit in between."""


def compiler_load(frame: FrameType | None) -> Load | None:
    """A :class:`Load` if the query being run at ``frame`` (the cursor's caller) is one of
    a related manager's (``author.books.all()``), found from the compiler running it.

    Read by the listener instead of hooking ``SQLCompiler.execute_sql``: replacing an
    attribute of that class on every block would invalidate CPython's attribute caches of
    every compiler class twice per request, which costs more than this lookup. Only called
    once a block has met a related manager (see :data:`~dbtune.nplusone.state.MANAGERS`),
    for SQL that names a table such a manager queried (``MARKED_TABLES``): no other query
    can be one. The frames are the capture wrapper's, already
    materialised by its call-site walk.
    """
    for _ in range(_COMPILER_HOPS):
        if frame is None:
            return None
        if frame.f_code is EXECUTE_SQL:
            local = frame.f_locals
            compiler = local.get("self")
            query = getattr(compiler, "query", None)
            marked = getattr(query, "__dict__", ())
            if (SOURCE_KEY not in marked and "inner_query" not in marked) or isinstance(
                compiler, _WRITES
            ):
                return None
            return relation_load(query, local.get("result_type"))
        frame = frame.f_back
    return None


def relation_load(query: Any, result_type: Any) -> Load | None:
    """A :class:`Load` for a query built by a related manager (``author.books.all()``).

    Its variant is ``single`` for a one-row result (``count()``, ``exists()``, an aggregate:
    the listener tells which, once per group), ``filter`` when the developer refined the
    manager's queryset, else ``load``.
    """
    source = query.__dict__.get(SOURCE_KEY)
    if source is None and "inner_query" in query.__dict__:  # count() over a subquery
        query = query.inner_query
        source = query.__dict__.get(SOURCE_KEY)
    if type(source) is not Source:
        return None
    if result_type == SINGLE:
        variant = "single"
    elif len(query.where.children) > source.base or query.is_sliced or query.order_by:
        variant = "filter"
    else:
        variant = "load"
    load = Load("many", source.tag, source.model, source.field, variant, source=source)
    load.query = query
    return load


def loading(load: Load, call: Callable[[], Any]) -> Any:
    token = LOAD.set(load)
    try:
        return call()
    finally:
        LOAD.reset(token)


def deferred_get(original: Any) -> Any:
    """Reading a deferred field loads it (``.only()`` / ``.defer()``).

    Hooked on ``DeferredAttribute`` rather than ``Model.refresh_from_db``: patching
    ``Model`` would invalidate CPython's attribute caches of every model class, twice per
    block. Loaded values live in ``instance.__dict__``, so this runs only on a miss (and on
    every read of a foreign key's ``*_id``, which returns the value as Django would, at
    the first test).
    """

    def __get__(self: Any, instance: Any, cls: Any = None) -> Any:
        if instance is not None:
            data = instance.__dict__
            name = self.field.attname
            if name in data:  # Django's own fast path, without a second call
                return data[name]
        if instance is None or not SESSIONS.get():
            return original(self, instance, cls)
        token = LOAD.set(load_of("deferred", instance, name, "deferred"))
        try:
            return original(self, instance, cls)
        finally:
            LOAD.reset(token)

    return functools.wraps(original)(__get__)
