"""First pass: which columns *might* be wasting space, judged from ``pg_stats`` and types.

Screening is cheap and never final. Each :class:`Candidate` names the exact, bounded check
(:mod:`confirm`) that must pass before anything is claimed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from dbtune.advisors.columns.catalog import Column, Table
from dbtune.advisors.columns.stats import ColumnStats
from dbtune.advisors.columns.targets import BOOL_WORDS, INT_RE, MIDNIGHT_RE, UUID_RE, smallest_int

TEXT_TYPES = ("text", "varchar", "bpchar")
MAX_CHOICES = 16
MAX_CHOICE_WIDTH = 32
"""Status-like strings only: a few short values (``avg_width`` in bytes as stored)."""


@dataclass
class Candidate:
    kind: str
    """``narrow``, ``retype`` or ``drop``."""
    column: Column
    to_type: str | None
    check: str
    """Which exact check confirms it: ``null``, ``constant``, ``range``, ``midnight``,
    ``uuid``, ``integer_text``, ``boolean_text``, ``choices`` or ``none``."""
    reason: str
    confirmed: bool = False
    evidence: str = ""
    notes: list[str] = field(default_factory=list)
    choices: list[str] = field(default_factory=list)


def _int_values(values: list[str]) -> list[int]:
    out: list[int] = []
    for v in values:
        try:
            number = Decimal(v)
        except InvalidOperation:
            continue
        if number == number.to_integral_value():
            out.append(int(number))
    return out


def _integer_candidate(
    column: Column, stats: ColumnStats | None, headroom: float
) -> Candidate | None:
    if column.typname not in ("int8", "int4") and column.numeric_scale != 0:
        return None
    current = {"int8": "bigint", "int4": "integer"}.get(column.typname, "numeric")
    if stats is None:
        return Candidate("narrow", column, None, "range", "no statistics; checking the range")
    values = _int_values(stats.values)
    if not values:
        return None
    target = smallest_int(min(values), max(values), headroom)
    if target is None or target == current or (current == "integer" and target != "smallint"):
        return None
    return Candidate(
        "narrow", column, target, "range", f"statistics show values {min(values)}..{max(values)}"
    )


def _text_candidate(column: Column, stats: ColumnStats, rows: float) -> Candidate | None:
    values = stats.values
    if values and all(UUID_RE.match(v) for v in values):
        return Candidate("retype", column, "uuid", "uuid", "values look like UUIDs")
    if values and all(INT_RE.match(v) for v in values):
        return Candidate("retype", column, "integer", "integer_text", "values look like integers")
    if values and all(v.lower() in BOOL_WORDS for v in values):
        return Candidate("retype", column, "boolean", "boolean_text", "values look like booleans")
    distinct = stats.distinct(rows)
    short = stats.avg_width <= MAX_CHOICE_WIDTH
    if short and 2 <= distinct <= MAX_CHOICES and stats.n_distinct > 0 and stats.covered >= 0.999:
        return Candidate(
            "retype", column, "smallint", "choices", f"{int(distinct)} distinct values"
        )
    if column.typname == "bpchar" and column.typmod > 4:
        length = column.typmod - 4
        return Candidate(
            "retype",
            column,
            f"character varying({length})",
            "none",
            "char(n) pads every value to n",
        )
    return None


def screen(table: Table, stats: dict[str, ColumnStats], headroom: float) -> list[Candidate]:
    """Candidates for every live column, at most one per column (drop wins)."""
    rows = max(table.reltuples, 0.0)
    out: list[Candidate] = []
    for column in table.live:
        st = stats.get(column.name)
        if st is not None and st.null_frac >= 1.0:
            out.append(Candidate("drop", column, None, "null", "statistics show only NULLs"))
            continue
        if st is not None and st.null_frac == 0.0 and st.n_distinct == 1 and len(st.mcv) == 1:
            out.append(
                Candidate(
                    "drop", column, None, "constant", f"statistics show one value {st.mcv[0]!r}"
                )
            )
            continue
        candidate = _integer_candidate(column, st, headroom)
        timestamps = column.typname in ("timestamp", "timestamptz")
        midnight = (
            st is not None and bool(st.values) and all(MIDNIGHT_RE.match(v) for v in st.values)
        )
        if candidate is None and timestamps and midnight:
            candidate = Candidate(
                "narrow", column, "date", "midnight", "every sampled value is at midnight"
            )
        if candidate is None and column.typname in TEXT_TYPES and st is not None:
            candidate = _text_candidate(column, st, rows)
        if candidate is not None:
            out.append(candidate)
    return out
