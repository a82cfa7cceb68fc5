"""``dbtune plan affinity``: the planner's rules as a table of cases, then end to end on the lab."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.test import override_settings

from dbtune.checks import check_settings
from dbtune.cli import main
from dbtune.cli.options import parse_bytes
from dbtune.cli.plan import aliases_for
from dbtune.errors import DBTuneError
from dbtune.routing.coaccess import read_profile, resolve
from dbtune.routing.planner import Plan, TableLoad, plan_affinity
from tests.routing_db import scratch_db, wait_for_stats

MB = 1024 * 1024
R2 = ["r1", "r2"]


def t(name: str, mb: float, reads: float = 0.0) -> TableLoad:
    return TableLoad(name, int(mb * MB), reads)


def owner(plan: Plan, table: str) -> str:
    return plan.assignment[table]


# --- the planner's rules ---------------------------------------------------------------


def test_fits_in_cache_without_warnings() -> None:
    plan = plan_affinity([t("a", 1, 10), t("b", 1, 10), t("c", 1, 10)], R2, 4 * MB)
    assert plan.warnings == []
    assert all(r.hot_bytes <= r.cache_bytes for r in plan.replicas)
    assert sorted(plan.assignment) == ["a", "b", "c"]


def test_coaccessed_tables_stay_together() -> None:
    tables = [t("orders", 1, 50), t("items", 1, 40), t("products", 1, 45), t("users", 1, 5)]
    plan = plan_affinity(tables, R2, 4 * MB, [("items", "orders", 40.0)])
    assert owner(plan, "orders") == owner(plan, "items")
    assert owner(plan, "products") != owner(plan, "orders")
    assert [list(g.tables) for g in plan.groups if len(g.tables) > 1] == [["orders", "items"]]


def test_group_larger_than_cache_is_split_and_said() -> None:
    tables = [t("orders", 3, 50), t("items", 3, 40)]
    plan = plan_affinity(tables, R2, 4 * MB, [("items", "orders", 40.0)])
    assert owner(plan, "orders") != owner(plan, "items")
    assert plan.apart == [("items", "orders")]
    assert any("read together but do not fit one cache" in w for w in plan.warnings)


def test_read_load_is_balanced() -> None:
    tables = [t("a", 1, 40), t("b", 1, 30), t("c", 1, 20), t("d", 1, 10)]
    plan = plan_affinity(tables, R2, 10 * MB)
    assert [r.reads for r in plan.replicas] == [50, 50]


def test_big_rarely_read_table_does_not_attract_the_busy_ones() -> None:
    tables = [t("archive", 6, 1), t("hot1", 1, 50), t("hot2", 1, 50)]
    plan = plan_affinity(tables, R2, 8 * MB)
    assert sorted(r.reads for r in plan.replicas) == [50, 51]


def test_table_bigger_than_cache_is_warned_but_placed() -> None:
    plan = plan_affinity([t("huge", 5, 10), t("small", 1, 10)], R2, 4 * MB)
    assert owner(plan, "huge") != owner(plan, "small")
    assert plan.warnings[0].startswith("table huge (5 MB) alone exceeds one replica's cache (4 MB)")


def test_total_hot_set_beyond_capacity_asks_for_replicas_or_memory() -> None:
    tables = [t(name, 3, 10) for name in "abcd"]
    plan = plan_affinity(tables, R2, 4 * MB)
    message = next(w for w in plan.warnings if w.startswith("the hot set"))
    assert "exceeds 2 x 4 MB of cache" in message
    assert "at least 3 replicas, or at least 6 MB of cache each" in message
    assert sorted(plan.assignment) == ["a", "b", "c", "d"]


def test_fallbacks_owner_first_then_most_headroom() -> None:
    tables = [t("a", 3, 30), t("b", 1, 20), t("c", 1, 10)]
    plan = plan_affinity(tables, ["r1", "r2", "r3"], 4 * MB)
    assert plan.fallbacks == {
        "a": ["r1", "r3", "r2"],  # r2 and r3 have 3 MB left each; r3 is less busy
        "b": ["r2", "r3", "r1"],
        "c": ["r3", "r2", "r1"],
    }
    assert plan.default_replicas() == ["r3", "r2", "r1"]


def test_a_failed_replicas_tables_spread_by_headroom() -> None:
    tables = [t("q", 2, 60), t("p", 2, 59), t("a", 2, 30), t("b", 1, 30)]
    plan = plan_affinity(tables, ["r1", "r2", "r3"], 4 * MB)
    assert plan.replicas[2].tables == ["a", "b"]
    # r1 and r2 have 2 MB left each: a (largest) takes r2 (less busy), b then fits on r1
    assert plan.fallbacks["a"] == ["r3", "r2", "r1"]
    assert plan.fallbacks["b"] == ["r3", "r1", "r2"]


def test_tables_read_together_fail_over_together() -> None:
    tables = [t("x", 1, 30), t("y", 1, 30), t("z", 1, 30)]
    plan = plan_affinity(tables, ["r1", "r2", "r3"], 4 * MB, [("x", "y", 30.0)])
    assert plan.fallbacks["x"] == plan.fallbacks["y"]


def test_unread_tables_take_no_cache_but_are_assigned() -> None:
    plan = plan_affinity([t("log", 100, 0), t("a", 1, 10)], R2, 2 * MB)
    assert plan.warnings == []
    assert plan.tables["log"].hot_bytes == 0
    assert owner(plan, "log") != owner(plan, "a")
    assert plan.fallbacks["log"][0] == owner(plan, "log")


def test_one_replica_and_no_reads() -> None:
    plan = plan_affinity([t("a", 1), t("b", 2)], ["only"], 8 * MB)
    assert plan.fallbacks == {"a": ["only"], "b": ["only"]}
    assert plan.warnings == [
        "no reads recorded for any table (statistics reset?): tables are spread by size only"
    ]


# --- statements: reads and co-access -------------------------------------------------


def test_only_replica_reads_count_and_names_resolve() -> None:
    known = ["orders", "items", "stock.levels"]
    profile = read_profile(
        [
            ("SELECT * FROM orders o JOIN items i ON i.order_id = o.id", 100.0),
            ("SELECT * FROM orders WHERE id = $1 FOR UPDATE", 500.0),
            ("UPDATE orders SET total = 1", 500.0),
            ("SELECT count(*) FROM levels", 10.0),
            ("SELECT 1", 3.0),
        ],
        known,
    )
    assert dict(profile.reads) == {"orders": 50.0, "items": 50.0, "stock.levels": 10.0}
    assert profile.together(0.2) == [("items", "orders", 100.0)]
    assert (profile.statements, profile.skipped) == (2, 3)
    assert resolve("public_only", known) is None


def test_weak_coaccess_is_not_a_tie() -> None:
    profile = read_profile(
        [("SELECT * FROM a JOIN b ON true", 1.0), ("SELECT * FROM a", 99.0)], ["a", "b"]
    )
    assert profile.together(0.2) == [("a", "b", 1.0)]  # 100% of b's reads are joint
    profile = read_profile(
        [("SELECT * FROM a JOIN b ON true", 1.0), ("SELECT * FROM a", 99.0)]
        + [("SELECT * FROM b", 99.0)],
        ["a", "b"],
    )
    assert profile.together(0.2) == []


# --- options -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("512MB", 512 * MB), ("2GiB", 2048 * MB), ("1048576", MB), ("1.5GB", 1536 * MB)]
    + [("64kB", 65536), ("3 mib", 3 * MB)],
)
def test_cache_sizes(text: str, expected: int) -> None:
    assert parse_bytes(text, "--cache-bytes") == expected


@pytest.mark.parametrize("text", ["", "x", "12XB", "0", "-1MB", "1ib"])
def test_bad_cache_sizes(text: str) -> None:
    with pytest.raises(DBTuneError, match="--cache-bytes"):
        parse_bytes(text, "--cache-bytes")


@pytest.mark.parametrize(
    ("replicas", "aliases", "primary", "expected"),
    [
        (3, None, "default", ["replica_1", "replica_2", "replica_3"]),
        (2, "fast, slow", "default", ["fast", "slow"]),
        (0, None, "default", "--replicas 0 must be at least 1"),
        (2, "a,b,c", "default", "--aliases names 3 replicas but --replicas is 2"),
        (2, "a,a", "default", "names a replica twice"),
        (2, "a,b", "a", "--primary a is also named"),
    ],
    ids=["default-names", "named", "zero", "count-mismatch", "duplicate", "primary-as-replica"],
)
def test_alias_naming(replicas: int, aliases: str | None, primary: str, expected: Any) -> None:
    args = argparse.Namespace(replicas=replicas, aliases=aliases, primary=primary)
    if isinstance(expected, list):
        assert aliases_for(args) == expected
    else:
        with pytest.raises(DBTuneError, match=expected):
            aliases_for(args)


# --- on the lab ----------------------------------------------------------------------

SCHEMA = """
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO customers SELECT i, repeat('c', 50) FROM generate_series(1, 5000) i;
CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL, total int NOT NULL);
INSERT INTO orders SELECT i, i % 5000 + 1, i FROM generate_series(1, 20000) i;
CREATE TABLE order_items (id int PRIMARY KEY, order_id int NOT NULL, note text NOT NULL);
INSERT INTO order_items SELECT i, i % 20000 + 1, repeat('x', 40) FROM generate_series(1, 20000) i;
CREATE TABLE products (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO products SELECT i, repeat('p', 100) FROM generate_series(1, 8000) i;
CREATE TABLE audit_log (id int NOT NULL, message text NOT NULL);
INSERT INTO audit_log SELECT i, repeat('a', 100) FROM generate_series(1, 8000) i;
CREATE SCHEMA stock;
CREATE TABLE stock.levels (id int NOT NULL, n int NOT NULL);
INSERT INTO stock.levels SELECT i, i FROM generate_series(1, 1000) i;
CREATE TABLE events (id int NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO events SELECT i, date '2024-01-01' + i % 700 FROM generate_series(1, 5000) i;
"""


def _load_and_read(dsn: str) -> None:
    """The known schema, then reads: orders with order_items, products, customers, levels."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SCHEMA)
        conn.execute("VACUUM ANALYZE")
        for i in range(30):
            conn.execute(
                "SELECT count(*) FROM orders o JOIN order_items i ON i.order_id = o.id "
                "WHERE o.id < %s",
                (1000 + i,),
            )
        for _ in range(20):
            conn.execute("SELECT count(*) FROM products WHERE name LIKE %s", ("p%",))
            conn.execute("SELECT * FROM customers WHERE id = %s", (7,))
            conn.execute("SELECT count(*) FROM stock.levels")
            conn.execute("SELECT count(*) FROM events WHERE at > %s", ("2024-06-01",))


@pytest.fixture(scope="module")
def shop(pg_dsn: str) -> Iterator[str]:
    """A database with pg_stat_statements (inherited from the lab's template1)."""
    with scratch_db(pg_dsn, "dbtune_plan_affinity") as dsn:
        _load_and_read(dsn)
        yield dsn


@pytest.fixture(scope="module")
def shop_without_statements(pg_dsn: str) -> Iterator[str]:
    """The same database created from template0: no pg_stat_statements extension."""
    with scratch_db(pg_dsn, "dbtune_plan_affinity_statio", template="template0") as dsn:
        _load_and_read(dsn)
        wait_for_stats(dsn, "products")
        yield dsn


def plan_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[dict[str, Any], str]:
    assert main(["plan", "affinity", *args, "--format", "json"]) == 0
    out, err = capsys.readouterr()
    return json.loads(out), err


@pytest.mark.postgres
def test_plan_from_pg_stat_statements(shop: str, capsys: pytest.CaptureFixture[str]) -> None:
    document, err = plan_json(capsys, "--dsn", shop, "--replicas", "2", "--cache-bytes", "4MB")
    assert err == ""
    inputs = document["inputs"]
    assert inputs["read_source"] == inputs["coaccess_source"] == "pg_stat_statements"
    assert inputs["cache_bytes"] == 4 * MB
    assert inputs["cache_source"] == "--cache-bytes"
    placed = document["assignment"]
    assert set(placed) == {
        "audit_log",
        "customers",
        "events",
        "order_items",
        "orders",
        "products",
        "stock.levels",
    }  # fmt: skip  (partitions fold into their partitioned table)
    assert placed["orders"] == placed["order_items"]
    assert placed["products"] != placed["orders"]
    assert ["order_items", "orders"] in [sorted(group) for group in document["groups"]]
    tables = {row["table"]: row for row in document["tables"]}
    assert tables["audit_log"]["hot_bytes"] == 0 < tables["audit_log"]["total_bytes"]
    assert 1 * MB < tables["order_items"]["total_bytes"] < 3 * MB
    assert document["warnings"] == []
    assert all(replica["fits"] for replica in document["replicas"])
    assert document["routing"]["AFFINITY"] == document["fallbacks"]
    assert sum(r["read_share"] for r in document["replicas"]) == pytest.approx(1, abs=0.01)


@pytest.mark.postgres
def test_default_cache_is_shared_buffers_and_small_cache_warns(
    shop: str, capsys: pytest.CaptureFixture[str]
) -> None:
    document, _ = plan_json(capsys, "--dsn", shop, "--replicas", "1")
    assert document["inputs"]["cache_source"].startswith("shared_buffers of the server (")
    document, _ = plan_json(capsys, "--dsn", shop, "--replicas", "2", "--cache-bytes", "1.5MB")
    warnings = "\n".join(document["warnings"])
    assert "table order_items" in warnings
    assert "alone exceeds one replica's cache (1.5 MB)" in warnings
    assert "use at least 4 replicas" in warnings
    assert len(document["assignment"]) == 7


@pytest.mark.postgres
def test_django_output_passes_the_system_checks(
    shop: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["plan", "affinity", "--dsn", shop, "--replicas", "2", "--cache-bytes", "4MB"]
    assert main([*args, "--aliases", "replica_a,replica_b", "--format", "django"]) == 0
    snippet = capsys.readouterr().out
    namespace: dict[str, Any] = {}
    exec(compile(snippet, "<plan>", "exec"), namespace)
    routing = namespace["DBTUNE"]["ROUTING"]
    assert routing["PRIMARY"] == "default"
    assert routing["AFFINITY"]["orders"][0] == routing["AFFINITY"]["order_items"][0]
    assert sorted(routing["DEFAULT_REPLICAS"]) == ["replica_a", "replica_b"]
    with override_settings(DBTUNE=namespace["DBTUNE"]):
        errors = check_settings()
    assert {e.id for e in errors} == {"dbtune.E005"}  # the aliases are not in DATABASES yet
    for alias in ("replica_a", "replica_b"):
        monkeypatch.setitem(settings.DATABASES, alias, dict(settings.DATABASES["default"]))
    with override_settings(DBTUNE=namespace["DBTUNE"]):
        assert check_settings() == []


@pytest.mark.postgres
def test_text_output(shop: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "affinity", "--dsn", shop, "--replicas", "2", "--cache-bytes", "4MB"]) == 0
    text = capsys.readouterr().out
    assert "Expected hot set per replica" in text
    assert "read volume from pg_stat_statements" in text
    assert "cold: audit_log" in text
    assert 'DBTUNE = {\n    "ROUTING": {' in text


@pytest.mark.postgres
def test_without_pg_stat_statements_falls_back_to_statio(
    shop_without_statements: str, capsys: pytest.CaptureFixture[str]
) -> None:
    dsn = shop_without_statements
    document, err = plan_json(capsys, "--dsn", dsn, "--replicas", "2", "--cache-bytes", "4MB")
    assert err.count("\n") == 1
    assert "pg_stat_statements is not installed in this database" in err
    assert "pg_statio_user_tables" in err
    assert document["inputs"]["read_source"] == "pg_statio_user_tables"
    assert document["inputs"]["coaccess_source"] is None
    tables = {row["table"]: row for row in document["tables"]}
    assert tables["products"]["reads"] > 0
    assert tables["audit_log"]["hot_bytes"] == 0  # written, never scanned


@pytest.mark.postgres
def test_workload_file_gives_reads_and_coaccess(
    shop: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = tmp_path / "capture.jsonl"
    lines = [
        {"dbtune": "0.1.0", "kind": "capture"},
        {"sql": "SELECT * FROM customers c JOIN products p ON p.id = c.id WHERE c.id = %s",
         "calls": 50, "total_ms": 40.0, "vendor": "postgresql", "alias": "default"},
        {"sql": "SELECT * FROM orders WHERE id = %s", "calls": 50, "total_ms": 35.0},
        {"sql": "UPDATE audit_log SET message = %s", "calls": 9, "total_ms": 90.0},
    ]  # fmt: skip
    capture.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    document, err = plan_json(
        capsys, "--dsn", shop, "--replicas", "2", "--cache-bytes", "4MB", "--workload", str(capture)
    )
    assert err == ""
    assert document["inputs"]["read_source"] == "workload files"
    assert document["inputs"]["statements_used"] == 2
    placed = document["assignment"]
    assert placed["customers"] == placed["products"] != placed["orders"]
    hot = {row["table"] for row in document["tables"] if row["hot_bytes"]}
    assert hot == {"customers", "products", "orders"}


@pytest.mark.postgres
def test_schema_filter_keys_other_schemas_as_schema_table(
    shop: str, capsys: pytest.CaptureFixture[str]
) -> None:
    document, _ = plan_json(capsys, "--dsn", shop, "--replicas", "1", "--schema", "stock")
    assert document["assignment"] == {"stock.levels": "replica_1"}


@pytest.mark.postgres
def test_manage_py_database_alias(capsys: pytest.CaptureFixture[str]) -> None:
    from django.core.management import call_command

    call_command(
        "dbtune", "--database", "pg", "plan-affinity", "--replicas", "2", "--format", "json"
    )
    from django.db import connections

    document = json.loads(capsys.readouterr().out)
    # "postgres", or the test database once a django_db test has created it
    assert document["inputs"]["database"] == connections.settings["pg"]["NAME"]
    assert len(document["replicas"]) == 2


BAD_DSN = "postgresql://nobody@127.0.0.1:1/nowhere"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--dsn", BAD_DSN, "--replicas", "2"], "cannot connect to"),
        (["--dsn", BAD_DSN, "--replicas", "2", "--cache-bytes", "lots"], "--cache-bytes 'lots'"),
        (["--dsn", BAD_DSN, "--replicas", "0"], "--replicas 0 must be at least 1"),
        (["--dsn", BAD_DSN, "--replicas", "2", "--aliases", "a"], "--aliases names 1 replicas"),
        (["--dsn", BAD_DSN, "--replicas", "1", "--workload", "/nonexistent.jsonl"], "nonexist"),
        (["--replicas", "1"], "no database given"),
    ],
    ids=["bad-dsn", "bad-cache", "zero-replicas", "alias-count", "missing-workload", "no-dsn"],
)
def test_user_mistakes_are_one_line_exit_2(
    args: list[str],
    fragment: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DBTUNE_DSN", raising=False)
    assert main(["plan", "affinity", *args]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("dbtune: error: ")
    assert fragment in err


def test_bad_dsn_in_a_real_process_has_no_traceback() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "dbtune",
            "plan",
            "affinity",
            "--dsn",
            "not a dsn",
            "--replicas",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "invalid DSN" in result.stderr
