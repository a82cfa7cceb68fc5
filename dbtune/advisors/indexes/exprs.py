"""Expressions as index keys: one canonical text for what the planner treats as equal.

A query writes ``UPPER("customer"."email"::text)``; PostgreSQL stores the index expression
of ``CREATE INDEX ... (upper(email))`` as ``upper((email)::text)``. Both become
``upper(email)`` here: column references lose their table qualifier, and casts of a text
column to ``text``/``varchar`` (binary-compatible relabelling) are dropped. Candidates and
existing indexes are normalised by the same function, so they compare by string.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pglast import ast
from pglast.stream import RawStream

TEXT_TYPES = frozenset({"text", "varchar", "bpchar", "char", "character varying", "citext"})

ColumnNamer = Callable[[ast.ColumnRef], "tuple[str, bool] | None"]
"""Maps a column reference to ``(base column name, column is text-like)``, or ``None``."""


def deparse(node: Any) -> str:
    """SQL text of a parse-tree node (pglast's printer, one line)."""
    return str(RawStream()(node))


def slots(node: Any) -> tuple[str, ...]:
    """Attribute names of a parse-tree node (pglast nodes keep them in ``__slots__``)."""
    return tuple(getattr(node, "__slots__", ()))


def names(fields: Any) -> list[str]:
    """The string parts of a qualified name (``ColumnRef.fields``, ``FuncCall.funcname``)."""
    return [str(f.sval) for f in fields or () if isinstance(f, ast.String)]


def last_name(fields: Any) -> str:
    found = names(fields)
    return found[-1] if found else ""


def first_target(sql: str) -> Any:
    """The first select-list expression of ``SELECT <expr>`` text."""
    from pglast import parse_sql

    statement: Any = parse_sql(sql)[0].stmt
    return statement.targetList[0].val


CHILDREN: dict[type, tuple[str, ...]] = {
    ast.A_Const: (),
    ast.ParamRef: (),
    ast.String: (),
    ast.A_Expr: ("lexpr", "rexpr"),
    ast.TypeCast: ("arg",),
    ast.BoolExpr: ("args",),
    ast.NullTest: ("arg",),
    ast.BooleanTest: ("arg",),
    ast.ResTarget: ("val", "indirection"),
    ast.SortBy: ("node",),
    ast.FuncCall: ("args", "agg_order", "agg_filter", "over"),
    ast.SubLink: ("testexpr",),
}
"""Where the expressions of common nodes are (other nodes: every attribute is looked at)."""


def column_refs(node: Any) -> Iterator[ast.ColumnRef]:
    """Column references in ``node``, not descending into sub-queries."""
    if isinstance(node, ast.ColumnRef):
        yield node
    elif isinstance(node, tuple | list):
        for item in node:
            yield from column_refs(item)
    elif isinstance(node, ast.Node):
        for name in CHILDREN.get(type(node)) or slots(node):
            value = getattr(node, name, None)
            if isinstance(value, ast.Node | tuple | list):
                yield from column_refs(value)


def contains(node: Any, kind: type[ast.Node]) -> bool:
    if isinstance(node, kind):
        return True
    if isinstance(node, tuple | list):
        return any(contains(item, kind) for item in node)
    if isinstance(node, ast.Node):
        return any(
            contains(getattr(node, name, None), kind)
            for name in slots(node)
            if isinstance(getattr(node, name, None), ast.Node | tuple | list)
        )
    return False


def type_name(node: Any) -> str:
    return last_name(node.names) if node is not None else ""


def _rewrite(node: Any, namer: ColumnNamer) -> Any:
    if isinstance(node, ast.ColumnRef):
        named = namer(node)
        if named is None:
            raise LookupError("unresolved column")
        return ast.ColumnRef(fields=(ast.String(sval=named[0]),))
    if isinstance(node, ast.TypeCast) and isinstance(node.arg, ast.ColumnRef):
        named = namer(node.arg)
        type_node: Any = node.typeName
        relabel = type_name(type_node) in TEXT_TYPES and not getattr(type_node, "arrayBounds", None)
        if named is not None and named[1] and relabel:
            return ast.ColumnRef(fields=(ast.String(sval=named[0]),))
    if isinstance(node, tuple | list):
        return tuple(_rewrite(item, namer) for item in node)
    if isinstance(node, ast.Node):
        values: dict[str, Any] = {}
        for name in slots(node):
            value = getattr(node, name, None)
            if name == "location":
                continue
            values[name] = (
                _rewrite(value, namer) if isinstance(value, ast.Node | tuple | list) else value
            )
        rebuilt: Any = type(node)
        return rebuilt(**values)
    return node


def canonical(node: Any, namer: ColumnNamer) -> str | None:
    """The canonical text of ``node`` with columns renamed by ``namer``; ``None`` if unresolved."""
    try:
        rewritten = _rewrite(node, namer)
    except LookupError:
        return None
    if isinstance(rewritten, ast.ColumnRef):
        return last_name(rewritten.fields)
    return deparse(rewritten)


def canonical_sql(text: str, text_columns: set[str]) -> str:
    """Canonical form of an expression written as SQL (from ``pg_get_indexdef``/``pg_get_expr``).

    Unqualified column names are assumed to belong to the one table the index is on;
    ``text_columns`` says which of them are text-like.
    """
    try:
        node = first_target(f"SELECT {text}")
    except Exception:  # an expression pglast cannot parse is compared verbatim
        return text

    def namer(ref: ast.ColumnRef) -> tuple[str, bool] | None:
        name = last_name(ref.fields)
        return (name, name in text_columns) if name else None

    return canonical(node, namer) or text


def literal(node: Any) -> Any:
    """The Python value of a constant (``'x'``, ``5``, ``'2024-01-01'::date``), else ``None``."""
    if isinstance(node, ast.TypeCast):
        return literal(node.arg)
    if isinstance(node, ast.A_Const) and not node.isnull and node.val is not None:
        value = node.val
        if isinstance(value, ast.String):
            return value.sval
        if isinstance(value, ast.Integer):
            return value.ival
        if isinstance(value, ast.Float):
            return float(value.fval or 0)
        if isinstance(value, ast.Boolean):
            return bool(value.boolval)
    return None


def pattern(node: Any) -> str | None:
    """The string of a LIKE pattern, looking through ``UPPER()``/``LOWER()`` and casts."""
    if isinstance(node, ast.FuncCall) and node.args and len(node.args) == 1:
        name = last_name(node.funcname)
        if name in ("upper", "lower"):
            inner = pattern(node.args[0])
            return None if inner is None else inner.upper() if name == "upper" else inner.lower()
    value = literal(node)
    return value if isinstance(value, str) else None
