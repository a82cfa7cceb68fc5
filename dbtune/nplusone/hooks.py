"""The ORM hook points, as wrapper factories: ``factory(original) -> replacement``.

Each replacement calls the original unchanged and only observes: it tags rows, marks
querysets and records which relation a lazy load loads (the ``LOAD`` context variable).
With no session in the current context every wrapper goes straight to the original.
Which ORM operation ran a query is read from the stack by the listener, and only when a
new group needs it, so no operation wrapper sits on every query's path; the compiler hook
is applied only once a block uses a related manager. :mod:`.patches` applies and removes
the hooks; the relation descriptor hooks live in :mod:`.relations`.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from typing import Any

from django.db.models.sql.constants import GET_ITERATOR_CHUNK_SIZE, MULTI, SINGLE

from dbtune.nplusone import sites, tagging
from dbtune.nplusone.state import (
    LOAD,
    SESSIONS,
    SITE_KEY,
    SOURCE_KEY,
    TAG_KEY,
    Load,
    Site,
    Source,
    label,
    tag_of,
)

Factory = Callable[[Any], Any]


def model_iterable_iter(original: Any) -> Any:
    def __iter__(self: Any) -> Iterator[Any]:
        sessions = SESSIONS.get()
        if not sessions:
            yield from original(self)
            return
        rows = original(self)
        batch = tag = tree = None
        try:
            for obj in rows:
                if tag is None:
                    tag = tagging.lazy_single_tag(self.queryset)
                    if tag is None:
                        batch = tagging.open_batch(self.queryset, sessions)
                        tag = batch.root_tag()
                        select = batch.select
                        tree = select if isinstance(select, dict) and select else None
                if batch is not None:
                    batch.size += 1
                    if tree is not None:
                        tagging.walk_selected(tag, obj, tree)
                obj._state.__dict__[TAG_KEY] = tag
                yield obj
        finally:
            rows.close()

    return functools.wraps(original)(__iter__)


def manager_get_queryset(original: Any) -> Any:
    def get_queryset(self: Any) -> Any:
        queryset = original(self)
        if SESSIONS.get() and LOAD.get() is None:  # lazy loads are never roots of a fix
            meta = getattr(getattr(queryset, "_query", None), "__dict__", None)
            if meta is not None and SITE_KEY not in meta:
                meta[SITE_KEY] = Site(sites.construction(sys._getframe(1)))
        return queryset

    return functools.wraps(original)(get_queryset)


def compiler_execute_sql(original: Any) -> Any:
    """Queries of related managers (``author.books.all()``) load that relation.

    Applied only once a block has met a related manager (see
    :func:`~dbtune.nplusone.patches.patch_manager_class`): until then no query can be one.
    """
    from django.db.models.sql.compiler import SQLDeleteCompiler, SQLUpdateCompiler

    writes = (SQLDeleteCompiler, SQLUpdateCompiler)

    def execute_sql(
        self: Any,
        result_type: Any = MULTI,
        chunked_fetch: bool = False,
        chunk_size: int = GET_ITERATOR_CHUNK_SIZE,
    ) -> Any:
        marked = self.query.__dict__
        if (SOURCE_KEY not in marked and "inner_query" not in marked) or isinstance(self, writes):
            return original(self, result_type, chunked_fetch, chunk_size)
        load = None
        if SESSIONS.get() and LOAD.get() is None:
            load = relation_load(self.query, result_type)
        if load is None:
            return original(self, result_type, chunked_fetch, chunk_size)
        token = LOAD.set(load)
        try:
            return original(self, result_type, chunked_fetch, chunk_size)
        finally:
            LOAD.reset(token)

    return functools.wraps(original)(execute_sql)


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
    every read of a foreign key's ``*_id``, which returns at the first test).
    """

    def __get__(self: Any, instance: Any, cls: Any = None) -> Any:
        if instance is None or self.field.attname in instance.__dict__ or not SESSIONS.get():
            return original(self, instance, cls)
        name = self.field.attname
        token = LOAD.set(
            Load("deferred", tag_of(instance), label(type(instance)), name, "deferred")
        )
        try:
            return original(self, instance, cls)
        finally:
            LOAD.reset(token)

    return functools.wraps(original)(__get__)
