"""``--verify``: measure the suggestions for real on a lab server, then take them away.

In one transaction that is always rolled back: run every affected statement with
``EXPLAIN (ANALYZE, BUFFERS)`` (twice, the warm run counts), create all suggested indexes,
``ANALYZE`` their tables (expression indexes need statistics), run the statements again.
Each statement runs inside a savepoint that is rolled back, so DML changes nothing.
Statements whose ``$n`` parameters have no captured values cannot run and are listed as
not measured.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from dbtune.advisors.indexes import ddl
from dbtune.advisors.indexes.planning import has_params
from dbtune.errors import DBTuneError

if TYPE_CHECKING:
    from dbtune.advisors.indexes.advisor import Advisor
    from dbtune.advisors.indexes.result import AdviceResult


def check_allowed(advisor: Advisor) -> None:
    from dbtune.advisors.indexes.labcheck import lab_node
    from dbtune.db import redact

    options = advisor.options
    if options.allow_index_builds:
        return
    if not options.lab or lab_node(advisor.dsn, advisor.conn, options.lab_dirs) is None:
        raise DBTuneError(
            f"--verify creates indexes; {redact(advisor.dsn)} is not a server the dbtune lab "
            "started (use --lab on a lab server, or --allow-index-builds)"
        )


def _measure(conn: Any, text: str) -> tuple[float, int, set[str]]:
    best: tuple[float, int, set[str]] | None = None
    for _ in range(2):
        with conn.transaction(force_rollback=True):
            row = conn.execute(
                f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {text}", prepare=False
            ).fetchone()
        document = row[0] if not isinstance(row[0], str) else json.loads(row[0])
        plan = document[0]["Plan"]
        buffers = int(plan.get("Shared Hit Blocks", 0)) + int(plan.get("Shared Read Blocks", 0))
        indexes = _indexes(plan)
        measured = (float(document[0]["Execution Time"]), buffers, indexes)
        if best is None or measured[0] < best[0]:
            best = measured
    assert best is not None
    return best


def _indexes(node: dict[str, Any]) -> set[str]:
    found = {str(node["Index Name"])} if "Index Name" in node else set()
    for child in node.get("Plans") or []:
        found |= _indexes(child)
    return found


def run(advisor: Advisor, result: AdviceResult) -> None:
    """Fill each suggestion's ``verification`` with measured times and buffers."""
    import psycopg

    from dbtune.db import connect

    check_allowed(advisor)
    if not result.suggestions:
        return
    by_sql = {s.query.sql: s for s in advisor.statements.values()}
    options = advisor.options
    with connect(
        advisor.dsn, read_only=False, statement_timeout_ms=options.statement_timeout_ms
    ) as conn:
        runnable: dict[str, str] = {}
        for suggestion in result.suggestions:
            for cost in suggestion.statements:
                statement = by_sql.get(cost.sql)
                if statement is not None and not has_params(statement.texts[0]):
                    runnable[cost.sql] = statement.texts[0]
        with conn.transaction(force_rollback=True):
            conn.execute(f"SET LOCAL lock_timeout = {int(options.lock_timeout_ms)}")
            before = {sql: _measure(conn, text) for sql, text in runnable.items()}
            try:
                for suggestion in result.suggestions:
                    conn.execute(ddl.create_index(suggestion.candidate, suggestion.name))
                for table in {s.candidate.table for s in result.suggestions}:
                    conn.execute(f"ANALYZE {ddl.qualified(*table)}")
            except psycopg.Error as exc:
                raise DBTuneError(
                    f"--verify could not create the indexes: {str(exc).splitlines()[0]}"
                ) from None
            after = {sql: _measure(conn, text) for sql, text in runnable.items()}
    for suggestion in result.suggestions:
        rows: list[dict[str, Any]] = []
        for cost in suggestion.statements:
            if cost.sql not in runnable:
                rows.append(
                    {
                        "sql": cost.sql,
                        "measured": False,
                        "reason": "no parameter values to run it with",
                    }
                )
                continue
            (ms_b, buf_b, _), (ms_a, buf_a, used) = before[cost.sql], after[cost.sql]
            rows.append(
                {
                    "sql": cost.sql,
                    "measured": True,
                    "ms_before": ms_b,
                    "ms_after": ms_a,
                    "buffers_before": buf_b,
                    "buffers_after": buf_a,
                    "uses_index": suggestion.name in used,
                }
            )
        measured = [r for r in rows if r["measured"]]
        ms_before = sum(r["ms_before"] for r in measured)
        ms_after = sum(r["ms_after"] for r in measured)
        suggestion.verification = {
            "ms_before": round(ms_before, 3),
            "ms_after": round(ms_after, 3),
            "buffers_before": sum(r["buffers_before"] for r in measured),
            "buffers_after": sum(r["buffers_after"] for r in measured),
            "speedup": round(ms_before / ms_after, 1) if ms_after > 0 else None,
            "statements": rows,
        }
