"""``dbtune advise indexes``: index advice for a workload on a PostgreSQL database."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from dbtune.cli.options import add_dsn, add_format, progress, require_dsn, write_json
from dbtune.errors import DBTuneError

FAIL_ON = ("suggestions", "unused", "duplicates", "invalid", "any")


def _fraction(text: str) -> float:
    try:
        value = float(text.rstrip("%")) / (100.0 if text.endswith("%") else 1.0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1 (e.g. 0.5 or 50%)")
    return value


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def _fail_on(text: str) -> list[str]:
    wanted = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [part for part in wanted if part not in FAIL_ON]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown {', '.join(unknown)}; choose from {', '.join(FAIL_ON)}"
        )
    return wanted


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "indexes",
        help="suggest indexes for a workload (and list unused or duplicate ones)",
        description="Suggest a set of indexes for a workload, each with the statements it "
        "helps and its cost before and after; list unused, duplicate and invalid indexes.",
    )
    add_dsn(parser)
    add_format(parser, "text", "json", "django")
    source = parser.add_argument_group("workload (combine any)")
    source.add_argument(
        "--workload",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="SQL file, statements separated by ';'",
    )
    source.add_argument(
        "--capture",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="dbtune capture file (JSON lines)",
    )
    source.add_argument(
        "--log",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="PostgreSQL log with log_min_duration_statement lines",
    )
    source.add_argument(
        "--pg-stat-statements",
        action="store_true",
        help="read the target's pg_stat_statements (calls and times as weights)",
    )
    parser.add_argument(
        "--lab",
        action="store_true",
        help="cost candidates by building them in rolled-back transactions "
        "(only on a server the dbtune lab started)",
    )
    parser.add_argument(
        "--allow-index-builds",
        action="store_true",
        help="allow those transactional builds on any server",
    )
    parser.add_argument(
        "--verify",
        action="store_true",
        help="create the suggestions, measure EXPLAIN ANALYZE before/after, drop them",
    )
    parser.add_argument(
        "--min-improvement",
        type=_fraction,
        default=0.5,
        metavar="F",
        help="keep an index only if it cuts its statements' cost by F (default 0.5)",
    )
    parser.add_argument(
        "--min-cost",
        type=_non_negative,
        default=100.0,
        metavar="COST",
        help="ignore statements cheaper than COST planner units (default 100)",
    )
    parser.add_argument(
        "--max-width",
        type=int,
        choices=range(1, 6),
        default=3,
        metavar="N",
        help="at most N key columns per index (default 3)",
    )
    parser.add_argument(
        "--replica",
        action="append",
        default=[],
        metavar="DSN",
        help="also check index usage on this replica (repeatable)",
    )
    parser.add_argument(
        "--no-hypopg", action="store_true", help="do not use HypoPG even if installed"
    )
    parser.add_argument(
        "--fail-on",
        type=_fail_on,
        default=[],
        metavar="WHAT",
        help=f"exit 1 when any of {', '.join(FAIL_ON)} is found (comma-separated)",
    )
    parser.add_argument(
        "--write-migrations",
        action="store_true",
        help="write Django migrations (AddIndexConcurrently) and Meta.indexes entries",
    )
    parser.set_defaults(handler=handle)


def load_workload(args: argparse.Namespace, dsn: str) -> Any:
    from dbtune.advisors.workload import (
        CaptureFile,
        PgStatStatements,
        PostgresLog,
        SqlFile,
        Workload,
    )
    from dbtune.db import connect

    workload = Workload()
    for path in args.workload:
        workload.read(SqlFile(path))
    for path in args.capture:
        workload.read(CaptureFile(path))
    for path in args.log:
        workload.read(PostgresLog(path))
    given = args.workload or args.capture or args.log
    if args.pg_stat_statements or not given:
        with connect(dsn) as conn:
            installed = conn.execute(
                "SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'"
            ).fetchone()
            if args.pg_stat_statements or installed:
                workload.read(PgStatStatements(conn))
            else:
                progress(
                    "dbtune: no workload given (--workload, --capture, --log or "
                    "--pg-stat-statements); reporting existing indexes only"
                )
    return workload


def handle(args: argparse.Namespace) -> int:
    from dbtune.advisors.indexes import Options, advise

    dsn = require_dsn(args)
    if args.verify and not (args.lab or args.allow_index_builds):
        raise DBTuneError("--verify creates indexes: use it with --lab (or --allow-index-builds)")
    workload = load_workload(args, dsn)
    options = Options(
        min_improvement=args.min_improvement,
        min_cost=args.min_cost,
        max_width=args.max_width,
        lab=args.lab,
        allow_index_builds=args.allow_index_builds,
        verify=args.verify,
        use_hypopg=not args.no_hypopg,
        replica_dsns=list(args.replica) or routing_replicas(),
    )
    quiet = args.format == "json" and not os.environ.get("DBTUNE_VERBOSE")
    result = advise(dsn, workload, options=options, progress=None if quiet else progress)
    if args.format == "json":
        write_json(result.to_json())
    elif args.format == "django":
        from dbtune.advisors.indexes.django_output import render

        print(render(result), end="")
    else:
        print(result.to_text(), end="")
    if args.write_migrations:
        from dbtune.advisors.indexes.django_output import write_migrations

        for path in write_migrations(result):
            progress(f"wrote {path}")
    return 1 if _failed(args.fail_on, result) else 0


def routing_replicas() -> list[str]:
    """DSNs of the replicas ``DBTUNE["ROUTING"]`` names, inside a Django project (else none)."""
    if not os.environ.get("DJANGO_SETTINGS_MODULE"):
        return []
    from dbtune.advisors.indexes.django_output import django_ready

    if not django_ready():
        return []
    from dbtune import conf
    from dbtune.management.commands.dbtune import dsn_for_alias

    routing = conf.routing()
    aliases = list(routing.get("DEFAULT_REPLICAS") or [])
    for names in (routing.get("AFFINITY") or {}).values():
        aliases += [name for name in names if name not in aliases]
    return [dsn_for_alias(alias) for alias in dict.fromkeys(aliases)]


def _failed(bars: list[str], result: Any) -> bool:
    found = {
        "suggestions": bool(result.suggestions),
        "unused": bool(result.unused_indexes),
        "duplicates": bool(result.duplicate_indexes),
        "invalid": bool(result.invalid_indexes),
    }
    return any(any(found.values()) if bar == "any" else found[bar] for bar in bars)
