"""The numbers every benchmark reports: latency percentiles and the spread of repeated runs.

Percentiles interpolate linearly between the two nearest ranks (the definition numpy and
most monitoring tools use by default), so p50 of ``[1, 2]`` is 1.5. A benchmark point is
run several times; its headline value is the *median* of the runs and its spread the
range, because one noisy run on a shared machine must not move the verdict.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from typing import Any

PERCENTILES = (50.0, 95.0, 99.0)


def percentile(ordered: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``ordered`` (sorted ascending), interpolated.

    Raises :class:`ValueError` for an empty sequence or ``q`` outside 0..100.
    """
    if not ordered:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile {q} outside 0..100")
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    weight = rank - low
    return ordered[low] + (ordered[high] - ordered[low]) * weight


def latency_summary(values_ms: Iterable[float]) -> dict[str, float] | None:
    """``avg``, ``stddev`` (population), ``p50``, ``p95``, ``p99``, ``max`` in ms, or ``None``.

    ``stddev`` is the population standard deviation, as pgbench prints it.
    """
    ordered = sorted(values_ms)
    if not ordered:
        return None
    mean = math.fsum(ordered) / len(ordered)
    variance = math.fsum((v - mean) ** 2 for v in ordered) / len(ordered)
    summary = {"avg": mean, "stddev": math.sqrt(variance)}
    for q in PERCENTILES:
        summary[f"p{q:g}"] = percentile(ordered, q)
    summary["max"] = ordered[-1]
    return {key: round(value, 4) for key, value in summary.items()}


def spread(values: Iterable[float | None]) -> dict[str, Any] | None:
    """Median, min, max and relative spread (``(max - min) / median`` in %) of run values.

    ``None`` values (a run that measured nothing) are ignored; ``None`` when none is left.
    """
    present = [float(v) for v in values if v is not None]
    if not present:
        return None
    median = statistics.median(present)
    low, high = min(present), max(present)
    relative = (high - low) / median * 100.0 if median else 0.0
    return {
        "median": round(median, 4),
        "min": round(low, 4),
        "max": round(high, 4),
        "spread_pct": round(relative, 2),
        "n": len(present),
    }


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, or ``None`` when either is missing or the divisor is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def crossover(
    xs: Sequence[float], a: Sequence[float], b: Sequence[float]
) -> tuple[float | None, str]:
    """Where ``b - a`` changes sign along ``xs``, linearly interpolated, and which way.

    Returns ``(x, "b_wins_above")`` when B overtakes A as x grows, ``(x, "b_wins_below")``
    when B falls behind, ``(None, "a_always")`` / ``(None, "b_always")`` when one side wins
    (or ties) at every x. The first sign change counts.
    """
    diffs = [vb - va for va, vb in zip(a, b, strict=True)]
    for i in range(1, len(diffs)):
        before, after = diffs[i - 1], diffs[i]
        if (before < 0 <= after) or (before >= 0 > after):
            span = after - before
            x = xs[i - 1] + (xs[i] - xs[i - 1]) * (-before / span if span else 0.0)
            return x, "b_wins_above" if after >= 0 else "b_wins_below"
    if all(d >= 0 for d in diffs):
        return None, "b_always"
    return None, "a_always"
