"""What the split scenario measures: memory, working sets, fractions, skews, run lengths.

Memory is counted as *cache memory* ``M`` (shared buffers + OS page cache for data). A gets
``M`` plus one per-instance allowance ``R`` for process memory; each B instance gets
``M/3 + R``, so both topologies have the same memory for caching data and B pays its
extra instances' process memory on top, which the report states as B's larger total.
``shared_buffers`` is a quarter of each instance's cache memory. ``R`` defaults to what an
idle-to-busy instance was measured to need beyond its data cache on the lab (shared memory
besides the buffers, backend RSS); the report prints the data cache each topology really
had, from the node cgroups, so any imbalance is visible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dbtune.bench import dataset
from dbtune.bench.context import BenchContext
from dbtune.bench.keys import KeyChoice
from dbtune.bench.split.ops import SKEWS
from dbtune.errors import DBTuneError

MB = 1024 * 1024


@dataclass
class Plan:
    memory: int
    overhead: int
    ratios: list[float]
    main_ratio: float
    xs: list[float]
    grid_x: float
    skews: list[str]
    clients: int
    jobs: int
    runs: int
    duration_s: int
    warmup_s: float
    rtt_ms: float
    keys: KeyChoice
    quick: bool = False
    sized_from: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def largest(self) -> float:
        return max(self.ratios)

    def to_json(self) -> dict[str, Any]:
        return {
            "cache_memory_bytes": self.memory,
            "instance_overhead_bytes": self.overhead,
            "working_set_ratios": self.ratios,
            "sweep_working_set_ratio": self.main_ratio,
            "cross_fractions": self.xs,
            "grid_cross_fraction": self.grid_x,
            "skews": {name: SKEWS[name] for name in self.skews},
            "clients": self.clients,
            "jobs": self.jobs,
            "runs": self.runs,
            "duration_s": self.duration_s,
            "warmup_s": self.warmup_s,
            "rtt_ms": self.rtt_ms,
            "keys": self.keys.describe(),
            "sized_from": self.sized_from,
        }


def make_plan(ctx: BenchContext) -> Plan:
    o, s, quick = ctx.options, ctx.options.settings, ctx.options.quick
    memory = dataset.parse_bytes(s.get("memory", "96MB" if quick else "768MB"), "memory")
    overhead = dataset.parse_bytes(s.get("overhead", "20MB" if quick else "48MB"), "overhead")
    ratios = dataset.parse_ratios(s.get("ratios", "0.5,2" if quick else "0.25,0.5,1,2,4"))
    xs = _fractions(s.get("xs", "0,0.1,0.3" if quick else "0,0.02,0.05,0.1,0.2,0.3"))
    skews = [k for k in s.get("skews", "equal,hot").split(",") if k]
    for skew in skews:
        if skew not in SKEWS:
            raise DBTuneError(f"--set skews: unknown skew {skew!r}; use {', '.join(SKEWS)}")
    keys = o.keys or "uniform"
    if keys == "both":
        raise DBTuneError("split runs one key distribution per run; pass --keys uniform or zipfian")
    clients = o.clients or (4 if quick else 8)
    plan = Plan(
        memory=memory,
        overhead=overhead,
        ratios=ratios,
        main_ratio=float(s.get("main_ratio", min(ratios))),
        xs=xs,
        grid_x=float(s.get("grid_x", 0.1)),
        skews=skews,
        clients=clients,
        jobs=o.jobs or min(clients, 2),
        runs=o.runs or (2 if quick else 3),
        duration_s=o.duration_s or (2 if quick else 20),
        warmup_s=0.5 if quick else 10.0,
        rtt_ms=0.5 if o.rtt_ms is None else o.rtt_ms,
        keys=KeyChoice(keys),
        quick=quick,
    )
    if o.calibration is not None and "ratios" not in s:
        _size_from(plan, o.calibration)
    if plan.main_ratio not in plan.ratios:
        raise DBTuneError(f"--set main_ratio={plan.main_ratio:g} must be one of the ratios")
    return plan


def _fractions(text: str) -> list[float]:
    try:
        values = sorted({float(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise DBTuneError(f"--set xs={text!r}: use comma-separated fractions") from None
    if not values or values[0] < 0 or values[-1] > 1:
        raise DBTuneError(f"--set xs={text!r}: fractions must be between 0 and 1")
    return values


def _size_from(plan: Plan, path: Any) -> None:
    """Place the working sets around a calibrate run's in-memory limit and knee."""
    from dbtune.bench.results import read_results

    results = read_results(path)
    if results["scenario"] != "calibrate":
        raise DBTuneError(f"--calibration {path} is a {results['scenario']} run, not calibrate")
    sizing = results.get("data", {}).get("sizing") or {}
    fits, beyond = sizing.get("cached_ratio"), sizing.get("knee_to_ratio")
    chosen = sorted({float(v) for v in (fits, beyond) if v})
    if chosen:
        plan.ratios, plan.main_ratio = chosen, chosen[0]
        plan.sized_from = f"{path}: cached up to {fits}x, knee to {beyond}x (calibrate sizing)"


def instance_sizes(plan: Plan) -> dict[str, tuple[int, int]]:
    """``(shared_buffers, memory limit)`` in bytes for the A node and for each B node."""
    third = plan.memory // 3
    return {
        "A": (max(plan.memory // 4, MB), plan.memory + plan.overhead),
        "B": (max(third // 4, MB), third + plan.overhead),
    }
