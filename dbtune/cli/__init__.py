"""The ``dbtune`` command line.

Each subcommand lives in its own module exposing ``register(subparsers)``, which adds an
argparse parser whose ``handler`` default is a callable ``(args) -> int``. ``main`` turns
:class:`~dbtune.errors.DBTuneError` into one line on stderr and exit status 2; machine
output (``--format json``) is the only thing a handler writes to stdout.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from dbtune.errors import DBTuneError

Handler = Callable[[argparse.Namespace], int]

SUBCOMMAND_MODULES = (
    "dbtune.cli.lab",
    "dbtune.cli.demo",
    "dbtune.cli.advise",
    "dbtune.cli.plan",
    "dbtune.cli.routing",
    "dbtune.cli.diff",
    "dbtune.cli.bench",
)


def build_parser() -> argparse.ArgumentParser:
    import importlib

    from dbtune import __version__

    parser = argparse.ArgumentParser(
        prog="dbtune",
        description="Find and fix the database work a Django + PostgreSQL app wastes.",
    )
    parser.add_argument("--version", action="version", version=f"dbtune {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except DBTuneError as exc:
        print(f"dbtune: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # stdout closed early (e.g. piped into `head`): not an error worth a traceback
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("dbtune: interrupted", file=sys.stderr)
        return 130


def run() -> None:
    sys.exit(main())
