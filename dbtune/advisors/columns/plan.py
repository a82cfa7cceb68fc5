"""How to apply a finding: does it rewrite the table, which lock, how long, how much WAL,
which foreign keys follow, the online alternative, and the SQL (built with ``psycopg.sql``).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from psycopg import sql

from dbtune.advisors.columns.catalog import Column, Table

REWRITE_BYTES_PER_SECOND = 50 * 1024 * 1024
"""Assumed rewrite speed (heap + index build) for duration estimates; measure yours."""

_NO_REWRITE_NOTE = "binary-coercible change: catalog update only, indexes kept"


def _typmod_length(type_name: str) -> int | None:
    if "(" in type_name and type_name.endswith(")"):
        inner = type_name[type_name.index("(") + 1 : -1]
        return int(inner) if inner.isdigit() else None
    return None


def rewrites(column: Column, to_type: str) -> tuple[bool, str]:
    """Whether ``ALTER COLUMN ... TYPE to_type`` rewrites the table, and why.

    PostgreSQL skips the rewrite only when the old type is binary coercible to the new one
    and no length check can fail: ``varchar(n)`` to a longer ``varchar`` or to ``text``,
    ``text`` to unconstrained ``varchar``, ``numeric(p,s)`` to a wider precision with the
    same scale. Everything else (integer narrowing or widening, ``varchar`` shrink,
    ``text`` to ``varchar(n)``, ``char(n)`` to ``varchar``, text to ``uuid``, timestamps to
    ``date``) rewrites the table and rebuilds its indexes.
    """
    old, new = column.type_name, to_type
    old_len, new_len = _typmod_length(old), _typmod_length(new)
    if old.startswith("character varying"):
        if new == "text" or (
            new.startswith("character varying")
            and (new_len is None or (old_len is not None and new_len >= old_len))
        ):
            return False, _NO_REWRITE_NOTE
        if new.startswith("character varying"):
            return True, "a shorter varchar limit must check every value"
    if old == "text" and new in ("character varying", "text"):
        return False, _NO_REWRITE_NOTE
    if old.startswith("numeric(") and new.startswith("numeric("):
        o, n = old[8:-1].split(","), new[8:-1].split(",")
        if len(o) == len(n) == 2 and o[1] == n[1] and int(n[0]) >= int(o[0]):
            return False, _NO_REWRITE_NOTE
    if old == new:
        return False, "same type"
    return True, f"{old} and {new} are stored differently, so every row is rewritten"


@dataclass(frozen=True)
class Change:
    """One column's new type; ``choices`` maps text values to codes 1..n (in order)."""

    column: Column
    to_type: str
    choices: tuple[str, ...] = ()


@dataclass
class Plan:
    rewrite: bool
    rewrite_reason: str
    lock: str
    statements: list[str]
    online: list[str]
    fk_cascade: list[str] = field(default_factory=list)
    seconds: float = 0.0
    wal_bytes: int = 0
    django: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "rewrite": self.rewrite,
            "rewrite_reason": self.rewrite_reason,
            "lock": self.lock,
            "sql": self.statements,
            "online": self.online,
            "fk_cascade": self.fk_cascade,
            "estimated_seconds": round(self.seconds, 1),
            "wal_bytes": self.wal_bytes,
            "django": self.django,
            "warnings": self.warnings,
        }


def _s(composed: sql.Composable) -> str:
    return composed.as_string(None)


def using_expression(
    column: Column, to_type: str, choices: tuple[str, ...] | list[str]
) -> sql.Composable:
    c = sql.Identifier(column.name)
    if choices:
        arms = sql.SQL(" ").join(
            sql.SQL("WHEN {} THEN {}").format(sql.Literal(v), sql.Literal(i))
            for i, v in enumerate(choices, 1)
        )
        return sql.SQL("CASE {} {} END").format(c, arms)
    return sql.SQL("{}::{}").format(c, sql.SQL(to_type))


def alter_type_sql(table: Table, changes: list[Change]) -> str:
    """One ``ALTER TABLE`` for all ``changes``: one rewrite, however many columns."""
    clauses = sql.SQL(", ").join(
        sql.SQL("ALTER COLUMN {} TYPE {} USING {}").format(
            sql.Identifier(ch.column.name),
            sql.SQL(ch.to_type),
            using_expression(ch.column, ch.to_type, ch.choices),
        )
        for ch in changes
    )
    return _s(sql.SQL("ALTER TABLE {} {}").format(table.ident, clauses))


def online_steps(table: Table, change: Change) -> list[str]:
    """Add a column, backfill in batches, swap: short locks, but the bytes come back only
    once the rows are rewritten again (``pg_repack`` or a later ``VACUUM FULL``)."""
    column, to_type = change.column, change.to_type
    t, c = table.ident, sql.Identifier(column.name)
    new = sql.Identifier(f"{column.name}_new")
    old = sql.Identifier(f"{column.name}_old")
    value = using_expression(column, to_type, change.choices)
    return [
        _s(sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(t, new, sql.SQL(to_type))),
        _s(
            sql.SQL(
                "UPDATE {} SET {} = {} WHERE ctid = ANY (ARRAY(SELECT ctid FROM {} "
                "WHERE {} IS NULL AND {} IS NOT NULL LIMIT 10000))"
            ).format(t, new, value, t, new, c)
        ),
        "-- repeat until it updates 0 rows; keep new writes in sync (trigger or dual writes)",
        _s(sql.SQL("ALTER TABLE {} RENAME COLUMN {} TO {}").format(t, c, old)),
        _s(sql.SQL("ALTER TABLE {} RENAME COLUMN {} TO {}").format(t, new, c)),
        _s(sql.SQL("ALTER TABLE {} DROP COLUMN {}").format(t, old)),
    ]


def rebuild_steps(table: Table, columns: list[Change]) -> list[str]:
    """Copy into a new table laid out as ``columns`` (in order, each with its final type
    and ``USING`` conversion) and swap names: one rewrite for order and types together."""
    new = sql.Identifier(table.schema, f"{table.name}_rebuilt")
    defs = sql.SQL(", ").join(
        sql.SQL("{} {}{}").format(
            sql.Identifier(ch.column.name),
            sql.SQL(ch.to_type),
            sql.SQL(" NOT NULL" if ch.column.not_null else ""),
        )
        for ch in columns
    )
    names = sql.SQL(", ").join(sql.Identifier(ch.column.name) for ch in columns)
    values = sql.SQL(", ").join(
        sql.Identifier(ch.column.name)
        if ch.to_type == ch.column.type_name
        else using_expression(ch.column, ch.to_type, ch.choices)
        for ch in columns
    )
    old = sql.Identifier(f"{table.name}_old")
    return [
        _s(sql.SQL("CREATE TABLE {} ({})").format(new, defs)),
        _s(
            sql.SQL("INSERT INTO {} ({}) SELECT {} FROM ONLY {}").format(
                new, names, values, table.ident
            )
        ),
        "-- recreate defaults, identity, indexes, constraints, triggers, grants on the new table",
        _s(sql.SQL("ALTER TABLE {} RENAME TO {}").format(table.ident, old)),
        _s(sql.SQL("ALTER TABLE {} RENAME TO {}").format(new, sql.Identifier(table.name))),
    ]


def drop_sql(table: Table, column: Column) -> str:
    return _s(
        sql.SQL("ALTER TABLE {} DROP COLUMN {}").format(table.ident, sql.Identifier(column.name))
    )


def cost(plan: Plan, rewrite_bytes: int, wal_level: str) -> None:
    """Fill in duration and WAL for rewriting ``rewrite_bytes`` (heap + rebuilt indexes)."""
    if not plan.rewrite:
        plan.seconds, plan.wal_bytes = 0.1, 0
        return
    plan.seconds = rewrite_bytes / REWRITE_BYTES_PER_SECOND
    plan.wal_bytes = 0 if wal_level == "minimal" else rewrite_bytes


@cache
def ecpg_ready() -> bool:
    """Put the PostgreSQL ``bin`` folder holding ``ecpg`` on ``PATH`` if needed; whether it is."""
    if shutil.which("ecpg"):
        return True
    try:
        from dbtune.lab import pg_bin_dir

        folder = str(pg_bin_dir())
    except Exception:  # no usable PostgreSQL binaries: validation is skipped, not fatal
        return False
    if not os.access(os.path.join(folder, "ecpg"), os.X_OK):
        return False
    os.environ["PATH"] = folder + os.pathsep + os.environ.get("PATH", "")
    return True


def invalid(statements: list[str]) -> list[str]:
    """``"statement: error"`` for each statement pgsanity rejects (comments are skipped);
    empty when all pass or when ``ecpg`` is unavailable."""
    if not ecpg_ready():
        return []
    from pgsanity.pgsanity import check_string

    errors = []
    for statement in statements:
        if statement.lstrip().startswith("--"):
            continue
        ok, message = check_string(statement, add_semicolon=True)
        if not ok:
            errors.append(f"{statement}: {message}")
    return errors
