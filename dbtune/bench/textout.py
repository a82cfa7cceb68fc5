"""pgbench-style text on stdout: one block per measured point, familiar to any DBA.

The block mirrors pgbench's own summary (transactions processed, failed transactions,
latency average and stddev, tps) and adds what pgbench does not print: p50/p95/p99 from the
per-transaction logs, the spread over repeated runs, and each node's hit ratio.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def point_lines(point: dict[str, Any]) -> list[str]:
    summary = point["summary"]
    runs = point["runs"]
    first = runs[0] if runs else {}
    tps = summary.get("tps") or {}
    latency = summary.get("latency_ms") or {}

    def lat(key: str) -> float | None:
        entry = latency.get(key)
        return None if entry is None else float(entry["median"])

    processed = summary.get("transactions", 0)
    failed = summary.get("failed", 0)
    share = failed / (processed + failed) * 100 if processed + failed else 0.0
    lines = [
        f"point: {point['label']}",
        f"topology: {point['topology']}   driver: {point['driver']}   cache: {point['cache']}",
        f"variables: {_variables(point['variables'])}",
        f"duration: {first.get('duration_s', 0):g} s x {len(runs)} run(s)",
        f"number of transactions actually processed: {processed} (all runs)",
        f"number of failed transactions: {failed} ({share:.3f}%)",
        f"latency average = {_fmt(lat('avg'))} ms",
        f"latency stddev = {_fmt(lat('stddev'))} ms",
        f"latency p50 = {_fmt(lat('p50'))} ms, p95 = {_fmt(lat('p95'))} ms, "
        f"p99 = {_fmt(lat('p99'))} ms",
    ]
    if tps:
        lines.append(
            f"tps = {tps['median']:.6f} (median of {tps['n']} run(s); min {tps['min']:.1f}, "
            f"max {tps['max']:.1f}, spread {tps['spread_pct']:.1f}%)"
        )
    else:
        lines.append("tps = - (no run completed)")
    ratios = []
    for name, node in sorted(summary.get("nodes", {}).items()):
        hit = node.get("hit_ratio")
        ratios.append(f"{name}={_fmt(hit['median'] if hit else None, 4)}")
    if ratios:
        lines.append("hit ratio: " + ", ".join(ratios))
    return lines


def _variables(variables: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in variables.items()) or "-"


def print_point(point: dict[str, Any], stream: TextIO | None = None) -> None:
    out = stream or sys.stdout
    print("\n".join(point_lines(point)), file=out)
    print(file=out, flush=True)
