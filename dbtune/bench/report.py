"""``report.md`` and ``report.html``: the answer first, then the plots, then the conditions.

Everything here reads the results document only (renderers never query a database), so
``dbtune bench report --out DIR`` re-renders a saved run identically. The first section
holds the scenario's answer paragraph and the plots that support it; the points table and
the conditions of the run (machine, servers, parameters, commands) follow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dbtune.bench.measure import median
from dbtune.report import (
    Document,
    Image,
    Paragraph,
    Preformatted,
    Section,
    Table,
    render_html,
    render_markdown,
)


def generic_answer(results: dict[str, Any]) -> str:
    """A neutral first paragraph for scenarios without their own: best and worst point."""
    points = [p for p in results["points"] if median(p, "tps") is not None]
    if not points:
        return "No point completed a run; see the problems listed under Conditions."
    best = max(points, key=lambda p: median(p, "tps") or 0.0)
    worst = min(points, key=lambda p: median(p, "tps") or 0.0)
    return (
        f"{len(points)} point(s) measured; the highest median throughput was "
        f"{median(best, 'tps'):,.0f} tps ({best['label']}), the lowest "
        f"{median(worst, 'tps'):,.0f} tps ({worst['label']})."
    )


def points_table(results: dict[str, Any]) -> Table:
    rows: list[list[object]] = []
    for point in results["points"]:
        tps = point["summary"].get("tps") or {}
        nodes = point["summary"].get("nodes", {})
        hits = ", ".join(
            f"{name} {entry['hit_ratio']['median']:.3f}"
            for name, entry in sorted(nodes.items())
            if entry.get("hit_ratio")
        )
        rows.append(
            [
                point["label"],
                point["driver"],
                tps.get("median", "-"),
                f"{tps.get('spread_pct', 0):.1f}%" if tps else "-",
                median(point, "latency_ms", "p50") or "-",
                median(point, "latency_ms", "p95") or "-",
                median(point, "latency_ms", "p99") or "-",
                point["summary"].get("failed", 0),
                hits or "-",
            ]
        )
    headers = ["point", "driver", "tps (median)", "spread", "p50 ms", "p95 ms", "p99 ms"]
    return Table(headers + ["failed", "hit ratio"], rows, caption="Every measured point")


def conditions(results: dict[str, Any]) -> Section:
    """Machine, servers, parameters, commands, scripts and problems of the run."""
    env = results["environment"]
    section = Section("Conditions of the run")
    section.add(
        Paragraph(
            f"{results['mode']} mode; {env.get('cores')} cores, "
            f"{_mb(env.get('memory_bytes'))} RAM; load average "
            f"{_load(env.get('load_average_start'))} at start and "
            f"{_load(env.get('load_average_end'))} at the end (other work on the machine "
            f"shares its cores); {env.get('pgbench') or 'pgbench not found'}; "
            f"run took {results.get('duration_s', 0):.0f} s."
        )
    )
    section.add(Paragraph(protocol_text(results)))
    rows: list[list[object]] = []
    for name, facts in sorted(env.get("servers", {}).items()):
        if "error" in facts:
            rows.append([name, facts["error"], "", "", "", ""])
            continue
        limit = facts.get("memory_limit_bytes")
        settings = facts.get("settings", {})
        rows.append(
            [
                name,
                facts.get("server_version") or "?",
                settings.get("shared_buffers", "?"),
                _mb(limit) if limit else "none",
                _mb(facts.get("data_bytes")),
                "lab" if facts.get("lab") else "user server",
            ]
        )
    headers = ["server", "version", "shared_buffers", "memory limit", "bench data", "kind"]
    section.add(Table(headers, rows, caption="Servers", numeric=False))
    topologies = [
        [
            name,
            t.get("label", ""),
            t.get("instances", ""),
            _mb(t.get("memory_bytes")),
            t.get("connections", ""),
        ]
        for name, t in sorted(results["topologies"].items())
    ]
    section.add(
        Table(
            ["topology", "what", "instances", "total memory", "connections"],
            topologies,
            caption="Topologies",
            numeric=False,
        )
    )
    parameters = [[key, _value(value)] for key, value in sorted(results["parameters"].items())]
    section.add(Table(["parameter", "value"], parameters, caption="Parameters", numeric=False))
    if results["commands"]:
        section.add(Paragraph("pgbench command lines (scripts are saved next to this report):"))
        section.add(Preformatted("\n".join(results["commands"])))
    if results["problems"]:
        section.add(Paragraph("Problems and notes: " + "; ".join(results["problems"])))
    return section


def protocol_text(results: dict[str, Any]) -> str:
    """How every point was measured, stated from the document."""
    points = results["points"]
    caches = sorted({p.get("cache", "?") for p in points})
    runs = sorted({len(p["runs"]) for p in points})
    how = {
        "warm": "warm (the active data loaded with pg_prewarm into the OS page cache and "
        "shared buffers, then an unrecorded warm-up load)",
        "cold": "cold (shared buffers emptied with pg_buffercache_evict_all and the node's "
        "page cache dropped before every run)",
    }
    return (
        f"Protocol: cache {', '.join(how.get(c, c) for c in caches)}; "
        f"{'/'.join(map(str, runs))} run(s) per point, each reported as the median with its "
        "min-max spread; server statistics (pg_stat_database, pg_statio_user_tables, "
        "pg_stat_io, pg_stat_statements) reset before each run on lab servers and read as "
        "before/after differences everywhere; latency percentiles from per-transaction logs."
    )


def build_document(
    results: dict[str, Any], answer: str, plots: list[Image], sections: list[Section]
) -> Document:
    document = Document(f"dbtune bench: {results.get('title') or results['scenario']}")
    document.subtitle = (
        f"scenario {results['scenario']}, {results['mode']} mode, started "
        f"{results.get('started_at', '?')}"
    )
    first = document.section("Answer")
    first.add(Paragraph(answer))
    for image in plots:
        first.add(image)
    document.sections.extend(sections)
    document.section("Measured points").add(points_table(results))
    document.sections.append(conditions(results))
    return document


def write_reports(document: Document, out: Path) -> dict[str, str]:
    (out / "report.md").write_text(render_markdown(document), encoding="utf-8")
    (out / "report.html").write_text(render_html(document), encoding="utf-8")
    return {"report_md": "report.md", "report_html": "report.html"}


def summary_section(results: dict[str, Any], out: Path | None = None) -> Section:
    """A short section for another report (``dbtune demo``): answer, key numbers, one plot."""
    section = Section(f"Benchmark: {results.get('title') or results['scenario']}")
    section.add(Paragraph(str(results.get("answer", ""))))
    section.add(points_table(results))
    folder = out or Path(results.get("outputs", {}).get("dir", "."))
    plots = results.get("outputs", {}).get("plots", [])
    if plots and (folder / plots[0]).is_file():
        section.add(Image(folder / plots[0], caption=f"{results['scenario']}: first plot"))
    return section


def _mb(value: Any) -> str:
    if not isinstance(value, int | float):
        return "?"
    return f"{value / 1024 / 1024:,.0f} MB"


def _load(values: Any) -> str:
    return "/".join(f"{v:.1f}" for v in values) if values else "?"


def _value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_value(v)}" for k, v in value.items())
    return str(value)
