"""The measurement protocol around every run: reset, cache state, counters, failures.

Counters are read before and after each run and *subtracted*, so the numbers are right
whether or not a reset was allowed; resets (``pg_stat_reset``, ``pg_stat_reset_shared('io')``,
``pg_stat_statements_reset``) additionally run on servers this benchmark owns, so that
anyone looking at the server's views afterwards sees one run. Per node: ``blks_hit`` /
``blks_read`` of the benchmark database, per-table ``pg_statio_user_tables``,
``pg_stat_io`` (PostgreSQL 16+), server CPU time (lab nodes), replication state, and OOM
kills of the node's memory cgroup.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import psycopg

from dbtune.bench import cache
from dbtune.bench.pgbench import APPLICATION_NAME
from dbtune.bench.servers import SCHEMA, Server
from dbtune.errors import DBTuneError

_DB = (
    "SELECT blks_hit, blks_read, xact_commit, xact_rollback, deadlocks, temp_bytes "
    "FROM pg_stat_database WHERE datname = current_database()"
)
_TABLES = (
    "SELECT relname, coalesce(heap_blks_hit, 0), coalesce(heap_blks_read, 0), "
    "coalesce(idx_blks_hit, 0), coalesce(idx_blks_read, 0) "
    "FROM pg_statio_user_tables WHERE schemaname = %s"
)
_IO = (
    "SELECT coalesce(sum(reads), 0), coalesce(sum(hits), 0), coalesce(sum(writes), 0), "
    "coalesce(sum(extends), 0), coalesce(sum(evictions), 0), coalesce(sum(read_time), 0) "
    "FROM pg_stat_io WHERE object = 'relation'"
)
_IO_KEYS = ("reads", "hits", "writes", "extends", "evictions", "read_time_ms")
_DB_KEYS = ("blks_hit", "blks_read", "xact_commit", "xact_rollback", "deadlocks", "temp_bytes")
_TABLE_KEYS = ("heap_blks_hit", "heap_blks_read", "idx_blks_hit", "idx_blks_read")


def reset(server: Server) -> bool:
    """Reset the server's statistics when this run owns it; returns whether it did."""
    if not server.owned:
        return False
    with server.connect() as conn:
        conn.execute("SELECT pg_stat_reset()")
        if server_version(conn) >= 160000:
            conn.execute("SELECT pg_stat_reset_shared('io')")
        if conn.execute(
            "SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'"
        ).fetchone():
            conn.execute("SELECT pg_stat_statements_reset()")
    return True


def server_version(conn: Any) -> int:
    row = conn.execute("SELECT current_setting('server_version_num')::int").fetchone()
    return int(row[0])


def snapshot(server: Server) -> dict[str, Any]:
    """Every counter the protocol reads, as plain numbers (see module docstring)."""
    with server.connect() as conn:
        row = conn.execute(_DB).fetchone()
        found: dict[str, Any] = {"db": dict(zip(_DB_KEYS, map(int, row or (0,) * 6), strict=True))}
        found["tables"] = {
            str(name): dict(zip(_TABLE_KEYS, map(int, rest), strict=True))
            for name, *rest in conn.execute(_TABLES, (SCHEMA,)).fetchall()
        }
        found["io"] = None
        if server_version(conn) >= 160000:
            io = conn.execute(_IO).fetchone()
            found["io"] = dict(zip(_IO_KEYS, map(float, io or (0,) * 6), strict=True))
        found["replication"] = replication(conn)
    found["cpu_s"] = cache.server_cpu_seconds(server)
    found["oom_kills"] = cache.oom_kills(server)
    return found


def replication(conn: Any) -> dict[str, Any]:
    """Replay lag of a standby, or the standbys a primary streams to (bytes and seconds)."""
    row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
    if row and row[0]:
        lag = conn.execute(
            "SELECT extract(epoch FROM now() - pg_last_xact_replay_timestamp())"
        ).fetchone()
        seconds = float(lag[0]) if lag and lag[0] is not None else None
        return {"role": "standby", "replay_lag_s": seconds}
    rows = conn.execute(
        "SELECT application_name, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), "
        "extract(epoch FROM replay_lag) FROM pg_stat_replication"
    ).fetchall()
    standbys = [
        {
            "name": str(name),
            "lag_bytes": None if lag_bytes is None else int(lag_bytes),
            "replay_lag_s": None if lag_s is None else float(lag_s),
        }
        for name, lag_bytes, lag_s in rows
    ]
    return {"role": "primary", "standbys": standbys}


def difference(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Per-node counters of one run: ``after - before`` plus the hit ratio."""
    db = {key: after["db"][key] - before["db"][key] for key in _DB_KEYS}
    tables = {}
    for name, values in after["tables"].items():
        old = before["tables"].get(name, dict.fromkeys(_TABLE_KEYS, 0))
        tables[name] = {key: values[key] - old[key] for key in _TABLE_KEYS}
        tables[name]["hit_ratio"] = hit_ratio(
            tables[name]["heap_blks_hit"] + tables[name]["idx_blks_hit"],
            tables[name]["heap_blks_read"] + tables[name]["idx_blks_read"],
        )
    io = None
    if after["io"] is not None and before["io"] is not None:
        io = {key: round(after["io"][key] - before["io"][key], 3) for key in _IO_KEYS}
    cpu = None
    if after["cpu_s"] is not None and before["cpu_s"] is not None:
        cpu = round(max(after["cpu_s"] - before["cpu_s"], 0.0), 3)
    kills = None
    if after["oom_kills"] is not None and before["oom_kills"] is not None:
        kills = after["oom_kills"] - before["oom_kills"]
    return {
        **db,
        "hit_ratio": hit_ratio(db["blks_hit"], db["blks_read"]),
        "tables": tables,
        "io": io,
        "cpu_s": cpu,
        "oom_kills": kills,
        "replication": after["replication"],
    }


def hit_ratio(hits: int, reads: int) -> float | None:
    total = hits + reads
    return round(hits / total, 5) if total > 0 else None


def wait_for_clients(server: Server, timeout: float = 5.0) -> None:
    """Wait until the load's backends have exited (their statistics are flushed at exit)."""
    deadline = time.monotonic() + timeout
    with contextlib.suppress(DBTuneError, psycopg.Error), server.connect() as conn:
        query = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
        while time.monotonic() < deadline:
            row = conn.execute(query, (APPLICATION_NAME,)).fetchone()
            if row is None or int(row[0]) == 0:
                return
            time.sleep(0.05)
