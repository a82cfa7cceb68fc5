"""The calibrate scenario's plots and tables, drawn from the results document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dbtune.bench.calibrate_report import MB, answer, hit, read_us, region, sweep, sweeps
from dbtune.bench.measure import median
from dbtune.bench.plots import Panel, Series, draw
from dbtune.bench.scenario import ScenarioReport
from dbtune.report import Image, Section, Table


def describe(results: dict[str, Any], out: Path) -> ScenarioReport:
    data, points = results["data"], results["points"]
    marks = [(data["shared_buffers_bytes"] / MB, "shared_buffers")]
    if data.get("memory_limit_bytes"):
        marks.append((data["memory_limit_bytes"] / MB, "memory limit"))

    def series(metric: Any, mix: str, keys: str) -> Series:
        chosen = sweep(points, mix, keys)
        xs = [p["variables"]["working_set_bytes"] / MB for p in chosen]
        values = [metric(p) for p in chosen]
        return Series(
            f"{mix}, {keys}",
            xs,
            [v[0] for v in values],
            [v[1] for v in values],
            [v[2] for v in values],
        )

    def ranged(*path: str) -> Any:
        def get(p: dict[str, Any]) -> tuple[float | None, ...]:
            entry: Any = p["summary"]
            for key in path:
                entry = (entry or {}).get(key)
            return (entry["median"], entry["min"], entry["max"]) if entry else (None,) * 3

        return get

    keys = sweeps(points)
    x = "working set (MB, log scale)"
    tps = Panel("Throughput", x, "tps", [series(ranged("tps"), *k) for k in keys], True)
    p95 = Panel(
        "p95 latency", x, "ms", [series(ranged("latency_ms", "p95"), *k) for k in keys], True
    )
    hits = Panel(
        "Buffer hit ratio",
        x,
        "hits / (hits + reads)",
        [series(ranged("nodes", "node", "hit_ratio"), *k) for k in keys],
        True,
        ylim=(0, 1.02),
    )
    reads = Panel(
        "Average time per block read",
        x,
        "microseconds",
        [series(lambda p: (read_us(p), None, None), *k) for k in keys],
        True,
    )
    for panel in (tps, p95, hits, reads):
        panel.vlines = marks
    plots = [
        Image(draw(out / "calibrate_throughput.png", [tps, p95]), "Throughput and p95 latency"),
        Image(draw(out / "calibrate_cache.png", [hits, reads]), "Hit ratio and read time"),
    ]
    rows: list[list[object]] = [
        [
            p["label"],
            round(p["variables"]["working_set_bytes"] / MB, 1),
            p["variables"]["actual_ratio"],
            median(p, "tps") or "-",
            median(p, "latency_ms", "p95") or "-",
            hit(p) if hit(p) is not None else "-",
            "-" if read_us(p) is None else round(read_us(p) or 0.0, 1),
            region(p),
        ]
        for p in points
    ]
    table = Table(
        [
            "point",
            "working set MB",
            "x memory",
            "tps",
            "p95 ms",
            "hit ratio",
            "us per read",
            "reads served by",
        ],
        rows,
    )
    size = data.get("sizing") or {}
    sizing_rows: list[list[object]] = [[k, "-" if v is None else v] for k, v in size.items()]
    sections = [
        Section("Sweeps", [table]),
        Section("Sizing for the other scenarios", [Table(["key", "value"], sizing_rows)]),
    ]
    return ScenarioReport(answer=answer(results), plots=plots, sections=sections)
