"""The split scenario's report: answer first, then the plots and tables that support it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dbtune.bench.measure import median
from dbtune.bench.plots import Panel, Series, bars, draw
from dbtune.bench.scenario import ScenarioReport
from dbtune.bench.split.verdict import conditions, grid, p95, pct, sweep, tps, verdict
from dbtune.report import Image, Section, Table


def describe(results: dict[str, Any], out: Path) -> ScenarioReport:
    answer = verdict(results) + " " + conditions(results)
    rows, cells = sweep(results), grid(results)
    xs = [row["x"] for row in rows]

    def series(key: str, label: str, metric: tuple[str, ...], dashed: bool = False) -> Series:
        entries = [((row[key] or {}).get("summary") or {}) for row in rows]
        picked = [_dig(e, metric) for e in entries]
        return Series(
            label,
            xs,
            [v[0] for v in picked],
            [v[1] for v in picked],
            [v[2] for v in picked],
            dashed,
        )

    tps_panel = Panel(
        "Throughput vs cross-service fraction",
        "operations spanning services",
        "tps",
        [
            series("a", "A scale-up (driver)", ("tps",)),
            series("b", "B split (driver)", ("tps",)),
            series("ref", "A scale-up (pgbench)", ("tps",), True),
        ],
        percent_x=True,
    )
    p95_panel = Panel(
        "p95 latency vs cross-service fraction",
        "operations spanning services",
        "ms",
        [
            series("a", "A scale-up (driver)", ("latency_ms", "p95")),
            series("b", "B split (driver)", ("latency_ms", "p95")),
        ],
        percent_x=True,
    )
    plots = [
        Image(
            draw(out / "split_cross_fraction.png", [tps_panel, p95_panel]),
            "Throughput and p95 latency vs the fraction of operations spanning services",
        )
    ]
    if cells:
        plots.append(
            Image(
                _grid_plot(results, cells, out / "split_working_set.png"),
                "Throughput and p95 vs working set / M, equal and hot skew",
            )
        )
        plots.append(Image(_hit_plot(cells, out / "split_hit_ratio.png"), "Hit ratio per node"))
    return ScenarioReport(answer=answer, plots=plots, sections=_sections(results, rows, cells))


def _dig(summary: dict[str, Any], path: tuple[str, ...]) -> tuple[float | None, ...]:
    entry: Any = summary
    for key in path:
        entry = (entry or {}).get(key)
    return (entry["median"], entry["min"], entry["max"]) if entry else (None, None, None)


def _grid_plot(results: dict[str, Any], cells: list[dict[str, Any]], path: Path) -> Path:
    panels = []
    for title, metric, unit in (
        ("Throughput", ("tps",), "tps"),
        ("p95 latency", ("latency_ms", "p95"), "ms"),
    ):
        lines = []
        for skew in results["parameters"]["skews"]:
            chosen = [c for c in cells if c["skew"] == skew]
            for key, name in (("a", "A"), ("b", "B")):
                values = [_dig(c[key]["summary"], metric) for c in chosen]
                lines.append(
                    Series(
                        f"{name} {skew}",
                        [c["ratio"] for c in chosen],
                        [v[0] for v in values],
                        [v[1] for v in values],
                        [v[2] for v in values],
                        dashed=skew != "equal",
                    )
                )
        x = f"working set / M at x = {pct(results['parameters']['grid_cross_fraction'])}"
        panels.append(Panel(f"{title} vs working set", x, unit, lines, xlog=True))
    return draw(path, panels)


def _hit_plot(cells: list[dict[str, Any]], path: Path) -> Path:
    groups = [f"{c['skew']} {c['ratio']:g}xM" for c in cells]
    names = list(cells[0]["a"]["summary"]["nodes"]) + list(cells[0]["b"]["summary"]["nodes"])
    series = {}
    for name in names:
        key = "a" if name in cells[0]["a"]["summary"]["nodes"] else "b"
        series[name] = [median(c[key], "nodes", name, "hit_ratio") or 0.0 for c in cells]
    return bars(path, "Buffer hit ratio per node", groups, series, "hit ratio", (0, 1.05))


def _sections(
    results: dict[str, Any], rows: list[dict[str, Any]], cells: list[dict[str, Any]]
) -> list[Section]:
    sweep_rows: list[list[object]] = [
        [
            pct(r["x"]),
            tps(r["a"]),
            tps(r["b"]),
            f"{tps(r['b']) / tps(r['a']):.0%}" if tps(r["a"]) else "-",
            p95(r["a"]) or "-",
            p95(r["b"]) or "-",
            tps(r["ref"]) if r["ref"] else "-",
        ]
        for r in rows
    ]
    grid_rows: list[list[object]] = [
        [
            c["skew"],
            f"{c['ratio']:g}",
            tps(c["a"]),
            tps(c["b"]),
            f"{tps(c['b']) / tps(c['a']):.0%}" if tps(c["a"]) else "-",
            p95(c["a"]) or "-",
            p95(c["b"]) or "-",
        ]
        for c in cells
    ]
    data = results["data"]
    return [
        Section(
            "Cross-service fraction sweep",
            [
                Table(
                    ["x", "A tps", "B tps", "B/A", "A p95 ms", "B p95 ms", "A tps (pgbench)"],
                    sweep_rows,
                    caption="equal skew, working set "
                    f"{results['parameters']['sweep_working_set_ratio']:g}x M; medians of runs",
                )
            ],
        ),
        Section(
            "Working set and skew",
            [
                Table(
                    ["skew", "working set / M", "A tps", "B tps", "B/A", "A p95 ms", "B p95 ms"],
                    grid_rows,
                )
            ],
        ),
        Section(
            "How each topology runs",
            [
                Table(
                    ["topology", "driver"],
                    [[k, v] for k, v in sorted(data.get("drivers", {}).items())],
                    numeric=False,
                )
            ],
        ),
    ]
