"""``dbtune demo`` end to end on a small shop (the quick benchmark step left out)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dbtune.demo_summary import summary_section
from dbtune.report import Table

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.postgres
def test_demo_writes_report_with_per_page_counts(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "dbtune", "demo", "--out", str(out), "--scale", "0.05"]
        + ["--replicas", "1", "--skip", "bench", "--skip", "replicas"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    html = (out / "report.html").read_text()
    assert "Queries per page" in html
    assert "What dbtune found" in html
    data = json.loads((out / "results.json").read_text())
    pages = {p["page"]: p for p in data["pages"]}
    assert len(pages) == 9
    assert all(p["status"] == 200 for p in pages.values())
    assert all(p["queries_fixed"] <= p["queries"] for p in pages.values())
    assert pages["orders"]["queries"] > pages["orders"]["queries_fixed"]
    assert data["nplusone_fixed_findings"] == 0
    fixes = {(f["model"], f["field"], f["fix"]) for f in data["nplusone"]}
    assert ("orders.Order", "customer", 'select_related("customer")') in fixes
    assert ("catalog.Product", "tags", 'prefetch_related("tags")') in fixes
    suggested = {(s["table"], s["columns"][0]) for s in data["indexes"]["suggestions"]}
    planted = {("orders_legacyorderlog", "status"), ("orders_order", "status")}
    assert suggested & planted  # which one pays off on a tiny shop depends on costing
    assert "orders_legacyorderlog" in {t["table"] for t in data["columns"]["tables"]}
    assert "report.html" in result.stdout
    assert "lab stopped" in result.stderr or "stopping the lab" in result.stderr


def test_summary_lists_only_steps_that_ran() -> None:
    pages = [{"queries": 10, "queries_fixed": 2, "ms": 5.0, "ms_fixed": 1.0}]
    section = summary_section({"pages": pages, "nplusone": [{}], "nplusone_fixed_findings": 0})
    (table,) = section.blocks
    assert isinstance(table, Table)
    labels = [row[0] for row in table.rows]
    assert labels == ["queries on the shop's pages", "N+1 patterns, each with its fix"]
    assert "10 as written -> 2 with the fixes" in str(table.rows[0][1])


def test_summary_shows_replica_hit_ratios() -> None:
    replicas = {
        "ratio": 4.16,
        "tps": {"affine": 12821.0, "round-robin": 3084.0},
        "hit_ratio": {
            "affine": {"replica1": 0.9984, "replica2": 0.998},
            "round-robin": {"replica1": 0.8682, "replica2": 0.8679},
        },
        "memory_limits": True,
    }
    (table,) = summary_section({"replicas": replicas}).blocks
    assert isinstance(table, Table)
    assert table.rows == [
        [
            "replica reads, table-affine vs round-robin",
            "12,821 vs 3,084 tps (4.2x); buffer hit ratio 0.998 vs 0.868 (memory cgroups)",
        ]
    ]


def test_every_registered_step_can_be_skipped() -> None:
    from dbtune.cli import build_parser
    from dbtune.demo import STEPS

    parser = build_parser()  # registers the built-in steps
    names = [step.name for step in STEPS]
    assert {"pages", "indexes", "columns", "bench", "replicas"} <= set(names)
    argv = ["demo"] + [arg for name in names for arg in ("--skip", name)]
    assert parser.parse_args(argv).skip == names
