"""The column advisor's entry point: screen, confirm, price, plan, and optionally verify.

Reads through a read-only session; only ``verify=True`` opens a writable one, and only on a
server the lab started or with ``allow_copies=True``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from dbtune.advisors.columns.catalog import Table, load_tables
from dbtune.advisors.columns.confirm import confirm
from dbtune.advisors.columns.findings import Finding, from_candidate
from dbtune.advisors.columns.gather import (
    attach_index_facts,
    build_probes,
    count_rows,
    take_sample,
    trimmed_key,
)
from dbtune.advisors.columns.index_size import model_for
from dbtune.advisors.columns.layout import Layout, best_order, current_layout
from dbtune.advisors.columns.migration import make_plan, table_migration
from dbtune.advisors.columns.plan import invalid
from dbtune.advisors.columns.pricing import Pricer
from dbtune.advisors.columns.result import ColumnReport, TableReport
from dbtune.advisors.columns.row_findings import (
    combined_finding,
    dropped_attrs_finding,
    reorder_finding,
)
from dbtune.advisors.columns.sample import DEFAULT_SAMPLE_ROWS
from dbtune.advisors.columns.screening import screen
from dbtune.advisors.columns.server import is_lab, server_facts
from dbtune.advisors.columns.stats import load_stats
from dbtune.advisors.columns.storage import bulk_extended_pages
from dbtune.advisors.columns.verify import verify_table
from dbtune.db import connect
from dbtune.errors import DBTuneError


@dataclass
class Options:
    schema: str = "public"
    tables: list[str] | None = None
    headroom: float = 10.0
    min_rows: int = 1000
    sample_rows: int = DEFAULT_SAMPLE_ROWS
    check_timeout_ms: int = 10_000
    progress: Callable[[str], None] = field(default=lambda message: None)


@dataclass
class Work:
    """What verification needs from the analysis of one table."""

    table: Table
    pricer: Pricer
    current: Layout
    after: Layout
    report: TableReport


def _after(pricer: Pricer, current: Layout, findings: list[Finding]) -> Layout:
    """The table rebuilt with every applied finding, in its tightest order if that helps."""
    applied = [f for f in findings if f.applied]
    if not applied:
        return current
    layout = current
    for f in applied:
        if f.kind in ("narrow", "retype") and f.variant is not None:
            for name in f.columns:
                layout = layout.replace_slot(name, f.variant.slot(name))
        elif f.kind == "drop" and f.from_type != "dropped column":
            layout = layout.replace_slot(f.columns[0], None)
    fresh = layout.fresh()
    best = best_order(fresh, pricer.sample, pricer.table.fillfactor, pricer.platform)
    return best if pricer.heap(best).bytes_total < pricer.heap(fresh).bytes_total else fresh


def analyze_table(conn: Any, table: Table, opts: Options, facts: dict[str, Any]) -> Work | str:
    """The analysis of one table, or the reason it was skipped."""
    conn.execute(sql.SQL("SET statement_timeout = {}").format(sql.Literal(opts.check_timeout_ms)))
    rows, exact = count_rows(conn, table)
    if rows < opts.min_rows:
        return f"{rows} rows (fewer than --min-rows {opts.min_rows})"
    stats = load_stats(conn, table.schema, table.name)
    notes = [] if stats else ["no statistics: run ANALYZE for screening beyond integer ranges"]
    if table.parent:
        notes.append(f"a partition of {table.parent}: apply type changes to the parent")
    candidates = screen(table, stats, opts.headroom)
    for cand in candidates:
        confirm(conn, table, cand, opts.headroom, facts["version_num"])
    models = [model_for(i, table) for i in table.indexes]
    probes = build_probes(table, candidates, models, facts["version_num"])
    sample = take_sample(conn, table, probes, stats, rows, opts.sample_rows, notes)
    attach_index_facts(conn, table, models, sample, candidates, stats)
    pricer = Pricer(table, sample, facts["platform"], models)
    current = current_layout(table, sample)
    findings = [
        from_candidate(
            pricer,
            current,
            c,
            sample.keys.index(trimmed_key(c.column.name))
            if trimmed_key(c.column.name) in sample.keys
            else None,
        )
        for c in candidates
        if c.kind == "drop" or c.to_type is not None
    ]
    extra = (
        combined_finding(pricer, current, findings),
        dropped_attrs_finding(pricer, current),
        reorder_finding(pricer, current),
    )
    findings += [f for f in extra if f]
    for f in findings:
        f.applied = f.worth_it and f.confirmed and f.risk != "high"
        f.plan = make_plan(table, f, pricer, facts["wal_level"])
        errors = invalid(f.plan.statements + f.plan.online)
        if errors:
            f.plan.warnings.append("generated SQL failed validation: " + "; ".join(errors))
    after = _after(pricer, current, findings)
    now_heap, after_heap = pricer.heap(current), pricer.heap(after)
    index_now = sum(i.size_bytes for i in table.indexes)
    index_after = max(0, index_now - (pricer.index_total(current) - pricer.index_total(after)))
    report = TableReport(
        table.label,
        pricer.rows,
        exact,
        now_heap.bytes_per_row,
        after_heap.bytes_per_row,
        now_heap.bytes_total,
        after_heap.bytes_total,
        table.heap_bytes / rows if rows else 0.0,
        index_now,
        index_after,
        current.describe(),
        after.describe(),
        sample.method,
        findings,
        notes,
    )
    pages = math.ceil(after_heap.bytes_total / pricer.platform.block_size)
    bulk = bulk_extended_pages(pages) if facts["version_num"] >= 160000 else pages
    report.row_bytes_after_bulk = bulk * pricer.platform.block_size / rows if rows else 0.0
    after_columns = [(s.name, s.type_name) for s in after.live]
    rewrite_bytes = after_heap.bytes_total + index_after
    report.migration = table_migration(table, findings, after_columns, rewrite_bytes)
    unmodelled = [m.index.name for m in models if not m.modelled]
    if unmodelled:
        report.notes.append(
            "indexes not modelled (expression or not B-tree), counted unchanged: "
            + ", ".join(unmodelled)
        )
    return Work(table, pricer, current, after, report)


def analyze(
    dsn: str,
    *,
    tables: list[str] | None = None,
    verify: bool = False,
    allow_copies: bool = False,
    **options: Any,
) -> ColumnReport:
    """Analyse the tables of ``dsn`` (all in ``schema``, or ``tables``); see :mod:`result`.

    Options: ``schema``, ``headroom`` (narrow only when values times this fit, default 10),
    ``min_rows``, ``sample_rows``, ``check_timeout_ms``, ``progress`` (a callable for
    progress lines). ``verify`` builds copies; it needs a lab server or ``allow_copies``.
    """
    opts = Options(tables=tables, **options)
    if verify and not allow_copies and not is_lab(dsn):
        raise DBTuneError(
            "--verify builds copies of tables; this server was not started by `dbtune lab`, "
            "so pass --allow-copies to allow copies in schema dbtune_scratch"
        )
    works: list[Work] = []
    skipped: list[dict[str, str]] = []
    with connect(dsn, read_only=True) as conn:
        facts = server_facts(conn)
        found = load_tables(conn, opts.schema, opts.tables)
        missing = sorted(set(opts.tables or []) - {t.name for t in found})
        if missing:
            raise DBTuneError(
                f"no table {', '.join(missing)} in schema {opts.schema}; check --table and --schema"
            )
        for table in found:
            opts.progress(f"columns: {table.label}")
            try:
                outcome = analyze_table(conn, table, opts, facts)
            except psycopg.Error as exc:  # e.g. no SELECT privilege: skip, say why
                outcome = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            if isinstance(outcome, str):
                skipped.append({"table": table.label, "reason": outcome})
            else:
                works.append(outcome)
        if verify and works:
            conn.execute("SET statement_timeout = 0")
            with connect(dsn, read_only=False, statement_timeout_ms=0) as wconn:
                for work in works:
                    opts.progress(f"columns: verifying {work.table.label} on copies")
                    verify_table(
                        wconn,
                        conn,
                        work.table,
                        work.pricer,
                        work.current,
                        work.after,
                        work.report,
                        opts.sample_rows,
                    )
    server = {k: v for k, v in facts.items() if k != "platform"}
    return ColumnReport([w.report for w in works], server, skipped, verify)
