"""Rendering an affinity plan: the ``ROUTING`` settings, JSON, text and a Django snippet.

Renderers read the plan and its inputs only; they never query a database.
"""

from __future__ import annotations

import json
from typing import Any

from dbtune.report import Document, Preformatted, Table, byte_size, percent, render_text
from dbtune.routing.affinity import AffinityResult
from dbtune.routing.planner import Plan


def routing_settings(
    plan: Plan, primary: str, *, max_lag_seconds: float | None = None, read_your_writes: str = ""
) -> dict[str, Any]:
    """The ``DBTUNE["ROUTING"]`` dict: every table with its ordered replicas.

    Keys and defaults are those of :data:`dbtune.conf.DEFAULTS`, so the block passes the
    system checks once every alias is in ``DATABASES``.
    """
    from dbtune.conf import DEFAULTS

    defaults = DEFAULTS["ROUTING"]
    return {
        "PRIMARY": primary,
        "AFFINITY": {table: plan.fallbacks[table] for table in sorted(plan.fallbacks)},
        "DEFAULT_REPLICAS": plan.default_replicas(),
        "MAX_LAG_SECONDS": float(
            defaults["MAX_LAG_SECONDS"] if max_lag_seconds is None else max_lag_seconds
        ),
        "READ_YOUR_WRITES": read_your_writes or str(defaults["READ_YOUR_WRITES"]),
    }


def plan_json(result: AffinityResult, routing: dict[str, Any]) -> dict[str, Any]:
    plan, total = result.plan, result.plan.total_reads
    replicas = [
        {
            "alias": r.alias,
            "tables": r.tables,
            "hot_tables": [t for g in r.groups if g.hot_bytes for t in g.tables],
            "hot_bytes": r.hot_bytes,
            "total_bytes": r.total_bytes,
            "cache_bytes": r.cache_bytes,
            "cache_used": round(r.hot_bytes / r.cache_bytes, 4),
            "read_share": round(r.reads / total, 4) if total else 0.0,
            "fits": r.hot_bytes <= r.cache_bytes,
        }
        for r in plan.replicas
    ]
    tables = [
        {
            "table": name,
            "total_bytes": table.total_bytes,
            "hot_bytes": table.hot_bytes,
            "reads": round(table.reads, 3),
            "read_share": round(table.reads / total, 4) if total else 0.0,
            "replica": plan.fallbacks[name][0],
            "fallbacks": plan.fallbacks[name],
        }
        for name, table in sorted(plan.tables.items())
    ]
    return {
        "inputs": result.inputs,
        "replicas": replicas,
        "tables": tables,
        "groups": [list(g.tables) for g in plan.groups if len(g.tables) > 1],
        "apart": [list(pair) for pair in plan.apart],
        "assignment": dict(sorted(plan.assignment.items())),
        "fallbacks": dict(sorted(plan.fallbacks.items())),
        "warnings": plan.warnings,
        "routing": routing,
    }


def _header(result: AffinityResult) -> list[str]:
    inputs, plan = result.inputs, result.plan
    reads = inputs["read_source"]
    if inputs["statements_used"]:
        reads += f" ({inputs['statements_used']} statements)"
    return [
        f"database {inputs['database']}: {len(plan.tables)} tables, {len(plan.replicas)} "
        f"replicas with {byte_size(plan.cache_bytes)} of cache each ({inputs['cache_source']})",
        f"read volume from {reads}; co-access from {inputs['coaccess_source'] or 'nothing'}",
    ]


def render_django(result: AffinityResult, routing: dict[str, Any]) -> str:
    """A pasteable ``DBTUNE = {"ROUTING": ...}`` block; the plan in comments above it."""
    lines = ["# dbtune plan affinity: merge into your settings.py"]
    lines += [f"# {line}" for line in _header(result)]
    total = result.plan.total_reads
    for r in result.plan.replicas:
        lines.append(
            f"# {r.alias}: hot {byte_size(r.hot_bytes)} of {byte_size(r.cache_bytes)}, "
            f"{percent(r.reads, total)} of reads"
        )
    lines += [f"# warning: {warning}" for warning in result.plan.warnings]
    lines.append('# DATABASE_ROUTERS = ["dbtune.routing.TableAffinityRouter"]')
    return "\n".join(lines + _settings_block(routing)) + "\n"


def _settings_block(routing: dict[str, Any]) -> list[str]:
    """``DBTUNE = {"ROUTING": ...}`` as Python source (JSON strings are Python literals)."""
    lines = ["DBTUNE = {", '    "ROUTING": {']
    for key, value in routing.items():
        if key == "AFFINITY":
            lines.append('        "AFFINITY": {')
            for table, aliases in value.items():
                lines.append(f"            {json.dumps(table)}: {json.dumps(aliases)},")
            lines.append("        },")
        else:
            lines.append(f"        {json.dumps(key)}: {json.dumps(value)},")
    return [*lines, "    },", "}"]


def render_plan_text(result: AffinityResult, routing: dict[str, Any]) -> str:
    plan, total = result.plan, result.plan.total_reads
    header = _header(result)
    document = Document("Affinity plan", subtitle="\n".join(header))
    rows: list[list[object]] = [
        [
            r.alias,
            len(r.tables),
            byte_size(r.hot_bytes),
            byte_size(r.cache_bytes),
            percent(r.hot_bytes, r.cache_bytes),
            percent(r.reads, total),
        ]
        for r in plan.replicas
    ]
    replicas = document.section("Replicas")
    replicas.add(Table(["replica", "tables", "hot set", "cache", "cache used", "reads"], rows))
    hot_sets = []
    for r in plan.replicas:
        hot = [
            f"{t} ({byte_size(plan.tables[t].hot_bytes)})" for t in r.tables if plan.tables[t].reads
        ]
        cold = [t for t in r.tables if not plan.tables[t].reads]
        line = f"{r.alias}: {', '.join(hot) or '(nothing hot)'}"
        hot_sets.append(line + (f"; cold: {', '.join(cold)}" if cold else ""))
    document.section("Expected hot set per replica").add(Preformatted("\n".join(hot_sets)))
    owners = [r.alias for r in plan.replicas]
    order = sorted(
        plan.tables.values(),
        key=lambda t: (owners.index(plan.fallbacks[t.name][0]), -t.reads, t.name),
    )
    table_rows: list[list[object]] = []
    for t in order:
        first, *then = plan.fallbacks[t.name]
        row: list[object] = [
            t.name,
            byte_size(t.total_bytes),
            byte_size(t.hot_bytes) if t.reads else "cold",
        ]
        table_rows.append([*row, percent(t.reads, total), first, ", ".join(then) or "-"])
    document.section("Tables").add(
        Table(["table", "size", "hot", "reads", "replica", "then"], table_rows)
    )
    if plan.warnings:
        warnings = document.section("Warnings")
        warnings.add(Preformatted("\n".join(f"- {warning}" for warning in plan.warnings)))
    settings = document.section('DBTUNE["ROUTING"]')
    settings.add(Preformatted("\n".join(_settings_block(routing))))
    return render_text(document)
