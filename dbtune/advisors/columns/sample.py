"""Exact per-row widths from the table itself: the whole table when small, else a sample.

One bounded query reads, for every row in physical order, whether each column is NULL and
how many bytes each varlena value takes *as stored* (``pg_column_size``: 1-byte or 4-byte
header, compressed, or an 18-byte TOAST pointer). Any layout can then be priced per row in
Python without touching the table again, and the page simulation sees the real mix of
narrow and wide rows instead of one average.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from psycopg import sql

from dbtune.advisors.columns.catalog import Column, Table
from dbtune.advisors.columns.storage import SHORT_VARLENA_MAX, TOAST_POINTER, varlena_width

DEFAULT_SAMPLE_ROWS = 30_000
ProbeKind = Literal["fixed", "stored", "payload", "flag"]


@dataclass(frozen=True)
class Probe:
    """One value read per row: ``fixed`` NULL-ness, ``stored`` varlena width as stored,
    ``payload`` data bytes of an expression (priced as a new varlena), ``flag`` a boolean."""

    key: str
    expr: sql.Composable
    kind: ProbeKind
    packable: bool = True


def stored_width(column: Column, version: int) -> sql.Composable:
    """SQL for a varlena column's stored width, encoded as :mod:`storage` expects."""
    c = sql.Identifier(column.name)
    size = sql.SQL("pg_column_size({})").format(c)
    arms: list[sql.Composable] = [sql.SQL("WHEN {} IS NULL THEN NULL").format(c)]
    if version >= 170000:
        arms.append(
            sql.SQL("WHEN pg_column_toast_chunk_id({}) IS NOT NULL THEN {}").format(
                c, TOAST_POINTER
            )
        )
    elif column.storage in ("x", "e"):
        arms.append(sql.SQL("WHEN {} > 2032 THEN {}").format(size, TOAST_POINTER))
    if version >= 140000:
        arms.append(sql.SQL("WHEN pg_column_compression({}) IS NOT NULL THEN -{}").format(c, size))
    if column.packable:
        arms.append(sql.SQL("WHEN {} <= {} THEN {}").format(size, SHORT_VARLENA_MAX, size))
    return sql.SQL("CASE {} ELSE -{} END").format(sql.SQL(" ").join(arms), size)


def column_probe(column: Column, version: int) -> Probe:
    if column.typlen > 0:
        return Probe(
            column.name, sql.SQL("({} IS NULL)").format(sql.Identifier(column.name)), "fixed"
        )
    return Probe(column.name, stored_width(column, version), "stored", column.packable)


@dataclass
class Sample:
    keys: list[str]
    rows: list[tuple[int | None, ...]]
    table_rows: int
    complete: bool
    """Whether ``rows`` is every row of the table (then estimates are for the table itself)."""
    method: str

    def index(self, key: str) -> int:
        return self.keys.index(key)


def _convert(probe: Probe, value: Any) -> int | None:
    if probe.kind == "fixed":
        return None if value else 0
    if probe.kind == "flag":
        return 1 if value else 0
    if value is None:
        return None
    if probe.kind == "payload":
        return varlena_width(int(value), packable=probe.packable)
    return int(value)


def sample_clause(table_rows: int, limit: int) -> tuple[sql.Composable, str]:
    """``TABLESAMPLE`` for about ``limit`` rows, or nothing when the table is that small."""
    if table_rows <= limit:
        return sql.SQL(""), "whole table"
    percent = min(100.0, round(100.0 * limit / table_rows * 1.2, 6))
    clause = sql.SQL(" TABLESAMPLE SYSTEM ({}) REPEATABLE (42)").format(sql.Literal(percent))
    return clause, f"TABLESAMPLE SYSTEM ({percent:g}%)"


def read_sample(
    conn: Any, table: Table, probes: list[Probe], table_rows: int, limit: int
) -> Sample:
    """Read ``probes`` for the table's rows in physical order (bounded by ``limit`` rows)."""
    clause, method = sample_clause(table_rows, limit)
    conn.execute("SET synchronize_seqscans = off")
    conn.execute("SET max_parallel_workers_per_gather = 0")
    exprs = sql.SQL(", ").join(p.expr for p in probes) if probes else sql.SQL("1")
    query = sql.SQL("SELECT {} FROM ONLY {}{} LIMIT {}").format(
        exprs, table.ident, clause, sql.Literal(limit)
    )
    raw = conn.execute(query).fetchall()
    rows = [tuple(_convert(p, v) for p, v in zip(probes, r, strict=False)) for r in raw]
    complete = method == "whole table" and (len(rows) < limit or len(rows) == table_rows)
    total = len(rows) if complete else max(table_rows, len(rows))
    return Sample([p.key for p in probes], rows, total, complete, method)
