"""The index advisor's value types: what a statement asks of a table, and index shapes.

Data flows one way: statements are analysed into :class:`Access` records (one per base
table a statement reads or writes), accesses become :class:`Candidate` indexes, candidates
are costed and selected. Keys are column names or normalised expressions (see
:mod:`dbtune.advisors.indexes.exprs`), so a candidate and an existing index compare by text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

RelName = tuple[str, str]
"""``(schema, name)`` of a table."""

UseKind = Literal["eq", "in", "null", "range", "prefix", "infix", "join"]
EQUALITY_KINDS = frozenset({"eq", "in", "null", "join"})


@dataclass(frozen=True)
class Use:
    """One predicate on one column or expression of a table occurrence.

    ``text`` is the predicate as a person reads it (``status = $1``); ``value`` is the
    literal compared with, if any, for selectivity from ``pg_stats``; ``partner`` is the
    other table of a join predicate.
    """

    key: str
    kind: UseKind
    text: str
    is_expr: bool = False
    value: Any = None
    partner: RelName | None = None
    op: str = ""
    """For ranges: ``<``, ``<=``, ``>``, ``>=`` (value is the bound) or ``between`` (value
    is ``(low, high)``)."""


@dataclass(frozen=True)
class SortKey:
    key: str
    desc: bool = False
    nulls_first: bool | None = None
    is_expr: bool = False

    @property
    def nulls_are_first(self) -> bool:
        return self.desc if self.nulls_first is None else self.nulls_first


@dataclass
class Access:
    """One occurrence of a base table in a statement, and what the statement asks of it."""

    rel: RelName
    alias: str
    uses: list[Use] = field(default_factory=list)
    or_groups: list[list[Use]] = field(default_factory=list)
    sort: list[SortKey] = field(default_factory=list)
    group: list[SortKey] = field(default_factory=list)
    limit: int | None = None
    referenced: set[str] | None = field(default_factory=set)
    """Columns the statement reads from this table; ``None`` when it reads all (``*``)."""
    write: Literal["insert", "update", "delete"] | None = None
    updated: set[str] = field(default_factory=set)
    constants: dict[str, str] = field(default_factory=dict)
    """Predicates with a fixed literal (``deleted_at IS NULL``) -> their column: partial-index
    material when every statement on the table has them."""
    via: str = ""
    """How the table was reached when not named directly: ``view v``, ``CTE c``."""

    @property
    def reads(self) -> bool:
        return bool(self.uses or self.or_groups or self.sort or self.group)


@dataclass
class Analysis:
    """What one statement does to which tables, or why it cannot be advised on."""

    kind: str = "select"
    accesses: list[Access] = field(default_factory=list)
    skip: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class IndexKey:
    """One key column of an index: a column name or an expression, with order and opclass."""

    expr: str
    is_expr: bool = False
    desc: bool = False
    opclass: str | None = None
    nulls_first: bool | None = None
    """``None``: the default for the direction (NULLS LAST ascending, FIRST descending)."""

    @property
    def nulls_are_first(self) -> bool:
        return self.desc if self.nulls_first is None else self.nulls_first

    def label(self) -> str:
        text = self.expr
        if self.opclass:
            text += f" {self.opclass}"
        text += " DESC" if self.desc else ""
        if self.nulls_first is not None:
            text += " NULLS FIRST" if self.nulls_first else " NULLS LAST"
        return text


@dataclass(frozen=True)
class Candidate:
    """An index the advisor could propose; hashable, so it is proposed once per workload."""

    table: RelName
    keys: tuple[IndexKey, ...]
    method: str = "btree"
    include: tuple[str, ...] = ()
    where: str | None = None
    roles: tuple[str, ...] = field(default=(), compare=False)
    """Per key why it is there: ``eq`` (equality, IN, IS NULL, join), ``sort``, ``range``,
    ``prefix`` (LIKE 'x%') or ``infix`` (trigram); not part of the index's identity."""

    def __hash__(self) -> int:
        """Computed once: candidates key many dictionaries during costing and selection."""
        cached: int | None = self.__dict__.get("_hash")
        if cached is None:
            cached = hash((self.table, self.keys, self.method, self.include, self.where))
            object.__setattr__(self, "_hash", cached)
        return cached

    @property
    def eq_width(self) -> int:
        width = 0
        for role in self.roles:
            if role != "eq":
                break
            width += 1
        return width

    @property
    def columns(self) -> list[str]:
        return [key.expr for key in self.keys]

    def label(self) -> str:
        text = f"{self.table[1]}({', '.join(k.label() for k in self.keys)})"
        if self.method != "btree":
            text = (
                f"{self.table[1]} USING {self.method} ({', '.join(k.label() for k in self.keys)})"
            )
        if self.include:
            text += f" INCLUDE ({', '.join(self.include)})"
        if self.where:
            text += f" WHERE {self.where}"
        return text


@dataclass
class Origin:
    """Why a candidate exists: which statements asked for it, through which predicates."""

    statements: set[int] = field(default_factory=set)
    reasons: list[str] = field(default_factory=list)

    def add(self, statement: int, reason: str) -> None:
        self.statements.add(statement)
        if reason not in self.reasons:
            self.reasons.append(reason)
