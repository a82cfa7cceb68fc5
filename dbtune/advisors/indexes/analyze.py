"""From one SQL statement to what it asks of each base table (pglast parse trees).

Views and CTEs are resolved to their base tables: a predicate on a view column is a
predicate on the table column behind it, unless the planner could not push it down
(``LIMIT`` inside, window functions, a CTE that is materialised explicitly or because it
is referenced more than once). System catalogs and foreign tables are ignored with a note;
unknown relations and unparsable or non-query statements make the statement *skipped* with
a reason. :func:`analyze` never raises for bad input.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pglast import ast, parse_sql
from pglast.enums import SetOperation, SortByDir, SortByNulls
from pglast.parser import ParseError

from dbtune.advisors.indexes import exprs
from dbtune.advisors.indexes.catalog import Catalog
from dbtune.advisors.indexes.model import Access, Analysis, SortKey
from dbtune.advisors.indexes.predicates import Predicates
from dbtune.advisors.indexes.relations import FromClause, nodes
from dbtune.advisors.indexes.scope import Derived, Scope, Skip

STATEMENT_NAMES = {
    "TransactionStmt": "transaction control",
    "VariableSetStmt": "SET",
    "VariableShowStmt": "SHOW",
    "ExplainStmt": "EXPLAIN",
    "MergeStmt": "MERGE (not supported)",
    "CopyStmt": "COPY",
}


def analyze(sql: str, catalog: Catalog) -> Analysis:
    """What ``sql`` reads and writes, per base table; ``skip`` says why when nothing."""
    try:
        statements = parse_sql(sql)
    except ParseError as exc:
        return Analysis(skip=f"parse error: {str(exc).splitlines()[0]}")
    if len(statements) != 1:
        return Analysis(skip="empty statement" if not statements else "several statements")
    walker = Walker(catalog, statements[0].stmt)
    lowered = sql.lower()
    own = 1 if isinstance(statements[0].stmt, ast.SelectStmt) else 0
    walker.nested = lowered.count("select") + lowered.count("values") > own
    try:
        walker.statement(statements[0].stmt)
    except Skip as exc:
        walker.analysis.skip = str(exc)
    except RecursionError:
        walker.analysis.skip = "statement nested too deeply"
    except (AttributeError, TypeError, IndexError, KeyError, ValueError) as exc:
        # A parse-tree shape this walker does not know: skip it, never fail the whole run.
        walker.analysis.skip = f"unsupported statement shape ({type(exc).__name__})"
    result = walker.analysis
    if result.skip is None and not result.accesses:
        result.skip = "; ".join(result.notes) or "reads no table"
    return result


def _name(node: Any) -> str:
    if isinstance(node, ast.ResTarget) and node.name:
        return str(node.name)
    value = node.val if isinstance(node, ast.ResTarget) else node
    if isinstance(value, ast.TypeCast):
        value = value.arg
    if isinstance(value, ast.ColumnRef) and exprs.last_name(value.fields):
        return exprs.last_name(value.fields)
    if isinstance(value, ast.FuncCall) and exprs.last_name(value.funcname):
        return exprs.last_name(value.funcname)
    return "?column?"


class Walker:
    """Walks one statement's parse tree, filling :attr:`analysis`."""

    def __init__(self, catalog: Catalog, root: Any) -> None:
        self.catalog = catalog
        self.analysis = Analysis()
        self.sublink_outputs: dict[int, Derived] = {}
        self.tables = FromClause(self, root)
        self.nested = True
        """Whether the statement may hold sub-queries (their text needs a second SELECT)."""

    def statement(self, node: Any) -> None:
        if isinstance(node, ast.SelectStmt):
            self.select(node, None)
        elif isinstance(node, ast.InsertStmt | ast.UpdateStmt | ast.DeleteStmt):
            self.analysis.kind = type(node).__name__[:6].lower()
            self.dml(node, None)
        else:
            name = type(node).__name__
            what = STATEMENT_NAMES.get(name) or f"{name.removesuffix('Stmt')} statement"
            raise Skip(f"not a query ({what})")

    def select(self, node: Any, parent: Scope | None) -> Derived:
        if node.valuesLists:
            width = len(node.valuesLists[0])
            return Derived([f"column{i}" for i in range(1, width + 1)], {}, transparent=False)
        scope = Scope(parent)
        self.tables.with_clause(node.withClause, scope)
        if node.op is not None and node.op != SetOperation.SETOP_NONE:
            left, right = self.select(node.larg, scope), self.select(node.rarg, scope)
            merged = Derived(list(left.names), transparent=left.transparent and right.transparent)
            for position, name in enumerate(left.names):
                other = right.names[position] if position < len(right.names) else ""
                merged.columns[name] = left.origins(name) + right.origins(other)
            merged.transparent = merged.transparent and node.limitCount is None
            return merged
        for item in node.fromClause or ():
            self.tables.from_item(item, scope)
        scope.targets = list(node.targetList or ())
        clauses = [node.targetList, node.whereClause, node.havingClause]
        self.sublinks(clauses, scope)
        Predicates(self, scope).collect(node.whereClause)
        self.referenced([*clauses, node.groupClause, node.sortClause, node.distinctClause], scope)
        self.ordering(node, scope)
        derived = self.outputs(node.targetList or (), scope)
        windowed = any(isinstance(n, ast.FuncCall) and n.over for n in nodes(node.targetList))
        derived.transparent = node.limitCount is None and node.limitOffset is None and not windowed
        return derived

    def dml(self, node: Any, parent: Scope | None) -> None:
        scope = Scope(parent)
        self.tables.with_clause(node.withClause, scope)
        write = "insert" if isinstance(node, ast.InsertStmt) else type(node).__name__[:6].lower()
        target = self.tables.base(node.relation, scope, write)
        if isinstance(node, ast.InsertStmt):
            if isinstance(node.selectStmt, ast.SelectStmt):
                self.select(node.selectStmt, scope)
            return
        if target is not None and isinstance(node, ast.UpdateStmt):
            target.updated = {str(res.name) for res in node.targetList or () if res.name}
        for item in (
            node.fromClause if isinstance(node, ast.UpdateStmt) else node.usingClause
        ) or ():
            self.tables.from_item(item, scope)
        clauses = [getattr(node, "targetList", None), node.whereClause]
        self.sublinks(clauses, scope)
        Predicates(self, scope).collect(node.whereClause)
        self.referenced(clauses, scope)

    def sublinks(self, clauses: list[Any], scope: Scope) -> None:
        if not self.nested:
            return
        for clause in clauses:
            for node in self._find_sublinks(clause):
                if isinstance(node.subselect, ast.SelectStmt):
                    self.sublink_outputs[id(node)] = self.select(node.subselect, scope)

    def _find_sublinks(self, node: Any) -> Iterator[ast.SubLink]:
        if isinstance(node, ast.SubLink):
            yield node
            node = node.testexpr
        if isinstance(node, tuple | list):
            for item in node:
                yield from self._find_sublinks(item)
        elif isinstance(node, ast.Node) and not isinstance(node, ast.SelectStmt):
            for name in exprs.slots(node):
                value = getattr(node, name, None)
                if isinstance(value, ast.Node | tuple | list):
                    yield from self._find_sublinks(value)

    def referenced(self, clauses: list[Any], scope: Scope) -> None:
        for ref in exprs.column_refs(clauses):
            fields: Any = ref.fields
            if isinstance(fields[-1], ast.A_Star):
                qualifier = fields[-2].sval if len(fields) > 1 else None
                for source in scope.sources:
                    if qualifier in (None, source.alias) and source.access is not None:
                        source.access.referenced = None
                continue
            for access, column in scope.origins(ref) or []:
                if access.referenced is not None:
                    access.referenced.add(column)

    def ordering(self, node: ast.SelectStmt, scope: Scope) -> None:
        predicates = Predicates(self, scope)
        limit = None
        if isinstance(node.limitCount, ast.A_Const):
            value = exprs.literal(node.limitCount)
            limit = value if isinstance(value, int) else None
        elif node.limitCount is not None:
            limit = -1
        for source in scope.sources:
            if source.access is not None:
                source.access.limit = limit
        for clause, attribute in ((node.sortClause, "sort"), (node.groupClause, "group")):
            keys: list[tuple[Access, SortKey]] = []
            for item in clause or ():
                expr = self._output_expr(item.node if isinstance(item, ast.SortBy) else item, scope)
                targets = predicates.targets(expr)
                if len(targets) != 1:
                    keys = []
                    break
                desc = isinstance(item, ast.SortBy) and item.sortby_dir == SortByDir.SORTBY_DESC
                nulls = getattr(item, "sortby_nulls", SortByNulls.SORTBY_NULLS_DEFAULT)
                first = (
                    None
                    if nulls == SortByNulls.SORTBY_NULLS_DEFAULT
                    else nulls == SortByNulls.SORTBY_NULLS_FIRST
                )
                t = targets[0]
                keys.append((t.access, SortKey(t.key, desc, first, t.is_expr)))
            if keys and len({id(access) for access, _ in keys}) == 1:
                setattr(keys[0][0], attribute, [key for _, key in keys])

    def _output_expr(self, node: Any, scope: Scope) -> Any:
        """``ORDER BY 2`` and ``ORDER BY alias`` refer to select-list entries."""
        value = exprs.literal(node)
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and 0 < value <= len(scope.targets)
        ):
            return scope.targets[value - 1].val
        if isinstance(node, ast.ColumnRef) and len(node.fields or ()) == 1:
            for target in scope.targets:
                if target.name and target.name == exprs.last_name(node.fields):
                    return target.val
        return node

    def outputs(self, targets: Any, scope: Scope) -> Derived:
        derived = Derived()
        for target in targets:
            value: Any = target.val
            if isinstance(target.val, ast.ColumnRef) and isinstance(value.fields[-1], ast.A_Star):
                qualifier = value.fields[-2].sval if len(value.fields) > 1 else None
                for source in scope.sources:
                    if qualifier not in (None, source.alias):
                        continue
                    names = (
                        list(source.relation.columns) if source.access and source.relation else []
                    )
                    for name in source.derived.names if source.derived else names:
                        derived.names.append(name)
                        derived.columns[name] = source.origins(name)
                continue
            name = _name(target)
            derived.names.append(name)
            derived.columns[name] = (
                scope.origins(value) or [] if isinstance(value, ast.ColumnRef) else []
            )
        return derived
