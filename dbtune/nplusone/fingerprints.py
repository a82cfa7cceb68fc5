"""The SQL-fingerprint detector: one statement shape repeated from one call site.

It sees every query on every alias (replicas included), so it catches what no ORM hook
sees: ``count()`` / ``exists()`` / aggregates in loops, ``Model.objects.filter(fk=obj)``
and ``get()`` in loops, raw SQL, and per-row writes. Different parameters make it a loop
over rows; identical parameters make it a ``repeated_query`` (hoist or cache it). When the
query came from the ORM, :mod:`~dbtune.nplusone.querymeta` names the relation and the fix.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import TYPE_CHECKING, Any

from dbtune.nplusone import fixes, querymeta
from dbtune.nplusone.detectors import Detector, finding, register_detector
from dbtune.nplusone.findings import Finding

if TYPE_CHECKING:
    from dbtune.nplusone.session import Session, SqlGroup

Verdict = tuple[str, str, str, str]
_COUNTING = frozenset({"count", "exists", "aggregate"})
_WRITES = frozenset({"save", "delete", "create"})


@register_detector
class FingerprintDetector(Detector):
    """Sees everything: repeated statement fingerprints per alias and call site."""

    name = "sql"

    def detect(self, session: Session, threshold: int) -> list[Finding]:
        found = []
        writes: dict[tuple[str | None, str, str], list[SqlGroup]] = {}
        for group in session.groups.values():
            if group.op in _WRITES and group.op_model is not None:
                writes.setdefault((group.site, group.op, group.op_model), []).append(group)
                continue
            if group.count < threshold:
                continue
            kind, model, field, fix = classify(group)
            found.append(
                finding(kind, model, field, group, None, fix, detector="sql", sql=group.sql)
            )
        for (_site, op, model), groups in writes.items():
            if max(group.count for group in groups) >= threshold:
                found.append(_write_finding(op, model, groups))
        return found


def _write_finding(op: str, model: str, groups: list[SqlGroup]) -> Finding:
    """One finding for every statement one model method ran per row (cascades included)."""
    first = groups[0]
    if not any(group.distinct for group in groups):
        kind, fix = "repeated_query", fixes.HOIST
    elif op == "delete":
        kind, fix = "n+1", "filter(pk__in=ids).delete()"
    else:
        updates = [g for g in groups if g.statement == "update" and g.query is not None]
        kind = "n+1"
        fix = "bulk_create(objs)"
        if op == "save" and updates:
            fix = fixes.bulk_update(querymeta.update_fields(updates[0].query))
    made = finding(kind, model, f"{op}()", first, None, fix, detector="sql", sql=first.sql)
    return dataclasses.replace(made, count=sum(group.count for group in groups))


@functools.cache
def _models_by_table() -> dict[str, str]:
    from django.apps import apps

    return {m._meta.db_table: m._meta.label for m in apps.get_models(include_auto_created=True)}


def queried_model(group: SqlGroup) -> str:
    query = group.query
    if query is not None and getattr(query, "model", None) is not None:
        return str(query.model._meta.label)
    for table in group.tables:
        label = _models_by_table().get(table.strip('"').split(".")[-1])
        if label is not None:
            return label
    return group.tables[0] if group.tables else "<unknown>"


def _operation_name(group: SqlGroup) -> str:
    if group.op is not None:
        return f"{group.op}()"
    if group.query is None:
        return "raw SQL"
    return {"update": "update()", "insert": "create()", "delete": "delete()"}.get(
        group.statement, "filter()"
    )


def classify(group: SqlGroup) -> Verdict:
    """``(kind, model, field, fix)`` for a group that reached the threshold."""
    model = queried_model(group)
    if not group.distinct:
        return "repeated_query", model, _operation_name(group), fixes.HOIST
    if group.statement != "select":
        return _write(group, model)
    query = group.query
    if query is None:
        return "n+1", model, "raw SQL", "one query for all rows (WHERE ... IN (...))"
    relation = querymeta.relation_of(query)
    if group.op in _COUNTING:
        return _counting(group, model, relation)
    if group.op == "get" and (relation is None or relation.many):
        field = querymeta.single_lookup_field(query)
        return "get_in_loop", model, "get()", fixes.in_bulk(field)
    if relation is not None:
        return _related(relation, query)
    return "n+1", model, "filter()", fixes.in_bulk(querymeta.single_lookup_field(query))


def _write(group: SqlGroup, model: str) -> Verdict:
    field = "save()" if group.op == "save" else _operation_name(group)
    if group.statement == "update":
        names = querymeta.update_fields(group.query) if group.query is not None else []
        return "n+1", model, field, fixes.bulk_update(names)
    if group.statement == "insert":
        return "n+1", model, field, "bulk_create(objs)"
    return "n+1", model, "delete()", "filter(pk__in=ids).delete()"


def _counting(group: SqlGroup, model: str, relation: querymeta.Relation | None) -> Verdict:
    op = group.op or "count"
    if relation is None or relation.others:
        return "count_in_loop", model, f"{op}()", "annotate(n=Count(...))"
    owner, accessor = relation.owner, relation.accessor
    if op == "count":
        return "count_in_loop", owner, accessor, fixes.count((), accessor)
    if op == "exists":
        return "count_in_loop", owner, accessor, fixes.exists(owner, (), accessor)
    call = querymeta.aggregate_call(group.query, accessor)
    return "count_in_loop", owner, accessor, f"annotate(n={call})"


def _related(relation: querymeta.Relation, query: Any) -> Verdict:
    owner, accessor = relation.owner, relation.accessor
    if not relation.many:
        return "n+1", owner, accessor, f'select_related("{accessor}")'
    if relation.others or query.is_sliced or query.order_by:
        extra = querymeta.refinements(query, querymeta.extra_lookups(query, relation.key))
        return "n+1", owner, accessor, fixes.prefetch_object(owner, (), accessor, extra)
    return "n+1", owner, accessor, f'prefetch_related("{accessor}")'
