"""``fixes``: the example shop's pages before and after dbtune's N+1 and index suggestions.

Django runs in a child process (:mod:`dbtune.bench.fixes_driver`) against the benchmark's
own database (``dbtune_bench_shop``, dropped and recreated each run, so indexes applied by
an earlier run never leak into the "before" numbers). Four variants per page: as written,
with the N+1 fixes (``?fixed=1``), with the index advisor's suggestions applied, and both.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from dbtune.bench import protocol, textout
from dbtune.bench.context import BenchContext
from dbtune.bench.scenario import Scenario, ScenarioReport, register_scenario
from dbtune.bench.servers import Server
from dbtune.bench.stats import latency_summary, percentile, spread
from dbtune.errors import DBTuneError

SHOP_DATABASE = "dbtune_bench_shop"


def fresh_shop_database(server: Server) -> Server:
    """Drop and create the shop's own database on ``server``; the server object for it."""
    from psycopg.conninfo import make_conninfo

    name = sql.Identifier(SHOP_DATABASE)
    with server.connect() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
    shop = dataclasses.replace(server, dsn=make_conninfo(server.dsn, dbname=SHOP_DATABASE))
    with shop.connect() as conn, contextlib.suppress(psycopg.Error):
        # Index advice reads what the pages ran from here; without the extension (no
        # privilege to create it) the advice step reports why and the N+1 numbers stand.
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    return shop


@register_scenario
class Fixes(Scenario):
    name = "fixes"
    title = "the shop's pages before and after dbtune's fixes"
    summary = "example shop pages through Django: queries and latency, before/after fixes"
    settings = ("scale", "rounds")

    def run(self, ctx: BenchContext) -> dict[str, Any]:
        from dbtune.demo import find_example_project

        quick, settings = ctx.options.quick, ctx.options.settings
        scale = float(settings.get("scale", 1.0 if quick else 10.0))
        rounds = int(settings.get("rounds", ctx.options.runs or (10 if quick else 40)))
        if rounds < 1 or scale <= 0:
            raise DBTuneError("--set rounds and --set scale must be positive")
        server = ctx.add_server(fresh_shop_database(self._server(ctx)))
        spec = {
            "dsn": server.dsn,
            "scale": scale,
            "rounds": rounds,
            "apply_indexes": server.owned or ctx.options.allow_writes,
            "index_builds": server.owned,
            "project": str(find_example_project()),
            "result": str(ctx.out / "fixes_raw.json"),
        }
        (ctx.out / "fixes_spec.json").write_text(json.dumps(spec, indent=2))
        before = protocol.snapshot(server)
        self._child(ctx, ctx.out / "fixes_spec.json")
        counters = protocol.difference(before, protocol.snapshot(server))
        raw = json.loads((ctx.out / "fixes_raw.json").read_text())
        points = [_point(variant, raw["pages"]) for variant in _variants(raw["pages"])]
        for point in points:
            textout.print_point(point)
        return {
            "parameters": {"scale": scale, "rounds": rounds, "driver": "django.test.Client"},
            "topologies": {
                "shop": {
                    "label": "Django shop on one instance",
                    "instances": 1,
                    "memory_bytes": server.memory_limit,
                    "connections": 1,
                    "servers": [server.name],
                }
            },
            "points": points,
            "data": {
                "pages": _pages(raw["pages"]),
                "indexes": raw["indexes"],
                "seed": raw["seed"],
                "design": raw.get("design", ""),
                "nodes": {server.name: counters},
            },
        }

    def report(self, results: dict[str, Any], out: Path) -> ScenarioReport:
        from dbtune.bench.fixes_report import describe

        return describe(results, out)

    def _server(self, ctx: BenchContext) -> Server:
        if ctx.options.dsn:
            return ctx.user_server("shop", ctx.options.dsn)
        if ctx.lab is not None:
            return ctx.existing_lab_server("shop")
        return ctx.lab_server("shop", shared_buffers="128MB", memory_limit=None)

    def _child(self, ctx: BenchContext, spec: Path) -> None:
        argv = [sys.executable, "-m", "dbtune.bench.fixes_driver", str(spec)]
        process = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        assert process.stderr is not None
        tail: list[str] = []
        for line in process.stderr:
            line = line.rstrip()
            if line.startswith("[fixes] "):
                ctx.progress(line[len("[fixes] ") :])
            elif line:
                tail = [*tail[-4:], line]
        if process.wait() != 0:
            reason = tail[-1] if tail else f"exit status {process.returncode}"
            raise DBTuneError(f"the shop's Django process failed: {reason}")


def _variants(pages: list[dict[str, Any]]) -> list[str]:
    """The measured variants, in the order reports show them."""
    found = list(pages[0]["variants"]) if pages else []
    from dbtune.bench.fixes_report import VARIANT_ORDER

    return sorted(found, key=lambda v: VARIANT_ORDER.index(v) if v in VARIANT_ORDER else 99)


def _point(variant: str, pages: list[dict[str, Any]]) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    rounds = min(len(page["variants"][variant]["latencies_ms"]) for page in pages)
    for number in range(rounds):
        values = [page["variants"][variant]["latencies_ms"][number] for page in pages]
        runs.append(
            {
                "run": number + 1,
                "tps": len(values) / (sum(values) / 1000) if sum(values) else None,
                "transactions": len(values),
                "failed": sum(1 for p in pages if p["variants"][variant]["status"] >= 500),
                "latency_ms": latency_summary(values),
                "nodes": {},
                "error": None,
            }
        )
    summary: dict[str, Any] = {
        "runs": rounds,
        "tps": spread(r["tps"] for r in runs),
        "latency_ms": {
            key: spread((r["latency_ms"] or {}).get(key) for r in runs)
            for key in ("avg", "stddev", "p50", "p95", "p99", "max")
        },
        "failed": sum(r["failed"] for r in runs),
        "transactions": sum(r["transactions"] for r in runs),
        "nodes": {},
    }
    return {
        "id": variant.replace(" ", "-").replace("+", "plus"),
        "label": f"all pages, {variant}",
        "topology": "shop",
        "driver": "django",
        "variables": {"variant": variant},
        "cache": "warm",
        "runs": runs,
        "summary": summary,
    }


def _pages(pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for page in pages:
        variants = {}
        for variant, found in page["variants"].items():
            ordered = sorted(found["latencies_ms"])
            variants[variant] = {
                "status": found["status"],
                "queries": found["queries"],
                "median_ms": round(percentile(ordered, 50), 3),
                "p95_ms": round(percentile(ordered, 95), 3),
            }
        rows.append({"page": page["page"], "url": page["url"], "variants": variants})
    return rows
