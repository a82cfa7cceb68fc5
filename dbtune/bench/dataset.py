"""Benchmark data: the schema, memory-frugal bulk loads, sizes, and setting parsers.

Loads generate rows on the server (``INSERT ... SELECT generate_series``) in chunks, each
its own transaction, with small ``maintenance_work_mem``/``work_mem``: under a tight
memory cgroup a single huge insert or a 64 MB index sort gets the server OOM-killed, and
dirty page cache must be able to drain between chunks. Primary keys are added after the
rows are in. A data set that is already there with the same shape is reused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from psycopg import sql

from dbtune.bench.servers import SCHEMA, Server
from dbtune.errors import DBTuneError

CHUNK_ROWS = 250_000


def load_connection(server: Server, memory_bytes: int) -> Any:
    """A connection for bulk loads, with sort memory sized to fit the node's memory."""
    conn = server.connect()
    sort_kb = max(4 * 1024, min(256 * 1024, memory_bytes // 8 // 1024))
    conn.execute(sql.SQL("SET maintenance_work_mem = {}").format(sql.Literal(f"{sort_kb}kB")))
    conn.execute("SET work_mem = '4MB'")
    conn.execute("SET synchronous_commit = off")
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(SCHEMA)))
    return conn


def table_rows(conn: Any, table: str) -> int | None:
    """Rows in ``SCHEMA.table`` (``None`` when the table does not exist)."""
    found = conn.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.{table}",)).fetchone()
    if found is None or found[0] is None:
        return None
    row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(qualified(table))).fetchone()
    return int(row[0])


def qualified(table: str) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(SCHEMA), sql.Identifier(table))


def fill(
    conn: Any,
    insert: sql.Composable,
    total: int,
    progress: Callable[[str], None],
    what: str,
    params: dict[str, Any] | None = None,
) -> None:
    """Run ``insert`` (with ``%(lo)s``/``%(hi)s`` placeholders) over ``1..total`` in chunks.

    ``params`` adds further named parameters the statement uses.
    """
    low = 1
    while low <= total:
        high = min(low + CHUNK_ROWS - 1, total)
        conn.execute(insert, {**(params or {}), "lo": low, "hi": high})
        low = high + 1
    progress(f"  {what}: {total:,} rows")


def settle(servers: list[Server], progress: Callable[[str], None]) -> None:
    """After a bulk load: checkpoint the servers this run owns and flush the OS's dirty
    pages, so that writing the load back to disk does not land in the first measurements."""
    import os

    owned = [server for server in servers if server.owned]
    for server in owned:
        with server.connect() as conn:
            conn.execute("CHECKPOINT")
    if owned:
        os.sync()
        progress("checkpointed and flushed the load to disk")


def relation_bytes(conn: Any, table: str) -> int:
    """Heap plus indexes of ``SCHEMA.table`` in bytes."""
    row = conn.execute(
        "SELECT pg_total_relation_size(%s::regclass)", (f"{SCHEMA}.{table}",)
    ).fetchone()
    return int(row[0])


def parse_ratios(text: str, what: str = "ratios") -> list[float]:
    """``"0.25,0.5,1"`` -> ``[0.25, 0.5, 1.0]``; one-line error when malformed."""
    try:
        values = sorted({float(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise DBTuneError(f"--set {what}={text!r}: use comma-separated numbers") from None
    if not values or min(values) <= 0:
        raise DBTuneError(f"--set {what}={text!r}: give at least one positive number")
    return values


def parse_bytes(text: str, what: str) -> int:
    from dbtune.lab import parse_size

    return parse_size(text, f"--set {what}")


def mb(size: int) -> str:
    """Bytes as a whole number of MB the lab accepts (``"16MB"``)."""
    return f"{max(1, round(size / 1024 / 1024))}MB"
