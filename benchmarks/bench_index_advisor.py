"""Throughput of the index advisor on a synthetic workload of 10,000 distinct statements.

The schema has ``--tables`` tables of eight integer/text/timestamp columns; the workload
combines one or two equality predicates, optional ranges, ``ORDER BY``/``LIMIT``, joins
and DML into distinct statement shapes (distinct fingerprints, ``$n`` parameters). The
advisor runs twice on it: without what-if costing (``pg_stats`` estimates; target: the
whole run under 30 s on 2 cores) and with what-if costing (HypoPG when the server has it,
else indexes built in rolled-back transactions), whose time is reported, not judged.

PostgreSQL comes from ``DBTUNE_BENCH_DSN`` if set, else from a throwaway lab (no
replicas; ``DBTUNE_PG_BIN`` picks the binaries, e.g. a PostgreSQL 15 with HypoPG).
Run from the repository root::

    python benchmarks/bench_index_advisor.py [--quick] [--statements N] [--no-costing] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

TARGET_SECONDS = 30.0
COLUMNS = ("a", "b", "c", "d", "e", "f")


def schema(tables: int, rows: int) -> str:
    parts = []
    for t in range(tables):
        parts.append(
            f"CREATE TABLE t{t} (id bigserial PRIMARY KEY, a int NOT NULL, b int NOT NULL, "
            "c int NOT NULL, d text NOT NULL, e text NOT NULL, f int NOT NULL, "
            "created_at timestamptz NOT NULL, parent_id bigint);"
            f"INSERT INTO t{t} (a, b, c, d, e, f, created_at, parent_id) "
            f"SELECT i % 1000, i % 37, i % 5, 'd' || (i % 20000), 'e' || (i % 11), i, "
            f"now() - i * interval '1 minute', i / 3 FROM generate_series(1, {rows}) i;"
        )
    return "\n".join(parts) + "\nANALYZE;"


def shapes(tables: int) -> Iterator[str]:
    """Every statement shape the generator knows, in a stable order."""
    orders = [
        "",
        *[f" ORDER BY {c}{d} LIMIT 20" for c in ("created_at", "f", "a") for d in ("", " DESC")],
    ]
    for t in range(tables):
        other = (t + 1) % tables
        for i, first in enumerate(COLUMNS):
            for second in ("", *COLUMNS[i + 1 :]):
                columns = [first, second] if second else [first]
                where = " AND ".join(f"{c} = ${n}" for n, c in enumerate(columns, start=1))
                joined = " AND ".join(f"x.{c} = ${n}" for n, c in enumerate(columns, start=1))
                for order in orders:
                    yield f"SELECT id, {first} FROM t{t} WHERE {where}{order}"
                recent = "created_at > now() - interval '1 hour'"
                yield f"SELECT count(*) FROM t{t} WHERE {where} AND {recent}"
                yield f"UPDATE t{t} SET f = f + 1 WHERE {where}"
                yield f"DELETE FROM t{t} WHERE {where} AND f < 0"
                join = f"t{t} x JOIN t{other} y ON y.parent_id = x.id"
                yield f"SELECT x.id FROM {join} WHERE {joined}"
        for column in COLUMNS:
            yield f"INSERT INTO t{t} ({column}, created_at) VALUES ($1, now())"


def workload(tables: int, count: int, seed: int = 7) -> str:
    available = list(dict.fromkeys(shapes(tables)))
    if len(available) < count:
        raise SystemExit(
            f"only {len(available)} distinct shapes with {tables} tables; use --tables"
        )
    chosen = random.Random(seed).sample(available, count)
    return ";\n".join(chosen) + ";\n"


@contextlib.contextmanager
def server() -> Iterator[str]:
    dsn = os.environ.get("DBTUNE_BENCH_DSN")
    if dsn:
        yield dsn
        return
    from dbtune.lab import Lab

    lab = Lab(tempfile.mkdtemp(prefix="dbtune-bench-index-"), replicas=0, shared_buffers="128MB")
    lab.up()
    try:
        yield lab.primary.dsn("postgres")
    finally:
        lab.down(remove=True)


def run(dsn: str, sql: str, **options: Any) -> dict[str, Any]:
    from dbtune.advisors.indexes import advise
    from dbtune.advisors.workload import Workload

    loaded = time.perf_counter()
    queries = Workload.from_sql(sql)
    started = time.perf_counter()
    result = advise(dsn, queries, **options)
    seconds = time.perf_counter() - started
    return {
        "costing": result.costing,
        "statements": len(queries),
        "seconds": round(seconds, 2),
        "load_seconds": round(started - loaded, 2),
        "statements_per_second": round(len(queries) / seconds, 1),
        "suggestions": len(result.suggestions),
        "rejected": len(result.rejected),
        "skipped": len(result.skipped),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statements", type=int, default=10_000)
    parser.add_argument("--tables", type=int, default=50)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true", help="1,000 statements, smaller tables")
    parser.add_argument(
        "--no-costing", action="store_true", help="skip the run with what-if costing"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()
    if args.quick:
        args.statements, args.tables, args.rows = 1_000, 10, 5_000
    import psycopg

    sql = workload(args.tables, args.statements)
    results: dict[str, Any] = {"target_seconds": TARGET_SECONDS, "runs": []}
    with server() as admin:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS dbtune_bench_index WITH (FORCE)")
            conn.execute("CREATE DATABASE dbtune_bench_index")
            hypopg = conn.execute(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'hypopg'"
            ).fetchone()
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        parts = conninfo_to_dict(admin) | {"dbname": "dbtune_bench_index"}
        dsn = make_conninfo("", **{k: str(v) for k, v in parts.items()})
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(schema(args.tables, args.rows))
            print(f"schema: {args.tables} tables x {args.rows:,} rows", file=sys.stderr)
            plain = run(dsn, sql, use_hypopg=False)
            plain["ok"] = plain["seconds"] <= TARGET_SECONDS
            results["runs"].append(plain)
            if not args.no_costing:
                if hypopg:
                    with psycopg.connect(dsn, autocommit=True) as conn:
                        conn.execute("CREATE EXTENSION IF NOT EXISTS hypopg")
                    results["runs"].append(run(dsn, sql))
                else:
                    results["runs"].append(run(dsn, sql, use_hypopg=False, allow_index_builds=True))
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute("DROP DATABASE IF EXISTS dbtune_bench_index WITH (FORCE)")
    if args.json:
        json.dump(results, sys.stdout, indent=2)
        print()
    else:
        for entry in results["runs"]:
            verdict = ""
            if "ok" in entry:
                verdict = f"  target <= {TARGET_SECONDS:.0f} s: {'ok' if entry['ok'] else 'MISSED'}"
            print(
                f"{entry['costing']:<22} {entry['statements']:>6} statements in "
                f"{entry['seconds']:>7.2f} s = "
                f"{entry['statements_per_second']:>8.1f} statements/s; "
                f"{entry['suggestions']} suggested, {entry['rejected']} rejected, "
                f"{entry['skipped']} skipped{verdict}"
            )
    return 0 if all(entry.get("ok", True) for entry in results["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
