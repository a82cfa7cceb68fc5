"""``manage.py dbtune <subcommand>``: the ``dbtune`` command inside a Django project.

Same subcommands and options as the ``dbtune`` console script. ``--database ALIAS`` turns a
``DATABASES`` entry into the ``--dsn`` the subcommand expects, so a developer does not
have to spell out connection strings. ``routing stats`` takes nodes instead: ``--database``
names one, and without it (and without ``--node``/``--dsn``) every PostgreSQL alias is a node.
"""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections


def postgresql_aliases() -> list[str]:
    """Every ``DATABASES`` alias served by PostgreSQL, in settings order."""
    return [alias for alias in connections if "postgresql" in connections.settings[alias]["ENGINE"]]


def routing_nodes(database: str | None) -> list[str]:
    """``--node ALIAS=DSN`` arguments for ``routing stats``: ``--database`` or every alias."""
    aliases = [database] if database else postgresql_aliases()
    if not aliases:
        raise CommandError("routing stats: no PostgreSQL database in DATABASES")
    return [arg for alias in aliases for arg in ("--node", f"{alias}={dsn_for_alias(alias)}")]


def dsn_for_alias(alias: str) -> str:
    """A libpq connection string for a PostgreSQL ``DATABASES`` alias."""
    from psycopg.conninfo import make_conninfo

    if alias not in connections.settings:
        raise CommandError(f"--database {alias!r} is not in DATABASES ({', '.join(connections)})")
    entry = connections.settings[alias]
    if "postgresql" not in entry["ENGINE"]:
        raise CommandError(f"--database {alias!r} is not a PostgreSQL database ({entry['ENGINE']})")
    parts = {
        "dbname": entry.get("NAME") or "",
        "user": entry.get("USER") or "",
        "password": entry.get("PASSWORD") or "",
        "host": entry.get("HOST") or "",
        "port": str(entry.get("PORT") or ""),
    }
    return make_conninfo("", **{k: v for k, v in parts.items() if v})


ALIASES = {
    "advise-indexes": ["advise", "indexes"],
    "advise-columns": ["advise", "columns"],
    "plan-affinity": ["plan", "affinity"],
    "routing-stats": ["routing", "stats"],
}
"""Hyphenated spellings accepted by ``manage.py dbtune`` (``advise-indexes``)."""


class Command(BaseCommand):
    help = "dbtune: N+1 detection, index advice, column slimming, routing plans, benchmarks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", default=None, help="use this DATABASES alias as --dsn")
        parser.add_argument("subcommand", nargs=argparse.REMAINDER, help="dbtune subcommand")

    def handle(self, *args: Any, **options: Any) -> None:
        from dbtune.cli import main

        argv: list[str] = list(options["subcommand"])
        if argv and argv[0] in ALIASES:
            argv = [*ALIASES[argv[0]], *argv[1:]]
        if not argv:
            raise CommandError("give a subcommand, e.g. `manage.py dbtune lab status`")
        if argv[:2] == ["routing", "stats"]:
            if not any(arg.split("=", 1)[0] in ("--node", "--dsn") for arg in argv):
                argv += routing_nodes(options["database"])
        elif options["database"] and "--dsn" not in argv:
            argv += ["--dsn", dsn_for_alias(options["database"])]
        status = main(argv)
        if status:
            raise SystemExit(status)
