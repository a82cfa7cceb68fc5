"""Name resolution inside one query level: which table a column reference reads.

A query level's ``FROM`` items become :class:`Source` objects: a base table (with its
:class:`~dbtune.advisors.indexes.model.Access`), a derived relation (sub-query, view, CTE)
that maps its output columns back to base-table columns, or an opaque one (a function, a
system catalog, a foreign table) whose columns lead nowhere. References that resolve in an
enclosing level are *outer* references: constants for this level, like parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pglast import ast

from dbtune.advisors.indexes.catalog import Relation
from dbtune.advisors.indexes.model import Access

Origin = tuple[Access, str]


class Skip(Exception):
    """The statement cannot be advised on; the message says why."""


@dataclass
class Derived:
    """Output columns of a sub-query: name -> the base columns it passes through unchanged.

    ``transparent`` is false when the planner cannot push a predicate down into it
    (``LIMIT``, window functions, a materialised CTE), so outer predicates are not mapped.
    """

    names: list[str] = field(default_factory=list)
    columns: dict[str, list[Origin]] = field(default_factory=dict)
    transparent: bool = True

    def origins(self, name: str) -> list[Origin]:
        return self.columns.get(name, []) if self.transparent else []


@dataclass
class Source:
    alias: str
    relation: Relation | None = None
    access: Access | None = None
    derived: Derived | None = None

    @property
    def opaque(self) -> bool:
        return self.access is None and self.derived is None

    def has_column(self, name: str) -> bool:
        if self.access is not None and self.relation is not None:
            return name in self.relation.columns
        if self.derived is not None:
            return name in self.derived.names
        return False

    def origins(self, name: str) -> list[Origin]:
        if self.access is not None:
            return [(self.access, name)]
        if self.derived is not None:
            return self.derived.origins(name)
        return []


OUTER = "outer"
"""Resolution result for a reference to an enclosing query level (a constant here)."""


@dataclass
class CteInfo:
    name: str
    node: Any
    materialized: bool
    colnames: list[str]
    derived: Derived | None = None


class Scope:
    """The ``FROM`` items of one query level, and the levels (and CTEs) around it."""

    def __init__(self, parent: Scope | None = None) -> None:
        self.parent = parent
        self.sources: list[Source] = []
        self.ctes: dict[str, CteInfo] = dict(parent.ctes) if parent is not None else {}
        self.targets: list[ast.ResTarget] = []

    def add(self, source: Source) -> Source:
        self.sources.append(source)
        return source

    def resolve(self, ref: ast.ColumnRef) -> tuple[Source, str] | str | None:
        """``(source, column)`` in this level, :data:`OUTER`, ``"opaque"`` or ``None``."""
        names = [str(f.sval) if isinstance(f, ast.String) else "*" for f in ref.fields or ()]
        found = self._local(names)
        if found is not None:
            return found
        if any(s.opaque for s in self.sources) and len(names) == 1:
            return "opaque"
        scope = self.parent
        while scope is not None:
            if scope._local(names) is not None:
                return OUTER
            scope = scope.parent
        return None

    def _local(self, names: list[str]) -> tuple[Source, str] | str | None:
        column = names[-1]
        if len(names) == 1:
            for source in self.sources:
                if source.has_column(column):
                    return source, column
            return None
        qualifier = names[-2]
        schema = names[-3] if len(names) >= 3 else None
        for source in self.sources:
            if source.alias != qualifier:
                continue
            if schema is not None and (source.relation is None or source.relation.schema != schema):
                continue
            return (source, column) if not source.opaque else "opaque"
        return None

    def origins(self, ref: ast.ColumnRef) -> list[Origin] | None:
        """Base columns a reference reads; ``None`` when it is not a column of this level."""
        found = self.resolve(ref)
        if isinstance(found, tuple):
            return found[0].origins(found[1])
        return [] if found == "opaque" else None
