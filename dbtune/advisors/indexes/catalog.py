"""What the advisor knows about the target database: relations, columns, statistics, indexes.

Everything is read through one read-only connection, relation by relation and only when a
statement needs it, so a schema with thousands of tables costs a few queries per table the
workload touches. :meth:`Catalog.offline` builds the same object from plain values, which
the pure-logic tests use instead of a server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dbtune.advisors.indexes.model import RelName

SYSTEM_SCHEMAS = frozenset({"pg_catalog", "information_schema", "pg_toast"})
PLANNER_SETTINGS = (
    "seq_page_cost",
    "random_page_cost",
    "cpu_tuple_cost",
    "cpu_index_tuple_cost",
    "cpu_operator_cost",
)


@dataclass
class Column:
    name: str
    type: str = "integer"
    notnull: bool = False
    n_distinct: float | None = None
    """As in ``pg_stats``: a count, or minus the fraction of rows when negative."""
    null_frac: float = 0.0
    avg_width: int = 8
    correlation: float | None = None
    mcv: dict[str, float] = field(default_factory=dict)
    histogram: list[str] = field(default_factory=list)
    """``pg_stats.histogram_bounds`` as text, for the selectivity of literal ranges."""

    @property
    def is_text(self) -> bool:
        return self.type.startswith(("text", "character", "citext", "varchar"))


@dataclass
class ExistingIndex:
    """A valid or invalid index already on a table, keys normalised like candidates'."""

    name: str
    schema: str
    table: str
    method: str
    keys: tuple[str, ...]
    opclasses: tuple[str, ...] = ()
    desc: tuple[bool, ...] = ()
    nulls_first: tuple[bool, ...] = ()
    include: tuple[str, ...] = ()
    predicate: str | None = None
    unique: bool = False
    primary: bool = False
    valid: bool = True
    constraint: str | None = None
    size_bytes: int = 0
    scans: int = 0
    definition: str = ""


MIN_SCANS = 100
"""Fewer scans than this since the statistics reset means no workload to judge writes by
(a freshly loaded table would otherwise look write-only)."""


@dataclass
class WriteStats:
    """``pg_stat_user_tables`` counters since the last statistics reset."""

    inserts: int = 0
    updates: int = 0
    hot_updates: int = 0
    deletes: int = 0
    scans: int = 0
    tuples_read: int = 0

    @property
    def write_share(self) -> float:
        """Share of tuples touched that wrote index entries (non-HOT); 0 without a workload."""
        if self.scans < MIN_SCANS:
            return 0.0
        writes = self.inserts + self.deletes + max(0, self.updates - self.hot_updates)
        total = writes + self.tuples_read
        return writes / total if total else 0.0


@dataclass
class Relation:
    schema: str
    name: str
    kind: str = "r"
    """``pg_class.relkind``: r table, p partitioned, v view, m materialised view, f foreign."""
    oid: int = 0
    tuples: float = 0.0
    pages: int = 0
    allvisible: int = 0
    columns: dict[str, Column] = field(default_factory=dict)
    indexes: list[ExistingIndex] = field(default_factory=list)
    view_sql: str | None = None
    leaves: list[RelName] = field(default_factory=list)
    """Leaf partitions of a partitioned table (HypoPG indexes them one by one)."""
    writes: WriteStats = field(default_factory=WriteStats)
    loaded: bool = False

    @property
    def key(self) -> RelName:
        return (self.schema, self.name)

    @property
    def rows(self) -> float:
        """Planner row estimate; never-analysed tables guess from their pages."""
        if self.tuples >= 0:
            return self.tuples
        return float(self.pages * 60)


class Catalog:
    """Relations by name, loaded lazily from ``conn`` (``None`` for an offline catalog)."""

    def __init__(self, conn: Any = None) -> None:
        self.conn = conn
        self.relations: dict[RelName, Relation] = {}
        self.search_path: list[str] = ["pg_catalog", "public"]
        self.settings: dict[str, float] = dict.fromkeys(PLANNER_SETTINGS, 0.0)
        self.settings.update(seq_page_cost=1.0, random_page_cost=4.0, cpu_tuple_cost=0.01)
        self.settings.update(cpu_index_tuple_cost=0.005, cpu_operator_cost=0.0025)
        self.c_collation = False
        self.version = 180000
        self.extensions: set[str] = set()
        self.available_extensions: set[str] = set()
        self._immutable: dict[str, bool | None] = {}
        if conn is not None:
            from dbtune.advisors.indexes import catalog_queries

            catalog_queries.load_overview(self)

    @classmethod
    def offline(cls, relations: list[Relation]) -> Catalog:
        catalog = cls()
        for relation in relations:
            relation.loaded = True
            catalog.relations[relation.key] = relation
        return catalog

    def resolve(self, schema: str | None, name: str) -> Relation | None:
        """The relation ``schema.name``, or ``name`` looked up along the search path."""
        if schema is not None:
            relation = self.relations.get((schema, name))
        else:
            relation = next(
                (
                    self.relations[(s, name)]
                    for s in self.search_path
                    if (s, name) in self.relations
                ),
                None,
            )
        if relation is not None and not relation.loaded and self.conn is not None:
            from dbtune.advisors.indexes import catalog_queries

            catalog_queries.load_relation(self, relation)
        return relation

    def get(self, key: RelName) -> Relation:
        relation = self.resolve(*key)
        if relation is None:
            raise KeyError(key)
        return relation

    def display(self, key: RelName) -> str:
        """``name`` when the search path finds it, else ``schema.name``."""
        found = next((s for s in self.search_path if (s, key[1]) in self.relations), None)
        return key[1] if found == key[0] else f"{key[0]}.{key[1]}"

    def immutable(self, function: str) -> bool | None:
        """Whether every function of that name is IMMUTABLE (``False``: none is; ``None``:
        some are, or no server to ask), so an index expression using it can be built."""
        if self.conn is None:
            return None
        if function not in self._immutable:
            row = self.conn.execute(
                "SELECT bool_and(provolatile = 'i'), bool_or(provolatile = 'i') "
                "FROM pg_proc WHERE proname = %s",
                (function,),
            ).fetchone()
            every, some = row if row else (None, None)
            if every is None:
                self._immutable[function] = None
            else:
                self._immutable[function] = True if every else (None if some else False)
        return self._immutable[function]

    def parent_of(self, key: RelName) -> Relation | None:
        for relation in self.relations.values():
            if key in relation.leaves:
                return relation
        return None
