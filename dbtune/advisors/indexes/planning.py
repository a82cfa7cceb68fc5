"""Planning workload statements: ``EXPLAIN`` with real values when known, else a generic plan.

A statement with captured parameter values is planned with those values written in as
literals (a custom plan: real selectivities). Without values, ``$n`` text gets a generic
plan: ``EXPLAIN (GENERIC_PLAN)`` on PostgreSQL 16 and later, ``PREPARE`` with
``plan_cache_mode = force_generic_plan`` and ``EXPLAIN EXECUTE`` with placeholder values of
the right types before that. Parameters are never planned as NULL (``col = NULL`` folds to
an empty result and hides the real cost). Nothing is executed: plain ``EXPLAIN`` only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pglast.parser import ParseError, scan

from dbtune.advisors.workload import Params

MAX_PARAM_SETS = 2
GENERIC_VALUES = {
    "smallint": "0",
    "integer": "0",
    "bigint": "0",
    "numeric": "0",
    "real": "0",
    "double precision": "0",
    "boolean": "true",
    "text": "x",
    "character varying": "x",
    "character": "x",
    "date": "2000-01-01",
    "timestamp without time zone": "2000-01-01",
    "timestamp with time zone": "2000-01-01",
    "uuid": "00000000-0000-0000-0000-000000000000",
    "json": "{}",
    "jsonb": "{}",
    "interval": "1 day",
    "bytea": "",
}


class PlanError(Exception):
    """The server refused to plan a statement; the message is its first line."""


@dataclass
class PlanNode:
    node_type: str
    relation: str | None
    index: str | None
    total_cost: float
    rows: float
    loops: float


@dataclass
class Plan:
    cost: float
    indexes: set[str] = field(default_factory=set)
    nodes: list[PlanNode] = field(default_factory=list)


def substitute(sql: str, params: Params) -> str | None:
    """``sql`` with ``$n`` replaced by literals of ``params``; ``None`` if a value is NULL."""
    from psycopg import sql as pgsql

    try:
        tokens = [t for t in scan(sql) if t.name == "PARAM"]
    except ParseError:
        return None
    pieces, last = [], 0
    for token in tokens:
        number = int(sql[token.start + 1 : token.end + 1])
        if number > len(params) or params[number - 1] is None:
            return None
        value = params[number - 1]
        if isinstance(value, dict):
            value = json.dumps(value)
        try:
            literal = pgsql.Literal(value).as_string(None)
        except Exception:  # a value psycopg cannot write as SQL: plan generically
            return None
        pieces += [sql[last : token.start], literal]
        last = token.end + 1
    return "".join(pieces) + sql[last:]


def has_params(sql: str) -> bool:
    try:
        return any(t.name == "PARAM" for t in scan(sql))
    except ParseError:
        return False


def variants(sql: str, param_sets: list[Params]) -> list[str]:
    """Texts to plan: up to :data:`MAX_PARAM_SETS` with real values, else ``sql`` itself."""
    if not has_params(sql):
        return [sql]
    found = [t for t in (substitute(sql, p) for p in param_sets) if t is not None]
    return found[:MAX_PARAM_SETS] or [sql]


def _walk(node: dict[str, Any], loops: float) -> Iterator[PlanNode]:
    yield PlanNode(
        node_type=str(node.get("Node Type", "")),
        relation=node.get("Relation Name"),
        index=node.get("Index Name"),
        total_cost=float(node.get("Total Cost", 0.0)),
        rows=float(node.get("Plan Rows", 0.0)),
        loops=loops,
    )
    children = node.get("Plans") or []
    for position, child in enumerate(children):
        inner = loops
        if node.get("Node Type") == "Nested Loop" and position == 1 and children:
            inner = loops * max(1.0, float(children[0].get("Plan Rows", 1.0)))
        yield from _walk(child, inner)


def parse_plan(document: Any) -> Plan:
    if isinstance(document, str):
        document = json.loads(document)
    root = document[0]["Plan"]
    nodes = list(_walk(root, 1.0))
    return Plan(
        cost=float(root["Total Cost"]),
        indexes={n.index for n in nodes if n.index},
        nodes=nodes,
    )


class Planner:
    """Runs ``EXPLAIN (FORMAT JSON)`` for statements on one connection."""

    def __init__(self, conn: Any, version: int) -> None:
        self.conn = conn
        self.version = version
        self._prepared = 0
        self._arguments: dict[str, str] = {}

    def plan(self, texts: list[str]) -> Plan:
        """The mean cost over ``texts`` (variants of one statement) and every index used."""
        plans = [self._plan_one(text) for text in texts]
        merged = Plan(sum(p.cost for p in plans) / len(plans), nodes=plans[0].nodes)
        for plan in plans:
            merged.indexes |= plan.indexes
        return merged

    def _plan_one(self, text: str) -> Plan:
        import psycopg

        generic = has_params(text)
        try:
            if not generic:
                row = self.conn.execute(f"EXPLAIN (FORMAT JSON) {text}", prepare=False).fetchone()
            elif self.version >= 160000:
                row = self.conn.execute(
                    f"EXPLAIN (GENERIC_PLAN, FORMAT JSON) {text}", prepare=False
                ).fetchone()
            else:
                row = self._generic_before_16(text)
        except psycopg.Error as exc:
            message = str(exc).strip().splitlines()
            raise PlanError(message[0] if message else type(exc).__name__) from None
        return parse_plan(row[0])

    def _generic_before_16(self, text: str) -> Any:
        """``PREPARE`` + generic ``EXPLAIN EXECUTE`` in one round trip (types cached per text)."""
        if text not in self._arguments:
            self._arguments[text] = self._generic_arguments(text)
        self._prepared += 1
        name = f"dbtune_plan_{self._prepared}"
        cursor = self.conn.execute(
            f"PREPARE {name} AS {text}; SET plan_cache_mode = force_generic_plan; "
            f"EXPLAIN (FORMAT JSON) EXECUTE {name}{self._arguments[text]}; "
            f"RESET plan_cache_mode; DEALLOCATE {name}",
            prepare=False,
        )
        while cursor.description is None and cursor.nextset():
            pass
        return cursor.fetchone()

    def _generic_arguments(self, text: str) -> str:
        """``(v1, v2, ...)``: a non-NULL placeholder value of each parameter's type."""
        self._prepared += 1
        name = f"dbtune_plan_{self._prepared}"
        self.conn.execute(f"PREPARE {name} AS {text}", prepare=False)
        try:
            types = self.conn.execute(
                "SELECT parameter_types::text[] FROM pg_prepared_statements WHERE name = %s",
                (name,),
            ).fetchone()[0]
        finally:
            self.conn.execute(f"DEALLOCATE {name}")
        values = []
        for type_ in types:
            base = type_.removesuffix("[]")
            if base not in GENERIC_VALUES:
                raise PlanError(f"cannot plan a parameter of type {type_} generically")
            values.append("'{}'" if type_.endswith("[]") else f"'{GENERIC_VALUES[base]}'")
        return f"({', '.join(values)})" if values else ""
