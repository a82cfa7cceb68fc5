"""``dbtune routing stats`` on the lab's primary and two streaming replicas."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.core.management import call_command

from dbtune.cli import main
from dbtune.routing.stats import lsn_bytes
from tests.routing_db import scratch_db, wait_for_stats

pytestmark = [pytest.mark.postgres, pytest.mark.replicas]

DB = "dbtune_routing_stats"
BARE = "dbtune_routing_stats_bare"


def _fill(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE hot_items (id int PRIMARY KEY, name text NOT NULL);"
            "INSERT INTO hot_items SELECT i, repeat('h', 60) FROM generate_series(1, 10000) i;"
            "CREATE TABLE cold_items (id int NOT NULL);"
            "INSERT INTO cold_items SELECT generate_series(1, 100);"
        )


@pytest.fixture(scope="module")
def nodes(lab: Any) -> Iterator[dict[str, str]]:
    """DSNs of database DB on each node; hot_items was read on replica1 only."""
    with scratch_db(lab.primary.dsn(), DB):
        _fill(lab.primary.dsn(DB))
        lab.wait_for_replay()
        dsns = {"primary": lab.primary.dsn(DB)}
        dsns.update({node.name: node.dsn(DB) for node in lab.replicas})
        first = lab.replicas[0].name
        with psycopg.connect(dsns[first], autocommit=True) as conn:
            for _ in range(3):
                conn.execute("SELECT count(*) FROM hot_items WHERE name LIKE 'h%'")
            conn.execute("SELECT * FROM hot_items WHERE id = 5")
        wait_for_stats(dsns[first], "hot_items")
        yield dsns


def stats(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[dict[str, Any], str]:
    assert main(["routing", "stats", *args, "--format", "json"]) == 0
    out, err = capsys.readouterr()
    return json.loads(out), err


def node_args(dsns: dict[str, str]) -> list[str]:
    return [arg for name, dsn in dsns.items() for arg in ("--node", f"{name}={dsn}")]


def by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {node["name"]: node for node in document["nodes"]}


def tables_of(node: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {table["table"]: table for table in node["tables"]}


def test_reads_on_a_replica_show_on_that_replica(
    nodes: dict[str, str], lab: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    document, err = stats(capsys, *node_args(nodes))
    assert err == ""
    assert document["warnings"] == []
    found = by_name(document)
    assert all(node["buffercache"] for node in found.values())
    first, second = (node.name for node in lab.replicas)
    hot = tables_of(found[first])["hot_items"]
    assert hot["blocks_hit"] + hot["blocks_read"] > 0
    assert 0 < hot["hit_ratio"] <= 1
    assert hot["index_hit_ratio"] is not None  # the lookup by id used the primary key
    assert hot["resident_bytes"] > 0
    assert 0 < hot["resident_share"] <= 1
    assert hot["size_bytes"] > 500_000
    untouched = tables_of(found[second])["hot_items"]
    assert untouched["blocks_hit"] + untouched["blocks_read"] == 0
    assert untouched["hit_ratio"] is None
    assert untouched["resident_bytes"] is not None


def test_roles_and_lag(nodes: dict[str, str], lab: Any, capsys: pytest.CaptureFixture[str]) -> None:
    found = by_name(stats(capsys, *node_args(nodes))[0])
    primary = found["primary"]
    assert primary["role"] == "primary"
    assert primary["lag_seconds"] is None
    assert primary["replay_lsn"] is None
    assert lsn_bytes(primary["wal_lsn"]) > 0
    for replica in lab.replicas:
        node = found[replica.name]
        assert node["role"] == "replica"
        assert node["lag_seconds"] >= 0
        assert lsn_bytes(node["replay_lsn"]) > 0
        assert node["lag_bytes"] >= 0  # sampled after the primary: clamped, never negative


def test_a_delayed_replica_shows_its_lag(
    nodes: dict[str, str], lab: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    replica = lab.replicas[1].name
    lab.set_apply_delay(replica, 30)
    try:
        with psycopg.connect(nodes["primary"], autocommit=True) as conn:
            conn.execute("INSERT INTO cold_items VALUES (101)")
        pair = {"primary": nodes["primary"], replica: nodes[replica]}
        found = by_name(stats(capsys, *node_args(pair))[0])
    finally:
        lab.set_apply_delay(replica, 0)
        lab.wait_for_replay()
    assert found[replica]["lag_bytes"] > 0
    assert found[replica]["lag_seconds"] > 0


def test_filter_top_and_text(nodes: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    document, err = stats(capsys, *node_args(nodes), "--tables", "hot_items,nope")
    assert err == "dbtune: no table nope on any node\n"
    assert all([t["table"] for t in n["tables"]] == ["hot_items"] for n in document["nodes"])
    document, _ = stats(capsys, *node_args(nodes), "--top", "1")
    assert all(len(node["tables"]) == 1 for node in document["nodes"])
    assert main(["routing", "stats", *node_args(nodes)]) == 0
    text = capsys.readouterr().out
    assert "(replica): tables by blocks accessed" in text
    assert "hot_items" in text


def test_missing_pg_buffercache_is_null_and_one_warning(
    lab: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    with scratch_db(lab.primary.dsn(), BARE, template="template0"):
        _fill(lab.primary.dsn(BARE))
        lab.wait_for_replay()
        replica = lab.replicas[0]
        pair = {"primary": lab.primary.dsn(BARE), replica.name: replica.dsn(BARE)}
        document, err = stats(capsys, *node_args(pair))
    assert err.count("\n") == 1
    assert err.startswith("dbtune: pg_buffercache is not installed on primary (")
    assert replica.name in err
    assert len(document["warnings"]) == 1
    for node in document["nodes"]:
        assert node["buffercache"] is False
        assert node["buffercache_problem"] == "pg_buffercache is not installed"
        assert {t["resident_bytes"] for t in node["tables"]} == {None}
        assert {t["resident_share"] for t in node["tables"]} == {None}


def test_unreachable_nodes(nodes: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    bad = "postgresql://nobody@127.0.0.1:1/nowhere"
    assert main(["routing", "stats", "--dsn", bad]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("dbtune: error: cannot connect to")
    document, err = stats(capsys, "--node", f"primary={nodes['primary']}", "--node", f"gone={bad}")
    assert by_name(document)["gone"]["role"] == "unreachable"
    assert "gone is unreachable" in err


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--node", "no-equals-sign"], "is not NAME=DSN"),
        (["--node", "a=x", "--node", "a=y"], "two nodes are named alike"),
        (["--dsn", "postgresql://h:1/x", "--top", "-1"], "--top -1"),
        ([], "no node given"),
    ],
    ids=["node-syntax", "duplicate-names", "negative-top", "no-node"],
)
def test_usage_errors(
    args: list[str], fragment: str, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    monkeypatch.delenv("DBTUNE_DSN", raising=False)
    assert main(["routing", "stats", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert fragment in err


@pytest.mark.usefixtures("nodes")
def test_manage_py_uses_every_postgresql_alias(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("dbtune", "routing-stats", "--format", "json")
    found = by_name(json.loads(capsys.readouterr().out))
    assert "default" not in found  # SQLite aliases are not nodes
    assert found["pg"]["role"] == "primary"
    call_command("dbtune", "--database", "pg", "routing", "stats", "--format", "json", "--top", "0")
    assert list(by_name(json.loads(capsys.readouterr().out))) == ["pg"]
