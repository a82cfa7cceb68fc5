"""One benchmark point: the same load run N times under the protocol, then summarised.

For each point: bring the caches to the state the options ask for (``warm``: prewarm the
active data once, then an unrecorded warm-up load; ``cold``: evict before every run), then
for each run reset and snapshot every server, run the load, wait for its backends to exit,
snapshot again and keep the differences. A node that died or was OOM-killed stops the
benchmark with a one-line error naming it: later numbers would be meaningless.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from typing import Any

import psutil

from dbtune.bench import cache, protocol, textout
from dbtune.bench.context import BenchContext
from dbtune.bench.load import Load
from dbtune.bench.servers import Server, shared_buffers_bytes
from dbtune.bench.stats import spread
from dbtune.errors import DBTuneError

LATENCY_KEYS = ("avg", "stddev", "p50", "p95", "p99", "max")


@dataclass
class PointSpec:
    """What to measure. ``active`` maps a server name to ``{table: fraction}`` to prewarm."""

    id: str
    topology: str
    variables: dict[str, Any]
    load: Load
    servers: list[Server]
    runs: int
    warmup_s: float = 1.0
    active: dict[str, dict[str, float]] = field(default_factory=dict)
    label: str = ""


def measure_point(ctx: BenchContext, spec: PointSpec) -> dict[str, Any]:
    """Run ``spec`` and return the point's record (runs plus summary); prints its text."""
    return measure_side_by_side(ctx, [spec])[0]


def measure_side_by_side(ctx: BenchContext, specs: list[PointSpec]) -> list[dict[str, Any]]:
    """Measure points whose comparison is the verdict, their runs interleaved.

    Each point is warmed first; then run 1 of every point, run 2 of every point (in the
    reverse order), and so on, so that drift in the machine's load hits all of them alike
    instead of whichever happened to run last. Returns the points in ``specs`` order.
    """
    cold = ctx.options.cache == "cold"
    runs: list[list[dict[str, Any]]] = [[] for _ in specs]
    for spec in specs:
        ctx.record_commands(spec.load.commands())
        if not cold:
            _warm(ctx, spec)
    for number in range(1, max(spec.runs for spec in specs) + 1):
        order = list(enumerate(specs))
        for index, spec in order if number % 2 else order[::-1]:
            if number > spec.runs:
                continue
            if cold:
                for server in spec.servers:
                    for note in cache.evict(server):
                        ctx.note(note)
            runs[index].append(_one_run(ctx, spec, number))
    points = []
    for spec, found in zip(specs, runs, strict=True):
        point = {
            "id": spec.id,
            "label": spec.label or spec.id,
            "topology": spec.topology,
            "driver": spec.load.label,
            "variables": spec.variables,
            "cache": "cold" if cold else "warm",
            "runs": found,
            "summary": summarise(found),
        }
        textout.print_point(point)
        points.append(point)
    return points


def _warm(ctx: BenchContext, spec: PointSpec) -> None:
    for server in spec.servers:
        fractions = spec.active.get(server.name)
        if fractions:
            buffers = shared_buffers_bytes(server)
            for note in cache.prewarm(server, fractions, buffers):
                ctx.note(note)
    if spec.warmup_s > 0:
        folder = ctx.run_folder(spec.id, 0)
        outcome = spec.load.with_duration(spec.warmup_s).run(folder)
        shutil.rmtree(folder, ignore_errors=True)
        if outcome.error:
            _check_alive(ctx, spec, outcome.error)


def _one_run(ctx: BenchContext, spec: PointSpec, number: int) -> dict[str, Any]:
    folder = ctx.run_folder(spec.id, number)
    before = {}
    for server in spec.servers:
        protocol.reset(server)
        before[server.name] = protocol.snapshot(server)
    machine = psutil.cpu_times()
    started = time.monotonic()
    outcome = spec.load.run(folder)
    elapsed = time.monotonic() - started
    busy = _busy_fraction(machine, psutil.cpu_times())
    nodes = {}
    for server in spec.servers:
        protocol.wait_for_clients(server)
    _check_alive(ctx, spec, outcome.error)
    for server in spec.servers:
        counters = protocol.difference(before[server.name], protocol.snapshot(server))
        counters["memory"] = cache.memory_use(server)
        nodes[server.name] = counters
    if not ctx.options.keep_logs:
        shutil.rmtree(folder, ignore_errors=True)
    record = outcome.to_json()
    record.update({"run": number, "wall_s": round(elapsed, 3), "machine_cpu_busy": busy})
    record["nodes"] = nodes
    if outcome.error:
        ctx.note(f"{spec.id} run {number}: {outcome.error}")
    tps = f"{outcome.tps:,.1f}" if outcome.tps is not None else "-"
    ctx.progress(f"  {spec.id} run {number}/{spec.runs}: tps {tps}")
    return record


def _check_alive(ctx: BenchContext, spec: PointSpec, error: str | None) -> None:
    for server in spec.servers:
        kills = cache.oom_kills(server)
        running = server.is_running()
        if running is False or (error and kills):
            cause = "was OOM-killed (memory limit too low)" if kills else "stopped"
            tail = server.log_tail()
            raise DBTuneError(
                f"server {server.name} {cause} during {spec.id}"
                + (f": {tail}" if tail else "")
                + "; raise the memory limit or lower shared_buffers / the data size"
            )


def _busy_fraction(before: Any, after: Any) -> float | None:
    idle_keys = ("idle", "iowait")
    total = sum(after) - sum(before)
    idle = sum(getattr(after, k, 0.0) - getattr(before, k, 0.0) for k in idle_keys)
    return round(1.0 - idle / total, 3) if total > 0 else None


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median and spread over runs: tps, latency keys, failures, per-node hit ratio and CPU."""
    summary: dict[str, Any] = {"runs": len(runs), "tps": spread(r["tps"] for r in runs)}
    summary["latency_ms"] = {
        key: spread((r["latency_ms"] or {}).get(key) for r in runs) for key in LATENCY_KEYS
    }
    summary["failed"] = sum(int(r["failed"]) for r in runs)
    summary["transactions"] = sum(int(r["transactions"]) for r in runs)
    summary["errors"] = sum(1 for r in runs if r["error"])
    names = sorted({name for r in runs for name in r["nodes"]})
    summary["nodes"] = {
        name: {
            "hit_ratio": spread(r["nodes"][name]["hit_ratio"] for r in runs if name in r["nodes"]),
            "cpu_s": spread(r["nodes"][name]["cpu_s"] for r in runs if name in r["nodes"]),
            "blks_read": spread(r["nodes"][name]["blks_read"] for r in runs if name in r["nodes"]),
        }
        for name in names
    }
    summary["client_cpu_s"] = spread(r["client_cpu_s"] for r in runs)
    return summary


def median(point: dict[str, Any], *path: str) -> float | None:
    """``point["summary"][path...]["median"]``, or ``None`` anywhere along the way."""
    value: Any = point.get("summary")
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    if isinstance(value, dict):
        found = value.get("median")
        return None if found is None else float(found)
    return None
