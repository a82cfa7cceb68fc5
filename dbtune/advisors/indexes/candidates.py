"""Candidate indexes from what statements ask of each table.

For one table occurrence the key order is: equality columns first (equality, ``IN``,
``IS NULL`` and join keys, the most selective first according to ``pg_stats``), then the
``ORDER BY`` (or ``GROUP BY``) columns, then one range column; every prefix of width 1 to
``max_width`` is a candidate, so costing can tell whether the extra columns pay. Variants
add the range column without the sort, split join keys from filters, cover each arm of an
``OR``, add ``INCLUDE`` columns for an index-only scan, and make the index partial when a
literal predicate (``deleted_at IS NULL``) holds in every statement on the table.
Columns that appear only in the select list are never keys.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from dbtune.advisors.indexes.catalog import Catalog, Column, Relation
from dbtune.advisors.indexes.model import (
    EQUALITY_KINDS,
    Access,
    Candidate,
    IndexKey,
    Origin,
    RelName,
    SortKey,
    Use,
)

DEFAULT_EQ_SELECTIVITY = 0.005
MAX_INCLUDE = 3
TRIGRAM_OPCLASS = "gin_trgm_ops"


def selectivity(use: Use, relation: Relation) -> float:
    """Fraction of rows an equality-like predicate keeps, from ``pg_stats`` when known."""
    column = relation.columns.get(use.key) if not use.is_expr else None
    if column is None or column.n_distinct is None:
        return 0.5 if column is not None and column.type == "boolean" else DEFAULT_EQ_SELECTIVITY
    if use.kind == "null":
        return max(column.null_frac, 1e-6)
    if use.value is not None and column.mcv:
        freq = column.mcv.get(
            str(use.value).lower() if isinstance(use.value, bool) else str(use.value)
        )
        if freq is None and isinstance(use.value, bool):
            freq = column.mcv.get("t" if use.value else "f")
        if freq is not None:
            return freq
    distinct = distinct_values(column, relation)
    others = max(1.0, distinct - len(column.mcv))
    rest = max(0.0, 1.0 - sum(column.mcv.values()) - column.null_frac)
    base = rest / others if column.mcv else (1.0 - column.null_frac) / max(distinct, 1.0)
    return min(1.0, base * (3 if use.kind == "in" else 1))


def range_selectivity(use: Use, relation: Relation) -> float | None:
    """Fraction of rows a literal range keeps, from the histogram; ``None`` when unknown."""
    column = relation.columns.get(use.key) if not use.is_expr else None
    if column is None or len(column.histogram) < 2 or use.value is None:
        return None
    share = max(0.0, 1.0 - column.null_frac - sum(column.mcv.values()))
    if use.op == "between" and isinstance(use.value, tuple):
        low, high = (_below(v, column.histogram) for v in use.value)
        if low is None or high is None:
            return None
        return max(high - low, 0.0) * share
    below = _below(use.value, column.histogram)
    if below is None or use.op not in ("<", "<=", ">", ">="):
        return None
    return (below if use.op in ("<", "<=") else 1.0 - below) * share


def _below(value: object, bounds: list[str]) -> float | None:
    """Share of the histogram below ``value`` (numbers interpolate, text compares)."""
    if value is None:
        return None
    try:
        number, points = float(str(value)), [float(b) for b in bounds]
    except ValueError:
        text = str(value)
        position = next((i for i, bound in enumerate(bounds) if text < bound), len(bounds))
        return min(1.0, max(0.0, (position - 0.5) / (len(bounds) - 1)))
    if number <= points[0]:
        return 0.0
    for index in range(1, len(points)):
        if number < points[index]:
            low, high = points[index - 1], points[index]
            within = (number - low) / (high - low) if high > low else 0.5
            return (index - 1 + within) / (len(points) - 1)
    return 1.0


def distinct_values(column: Column, relation: Relation) -> float:
    if column.n_distinct is None:
        return 1.0 / DEFAULT_EQ_SELECTIVITY
    if column.n_distinct < 0:
        return max(1.0, -column.n_distinct * relation.rows)
    return max(1.0, column.n_distinct)


def _pattern_opclass(use: Use, relation: Relation, catalog: Catalog) -> str | None:
    if catalog.c_collation:
        return None
    column = relation.columns.get(use.key)
    if column is not None and column.type.startswith(("character varying", "varchar")):
        return "varchar_pattern_ops"
    if column is not None and column.type.startswith("character("):
        return "bpchar_pattern_ops"
    return "text_pattern_ops"


class CandidateSet:
    """Candidates of a whole workload, each with the statements and predicates behind it."""

    def __init__(self, catalog: Catalog, max_width: int = 3) -> None:
        self.catalog = catalog
        self.max_width = max_width
        self.found: dict[Candidate, Origin] = {}
        self._constants: dict[RelName, list[dict[str, str]]] = defaultdict(list)
        self._shared: dict[RelName, dict[str, str]] = {}

    def add_access(self, statement: int, access: Access, select: bool) -> None:
        relation = self.catalog.resolve(*access.rel)
        if relation is None or not access.reads:
            return
        self._constants[access.rel].append(dict(access.constants))
        eq: dict[str, Use] = {}
        for use in access.uses:
            if use.kind in EQUALITY_KINDS and use.key not in eq:
                eq[use.key] = use
        ordered = sorted(eq.values(), key=lambda u: selectivity(u, relation))
        ranges = [u for u in access.uses if u.kind in ("range", "prefix") and u.key not in eq]
        sort = [k for k in (access.sort or access.group) if k.key not in eq]
        eq_keys: list[tuple[IndexKey, str, str]] = [
            (self._key(u, relation), "eq", u.text) for u in ordered
        ]
        sort_keys = [(key, "sort", _sort_text(access, key)) for key in _directions(sort)]
        range_keys: list[tuple[IndexKey, str, str]] = [
            (self._key(u, relation), str(u.kind), u.text) for u in ranges[:1]
        ]
        shapes = [eq_keys + sort_keys + range_keys]
        seen_ranges = {u.key for u in ranges[:1]}
        for use in ranges[1:]:
            if use.key not in seen_ranges:
                seen_ranges.add(use.key)
                shapes.append([*eq_keys, (self._key(use, relation), str(use.kind), use.text)])
        if sort_keys and range_keys:
            shapes.append(eq_keys + range_keys)
        filters = [k for k, u in zip(eq_keys, ordered, strict=True) if u.kind != "join"]
        joins = [k for k, u in zip(eq_keys, ordered, strict=True) if u.kind == "join"]
        if filters and joins:
            shapes += [filters + sort_keys + range_keys, joins]
        for group in access.or_groups:
            shapes += [
                [(self._key(u, relation), _role(u), u.text)] for u in group if u.kind != "infix"
            ]
        for shape in shapes:
            widest = min(self.max_width, len(shape))
            for width in range(1, widest + 1):
                covering = select and width == widest
                self._add(statement, access.rel, shape[:width], access, covering)
        for use in access.uses + [u for g in access.or_groups for u in g]:
            if use.kind == "infix":
                key = IndexKey(use.key, use.is_expr, opclass=TRIGRAM_OPCLASS)
                candidate = Candidate(access.rel, (key,), "gin", roles=("infix",))
                self.found.setdefault(candidate, Origin()).add(statement, use.text)

    def _key(self, use: Use, relation: Relation) -> IndexKey:
        opclass = _pattern_opclass(use, relation, self.catalog) if use.kind == "prefix" else None
        return IndexKey(use.key, use.is_expr, opclass=opclass)

    def _add(
        self,
        statement: int,
        table: RelName,
        shape: list[tuple[IndexKey, str, str]],
        access: Access,
        covering: bool,
    ) -> None:
        keys = tuple(key for key, _, _ in shape)
        if len({key.expr for key in keys}) != len(keys):
            return
        roles = tuple(role if role in ("sort", "range", "prefix") else "eq" for _, role, _ in shape)
        reason = " AND ".join(text for _, _, text in shape)
        candidate = Candidate(table, keys, roles=roles)
        self.found.setdefault(candidate, Origin()).add(statement, reason)
        if not covering or access.referenced is None or any(key.is_expr for key in keys):
            return
        extra = sorted(access.referenced - {key.expr for key in keys})
        if 0 < len(extra) <= MAX_INCLUDE:
            wider = Candidate(table, keys, include=tuple(extra), roles=roles)
            self.found.setdefault(wider, Origin()).add(statement, reason + " (index-only scan)")

    def finish(self) -> dict[Candidate, Origin]:
        """All candidates, plus partial variants where a literal predicate is workload-wide."""
        for candidate, origin in list(self.found.items()):
            constants = self.workload_constants(candidate.table)
            if not constants or candidate.method != "btree" or candidate.include:
                continue
            fixed = set(constants.values())
            kept = [
                (k, r)
                for k, r in zip(candidate.keys, candidate.roles, strict=False)
                if k.expr not in fixed
            ]
            if not kept:
                continue
            partial = Candidate(
                candidate.table,
                tuple(k for k, _ in kept),
                where=" AND ".join(sorted(constants)),
                roles=tuple(r for _, r in kept),
            )
            target = self.found.setdefault(partial, Origin())
            for statement in origin.statements:
                for reason in origin.reasons:
                    target.add(statement, reason)
        return self.found

    def workload_constants(self, table: RelName) -> dict[str, str]:
        """Literal predicates every reading statement on ``table`` shares."""
        if table not in self._shared:
            self._shared[table] = self._workload_constants(table)
        return self._shared[table]

    def _workload_constants(self, table: RelName) -> dict[str, str]:
        seen = self._constants.get(table) or []
        if not seen:
            return {}
        shared = dict(seen[0])
        for constants in seen[1:]:
            shared = {text: column for text, column in shared.items() if text in constants}
        return shared


def _role(use: Use) -> str:
    return "eq" if use.kind in EQUALITY_KINDS else use.kind


def _directions(sort: list[SortKey]) -> Iterable[IndexKey]:
    """Sort keys as index keys; flipped so the first is ascending (scans run backwards)."""
    flip = bool(sort) and sort[0].desc
    for key in sort:
        desc = key.desc != flip
        nulls_first = key.nulls_are_first != flip
        yield IndexKey(
            key.key,
            key.is_expr,
            desc=desc,
            nulls_first=None if nulls_first == desc else nulls_first,
        )


def _sort_text(access: Access, key: IndexKey) -> str:
    for sort in access.sort or access.group:
        if sort.key == key.expr:
            clause = "ORDER BY" if access.sort else "GROUP BY"
            direction = " DESC" if sort.desc else ""
            limit = f" LIMIT {access.limit}" if access.limit and access.limit > 0 else ""
            return f"{clause} {sort.key}{direction}{limit}"
    return key.expr
