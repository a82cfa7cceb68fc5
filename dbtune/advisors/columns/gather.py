"""Reading one table for pricing: its row count, the per-row probes, the sample (or the
``pg_stats`` row classes when sampling times out), and index duplicate counts.

Every query here is bounded: ``count(*)`` only below 1 GB of heap, the sample by
``TABLESAMPLE`` and a row limit, the duplicate counts only for indexes a candidate touches,
all under the session's ``statement_timeout``.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from dbtune.advisors.columns.catalog import Table
from dbtune.advisors.columns.classes import stats_sample
from dbtune.advisors.columns.index_size import IndexModel, duplicate_groups, groups_from_stats
from dbtune.advisors.columns.sample import Probe, Sample, column_probe, read_sample
from dbtune.advisors.columns.screening import Candidate
from dbtune.advisors.columns.stats import ColumnStats

COUNT_PAGES_LIMIT = 131_072
"""Count rows exactly below this many heap pages (1 GB); above, trust ``reltuples``."""


def count_rows(conn: Any, table: Table) -> tuple[int, bool]:
    """Rows in the table, and whether the number is exact."""
    if table.relpages < COUNT_PAGES_LIMIT:
        try:
            query = sql.SQL("SELECT count(*) FROM ONLY {}").format(table.ident)
            row = conn.execute(query).fetchone()
            return int(row[0]), True
        except psycopg.errors.QueryCanceled:
            pass
    return max(0, int(table.reltuples)), False


def trimmed_key(column: str) -> str:
    return f"{column}::trimmed"


def predicate_key(index: str) -> str:
    return f"index:{index}"


def build_probes(
    table: Table, candidates: list[Candidate], models: list[IndexModel], version: int
) -> list[Probe]:
    """One probe per live column, the trimmed width of each ``char(n)`` candidate, and the
    predicate of each partial index."""
    probes = [column_probe(c, version) for c in table.live]
    for cand in candidates:
        if cand.column.typname == "bpchar" and (cand.to_type or "").startswith("character varying"):
            expr = sql.SQL("octet_length({}::text)").format(sql.Identifier(cand.column.name))
            probes.append(Probe(trimmed_key(cand.column.name), expr, "payload"))
    for m in models:
        if m.index.predicate:
            expr = sql.SQL("coalesce(({}), false)").format(sql.SQL(m.index.predicate))
            probes.append(Probe(predicate_key(m.index.name), expr, "flag"))
    return probes


def take_sample(
    conn: Any,
    table: Table,
    probes: list[Probe],
    stats: dict[str, ColumnStats],
    rows: int,
    limit: int,
    notes: list[str],
) -> Sample:
    """The exact sample, or row classes from ``pg_stats`` (with a note) on a timeout."""
    try:
        return read_sample(conn, table, probes, rows, limit)
    except psycopg.errors.QueryCanceled:
        notes.append("sampling timed out: sizes from pg_stats row classes, not exact")
        return stats_sample(probes, stats, rows)


def attach_index_facts(
    conn: Any,
    table: Table,
    models: list[IndexModel],
    sample: Sample,
    candidates: list[Candidate],
    stats: dict[str, ColumnStats],
) -> None:
    """Point partial indexes at their predicate probe; count duplicates per key for the
    non-unique indexes a candidate touches (the others price the same before and after)."""
    touched = {c.column.name for c in candidates}
    for m in models:
        if m.index.predicate:
            m.predicate = sample.index(predicate_key(m.index.name))
        if m.modelled and not m.index.unique and touched & set(m.columns or []):
            m.groups = duplicate_groups(conn, sql.SQL("ONLY {}").format(table.ident), m)
            if m.groups is None and m.columns and len(m.columns) == 1:
                m.groups = groups_from_stats(stats.get(m.columns[0]), sample.table_rows)
