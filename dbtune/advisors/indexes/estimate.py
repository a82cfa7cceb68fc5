"""Costing without what-if support: the planner's plan today plus ``pg_stats`` arithmetic.

The statement's real plan says what scanning each table costs now and how many rows
survive its filters. An index's cost is estimated the way the planner does it, roughly:
descend the tree, read the matching index entries, fetch their heap pages (fewer when the
leading column is correlated with the table order), or stop after ``LIMIT`` rows when the
index delivers the ``ORDER BY``; inner side of a nested loop once per outer row. Results
are labelled "not validated".
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from dbtune.advisors.indexes.candidates import range_selectivity, selectivity
from dbtune.advisors.indexes.catalog import Catalog, Relation
from dbtune.advisors.indexes.model import (
    EQUALITY_KINDS,
    Access,
    Candidate,
    IndexKey,
    SortKey,
    Use,
)
from dbtune.advisors.indexes.planning import Plan
from dbtune.advisors.indexes.whatif import Outcome, Statement, WhatIf

SCAN_NODES = ("Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan", "Tid Scan")
DEFAULT_RANGE = 1.0 / 3.0
PREFIX_SELECTIVITY = 0.005
TRIGRAM_SELECTIVITY = 0.01
UNKNOWN_LIMIT = 20


class Estimate(WhatIf):
    """Estimated plans; an index counts as used when it beats today's scan of its table."""

    name = "pg_stats estimate"
    validated = False

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._today: dict[tuple[int, str], tuple[float, float]] = {}
        self._uses: dict[int, dict[str, list[Use]]] = {}
        self._selectivity: dict[tuple[int, str], float] = {}

    def uses(self, access: Access) -> dict[str, list[Use]]:
        """The access's predicates by key (cached: one access is costed for many candidates)."""
        found = self._uses.get(id(access))
        if found is None:
            found = {}
            for use in access.uses:
                found.setdefault(use.key, []).append(use)
            for sort in access.sort + access.group:
                found.setdefault(sort.key, [])
            self._uses[id(access)] = found
        return found

    def selectivity(self, use: Use, relation: Relation) -> float:
        key = (id(use), relation.name)
        if key not in self._selectivity:
            self._selectivity[key] = selectivity(use, relation)
        return self._selectivity[key]

    def evaluate(self, candidates: Sequence[Candidate], statements: Sequence[Statement]) -> Outcome:
        outcome = Outcome()
        for candidate in candidates:
            relation = self.catalog.resolve(*candidate.table)
            if relation is not None:
                outcome.sizes[candidate] = estimated_size(candidate, relation)
        for statement in statements:
            if statement.before is None:
                continue
            best: dict[tuple[str, str], tuple[float, Candidate]] = {}
            single = len(statement.analysis.accesses) == 1
            for candidate in candidates:
                for access in statement.analysis.accesses:
                    if access.rel != candidate.table:
                        continue
                    saving = self.saving(candidate, access, statement.before, single)
                    if (
                        saving > 0.01 * statement.before.cost
                        and saving > best.get(access.rel, (0.0,))[0]
                    ):
                        best[access.rel] = (saving, candidate)
            if not best:
                continue
            total = sum(s for s, _ in best.values())
            cost = max(statement.before.cost - total, 0.01 * statement.before.cost)
            outcome.plans[statement.number] = Plan(cost, nodes=statement.before.nodes)
            outcome.used[statement.number] = {c for _, c in best.values()}
        return outcome

    def saving(self, candidate: Candidate, access: Access, before: Plan, single: bool) -> float:
        relation = self.catalog.resolve(*candidate.table)
        if relation is None or candidate.keys[0].expr not in self.uses(access):
            return 0.0
        key = (id(before), relation.name)
        if key not in self._today:
            names = {relation.name, *(leaf[1] for leaf in relation.leaves)}
            scans = [n for n in before.nodes if n.relation in names and n.node_type in SCAN_NODES]
            today = sum(n.total_cost * n.loops for n in scans)
            surviving = max(1.0, sum(n.rows for n in scans) / len(scans)) if scans else 0.0
            self._today[key] = (today, surviving)
        today, surviving = self._today[key]
        if today <= 0:
            return 0.0
        matched, fraction, ordered, loops = self._match(candidate, access, relation, before)
        if not matched and not ordered:
            return 0.0
        rows_total = max(relation.rows, 1.0)
        matched_keys = {k.expr for k in candidate.keys[:matched]}
        joined = any(u.kind == "join" and u.key in matched_keys for u in access.uses)
        floor = 1.0 if joined else surviving
        rows = max(floor, rows_total * fraction) if matched else rows_total
        if matched and not joined and {u.key for u in access.uses} <= matched_keys:
            rows = surviving
        limit = access.limit if access.limit and access.limit > 0 else UNKNOWN_LIMIT
        if ordered and access.limit is not None and single:
            rows = min(rows, float(limit))
        cost = loops * self.index_scan(candidate, relation, rows, access)
        if ordered and single and access.limit is not None:
            return max(0.0, before.cost - cost)
        return max(0.0, today - cost)

    def _match(
        self, candidate: Candidate, access: Access, relation: Relation, before: Plan
    ) -> tuple[int, float, bool, float]:
        """Keys matched by predicates, their combined selectivity, sort delivered, loops."""
        if candidate.method == "gin":
            infix = any(u.kind == "infix" and u.key == candidate.keys[0].expr for u in access.uses)
            return (1, TRIGRAM_SELECTIVITY, False, 1.0) if infix else (0, 1.0, False, 1.0)
        fraction, matched, loops = 1.0, 0, 1.0
        by_key = self.uses(access)
        for key in candidate.keys:
            equal = [u for u in by_key.get(key.expr, ()) if u.kind in EQUALITY_KINDS]
            if not equal:
                break
            fraction *= self.selectivity(equal[0], relation)
            matched += 1
            if equal[0].kind == "join" and equal[0].partner is not None:
                loops = max(loops, _partner_rows(equal[0].partner[1], before))
        rest = candidate.keys[matched:]
        sort = [k for k in access.sort or access.group if k.key not in _equal_keys(access)]
        ordered = _delivers(sort, rest)
        if rest and not ordered:
            ranged = [u for u in by_key.get(rest[0].expr, ()) if u.kind in ("range", "prefix")]
            if ranged and (ranged[0].kind == "prefix" or not rest[0].opclass):
                if ranged[0].kind == "prefix":
                    fraction *= PREFIX_SELECTIVITY
                else:
                    known = [range_selectivity(u, relation) for u in ranged]
                    fraction *= min((k for k in known if k is not None), default=DEFAULT_RANGE)
                matched += 1
        return matched, fraction, ordered, loops

    def index_scan(
        self, candidate: Candidate, relation: Relation, rows: float, access: Access
    ) -> float:
        s = self.catalog.settings
        pages = max(relation.pages, 1)
        total = max(relation.rows, 1.0)
        descent = math.ceil(math.log(max(total, 2.0), 200)) * s["random_page_cost"]
        entries = rows * (s["cpu_index_tuple_cost"] + s["cpu_operator_cost"])
        column = relation.columns.get(candidate.keys[0].expr)
        correlation = abs(column.correlation) if column and column.correlation is not None else 0.0
        ordered_pages = max(1.0, rows / total * pages)
        fetched = pages * (1.0 - math.exp(-rows / pages))
        per_page = s["random_page_cost"] - (s["random_page_cost"] - s["seq_page_cost"]) * math.sqrt(
            min(1.0, fetched / pages)
        )
        heap = (correlation**2) * ordered_pages * s["seq_page_cost"]
        heap += (1 - correlation**2) * fetched * per_page
        keys = {k.expr for k in candidate.keys} | set(candidate.include)
        if access.referenced is not None and access.referenced <= keys:
            heap *= 1.0 - min(1.0, relation.allvisible / pages)
        return descent + entries + heap + rows * s["cpu_tuple_cost"]


def _equal_keys(access: Access) -> set[str]:
    return {u.key for u in access.uses if u.kind in EQUALITY_KINDS}


def _delivers(wanted: list[SortKey], keys: Sequence[IndexKey]) -> bool:
    if not wanted or len(keys) < len(wanted):
        return False
    if any(w.key != k.expr or k.opclass for w, k in zip(wanted, keys, strict=False)):
        return False
    pairs = list(zip(wanted, keys, strict=False))
    forward = all(w.desc == k.desc and w.nulls_are_first == k.nulls_are_first for w, k in pairs)
    backward = all(w.desc != k.desc and w.nulls_are_first != k.nulls_are_first for w, k in pairs)
    return forward or backward


def _partner_rows(name: str, before: Plan) -> float:
    rows = [
        n.rows * n.loops for n in before.nodes if n.relation == name and n.node_type in SCAN_NODES
    ]
    return max(1.0, min(rows)) if rows else 1.0


def estimated_size(candidate: Candidate, relation: Relation) -> int:
    """Bytes of a B-tree: entries of key + included widths, 8-byte header, 90% full pages."""
    width = 8.0
    for name in [k.expr for k in candidate.keys] + list(candidate.include):
        column = relation.columns.get(name)
        width += column.avg_width if column else 16
    rows = max(relation.rows, 0.0)
    if candidate.where:
        rows *= 0.5
    pages = math.ceil(rows * (width + 4) / (8192 * 0.9)) + 1
    return int(pages * 8192)
