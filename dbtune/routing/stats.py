"""What each node really keeps hot: per table hit ratios, buffer residency, replay lag.

Read-only, one connection per node, never ``CREATE EXTENSION``. Per table (the node's
``pg_statio_user_tables``, counted since that node's last statistics reset; replicas count
their own reads): blocks found in ``shared_buffers`` (hit) or read from the OS (read), for
heap, indexes and TOAST; with ``pg_buffercache`` installed in the database, the bytes of the
table, its indexes and TOAST in ``shared_buffers`` right now. Per node: role
(``pg_is_in_recovery``), and for replicas the received and replayed WAL positions and the
replay lag: 0 s when everything received is replayed, else the age of the last replayed
transaction; ``lag_bytes`` against a primary listed in the same run (sampled one node after
the other, so approximate).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from dbtune.db import first_line
from dbtune.routing.inventory import routing_key

_TABLES = """
SELECT s.relid, s.schemaname, s.relname, pg_total_relation_size(s.relid),
       coalesce(s.heap_blks_hit, 0), coalesce(s.heap_blks_read, 0),
       coalesce(s.idx_blks_hit, 0), coalesce(s.idx_blks_read, 0),
       coalesce(s.toast_blks_hit, 0) + coalesce(s.tidx_blks_hit, 0),
       coalesce(s.toast_blks_read, 0) + coalesce(s.tidx_blks_read, 0)
FROM pg_statio_user_tables s
"""

_RESIDENT = """
WITH owned (relid, part) AS (
    SELECT c.oid, c.oid FROM pg_class c WHERE c.oid = ANY (%(relids)s)
    UNION ALL SELECT i.indrelid, i.indexrelid FROM pg_index i WHERE i.indrelid = ANY (%(relids)s)
    UNION ALL SELECT c.oid, c.reltoastrelid FROM pg_class c
        WHERE c.oid = ANY (%(relids)s) AND c.reltoastrelid <> 0
    UNION ALL SELECT c.oid, i.indexrelid FROM pg_class c JOIN pg_index i
        ON i.indrelid = c.reltoastrelid WHERE c.oid = ANY (%(relids)s) AND c.reltoastrelid <> 0
)
SELECT o.relid, count(*)::bigint
FROM {view} b
JOIN owned o ON pg_relation_filenode(o.part) = b.relfilenode
WHERE b.reldatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
GROUP BY o.relid
"""

_REPLICA = """
SELECT pg_last_wal_receive_lsn()::text, pg_last_wal_replay_lsn()::text,
       pg_is_wal_replay_paused(),
       CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END::float8
"""


def _ratio(hit: int, read: int) -> float | None:
    return round(hit / (hit + read), 4) if hit + read else None


@dataclass
class TableStats:
    """One table on one node; ``resident_bytes`` is ``None`` without ``pg_buffercache``."""

    table: str
    size_bytes: int
    heap_hit: int
    heap_read: int
    index_hit: int
    index_read: int
    toast_hit: int
    toast_read: int
    resident_bytes: int | None = None

    @property
    def blocks_hit(self) -> int:
        return self.heap_hit + self.index_hit + self.toast_hit

    @property
    def blocks_read(self) -> int:
        return self.heap_read + self.index_read + self.toast_read

    @property
    def resident_share(self) -> float | None:
        if self.resident_bytes is None or not self.size_bytes:
            return None
        return round(min(self.resident_bytes / self.size_bytes, 1.0), 4)

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "blocks_hit": self.blocks_hit,
            "blocks_read": self.blocks_read,
            "hit_ratio": _ratio(self.blocks_hit, self.blocks_read),
            "heap_hit_ratio": _ratio(self.heap_hit, self.heap_read),
            "index_hit_ratio": _ratio(self.index_hit, self.index_read),
            "resident_share": self.resident_share,
        }


@dataclass
class NodeStats:
    """One node. ``role`` is ``primary``, ``replica`` or ``unreachable`` (then ``error``)."""

    name: str
    dsn: str
    role: str = "unreachable"
    error: str | None = None
    database: str | None = None
    server_version: str | None = None
    shared_buffers_bytes: int | None = None
    system_identifier: str | None = None
    wal_lsn: str | None = None
    receive_lsn: str | None = None
    replay_lsn: str | None = None
    replay_paused: bool | None = None
    lag_seconds: float | None = None
    lag_bytes: int | None = None
    buffercache_problem: str | None = None
    """Why residency is unknown (``None`` when ``pg_buffercache`` was read)."""
    tables: list[TableStats] = field(default_factory=list)

    @property
    def buffercache(self) -> bool:
        """Whether residency was read (``pg_buffercache`` installed and readable)."""
        return self.role != "unreachable" and self.buffercache_problem is None

    def to_json(self) -> dict[str, Any]:
        document = asdict(self)
        document["buffercache"] = self.buffercache
        document["tables"] = [table.to_json() for table in self.tables]
        return document


def lsn_bytes(lsn: str) -> int:
    """A ``pg_lsn`` text (``16/B374D848``) as a byte position."""
    high, low = lsn.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def _buffercache_view(conn: Any) -> Any:
    from psycopg import sql

    row = conn.execute(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'pg_buffercache'"
    ).fetchone()
    return None if row is None else sql.Identifier(str(row[0]), "pg_buffercache")


def _residency(conn: Any, node: NodeStats, relids: list[int], block: int) -> dict[int, int]:
    import psycopg
    from psycopg import sql

    view = _buffercache_view(conn)
    if view is None:
        node.buffercache_problem = "pg_buffercache is not installed"
        return {}
    try:
        rows = conn.execute(sql.SQL(_RESIDENT).format(view=view), {"relids": relids}).fetchall()
    except psycopg.Error as exc:
        node.buffercache_problem = f"pg_buffercache cannot be read ({first_line(exc)})"
        return {}
    return {int(relid): int(buffers) * block for relid, buffers in rows}


def _node_facts(conn: Any, node: NodeStats) -> int:
    import psycopg

    row = conn.execute(
        "SELECT current_database(), pg_is_in_recovery(), current_setting('server_version'), "
        "pg_size_bytes(current_setting('shared_buffers')), current_setting('block_size')::int"
    ).fetchone()
    node.database, recovery, node.server_version, node.shared_buffers_bytes, block = row
    node.role = "replica" if recovery else "primary"
    try:
        ident = conn.execute("SELECT system_identifier::text FROM pg_control_system()").fetchone()
        node.system_identifier = str(ident[0])
    except psycopg.Error:  # pg_control_system() may be revoked: no lag_bytes then
        node.system_identifier = None
    if recovery:
        found = conn.execute(_REPLICA).fetchone()
        node.receive_lsn, node.replay_lsn, node.replay_paused, lag = found
        node.lag_seconds = None if lag is None else round(max(float(lag), 0.0), 3)
    else:
        node.wal_lsn = str(conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0])
    return int(block)


def read_node(name: str, dsn: str, tables: set[str] | None = None) -> NodeStats:
    """Everything of one node, never raising for the node's sake: an unreachable node comes
    back with ``role='unreachable'``, a failed query (timeout, privileges) with ``error``."""
    import psycopg

    from dbtune.db import connect, redact
    from dbtune.errors import ConnectionFailed

    node = NodeStats(name=name, dsn=redact(dsn))
    try:
        with connect(dsn, application_name="dbtune routing stats") as conn:
            block = _node_facts(conn, node)
            rows = [
                row for row in conn.execute(_TABLES).fetchall()
                if tables is None or routing_key(row[1], row[2]) in tables
            ]  # fmt: skip
            resident = _residency(conn, node, [int(row[0]) for row in rows], block)
    except ConnectionFailed as exc:
        node.error = str(exc)
        return node
    except psycopg.Error as exc:
        node.error = f"reading its statistics failed: {first_line(exc)}"
        return node
    for relid, schema, relname, size, *blocks in rows:
        stats = TableStats(routing_key(schema, relname), int(size), *(int(b) for b in blocks))
        if node.buffercache:
            stats.resident_bytes = resident.get(int(relid), 0)
        node.tables.append(stats)
    return node


def collect(nodes: Sequence[tuple[str, str]], tables: set[str] | None = None) -> list[NodeStats]:
    """Read every ``(name, dsn)`` node in order, then each replica's ``lag_bytes`` against
    the primary of the same cluster (same system identifier) when one was listed."""
    found = [read_node(name, dsn, tables) for name, dsn in nodes]
    primaries = {
        n.system_identifier: n
        for n in found
        if n.role == "primary" and n.wal_lsn and n.system_identifier is not None
    }
    for node in found:
        primary = primaries.get(node.system_identifier or "")
        if node.role == "replica" and primary is not None and node.replay_lsn and primary.wal_lsn:
            node.lag_bytes = max(lsn_bytes(primary.wal_lsn) - lsn_bytes(node.replay_lsn), 0)
    return found
