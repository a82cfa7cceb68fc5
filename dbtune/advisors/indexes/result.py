"""What the index advisor found, as plain data: JSON, a report section, text.

Renderers never query the database: everything shown is in :class:`AdviceResult`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dbtune.advisors.indexes.model import Candidate
from dbtune.report import Document, Paragraph, Section, Table, render_text

if TYPE_CHECKING:
    from dbtune.advisors.indexes.advisor import Advisor
    from dbtune.advisors.indexes.model import Origin
    from dbtune.advisors.indexes.selection import Choice
    from dbtune.advisors.indexes.whatif import WhatIf


@dataclass
class StatementCost:
    sql: str
    calls: float
    cost_before: float
    cost_after: float
    source: str = ""


@dataclass
class Suggestion:
    candidate: Candidate
    table: str
    name: str
    sql: str
    why: list[str]
    statements: list[StatementCost]
    size_bytes: int
    validated: bool
    benefit: float
    write_penalty: float
    notes: list[str] = field(default_factory=list)
    verification: dict[str, Any] | None = None

    @property
    def cost_before(self) -> float:
        return sum(s.cost_before for s in self.statements)

    @property
    def cost_after(self) -> float:
        return sum(s.cost_after for s in self.statements)

    def to_json(self) -> dict[str, Any]:
        c = self.candidate
        return {
            "table": self.table,
            "schema": c.table[0],
            "name": self.name,
            "columns": c.columns,
            "descending": [k.desc for k in c.keys],
            "opclasses": [k.opclass for k in c.keys],
            "include": list(c.include),
            "where": c.where,
            "method": c.method,
            "sql": self.sql,
            "cost_before": round(self.cost_before, 2),
            "cost_after": round(self.cost_after, 2),
            "statements": [s.sql for s in self.statements],
            "statement_costs": [
                {
                    "sql": s.sql,
                    "calls": s.calls,
                    "cost_before": round(s.cost_before, 2),
                    "cost_after": round(s.cost_after, 2),
                    "source": s.source,
                }
                for s in self.statements
            ],
            "size_bytes": self.size_bytes,
            "validated": self.validated,
            "why": self.why,
            "benefit": round(self.benefit, 3),
            "write_penalty": round(self.write_penalty, 3),
            "notes": self.notes,
            "verification": self.verification,
        }


@dataclass
class AdviceResult:
    suggestions: list[Suggestion] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    unused_indexes: list[dict[str, Any]] = field(default_factory=list)
    duplicate_indexes: list[dict[str, Any]] = field(default_factory=list)
    invalid_indexes: list[dict[str, Any]] = field(default_factory=list)
    costing: str = ""
    validated: bool = False
    statements: int = 0
    benefit_unit: str = "cost"
    thresholds: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "suggestions": [s.to_json() for s in self.suggestions],
            "rejected": self.rejected,
            "skipped": self.skipped,
            "unused_indexes": self.unused_indexes,
            "duplicate_indexes": self.duplicate_indexes,
            "invalid_indexes": self.invalid_indexes,
            "costing": self.costing,
            "statements_analysed": self.statements,
            "benefit_unit": self.benefit_unit,
            "thresholds": self.thresholds,
        }

    def section(self, title: str = "Index advice") -> Section:
        """A report section: suggestions with their numbers, then rejections and clean-ups."""
        section = Section(title)
        how = (
            "validated with " + self.costing if self.validated else f"{self.costing}, not validated"
        )
        section.add(
            Paragraph(
                f"{len(self.suggestions)} index(es) suggested for "
                f"{self.statements} statement(s) ({how})."
            )
        )
        for s in self.suggestions:
            section.add(Paragraph("\n".join(_describe(s))))
        if self.rejected:
            rows: list[list[object]] = [
                [r["table"], ", ".join(r["columns"]), r["reason"]] for r in self.rejected[:40]
            ]
            section.add(
                Table(
                    ["table", "columns", "why not"],
                    rows,
                    caption="Rejected candidates",
                    numeric=False,
                )
            )
        for key, caption in (
            ("unused_indexes", "Unused indexes"),
            ("duplicate_indexes", "Duplicate indexes"),
            ("invalid_indexes", "Invalid indexes"),
        ):
            items = getattr(self, key)
            if items:
                rows = [
                    [i["table"], i["index"], _size(i["size_bytes"]), i["reason"]] for i in items
                ]
                section.add(
                    Table(["table", "index", "size", "why"], rows, caption=caption, numeric=False)
                )
        if self.skipped:
            rows = [[_short(s["statement"]), s["reason"]] for s in self.skipped[:40]]
            section.add(
                Table(
                    ["statement", "skipped because"],
                    rows,
                    caption="Skipped statements",
                    numeric=False,
                )
            )
        return section

    def to_text(self) -> str:
        return render_text(Document("dbtune index advice", [self.section("Suggestions")]))


def _describe(s: Suggestion) -> list[str]:
    """A suggestion in plain words: what, why, for which statements, at what cost."""
    c = s.candidate
    label = "" if s.validated else "  [not validated]"
    where = f" WHERE {c.where}" if c.where else ""
    include = f" INCLUDE ({', '.join(c.include)})" if c.include else ""
    method = "" if c.method == "btree" else f" USING {c.method}"
    lines = [f"{s.table}{method} ({', '.join(k.label() for k in c.keys)}){include}{where}{label}"]
    lines.append(f"  why: {'; '.join(s.why[:4])}")
    lines.append(
        f"  cost {s.cost_before:,.1f} -> {s.cost_after:,.1f} over {len(s.statements)} "
        f"statement(s), estimated size {_size(s.size_bytes)}"
    )
    lines += [f"  helps: {_short(st.sql)}" for st in s.statements[:3]]
    if len(s.statements) > 3:
        lines.append(f"  helps: ... and {len(s.statements) - 3} more")
    lines.append(f"  sql: {s.sql};")
    lines += [f"  note: {n}" for n in s.notes]
    if s.verification:
        v = s.verification
        lines.append(
            f"  measured: {v.get('ms_before', 0):.2f} ms -> {v.get('ms_after', 0):.2f} ms, "
            f"buffers {v.get('buffers_before', 0)} -> {v.get('buffers_after', 0)}"
        )
    return lines


def _size(size: int) -> str:
    if size < 1024:
        return f"{size:,} bytes"
    value = float(size)
    for unit in ("kB", "MB", "GB"):
        value /= 1024
        if value < 1024 or unit == "GB":
            break
    return f"{value:,.1f} {unit}"


def _short(sql: str) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= 90 else text[:87] + "..."


def build_result(
    advisor: Advisor,
    found: dict[Candidate, Origin],
    final: list[tuple[Choice, dict[int, float]]],
    backend: WhatIf,
) -> AdviceResult:
    from dbtune.advisors.indexes.assemble import assemble

    return assemble(advisor, found, final, backend)
