"""Rendering ``dbtune routing stats``: one JSON document, or text tables per node.

Renderers read collected :class:`~dbtune.routing.stats.NodeStats` only; they never query.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dbtune.report import Document, Table, byte_size, percent, render_text
from dbtune.routing.stats import NodeStats, TableStats


def stats_warnings(nodes: Sequence[NodeStats]) -> list[str]:
    """One line per kind of problem, naming every node it concerns."""
    by_reason: dict[str, list[str]] = {}
    for node in nodes:
        if node.role != "unreachable" and node.buffercache_problem is not None:
            reason = node.buffercache_problem
            by_reason.setdefault(reason, []).append(f"{node.name} ({node.database})")
    warnings = [
        f"{reason} on {', '.join(names)}: residency is null there (CREATE EXTENSION "
        "pg_buffercache on the primary as a superuser; replicas follow)"
        for reason, names in by_reason.items()
    ]
    warnings += [f"{node.name} is unreachable: {node.error}" for node in nodes if node.error]
    return warnings


def top_tables(node: NodeStats, top: int) -> list[TableStats]:
    """Busiest first (blocks hit + read), then by name; ``top`` 0 keeps all."""
    ordered = sorted(node.tables, key=lambda t: (-(t.blocks_hit + t.blocks_read), t.table))
    return ordered[:top] if top else ordered


def stats_json(nodes: Sequence[NodeStats], top: int) -> dict[str, Any]:
    documents = []
    for node in nodes:
        document = node.to_json()
        document["tables"] = [table.to_json() for table in top_tables(node, top)]
        documents.append(document)
    return {"nodes": documents, "warnings": stats_warnings(nodes)}


def _ratio(hit: int, read: int) -> str:
    return f"{100.0 * hit / (hit + read):.1f}%" if hit + read else "-"


def _lag(node: NodeStats) -> str:
    if node.role != "replica":
        return "-"
    seconds = "?" if node.lag_seconds is None else f"{node.lag_seconds:.3g} s"
    return seconds + (" (paused)" if node.replay_paused else "")


def render_stats_text(nodes: Sequence[NodeStats], top: int) -> str:
    """Nodes (LSN: the primary's current WAL position, a replica's replayed one), then the
    busiest tables of each reachable node."""
    document = Document("Routing stats")
    rows: list[list[object]] = []
    for n in nodes:
        lag_bytes = byte_size(n.lag_bytes) if n.lag_bytes is not None else "-"
        row: list[object] = [n.name, n.role, n.database or "-", _lag(n), lag_bytes]
        buffercache = "-" if n.role == "unreachable" else "yes" if n.buffercache else "no"
        lsn = n.replay_lsn or n.wal_lsn or "-"
        rows.append([*row, lsn, byte_size(n.shared_buffers_bytes), buffercache])
    headers = ["node", "role", "database", "lag", "lag bytes", "LSN", "shared_buffers"]
    document.section("Nodes").add(Table([*headers, "pg_buffercache"], rows, numeric=False))
    for node in nodes:
        if node.role == "unreachable":
            continue
        section = document.section(f"{node.name} ({node.role}): tables by blocks accessed")
        table_rows: list[list[object]] = []
        for t in top_tables(node, top):
            ratios: list[object] = [_ratio(t.blocks_hit, t.blocks_read)]
            ratios += [_ratio(t.heap_hit, t.heap_read), _ratio(t.index_hit, t.index_read)]
            resident = [byte_size(t.resident_bytes), percent(t.resident_bytes, t.size_bytes)]
            table_rows.append(
                [t.table, *ratios, t.blocks_hit, t.blocks_read, byte_size(t.size_bytes), *resident]
            )
        headers = ["table", "hit ratio", "heap", "index", "blocks hit", "blocks read", "size"]
        section.add(Table([*headers, "resident", "resident %"], table_rows))
    return render_text(document)
