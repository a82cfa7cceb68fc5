"""Find SELECTs that no index can serve: EXPLAIN with ``enable_seqscan = off``.

With sequential scans disabled the planner still picks a ``Seq Scan`` only when no index
path exists for that table, so a filtered ``Seq Scan`` in such a plan is a filter no index
can serve. Each statement is explained inside ``transaction.atomic`` that is rolled back,
on the test's own connection (so the test's rows and transaction are visible), with the
captured parameters; nothing is stored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

_LITERAL = re.compile(r"'(?:[^']|'')*'")
_CAST = re.compile(r"::\s*\"?[a-z_][a-z0-9_ ]*\"?(?:\(\d+(?:,\s*\d+)?\))?(?:\[\])?", re.I)
_COLUMN = re.compile(r"\b([a-z_][a-z0-9_]*)\)*\s*(?:=|<>|<=|>=|<|>|!?~~\*?|IS\b)", re.I)
_SKIP = frozenset({"and", "or", "not", "true", "false", "null", "upper", "lower"})


@dataclass(frozen=True)
class SeqScan:
    alias: str
    table: str
    columns: tuple[str, ...]
    filter: str
    callsite: str | None
    sql: str

    def message(self) -> str:
        cols = ", ".join(self.columns) or "?"
        where = f" at {self.callsite}" if self.callsite else ""
        return (
            f"sequential scan on {self.table} filtering on ({cols}){where}: no index can serve "
            f"Filter: {self.filter}; add an index on {self.table}({cols}) "
            "(`dbtune advise indexes` suggests the exact one)"
        )


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def filter_columns(expression: str) -> tuple[str, ...]:
    """Column names compared in a plan's ``Filter`` text, in order of appearance."""
    cleaned = _CAST.sub("", _LITERAL.sub("?", expression))
    names = [m.group(1) for m in _COLUMN.finditer(cleaned)]
    return tuple(dict.fromkeys(n for n in names if n.lower() not in _SKIP))


def explain_filtered_seqscans(events: Iterable[Any]) -> list[SeqScan]:
    """EXPLAIN each distinct PostgreSQL SELECT among ``events`` (which must carry params)."""
    from django.db import connections, transaction

    found: list[SeqScan] = []
    seen: set[tuple[str, str]] = set()
    for event in events:
        if event.vendor != "postgresql" or event.kind != "select" or event.many:
            continue
        if event.error or (event.alias, event.fingerprint) in seen:
            continue
        seen.add((event.alias, event.fingerprint))
        connection = connections[event.alias]
        with transaction.atomic(using=event.alias), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN (FORMAT JSON) " + event.sql, event.params)
            row = cursor.fetchone()
            transaction.set_rollback(True, using=event.alias)
        document = row[0] if row else []
        if isinstance(document, str):
            document = json.loads(document)
        for node in _nodes(document[0]["Plan"]) if document else ():
            if node.get("Node Type") == "Seq Scan" and node.get("Filter"):
                found.append(
                    SeqScan(
                        event.alias,
                        str(node.get("Relation Name")),
                        filter_columns(str(node["Filter"])),
                        str(node["Filter"]),
                        event.callsite,
                        event.normalized,
                    )
                )
    return found
