"""The ``FROM`` clause of one query level: base tables, views, CTEs, sub-queries, joins.

Each item becomes a :class:`~dbtune.advisors.indexes.scope.Source` of the level's scope.
A view is parsed from ``pg_get_viewdef`` and analysed like a sub-query (its tables are
reached "via view v"); a CTE is analysed once where it is defined and is transparent to
outer predicates only when the planner inlines it (not ``MATERIALIZED``, referenced once,
a plain ``SELECT``, not recursive).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pglast import ast, parse_sql
from pglast.enums import CTEMaterialize
from pglast.parser import ParseError

from dbtune.advisors.indexes import exprs
from dbtune.advisors.indexes.catalog import SYSTEM_SCHEMAS, Relation
from dbtune.advisors.indexes.model import Access, Use
from dbtune.advisors.indexes.predicates import Predicates
from dbtune.advisors.indexes.scope import CteInfo, Derived, Scope, Skip, Source

if TYPE_CHECKING:
    from dbtune.advisors.indexes.analyze import Walker

MAX_VIEW_DEPTH = 8


def nodes(node: Any) -> Iterator[Any]:
    if isinstance(node, tuple | list):
        for item in node:
            yield from nodes(item)
    elif isinstance(node, ast.Node):
        yield node
        for name in exprs.slots(node):
            value = getattr(node, name, None)
            if isinstance(value, ast.Node | tuple | list):
                yield from nodes(value)


def _renamed(derived: Derived, colnames: Any) -> Derived:
    names = exprs.names(colnames)
    if not names:
        return derived
    new = Derived(transparent=derived.transparent)
    for position, old in enumerate(derived.names):
        name = names[position] if position < len(names) else old
        new.names.append(name)
        new.columns[name] = derived.columns.get(old, [])
    return new


class FromClause:
    """Adds ``FROM`` items to scopes for one statement's :class:`Walker`."""

    def __init__(self, walker: Walker, root: Any) -> None:
        self.walker = walker
        self.root = root
        self.views: list[str] = []
        self.via = ""
        self._cte_refs: Counter[str] | None = None

    @property
    def cte_refs(self) -> Counter[str]:
        """How often each unqualified name is referenced (a CTE used twice is materialised)."""
        if self._cte_refs is None:
            self._cte_refs = Counter(
                str(n.relname)
                for n in nodes(self.root)
                if isinstance(n, ast.RangeVar) and not n.schemaname
            )
        return self._cte_refs

    def base(self, node: Any, scope: Scope, write: Any = None) -> Access | None:
        relation = self.walker.catalog.resolve(node.schemaname, node.relname)
        if relation is None:
            shown = f"{node.schemaname}.{node.relname}" if node.schemaname else node.relname
            raise Skip(f"unknown relation {shown}")
        alias = node.alias.aliasname if node.alias else node.relname
        if relation.schema in SYSTEM_SCHEMAS:
            self.walker.analysis.notes.append(f"system catalog {relation.name}")
        elif relation.kind == "f":
            self.walker.analysis.notes.append(f"foreign table {relation.name}")
        elif relation.kind == "v":
            derived = _renamed(self.view(relation), node.alias.colnames if node.alias else None)
            scope.add(Source(alias, relation, derived=derived))
            return None
        else:
            access = Access(rel=relation.key, alias=alias, write=write, via=self.via)
            self.walker.analysis.accesses.append(access)
            scope.add(Source(alias, relation, access=access))
            return access
        scope.add(Source(alias, relation))
        return None

    def view(self, relation: Relation) -> Derived:
        if (
            relation.name in self.views
            or len(self.views) >= MAX_VIEW_DEPTH
            or not relation.view_sql
        ):
            return Derived(transparent=False)
        try:
            tree = parse_sql(relation.view_sql)[0].stmt
        except (ParseError, IndexError):
            return Derived(transparent=False)
        self.views.append(relation.name)
        self.walker.nested = True  # the view's own text may hold sub-queries
        outer_via, self.via = self.via, self.via or f"view {relation.name}"
        try:
            return self.walker.select(tree, None) if isinstance(tree, ast.SelectStmt) else Derived()
        finally:
            self.views.pop()
            self.via = outer_via

    def with_clause(self, clause: Any, scope: Scope) -> None:
        for cte_node in clause.ctes if clause else ():
            cte: Any = cte_node
            forced = cte.ctematerialized == CTEMaterialize.CTEMaterializeAlways
            materialized = forced or clause.recursive or self.cte_refs[cte.ctename] > 1
            info = CteInfo(cte.ctename, cte.ctequery, materialized, [])
            scope.ctes[cte.ctename] = info
            outer_via, self.via = self.via, self.via or f"CTE {cte.ctename}"
            try:
                if isinstance(cte.ctequery, ast.SelectStmt):
                    derived = self.walker.select(cte.ctequery, scope)
                else:
                    self.walker.dml(cte.ctequery, scope)
                    derived = Derived(transparent=False)
            finally:
                self.via = outer_via
            derived = _renamed(derived, cte.aliascolnames)
            if materialized or not isinstance(cte.ctequery, ast.SelectStmt):
                derived = Derived(derived.names, derived.columns, transparent=False)
            info.derived = derived

    def from_item(self, node: Any, scope: Scope) -> None:
        item: Any = node
        if isinstance(node, ast.RangeVar):
            cte = scope.ctes.get(item.relname) if not item.schemaname else None
            alias = item.alias.aliasname if item.alias else item.relname
            if cte is not None:
                derived = cte.derived or Derived(transparent=False)
                colnames = item.alias.colnames if item.alias else None
                scope.add(Source(alias, derived=_renamed(derived, colnames)))
            else:
                self.base(item, scope)
        elif isinstance(node, ast.JoinExpr):
            self.from_item(item.larg, scope)
            self.from_item(item.rarg, scope)
            self.walker.sublinks([item.quals], scope)
            Predicates(self.walker, scope).collect(item.quals)
            self.walker.referenced([item.quals], scope)
            for name in item.usingClause or ():
                self.using_join(str(name.sval), scope)
        elif isinstance(node, ast.RangeSubselect):
            parent = scope if item.lateral else scope.parent
            derived = self.walker.select(item.subquery, parent) if item.subquery else Derived()
            alias = item.alias.aliasname if item.alias else ""
            scope.add(
                Source(
                    alias, derived=_renamed(derived, item.alias.colnames if item.alias else None)
                )
            )
        elif isinstance(node, ast.RangeTableSample):
            self.from_item(item.relation, scope)
        else:
            alias = getattr(getattr(item, "alias", None), "aliasname", "") or ""
            scope.add(Source(alias))

    def using_join(self, column: str, scope: Scope) -> None:
        sides = [s for s in scope.sources if s.has_column(column)]
        origins = [o for s in sides[-2:] for o in s.origins(column)]
        for access, name in origins:
            for partner, _ in origins:
                if partner is not access:
                    access.uses.append(Use(name, "join", f"USING ({column})", partner=partner.rel))
