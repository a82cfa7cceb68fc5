"""The split scenario's verdict: the report's first paragraph, from the results document.

A and B are compared as measured by the *same* Python driver at each point. B wins or
loses a point only when the run ranges do not overlap; the crossover is where the medians
meet along the x sweep (linear interpolation between measured points). pgbench's numbers
on A are the reference for what the server does without the driver's own costs.
"""

from __future__ import annotations

from typing import Any

from dbtune.bench.measure import median
from dbtune.bench.stats import crossover

MB = 1024 * 1024


def find(
    points: list[dict[str, Any]], topology: str, driver: str, x: float, skew: str, ratio: float
) -> dict[str, Any] | None:
    for point in points:
        v = point["variables"]
        if (point["topology"], point["driver"]) == (topology, driver) and (
            v["cross_fraction"],
            v["skew"],
            v["working_set_ratio"],
        ) == (x, skew, ratio):
            return point
    return None


def sweep(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of the x sweep: x, A/B driver points, A pgbench point (equal skew, main ratio)."""
    p = results["parameters"]
    rows = []
    for x in p["cross_fractions"]:
        row = {"x": x}
        for key, topology, driver in (
            ("a", "A", "python"),
            ("b", "B", "python"),
            ("ref", "A", "pgbench"),
        ):
            row[key] = find(
                results["points"], topology, driver, x, "equal", p["sweep_working_set_ratio"]
            )
        rows.append(row)
    return [row for row in rows if row["a"] and row["b"]]


def grid(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of the working-set x skew grid at the grid's cross fraction."""
    p = results["parameters"]
    rows = []
    for skew in p["skews"]:
        for ratio in p["working_set_ratios"]:
            a = find(results["points"], "A", "python", p["grid_cross_fraction"], skew, ratio)
            b = find(results["points"], "B", "python", p["grid_cross_fraction"], skew, ratio)
            if a and b:
                rows.append({"skew": skew, "ratio": ratio, "a": a, "b": b})
    return rows


def tps(point: dict[str, Any] | None) -> float:
    return (median(point, "tps") or 0.0) if point else 0.0


def p95(point: dict[str, Any] | None) -> float | None:
    return median(point, "latency_ms", "p95") if point else None


def pct(value: float) -> str:
    return f"{value:.0%}" if value >= 0.1 or value == 0 else f"{value:.1%}"


def outcome(a: dict[str, Any], b: dict[str, Any]) -> str:
    """``"B"`` when every B run beat every A run, ``"A"`` the reverse, else ``"tie"``.

    With a few short runs on a shared machine, medians alone would turn noise into
    verdicts; a win needs the run ranges to be apart.
    """
    ta, tb = a["summary"].get("tps"), b["summary"].get("tps")
    if not ta or not tb:
        return "tie"
    if tb["min"] > ta["max"]:
        return "B"
    if tb["max"] < ta["min"]:
        return "A"
    return "tie"


def share(a: dict[str, Any] | None, b: dict[str, Any] | None) -> float:
    return tps(b) / tps(a) if tps(a) else 0.0


def _shares(rows: list[dict[str, Any]]) -> str:
    values = [share(row["a"], row["b"]) for row in rows]
    low, high = f"{min(values):.0%}", f"{max(values):.0%}"
    span = low if low == high else f"{low[:-1]}-{high}"
    return f"B at {span} of A's throughput"


def verdict(results: dict[str, Any]) -> str:
    rows = sweep(results)
    if not rows:
        return "The x sweep measured no pair of points for A and B; see the problems below."
    xs = [row["x"] for row in rows]
    groups: dict[str, list[dict[str, Any]]] = {"A": [], "B": [], "tie": []}
    for row in rows:
        groups[outcome(row["a"], row["b"])].append(row)
    span = f"x from {pct(xs[0])} to {pct(xs[-1])}"
    if len(groups["A"]) == len(rows):
        text = f"Splitting lost at every measured {span} ({_shares(rows)})."
    elif len(groups["B"]) == len(rows):
        text = f"Splitting won at every measured {span} ({_shares(rows)})."
    else:
        words = {"A": "lost at", "B": "won at", "tie": "tied (run ranges overlapping) at"}
        parts = [
            f"{words[key]} x = {', '.join(pct(r['x']) for r in found)} ({_shares(found)})"
            for key, found in groups.items()
            if found
        ]
        text = "Splitting " + "; ".join(parts) + "."
    a, b = [tps(row["a"]) for row in rows], [tps(row["b"]) for row in rows]
    where, kind = crossover(xs, a, b)
    if kind in ("b_wins_below", "b_wins_above"):
        side = "below" if kind == "b_wins_below" else "above"
        text += (
            f" The medians cross at x = {pct(where or 0)} (interpolated between measured "
            f"points); B's median was higher {side} it."
        )
    text += (
        f" A vs B: {a[0]:,.0f} vs {b[0]:,.0f} tps at x = {pct(xs[0])}, {a[-1]:,.0f} vs "
        f"{b[-1]:,.0f} tps at x = {pct(xs[-1])}"
    )
    p95a, p95b = p95(rows[-1]["a"]), p95(rows[-1]["b"])
    if p95a and p95b:
        text += f"; B's p95 latency at x = {pct(xs[-1])} was {p95b / p95a:.1f}x A's"
    return text + ". " + _wins(results)


def _wins(results: dict[str, Any]) -> str:
    """Over every measured A/B pair: where B won, where the runs overlapped."""
    p = results["parameters"]
    pairs = [
        (row["x"], "equal", p["sweep_working_set_ratio"], row["a"], row["b"])
        for row in sweep(results)
    ]
    seen = {(x, skew, ratio) for x, skew, ratio, _, _ in pairs}
    pairs += [
        (p["grid_cross_fraction"], c["skew"], c["ratio"], c["a"], c["b"])
        for c in grid(results)
        if (p["grid_cross_fraction"], c["skew"], c["ratio"]) not in seen
    ]
    named: dict[str, list[str]] = {"A": [], "B": [], "tie": []}
    for x, skew, ratio, a, b in pairs:
        named[outcome(a, b)].append(
            f"x = {pct(x)}, {skew} skew, {ratio:g}x M ({share(a, b):.0%} of A)"
        )
    text = f"Of {len(pairs)} measured configurations, B won clearly "
    text += ("at " + "; ".join(named["B"]) if named["B"] else "in none") + "."
    if named["tie"]:
        text += f" Within the run-to-run spread: {'; '.join(named['tie'])}."
    return text


def conditions(results: dict[str, Any]) -> str:
    parts = []
    for row in grid(results):
        share = tps(row["b"]) / tps(row["a"]) if tps(row["a"]) else 0.0
        parts.append(f"{share:.0%} with {row['skew']} skew at {row['ratio']:g}x M")
    p = results["parameters"]
    text = ""
    if parts:
        text = (
            f"At x = {pct(p['grid_cross_fraction'])}, B reached "
            + "; ".join(parts)
            + " of A's throughput."
        )
    t = results["topologies"]
    cached = {name: data_cache(results, name) for name in ("A", "B")}
    if cached["A"] and cached["B"]:
        text += (
            f" Memory holding data at the end of the run (shared buffers + OS page cache, from "
            f"the node cgroups): A {cached['A'] / MB:,.0f} MB, B {cached['B'] / MB:,.0f} MB."
        )
    if t["A"].get("memory_bytes") and t["B"].get("memory_bytes"):
        cache_mb = p["cache_memory_bytes"] / MB
        text += (
            f" A used one instance with {t['A']['memory_bytes'] / MB:,.0f} MB; B used three "
            f"with {t['B']['memory_bytes'] / MB:,.0f} MB in total (the same {cache_mb:,.0f} MB "
            "for caching data, plus each instance's own process memory)."
        )
    rows = sweep(results)
    if rows and rows[0]["ref"] and tps(rows[0]["a"]):
        factor = tps(rows[0]["ref"]) / tps(rows[0]["a"])
        text += (
            f" Both topologies ran through the same Python driver; pgbench with the same "
            f"statements on A reached {factor:.1f}x the driver's throughput at x = "
            f"{pct(rows[0]['x'])}, so client CPU on this machine caps both sides."
        )
    cores = results["environment"].get("cores")
    if cores:
        text += f" Clients and every instance shared the machine's {cores} cores."
    if p.get("keys"):
        text += f" Keys: {p['keys']}."
    failed = sum(int(point["summary"].get("failed", 0)) for point in results["points"])
    if failed:
        done = sum(int(point["summary"].get("transactions", 0)) for point in results["points"])
        samples = sorted(
            {
                s
                for point in results["points"]
                for r in point["runs"]
                for s in r.get("failure_samples", [])
            }
        )
        text += (
            f" {failed:,} of {failed + done:,} transactions failed"
            + (f" (e.g. {samples[0]})" if samples else "")
            + "; throughput counts successful transactions only."
        )
    net = results["data"].get("network", {})
    text += (
        f" Network between services: {net.get('rtt_ms', 0):g} ms per hop modelled in the "
        f"driver ({net.get('netem_probe', 'netem not probed')})."
    )
    return text.strip()


def data_cache(results: dict[str, Any], topology: str) -> float | None:
    """Shared buffers plus page cache of the topology's nodes at the end of the run, bytes.

    cgroup v1 counts shared memory in ``cache``; the part that is not shared buffers
    (locks, WAL buffers, ...) is not data, so it is taken out.
    """
    servers = results["environment"].get("servers", {})
    total = 0.0
    for name in results["topologies"][topology].get("servers", []):
        facts = servers.get(name, {})
        memory, buffers = facts.get("memory_now"), facts.get("shared_buffers_bytes")
        if not memory or buffers is None or "cache" not in memory:
            return None
        total += memory["cache"] - memory.get("shmem", 0) + buffers
    return total
