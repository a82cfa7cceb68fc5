"""``calibrate``: one node, working sets from 1/8x to 4x its memory, pgbench at each size.

The table is loaded once at the largest size, rows in key order; each point reads keys
from ``1..active_rows`` only, so the *working set* grows without reloading and the first
blocks of the table and its index hold it (which is what ``pg_prewarm`` warms). The node's
memory is its cgroup memory limit when the lab can set one, else its ``shared_buffers`` (a
user server: ``--set memory=SIZE``, else its ``effective_cache_size``). Mixes: select-only
(one primary-key read) and read-write (update + read in one transaction).

Its ``data.sizing`` (largest in-memory working set, ratio after the sharpest drop) is what
``split --calibration results.json`` uses to place its working-set points.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from psycopg import sql

from dbtune.bench import dataset
from dbtune.bench.calibrate_plots import describe
from dbtune.bench.calibrate_report import sizing
from dbtune.bench.context import BenchContext
from dbtune.bench.keys import KeyChoice
from dbtune.bench.measure import PointSpec, measure_point
from dbtune.bench.pgbench import PgbenchLoad
from dbtune.bench.scenario import Scenario, ScenarioReport, register_scenario
from dbtune.bench.servers import SCHEMA, Server, shared_buffers_bytes
from dbtune.errors import DBTuneError

TABLE = "cal_accounts"
MIXES = {
    "select-only": ["SELECT abalance FROM {t} WHERE aid = :aid;"],
    "read-write": [
        "\\set delta random(-5000, 5000)",
        "BEGIN;",
        "UPDATE {t} SET abalance = abalance + :delta WHERE aid = :aid;",
        "SELECT abalance FROM {t} WHERE aid = :aid;",
        "END;",
    ],
}
_INSERT = "INSERT INTO {} (aid) SELECT g FROM generate_series(%(lo)s, %(hi)s) g"


@dataclass
class Plan:
    shared_buffers: str
    memory_limit: str | None
    ratios: list[float]
    mixes: list[str]
    keys: list[str]
    runs: int
    duration_s: int
    warmup_s: float
    clients: int
    jobs: int

    @classmethod
    def from_context(cls, ctx: BenchContext) -> Plan:
        o, s = ctx.options, ctx.options.settings
        quick = o.quick
        ratios = "0.125,0.25,0.5,1,2,4" if quick else "0.125,0.25,0.5,0.75,1,1.5,2,3,4"
        keys = o.keys or ("uniform" if quick else "both")
        clients = o.clients or (4 if quick else 8)
        return cls(
            shared_buffers=s.get("shared_buffers", "16MB" if quick else "128MB"),
            memory_limit=s.get("memory_limit", "96MB" if quick else "512MB") or None,
            ratios=dataset.parse_ratios(s.get("ratios", ratios)),
            mixes=[m for m in s.get("mixes", "select-only,read-write").split(",") if m],
            keys=["uniform", "zipfian"] if keys == "both" else [keys],
            runs=o.runs or (2 if quick else 3),
            duration_s=o.duration_s or (2 if quick else 30),
            warmup_s=1.0 if quick else 10.0,
            clients=clients,
            jobs=o.jobs or min(clients, 2),
        )


@register_scenario
class Calibrate(Scenario):
    name = "calibrate"
    title = "calibration: one node as its data outgrows memory"
    summary = "one node, working set 1/8x..4x its memory, select-only and read-write mixes"
    settings = ("shared_buffers", "memory_limit", "memory", "ratios", "mixes")

    def run(self, ctx: BenchContext) -> dict[str, Any]:
        plan = Plan.from_context(ctx)
        for mix in plan.mixes:
            if mix not in MIXES:
                raise DBTuneError(f"unknown mix {mix!r}; use {', '.join(MIXES)}")
        server = self._server(ctx, plan)
        memory, basis = self._memory(ctx, server)
        total_rows, per_row = self._load(ctx, server, memory * max(plan.ratios))
        points = []
        sweeps = [(mix, keys) for keys in plan.keys for mix in plan.mixes]
        extra = [] if "zipfian" in plan.keys else [("select-only", "zipfian")]
        for mix, keys in sweeps + extra:
            ratios = plan.ratios if (mix, keys) in sweeps else plan.ratios[-1:]
            path = self._script(ctx, mix, keys)
            for ratio in ratios:
                active = max(1, min(total_rows, round(ratio * memory / per_row)))
                ctx.progress(f"{mix}, {keys} keys, working set {ratio:g}x memory")
                load = PgbenchLoad(
                    dsn=server.dsn,
                    scripts=[(path, 1)],
                    clients=plan.clients,
                    jobs=plan.jobs,
                    duration_s=plan.duration_s,
                    defines={"active_rows": active},
                    random_seed=ctx.options.seed,
                )
                spec = PointSpec(
                    id=f"{mix}-{keys}-{ratio:g}x",
                    label=f"{mix}, {keys}, {ratio:g}x memory",
                    topology="single",
                    variables={
                        "mix": mix,
                        "keys": keys,
                        "ratio": ratio,
                        "active_rows": active,
                        "working_set_bytes": round(active * per_row),
                        "actual_ratio": round(active * per_row / memory, 4),
                    },
                    load=load,
                    servers=[server],
                    runs=plan.runs,
                    warmup_s=plan.warmup_s,
                    active={server.name: {TABLE: active / total_rows}},
                )
                points.append(measure_point(ctx, spec))
        buffers = shared_buffers_bytes(server)
        data = {
            "rows": total_rows,
            "bytes_per_row": round(per_row, 2),
            "memory_bytes": memory,
            "memory_basis": basis,
            "shared_buffers_bytes": buffers,
            "memory_limit_bytes": server.memory_limit,
        }
        data["sizing"] = sizing(points, data)
        parameters = {
            "shared_buffers": plan.shared_buffers if server.owned else buffers,
            "memory_limit": plan.memory_limit if server.memory_limit else None,
            "memory_bytes": memory,
            "memory_basis": basis,
            "ratios": plan.ratios,
            "mixes": plan.mixes,
            "keys": [KeyChoice(k).describe() for k in plan.keys],
            "runs": plan.runs,
            "duration_s": plan.duration_s,
            "warmup_s": plan.warmup_s,
            "clients": plan.clients,
            "jobs": plan.jobs,
            "cache": ctx.options.cache,
        }
        topology = {"label": "one instance", "instances": 1, "memory_bytes": memory}
        topology.update({"connections": plan.clients, "servers": [server.name]})
        return {
            "parameters": parameters,
            "topologies": {"single": topology},
            "points": points,
            "data": data,
        }

    def report(self, results: dict[str, Any], out: Path) -> ScenarioReport:
        return describe(results, out)

    def _server(self, ctx: BenchContext, plan: Plan) -> Server:
        if ctx.options.dsn:
            return ctx.user_server("node", ctx.options.dsn)
        if ctx.lab is not None:
            return ctx.existing_lab_server("node")
        return ctx.lab_server(
            "node", shared_buffers=plan.shared_buffers, memory_limit=plan.memory_limit
        )

    def _memory(self, ctx: BenchContext, server: Server) -> tuple[int, str]:
        given = ctx.options.settings.get("memory")
        if given:
            return dataset.parse_bytes(given, "memory"), "--set memory"
        if server.memory_limit:
            return server.memory_limit, "cgroup memory limit"
        if server.owned:
            return shared_buffers_bytes(server), "shared_buffers (no memory limit in force)"
        with server.connect() as conn:
            row = conn.execute(
                "SELECT pg_size_bytes(current_setting('effective_cache_size'))"
            ).fetchone()
        return int(row[0]), "effective_cache_size"

    def _load(self, ctx: BenchContext, server: Server, largest: float) -> tuple[int, float]:
        """Rows loaded and measured bytes per row (heap + primary key)."""
        estimate = 145.0
        wanted = max(1000, round(largest / estimate * 1.03))
        conn = dataset.load_connection(server, server.memory_limit or round(largest / 4))
        with conn:
            table = dataset.qualified(TABLE)
            found = dataset.table_rows(conn, TABLE)
            if found is not None and found >= wanted:
                ctx.progress(f"reusing {TABLE} ({found:,} rows)")
            else:
                ctx.progress(f"loading {TABLE}: {wanted:,} rows (~{largest / 2**20:,.0f} MB)")
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
                conn.execute(
                    sql.SQL(
                        "CREATE TABLE {} (aid integer NOT NULL, abalance integer NOT NULL "
                        "DEFAULT 0, filler character(84) NOT NULL DEFAULT '')"
                    ).format(table)
                )
                dataset.fill(conn, sql.SQL(_INSERT).format(table), wanted, ctx.progress, TABLE)
                conn.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (aid)").format(table))
                conn.execute(sql.SQL("VACUUM ANALYZE {}").format(table))
                found = wanted
            per_row = dataset.relation_bytes(conn, TABLE) / found
        dataset.settle([server], ctx.progress)
        return found, per_row

    def _script(self, ctx: BenchContext, mix: str, keys: str) -> Path:
        lines = [f"-- dbtune bench calibrate: {mix}, {KeyChoice(keys).describe()}"]
        lines += KeyChoice(keys).pgbench_lines("aid", "active_rows")
        table = f"{SCHEMA}.{TABLE}"
        lines += [line.format(t=table) for line in MIXES[mix]]
        name = f"calibrate_{mix.replace('-', '_')}_{keys}"
        return ctx.write_script(name, "\n".join(lines))
