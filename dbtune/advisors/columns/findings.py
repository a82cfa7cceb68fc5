"""Findings: one proposed change, priced against the table as it is, with the reason.

Every saving is the difference between two exactly priced layouts (heap pages and B-tree
pages), never a per-column rule of thumb. A change that saves nothing (or costs bytes) is
still reported, marked not worth it, with the storage rule that explains why, because that
is exactly where hand calculations go wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dbtune.advisors.columns.catalog import Table
from dbtune.advisors.columns.layout import Layout, Slot
from dbtune.advisors.columns.plan import Change, Plan
from dbtune.advisors.columns.pricing import Delta, Pricer
from dbtune.advisors.columns.screening import Candidate
from dbtune.advisors.columns.targets import target_attr

RISKS = ("low", "medium", "high")


@dataclass
class Finding:
    kind: str
    columns: list[str]
    from_type: str | None
    to_type: str | None
    delta: Delta
    rows: int
    worth_it: bool
    risk: str
    reason: str
    evidence: str = ""
    notes: list[str] = field(default_factory=list)
    confirmed: bool = True
    applied: bool = False
    in_place: Delta | None = None
    verified_bytes_per_row: float | None = None
    plan: Plan | None = None
    base: Layout | None = field(default=None, repr=False)
    variant: Layout | None = field(default=None, repr=False)
    changes: list[Change] = field(default_factory=list)
    """The type changes of a ``narrow``/``retype`` finding (several for a combined one)."""

    @property
    def bytes_per_row(self) -> float:
        """The saving claimed: the estimate when worth it, else at most 0."""
        return self.delta.total if self.worth_it else min(self.delta.total, 0.0)

    @property
    def bytes_total(self) -> int:
        return round(self.bytes_per_row * self.rows)

    def to_json(self) -> dict[str, Any]:
        plan = self.plan.to_json() if self.plan else None
        return {
            "kind": self.kind,
            "columns": self.columns,
            "from_type": self.from_type,
            "to_type": self.to_type,
            "bytes_per_row": round(self.bytes_per_row, 2),
            "bytes_total": self.bytes_total,
            "heap_bytes_per_row": round(self.delta.heap, 2),
            "index_bytes_per_row": round(self.delta.index, 2),
            "estimated_bytes_per_row": round(self.delta.total, 2),
            "in_place_bytes_per_row": round(self.in_place.total, 2) if self.in_place else None,
            "rows": self.rows,
            "rewrite": self.plan.rewrite if self.plan else None,
            "risk": self.risk,
            "worth_it": self.worth_it,
            "applied": self.applied,
            "confirmed": self.confirmed,
            "reason": self.reason,
            "evidence": self.evidence,
            "notes": self.notes,
            "verified_bytes_per_row": self.verified_bytes_per_row,
            "plan": plan,
        }


def _risk(table: Table, cand: Candidate) -> tuple[str, list[str]]:
    notes: list[str] = []
    risk = "low"
    name = cand.column.name
    if cand.kind == "drop" or cand.check in ("integer_text", "boolean_text", "choices", "none"):
        risk = "medium"
    if cand.check == "midnight" and cand.column.typname == "timestamptz":
        risk = "medium"
        notes.append(
            "midnight was checked in the session time zone; "
            "a client in another zone sees other times"
        )
    if cand.check == "choices":
        notes.append(
            "or a lookup table (a ForeignKey with a smallint key) if labels change at runtime"
        )
    if cand.column.sequence or cand.column.identity:
        risk = "high"
        notes.append(
            "identity/sequence-backed: the sequence keeps growing; "
            "narrow only with its limit in view"
        )
    for fk in table.fks_in:
        if name in fk.ref_columns:
            risk = "high"
            notes.append(
                f"referenced by {fk.table}({', '.join(fk.columns)}): those columns must change too"
            )
    for fk in table.fks_out:
        if name in fk.columns and cand.kind != "drop":
            risk = "high"
            notes.append(
                f"references {fk.ref_table}: Django keeps a foreign key "
                "the type of the key it references"
            )
    return risk, notes


def make_finding(
    pricer: Pricer, kind: str, columns: list[str], base: Layout, variant: Layout, **kw: Any
) -> Finding:
    delta = pricer.delta(base, variant)
    worth = pricer.worth_it(delta, base)
    nulls = bool(kw.pop("nulls", False)) or kw.get("from_type") == "dropped column"
    reason = pricer.explain(base, variant, delta, dropping=nulls)
    if not kw.get("confirmed", True):
        worth = False
        reason = f"not claimed, the exact check did not confirm it ({kw.get('evidence')}): {reason}"
    elif not worth:
        reason = "not worth it: " + reason
    return Finding(
        kind,
        columns,
        rows=pricer.rows,
        delta=delta,
        worth_it=worth,
        reason=reason,
        base=base,
        variant=variant,
        **kw,
    )


def from_candidate(pricer: Pricer, current: Layout, cand: Candidate, source: int | None) -> Finding:
    """Price ``cand`` alone against ``current``; ``source`` feeds a retyped varlena."""
    column = cand.column
    risk, notes = _risk(pricer.table, cand)
    common: dict[str, Any] = {
        "from_type": column.type_name,
        "risk": risk,
        "evidence": cand.evidence,
        "notes": cand.notes + notes,
        "confirmed": cand.confirmed,
    }
    if cand.kind == "drop":
        finding = make_finding(
            pricer,
            "drop",
            [column.name],
            current,
            current.replace_slot(column.name, None),
            to_type=None,
            nulls=cand.check == "null",
            **common,
        )
        in_place = current.replace_slot(column.name, None, in_place_drop=True)
        finding.in_place = pricer.delta(current, in_place)
        finding.notes.append(
            f"DROP COLUMN in place (the attribute stays, NULL in every row once rewritten) saves "
            f"{finding.in_place.total:+.1f} B/row; "
            f"a rebuilt table saves {finding.delta.total:+.1f} B/row"
        )
        return finding
    assert cand.to_type is not None
    old = current.slot(column.name)
    assert old is not None
    feed = source if source is not None else old.source
    new = Slot(column.name, target_attr(column.name, cand.to_type), feed, old.not_null)
    change = Change(column, cand.to_type, tuple(cand.choices))
    return make_finding(
        pricer,
        cand.kind,
        [column.name],
        current,
        current.replace_slot(column.name, new),
        to_type=cand.to_type,
        changes=[change],
        **common,
    )
