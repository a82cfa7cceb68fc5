"""Overhead of ``dbtune.capture_queries()`` on 100 primary-key ORM queries.

Side by side, per backend: the same loop of ``Item.objects.get(pk=...)`` without capture (A)
and inside ``capture_queries()`` (B). Targets: B/A <= 1.10 on SQLite (queries take a few
microseconds, so the wrapper's own cost shows) and <= 1.05 on PostgreSQL.

PostgreSQL comes from ``DBTUNE_BENCH_DSN`` if set, else from a throwaway lab (no replicas).
Run from the repository root::

    python benchmarks/bench_capture.py [--quick] [--sqlite-only]
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path
from typing import Any

import django
from _harness import benchmark_postgres, compare, print_summary, side_by_side_databases
from django.conf import settings

TARGETS = {"sqlite": 1.10, "postgresql": 1.05}
QUERIES = 100
REPEAT = 3  # loops of QUERIES per sample, each loop in its own capture_queries() block


def _configure(pg_dsn: str | None) -> None:
    settings.configure(
        DATABASES=side_by_side_databases(pg_dsn),
        INSTALLED_APPS=[],
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    )
    django.setup()


@functools.cache
def _item_model() -> Any:
    from django.db import models

    class Item(models.Model):
        name = models.CharField(max_length=50)

        class Meta:
            app_label = "bench_capture"
            db_table = "bench_capture_item"

        def __str__(self) -> str:
            return self.name

    return Item


def _run_backend(alias: str, rounds: int) -> dict[str, Any]:
    from django.db import connections

    import dbtune

    Item = _item_model()
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_capture_item")
    with connection.schema_editor() as editor:
        editor.create_model(Item)
    Item.objects.using(alias).bulk_create(Item(name=f"item {n}") for n in range(QUERIES))
    ids = list(Item.objects.using(alias).values_list("pk", flat=True))
    manager = Item.objects.db_manager(alias)

    def plain() -> None:
        for _ in range(REPEAT):
            for pk in ids:
                manager.get(pk=pk)

    def captured() -> None:
        for _ in range(REPEAT):
            with dbtune.capture_queries() as queries:
                for pk in ids:
                    manager.get(pk=pk)
            assert len(queries) == QUERIES

    try:
        return compare(
            f"{QUERIES} primary-key queries on {connection.vendor}",
            plain,
            captured,
            labels=("plain", "capture_queries()"),
            rounds=rounds,
            target=TARGETS[connection.vendor],
            unit=f"{REPEAT} x {QUERIES} queries",
        )
    finally:
        with connection.schema_editor() as editor:
            editor.delete_model(Item)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    rounds = 5 if args.quick else 41

    with benchmark_postgres(args.sqlite_only) as dsn:
        _configure(dsn)
        results = [_run_backend("sqlite", rounds)]
        if dsn:
            results.append(_run_backend("postgresql", rounds))
    print_summary(results, args.json)
    return 0 if all(result["ok"] for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
