"""The ``replicas`` scenario: routing of each table, its report, and bad settings.

The real run is tiny (no timing thresholds): what it must show is *where* reads went.
Per-table counters of every replica prove that table-affine routing (pgbench oracle and
Django's :class:`~dbtune.routing.TableAffinityRouter`) keeps each table on its replica
while round-robin spreads every table over both.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from dbtune.bench import BenchOptions, run_scenario
from dbtune.bench.replicas.report import sanity, verdict
from dbtune.bench.replicas.scenario import owners, table_names
from tests.test_bench_cli import one_line_error
from tests.test_bench_run import assert_outputs


def reads(point: dict[str, Any], node: str) -> dict[str, int]:
    """Blocks touched per table on ``node`` over every run of ``point``."""
    found: dict[str, int] = {}
    for run in point["runs"]:
        for table, counters in run["nodes"][node]["tables"].items():
            touched = sum(counters[k] for k in ("heap_blks_hit", "heap_blks_read"))
            found[table] = found.get(table, 0) + touched
    return found


def test_owners_split_tables_with_fallbacks() -> None:
    tables = table_names(4)
    assert owners(tables) == {
        "rep_t1": ["replica1", "replica2"],
        "rep_t2": ["replica1", "replica2"],
        "rep_t3": ["replica2", "replica1"],
        "rep_t4": ["replica2", "replica1"],
    }


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("points=affine,bogus", "--set points"),
        ("tables=3", "--set tables must be an even number"),
        ("tables=many", "--set tables='many': give a number"),
        ("working_set=20", "--set working_set"),
        ("memory_limit=40MB", "--set memory_limit must exceed shared_buffers"),
        ("shared_buffers=lots", "shared_buffers"),
    ],
    ids=["unknown-point", "odd-tables", "not-a-number", "huge-working-set", "limit", "size"],
)
def test_bad_settings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, setting: str, message: str
) -> None:
    argv = ["bench", "run", "--scenario", "replicas", "--quick", "--out", str(tmp_path)]
    assert message in one_line_error(capsys, [*argv, "--set", setting])


def test_refuses_user_servers(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    argv = ["bench", "run", "--scenario", "replicas", "--out", str(tmp_path)]
    line = one_line_error(capsys, [*argv, "--dsn", "postgresql://x@127.0.0.1:1/x"])
    assert "takes no --dsn" in line or "--allow-writes" in line


def _results(ratio_tps: tuple[float, float], hits: tuple[float, float], limits: bool) -> Any:
    def point(name: str, tps: float, hit: float) -> dict[str, Any]:
        node = {"hit_ratio": {"median": hit, "min": hit, "max": hit}}
        summary = {"tps": {"median": tps}, "nodes": {"replica1": node, "replica2": node}}
        return {"id": name, "label": name, "summary": summary, "runs": []}

    return {
        "parameters": {"tables": 4},
        "data": {
            "memory_bytes": 85 * 2**20,
            "working_set_bytes": 83 * 2**20,
            "memory_limits": limits,
        },
        "points": [
            point("round-robin", ratio_tps[0], hits[0]),
            point("affine", ratio_tps[1], hits[1]),
        ],
    }


@pytest.mark.parametrize(
    ("tps", "hits", "limits", "expected"),
    [
        ((1000, 4000), (0.87, 0.998), True, "4.00x (meets the 2.5x target)"),
        ((1000, 2000), (0.87, 0.998), True, "2.00x (misses the 2.5x target)"),
        ((1000, 1300), (0.87, 0.999), False, "1.30x (meets the 1.2x target)"),
    ],
    ids=["limited-met", "limited-missed", "buffers-only-met"],
)
def test_verdict_is_computed_from_results(
    tps: tuple[float, float], hits: tuple[float, float], limits: bool, expected: str
) -> None:
    text = verdict(_results(tps, hits, limits))
    assert expected in text
    assert f"{hits[1]:.3f} on the affine replicas vs {hits[0]:.3f} round-robin" in text


def test_sanity_flags_affine_replicas_that_miss_their_cache() -> None:
    results = _results((1000, 3000), (0.8, 0.95), True)
    problems = sanity(results)
    assert len(problems) == 2
    assert "below 0.99" in problems[0]
    assert sanity(_results((1000, 3000), (0.8, 0.995), True)) == []
    assert copy.deepcopy(results) == results  # sanity never edits the document


@pytest.mark.postgres
def test_replicas_tiny_run_routes_each_table_to_its_replica(tmp_path: Path) -> None:
    options = BenchOptions(
        quick=True,
        runs=1,
        duration_s=2,
        settings={
            "shared_buffers": "16MB",
            "points": "round-robin,affine,django-affine",
            "keys_per_read": "3",
        },
    )
    out = tmp_path / "out"
    results = run_scenario("replicas", out, options=options)
    assert_outputs(out, results)
    points = {point["id"]: point for point in results["points"]}
    assert set(points) == {"round-robin", "affine", "django-affine"}
    affinity = results["data"]["affinity"]
    for name in ("affine", "django-affine"):
        assert points[name]["summary"]["failed"] == 0
        assert points[name]["summary"]["transactions"] > 0
        for node in ("replica1", "replica2"):
            touched = reads(points[name], node)
            mine = {t for t, order in affinity.items() if order[0] == node}
            assert {t for t, n in touched.items() if n} == mine, (name, node, touched)
    for node in ("replica1", "replica2"):
        touched = reads(points["round-robin"], node)
        assert all(touched[t] > 0 for t in affinity), touched
    assert "Table-affine reads reached" in results["answer"]
    assert "Through Django" not in results["answer"]  # no django-round-robin point ran
    assert (out / "replicas_tps.png").is_file()
    assert (out / "replicas_hit_ratio.png").is_file()


@pytest.mark.postgres
def test_memory_limit_needs_a_cgroup(lab: Any) -> None:
    from dbtune.errors import LabError

    assert not lab.memory_limits_active  # the session lab runs without limits
    with pytest.raises(LabError, match="runs without a memory cgroup"):
        lab.set_memory_limit("replica1", "100MB")


@pytest.mark.parametrize(
    ("given", "expected"),
    [(None, round(48 * 2**20 * 1.1) + 32 * 2**20), ("", None), ("100MB", 100 * 2**20)],
    ids=["default", "none", "given"],
)
def test_memory_limit_setting(tmp_path: Path, given: str | None, expected: int | None) -> None:
    from dbtune.bench.context import BenchContext
    from dbtune.bench.replicas.scenario import Plan

    settings = {} if given is None else {"memory_limit": given}
    ctx = BenchContext(out=tmp_path, options=BenchOptions(quick=True, settings=settings))
    assert Plan.from_context(ctx).memory_limit == expected
