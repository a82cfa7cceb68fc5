"""``dbtune routing stats``: per node and table, hit ratios, buffer residency, replay lag."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from dbtune.cli.options import add_format, progress, write_json
from dbtune.errors import DBTuneError

DESCRIPTION = """\
For every node given (--node NAME=DSN, or --dsn DSN named host:port): its role, replay lag
and replay LSN (replicas), and per table the buffer hit ratio from pg_statio_user_tables
(counted on that node) and the bytes of the table, its indexes and TOAST resident in
shared_buffers (pg_buffercache; null where the extension is not installed). Read-only.
Through manage.py, every PostgreSQL alias in DATABASES is a node unless nodes are given."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("routing", help="table-affine read replicas at work")
    commands = parser.add_subparsers(dest="routing", metavar="COMMAND")
    commands.required = True
    stats = commands.add_parser(
        "stats",
        help="per node and table: hit ratio, buffer residency, replay lag",
        description=DESCRIPTION,
    )
    stats.add_argument(
        "--node", action="append", default=[], metavar="NAME=DSN", help="a node (repeatable)"
    )
    stats.add_argument(
        "--dsn", action="append", default=[], help="a node named host:port (repeatable)"
    )
    stats.add_argument("--tables", metavar="T1,T2", help="only these tables (schema.table ok)")
    stats.add_argument(
        "--top", type=int, default=20, help="busiest tables shown per node (0: all; default 20)"
    )
    add_format(stats, "text", "json")
    stats.set_defaults(handler=run)


def _name_of(dsn: str, index: int) -> str:
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(dsn)
    except Exception:  # an unparsable DSN fails with one line when connecting
        return f"node{index}"
    return f"{parts.get('host') or 'localhost'}:{parts.get('port') or 5432}"


def nodes_from(args: argparse.Namespace) -> list[tuple[str, str]]:
    """``(name, dsn)`` per node: ``--node`` first, then ``--dsn``, else ``$DBTUNE_DSN``."""
    nodes: list[tuple[str, str]] = []
    for item in args.node:
        name, sep, dsn = item.partition("=")
        if not sep or not name.strip() or not dsn.strip():
            raise DBTuneError(f"--node {item!r} is not NAME=DSN, e.g. replica_1=postgresql://...")
        nodes.append((name.strip(), dsn.strip()))
    dsns = args.dsn or ([] if nodes else [os.environ.get("DBTUNE_DSN", "")])
    for index, dsn in enumerate(d for d in dsns if d):
        nodes.append((_name_of(dsn, index + 1), dsn))
    if not nodes:
        raise DBTuneError("no node given; pass --node NAME=DSN or --dsn DSN (both repeatable)")
    names = [name for name, _ in nodes]
    if len(set(names)) != len(names):
        raise DBTuneError(f"two nodes are named alike ({', '.join(names)}); use --node NAME=DSN")
    return nodes


def run(args: argparse.Namespace) -> int:
    from dbtune.routing.stats import collect
    from dbtune.routing.stats_render import render_stats_text, stats_json, stats_warnings

    if args.top < 0:
        raise DBTuneError(f"--top {args.top} must be 0 (all tables) or more")
    nodes = nodes_from(args)
    tables = {t.strip() for t in args.tables.split(",") if t.strip()} if args.tables else None
    found = collect(nodes, tables)
    reachable = [node for node in found if node.role != "unreachable"]
    if not reachable:
        raise DBTuneError(str(found[0].error))
    if tables is not None:
        missing = tables - {t.table for node in reachable for t in node.tables}
        if missing:
            progress(f"dbtune: no table {', '.join(sorted(missing))} on any node")
    for warning in stats_warnings(found):
        progress(f"dbtune: {warning}")
    if args.format == "json":
        write_json(stats_json(found, args.top))
    else:
        sys.stdout.write(render_stats_text(found, args.top))
    return 0
