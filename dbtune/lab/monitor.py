"""SQL the lab runs on its own nodes: extensions, replication state, lag, apply delay.

Lag is measured the way a router needs it: ``lag_bytes`` is how much WAL the primary has
flushed that a replica has not replayed; ``lag_seconds`` is 0 when nothing is pending and
otherwise the age of the last transaction the replica replayed.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from dbtune.errors import LabError
from dbtune.lab.config import human_size
from dbtune.lab.node import Node
from dbtune.lab.state import LabState

EXTENSIONS = ("pg_stat_statements", "pg_buffercache", "pg_prewarm")
_POLL = 0.02


def connect(node: Node, dbname: str = "postgres", timeout: int = 5) -> psycopg.Connection[Any]:
    """An autocommit connection to ``node``; raises :class:`LabError` when unreachable."""
    try:
        return psycopg.connect(node.dsn(dbname), autocommit=True, connect_timeout=timeout)
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LabError(
            f"cannot connect to lab node {node.name} on port {node.port} ({reason}); "
            "check `dbtune lab status`"
        ) from None


def install_extensions(primary: Node) -> None:
    """Create the extensions dbtune reads in ``postgres`` and ``template1`` (new DBs inherit)."""
    for dbname in ("postgres", "template1"):
        with connect(primary, dbname) as conn:
            for name in EXTENSIONS:
                conn.execute(
                    sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(name))
                )


def drop_slot(primary: Node, name: str, timeout: float = 10.0) -> None:
    """Drop the replication slot ``name`` once its (stopped) replica has let go of it.

    A slot keeps WAL for its replica forever, so a removed or re-cloned replica must not
    leave one behind; its walsender may need a moment to exit after the replica stops.
    """
    deadline = time.monotonic() + timeout
    query = "SELECT active FROM pg_replication_slots WHERE slot_name = %s"
    with connect(primary) as conn:
        while (row := conn.execute(query, (name,)).fetchone()) is not None:
            if not row[0]:
                conn.execute("SELECT pg_drop_replication_slot(%s)", (name,))
                return
            if time.monotonic() > deadline:
                raise LabError(f"replication slot {name} is still in use; stop that replica first")
            time.sleep(_POLL * 5)


def streaming(primary: Node) -> set[str]:
    """Application names (= replica node names) the primary streams to right now."""
    with connect(primary, timeout=2) as conn:
        rows = conn.execute(
            "SELECT application_name FROM pg_stat_replication WHERE state = 'streaming'"
        ).fetchall()
    return {str(row[0]) for row in rows}


def wait_streaming(primary: Node, names: set[str], timeout: float = 30.0) -> None:
    """Return once every replica in ``names`` streams from ``primary``."""
    deadline = time.monotonic() + timeout
    while not names <= (found := streaming(primary)):
        if time.monotonic() > deadline:
            missing = ", ".join(sorted(names - found))
            raise LabError(
                f"{missing} did not start streaming within {timeout:.0f} s; "
                "see the replica's postgres.log in the lab directory"
            )
        time.sleep(_POLL * 5)


def flushed_lsn(primary: Node) -> str:
    """The primary's flushed WAL position after a tiny forced commit.

    The commit flushes every record inserted before it, so the position never points into
    the middle of a record that replicas could not replay yet.
    """
    with connect(primary) as conn:
        with conn.transaction():
            conn.execute("SELECT pg_current_xact_id()")
        row = conn.execute("SELECT pg_current_wal_flush_lsn()::text").fetchone()
    assert row is not None
    return str(row[0])


def wait_replayed(replica: Node, lsn: str, deadline: float) -> None:
    """Poll ``replica`` until it replayed ``lsn`` or the monotonic ``deadline`` passes."""
    with connect(replica) as conn:
        while True:
            row = conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)).fetchone()
            if row is not None and row[0]:
                return
            if time.monotonic() > deadline:
                raise LabError(
                    f"{replica.name} did not replay WAL up to {lsn} in time; check its "
                    "apply delay and `dbtune lab status`"
                )
            time.sleep(_POLL)


def node_facts(node: Node, primary_lsn: str | None) -> dict[str, Any]:
    """``shared_buffers``, ``server_version`` and, for replicas, lag against ``primary_lsn``."""
    with connect(node, timeout=2) as conn:
        row = conn.execute(
            "SELECT current_setting('shared_buffers'), current_setting('server_version')"
        ).fetchone()
        assert row is not None
        facts: dict[str, Any] = {"shared_buffers": row[0], "server_version": row[1]}
        if node.role == "replica" and primary_lsn is not None:
            lag = conn.execute(
                "SELECT pg_wal_lsn_diff(%s::pg_lsn, pg_last_wal_replay_lsn()),"
                " extract(epoch FROM now() - pg_last_xact_replay_timestamp())",
                (primary_lsn,),
            ).fetchone()
            assert lag is not None
            lag_bytes = max(int(lag[0]), 0) if lag[0] is not None else None
            facts["lag_bytes"] = lag_bytes
            if lag_bytes == 0:
                facts["lag_seconds"] = 0.0
            else:
                facts["lag_seconds"] = round(float(lag[1]), 3) if lag[1] is not None else None
    return facts


def current_lsn(primary: Node) -> str:
    with connect(primary, timeout=2) as conn:
        row = conn.execute("SELECT pg_current_wal_flush_lsn()::text").fetchone()
    assert row is not None
    return str(row[0])


def set_apply_delay(replica: Node, seconds: float) -> None:
    """Persist ``recovery_min_apply_delay`` on ``replica`` and wait until it is reloaded."""
    millis = round(seconds * 1000)
    with connect(replica) as conn:
        if millis > 0:
            value = sql.Literal(f"{millis}ms")
            conn.execute(sql.SQL("ALTER SYSTEM SET recovery_min_apply_delay = {}").format(value))
        else:
            conn.execute("ALTER SYSTEM RESET recovery_min_apply_delay")
        conn.execute("SELECT pg_reload_conf()")
        deadline = time.monotonic() + 5
        query = "SELECT setting FROM pg_settings WHERE name = 'recovery_min_apply_delay'"
        while time.monotonic() < deadline:
            row = conn.execute(query).fetchone()
            if row is not None and int(row[0]) == millis:
                time.sleep(0.05)
                return
            time.sleep(_POLL)
    raise LabError(f"{replica.name} did not reload recovery_min_apply_delay; see its log")


def create_database(primary: Node, name: str) -> None:
    """``CREATE DATABASE name`` on ``primary`` unless it exists (replicas follow by WAL)."""
    with connect(primary) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.DuplicateDatabase:
            return


def describe(directory: Path, recorded: LabState) -> list[dict[str, Any]]:
    """The rows of :meth:`Lab.status <dbtune.lab.cluster.Lab.status>` for a recorded lab."""
    nodes = [item.to_node(directory) for item in recorded.nodes]
    primary_lsn, streams = None, set()
    if nodes[0].is_running():
        with contextlib.suppress(LabError):
            primary_lsn, streams = current_lsn(nodes[0]), streaming(nodes[0])
    rows = []
    for node, item in zip(nodes, recorded.nodes, strict=True):
        row: dict[str, Any] = {
            "name": node.name,
            "role": node.role,
            "port": node.port,
            "dsn": node.dsn(),
            "running": node.is_running(),
            "shared_buffers": human_size(recorded.shared_buffers),
            "memory_limit": recorded.memory_limit if item.cgroup else None,
            "streaming": node.name in streams if node.role == "replica" else None,
            "lag_bytes": None,
            "lag_seconds": None,
            "server_version": None,
        }
        if row["running"]:
            with contextlib.suppress(LabError):
                row.update(node_facts(node, primary_lsn))
        rows.append(row)
    return rows
