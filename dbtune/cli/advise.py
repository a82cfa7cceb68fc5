"""``dbtune advise <advisor>``: each advisor module registers its own sub-subcommand."""

from __future__ import annotations

import importlib
from typing import Any

ADVISOR_MODULES = ("dbtune.cli.advise_indexes", "dbtune.cli.advise_columns")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "advise", help="index and column advice for a PostgreSQL database"
    )
    advisors = parser.add_subparsers(dest="advisor", metavar="ADVISOR")
    advisors.required = True
    for name in ADVISOR_MODULES:
        importlib.import_module(name).register(advisors)
