"""The facts the affinity planner needs, read from a PostgreSQL database (read-only).

Tables are keyed the way :class:`~dbtune.routing.TableAffinityRouter` keys them (a model's
``_meta.db_table``): the bare name in ``public``, ``schema.table`` elsewhere. Partitions are
folded into their partitioned root, which is the table a model names. Sizes are heap,
indexes and TOAST (``pg_total_relation_size``). Read volume comes from
``pg_statio_user_tables`` block accesses (heap, index, TOAST; hits and reads); a table whose
``pg_stat_user_tables`` shows no sequential or index scan since the last reset counts as
unread, since writes alone (an audit log) touch blocks too. ``pg_stat_statements``, when the
extension is installed in the database, gives the statements of this database with their
shared blocks, which :mod:`dbtune.routing.coaccess` turns into reads and co-access.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SYSTEM_SCHEMAS = ("pg_catalog", "information_schema")

_TABLES = """
WITH rels AS (
    SELECT coalesce(pg_partition_root(c.oid), c.oid) AS root, c.oid, c.relkind
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'm')
      AND n.nspname <> ALL (%(system)s)
      AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp\\_%%'
)
SELECT rn.nspname, rc.relname,
       sum(pg_total_relation_size(r.oid))::bigint,
       sum(coalesce(s.heap_blks_hit, 0) + coalesce(s.heap_blks_read, 0)
           + coalesce(s.idx_blks_hit, 0) + coalesce(s.idx_blks_read, 0)
           + coalesce(s.toast_blks_hit, 0) + coalesce(s.toast_blks_read, 0)
           + coalesce(s.tidx_blks_hit, 0) + coalesce(s.tidx_blks_read, 0))::float8,
       sum(coalesce(t.seq_scan, 0) + coalesce(t.idx_scan, 0))::bigint
FROM rels r
JOIN pg_class rc ON rc.oid = r.root
JOIN pg_namespace rn ON rn.oid = rc.relnamespace
LEFT JOIN pg_statio_all_tables s ON s.relid = r.oid
LEFT JOIN pg_stat_all_tables t ON t.relid = r.oid
WHERE %(schemas)s::text[] IS NULL OR rn.nspname = ANY (%(schemas)s::text[])
GROUP BY rn.nspname, rc.relname
ORDER BY rn.nspname, rc.relname
"""


def routing_key(schema: str, table: str) -> str:
    """The name a router reads for ``schema.table``: bare in ``public``."""
    return table if schema == "public" else f"{schema}.{table}"


@dataclass(frozen=True)
class TableFacts:
    key: str
    total_bytes: int
    statio_blocks: float
    scans: int

    @property
    def statio_reads(self) -> float:
        """Block accesses, or 0 for a table never scanned (written only)."""
        return self.statio_blocks if self.scans > 0 else 0.0


@dataclass
class Inventory:
    """One database's tables, its ``shared_buffers``, and its statements when available.

    ``statements`` is ``None`` when ``pg_stat_statements`` cannot be read; ``problem`` then
    says why, in words meant for a DBA.
    """

    database: str
    tables: dict[str, TableFacts]
    shared_buffers: int
    shared_buffers_text: str
    effective_cache_size: str
    statements: list[tuple[str, float]] | None = None
    problem: str | None = None
    schemas: list[str] | None = field(default=None)


def read_tables(conn: Any, schemas: list[str] | None) -> dict[str, TableFacts]:
    rows = conn.execute(_TABLES, {"system": list(SYSTEM_SCHEMAS), "schemas": schemas}).fetchall()
    return {
        routing_key(schema, name): TableFacts(
            key=routing_key(schema, name),
            total_bytes=int(total),
            statio_blocks=float(blocks),
            scans=int(scans),
        )
        for schema, name, total, blocks, scans in rows
    }


def _statements_view(conn: Any) -> Any:
    from psycopg import sql

    row = conn.execute(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'pg_stat_statements'"
    ).fetchone()
    return None if row is None else sql.Identifier(str(row[0]), "pg_stat_statements")


def read_statements(conn: Any, limit: int = 5000) -> tuple[list[tuple[str, float]] | None, str]:
    """``(sql, weight)`` of this database's statements, weight = shared blocks hit + read
    (at least one per call); ``(None, reason)`` when ``pg_stat_statements`` is unusable."""
    import psycopg
    from psycopg import sql

    from dbtune.db import first_line

    view = _statements_view(conn)
    if view is None:
        return None, "pg_stat_statements is not installed in this database"
    query = sql.SQL(
        "SELECT query, greatest(shared_blks_hit + shared_blks_read, calls)::float8 AS weight "
        "FROM {view} WHERE calls > 0 AND query IS NOT NULL AND dbid = "
        "(SELECT oid FROM pg_database WHERE datname = current_database()) "
        "ORDER BY weight DESC LIMIT %s"
    ).format(view=view)
    try:
        rows = conn.execute(query, (limit,)).fetchall()
    except psycopg.Error as exc:
        return None, f"pg_stat_statements cannot be read ({first_line(exc)})"
    hidden = "<insufficient privilege>"
    visible = [(str(text), float(weight)) for text, weight in rows if text != hidden]
    if rows and not visible:
        return None, "pg_stat_statements query texts are not visible to this user"
    return visible, ""


def read_inventory(conn: Any, schemas: list[str] | None, statements: bool = True) -> Inventory:
    """Tables, cache settings and (if ``statements``) the statements of ``conn``'s database."""
    row = conn.execute(
        "SELECT current_database(), pg_size_bytes(current_setting('shared_buffers')), "
        "current_setting('shared_buffers'), current_setting('effective_cache_size')"
    ).fetchone()
    inventory = Inventory(
        database=str(row[0]),
        tables=read_tables(conn, schemas),
        shared_buffers=int(row[1]),
        shared_buffers_text=str(row[2]),
        effective_cache_size=str(row[3]),
        schemas=schemas,
    )
    if statements:
        found, problem = read_statements(conn)
        inventory.statements = found
        inventory.problem = problem or None
    return inventory
