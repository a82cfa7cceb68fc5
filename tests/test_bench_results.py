"""results.json sanity checks and reports rendered from synthetic results (no server)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from dbtune.bench import SCHEMA, check_results, summary_section
from dbtune.bench.measure import summarise
from dbtune.bench.runner import render
from dbtune.report import Paragraph


def run(tps: float, p95: float = 2.0, hits: dict[str, float] | None = None) -> dict[str, Any]:
    nodes = {
        name: {"hit_ratio": ratio, "cpu_s": 1.0, "blks_read": 10, "tables": {}}
        for name, ratio in (hits or {"a": 0.99}).items()
    }
    return {
        "run": 1,
        "tps": tps,
        "transactions": int(tps * 2),
        "failed": 0,
        "error": None,
        "client_cpu_s": 0.5,
        "duration_s": 2,
        "latency_ms": {
            "avg": 1.0,
            "stddev": 0.5,
            "p50": 0.9,
            "p95": p95,
            "p99": p95 + 1,
            "max": p95 + 5,
        },
        "nodes": nodes,
    }


def point(
    topology: str, driver: str, variables: dict[str, Any], *runs: dict[str, Any]
) -> dict[str, Any]:
    ident = f"{topology}-{driver}-" + "-".join(f"{k}{v}" for k, v in variables.items())
    return {
        "id": ident,
        "label": ident,
        "topology": topology,
        "driver": driver,
        "variables": variables,
        "cache": "warm",
        "runs": list(runs),
        "summary": summarise(list(runs)),
    }


def split_results(b_factor: float) -> dict[str, Any]:
    """A split run where B reaches ``b_factor`` of A at x=0, falling 10 points per 10% of x."""
    points = []
    a_hits, b_hits = {"a": 0.98}, {"b-orders": 0.9, "b-customers": 0.95, "b-catalog": 0.96}
    for x in (0.0, 0.1, 0.3):
        variables = {"cross_fraction": x, "skew": "equal", "working_set_ratio": 0.5}
        a_tps = 4000.0 - 1000 * x
        b_tps = a_tps * (b_factor - x)
        points.append(
            point("A", "python", variables, run(a_tps, hits=a_hits), run(a_tps + 50, hits=a_hits))
        )
        points.append(
            point("B", "python", variables, run(b_tps, 3.0, b_hits), run(b_tps, 3.2, b_hits))
        )
        points.append(point("A", "pgbench", variables, run(a_tps * 2.5, hits=a_hits)))
    for skew, ratio in (("equal", 2.0), ("hot", 0.5), ("hot", 2.0)):
        variables = {"cross_fraction": 0.1, "skew": skew, "working_set_ratio": ratio}
        points.append(point("A", "python", variables, run(3000.0, hits=a_hits)))
        points.append(point("B", "python", variables, run(2500.0, hits=b_hits)))
    return {
        "schema": SCHEMA,
        "scenario": "split",
        "title": "scale-up vs split per service",
        "mode": "quick",
        "started_at": "2025-01-01T00:00:00+00:00",
        "duration_s": 90.0,
        "parameters": {
            "cache_memory_bytes": 96 * 2**20,
            "cross_fractions": [0.0, 0.1, 0.3],
            "sweep_working_set_ratio": 0.5,
            "working_set_ratios": [0.5, 2.0],
            "grid_cross_fraction": 0.1,
            "skews": ["equal", "hot"],
        },
        "environment": {"cores": 2, "memory_bytes": 2**34, "servers": {}},
        "topologies": {
            "A": {"label": "scale-up", "instances": 1, "memory_bytes": 128 * 2**20},
            "B": {"label": "split", "instances": 3, "memory_bytes": 192 * 2**20},
        },
        "points": points,
        "data": {"network": {"rtt_ms": 0.5, "netem_probe": "tc netem unavailable"}},
        "scripts": [],
        "commands": [],
        "problems": [],
        "answer": "",
    }


def test_a_sane_document_has_no_problems(tmp_path: Path) -> None:
    results = split_results(0.8)
    render(results, tmp_path)
    assert check_results(results) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda r: r["points"][0]["runs"][0].update(tps=0.0), "is not positive"),
        (lambda r: r["points"][0]["runs"][0]["latency_ms"].update(p95=99.0), "out of order"),
        (lambda r: r["points"][0]["runs"][0]["latency_ms"].pop("p99"), "percentiles missing"),
        (lambda r: r["points"][0]["runs"][0]["nodes"]["a"].update(hit_ratio=1.2), "outside [0, 1]"),
        (lambda r: r["points"][0].update(topology="C"), "unknown topology"),
        (lambda r: r["points"][0].update(runs=[]), "no runs"),
        (lambda r: r.pop("environment"), "missing key 'environment'"),
        (lambda r: r.update(answer=" "), "empty answer"),
    ],
    ids=[
        "zero-tps",
        "unordered",
        "missing-p99",
        "hit-ratio",
        "topology",
        "no-runs",
        "missing-key",
        "empty-answer",
    ],
)
def test_insane_documents_are_reported(change: Any, problem: str) -> None:
    results = copy.deepcopy(split_results(0.8))
    results["answer"] = "an answer"
    change(results)
    assert any(problem in found for found in check_results(results))


def test_split_report_states_the_answer_first_from_the_numbers(tmp_path: Path) -> None:
    results = split_results(0.8)
    render(results, tmp_path)
    answer = results["answer"]
    assert answer.startswith("Splitting lost at every measured x from 0% to 30% (B at ")
    assert "A vs B: 4,025 vs 3,200 tps at x = 0%" in answer  # medians of the x = 0 runs
    assert "B won clearly in none." in answer
    markdown = (tmp_path / "report.md").read_text()
    first_section = markdown.split("\n## ")[1]
    assert first_section.startswith("Answer")
    assert answer in first_section
    assert "![" in first_section  # the plots follow the answer
    for name in ("split_cross_fraction.png", "split_working_set.png", "split_hit_ratio.png"):
        assert (tmp_path / name).stat().st_size > 1000
    html = (tmp_path / "report.html").read_text()
    assert "data:image/png;base64," in html
    assert html.index("Answer") < html.index("Conditions of the run")


def test_split_answer_names_the_crossover_when_b_wins_at_small_x(tmp_path: Path) -> None:
    results = split_results(1.1)
    render(results, tmp_path)
    answer = results["answer"]
    assert answer.startswith("Splitting lost at x = 30% (B at ")
    assert "won at x = 0% (B at 109% of A's throughput)" in answer
    assert "tied (run ranges overlapping) at x = 10%" in answer
    assert "The medians cross at x = " in answer
    assert "B won clearly at x = 0%, equal skew, 0.5x M (109% of A)." in answer


def test_summary_section_for_the_demo(tmp_path: Path) -> None:
    results = split_results(0.8)
    render(results, tmp_path)
    section = summary_section(results)
    assert section.title.startswith("Benchmark: ")
    first = section.blocks[0]
    assert isinstance(first, Paragraph)
    assert first.text == results["answer"]
