"""The ORM-hook detector: repeated lazy loads of one relation at one access site.

A group of loads is an N+1 when at least ``threshold`` of them come from instances that are
part of a multi-row load (see :func:`~dbtune.nplusone.tagging.resolve`), or, for instances
dbtune never saw loaded (created in the block, or loaded before it), when the loads repeat
with different parameters. The fix names the full path from the root queryset.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import FieldDoesNotExist

from dbtune.nplusone import fixes, querymeta
from dbtune.nplusone.detectors import Detector, finding, register_detector
from dbtune.nplusone.findings import Finding
from dbtune.nplusone.querymeta import aggregate_call
from dbtune.nplusone.sites import fmt
from dbtune.nplusone.state import Load, Path, Tag
from dbtune.nplusone.tagging import Resolved, resolve

if TYPE_CHECKING:
    from dbtune.nplusone.session import LoadGroup, Session

_SELECTABLE = {"fk": True, "rev_o2o": True}
_COUNTING = frozenset({"count", "exists", "aggregate"})


@register_detector
class OrmDetector(Detector):
    """Names the relation: lazy loads recorded by the ORM hooks."""

    name = "orm"

    def detect(self, session: Session, threshold: int) -> list[Finding]:
        found = []
        for group in session.loads.values():
            if group.loads < threshold:
                continue
            chosen = _multi_row_origin(group, threshold)
            if chosen is not None:
                found.append(_build(group, *chosen))
        return found


def _multi_row_origin(
    group: LoadGroup, threshold: int
) -> tuple[Tag | None, Resolved | None] | None:
    multi = group.overflow
    best: tuple[Tag | None, Resolved | None] | None = None
    for tag, loads in group.tags.items():
        resolved = resolve(tag)
        if resolved.multi:
            multi += loads
            if best is None:
                best = (tag, resolved)
    if multi >= threshold:
        if best is None:  # only overflowed origins: name the relation from the first one
            first = next(iter(group.tags), None)
            return (first, resolve(first) if first is not None else None)
        return best
    if group.untagged >= threshold and group.distinct:
        return (None, None)
    return None


def _build(group: LoadGroup, tag: Tag | None, resolved: Resolved | None) -> Finding:
    load = group.first
    path: Path = resolved.path if resolved else ()
    root = resolved.root if resolved else None
    queryset_site = fmt(root.site) if root else None
    field = load.field
    kind = "n+1"
    if load.kind == "deferred":
        fix, queryset_site = _deferred_fix(load.model, field, tag)
    elif group.variant in _COUNTING:
        kind = "count_in_loop"
        if tag is not None and resolved is not None and resolved.needs_prefetch:
            path, queryset_site = tag.path, fmt(tag.batch.site)
        fix = _counting_fix(group.variant, load.model, path, field, group)
    else:
        to_attr = fixes.to_attr_for(root.lookups, path, field) if root else None
        if to_attr is not None:
            fix = fixes.read_to_attr(to_attr, field)
        elif group.variant == "filter":
            fix = fixes.prefetch_object(load.model, path, field, _refinements(load, group))
        else:
            fix = fixes.eager(
                path,
                field,
                needs_prefetch=resolved.needs_prefetch if resolved else False,
                selectable=_SELECTABLE.get(load.kind, False),
            )
    return finding(
        kind, load.model, field, group, queryset_site, fix, detector="orm", loads=group.loads
    )


def _refinements(load: Load, group: LoadGroup) -> str:
    query = group.query
    if query is None or load.source is None:
        return ""
    return querymeta.refinements(query, query.where.children[load.source.base :])


def _deferred_fix(model: str, attname: str, tag: Tag | None) -> tuple[str, str | None]:
    found = fixes.model_of(model)
    name = attname
    if found is not None:
        try:
            name = found._meta.get_field(attname).name
        except FieldDoesNotExist:
            name = attname
    if tag is None:
        return fixes.deferred((frozenset(), True), (), name), None
    return fixes.deferred(tag.batch.deferred, tag.path, name), fmt(tag.batch.site)


def _counting_fix(variant: str, model: str, path: Path, field: str, group: LoadGroup) -> str:
    if variant == "count":
        return fixes.count(path, field)
    if variant == "exists":
        return fixes.exists(model, path, field)
    call = aggregate_call(group.query, fixes.joined((*path, field)))
    return f"annotate(n={call})"
