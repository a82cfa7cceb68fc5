"""``manage.py seed --scale N [--seed S]``: replace the shop's data, deterministically."""

from __future__ import annotations

import json
from argparse import ArgumentParser, ArgumentTypeError
from typing import Any

from django.core.management.base import BaseCommand

from shop.seeding import seed


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise ArgumentTypeError(f"must be positive: {text!r}")
    return value


class Command(BaseCommand):
    help = (
        "Empty the shop's tables and fill them with deterministic data. Scale 1 is about "
        "50 MB on PostgreSQL (COPY); keep SQLite to small scales such as 0.05."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--scale", type=positive_float, default=1.0)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--database", default="default")
        parser.add_argument("--format", choices=("text", "json"), default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        counts = seed(
            options["scale"],
            seed=options["seed"],
            using=options["database"],
            log=lambda line: self.stderr.write(line),
        )
        if options["format"] == "json":
            self.stdout.write(json.dumps(counts, sort_keys=True))
        else:
            for table, rows in counts.items():
                self.stdout.write(f"{table} {rows}")
