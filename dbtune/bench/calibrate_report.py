"""The calibrate scenario's answer, sizing and plots, computed from the results document.

The *knee* of a sweep is the step between two consecutive working sets with the largest
relative throughput drop. The *in-memory limit* is the largest working set whose buffer
hit ratio stayed at or above :data:`IN_MEMORY_HIT_RATIO`. Average time per block read
(``pg_stat_io.read_time / reads``, with ``track_io_timing``) tells reads served by the OS
page cache (microseconds) from reads that went to the disk.
"""

from __future__ import annotations

from typing import Any

from dbtune.bench.measure import median

IN_MEMORY_HIT_RATIO = 0.99
CACHE_READ_US = 40.0
"""Block reads faster than this on average were served by the OS page cache, not a disk."""
MIN_READS = 200
MB = 1024 * 1024


def sweep(points: list[dict[str, Any]], mix: str, keys: str) -> list[dict[str, Any]]:
    chosen = [p for p in points if p["variables"]["mix"] == mix and p["variables"]["keys"] == keys]
    return sorted(chosen, key=lambda p: float(p["variables"]["ratio"]))


def sweeps(points: list[dict[str, Any]]) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    for point in points:
        key = (point["variables"]["mix"], point["variables"]["keys"])
        if key not in seen:
            seen.append(key)
    return seen


def hit(point: dict[str, Any]) -> float | None:
    return median(point, "nodes", "node", "hit_ratio")


def read_us(point: dict[str, Any]) -> float | None:
    """Median over runs of the average time per block read, in microseconds."""
    values = []
    for run in point["runs"]:
        io = (run.get("nodes", {}).get("node") or {}).get("io") or {}
        if (io.get("reads") or 0) >= MIN_READS:
            values.append(io["read_time_ms"] * 1000 / io["reads"])
    return sorted(values)[len(values) // 2] if values else None


def region(point: dict[str, Any]) -> str:
    """Where the point's reads were served: shared buffers, the OS page cache, or disk."""
    ratio, micros = hit(point), read_us(point)
    if ratio is not None and ratio >= IN_MEMORY_HIT_RATIO:
        return "shared buffers"
    if micros is not None and micros < CACHE_READ_US:
        return "OS page cache"
    return "disk" if micros is not None else "unknown"


def knee(series: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The consecutive pair with the largest relative tps drop (``None`` with < 2 points)."""
    best: dict[str, Any] | None = None
    for before, after in zip(series, series[1:], strict=False):
        a, b = median(before, "tps"), median(after, "tps")
        if not a or b is None:
            continue
        drop = (1 - b / a) * 100
        if best is None or drop > best["drop_pct"]:
            best = {"before": before, "after": after, "drop_pct": round(drop, 1)}
    return best


def sizing(points: list[dict[str, Any]], data: dict[str, Any]) -> dict[str, Any]:
    """What other scenarios read: in-memory limit and knee of the main select-only sweep."""
    main = next(iter(sweeps(points)), ("select-only", "uniform"))
    series = sweep(points, *main)
    fits = [p for p in series if region(p) == "shared buffers"]
    cached = [p for p in series if region(p) in ("shared buffers", "OS page cache")]
    found = knee(series)
    return {
        "sweep": f"{main[0]}, {main[1]} keys",
        "memory_bytes": data["memory_bytes"],
        "in_memory_ratio": fits[-1]["variables"]["ratio"] if fits else None,
        "cached_ratio": cached[-1]["variables"]["ratio"] if cached else None,
        "knee_from_ratio": found["before"]["variables"]["ratio"] if found else None,
        "knee_to_ratio": found["after"]["variables"]["ratio"] if found else None,
        "knee_tps_drop_pct": found["drop_pct"] if found else None,
    }


def _ws(point: dict[str, Any]) -> str:
    return f"{point['variables']['working_set_bytes'] / MB:,.0f} MB"


def _regions(series: list[dict[str, Any]]) -> str:
    """One clause per run of consecutive points served from the same place."""
    groups: list[tuple[str, list[dict[str, Any]]]] = []
    for point in series:
        where = region(point)
        if groups and groups[-1][0] == where:
            groups[-1][1].append(point)
        else:
            groups.append((where, [point]))
    clauses = []
    for where, points in groups:
        rates = [median(p, "tps") or 0.0 for p in points]
        span = _span(rates, "{:,.0f}") + " tps"
        sizes = _ws(points[0]) if len(points) == 1 else f"{_ws(points[0])}-{_ws(points[-1])}"
        micros = [m for m in (read_us(p) for p in points) if m is not None]
        timing = f", {_span(micros, '{:,.0f}')} us per block read" if micros else ""
        clauses.append(f"{span} at {sizes} ({where}{timing})")
    return "; ".join(clauses)


def _span(values: list[float], form: str) -> str:
    low, high = min(values), max(values)
    return (
        form.format(low)
        if form.format(low) == form.format(high)
        else (f"{form.format(low)}-{form.format(high)}")
    )


def _sweep_sentence(points: list[dict[str, Any]], mix: str, keys: str) -> str:
    series = sweep(points, mix, keys)
    if len(series) < 2:
        return ""
    found = knee(series)
    text = f"{mix.capitalize()} with {keys} keys: {_regions(series)}."
    if found and found["drop_pct"] > 0:
        a, b = found["before"], found["after"]
        text += (
            f" The sharpest drop, -{found['drop_pct']:g}%, came between {_ws(a)} and "
            f"{_ws(b)} ({a['variables']['ratio']:g}x -> {b['variables']['ratio']:g}x memory): "
            f"hit ratio {_num(hit(a))} -> {_num(hit(b))}, p95 "
            f"{_num(median(a, 'latency_ms', 'p95'))} -> "
            f"{_num(median(b, 'latency_ms', 'p95'))} ms."
        )
    return text


def answer(results: dict[str, Any]) -> str:
    data, points = results["data"], results["points"]
    limit = data.get("memory_limit_bytes")
    node = f"one node with {data['shared_buffers_bytes'] / MB:,.0f} MB shared_buffers" + (
        f" inside a {limit / MB:,.0f} MB memory limit" if limit else " and no memory limit"
    )
    parts = [f"On {node} (memory counted as {data['memory_basis']}):"]
    parts += [_sweep_sentence(points, mix, keys) for mix, keys in sweeps(points)]
    size = data.get("sizing") or {}
    if size.get("cached_ratio") is not None:
        parts.append(
            f"Reads stayed in memory (shared buffers or OS page cache) up to "
            f"{size['cached_ratio']:g}x memory ({size['sweep']}); larger working sets read "
            f"from disk."
        )
    extra = [p for p in points if len(sweep(points, *_key(p))) == 1]
    for point in extra:
        parts.append(
            f"With {point['variables']['keys']} keys at {point['variables']['ratio']:g}x "
            f"memory ({point['variables']['mix']}) the hit ratio was {_num(hit(point))} and "
            f"throughput {median(point, 'tps'):,.0f} tps."
        )
    return " ".join(part for part in parts if part)


def _key(point: dict[str, Any]) -> tuple[str, str]:
    return point["variables"]["mix"], point["variables"]["keys"]


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"
