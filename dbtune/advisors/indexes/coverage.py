"""Whether an existing index already serves what a candidate would serve.

Coverage is decided per access method, never by name, so Django's automatic indexes (the
foreign-key B-tree, the ``_like`` index with ``varchar_pattern_ops``, unique constraints)
count like any other:

- **B-tree** serves a B-tree candidate when the candidate's keys are a prefix of the index's
  keys; leading equality keys may come in any order, sort keys must keep their relative
  directions (or all be reversed), a ``LIKE 'prefix%'`` key needs a pattern operator class
  (or the C collation), and ``INCLUDE`` columns must be keys or included columns;
- **hash** serves a single-column equality candidate on the same column;
- **BRIN** and **GiST** serve a single-column equality or range candidate on their first key;
- **GIN/GiST trigram** indexes serve a trigram candidate on the same column or expression.

A partial index serves only candidates with the same predicate; invalid indexes serve
nothing.
"""

from __future__ import annotations

from dbtune.advisors.indexes.catalog import Catalog, ExistingIndex
from dbtune.advisors.indexes.model import Candidate

PATTERN_OPCLASSES = frozenset({"text_pattern_ops", "varchar_pattern_ops", "bpchar_pattern_ops"})
TRIGRAM_OPCLASSES = frozenset({"gin_trgm_ops", "gist_trgm_ops"})


def serving_index(candidate: Candidate, indexes: list[ExistingIndex]) -> ExistingIndex | None:
    """The first valid index in ``indexes`` that serves ``candidate``, if any."""
    for index in indexes:
        if index.valid and serves(index, candidate):
            return index
    return None


def serves(index: ExistingIndex, candidate: Candidate) -> bool:
    if index.predicate is not None and index.predicate != candidate.where:
        return False
    if candidate.method == "gin":
        return _trigram(index, candidate)
    if index.method == "btree":
        return _btree(index, candidate)
    if len(candidate.keys) != 1 or candidate.include or not index.keys:
        return False
    key, role = candidate.keys[0], (candidate.roles or ("eq",))[0]
    if index.keys[0] != key.expr or key.opclass:
        return False
    if index.method == "hash":
        return role == "eq" and len(index.keys) == 1
    if index.method in ("brin", "gist"):
        return role in ("eq", "range")
    return False


def _btree(index: ExistingIndex, candidate: Candidate) -> bool:
    width = len(candidate.keys)
    if len(index.keys) < width:
        return False
    roles = candidate.roles or ("eq",) * width
    equal = candidate.eq_width
    if {k.expr for k in candidate.keys[:equal]} != set(index.keys[:equal]):
        return False
    for position in range(equal, width):
        if candidate.keys[position].expr != index.keys[position]:
            return False
    for position, key in enumerate(candidate.keys):
        opclass = index.opclasses[position] if position < len(index.opclasses) else ""
        if key.opclass in PATTERN_OPCLASSES and opclass not in PATTERN_OPCLASSES:
            return False
        if roles[position] in ("sort", "range") and opclass in PATTERN_OPCLASSES:
            return False
    wanted = [
        (k.desc, k.nulls_are_first)
        for k, r in zip(candidate.keys, roles, strict=False)
        if r == "sort"
    ]
    if wanted:
        have = [_order(index, p) for p, r in enumerate(roles[:width]) if r == "sort"]
        if have != wanted and have != [(not d, not n) for d, n in wanted]:
            return False
    available = set(index.keys) | set(index.include)
    return set(candidate.include) <= available


def _order(index: ExistingIndex, position: int) -> tuple[bool, bool]:
    """``(descending, nulls first)`` of an existing index's key."""
    desc = index.desc[position] if position < len(index.desc) else False
    nulls = index.nulls_first[position] if position < len(index.nulls_first) else desc
    return desc, nulls


def _trigram(index: ExistingIndex, candidate: Candidate) -> bool:
    if index.method not in ("gin", "gist"):
        return False
    wanted = candidate.keys[0].expr
    return any(
        key == wanted
        and position < len(index.opclasses)
        and index.opclasses[position] in TRIGRAM_OPCLASSES
        for position, key in enumerate(index.keys)
    )


UNORDERED_TYPES = ("point", "line", "lseg", "box", "path", "polygon", "circle", "json", "xml")
"""Types without a default B-tree operator class: no B-tree index on them."""


def cannot_build(candidate: Candidate, catalog: Catalog) -> str | None:
    """Why PostgreSQL would refuse ``CREATE INDEX`` for the candidate, or ``None``."""
    relation = catalog.resolve(*candidate.table)
    columns = relation.columns if relation is not None else {}
    for key in candidate.keys:
        if key.is_expr:
            for name in function_names(key.expr):
                if catalog.immutable(name) is False:
                    return f"{name}() is not IMMUTABLE, so PostgreSQL cannot index {key.expr}"
            continue
        column = columns.get(key.expr)
        if candidate.method == "btree" and column is not None:
            base = column.type.split("(")[0].strip()
            if base in UNORDERED_TYPES:
                return f"type {column.type} of {key.expr} has no B-tree operator class"
    return None


def function_names(expression: str) -> list[str]:
    from pglast import ast

    from dbtune.advisors.indexes import exprs

    try:
        node = exprs.first_target(f"SELECT {expression}")
    except Exception:  # unparsable: leave the decision to the server
        return []
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, ast.FuncCall):
            found.append(exprs.last_name(value.funcname))
        if isinstance(value, tuple | list):
            for item in value:
                walk(item)
        elif isinstance(value, ast.Node):
            for name in exprs.slots(value):
                walk(getattr(value, name, None))

    walk(node)
    return found
