"""Second pass: bounded exact queries that prove (or refute) what screening suspected.

"Always NULL", "constant", minimum and maximum are never taken from a sample: each is one
query over the whole table (using an index's endpoints when one exists), cut off by
``statement_timeout``. A check that times out leaves its candidate unconfirmed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from dbtune.advisors.columns.catalog import Table
from dbtune.advisors.columns.screening import MAX_CHOICES, Candidate
from dbtune.advisors.columns.targets import BOOL_WORDS, INT_RANGES, INT_SQL, UUID_SQL, smallest_int

YEARS_AHEAD = 10
CHOICE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_ .-]{0,31}$")
"""What a status label looks like; free text with few values is not a choice list."""


@dataclass
class SequenceState:
    name: str
    last_value: int | None
    per_day: float | None


def sequence_state(conn: Any, table: Table, sequence: str) -> SequenceState:
    row = conn.execute(
        "SELECT last_value FROM pg_sequences "
        "WHERE format('%%I.%%I', schemaname, sequencename) = %s",
        (sequence,),
    ).fetchone()
    last = int(row[0]) if row and row[0] is not None else None
    per_day = (
        table.inserts / table.inserts_days
        if table.inserts_days and table.inserts_days >= 1
        else None
    )
    return SequenceState(sequence, last, per_day)


def _one(conn: Any, query: sql.Composable) -> tuple[Any, ...] | None:
    """The first row, or ``None`` when the query timed out or cannot run on this type."""
    try:
        row: tuple[Any, ...] | None = conn.execute(query).fetchone()
        return row
    except psycopg.Error:
        return None


def _indexed(table: Table, name: str) -> bool:
    attnum = table.column(name).attnum
    return any(
        i.method == "btree" and i.keys[:1] == [attnum] and not i.predicate for i in table.indexes
    )


def _check_range(
    conn: Any,
    table: Table,
    cand: Candidate,
    headroom: float,
    c: sql.Composable,
    src: sql.Composable,
) -> None:
    row = _one(conn, sql.SQL("SELECT min({c}), max({c}) FROM {t}").format(c=c, t=src))
    if row is None:
        cand.evidence = "min/max query timed out"
        return
    if row[0] is None:
        cand.evidence = "no values to judge a range by"
        return
    low, high = int(row[0]), int(row[1])
    how = "index endpoints" if _indexed(table, cand.column.name) else "full scan"
    cand.evidence = f"values {low}..{high} (exact, {how})"
    if cand.column.sequence:
        state = sequence_state(conn, table, cand.column.sequence)
        position = max(high, state.last_value or 0)
        growth = (state.per_day or 0.0) * 365 * YEARS_AHEAD
        cand.notes.append(
            f"fed by sequence {state.name} at {position}"
            + (f", about {state.per_day:,.0f} inserts/day" if state.per_day else ", growth unknown")
        )
        high = max(high, int(position + growth))
    target = smallest_int(low, high, headroom)
    current = {"int8": "bigint", "int4": "integer", "int2": "smallint"}.get(
        cand.column.typname, "numeric"
    )
    order = ("smallint", "integer", "bigint", "numeric")
    if target is None or order.index(target) >= order.index(current):
        cand.evidence += f"; no narrower type holds it with {headroom:g}x headroom"
        return
    cand.to_type = target
    cand.confirmed = True
    lo, hi = INT_RANGES[target]
    cand.notes.append(
        f"{target} holds {lo}..{hi}; observed values use {max(abs(low), abs(high)) / hi:.4%} of it"
    )


def confirm(conn: Any, table: Table, cand: Candidate, headroom: float, version: int = 0) -> None:
    """Run ``cand.check`` exactly; sets ``confirmed``, ``evidence`` and possibly ``to_type``."""
    c = sql.Identifier(cand.column.name)
    src = sql.SQL("ONLY {}").format(table.ident)
    if cand.check == "range":
        _check_range(conn, table, cand, headroom, c, src)
        return
    if cand.check == "choices":
        query = sql.SQL(
            "SELECT {c}::text FROM {t} WHERE {c} IS NOT NULL "
            "GROUP BY {c} ORDER BY count(*) DESC LIMIT {n}"
        )
        try:
            values = [
                r[0] for r in conn.execute(query.format(c=c, t=src, n=MAX_CHOICES + 1)).fetchall()
            ]
        except psycopg.Error:
            cand.evidence = "distinct-values query timed out"
            return
        labels = all(CHOICE_RE.match(v) for v in values)
        cand.confirmed = labels and 2 <= len(values) <= MAX_CHOICES
        cand.choices = values
        cand.evidence = f"{len(values)} distinct values (exact): {', '.join(values[:8])}"
        return
    if cand.check == "none":
        cand.confirmed, cand.evidence = True, "sizes measured per row"
        return
    predicates: dict[str, sql.SQL] = {
        "null": sql.SQL("{c} IS NOT NULL"),
        "constant": sql.SQL(
            "{c} IS DISTINCT FROM (SELECT {c} FROM {t} WHERE {c} IS NOT NULL LIMIT 1)"
        ),
        "midnight": sql.SQL("{c} <> date_trunc('day', {c})"),
        "uuid": sql.SQL("{c}::text !~ {re}"),
        "integer_text": sql.SQL("{c}::text !~ {re}"),
        "boolean_text": sql.SQL("lower({c}::text) <> ALL ({words})"),
    }
    if version >= 160000:  # pg_input_is_valid: the cast's own parser, ~8x faster than a regex
        predicates["uuid"] = sql.SQL("NOT pg_input_is_valid({c}::text, 'uuid')")
        predicates["integer_text"] = sql.SQL(
            "CASE WHEN {c} IS NULL THEN false WHEN pg_input_is_valid({c}::text, 'bigint') "
            "THEN {c}::text::bigint::text <> {c}::text ELSE true END"
        )
    regex = UUID_SQL if cand.check == "uuid" else INT_SQL
    where = predicates[cand.check].format(
        c=c, t=src, re=sql.Literal(regex), words=sql.Literal(list(BOOL_WORDS))
    )
    row = _one(conn, sql.SQL("SELECT NOT EXISTS (SELECT 1 FROM {} WHERE {})").format(src, where))
    if row is None:
        cand.evidence = "exact check timed out or cannot run on this type"
        return
    cand.confirmed = bool(row[0])
    what = {
        "null": "every value is NULL",
        "constant": "every row holds the same value",
        "midnight": "every value is at midnight",
        "uuid": "every value is a UUID",
        "integer_text": "every value is an integer without leading zeros",
        "boolean_text": "every value is a boolean word",
    }[cand.check]
    cand.evidence = f"{what} (exact, whole table)" if cand.confirmed else f"not so: {what} is false"
    if cand.confirmed and cand.check == "integer_text":
        _check_range(conn, table, cand, headroom, sql.SQL("{}::bigint").format(c), src)
