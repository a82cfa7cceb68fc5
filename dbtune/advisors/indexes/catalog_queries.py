"""The catalog queries behind :class:`~dbtune.advisors.indexes.catalog.Catalog`.

All of them are plain ``SELECT``s on ``pg_catalog`` views, valid on PostgreSQL 13 and
later, and run in the advisor's read-only session.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from dbtune.advisors.indexes.catalog import PLANNER_SETTINGS, Column, ExistingIndex, WriteStats
from dbtune.advisors.indexes.exprs import canonical_sql

if TYPE_CHECKING:
    from dbtune.advisors.indexes.catalog import Catalog, Relation

RELATIONS = """
SELECT c.oid, n.nspname, c.relname, c.relkind, c.reltuples, c.relpages, c.relallvisible
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname <> 'pg_toast'
  AND n.nspname NOT LIKE 'pg_temp%%' AND n.nspname NOT LIKE 'pg_toast_temp%%'
"""

COLUMNS = """
SELECT a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       s.n_distinct, s.null_frac, s.avg_width, s.correlation,
       s.most_common_vals::text::text[], s.most_common_freqs, s.histogram_bounds::text::text[]
FROM pg_attribute a
LEFT JOIN pg_stats s ON s.schemaname = %(schema)s AND s.tablename = %(name)s
     AND s.attname = a.attname AND s.inherited = %(inherited)s
WHERE a.attrelid = %(oid)s AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""

BARE_COLUMNS = """
SELECT a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
FROM pg_attribute a WHERE a.attrelid = %(oid)s AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""

INDEXES = """
SELECT ic.relname, am.amname, i.indisunique, i.indisprimary,
       i.indisvalid AND i.indisready AND i.indislive, i.indnkeyatts, i.indkey::int2[],
       i.indoption::int2[], pg_get_expr(i.indpred, i.indrelid),
       ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, false) FROM generate_series(1, i.indnatts) k),
       ARRAY(SELECT o.opcname FROM unnest(i.indclass::oid[]) WITH ORDINALITY u(opc, n)
             JOIN pg_opclass o ON o.oid = u.opc ORDER BY u.n),
       (SELECT con.conname FROM pg_constraint con
         WHERE con.conindid = i.indexrelid AND con.contype IN ('p', 'u', 'x') LIMIT 1),
       COALESCE((SELECT sum(pg_relation_size(t.relid)) FROM pg_partition_tree(i.indexrelid) t),
                pg_relation_size(i.indexrelid)),
       COALESCE(st.idx_scan, 0), pg_get_indexdef(i.indexrelid)
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_am am ON am.oid = ic.relam
LEFT JOIN pg_stat_all_indexes st ON st.indexrelid = i.indexrelid
WHERE i.indrelid = %(oid)s
ORDER BY ic.relname
"""

WRITES = """
SELECT n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del,
       COALESCE(seq_scan, 0) + COALESCE(idx_scan, 0),
       COALESCE(seq_tup_read, 0) + COALESCE(idx_tup_fetch, 0)
FROM pg_stat_all_tables WHERE relid = %(oid)s
"""


def load_overview(catalog: Catalog) -> None:
    """Search path, planner settings, collation, extensions and every relation's name."""
    from dbtune.advisors.indexes.catalog import Relation

    conn = catalog.conn
    catalog.search_path = list(conn.execute("SELECT current_schemas(true)").fetchone()[0])
    rows = conn.execute(
        "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)", (list(PLANNER_SETTINGS),)
    ).fetchall()
    catalog.settings.update({name: float(value) for name, value in rows})
    catalog.version = int(conn.execute("SHOW server_version_num").fetchone()[0])
    provider = "datlocprovider" if catalog.version >= 150000 else "'c'"
    collate, kind = conn.execute(
        f"SELECT datcollate, {provider} FROM pg_database WHERE datname = current_database()"
    ).fetchone()
    catalog.c_collation = collate in ("C", "POSIX") or kind == "b"
    catalog.extensions = {r[0] for r in conn.execute("SELECT extname FROM pg_extension")}
    catalog.available_extensions = {
        r[0] for r in conn.execute("SELECT name FROM pg_available_extensions")
    }
    by_oid: dict[int, Relation] = {}
    for oid, schema, name, kind, tuples, pages, allvisible in conn.execute(RELATIONS):
        relation = Relation(
            schema, name, kind, int(oid), float(tuples), int(pages), int(allvisible)
        )
        catalog.relations[relation.key] = relation
        by_oid[int(oid)] = relation
    children: dict[int, list[int]] = defaultdict(list)
    for parent, child in conn.execute("SELECT inhparent, inhrelid FROM pg_inherits"):
        children[int(parent)].append(int(child))
    for relation in by_oid.values():
        if relation.kind == "p":
            relation.leaves = [by_oid[o].key for o in _leaves(relation.oid, children, by_oid)]


def _leaves(oid: int, children: dict[int, list[int]], by_oid: dict[int, Relation]) -> list[int]:
    found: list[int] = []
    for child in children.get(oid, []):
        if child not in by_oid:
            continue
        if by_oid[child].kind == "p":
            found += _leaves(child, children, by_oid)
        else:
            found.append(child)
    return found


def load_relation(catalog: Catalog, relation: Relation) -> None:
    """Columns with ``pg_stats``, indexes, view text and write counters of one relation."""
    conn = catalog.conn
    relation.loaded = True
    params = {
        "oid": relation.oid,
        "schema": relation.schema,
        "name": relation.name,
        "inherited": relation.kind == "p",
    }
    names: dict[int, str] = {}
    try:
        rows = conn.execute(COLUMNS, params).fetchall()
    except Exception:  # statistics the role may not read, or an odd type: columns only
        rows = [
            (*row, None, None, None, None, None, None, None)
            for row in conn.execute(BARE_COLUMNS, params)
        ]
    for row in rows:
        attnum, name, type_, notnull, n_distinct, null_frac, width, correlation, mcv, freqs = row[
            :10
        ]
        names[int(attnum)] = name
        relation.columns[name] = Column(
            name=name,
            type=type_,
            notnull=bool(notnull),
            n_distinct=None if n_distinct is None else float(n_distinct),
            null_frac=float(null_frac or 0.0),
            avg_width=int(width or 8),
            correlation=None if correlation is None else float(correlation),
            mcv=dict(zip(mcv or [], [float(f) for f in freqs or []], strict=False)),
            histogram=list(row[10] or []),
        )
    if relation.kind == "v":
        row = conn.execute("SELECT pg_get_viewdef(%(oid)s::oid)", params).fetchone()
        relation.view_sql = row[0] if row else None
        return
    if relation.schema in ("pg_catalog", "information_schema"):
        return
    text_columns = {name for name, column in relation.columns.items() if column.is_text}
    for row in conn.execute(INDEXES, params):
        relation.indexes.append(_index(relation, row, names, text_columns))
    stats = conn.execute(WRITES, params).fetchone()
    if stats is not None:
        relation.writes = WriteStats(*(int(v or 0) for v in stats))


def _index(
    relation: Relation, row: Any, names: dict[int, str], text_columns: set[str]
) -> ExistingIndex:
    name, method, unique, primary, valid, nkey, indkey, options, predicate = row[:9]
    definitions, opclasses, constraint, size, scans, definition = row[9:]
    columns = []
    for position, attnum in enumerate(indkey):
        if attnum:
            columns.append(names.get(int(attnum), str(definitions[position])))
        else:
            columns.append(canonical_sql(str(definitions[position]), text_columns))
    return ExistingIndex(
        name=str(name),
        schema=relation.schema,
        table=relation.name,
        method=str(method),
        keys=tuple(columns[:nkey]),
        opclasses=tuple(str(o) for o in opclasses),
        desc=tuple(bool(int(o) & 1) for o in options[:nkey]),
        nulls_first=tuple(bool(int(o) & 2) for o in options[:nkey]),
        include=tuple(columns[nkey:]),
        predicate=canonical_sql(str(predicate), text_columns) if predicate else None,
        unique=bool(unique),
        primary=bool(primary),
        valid=bool(valid),
        constraint=str(constraint) if constraint else None,
        size_bytes=int(str(size)),
        scans=int(str(scans)),
        definition=str(definition),
    )
