"""``dbtune plan affinity`` end to end: read the facts, choose the read source, plan.

Read volume comes from the first source that has reads of the database's tables:

1. ``--workload`` files (dbtune capture files, or SQL files), each statement weighted by its
   total time, or its calls when the file has no times;
2. ``pg_stat_statements`` of the database, weighted by shared blocks hit + read;
3. ``pg_statio_user_tables`` block accesses (no co-access: nothing says which tables are
   read together).

The first two also give co-access. Only replica reads count (see
:mod:`dbtune.routing.coaccess`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbtune.routing.coaccess import ReadProfile, read_profile
from dbtune.routing.inventory import Inventory, read_inventory
from dbtune.routing.planner import Plan, TableLoad, plan_affinity

DEFAULT_MIN_COACCESS = 0.2
"""Tables are kept together when at least this share of the less-read one's reads are joint."""


@dataclass
class AffinityResult:
    """The plan and what it was made from (``inputs`` is JSON-ready)."""

    plan: Plan
    inputs: dict[str, Any]


def workload_statements(paths: Sequence[Path]) -> tuple[list[tuple[str, float]], int]:
    """``(sql, weight)`` from workload files and the number of unreadable entries.

    A file whose first non-blank character is ``{`` is a dbtune capture file (JSON lines),
    anything else a SQL file; both are read by :mod:`dbtune.advisors.workload`.
    """
    from dbtune.advisors.workload import CaptureFile, SqlFile, WorkloadSource
    from dbtune.advisors.workload.base import read_text

    statements: list[tuple[str, float]] = []
    problems = 0
    for path in paths:
        text = read_text(path, "workload file").lstrip()
        source: WorkloadSource = CaptureFile(path) if text.startswith("{") else SqlFile(path)
        for query in source.queries():
            weight = query.total_ms if query.total_ms is not None else query.calls
            statements.append((query.sql, float(weight)))
        problems += len(source.problems)
    return statements, problems


def _choose_reads(
    inventory: Inventory, workload: list[tuple[str, float]] | None, given: bool
) -> tuple[str, ReadProfile | None, str]:
    """(read source, statement profile or None, note) by the module's order of sources."""
    known = inventory.tables.keys()
    note = ""
    if given:
        profile = read_profile(workload or [], known)
        if profile.statements:
            return "workload files", profile, ""
        note = "the workload files read none of these tables"
    elif inventory.statements is not None:
        profile = read_profile(inventory.statements, known)
        if profile.statements:
            return "pg_stat_statements", profile, ""
        note = "pg_stat_statements has no reads of these tables yet"
    else:
        note = inventory.problem or "pg_stat_statements is not available"
    return "pg_statio_user_tables", None, note


def build_plan(
    dsn: str,
    aliases: Sequence[str],
    *,
    cache_bytes: int | None = None,
    workloads: Sequence[Path] = (),
    schemas: list[str] | None = None,
    min_coaccess: float = DEFAULT_MIN_COACCESS,
    warn: Callable[[str], None] = lambda message: None,
) -> AffinityResult:
    """Plan ``aliases`` for the database at ``dsn`` (read-only connection).

    ``cache_bytes`` defaults to the server's ``shared_buffers``. ``warn`` receives, once,
    the reason co-access is unknown when the plan falls back to ``pg_statio_user_tables``.
    Raises :class:`~dbtune.errors.DBTuneError` for an unreachable server or unreadable file.
    """
    import psycopg

    from dbtune.db import connect, first_line, redact
    from dbtune.errors import DBTuneError

    workload, problems = workload_statements(workloads) if workloads else (None, 0)
    with connect(dsn, application_name="dbtune plan affinity") as conn:
        try:
            inventory = read_inventory(conn, schemas, statements=not workloads)
        except psycopg.Error as exc:
            raise DBTuneError(
                f"reading table sizes and statistics failed: {first_line(exc)}"
            ) from None
    source, profile, note = _choose_reads(inventory, workload, bool(workloads))
    if profile is None:
        warn(
            f"{note}; read volume from pg_statio_user_tables, co-access unknown "
            "(pass --workload FILE, or CREATE EXTENSION pg_stat_statements, for co-access)"
        )
    tables = [
        TableLoad(
            key,
            facts.total_bytes,
            profile.reads.get(key, 0.0) if profile else facts.statio_reads,
        )
        for key, facts in inventory.tables.items()
    ]
    cache = cache_bytes or inventory.shared_buffers
    together = profile.together(min_coaccess) if profile else []
    plan = plan_affinity(tables, aliases, cache, together)
    if not tables:
        plan.warnings.append(
            f"no tables in database {inventory.database}"
            + (f" schemas {', '.join(schemas)}" if schemas else "")
        )
    inputs: dict[str, Any] = {
        "dsn": redact(dsn),
        "database": inventory.database,
        "schemas": schemas,  # None: every non-system schema
        "cache_bytes": cache,
        "cache_source": "--cache-bytes"
        if cache_bytes
        else f"shared_buffers of the server ({inventory.shared_buffers_text})",
        "effective_cache_size": inventory.effective_cache_size,
        "read_source": source,
        "coaccess_source": source if profile else None,
        "statements_used": profile.statements if profile else 0,
        "statements_skipped": profile.skipped if profile else 0,
        "workload_files": [str(path) for path in workloads],
        "workload_problems": problems,
        "min_coaccess": min_coaccess,
        "note": note or None,
    }
    return AffinityResult(plan, inputs)
