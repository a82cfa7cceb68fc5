"""``dbtune advise columns``: exact row sizes and the column changes that really save space."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dbtune.cli.options import add_dsn, add_format, progress, require_dsn, write_json
from dbtune.errors import DBTuneError

DESCRIPTION = """\
Compute each table's bytes per row exactly as PostgreSQL stores it (alignment, null bitmap,
varlena headers, line pointers, pages) and rank the changes that shrink it: column order,
narrower integers, uuid/boolean/integer types for text, dropping always-NULL or constant
columns. A change that saves nothing is shown as not worth it. Read-only unless --verify,
which builds copies in schema dbtune_scratch (lab servers, or with --allow-copies)."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "columns",
        help="exact row sizes and column changes that save space",
        description=DESCRIPTION,
    )
    add_dsn(parser)
    add_format(parser, "text", "json", "django")
    parser.add_argument(
        "--table",
        action="extend",
        nargs="+",
        dest="tables",
        metavar="NAME",
        help="only these tables (schema.table allowed; repeatable)",
    )
    parser.add_argument("--schema", default="public", help="schema to analyse (default: public)")
    parser.add_argument(
        "--verify", action="store_true", help="measure the estimates on copies of the tables"
    )
    parser.add_argument(
        "--allow-copies",
        action="store_true",
        help="allow --verify on a server the lab did not start",
    )
    parser.add_argument(
        "--headroom",
        type=float,
        default=10.0,
        help="narrow a column only if its values times this still fit the new type (default: 10)",
    )
    parser.add_argument(
        "--min-rows", type=int, default=1000, help="skip tables with fewer rows (default: 1000)"
    )
    parser.add_argument(
        "--check-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="time limit of each exact check; a check cut off claims nothing (default: 10)",
    )
    parser.add_argument(
        "--sample-rows",
        type=int,
        default=30_000,
        help="rows read per table for exact widths; smaller tables are read whole (default: 30000)",
    )
    parser.set_defaults(handler=run)


def _qualified(schema: str, tables: list[str] | None) -> tuple[str, list[str] | None]:
    """``--table shop.orders`` names its schema; all tables must then share one."""
    if not tables:
        return schema, tables
    schemas = {name.split(".", 1)[0] for name in tables if "." in name}
    if len(schemas) > 1 or (schemas and any("." not in name for name in tables)):
        raise DBTuneError("--table names from several schemas; run once per schema (--schema)")
    if schemas:
        return schemas.pop(), [name.split(".", 1)[1] for name in tables]
    return schema, tables


def run(args: argparse.Namespace) -> int:
    from dbtune.advisors.columns import analyze, render_django, render_report_text

    dsn = require_dsn(args)
    if args.headroom < 1:
        raise DBTuneError(f"--headroom {args.headroom:g} is below 1; use 1 (no margin) or more")
    if args.min_rows < 0 or args.sample_rows < 100 or args.check_timeout <= 0:
        raise DBTuneError("--min-rows must be >= 0, --sample-rows >= 100, --check-timeout > 0")
    schema, tables = _qualified(args.schema, args.tables)
    report = analyze(
        dsn,
        tables=tables,
        verify=args.verify,
        allow_copies=args.allow_copies,
        schema=schema,
        headroom=args.headroom,
        min_rows=args.min_rows,
        sample_rows=args.sample_rows,
        check_timeout_ms=int(args.check_timeout * 1000),
        progress=progress,
    )
    if args.format == "json":
        write_json(report.to_json())
    elif args.format == "django":
        sys.stdout.write(render_django(report))
    else:
        sys.stdout.write(render_report_text(report))
    return 0
