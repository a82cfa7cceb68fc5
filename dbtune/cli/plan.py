"""``dbtune plan affinity``: which replica keeps which tables hot, as ``DBTUNE["ROUTING"]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dbtune.cli.options import add_dsn, add_format, parse_bytes, progress, require_dsn, write_json
from dbtune.errors import DBTuneError

DESCRIPTION = """\
Assign tables to read replicas so that each replica's hot set (the tables it serves, heap +
indexes + TOAST) fits its cache, tables read together stay on one replica, and read load is
balanced. Read volume comes from --workload files, else pg_stat_statements, else
pg_statio_user_tables. Every table gets an ordered fallback list. Prints the hot set per
replica and the DBTUNE["ROUTING"] block. Tables outside the public schema are keyed
schema.table. Read-only."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("plan", help="plans for table-affine read replicas")
    plans = parser.add_subparsers(dest="plan", metavar="PLAN")
    plans.required = True
    affinity = plans.add_parser(
        "affinity",
        help="assign tables to replicas so each replica's hot set fits its cache",
        description=DESCRIPTION,
    )
    add_dsn(affinity)
    affinity.add_argument("--replicas", type=int, required=True, help="number of read replicas")
    affinity.add_argument(
        "--cache-bytes",
        metavar="SIZE",
        help="cache per replica, e.g. 512MB or 2GiB (default: the server's shared_buffers)",
    )
    affinity.add_argument(
        "--workload",
        action="extend",
        nargs="+",
        type=Path,
        default=[],
        metavar="FILE",
        help="dbtune capture files or SQL files: read volume and co-access (repeatable)",
    )
    affinity.add_argument(
        "--aliases", help="replica aliases, comma-separated (default: replica_1..replica_N)"
    )
    affinity.add_argument("--primary", default="default", help="primary alias (default: default)")
    affinity.add_argument(
        "--schema",
        action="append",
        dest="schemas",
        metavar="NAME",
        help="only tables of this schema (repeatable; default: all non-system schemas)",
    )
    affinity.add_argument(
        "--min-coaccess",
        type=float,
        default=0.2,
        metavar="SHARE",
        help="keep two tables together when this share of the less-read one's reads are "
        "joint (default: 0.2)",
    )
    add_format(affinity, "text", "json", "django")
    affinity.set_defaults(handler=run)


def aliases_for(args: argparse.Namespace) -> list[str]:
    """The replica aliases: ``--aliases`` (exactly ``--replicas`` distinct names) or defaults."""
    if args.replicas < 1:
        raise DBTuneError(f"--replicas {args.replicas} must be at least 1")
    if not args.aliases:
        aliases = [f"replica_{i}" for i in range(1, args.replicas + 1)]
    else:
        aliases = [alias.strip() for alias in args.aliases.split(",")]
        if len(aliases) != args.replicas or not all(aliases):
            raise DBTuneError(
                f"--aliases names {len(aliases)} replicas but --replicas is {args.replicas}; "
                "give one alias per replica, comma-separated"
            )
        if len(set(aliases)) != len(aliases):
            raise DBTuneError(f"--aliases {args.aliases} names a replica twice")
    if args.primary in aliases:
        raise DBTuneError(f"--primary {args.primary} is also named as a replica in --aliases")
    return aliases


def run(args: argparse.Namespace) -> int:
    from dbtune.routing.affinity import build_plan
    from dbtune.routing.plan_render import (
        plan_json,
        render_django,
        render_plan_text,
        routing_settings,
    )

    aliases = aliases_for(args)
    cache = parse_bytes(args.cache_bytes, "--cache-bytes") if args.cache_bytes else None
    if not 0 < args.min_coaccess <= 1:
        raise DBTuneError(f"--min-coaccess {args.min_coaccess:g} must be above 0 and at most 1")
    dsn = require_dsn(args)
    result = build_plan(
        dsn,
        aliases,
        cache_bytes=cache,
        workloads=args.workload,
        schemas=args.schemas,
        min_coaccess=args.min_coaccess,
        warn=lambda message: progress(f"dbtune: {message}"),
    )
    routing = routing_settings(result.plan, args.primary)
    if args.format == "json":
        write_json(plan_json(result, routing))
    elif args.format == "django":
        sys.stdout.write(render_django(result, routing))
    else:
        sys.stdout.write(render_plan_text(result, routing))
    return 0
