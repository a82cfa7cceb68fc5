"""Options shared by the DBA-facing subcommands, so they read and fail the same way."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from dbtune.errors import DBTuneError


def add_dsn(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dsn",
        default=os.environ.get("DBTUNE_DSN"),
        help="PostgreSQL connection string (default: $DBTUNE_DSN)",
    )


def add_format(parser: argparse.ArgumentParser, *choices: str) -> None:
    formats = choices or ("text", "json")
    parser.add_argument("--format", choices=formats, default=formats[0], help="output format")


def require_dsn(args: argparse.Namespace) -> str:
    dsn: str | None = getattr(args, "dsn", None)
    if not dsn:
        raise DBTuneError(
            "no database given; pass --dsn postgresql://USER@HOST:PORT/DBNAME or set DBTUNE_DSN"
        )
    return dsn


def write_json(document: Any) -> None:
    """Write exactly one JSON document to stdout (nothing else goes to stdout)."""
    json.dump(document, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
