"""What :func:`analyze` returns: per table sizes now and after, findings, verification.

Sizes are heap bytes of the main fork (``pg_relation_size``) per row, *including* the
4-byte line pointer and the page header and unused page tail amortised over the rows on
each page: ``row_bytes_now`` is the table as it is, packed (what ``VACUUM FULL`` leaves);
``row_bytes_after`` is a new table built with ``layout_after``. TOAST, the free-space and
visibility maps are not counted. Index bytes are reported separately.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dbtune.advisors.columns.findings import Finding


@dataclass
class Measurement:
    label: str
    rows: int
    heap_bytes: int
    index_bytes: int
    est_heap_bytes: int
    est_index_bytes: int
    tuple_bytes: int | None = None

    @property
    def heap_error(self) -> float:
        return (
            abs(self.est_heap_bytes - self.heap_bytes) / self.heap_bytes if self.heap_bytes else 0.0
        )

    @property
    def per_row(self) -> float:
        return (self.heap_bytes + self.index_bytes) / self.rows if self.rows else 0.0

    def to_json(self) -> dict[str, Any]:
        rows = max(1, self.rows)
        return {
            "layout": self.label,
            "rows": self.rows,
            "heap_bytes_per_row_measured": round(self.heap_bytes / rows, 2),
            "heap_bytes_per_row_estimated": round(self.est_heap_bytes / rows, 2),
            "index_bytes_per_row_measured": round(self.index_bytes / rows, 2),
            "index_bytes_per_row_estimated": round(self.est_index_bytes / rows, 2),
            "heap_error": round(self.heap_error, 4),
            "pgstattuple_tuple_bytes": self.tuple_bytes,
        }


@dataclass
class TableReport:
    table: str
    rows: int
    rows_exact: bool
    row_bytes_now: float
    row_bytes_after: float
    bytes_now: int
    bytes_after: int
    row_bytes_measured: float
    index_bytes_now: int
    index_bytes_after: int
    layout_now: list[dict[str, str]]
    layout_after: list[dict[str, str]]
    sample: str
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    verification: list[Measurement] | None = None
    verified_row_bytes_now: float | None = None
    verified_row_bytes_after: float | None = None
    row_bytes_after_bulk: float = 0.0
    """``row_bytes_after`` as a PostgreSQL 16+ ``CREATE TABLE AS`` or rewriting ``ALTER
    TABLE`` leaves the file before VACUUM trims its preallocated empty tail."""
    migration: list[str] = field(default_factory=list)
    """Django migration operations for every applied finding, as one migration."""

    @property
    def saving(self) -> int:
        return self.bytes_now - self.bytes_after

    def ranked(self) -> list[Finding]:
        """Worth-it findings by bytes saved, then the ones that are not worth it."""
        return sorted(self.findings, key=lambda f: (not f.worth_it, -f.bytes_per_row, f.kind))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "table": self.table,
            "rows": self.rows,
            "rows_exact": self.rows_exact,
            "row_bytes_now": round(self.row_bytes_now, 2),
            "row_bytes_after": round(self.row_bytes_after, 2),
            "row_bytes_after_bulk": round(self.row_bytes_after_bulk, 2),
            "bytes_now": self.bytes_now,
            "bytes_after": self.bytes_after,
            "row_bytes_measured": round(self.row_bytes_measured, 2),
            "index_bytes_now": self.index_bytes_now,
            "index_bytes_after": self.index_bytes_after,
            "layout_now": self.layout_now,
            "layout_after": self.layout_after,
            "sample": self.sample,
            "findings": [f.to_json() for f in self.ranked()],
            "notes": self.notes,
            "django_migration": self.migration,
            "verification": None,
        }
        if self.verification is not None:
            worst = max((m.heap_error for m in self.verification), default=0.0)
            out["verification"] = {
                "row_bytes_now": self.verified_row_bytes_now,
                "row_bytes_after": self.verified_row_bytes_after,
                "layouts": [m.to_json() for m in self.verification],
                "max_heap_error": round(worst, 4),
                "within_5_percent": worst <= 0.05,
            }
        return out


@dataclass
class ColumnReport:
    tables: list[TableReport]
    server: dict[str, Any]
    skipped: list[dict[str, str]] = field(default_factory=list)
    verified: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "tables": [t.to_json() for t in self.tables],
            "skipped": self.skipped,
            "server": self.server,
            "verified": self.verified,
            "definitions": {
                "row_bytes": "heap (main fork) bytes per row incl. line pointer and page "
                "overhead, table packed; after = new table with layout_after",
                "bytes_per_row": "finding's saving per row, heap + B-tree indexes; "
                "<= 0 when not worth it",
            },
        }

    def fattest(self) -> TableReport | None:
        """The table whose applied findings save the most heap bytes (``None``: no table)."""
        return max(self.tables, key=lambda t: t.saving, default=None)

    def summary(self) -> str:
        """One line for progress output: the fattest table, estimated and verified."""
        fat = self.fattest()
        if fat is None or fat.saving <= 0:
            return "no column change saves space"
        line = (
            f"{fat.table}: {fat.row_bytes_now:.1f} -> {fat.row_bytes_after:.1f} bytes/row "
            f"estimated, saving {fat.saving / 2**20:,.1f} MB of {fat.bytes_now / 2**20:,.1f} MB"
        )
        if fat.verified_row_bytes_now is not None:
            line += f"; verified {fat.verified_row_bytes_now} -> {fat.verified_row_bytes_after}"
        return line

    def section(self) -> Any:
        from dbtune.advisors.columns.render import report_section

        return report_section(self)
