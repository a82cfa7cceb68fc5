"""Cache state before a run (warm or cold, chosen explicitly) and what a node's OS sees.

*Warm* loads the active part of each benchmark relation with ``pg_prewarm``: first into
the OS page cache (``'read'``), then into shared buffers (``'buffer'``); the caller adds an
unrecorded warm-up load so that the caches reach their steady state. *Cold* empties shared
buffers with ``pg_buffercache_evict_all()`` (PostgreSQL 18; ``pg_buffercache_evict`` per
buffer on 17) and, for a lab node in a memory cgroup, the node's OS page cache
(``memory.force_empty`` on cgroup v1, ``memory.reclaim`` on v2). Whatever could not be done
is returned as a note for the report, never silently skipped.
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Any

import psutil

from dbtune.bench.servers import SCHEMA, Server

_RELATIONS = (
    "SELECT c.oid::regclass::text, c.relname, pg_relation_size(c.oid) / "
    "current_setting('block_size')::int, coalesce(t.relname, c.relname) "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "LEFT JOIN pg_index i ON i.indexrelid = c.oid "
    "LEFT JOIN pg_class t ON t.oid = i.indrelid "
    "WHERE n.nspname = %s AND c.relkind IN ('r', 'i')"
)


def has_function(conn: Any, name: str) -> bool:
    row = conn.execute("SELECT 1 FROM pg_proc WHERE proname = %s", (name,)).fetchone()
    return row is not None


def prewarm(server: Server, fractions: dict[str, float], buffers: int | None = None) -> list[str]:
    """Prewarm the first ``fraction`` of each table in ``fractions`` and of its indexes.

    Keys are table names in :data:`SCHEMA`; rows were loaded in key order, so the first
    blocks hold the active key range. The OS cache is filled up to the node's memory limit
    and shared buffers up to ``buffers`` bytes (spread over the relations in proportion),
    because loading more than fits only churns. Returns notes for the report.
    """
    with server.connect() as conn:
        if not has_function(conn, "pg_prewarm"):
            return [f"{server.name}: pg_prewarm is not installed; warmed by load only"]
        block = int(conn.execute("SELECT current_setting('block_size')::int").fetchone()[0])
        wanted = []
        for regclass, _, blocks, table in conn.execute(_RELATIONS, (SCHEMA,)).fetchall():
            fraction = fractions.get(str(table))
            if fraction is not None and blocks:
                wanted.append((str(regclass), min(math.ceil(int(blocks) * fraction), int(blocks))))
        total = sum(count for _, count in wanted) or 1
        for mode, cap in (("read", server.memory_limit), ("buffer", buffers)):
            share = 1.0 if cap is None else min(1.0, cap / block / total)
            for regclass, count in wanted:
                last = max(int(count * share), 1) - 1
                conn.execute(
                    "SELECT pg_prewarm(%s::regclass, %s, 'main', 0, %s)", (regclass, mode, last)
                )
    return []


def evict(server: Server) -> list[str]:
    """Empty the server's shared buffers and (lab nodes) its OS page cache; returns notes."""
    notes = []
    with server.connect() as conn:
        if server.owned:
            conn.execute("CHECKPOINT")
        if has_function(conn, "pg_buffercache_evict_all"):
            conn.execute("SELECT pg_buffercache_evict_all()")
        elif has_function(conn, "pg_buffercache_evict"):
            conn.execute("SELECT pg_buffercache_evict(bufferid) FROM pg_buffercache")
        else:
            notes.append(f"{server.name}: shared buffers not emptied (needs pg_buffercache 1.5+)")
    if not drop_page_cache(server.cgroup):
        notes.append(f"{server.name}: OS page cache not dropped (no memory cgroup for it)")
    return notes


def drop_page_cache(group: Path | None) -> bool:
    """Ask the kernel to reclaim the page cache charged to ``group``; whether it could."""
    if group is None:
        return False
    for name, value in (("memory.force_empty", "0"), ("memory.reclaim", "1G")):
        with contextlib.suppress(OSError):
            (group / name).write_text(value)
            return True
    return False


def server_cpu_seconds(server: Server) -> float | None:
    """CPU seconds used so far by a lab node's postmaster and every backend it forked.

    Backends that exited were reaped by the postmaster and count in its children's times;
    live ones are added one by one. ``None`` for servers the lab did not start.
    """
    pid = server.postmaster_pid()
    if pid is None:
        return None
    try:
        process = psutil.Process(pid)
        times = process.cpu_times()
        total = times.user + times.system + times.children_user + times.children_system
        for child in process.children():
            with contextlib.suppress(psutil.Error):
                child_times = child.cpu_times()
                total += child_times.user + child_times.system
    except psutil.Error:
        return None
    return float(total)


def oom_kills(server: Server) -> int | None:
    """How many processes the kernel OOM-killed in the node's cgroup so far (or ``None``)."""
    if server.cgroup is None:
        return None
    for name in ("memory.oom_control", "memory.events"):
        with contextlib.suppress(OSError, ValueError):
            for line in (server.cgroup / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
    return None


def memory_use(server: Server) -> dict[str, int] | None:
    """The node cgroup's current page cache, shared memory and RSS in bytes (or ``None``)."""
    if server.cgroup is None:
        return None
    wanted = {"cache": "cache", "rss": "rss", "shmem": "shmem", "file": "cache", "anon": "rss"}
    found: dict[str, int] = {}
    with contextlib.suppress(OSError, ValueError):
        for line in (server.cgroup / "memory.stat").read_text().splitlines():
            key, _, value = line.partition(" ")
            if key in wanted and wanted[key] not in found:
                found[wanted[key]] = int(value)
    return found or None
