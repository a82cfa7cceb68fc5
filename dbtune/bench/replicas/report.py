"""The ``replicas`` scenario's report: the verdict from the results alone, then plots.

Targets the issue set: table-affine reads at least 2.5x round-robin throughput when
memory cgroups bound each replica (1.2x when only ``shared_buffers`` does), and a buffer
hit ratio of at least 0.99 on the affine replicas.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dbtune.bench.measure import median
from dbtune.bench.plots import bars
from dbtune.bench.scenario import ScenarioReport
from dbtune.report import Image, Section, Table

TARGET_LIMITED = 2.5
TARGET_BUFFERS_ONLY = 1.2
TARGET_HIT_RATIO = 0.99


def _points(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {point["id"]: point for point in results["points"]}


def hit_ratios(point: dict[str, Any] | None) -> dict[str, float]:
    """Median buffer hit ratio per node of a point (nodes without one left out)."""
    if point is None:
        return {}
    found = {}
    for name in point["summary"].get("nodes", {}):
        value = median(point, "nodes", name, "hit_ratio")
        if value is not None:
            found[name] = value
    return found


def ratio(results: dict[str, Any], faster: str, slower: str) -> float | None:
    points = _points(results)
    if faster not in points or slower not in points:
        return None
    top, bottom = median(points[faster], "tps"), median(points[slower], "tps")
    return top / bottom if top and bottom else None


def target(results: dict[str, Any]) -> float:
    return TARGET_LIMITED if results["data"]["memory_limits"] else TARGET_BUFFERS_ONLY


def verdict(results: dict[str, Any]) -> str:
    points, data = _points(results), results["data"]
    memory = data["memory_bytes"] / 2**20
    bound = "a memory cgroup" if data["memory_limits"] else "shared_buffers only (no cgroup)"
    setting = (
        f"Two replicas, each bounded to {memory:,.0f} MB by {bound}; "
        f"{results['parameters']['tables']} tables, {data['working_set_bytes'] / 2**20:,.0f} MB "
        f"in all ({data['working_set_bytes'] / data['memory_bytes']:.1f}x one replica's memory)."
    )
    parts = [setting]
    pair = ratio(results, "affine", "round-robin")
    if pair is not None:
        hits_a = hit_ratios(points["affine"])
        hits_r = hit_ratios(points["round-robin"])
        met = "meets" if pair >= target(results) else "misses"
        parts.append(
            f"Table-affine reads reached {median(points['affine'], 'tps'):,.0f} tps against "
            f"{median(points['round-robin'], 'tps'):,.0f} tps round-robin: {pair:.2f}x "
            f"({met} the {target(results):g}x target). Buffer hit ratio "
            f"{_low(hits_a)} on the affine replicas vs {_low(hits_r)} round-robin"
            f"{'' if min(hits_a.values(), default=0) >= TARGET_HIT_RATIO else ' (below 0.99)'}."
        )
    if "primary" in points and pair is not None:
        parts.append(f"The primary alone: {median(points['primary'], 'tps'):,.0f} tps.")
    django = ratio(results, "django-affine", "django-round-robin")
    if django is not None:
        hits = hit_ratios(points["django-affine"])
        parts.append(
            f"Through Django with TableAffinityRouter: "
            f"{median(points['django-affine'], 'tps'):,.0f} tps vs "
            f"{median(points['django-round-robin'], 'tps'):,.0f} tps with a round-robin router "
            f"({django:.2f}x; the Python clients spend most of the CPU), hit ratio "
            f"{_low(hits)} on its replicas."
        )
    if len(parts) == 1:
        parts.append("No affine/round-robin pair was measured (see --set points).")
    return " ".join(parts)


def _low(hits: dict[str, float]) -> str:
    return f"{min(hits.values()):.3f}" if hits else "n/a"


def sanity(results: dict[str, Any]) -> list[str]:
    """Problems with the run itself: affine replicas that did not keep their tables hot."""
    problems = []
    for name in ("affine", "django-affine"):
        point = _points(results).get(name)
        for node, value in hit_ratios(point).items():
            if value < TARGET_HIT_RATIO:
                problems.append(
                    f"{name}: hit ratio {value:.4f} on {node} is below {TARGET_HIT_RATIO}; "
                    "its tables do not fit shared_buffers (lower --set working_set)"
                )
    return problems


def describe(results: dict[str, Any], out: Path) -> ScenarioReport:
    points = results["points"]
    labels = [point["id"] for point in points]
    tps_plot = bars(
        out / "replicas_tps.png",
        "Read throughput by routing",
        labels,
        {"tps (median)": [median(point, "tps") or 0.0 for point in points]},
        "tps",
    )
    nodes = sorted({name for point in points for name in hit_ratios(point)})
    hit_plot = bars(
        out / "replicas_hit_ratio.png",
        "Buffer hit ratio per node",
        labels,
        {node: [hit_ratios(point).get(node, 0.0) for point in points] for node in nodes},
        "hit ratio",
        (0, 1.05),
    )
    rows: list[list[object]] = []
    for point in points:
        hits = hit_ratios(point)
        latency = median(point, "latency_ms", "p95")
        rows.append(
            [
                point["label"],
                round(median(point, "tps") or 0.0),
                round(latency, 2) if latency is not None else "-",
                ", ".join(f"{n} {v:.3f}" for n, v in sorted(hits.items())),
                point["summary"]["failed"],
            ]
        )
    section = Section("Routing compared").add(
        Table(["point", "tps", "p95 ms", "hit ratio", "failed"], rows, numeric=False)
    )
    return ScenarioReport(
        answer=verdict(results),
        plots=[
            Image(tps_plot, "Median read throughput per routing"),
            Image(hit_plot, "Buffer hit ratio of each node per routing"),
        ],
        sections=[section],
    )
