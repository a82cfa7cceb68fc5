"""Indexes that cost writes and space without serving reads: unused, duplicate, invalid.

- *unused*: ``idx_scan = 0`` since the statistics were reset, on the primary and on every
  replica given (reads routed to replicas scan indexes there, not on the primary); indexes
  that enforce something (primary key, unique, exclusion constraint) are never listed;
- *duplicate*: same table, access method, keys, operator classes, collations, ordering and
  predicate as another index (the one backing a constraint, else the oldest, is kept);
- *prefix-redundant*: a plain B-tree whose key columns are a leading prefix of another
  B-tree's with the same predicate (it serves nothing the longer one does not);
- *invalid*: left behind by a failed ``CREATE INDEX CONCURRENTLY``; still maintained on
  every write, never used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from dbtune.advisors.indexes import ddl

INDEXES = """
SELECT i.indexrelid, n.nspname, t.relname, ic.relname, am.amname, i.indisunique,
       i.indisvalid, i.indkey::int2[], i.indclass::oid[], i.indcollation::oid[],
       i.indoption::int2[], i.indnkeyatts, i.indexprs IS NOT NULL,
       pg_get_expr(i.indpred, i.indrelid),
       EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid
               AND c.contype IN ('p', 'u', 'x')),
       COALESCE((SELECT sum(pg_relation_size(p.relid)) FROM pg_partition_tree(i.indexrelid) p),
                pg_relation_size(i.indexrelid)),
       COALESCE(s.idx_scan, 0), pg_get_indexdef(i.indexrelid)
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_am am ON am.oid = ic.relam
LEFT JOIN pg_stat_all_indexes s ON s.indexrelid = i.indexrelid
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname NOT LIKE 'pg_temp%%' AND NOT ic.relispartition
ORDER BY n.nspname, t.relname, i.indexrelid
"""

REPLICA_SCANS = (
    "SELECT schemaname, indexrelname, idx_scan FROM pg_stat_all_indexes "
    "WHERE schemaname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"
)


@dataclass
class IndexInfo:
    oid: int
    schema: str
    table: str
    name: str
    method: str
    unique: bool
    valid: bool
    keys: list[int]
    opclasses: list[int]
    collations: list[int]
    options: list[int]
    nkey: int
    expressions: bool
    predicate: str | None
    enforces: bool
    size_bytes: int
    scans: int
    definition: str

    def shape(self) -> str:
        """The definition without the index name: equal shapes are duplicates."""
        return re.sub(r"^CREATE (UNIQUE )?INDEX \S+ ON ", "CREATE INDEX ON ", self.definition)

    def report(self, reason: str, **extra: Any) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "table": self.table,
            "index": self.name,
            "definition": self.definition,
            "size_bytes": self.size_bytes,
            "idx_scan": self.scans,
            "reason": reason,
            "sql": ddl.text(ddl.drop_index(self.schema, self.name)),
            **extra,
        }


def load(conn: Any) -> list[IndexInfo]:
    return [IndexInfo(*row) for row in conn.execute(INDEXES).fetchall()]


def replica_scans(dsns: list[str]) -> dict[tuple[str, str], int]:
    """``idx_scan`` per ``(schema, index)`` summed over replicas (each read-only)."""
    from dbtune.db import connect

    scans: dict[tuple[str, str], int] = {}
    for dsn in dsns:
        with connect(dsn) as conn:
            for schema, name, count in conn.execute(REPLICA_SCANS).fetchall():
                scans[(schema, name)] = scans.get((schema, name), 0) + int(count or 0)
    return scans


def find(
    indexes: list[IndexInfo], replicas: dict[tuple[str, str], int] | None, stats_reset: str | None
) -> dict[str, list[dict[str, Any]]]:
    """``unused_indexes``, ``duplicate_indexes`` and ``invalid_indexes`` report entries."""
    since = (
        f"since the statistics reset at {stats_reset}" if stats_reset else "since statistics began"
    )
    where = " on the primary and every replica" if replicas is not None else ""
    unused, duplicates, invalid = [], [], []
    redundant: set[int] = set()
    for index in indexes:
        if not index.valid:
            invalid.append(
                index.report("invalid (a failed CREATE INDEX CONCURRENTLY); drop or rebuild it")
            )
            continue
        for other in indexes:
            if other.oid == index.oid or not other.valid or other.table != index.table:
                continue
            if other.schema != index.schema or index.enforces or index.unique:
                continue
            if index.shape() == other.shape() and (other.enforces or other.oid < index.oid):
                duplicates.append(
                    index.report("duplicate", kind="duplicate", duplicate_of=other.name)
                )
                redundant.add(index.oid)
                break
            if _prefix_of(index, other):
                duplicates.append(
                    index.report("prefix-redundant", kind="prefix", duplicate_of=other.name)
                )
                redundant.add(index.oid)
                break
    for index in indexes:
        if not index.valid or index.enforces or index.unique or index.oid in redundant:
            continue
        scans = index.scans + (replicas or {}).get((index.schema, index.name), 0)
        if scans == 0:
            unused.append(index.report(f"never scanned {since}{where}"))
    return {"unused_indexes": unused, "duplicate_indexes": duplicates, "invalid_indexes": invalid}


def _prefix_of(short: IndexInfo, long: IndexInfo) -> bool:
    if short.method != "btree" or long.method != "btree" or short.expressions or long.expressions:
        return False
    if (
        short.predicate != long.predicate
        or short.nkey >= long.nkey
        or short.nkey != len(short.keys)
    ):
        return False
    width = short.nkey
    return (
        short.keys[:width] == long.keys[:width]
        and short.opclasses[:width] == long.opclasses[:width]
        and short.collations[:width] == long.collations[:width]
        and short.options[:width] == long.options[:width]
    )
