"""Tiny real runs on lab nodes: outputs, results.json schema and sanity (no timing thresholds)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pytest

from dbtune.bench import BenchOptions, check_results, read_results, run_scenario
from dbtune.bench.split.verdict import sweep

pytestmark = pytest.mark.postgres


def assert_outputs(out: Path, results: dict[str, Any]) -> None:
    assert check_results(results) == []
    assert read_results(out / "results.json")["answer"] == results["answer"]
    assert results["answer"] in (out / "report.md").read_text()
    assert html.escape(results["answer"]) in (out / "report.html").read_text()
    for plot in results["outputs"]["plots"]:
        assert (out / plot).stat().st_size > 1000
    assert results["scripts"]
    for script in results["scripts"]:
        assert (out / script).read_text().startswith("-- dbtune bench")
    assert results["commands"]
    assert all("-M prepared" in command for command in results["commands"])
    assert results["environment"]["cores"] >= 1
    assert results["environment"]["pgbench"].startswith("pgbench (PostgreSQL)")


def test_calibrate_tiny(tmp_path: Path) -> None:
    options = BenchOptions(
        quick=True,
        runs=1,
        duration_s=1,
        settings={"ratios": "0.5,2", "mixes": "select-only", "memory_limit": ""},
    )
    results = run_scenario("calibrate", tmp_path / "out", options=options)
    assert_outputs(tmp_path / "out", results)
    assert [p["variables"]["ratio"] for p in results["points"]] == [0.5, 2.0, 2.0]
    assert results["points"][-1]["variables"]["keys"] == "zipfian"
    assert results["data"]["memory_basis"].startswith("shared_buffers")
    node = results["points"][0]["runs"][0]["nodes"]["node"]
    assert node["blks_hit"] + node["blks_read"] > 0
    assert node["io"] is not None
    assert node["cpu_s"] is not None
    assert set(node["tables"]) == {"cal_accounts"}
    server = results["environment"]["servers"]["node"]
    assert server["server_version"]
    assert server["data_bytes"] > 0
    assert "sharpest drop" in results["answer"] or "keys:" in results["answer"]


def test_split_tiny(tmp_path: Path) -> None:
    options = BenchOptions(
        quick=True,
        runs=1,
        duration_s=1,
        settings={
            "memory": "24MB",
            "overhead": "48MB",
            "ratios": "0.5",
            "xs": "0,0.3",
            "skews": "equal",
            "grid_x": "0.3",
        },
    )
    out = tmp_path / "out"
    results = run_scenario("split", out, options=options)
    assert_outputs(out, results)
    assert set(results["topologies"]) == {"A", "B"}
    drivers = sorted((p["topology"], p["driver"]) for p in results["points"])
    assert drivers == [("A", "pgbench")] * 2 + [("A", "python")] * 2 + [("B", "python")] * 2
    b_point = next(p for p in results["points"] if p["topology"] == "B")
    assert set(b_point["runs"][0]["nodes"]) == {"b-customers", "b-catalog", "b-orders"}
    assert results["data"]["network"]["mode"] == "driver-delay"
    assert results["answer"].startswith("Splitting ")
    first = sweep(results)[0]
    a, b = first["a"]["summary"]["tps"]["median"], first["b"]["summary"]["tps"]["median"]
    assert f"{a:,.0f} vs {b:,.0f} tps at x = 0%" in results["answer"]
    assert not (out / "lab").exists()  # lab nodes are stopped and removed afterwards
