"""The one-line code each finding suggests, built from the relation path it resolved.

Every string here is valid Django (or names the exact attribute to read), so a developer can
paste it onto the queryset at ``queryset_site``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.db.models.constants import LOOKUP_SEP

from dbtune.nplusone.state import Path

HOIST = "hoist the query out of the loop (or cache its result)"


def joined(path: Iterable[str]) -> str:
    return LOOKUP_SEP.join(path)


def model_of(label: str) -> Any:
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        return None


def relation_field(label: str, name: str) -> Any:
    """The field or reverse relation called ``name`` (its accessor) on model ``label``."""
    model = model_of(label)
    if model is None:
        return None
    for field in model._meta.get_fields(include_hidden=False):
        accessor = field.get_accessor_name() if field.auto_created and not field.concrete else None
        if field.name == name or accessor == name:
            return field
    return None


def eager(path: Path, field: str, *, needs_prefetch: bool, selectable: bool) -> str:
    full = joined((*path, field))
    if needs_prefetch or not selectable:
        return f'prefetch_related("{full}")'
    return f'select_related("{full}")'


def read_to_attr(to_attr: str, field: str) -> str:
    return f"read .{to_attr} (the Prefetch to_attr) instead of .{field}"


def to_attr_for(lookups: Iterable[Any], path: Path, field: str) -> str | None:
    """The ``to_attr`` of a ``Prefetch`` declared for exactly this relation path, if any."""
    full = joined((*path, field))
    for lookup in lookups:
        if getattr(lookup, "prefetch_through", None) == full and getattr(lookup, "to_attr", None):
            return str(lookup.to_attr)
    return None


def prefetch_object(owner: str, path: Path, field: str, refinements: str) -> str:
    """``Prefetch("books", queryset=Book.objects.filter(...), to_attr="filtered_books")``."""
    relation = relation_field(owner, field)
    rows = getattr(getattr(relation, "related_model", None), "__name__", "Model")
    if not refinements or refinements.startswith("["):
        refinements = ".all()" + refinements
    queryset = f"{rows}.objects{refinements}"
    return f'Prefetch("{joined((*path, field))}", queryset={queryset}, to_attr="filtered_{field}")'


def count(path: Path, field: str) -> str:
    return f'annotate(n=Count("{joined((*path, field))}"))'


def exists(owner: str, path: Path, field: str) -> str:
    relation = relation_field(owner, field)
    rows = getattr(relation, "related_model", None)
    lookup = _reverse_lookup(relation)
    if rows is None or lookup is None:
        return f"annotate(has_{field}=Exists(...))"
    name = rows.__name__
    subquery = f'{name}.objects.filter({joined((*path, lookup))}=OuterRef("pk"))'
    if path:
        subquery = f'{name}.objects.filter({lookup}=OuterRef("{joined(path)}"))'
    return f"annotate(has_{field}=Exists({subquery}))"


def _reverse_lookup(relation: Any) -> str | None:
    """How the related rows filter back to the owner (``author`` for ``Author.books``)."""
    if relation is None:
        return None
    if relation.auto_created and not relation.concrete:  # reverse FK / reverse M2M
        return str(relation.field.name)
    if relation.many_to_many and relation.concrete:
        return str(relation.related_query_name())
    return None


def deferred(loading: tuple[frozenset[str], bool], path: Path, name: str) -> str:
    """Add ``name`` to ``only()``, or take it out of ``defer()``."""
    names, is_defer = loading
    full = joined((*path, name))
    if not is_defer:
        listed = sorted(names) + [full]
        return "only(" + ", ".join(f'"{n}"' for n in listed) + ")"
    remaining = sorted(n for n in names if n != full)
    if remaining:
        return "defer(" + ", ".join(f'"{n}"' for n in remaining) + ")"
    if full in names:
        return f'remove defer("{full}")'
    return f'load "{full}" in the original query (it was deferred)'


def in_bulk(field: Any) -> str:
    if field is None or getattr(field, "primary_key", False):
        return "in_bulk(ids)"
    if getattr(field, "unique", False):
        return f'in_bulk(values, field_name="{field.name}")'
    return f"filter({field.name}__in=values)"


def bulk_update(fields: list[str]) -> str:
    return "bulk_update(objs, [" + ", ".join(f'"{f}"' for f in fields) + "])"


def unused(path: str, how: str) -> str:
    return f'remove "{path}" from {how}()'
