"""Options shared by the DBA-facing subcommands, so they read and fail the same way."""

from __future__ import annotations

import argparse
import json
import os
import re
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


_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(?:([kmgt])i?)?b?\s*", re.IGNORECASE)


def parse_bytes(text: str, option: str) -> int:
    """Bytes in a human size such as ``512MB``, ``2GiB``, ``1.5GB``, ``64kB`` or ``1048576``.

    Units are powers of 1024 whether written ``MB`` or ``MiB``, as PostgreSQL reads its own
    memory settings. Raises :class:`DBTuneError` naming ``option`` when ``text`` is not a
    positive size.
    """
    match = _SIZE.fullmatch(text)
    if match is None:
        raise DBTuneError(
            f"{option} {text!r} is not a size; use bytes or a number with kB, MB, GB or TB "
            "(MiB, GiB also accepted)"
        )
    size = int(float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "").lower()])
    if size <= 0:
        raise DBTuneError(f"{option} {text!r} must be more than 0 bytes")
    return size
