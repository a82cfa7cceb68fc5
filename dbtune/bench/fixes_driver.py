"""The ``fixes`` scenario's Django side, run as ``python -m dbtune.bench.fixes_driver SPEC``.

Django can be set up once per process, so the shop runs in this child process against the
database named in the spec (JSON file): migrate, seed, then drive every page of
``shop.pages.PAGES`` through Django's full request stack (URL routing, middleware, views,
templates; no network) as written and with ``?fixed=1`` (dbtune's N+1 fixes), then again
after applying the index advisor's suggestions for the workload the pages ran. Query
counts come from one captured request; latencies from ``rounds`` uncaptured requests
after one warm-up, in interleaved rounds; the runs without indexes are split before and
after the indexed runs (A-B-A), so drift on a shared machine shows instead of biasing the
comparison. The result (JSON) is written to ``spec["result"]``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

VARIANTS = ("as written", "N+1 fixed")


def say(message: str) -> None:
    print(f"[fixes] {message}", file=sys.stderr, flush=True)


def setup(spec: dict[str, Any]) -> None:
    sys.path.insert(0, spec["project"])
    os.environ["DATABASE_URL"] = spec["dsn"]
    os.environ["DJANGO_SETTINGS_MODULE"] = "shop.settings"
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ["SHOP_DBTUNE"] = "0"  # measure the shop, not dbtune's own instrumentation
    os.environ.pop("DBTUNE_REPLICA_DSNS", None)
    import django

    django.setup()
    from django.db import connections

    # One persistent connection, as production deployments keep (or pool) them: otherwise
    # every request would pay for a new PostgreSQL backend and hide the query costs.
    connections["default"].settings_dict["CONN_MAX_AGE"] = None


def _urls() -> list[tuple[str, str, str]]:
    """``(page, variant, url)`` for every page of the shop and both code variants."""
    from shop.pages import PAGES  # type: ignore[import-not-found]  # example_project on sys.path

    found = []
    for name, url in PAGES:
        joiner = "&" if "?" in url else "?"
        found += [(name, VARIANTS[0], url), (name, VARIANTS[1], f"{url}{joiner}fixed=1")]
    return found


def measure(rounds: int, label: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Query counts (one captured request each), a warm-up, then ``rounds`` interleaved
    rounds of one request per page and variant, so drift hits every variant alike."""
    from django.test import Client

    from dbtune.capture import capture_queries

    client = Client()
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for page, variant, url in _urls():
        with capture_queries() as captured:
            status = client.get(url).status_code
        client.get(url)
        found[(page, variant + label)] = {
            "url": url,
            "status": status,
            "queries": len(captured),
            "latencies_ms": [],
        }
    for _ in range(rounds):
        for page, variant, url in _urls():
            started = time.perf_counter()
            client.get(url)
            elapsed = (time.perf_counter() - started) * 1000
            found[(page, variant + label)]["latencies_ms"].append(elapsed)
    say(f"measured {len(found)} page variants{label}, {rounds} round(s)")
    return found


def advise(spec: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Index advice for what the pages ran (pg_stat_statements of the shop's database)."""
    import psycopg

    from dbtune.advisors.indexes import advise as advise_indexes
    from dbtune.advisors.workload import PgStatStatements, Workload

    with psycopg.connect(spec["dsn"], autocommit=True) as conn:
        workload = Workload().read(PgStatStatements(conn))
    result = advise_indexes(spec["dsn"], workload, allow_index_builds=spec["index_builds"])
    record = {
        "suggested": [s.sql for s in result.suggestions],
        "applied": [],
        "costing": result.costing,
    }
    return result, record


def apply(spec: dict[str, Any], result: Any, record: dict[str, Any], drop: bool) -> None:
    """Create (or drop again) the suggested indexes, then refresh statistics."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(spec["dsn"], autocommit=True) as conn:
        for suggestion in result.suggestions:
            if drop:
                schema = suggestion.candidate.table[0] or "public"
                name = sql.Identifier(schema, suggestion.name)
                conn.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(name))
            else:
                conn.execute(suggestion.sql)
                record["applied"].append(suggestion.sql)
        conn.execute("ANALYZE")


def reset_statements(dsn: str) -> None:
    """Forget this database's entries in pg_stat_statements (other databases keep theirs)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")
        if found.fetchone() is not None:
            conn.execute(
                "SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database "
                "WHERE datname = current_database()), 0)"
            )


def merge(*phases: dict[tuple[str, str], dict[str, Any]]) -> list[dict[str, Any]]:
    """Pages with their variants; phases measuring the same variant pool their latencies."""
    pages: dict[str, dict[str, Any]] = {}
    for phase in phases:
        for (page, variant), found in phase.items():
            entry = pages.setdefault(page, {"page": page, "url": found["url"], "variants": {}})
            known = entry["variants"].get(variant)
            if known is None:
                entry["variants"][variant] = dict(found)
            else:
                known["latencies_ms"] = known["latencies_ms"] + found["latencies_ms"]
    return list(pages.values())


def main(path: str) -> int:
    spec = json.loads(Path(path).read_text())
    setup(spec)
    from django.core.management import call_command

    from shop.seeding import seed  # type: ignore[import-not-found]  # example_project on sys.path

    say("migrating the shop")
    call_command("migrate", verbosity=0, interactive=False)
    say(f"seeding the shop at scale {spec['scale']:g}")
    started = time.perf_counter()
    counts = seed(scale=spec["scale"], seed=42, using="default", log=lambda _: None)
    result: dict[str, Any] = {"seed": {"rows": counts, "seconds": time.perf_counter() - started}}
    reset_statements(spec["dsn"])
    half = max(1, (spec["rounds"] + 1) // 2)
    first = measure(half, "")
    phases = [first]
    try:
        advice, result["indexes"] = advise(spec)
    except Exception as exc:  # the advisor is optional here: say why and keep N+1 numbers
        advice, result["indexes"] = None, {"error": f"{type(exc).__name__}: {exc}".splitlines()[0]}
    if advice is not None and advice.suggestions and spec["apply_indexes"]:
        apply(spec, advice, result["indexes"], drop=False)
        phases.append(measure(spec["rounds"], " + indexes"))
        apply(spec, advice, result["indexes"], drop=True)
        phases.append(measure(spec["rounds"] - half, ""))
    result["pages"] = merge(*phases)
    result["design"] = (
        "without indexes: measured before creating them and again after dropping them "
        "(pooled); with indexes: measured in between; each round requests every page and "
        "variant once, in the same order"
    )
    Path(spec["result"]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
