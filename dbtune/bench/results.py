"""``results.json``: one stable document per run, and the sanity checks CI applies to it.

Top-level keys (schema ``dbtune.bench/1``; new keys may be added, none renamed)::

    schema, scenario, title, mode ("quick" | "full"), started_at, duration_s,
    parameters   {...}                 everything that shaped the run
    environment  {cores, memory_bytes, load_average_*, pgbench, servers: {name: {...}}}
    topologies   {name: {label, instances, memory_bytes, connections, servers}}
    points       [{id, label, topology, driver, variables, cache, runs: [...], summary}]
    answer       "the report's first paragraph, computed from this document"
    data         {...}                 scenario-specific facts
    scripts, commands, problems, outputs

Each run holds ``tps``, ``transactions``, ``failed``, ``failures``, ``latency_ms`` (avg,
stddev, p50, p95, p99, max), ``command`` and ``nodes`` (per node: ``blks_hit``,
``blks_read``, ``hit_ratio``, ``tables``, ``io``, ``cpu_s``, ``oom_kills``, ``memory``).
:func:`check_results` checks shape and sanity without any timing threshold.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dbtune.errors import DBTuneError

SCHEMA = "dbtune.bench/1"
TOP_LEVEL = (
    "schema",
    "scenario",
    "mode",
    "parameters",
    "environment",
    "topologies",
    "points",
    "answer",
    "scripts",
    "commands",
    "problems",
)
_ORDER = ("p50", "p95", "p99", "max")


def write_results(results: dict[str, Any], path: Path) -> None:
    text = json.dumps(results, indent=2, sort_keys=True, default=str)
    path.write_text(text + "\n", encoding="utf-8")


def read_results(path: Path) -> dict[str, Any]:
    """A saved ``results.json``; one-line error when missing or not one of ours."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
        raise DBTuneError(f"cannot read {path}: {reason}") from None
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        raise DBTuneError(f"{path} is not a dbtune benchmark result ({SCHEMA})")
    return document


def check_results(results: dict[str, Any]) -> list[str]:
    """Problems with the document's shape or values; an empty list when it is sane.

    Sane means: every top-level key present, each point names a known topology and has at
    least one run, tps positive, latency percentiles ordered (p50 <= p95 <= p99 <= max),
    hit ratios within [0, 1]. Timings are never compared with thresholds.
    """
    problems = [f"missing key {key!r}" for key in TOP_LEVEL if key not in results]
    if problems:
        return problems
    if results["schema"] != SCHEMA:
        problems.append(f"schema {results['schema']!r} is not {SCHEMA!r}")
    if not isinstance(results["answer"], str) or not results["answer"].strip():
        problems.append("empty answer")
    if not results["points"]:
        problems.append("no measured points")
    for point in results["points"]:
        problems += _check_point(point, results["topologies"])
    return problems


def _check_point(point: dict[str, Any], topologies: dict[str, Any]) -> list[str]:
    name = point.get("id", "?")
    problems = []
    if point.get("topology") not in topologies:
        problems.append(f"{name}: unknown topology {point.get('topology')!r}")
    runs = point.get("runs") or []
    if not runs:
        problems.append(f"{name}: no runs")
    for run in runs:
        where = f"{name} run {run.get('run', '?')}"
        tps = run.get("tps")
        if tps is None or not tps > 0:
            problems.append(f"{where}: tps {tps!r} is not positive")
        latency = run.get("latency_ms") or {}
        values = [float(latency[key]) for key in _ORDER if latency.get(key) is not None]
        if len(values) < len(_ORDER):
            problems.append(f"{where}: latency percentiles missing")
        elif any(a > b for a, b in zip(values, values[1:], strict=False)):
            problems.append(f"{where}: latency percentiles out of order {values}")
        for node, counters in (run.get("nodes") or {}).items():
            problems += _check_ratios(f"{where} {node}", counters)
    return problems


def _check_ratios(where: str, counters: dict[str, Any]) -> list[str]:
    ratios = [("", counters.get("hit_ratio"))]
    ratios += [(f" {t}", v.get("hit_ratio")) for t, v in (counters.get("tables") or {}).items()]
    return [
        f"{where}{table}: hit ratio {ratio} outside [0, 1]"
        for table, ratio in ratios
        if ratio is not None and not 0.0 <= ratio <= 1.0
    ]
