"""Side-by-side measurement shared by every benchmark script.

A verdict is a *ratio measured in one run*: the baseline (A) and the variant (B) alternate
A, B, A, B... for several rounds, so that drift in machine load hits both alike, and each
side is summarised by its median. Absolute timings vary between machines; the ratio is what
a script compares with its target. No pytest: scripts run as ``python benchmarks/NAME.py``.
"""

from __future__ import annotations

import contextlib
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Side:
    """The timings of one side of a comparison, in seconds per sample."""

    label: str
    samples: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def best(self) -> float:
        return min(self.samples)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "median_s": self.median,
            "min_s": self.best,
            "samples_s": list(self.samples),
        }


def _time_once(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def compare(
    name: str,
    baseline: Callable[[], object],
    variant: Callable[[], object],
    *,
    labels: tuple[str, str] = ("A", "B"),
    rounds: int = 15,
    warmup: int = 2,
    target: float | None = None,
    unit: str = "sample",
) -> dict[str, Any]:
    """Time ``baseline`` and ``variant`` interleaved; print a table; return the result.

    Each call of a callable is one sample (make it long enough, ~10 ms or more, to dwarf
    timer resolution). ``warmup`` unrecorded pairs run first. The garbage collector is
    disabled while sampling so that a collection does not land on one side only. The
    returned dict has ``name``, ``a`` and ``b`` (see :meth:`Side.to_dict`), ``ratio``
    (median B / median A; the verdict), ``ratio_of_minimums`` (for context on noisy
    machines), ``target`` and ``ok`` (``ratio <= target``, or ``None``).
    """
    a, b = Side(labels[0]), Side(labels[1])
    for _ in range(warmup):
        baseline()
        variant()
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for round_number in range(rounds):
            # Alternate which side goes first so neither always runs on a warmer cache.
            order = ((a, baseline), (b, variant))
            for side, run in order if round_number % 2 == 0 else order[::-1]:
                side.samples.append(_time_once(run))
    finally:
        if enabled:
            gc.enable()
    ratio = b.median / a.median
    result = {
        "name": name,
        "a": a.to_dict(),
        "b": b.to_dict(),
        "ratio": ratio,
        "ratio_of_minimums": b.best / a.best,
        "target": target,
        "ok": None if target is None else ratio <= target,
        "rounds": rounds,
        "unit": unit,
    }
    print_result(result)
    return result


def print_result(result: dict[str, Any], stream: Any = None) -> None:
    """Print one comparison as a small table with the ratio and the verdict."""
    out = stream or sys.stdout
    width = max(len(result["a"]["label"]), len(result["b"]["label"]), 8)
    print(f"\n{result['name']}  ({result['rounds']} rounds, per {result['unit']})", file=out)
    print(f"  {'':<{width}}  {'median':>10}  {'min':>10}", file=out)
    for key in ("a", "b"):
        side = result[key]
        print(
            f"  {side['label']:<{width}}  {side['median_s'] * 1000:>8.3f}ms"
            f"  {side['min_s'] * 1000:>8.3f}ms",
            file=out,
        )
    verdict = ""
    if result["target"] is not None:
        verdict = f"  target <= {result['target']:.2f}: {'OK' if result['ok'] else 'MISSED'}"
    print(
        f"  ratio B/A = {result['ratio']:.3f} (of minimums {result['ratio_of_minimums']:.3f})"
        f"{verdict}",
        file=out,
    )


@contextlib.contextmanager
def benchmark_postgres(skip: bool) -> Iterator[str | None]:
    """The PostgreSQL DSN a benchmark runs against, or ``None`` when ``skip``.

    ``DBTUNE_BENCH_DSN`` when set; otherwise a throwaway lab (no replicas) that is stopped
    and removed when the block ends.
    """
    dsn = None if skip else os.environ.get("DBTUNE_BENCH_DSN")
    if skip or dsn:
        yield dsn
        return
    from dbtune.lab import Lab

    lab = Lab(path=tempfile.mkdtemp(prefix="dbtune-bench-"), replicas=0)
    print(f"starting a throwaway lab in {lab.path} ...", file=sys.stderr)
    lab.up()
    try:
        yield lab.primary.dsn("postgres")
    finally:
        lab.down(remove=True)


def print_summary(results: list[dict[str, Any]], json_path: Any) -> None:
    """The closing ``summary`` block every micro-benchmark prints (and optional JSON)."""
    import json

    print("\nsummary")
    for result in results:
        verdict = {True: "OK", False: "MISSED", None: "-"}[result["ok"]]
        print(f"  {result['name']}: {result['ratio']:.3f} (target {result['target']}) {verdict}")
    if json_path:
        json_path.write_text(json.dumps(results, indent=2))


def side_by_side_databases(pg_dsn: str | None) -> dict[str, dict[str, Any]]:
    """``DATABASES`` for a two-backend micro-benchmark: ``sqlite`` (also ``default``) and,
    with a DSN, ``postgresql``."""
    from dbtune.db import django_database

    sqlite = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
    databases = {"sqlite": sqlite, "default": sqlite}
    if pg_dsn:
        databases["postgresql"] = django_database(pg_dsn)
    return databases
