"""The conditions of a run, recorded with its results: machine, client tools, each server.

A benchmark number means little without the machine it ran on (cores, memory, how loaded
it already was), the PostgreSQL version and the settings that shape caching and
durability, and the memory limits in force. All of it goes into ``results.json`` and into
the report's "Conditions" section.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from typing import Any

import psutil

from dbtune.bench import cache
from dbtune.bench.servers import SCHEMA, Server

SETTINGS = (
    "server_version",
    "shared_buffers",
    "effective_cache_size",
    "work_mem",
    "maintenance_work_mem",
    "max_connections",
    "fsync",
    "synchronous_commit",
    "full_page_writes",
    "wal_level",
    "random_page_cost",
    "jit",
    "huge_pages",
    "max_wal_size",
    "checkpoint_timeout",
)


def machine() -> dict[str, Any]:
    """Cores, memory, load average and client tool versions of the machine running us."""
    from dbtune import __version__

    memory = psutil.virtual_memory()
    return {
        "cores": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "memory_bytes": int(memory.total),
        "load_average_start": [round(v, 2) for v in os.getloadavg()],
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "dbtune": __version__,
        "pgbench": pgbench_version(),
    }


def pgbench_version() -> str | None:
    from dbtune.bench.pgbench import pgbench_binary
    from dbtune.errors import DBTuneError

    try:
        done = subprocess.run(
            [str(pgbench_binary()), "--version"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (DBTuneError, OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None


def server_facts(server: Server) -> dict[str, Any]:
    """Version, settings, memory limit, benchmark data size and ownership of ``server``."""
    from dbtune.db import redact

    with server.connect() as conn:
        rows = conn.execute(
            "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s)",
            (list(SETTINGS),),
        ).fetchall()
        size = conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind = 'r'",
            (SCHEMA,),
        ).fetchone()
        buffers = conn.execute("SELECT pg_size_bytes(current_setting('shared_buffers'))").fetchone()
    settings = {str(name): str(value) for name, value in rows}
    return {
        "dsn": redact(server.dsn),
        "lab": server.owned,
        "server_version": settings.pop("server_version", None),
        "settings": settings,
        "shared_buffers_bytes": int(buffers[0]) if buffers else None,
        "memory_limit_bytes": server.memory_limit,
        "memory_limit_active": server.memory_limit is not None,
        "memory_now": cache.memory_use(server),
        "data_bytes": int(size[0]) if size else 0,
    }


def finish(environment: dict[str, Any], servers: dict[str, Server]) -> dict[str, Any]:
    """Add the end-of-run load average and every server's facts to ``environment``."""
    environment["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    environment["servers"] = {}
    for name, server in servers.items():
        try:
            environment["servers"][name] = server_facts(server)
        except Exception as exc:  # a server gone at the end is reported, not fatal here
            environment["servers"][name] = {"error": str(exc).splitlines()[0]}
    return environment
