"""Rendering a :class:`ColumnReport`: report sections, plain text, and Django migrations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dbtune.report import Document, Paragraph, Section, Table, render_text

if TYPE_CHECKING:
    from dbtune.advisors.columns.findings import Finding
    from dbtune.advisors.columns.result import ColumnReport, TableReport


def _mb(value: float) -> str:
    return f"{value / 1024 / 1024:,.1f} MB"


def _change(f: Finding) -> str:
    if f.kind == "reorder":
        return "order: " + ", ".join(f.columns)
    target = f.to_type or "(dropped)"
    return f"{', '.join(f.columns)}: {f.from_type or ''} -> {target}"


def _verified(f: Finding) -> object:
    return "" if f.verified_bytes_per_row is None else f.verified_bytes_per_row


def table_blocks(t: TableReport) -> list[Paragraph | Table]:
    blocks: list[Paragraph | Table] = [
        Paragraph(
            f"{t.table}: {t.rows:,} rows; {t.row_bytes_now:.2f} bytes/row now, "
            f"{t.row_bytes_after:.2f} "
            f"after; heap {_mb(t.bytes_now)} -> {_mb(t.bytes_after)} (saves {_mb(t.saving)}); "
            f"indexes {_mb(t.index_bytes_now)} -> {_mb(t.index_bytes_after)}; sizes from {t.sample}"
        )
    ]
    verified = t.verification is not None
    rows: list[list[object]] = []
    for f in t.ranked():
        verdict = (
            "yes" if f.applied else "not worth it" if not f.worth_it else f"no ({f.risk} risk)"
        )
        if not f.confirmed:
            verdict = "unconfirmed"
        rewrite = "" if f.plan is None else ("rewrite" if f.plan.rewrite else "no rewrite")
        measured = [_verified(f)] if verified else []
        rows.append(
            [f.kind, _change(f), round(f.bytes_per_row, 2), f.bytes_total, *measured]
            + [rewrite, f.risk, verdict, f.reason]
        )
    if rows:
        headers = ["kind", "change", "B/row", "bytes", *(["verified B/row"] if verified else [])]
        headers += ["rewrite", "risk", "apply", "why"]
        blocks.append(Table(headers, rows, caption=f"{t.table}: findings ranked by bytes saved"))
    for note in t.notes:
        blocks.append(Paragraph(f"note: {note}"))
    if t.verification is not None:
        worst = max((m.heap_error for m in t.verification), default=0.0)
        if t.verified_row_bytes_now is not None:
            blocks.append(
                Paragraph(
                    f"verified on copies: {t.verified_row_bytes_now} bytes/row now, "
                    f"{t.verified_row_bytes_after} after; estimates within {worst:.2%} of the "
                    "measured heap size"
                )
            )
    return blocks


def report_section(report: ColumnReport, title: str = "Column slimming") -> Section:
    section = Section(title)
    total_now = sum(t.bytes_now for t in report.tables)
    total_after = sum(t.bytes_after for t in report.tables)
    section.add(
        Paragraph(
            f"{len(report.tables)} tables analysed: heap {_mb(total_now)} -> {_mb(total_after)}. "
            "Bytes per row count the tuple, its line pointer and page overhead, exactly as "
            "PostgreSQL stores them; a change that saves nothing is listed as not worth it."
        )
    )
    if report.tables:
        section.add(
            Table(
                ["table", "rows", "B/row now", "B/row after", "saving"],
                [
                    [
                        t.table,
                        t.rows,
                        round(t.row_bytes_now, 2),
                        round(t.row_bytes_after, 2),
                        _mb(t.saving),
                    ]
                    for t in report.tables
                ],
            )
        )
    for t in report.tables:
        for block in table_blocks(t):
            section.add(block)
    for s in report.skipped:
        section.add(Paragraph(f"skipped {s['table']}: {s['reason']}"))
    return section


def render_report_text(report: ColumnReport) -> str:
    document = Document("dbtune advise columns")
    document.sections.append(report_section(report))
    return render_text(document)


def render_django(report: ColumnReport) -> str:
    """One migration's operations per table, for every applied finding, with the lock warning."""
    lines = ["# dbtune advise columns: Django migration operations (review before use)"]
    for t in report.tables:
        if not t.migration:
            continue
        applied = [f for f in t.ranked() if f.applied]
        lines += [
            "",
            f"# --- {t.table}: heap {_mb(t.bytes_now)} -> {_mb(t.bytes_after)} "
            f"({t.row_bytes_now:.1f} -> {t.row_bytes_after:.1f} B/row)",
        ]
        lines += [f"# {f.kind}: {_change(f)} saves {f.bytes_per_row:.1f} B/row" for f in applied]
        lines += t.migration
    if len(lines) == 1:
        lines.append("# nothing worth changing")
    return "\n".join(lines) + "\n"
