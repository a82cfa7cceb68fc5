"""What the catalogs say about a table: attributes (dropped ones too), indexes, keys, sizes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from psycopg import sql

from dbtune.advisors.columns.storage import Attr


@dataclass
class Column:
    attnum: int
    name: str
    type_name: str
    """``format_type`` spelling, e.g. ``character varying(36)``."""
    typname: str
    typlen: int
    typalign: str
    storage: str
    not_null: bool
    dropped: bool = False
    typmod: int = -1
    identity: str = ""
    default: str | None = None
    sequence: str | None = None
    """Qualified name of the sequence feeding the column (identity, serial, nextval)."""
    type_storage: str = ""
    """The type's default storage; differs from ``storage`` after ``SET STORAGE``."""

    def attr(self) -> Attr:
        return Attr(
            self.name, self.typlen, self.typalign, self.packable, self.type_name, self.dropped
        )

    @property
    def packable(self) -> bool:
        """Whether short values get a 1-byte header. The executor forms rows with the
        *type's* storage, so ``SET STORAGE PLAIN`` on a column does not stop it."""
        return (self.type_storage or self.storage) != "p"

    @property
    def numeric_scale(self) -> int | None:
        if self.typname != "numeric" or self.typmod < 4:
            return None
        return (self.typmod - 4) & 0xFFFF


@dataclass
class Index:
    name: str
    attnums: list[int]
    """Key columns then INCLUDE columns; 0 marks an expression."""
    key_count: int
    unique: bool
    primary: bool
    method: str
    predicate: str | None
    size_bytes: int
    entries: float
    fillfactor: int
    dedup_allowed: bool
    """Not unique, no INCLUDE columns, ``deduplicate_items`` on."""
    equal_image: list[bool]
    """Per key column: whether its opclass allows deduplication."""
    definition: str

    @property
    def dedup(self) -> bool:
        return self.method == "btree" and self.dedup_allowed and all(self.equal_image)

    @property
    def keys(self) -> list[int]:
        return self.attnums[: self.key_count]


@dataclass
class ForeignKey:
    name: str
    table: str
    columns: list[str]
    ref_table: str
    ref_columns: list[str]


@dataclass
class Table:
    oid: int
    schema: str
    name: str
    columns: list[Column]
    indexes: list[Index] = field(default_factory=list)
    fks_out: list[ForeignKey] = field(default_factory=list)
    fks_in: list[ForeignKey] = field(default_factory=list)
    reltuples: float = 0.0
    relpages: int = 0
    heap_bytes: int = 0
    fillfactor: int = 100
    inserts: int = 0
    inserts_days: float | None = None
    parent: str | None = None
    """The partitioned table this one is a partition of (ALTER the parent, not this)."""

    @property
    def label(self) -> str:
        return self.name if self.schema == "public" else f"{self.schema}.{self.name}"

    @property
    def ident(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)

    @property
    def live(self) -> list[Column]:
        return [c for c in self.columns if not c.dropped]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name and not c.dropped)


_TABLES = """
SELECT c.oid, n.nspname, c.relname, c.reltuples, c.relpages, pg_relation_size(c.oid),
       coalesce((SELECT option_value::int FROM pg_options_to_table(c.reloptions)
                 WHERE option_name = 'fillfactor'), 100),
       coalesce(s.n_tup_ins, 0),
       extract(epoch FROM now() - coalesce(d.stats_reset, pg_postmaster_start_time())) / 86400,
       (SELECT i.inhparent::regclass::text FROM pg_inherits i
        WHERE i.inhrelid = c.oid AND c.relispartition)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid
LEFT JOIN pg_stat_database d ON d.datname = current_database()
WHERE c.relkind = 'r' AND n.nspname = %(schema)s
  AND (%(names)s::text[] IS NULL OR c.relname = ANY(%(names)s::text[]))
ORDER BY c.relname
"""

_COLUMNS = """
SELECT a.attnum, a.attname, a.attisdropped, a.attnotnull, a.attlen, a.attalign, a.attstorage,
       coalesce(t.typstorage, a.attstorage),
       coalesce(format_type(a.atttypid, a.atttypmod), ''), coalesce(t.typname, ''),
       a.atttypmod, a.attidentity, pg_get_expr(d.adbin, d.adrelid),
       CASE WHEN NOT a.attisdropped THEN
            pg_get_serial_sequence(format('%%I.%%I', n.nspname, c.relname), a.attname) END
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = %s AND a.attnum > 0 ORDER BY a.attnum
"""

_INDEXES = """
SELECT ic.relname, i.indkey::int2[], i.indnkeyatts, i.indisunique, i.indisprimary, am.amname,
       pg_get_expr(i.indpred, i.indrelid), pg_relation_size(ic.oid), ic.reltuples,
       coalesce((SELECT option_value::int FROM pg_options_to_table(ic.reloptions)
                 WHERE option_name = 'fillfactor'), 90),
       coalesce((SELECT option_value::bool FROM pg_options_to_table(ic.reloptions)
                 WHERE option_name = 'deduplicate_items'), true)
       AND NOT i.indisunique AND i.indnatts = i.indnkeyatts,
       ARRAY(SELECT EXISTS (SELECT 1 FROM pg_amproc p JOIN pg_proc f ON f.oid = p.amproc
                WHERE p.amprocfamily = o.opcfamily AND p.amprocnum = 4
                  AND p.amproclefttype = o.opcintype
                  AND f.proname IN ('btequalimage', 'btvarstrequalimage'))
             FROM unnest(i.indclass::oid[]) WITH ORDINALITY AS k(opc, n)
             JOIN pg_opclass o ON o.oid = k.opc ORDER BY k.n),
       pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
WHERE i.indrelid = %s ORDER BY ic.relname
"""

_FKEYS = """
SELECT con.conname, con.conrelid::regclass::text, con.confrelid::regclass::text,
       ARRAY(SELECT attname FROM unnest(con.conkey) WITH ORDINALITY k(n, o)
             JOIN pg_attribute ON attrelid = con.conrelid AND attnum = k.n ORDER BY o),
       ARRAY(SELECT attname FROM unnest(con.confkey) WITH ORDINALITY k(n, o)
             JOIN pg_attribute ON attrelid = con.confrelid AND attnum = k.n ORDER BY o),
       CASE WHEN con.conrelid = con.confrelid THEN 'self'
            WHEN con.conrelid = %(oid)s THEN 'out' ELSE 'in' END
FROM pg_constraint con
WHERE con.contype = 'f' AND (con.conrelid = %(oid)s OR con.confrelid = %(oid)s)
"""


def _column(row: tuple[Any, ...]) -> Column:
    attnum, name, dropped, not_null, typlen, align, storage, default_storage, *rest = row
    type_name, typname, typmod, identity, default, sequence = rest
    column = Column(attnum, name, type_name, typname, typlen, align, storage, bool(not_null))
    column.dropped, column.typmod, column.identity = bool(dropped), typmod, identity or ""
    column.default, column.sequence, column.type_storage = default, sequence, default_storage
    return column


def load_tables(conn: Any, schema: str, names: list[str] | None) -> list[Table]:
    """Ordinary tables of ``schema`` (all, or those in ``names``) with what the model needs."""
    rows = conn.execute(_TABLES, {"schema": schema, "names": names}).fetchall()
    tables: list[Table] = []
    for oid, nsp, rel, reltuples, relpages, heap, fill, inserts, days, parent in rows:
        columns = [_column(r) for r in conn.execute(_COLUMNS, (oid,)).fetchall()]
        table = Table(oid, nsp, rel, columns, reltuples=float(reltuples), relpages=int(relpages))
        table.heap_bytes, table.fillfactor, table.inserts = int(heap), int(fill), int(inserts)
        table.inserts_days = float(days) if days is not None else None
        table.parent = parent
        for r in conn.execute(_INDEXES, (oid,)).fetchall():
            table.indexes.append(
                Index(
                    r[0],
                    list(r[1]),
                    r[2],
                    r[3],
                    r[4],
                    r[5],
                    r[6],
                    int(r[7]),
                    float(r[8]),
                    int(r[9]),
                    bool(r[10]),
                    [bool(b) for b in r[11]],
                    r[12],
                )
            )
        for name, src, dst, cols, ref_cols, mine in conn.execute(_FKEYS, {"oid": oid}).fetchall():
            key = ForeignKey(name, src, list(cols), dst, list(ref_cols))
            if mine in ("out", "self"):
                table.fks_out.append(key)
            if mine in ("in", "self"):
                table.fks_in.append(key)
        tables.append(table)
    return tables
