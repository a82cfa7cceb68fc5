"""The demo report's first section: what dbtune found, in numbers from ``ctx.data``."""

from __future__ import annotations

from typing import Any

from dbtune.report import Paragraph, Section, Table


def _mb(value: float) -> str:
    return f"{value / 1_000_000:.1f} MB"


def summary_section(data: dict[str, Any]) -> Section:
    """One table of headline numbers; rows appear only for steps that ran."""
    section = Section("What dbtune found")
    rows: list[list[object]] = []
    pages = data.get("pages") or []
    if pages:
        before = sum(p["queries"] for p in pages)
        after = sum(p["queries_fixed"] for p in pages)
        ms_before = sum(p["ms"] for p in pages)
        ms_after = sum(p["ms_fixed"] for p in pages)
        rows.append(
            [
                "queries on the shop's pages",
                f"{before} as written -> {after} with the fixes "
                f"({ms_before:.0f} ms -> {ms_after:.0f} ms summed page time)",
            ]
        )
    findings = data.get("nplusone")
    if findings is not None:
        fixed = data.get("nplusone_fixed_findings", 0)
        rows.append(
            ["N+1 patterns, each with its fix", f"{len(findings)} (after the fixes: {fixed})"]
        )
    indexes = data.get("indexes")
    if indexes:
        verified = [
            s for s in indexes.get("suggestions", []) if isinstance(s.get("verification"), dict)
        ]
        rows.append(
            [
                "indexes suggested from the captured workload",
                f"{len(indexes.get('suggestions', []))} ({len(verified)} measured with --verify)",
            ]
        )
    columns = data.get("columns")
    if columns:
        now = sum(t.get("bytes_now", 0) for t in columns.get("tables", []))
        after = sum(t.get("bytes_after", 0) for t in columns.get("tables", []))
        rows.append(["table heap after column slimming", f"{_mb(now)} -> {_mb(after)}"])
    replicas = data.get("replicas")
    if replicas and replicas.get("ratio"):
        rows.append(["replica reads, table-affine vs round-robin", _replicas(replicas)])
    if not rows:
        return section.add(Paragraph("No step produced results."))
    return section.add(Table(["", "result"], rows, numeric=False))


def _replicas(found: dict[str, Any]) -> str:
    tps, hits = found["tps"], found["hit_ratio"]

    def low(name: str) -> str:
        values = hits.get(name) or {}
        return f"{min(values.values()):.3f}" if values else "n/a"

    bound = "memory cgroups" if found.get("memory_limits") else "shared_buffers only"
    return (
        f"{tps['affine']:,.0f} vs {tps['round-robin']:,.0f} tps ({found['ratio']:.1f}x); "
        f"buffer hit ratio {low('affine')} vs {low('round-robin')} ({bound})"
    )
