"""Overhead of N+1 detection on a request that runs 100 queries.

Side by side, per backend, the same request through Django's handler (test client, URL
routing, a view that returns JSON) with ``DBTuneMiddleware`` capturing queries, without
(A) and with (B) the N+1 hook, which runs :func:`dbtune.nplusone.detect` around the view:
the detector's own cost (query capture has its own benchmark, ``bench_capture.py``).
Targets: B/A <= 1.10 on SQLite and <= 1.05 on PostgreSQL. For context it also prints,
without a target, the whole cost against a project without dbtune at all.

The view is the detector's worst case: nothing but queries, one list query then per row a
lazy foreign key, a many-to-many read and a ``count()`` (1 + 3 x 33 = 100 queries), so
every hook and both detectors work and each request reports 3 findings. ``--orm-only``
also times that loop inside ``detect()`` with no request around it.

PostgreSQL comes from ``DBTUNE_BENCH_DSN`` if set, else from a throwaway lab (no replicas).
Run from the repository root::

    python benchmarks/bench_nplusone.py [--quick] [--sqlite-only] [--orm-only] [--json FILE]
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

import django
from _harness import benchmark_postgres, compare, print_summary, side_by_side_databases
from django.conf import settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for the test app

TARGETS = {"sqlite": 1.10, "postgresql": 1.05}
ROWS = 33
QUERIES = 1 + 3 * ROWS
REPEAT = 3  # requests per sample
DETECTOR_MIDDLEWARE = ["dbtune.middleware.DBTuneMiddleware"]

urlpatterns: list[Any] = []
"""Filled by :func:`_configure` (this module is the ``ROOT_URLCONF``)."""


def _configure(pg_dsn: str | None) -> None:
    settings.configure(
        DATABASES=side_by_side_databases(pg_dsn),
        INSTALLED_APPS=["django.contrib.contenttypes", "dbtune", "tests.testapp"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=[],
        ALLOWED_HOSTS=["testserver"],
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        DBTUNE={"NPLUSONE": {"ACTION": "log"}},
        LOGGING_CONFIG=None,
    )
    django.setup()
    logging.getLogger("dbtune").addHandler(logging.NullHandler())
    logging.getLogger("dbtune").propagate = False
    from django.urls import path

    urlpatterns.append(path("books/<str:alias>/", _view))


def _request_body(alias: str) -> list[list[Any]]:
    from tests.testapp.models import Book

    books = Book.objects.using(alias)
    loaded = list(books.all())
    rows: list[list[Any]] = [[book.title, book.author.name] for book in loaded]
    for row, book in zip(rows, loaded, strict=True):
        row.append([tag.name for tag in book.tags.all()])
        row.append(books.filter(author_id=book.author_id).count())
    return rows


def _view(request: Any, alias: str) -> Any:
    from django.http import JsonResponse

    return JsonResponse({"books": _request_body(alias)})


def _schema(alias: str, create: bool) -> None:
    """Migrate the test app's tables in (or out of) ``alias``."""
    from django.core.management import call_command

    target = [] if create else ["testapp", "zero"]
    call_command("migrate", *target, database=alias, verbosity=0)


def _seed(alias: str) -> None:
    from tests.testapp.models import Author, Book, Tag

    tags = [Tag.objects.using(alias).create(name=f"tag {n}") for n in range(3)]
    for n in range(ROWS):
        author = Author.objects.using(alias).create(name=f"author {n}")
        book = Book.objects.using(alias).create(title=f"book {n}", author=author)
        book.tags.set(tags[:2])


def _clients(url: str) -> tuple[Any, Any]:
    """A client without dbtune and one with the middleware (each loads its middleware once,
    on first use)."""
    from django.test import Client, override_settings

    plain, instrumented = Client(), Client()
    plain.get(url)
    with override_settings(MIDDLEWARE=DETECTOR_MIDDLEWARE):
        instrumented.get(url)
    return plain, instrumented


def _hook(on: bool) -> None:
    from dbtune import middleware
    from dbtune.nplusone.integration import NPlusOneHook

    if on and NPlusOneHook not in middleware.registered_hooks():
        middleware.register_hook(NPlusOneHook)
    if not on and NPlusOneHook in middleware.registered_hooks():
        middleware._HOOKS.remove(NPlusOneHook)


def _run_backend(alias: str, rounds: int, orm_only: bool) -> list[dict[str, Any]]:
    from django.db import connections

    from dbtune import nplusone

    connection = connections[alias]
    _schema(alias, create=True)
    _seed(alias)
    url = f"/books/{alias}/"
    plain_client, client = _clients(url)

    def without_dbtune() -> None:
        for _ in range(REPEAT):
            assert plain_client.get(url).status_code == 200

    def capture_only() -> None:
        _hook(False)
        for _ in range(REPEAT):
            assert len(client.get(url).wsgi_request.dbtune.queries) == QUERIES

    def detected() -> None:
        _hook(True)
        for _ in range(REPEAT):
            report = client.get(url).wsgi_request.dbtune
            assert len(report.queries) == QUERIES, len(report.queries)
            assert len(report.findings) == 3, report.findings

    def orm_plain() -> None:
        for _ in range(REPEAT):
            _request_body(alias)

    def orm_detected() -> None:
        for _ in range(REPEAT):
            with nplusone.detect(action="none") as report:
                _request_body(alias)
            assert len(report.findings) == 3, report.findings

    results = []
    try:
        results.append(
            compare(
                f"N+1 detection on a {QUERIES}-query request on {connection.vendor}",
                capture_only,
                detected,
                labels=("middleware", "middleware + N+1"),
                rounds=rounds,
                target=TARGETS[connection.vendor],
                unit=f"{REPEAT} requests",
            )
        )
        results.append(
            compare(
                f"all of dbtune on that request on {connection.vendor} (no target)",
                without_dbtune,
                detected,
                labels=("no dbtune", "middleware + N+1"),
                rounds=rounds,
                unit=f"{REPEAT} requests",
            )
        )
        if orm_only:
            results.append(
                compare(
                    f"the bare {QUERIES}-query ORM loop on {connection.vendor} (no target)",
                    orm_plain,
                    orm_detected,
                    labels=("plain", "detect()"),
                    rounds=rounds,
                    unit=f"{REPEAT} loops",
                )
            )
    finally:
        _schema(alias, create=False)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--orm-only", action="store_true", help="also time the bare ORM loop")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    rounds = 5 if args.quick else 41

    with benchmark_postgres(args.sqlite_only) as dsn:
        _configure(dsn)
        results = _run_backend("sqlite", rounds, args.orm_only)
        if dsn:
            results += _run_backend("postgresql", rounds, args.orm_only)
    print_summary(results, args.json)
    return 0 if all(result["ok"] is not False for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
