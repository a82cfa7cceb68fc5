"""Which ``WHERE``/``ON`` predicates an index could serve, per table occurrence.

Only predicates of the form *indexable side* op *value* count: the indexable side is a
column, or an expression over columns of one table; the value contains no column of the
same query level (constants, parameters, outer references, sub-queries). Equality, ``IN``,
``= ANY``, ``IS NULL``, ranges, ``BETWEEN``, ``LIKE 'prefix%'`` (B-tree) and infix
``LIKE``/``ILIKE`` (trigram) are recognised; ``col = other.col`` between two tables is a
join key for both. Disjunctions count only when every arm is indexable on one table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pglast import ast
from pglast.enums import A_Expr_Kind, BoolExprType, BoolTestType, NullTestType, SubLinkType

from dbtune.advisors.indexes import exprs
from dbtune.advisors.indexes.model import Access, Use, UseKind
from dbtune.advisors.indexes.scope import OUTER, Scope

if TYPE_CHECKING:
    from dbtune.advisors.indexes.analyze import Walker

Sink = Callable[[Access, Use], None]
FLIP = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "=": "="}
RANGE_OPS = frozenset({"<", ">", "<=", ">="})
MIN_TRIGRAM_PATTERN = 3


@dataclass(frozen=True)
class Target:
    access: Access
    key: str
    is_expr: bool


def _collector(found: list[tuple[Access, Use]]) -> Sink:
    return lambda access, use: found.append((access, use))


def _simple(node: Any) -> str | None:
    """Quick text of a column, parameter or constant (the common predicate operands)."""
    if isinstance(node, ast.ColumnRef):
        return ".".join(exprs.names(node.fields)) or None
    if isinstance(node, ast.ParamRef):
        return f"${node.number}"
    value = exprs.literal(node) if isinstance(node, ast.A_Const) else None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return None if value is None else str(value)


def _text(node: Any) -> str:
    """The predicate as SQL text, for people ("why" lines); shortened when long."""
    if isinstance(node, ast.A_Expr) and node.kind == A_Expr_Kind.AEXPR_OP:
        left, right = _simple(node.lexpr), _simple(node.rexpr)
        if left and right:
            return f"{left} {exprs.last_name(node.name)} {right}"
    text = exprs.deparse(node)
    return text if len(text) <= 120 else text[:117] + "..."


class Predicates:
    """Classifies the predicates of one query level into :class:`Use` records."""

    def __init__(self, walker: Walker, scope: Scope) -> None:
        self.walker = walker
        self.scope = scope

    def targets(self, node: Any) -> list[Target]:
        """Table columns or one-table expressions ``node`` denotes (one per UNION arm)."""
        relabel = isinstance(node, ast.TypeCast) and isinstance(node.arg, ast.ColumnRef)
        if relabel and exprs.type_name(node.typeName) in exprs.TEXT_TYPES:
            node = node.arg
        if isinstance(node, ast.ColumnRef):
            origins = self.scope.origins(node) or []
            return [Target(access, column, False) for access, column in origins]
        if isinstance(node, ast.A_Const | ast.ParamRef | ast.SubLink) or exprs.contains(
            node, ast.SubLink
        ):
            return []
        refs = list(exprs.column_refs(node))
        resolved = [self.scope.origins(ref) or [] for ref in refs]
        if not refs or any(len(origins) != 1 for origins in resolved):
            return []
        accesses = {id(origins[0][0]) for origins in resolved}
        if len(accesses) != 1:
            return []
        access = resolved[0][0][0]
        key = exprs.canonical(node, self.namer)
        return [Target(access, key, True)] if key else []

    def namer(self, ref: ast.ColumnRef) -> tuple[str, bool] | None:
        origins = self.scope.origins(ref) or []
        if len(origins) != 1:
            return None
        access, column = origins[0]
        relation = self.walker.catalog.resolve(*access.rel)
        found = relation.columns.get(column) if relation is not None else None
        return column, bool(found and found.is_text)

    def is_value(self, node: Any) -> bool:
        for ref in exprs.column_refs(node):
            found = self.scope.resolve(ref)
            if found != OUTER:
                return False
        return not exprs.contains(node, ast.A_Star)

    def collect(self, node: Any, sink: Sink | None = None, top: bool = True) -> None:
        add: Sink = sink or (lambda access, use: access.uses.append(use))
        if node is None:
            return
        if isinstance(node, ast.BoolExpr):
            args = node.args or ()
            if node.boolop == BoolExprType.AND_EXPR:
                for arg in args:
                    self.collect(arg, add, top)
            elif node.boolop == BoolExprType.OR_EXPR:
                self._disjunction(node, add)
            elif args and isinstance(args[0], ast.ColumnRef):
                self._boolean(args[0], node, False, add, top)
        elif isinstance(node, ast.A_Expr):
            self._a_expr(node, add)
        elif isinstance(node, ast.NullTest):
            for t in self.targets(node.arg):
                if top:
                    self._constant(t, node)
                if node.nulltesttype == NullTestType.IS_NULL:
                    add(t.access, Use(t.key, "null", _text(node), t.is_expr))
        elif isinstance(node, ast.BooleanTest) and isinstance(node.arg, ast.ColumnRef):
            truth = node.booltesttype == BoolTestType.IS_TRUE
            if node.booltesttype in (BoolTestType.IS_TRUE, BoolTestType.IS_FALSE):
                self._boolean(node.arg, node, truth, add, top)
        elif isinstance(node, ast.ColumnRef):
            self._boolean(node, node, True, add, top)
        elif isinstance(node, ast.SubLink) and node.subLinkType == SubLinkType.ANY_SUBLINK:
            self._semi_join(node, add)

    def _constant(self, target: Target, node: Any) -> None:
        text = exprs.canonical(node, self.namer)
        if text and not target.is_expr:
            target.access.constants[text] = target.key

    def _boolean(self, ref: ast.ColumnRef, node: Any, truth: bool, add: Sink, top: bool) -> None:
        for t in self.targets(ref):
            if top:
                self._constant(t, node)
            add(t.access, Use(t.key, "eq", _text(node), t.is_expr, value=truth))

    def _disjunction(self, node: ast.BoolExpr, add: Sink) -> None:
        arms: list[list[tuple[Access, Use]]] = []
        for arg in node.args or ():
            found: list[tuple[Access, Use]] = []
            self.collect(arg, _collector(found), top=False)
            if not found:
                return
            arms.append(found)
        accesses = {id(access) for arm in arms for access, _ in arm}
        if len(accesses) == 1:
            access = arms[0][0][0]
            access.or_groups.append([arm[0][1] for arm in arms])

    def _use(
        self, target: Target, kind: UseKind, node: Any, value: Any = None, op: str = ""
    ) -> Use:
        return Use(target.key, kind, _text(node), target.is_expr, value=value, op=op)

    def _a_expr(self, node: ast.A_Expr, add: Sink) -> None:
        op = exprs.last_name(node.name)
        kind = node.kind
        if kind == A_Expr_Kind.AEXPR_OP and op in FLIP:
            self._comparison(node, op, add)
        elif kind == A_Expr_Kind.AEXPR_OP_ANY and op == "=" and self.is_value(node.rexpr):
            for t in self.targets(node.lexpr):
                add(t.access, self._use(t, "in", node))
        elif kind == A_Expr_Kind.AEXPR_IN and op == "=":
            values = node.rexpr if isinstance(node.rexpr, tuple | list) else (node.rexpr,)
            if all(self.is_value(v) for v in values):
                for t in self.targets(node.lexpr):
                    add(t.access, self._use(t, "in", node, exprs.literal(values[0])))
        elif kind in (A_Expr_Kind.AEXPR_LIKE, A_Expr_Kind.AEXPR_ILIKE) and op in ("~~", "~~*"):
            self._like(node, op == "~~*", add)
        elif kind == A_Expr_Kind.AEXPR_BETWEEN and isinstance(node.rexpr, tuple | list):
            bounds = node.rexpr
            for t in self.targets(node.lexpr) if all(self.is_value(v) for v in bounds) else []:
                value = (exprs.literal(bounds[0]), exprs.literal(bounds[1]))
                add(t.access, self._use(t, "range", node, value, op="between"))

    def _comparison(self, node: ast.A_Expr, op: str, add: Sink) -> None:
        left, right = self.targets(node.lexpr), self.targets(node.rexpr)
        if op == "=" and left and right:
            for a in left:
                for b in right:
                    if a.access is not b.access:
                        add(
                            a.access,
                            Use(a.key, "join", _text(node), a.is_expr, partner=b.access.rel),
                        )
                        add(
                            b.access,
                            Use(b.key, "join", _text(node), b.is_expr, partner=a.access.rel),
                        )
            return
        for found, other, operator in ((left, node.rexpr, op), (right, node.lexpr, FLIP[op])):
            if found and self.is_value(other):
                value = exprs.literal(other)
                for t in found:
                    if (
                        operator == "="
                        and isinstance(value, bool)
                        and isinstance(node.lexpr, ast.ColumnRef)
                    ):
                        self._constant(t, node)
                    kind: UseKind = "eq" if operator == "=" else "range"
                    add(t.access, self._use(t, kind, node, value, op=operator))
                return

    def _like(self, node: ast.A_Expr, insensitive: bool, add: Sink) -> None:
        text = exprs.pattern(node.rexpr)
        if text is None or not self.is_value(node.rexpr):
            return
        stem = text.split("%", 1)[0].split("_", 1)[0]
        for t in self.targets(node.lexpr):
            if not insensitive and stem == text:
                add(t.access, self._use(t, "eq", node, text))
            elif not insensitive and stem:
                add(t.access, self._use(t, "prefix", node, stem))
            elif len(text.replace("%", "").replace("_", "")) >= MIN_TRIGRAM_PATTERN:
                add(t.access, self._use(t, "infix", node, text))

    def _semi_join(self, node: ast.SubLink, add: Sink) -> None:
        outer = self.targets(node.testexpr) if node.testexpr is not None else []
        derived = self.walker.sublink_outputs.get(id(node))
        inner = derived.origins(derived.names[0]) if derived and derived.names else []
        for t in outer:
            partner = inner[0][0].rel if inner else None
            add(t.access, Use(t.key, "join", _text(node.testexpr), t.is_expr, partner=partner))
        for access, column in inner:
            partner = outer[0].access.rel if outer else None
            access.uses.append(Use(column, "join", f"{column} IN (...)", partner=partner))
