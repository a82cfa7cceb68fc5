"""Hooks on relation descriptors and the prefetch machinery (see :mod:`.hooks`).

Descriptors record which relation user code reads (for unused eager loads) and set the
``LOAD`` context while a lazy load runs, so its queries are attributed to the relation.
Related-manager classes are made by Django per relation; :func:`reverse_many_get` has
:mod:`~dbtune.nplusone.patches` hook each one the first time a session meets it.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

from django.db.models import query as query_module

from dbtune.nplusone import sites, tagging
from dbtune.nplusone.hooks import Factory, loading
from dbtune.nplusone.state import (
    LABELS,
    LOAD,
    MANAGERS,
    MARKED_TABLES,
    SESSIONS,
    SITE_KEY,
    SOURCE_KEY,
    TAG_KEY,
    Load,
    Site,
    Source,
    Tag,
    label,
    load_of,
    tag_of,
)


def _unwrapped(function: Any) -> Any:
    return getattr(function, "__wrapped__", function)


PREFETCH_CODES = frozenset(
    _unwrapped(f).__code__
    for f in (
        query_module.prefetch_related_objects,
        query_module.get_prefetcher,
        query_module.prefetch_one_level,
    )
)
"""Django's prefetch functions: their reads of relations are not uses by the developer."""


def _touch(instance: Any, name: str) -> None:
    """Record a read of ``name`` (only instances of batches that declared eager loads)."""
    tag = instance._state.__dict__.get(TAG_KEY)
    if tag is not None and tag.eager_root is not None:
        tagging.touch(tag, name, PREFETCH_CODES)


def forward_get(original: Any) -> Any:
    def __get__(self: Any, instance: Any, cls: Any = None) -> Any:
        if instance is not None and SESSIONS.get():
            tag = instance._state.__dict__.get(TAG_KEY)  # _touch(), inlined
            if tag is not None and tag.eager_root is not None:
                tagging.touch(tag, self.field.name, PREFETCH_CODES, depth=2)
        return original(self, instance, cls)

    return functools.wraps(original)(__get__)


def forward_get_object(original: Any) -> Any:
    def get_object(self: Any, instance: Any) -> Any:
        if not SESSIONS.get():
            return original(self, instance)
        token = LOAD.set(load_of("fk", instance, self.field.name))
        try:
            return original(self, instance)
        finally:
            LOAD.reset(token)

    return functools.wraps(original)(get_object)


def reverse_one_to_one_get(original: Any) -> Any:
    def __get__(self: Any, instance: Any, cls: Any = None) -> Any:
        if instance is None or not SESSIONS.get():
            return original(self, instance, cls)
        name = self.related.get_accessor_name()
        _touch(instance, name)
        if self.related.is_cached(instance):
            return original(self, instance, cls)
        token = LOAD.set(load_of("rev_o2o", instance, name))
        try:
            return original(self, instance, cls)
        finally:
            LOAD.reset(token)

    return functools.wraps(original)(__get__)


_ACCESSORS: dict[Any, str] = {}


def _many_accessor(descriptor: Any) -> str:
    """The attribute name a reverse FK / many-to-many / generic relation is read by."""
    name = _ACCESSORS.get(descriptor)
    if name is None:
        field = descriptor.field
        if hasattr(descriptor, "reverse"):  # ManyToManyDescriptor
            forward = not descriptor.reverse
            name = str(field.name if forward else descriptor.rel.get_accessor_name())
        elif not getattr(field, "concrete", True):  # GenericRelation: its own descriptor
            name = str(field.name)
        else:
            name = str(descriptor.rel.get_accessor_name())
        _ACCESSORS[descriptor] = name
    return name


def reverse_many_get(on_manager: Callable[[type, str], None]) -> Factory:
    """``on_manager(manager_class, relation)`` hooks the related manager's class."""

    def factory(original: Any) -> Any:
        def __get__(self: Any, instance: Any, cls: Any = None) -> Any:
            manager = original(self, instance, cls)
            if instance is None or not SESSIONS.get():
                return manager
            name = _ACCESSORS.get(self) or _many_accessor(self)
            tag = instance._state.__dict__.get(TAG_KEY)  # _touch(), inlined
            if tag is not None and tag.eager_root is not None:
                tagging.touch(tag, name, PREFETCH_CODES, depth=2)
            if type(manager) not in MANAGERS:
                on_manager(type(manager), name)
            return manager

        return functools.wraps(original)(__get__)

    return factory


def related_get_queryset(name: str) -> Factory:
    def factory(original: Any) -> Any:
        def get_queryset(self: Any) -> Any:
            queryset = original(self)
            if SESSIONS.get():
                meta = queryset._query.__dict__
                if type(meta.get(SOURCE_KEY)) is not Source:
                    pending = queryset._deferred_filter
                    base = len(queryset._query.where.children)
                    if pending is not None:
                        base += len(pending[1]) + len(pending[2])
                    instance = self.instance
                    model = type(instance)
                    owner = LABELS.get(model) or label(model)
                    tag = instance._state.__dict__.get(TAG_KEY)
                    meta[SOURCE_KEY] = Source(tag if type(tag) is Tag else None, owner, name, base)
                    table = queryset.model._meta.db_table
                    if table not in MARKED_TABLES:
                        MARKED_TABLES.append(table)
                if SITE_KEY not in meta and LOAD.get() is None:  # as hooks.manager_get_queryset
                    meta[SITE_KEY] = Site(sites.construction(sys._getframe(1)))
            return queryset

        return functools.wraps(original)(get_queryset)

    return factory


def related_operation(name: str, op: str) -> Factory:
    """``count()`` / ``exists()`` of a many-to-many manager query the through table."""

    def factory(original: Any) -> Any:
        def method(self: Any) -> Any:
            if not SESSIONS.get():
                return original(self)
            instance = self.instance
            token = LOAD.set(load_of("many", instance, name, op))
            try:
                return original(self)
            finally:
                LOAD.reset(token)

        return functools.wraps(original)(method)

    return factory


def generic_foreign_key_get(original: Any) -> Any:
    def __get__(self: Any, instance: Any, cls: Any = None) -> Any:
        if instance is None or not SESSIONS.get():
            return original(self, instance, cls)
        _touch(instance, self.name)
        token = LOAD.set(load_of("gfk", instance, self.name))
        try:
            return original(self, instance, cls)
        finally:
            LOAD.reset(token)

    return functools.wraps(original)(__get__)


def _declared_by(batch: Any, through: str) -> bool:
    for lookup in batch.lookups:
        declared = getattr(lookup, "prefetch_through", lookup)
        if isinstance(declared, str) and declared.split("__", 1)[0] == through:
            return True
    return False


def prefetch_one_level(original: Any) -> Any:
    def function(instances: Any, prefetcher: Any, lookup: Any, level: int) -> Any:
        if not instances or not SESSIONS.get():
            return original(instances, prefetcher, lookup, level)
        first = instances[0]
        meta = getattr(first, "_meta", None)
        through = lookup.prefetch_through.split("__")[level]
        tag = tag_of(first)
        per_instance = (
            len(instances) == 1
            and level == 0
            and tag is not None
            and tag.batch.kind != "prefetch"
            and not _declared_by(tag.batch, through)
        )
        model = label(type(first)) if meta is not None else type(first).__name__
        load = Load("prefetch", tag, model, through, "prefetch", counts=per_instance)
        return loading(load, lambda: original(instances, prefetcher, lookup, level))

    return functools.wraps(original)(function)
