"""Apply and remove the ORM hooks: reference-counted, thread-safe, idempotent.

The first active session applies every hook in :func:`static_patches`; the last one to
finish restores the originals (also after exceptions). Nothing happens at import time.
Related-manager classes are created by Django per relation and on demand, so their hooks
are applied lazily, the first time a session sees one, and removed with the rest.

A hook is restored only if it is still the attribute we set: if other code wrapped the
same attribute after us, its wrapper (which calls ours) is left alone rather than broken.
"""

from __future__ import annotations

import functools
import threading
from typing import Any, NamedTuple

from dbtune.nplusone import hooks, relations
from dbtune.nplusone.state import MANAGERS

_MARK = "__dbtune_hook__"


class Patch(NamedTuple):
    owner: Any
    name: str
    original: Any
    replacement: Any


_lock = threading.RLock()
_users = 0
_applied: list[Patch] = []
_classes = MANAGERS
_table: list[tuple[Any, str, hooks.Factory]] = []
_made: dict[tuple[Any, str, Any], Patch] = {}
"""Patches already built, by (owner, attribute, original): re-applying the hooks for the
next block reuses them instead of wrapping again."""


def static_patches() -> list[tuple[Any, str, hooks.Factory]]:
    """Every hook point that exists when the app registry is ready."""
    from django.apps import apps
    from django.db.models import query as query_module
    from django.db.models.fields import related_descriptors as rd
    from django.db.models.manager import BaseManager
    from django.db.models.query_utils import DeferredAttribute

    table: list[tuple[Any, str, hooks.Factory]] = [
        (query_module.ModelIterable, "__iter__", hooks.model_iterable_iter),
        (BaseManager, "get_queryset", hooks.manager_get_queryset),
        (DeferredAttribute, "__get__", hooks.deferred_get),
        (rd.ForwardManyToOneDescriptor, "__get__", relations.forward_get),
        (rd.ForwardManyToOneDescriptor, "get_object", relations.forward_get_object),
        (rd.ReverseOneToOneDescriptor, "__get__", relations.reverse_one_to_one_get),
        (rd.ReverseManyToOneDescriptor, "__get__", relations.reverse_many_get(patch_manager_class)),
        (query_module, "prefetch_one_level", relations.prefetch_one_level),
    ]
    if apps.is_installed("django.contrib.contenttypes"):
        from django.contrib.contenttypes.fields import GenericForeignKey

        table.append((GenericForeignKey, "__get__", relations.generic_foreign_key_get))
    return table


def acquire() -> None:
    """One more session needs the hooks; the first applies them."""
    global _users
    with _lock:
        if _users == 0:
            try:
                if not _table:
                    _table.extend(static_patches())
                for owner, name, factory in _table:
                    _apply(owner, name, factory)
            except BaseException:
                _remove_all()
                raise
        _users += 1


def release() -> None:
    """One session is done; the last restores every original."""
    global _users
    with _lock:
        if _users == 0:
            return
        _users -= 1
        if _users == 0:
            _remove_all()


def active() -> bool:
    return _users > 0


def patch_manager_class(klass: type, name: str) -> None:
    """Hook a related-manager class (``name``: the relation it serves) once per install."""
    if klass in _classes:
        return
    with _lock:
        if _users == 0 or klass in _classes:
            return
        _classes.add(klass)
        _apply(klass, "get_queryset", _related_queryset(name))
        for op in ("count", "exists"):
            _apply(klass, op, _related_operation(name, op))


def _apply(owner: Any, name: str, factory: hooks.Factory) -> None:
    original = owner.__dict__.get(name)
    if original is None or getattr(original, _MARK, False):
        return
    key = (owner, name, original)
    patch = _made.get(key)
    if patch is None:
        replacement = factory(original)
        setattr(replacement, _MARK, True)
        patch = _made[key] = Patch(owner, name, original, replacement)
    setattr(owner, name, patch.replacement)
    _applied.append(patch)


def _remove_all() -> None:
    while _applied:
        patch = _applied.pop()
        if patch.owner.__dict__.get(patch.name) is patch.replacement:
            setattr(patch.owner, patch.name, patch.original)
    _classes.clear()


@functools.cache
def _related_queryset(name: str) -> hooks.Factory:
    return relations.related_get_queryset(name)


@functools.cache
def _related_operation(name: str, op: str) -> hooks.Factory:
    return relations.related_operation(name, op)
