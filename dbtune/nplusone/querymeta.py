"""What an ORM ``Query`` asks for, read from its structure (never from SQL text).

The SQL-fingerprint detector sees repeated queries; this module tells it which relation a
``filter(fk=obj)`` walks, what ``get()`` looked up, which fields an ``UPDATE`` sets and which
aggregate a query computes, so its findings name the relation and the fix like the ORM
detector's do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple


class Relation(NamedTuple):
    """A relation seen from the instance side: ``owner.accessor`` loads ``queried`` rows.

    ``key`` is the WHERE condition on the foreign key; ``others`` counts the rest.
    """

    owner: str
    accessor: str
    many: bool
    queried: str
    lookup: str
    others: int
    key: Any


def lookups(where: Any) -> Iterator[Any] | None:
    """The lookups AND-ed together in ``where``; ``None`` if it uses OR or NOT."""
    found: list[Any] = []
    if not _collect(where, found):
        return None
    return iter(found)


def _collect(node: Any, out: list[Any]) -> bool:
    children = getattr(node, "children", None)
    if children is None:
        out.append(node)
        return True
    if getattr(node, "negated", False) or (len(children) > 1 and node.connector != "AND"):
        return False
    return all(_collect(child, out) for child in children)


def _target(lookup: Any) -> Any:
    return getattr(getattr(lookup, "lhs", None), "target", None)


def relation_of(query: Any) -> Relation | None:
    """The relation a query loads when it filters on exactly one foreign key value."""
    found = lookups(query.where)
    if found is None:
        return None
    items = list(found)
    keys = [
        item
        for item in items
        if getattr(item, "lookup_name", "") == "exact"
        and getattr(_target(item), "is_relation", False)
        and (_target(item).many_to_one or _target(item).one_to_one)
    ]
    if len(keys) != 1:
        return None
    target = _target(keys[0])
    through = target.model._meta
    queried = query.model._meta.label
    others = len(items) - 1
    if through.auto_created:
        for m2m in through.auto_created._meta.local_many_to_many:
            if m2m.remote_field.through is target.model:
                return _many_to_many(m2m, target, others, keys[0])
        return None
    owner = target.related_model
    accessor = target.remote_field.get_accessor_name()
    if accessor is None or owner._meta.label == "contenttypes.ContentType":
        return None
    many = not target.one_to_one
    return Relation(owner._meta.label, accessor, many, queried, target.name, others, keys[0])


def _many_to_many(m2m: Any, target: Any, others: int, key: Any) -> Relation | None:
    if target.name == m2m.m2m_field_name():
        owner, accessor = m2m.model, m2m.name
        lookup = m2m.related_query_name()
        rows = m2m.related_model
    else:
        owner, accessor = m2m.related_model, m2m.remote_field.get_accessor_name()
        lookup, rows = m2m.name, m2m.model
    if accessor is None:
        return None
    return Relation(owner._meta.label, accessor, True, rows._meta.label, lookup, others, key)


def single_lookup_field(query: Any) -> Any:
    """The model field of the one lookup a query filters on (``None`` if not exactly one)."""
    found = lookups(query.where)
    items = [] if found is None else list(found)
    if len(items) != 1:
        return None
    return _target(items[0])


def update_fields(query: Any) -> list[str]:
    """Names of the fields an ``UPDATE`` query sets, in model order."""
    values = getattr(query, "values", None) or []
    return [field.name for field, _model, _value in values if not field.primary_key]


def aggregate_call(query: Any, relation: str) -> str:
    """``Sum("books__pages")`` for the first aggregate a query computes, via ``relation``."""
    for expression in getattr(query, "annotations", {}).values():
        if not getattr(expression, "contains_aggregate", False):
            continue
        name = type(expression).__name__
        sources = expression.get_source_expressions()
        target = getattr(sources[0], "target", None) if sources else None
        column = getattr(target, "name", None)
        if name == "Count" or column is None:
            return f'{name}("{relation}")'
        return f'{name}("{relation}__{column}")'
    return f'Count("{relation}")'


_SIMPLE = (int, float, str, bool, type(None))


def _lookup_text(node: Any) -> str | None:
    """``pages__gt=100`` for a simple lookup on a column, else ``None``."""
    target = _target(node)
    value = getattr(node, "rhs", None)
    if target is None or not isinstance(value, _SIMPLE):
        return None
    name = node.lookup_name
    return f"{target.name}{'' if name == 'exact' else '__' + name}={value!r}"


def refinements(query: Any, children: list[Any]) -> str:
    """``.filter(...)``/``.exclude(...)``, ``.order_by(...)`` and a slice, as code."""
    text = ""
    plain = [_lookup_text(child) for child in children if not getattr(child, "negated", False)]
    if plain:
        known = [item for item in plain if item is not None]
        text += ".filter(" + (", ".join(known) if len(known) == len(plain) else "...") + ")"
    if any(getattr(child, "negated", False) for child in children):
        text += ".exclude(...)"
    ordering = [o for o in getattr(query, "order_by", ()) if isinstance(o, str)]
    if ordering:
        text += ".order_by(" + ", ".join(f'"{o}"' for o in ordering) + ")"
    if getattr(query, "is_sliced", False):
        high = "" if query.high_mark is None else str(query.high_mark)
        low = str(query.low_mark) if query.low_mark else ""
        text += f"[{low}:{high}]"
    return text


def extra_lookups(query: Any, skip: Any) -> list[Any]:
    """The top-level WHERE conditions of ``query`` other than the lookup ``skip``."""
    return [child for child in query.where.children if child is not skip]
