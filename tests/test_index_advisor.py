"""The index advisor on a real server, both costing paths of the embedded PostgreSQL.

Without HypoPG the advisor either estimates from ``pg_stats`` (read-only, "not
validated") or, when allowed, builds each candidate in a rolled-back transaction. The
same table of schema + statement -> expected index (or no index and why) runs on both.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dbtune.advisors.indexes import advise
from dbtune.advisors.workload import Query, Workload
from dbtune.errors import DBTuneError
from tests.test_index_schema import CASES, Expected, check, scratch_database

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def dsn(pg_dsn: str) -> Iterator[str]:
    with scratch_database(pg_dsn, "dbtune_test_index_advisor") as url:
        yield url


def _index_names(dsn: str) -> list[str]:
    import psycopg

    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"
        )
        return [r[0] for r in rows]


@pytest.mark.parametrize(("workload", "expected", "options"), CASES)
def test_estimated(dsn: str, workload: str, expected: Expected, options: dict[str, Any]) -> None:
    result = advise(dsn, workload, **options)
    assert result.costing == "pg_stats estimate"
    assert all(not s.validated for s in result.suggestions)
    check(result, expected)


@pytest.mark.parametrize(("workload", "expected", "options"), CASES)
def test_transactional_builds(
    dsn: str, workload: str, expected: Expected, options: dict[str, Any]
) -> None:
    result = advise(dsn, workload, allow_index_builds=True, **options)
    assert result.costing == "transactional build"
    assert all(s.validated for s in result.suggestions)
    check(result, expected)


def test_builds_leave_the_database_unchanged(dsn: str) -> None:
    before = _index_names(dsn)
    advise(dsn, "SELECT * FROM customers WHERE email = $1", allow_index_builds=True)
    assert _index_names(dsn) == before


def test_infix_search_gets_a_trigram_index(dsn: str) -> None:
    result = advise(
        dsn,
        "SELECT * FROM customers WHERE UPPER(name::text) LIKE UPPER('%omer 4242%')",
        allow_index_builds=True,
    )
    (suggestion,) = result.suggestions
    assert suggestion.candidate.method == "gin"
    assert "gin_trgm_ops" in suggestion.sql
    assert suggestion.validated


def test_workload_level_deduplication(dsn: str) -> None:
    workload = """
        SELECT id FROM orders WHERE status = $1 ORDER BY created_at DESC LIMIT 20;
        SELECT id FROM orders WHERE status = 'paid' ORDER BY created_at DESC LIMIT 20;
        SELECT id FROM orders WHERE status = 'shipped' ORDER BY created_at DESC LIMIT 50;
        SELECT * FROM orders WHERE status = 'pending' AND created_at > now() - interval '1 hour';
    """
    result = advise(dsn, workload, allow_index_builds=True)
    orders = [s for s in result.suggestions if s.table == "orders"]
    assert len(orders) == 1, [s.candidate.label() for s in result.suggestions]
    assert orders[0].candidate.columns[:2] == ["status", "created_at"]
    assert len(orders[0].statements) >= 2
    assert any(
        "already served by orders(status, created_at" in r["reason"] for r in result.rejected
    )


def test_captured_values_plan_better_than_generic(dsn: str) -> None:
    generic = Query("SELECT * FROM customers WHERE created_at > $1")
    captured = Query("SELECT * FROM customers WHERE created_at > %s", params=[("2999-01-01",)])
    assert not advise(dsn, Workload([generic]), allow_index_builds=True).suggestions
    result = advise(dsn, Workload([captured]), allow_index_builds=True)
    assert [s.candidate.columns for s in result.suggestions] == [["created_at"]]


def test_null_parameters_are_never_planned(dsn: str) -> None:
    query = Query("SELECT * FROM customers WHERE email = $1", params=[(None,)])
    result = advise(dsn, Workload([query]))
    assert [s.candidate.columns for s in result.suggestions] == [["email"]]


def test_output_numbers_and_sql(dsn: str) -> None:
    result = advise(
        dsn, "SELECT * FROM customers WHERE email = 'user1@example.com'", allow_index_builds=True
    )
    (entry,) = result.to_json()["suggestions"]
    assert entry["sql"].startswith(
        'CREATE INDEX CONCURRENTLY "customers_email_idx" ON "public"."customers"'
    )
    assert entry["cost_before"] > 10 * entry["cost_after"] > 0
    assert entry["size_bytes"] > 100_000
    assert entry["validated"] is True
    assert entry["statements"] == ["SELECT * FROM customers WHERE email = 'user1@example.com'"]
    assert set(result.to_json()) >= {
        "suggestions",
        "unused_indexes",
        "duplicate_indexes",
        "skipped",
    }


def test_verify_measures_and_drops(dsn: str) -> None:
    before = _index_names(dsn)
    result = advise(
        dsn,
        "SELECT * FROM customers WHERE email = 'user77@example.com'",
        allow_index_builds=True,
        verify=True,
    )
    verification = result.suggestions[0].verification
    assert verification is not None
    assert verification["statements"][0]["uses_index"] is True
    assert verification["ms_after"] < verification["ms_before"]
    assert verification["buffers_after"] < verification["buffers_before"]
    assert _index_names(dsn) == before


def test_lab_builds_refused_on_a_server_the_lab_did_not_start(
    dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBTUNE_LAB_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DBTuneError, match="not a server the dbtune lab started"):
        advise(dsn, "SELECT * FROM customers WHERE email = $1", lab=True, use_hypopg=False)
    with pytest.raises(DBTuneError, match="--verify creates indexes"):
        advise(dsn, "SELECT * FROM customers WHERE email = $1", verify=True)


def test_unused_duplicate_and_invalid_indexes(dsn: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE INDEX tiny_code_a ON tiny (code)")
        conn.execute("CREATE INDEX tiny_code_b ON tiny (code)")
        conn.execute("CREATE INDEX tiny_code_id ON tiny (code, id)")
    try:
        result = advise(dsn, "SELECT 1")
        duplicates = {d["index"]: d for d in result.duplicate_indexes}
        assert duplicates["tiny_code_b"]["duplicate_of"] == "tiny_code_a"
        assert duplicates["tiny_code_a"]["kind"] == "prefix"
        assert duplicates["tiny_code_a"]["duplicate_of"] == "tiny_code_id"
        unused = {u["index"] for u in result.unused_indexes}
        assert "tiny_code_id" in unused
        assert "customers_pkey" not in unused
        assert all(
            u["sql"].startswith("DROP INDEX CONCURRENTLY IF EXISTS") for u in result.unused_indexes
        )
        assert all(u["migration"].startswith("migrations.RunSQL(") for u in result.unused_indexes)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("DROP INDEX tiny_code_a, tiny_code_b, tiny_code_id")


def test_pg_stat_statements_workload(dsn: str) -> None:
    import psycopg

    from dbtune.advisors.workload import PgStatStatements
    from dbtune.db import connect

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        conn.execute("SELECT pg_stat_statements_reset()")
        for i in range(5):
            conn.execute("SELECT * FROM customers WHERE email = %s", (f"user{i}@example.com",))
    with connect(dsn) as conn:
        workload = Workload().read(PgStatStatements(conn))
    (query,) = [q for q in workload.queries if "customers" in q.sql]
    assert query.calls == 5
    assert query.total_ms is not None
    assert "$1" in query.sql
    result = advise(dsn, workload)
    assert [s.candidate.columns for s in result.suggestions] == [["email"]]


def test_a_generic_statement_can_be_planned_again_and_again(dsn: str) -> None:
    """psycopg prepares a text run five times, and a prepared ``$1`` text then fails."""
    from dbtune.advisors.indexes.planning import Planner
    from dbtune.db import connect, server_version_num

    with connect(dsn) as conn:
        planner = Planner(conn, server_version_num(conn))
        costs = {planner.plan(["SELECT * FROM customers WHERE email = $1"]).cost for _ in range(8)}
    assert len(costs) == 1


def test_large_workloads_plan_in_two_sessions(dsn: str) -> None:
    workload = (
        ";\n".join(f"SELECT id AS c{i} FROM customers WHERE email = $1" for i in range(600))
        + ";\nSELECT * FROM customers WHERE nope = 1 AND email = 'x'"
    )
    result = advise(dsn, workload)
    (suggestion,) = result.suggestions
    assert suggestion.candidate.columns == ["email"]
    assert len(suggestion.statements) == 600
    assert [s["reason"][:11] for s in result.skipped] == ["cannot plan"]
