"""``replicas``: table-affine read replicas against round-robin, under bounded memory.

A lab primary with two streaming replicas; ``tables`` tables of equal size, together
about ``working_set`` times one replica's ``shared_buffers``. Once the data is loaded and
replayed, every node's memory cgroup is tightened to ``memory_limit`` (when cgroups are
usable; otherwise only ``shared_buffers`` bounds a node and the report says so). Points,
measured side by side with interleaved runs:

- ``primary``: pgbench on the primary alone, every table;
- ``round-robin``: one pgbench per replica, each reading every table (what a read/write
  split router that alternates replicas gives);
- ``affine``: one pgbench per replica, each reading only the tables it owns (oracle
  routing: the routing a perfect table-affinity router would give);
- ``django-round-robin`` / ``django-affine``: Python clients through Django, with a
  round-robin router and with :class:`~dbtune.routing.TableAffinityRouter`.

A transaction reads ``keys_per_read`` random rows of one table by primary key (a page of
items). Every node reports its buffer hit ratio per run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from psycopg import sql

from dbtune.bench import dataset
from dbtune.bench.context import BenchContext
from dbtune.bench.load import Load
from dbtune.bench.measure import PointSpec, measure_side_by_side
from dbtune.bench.parallel import ParallelLoad
from dbtune.bench.pgbench import PgbenchLoad
from dbtune.bench.replicas.router_load import RouterLoad
from dbtune.bench.scenario import Scenario, ScenarioReport, register_scenario
from dbtune.bench.servers import BENCH_DATABASE, SCHEMA, Server, lab_node_server
from dbtune.errors import DBTuneError

BYTES_PER_ROW = 122.0
"""Heap + primary key per row of the tables below (measured again after loading)."""
POINTS = ("primary", "round-robin", "affine", "django-round-robin", "django-affine")
REPLICAS = ("replica1", "replica2")


@dataclass
class Plan:
    shared_buffers: int
    memory_limit: int | None
    """``None`` (``--set memory_limit=``): no cgroup, ``shared_buffers`` bounds only."""
    tables: int
    working_set: float
    keys_per_read: int
    points: list[str]
    runs: int
    duration_s: int
    warmup_s: float
    clients: int

    @classmethod
    def from_context(cls, ctx: BenchContext) -> Plan:
        o, s = ctx.options, ctx.options.settings
        given = s.get("shared_buffers", "48MB" if o.quick else "128MB")
        buffers = dataset.parse_bytes(given, "shared_buffers")
        limit = s.get("memory_limit")
        points = [p for p in s.get("points", ",".join(POINTS)).split(",") if p]
        plan = cls(
            shared_buffers=buffers,
            memory_limit=(
                round(buffers * 1.1) + 32 * 2**20
                if limit is None
                else (dataset.parse_bytes(limit, "memory_limit") if limit else None)
            ),
            tables=int(_number(s, "tables", "4")),
            working_set=_number(s, "working_set", "1.7"),
            keys_per_read=int(_number(s, "keys_per_read", "10")),
            points=points,
            runs=o.runs or (2 if o.quick else 3),
            duration_s=o.duration_s or (8 if o.quick else 30),
            warmup_s=3.0 if o.quick else 10.0,
            clients=o.clients or 4,
        )
        plan.validate()
        return plan

    def validate(self) -> None:
        unknown = [p for p in self.points if p not in POINTS]
        if unknown or not self.points:
            raise DBTuneError(f"--set points: use a comma-separated subset of {','.join(POINTS)}")
        if self.tables < 2 or self.tables % 2:
            raise DBTuneError("--set tables must be an even number of at least 2")
        if not 0.2 <= self.working_set <= 8:
            raise DBTuneError("--set working_set is a multiple of shared_buffers in 0.2..8")
        if not 1 <= self.keys_per_read <= 1000:
            raise DBTuneError("--set keys_per_read must be between 1 and 1000")
        if self.memory_limit is not None and self.memory_limit <= self.shared_buffers + 8 * 2**20:
            raise DBTuneError("--set memory_limit must exceed shared_buffers by at least 8MB")
        if self.clients < 2 or self.clients % 2:
            raise DBTuneError("--clients must be an even number (split over two replicas)")


def _number(settings: dict[str, str], key: str, default: str) -> float:
    text = settings.get(key, default)
    try:
        return float(text)
    except ValueError:
        raise DBTuneError(f"--set {key}={text!r}: give a number") from None


def table_names(count: int) -> list[str]:
    return [f"rep_t{i}" for i in range(1, count + 1)]


def owners(tables: list[str]) -> dict[str, list[str]]:
    """First half of the tables to ``replica1``, second half to ``replica2``; each table's
    list is ordered (owner first, the other replica as its fallback)."""
    half = len(tables) // 2
    return {
        table: list(REPLICAS) if index < half else list(reversed(REPLICAS))
        for index, table in enumerate(tables)
    }


@register_scenario
class Replicas(Scenario):
    name = "replicas"
    title = "replicas: table-affine routing against round-robin under bounded memory"
    summary = "primary + 2 replicas, memory-bounded: primary only, round-robin, table-affine"
    settings = (
        "shared_buffers",
        "memory_limit",
        "tables",
        "working_set",
        "keys_per_read",
        "points",
    )

    def run(self, ctx: BenchContext) -> dict[str, Any]:
        if ctx.options.dsn or ctx.options.service_dsns:
            raise DBTuneError(
                "the replicas scenario starts its own primary + 2 replicas with bounded "
                "memory; it takes no --dsn (point the router at real replicas instead)"
            )
        plan = Plan.from_context(ctx)
        lab = ctx.lab_cluster(
            "replicas",
            replicas=len(REPLICAS),
            shared_buffers=dataset.mb(plan.shared_buffers),
            memory_limit=(
                dataset.mb(plan.memory_limit * 4 + 64 * 2**20) if plan.memory_limit else None
            ),
        )
        lab.create_database(BENCH_DATABASE)
        primary = ctx.add_server(lab_node_server("primary", lab, "primary"))
        tables = table_names(plan.tables)
        rows, per_row = self._load(ctx, primary, plan, tables)
        lab.wait_for_replay(timeout=120)
        replicas = [ctx.add_server(lab_node_server(n, lab, n)) for n in REPLICAS]
        dataset.settle([primary, *replicas], ctx.progress)
        limited = self._bound(ctx, lab, plan, [primary, *replicas])
        affinity = owners(tables)
        specs = [
            self._point(ctx, plan, name, primary, replicas, rows, affinity) for name in plan.points
        ]
        points = measure_side_by_side(ctx, specs)
        table_bytes = round(per_row * rows)
        bound = plan.memory_limit if limited else None
        memory = bound or plan.shared_buffers
        return {
            "parameters": {
                "shared_buffers": dataset.mb(plan.shared_buffers),
                "memory_limit": dataset.mb(plan.memory_limit)
                if plan.memory_limit and limited
                else None,
                "tables": plan.tables,
                "working_set": plan.working_set,
                "keys_per_read": plan.keys_per_read,
                "points": plan.points,
                "runs": plan.runs,
                "duration_s": plan.duration_s,
                "warmup_s": plan.warmup_s,
                "clients": plan.clients,
                "cache": ctx.options.cache,
            },
            "topologies": self._topologies(plan, memory),
            "points": points,
            "data": {
                "rows_per_table": rows,
                "bytes_per_row": round(per_row, 2),
                "table_bytes": table_bytes,
                "working_set_bytes": table_bytes * plan.tables,
                "per_replica_bytes": table_bytes * plan.tables // 2,
                "shared_buffers_bytes": plan.shared_buffers,
                "memory_bytes": memory,
                "memory_limits": limited,
                "affinity": affinity,
            },
        }

    def report(self, results: dict[str, Any], out: Path) -> ScenarioReport:
        from dbtune.bench.replicas.report import describe

        return describe(results, out)

    def check(self, results: dict[str, Any]) -> list[str]:
        from dbtune.bench.replicas.report import sanity

        return sanity(results)

    def _load(
        self, ctx: BenchContext, server: Server, plan: Plan, tables: list[str]
    ) -> tuple[int, float]:
        """Rows per table and measured bytes per row; tables already loaded are reused."""
        target = plan.working_set * plan.shared_buffers / plan.tables
        wanted = max(1000, round(target / BYTES_PER_ROW))
        with dataset.load_connection(server, plan.memory_limit or 4 * plan.shared_buffers) as conn:
            for table in tables:
                if dataset.table_rows(conn, table) == wanted:
                    ctx.progress(f"reusing {table} ({wanted:,} rows)")
                    continue
                name = dataset.qualified(table)
                ctx.progress(f"loading {table}: {wanted:,} rows (~{target / 2**20:,.0f} MB)")
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(name))
                conn.execute(
                    sql.SQL(
                        "CREATE TABLE {} (id integer NOT NULL, v integer NOT NULL, pad text)"
                    ).format(name)
                )
                insert = sql.SQL(
                    "INSERT INTO {} SELECT g, g %% 1000, repeat('x', 60) "
                    "FROM generate_series(%(lo)s, %(hi)s) g"
                ).format(name)
                dataset.fill(conn, insert, wanted, ctx.progress, table)
                conn.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (id)").format(name))
                conn.execute(sql.SQL("VACUUM ANALYZE {}").format(name))
            per_row = dataset.relation_bytes(conn, tables[0]) / wanted
        return wanted, per_row

    def _bound(self, ctx: BenchContext, lab: Any, plan: Plan, servers: list[Server]) -> bool:
        """Tighten every node's memory cgroup to the plan's limit; whether all now have it."""
        from dbtune.errors import LabError

        if plan.memory_limit is None:
            ctx.note("no memory limit asked (--set memory_limit=): shared_buffers bounds only")
            return False
        if not lab.memory_limits_active:
            ctx.note("memory limits not in force (no usable cgroup): shared_buffers bounds only")
            return False
        for server in servers:
            try:
                server.memory_limit = lab.set_memory_limit(server.node, plan.memory_limit)
            except LabError as exc:
                raise DBTuneError(str(exc)) from None
        ctx.progress(f"memory limit of every node: {dataset.mb(plan.memory_limit)}")
        return True

    def _point(
        self,
        ctx: BenchContext,
        plan: Plan,
        name: str,
        primary: Server,
        replicas: list[Server],
        rows: int,
        affinity: dict[str, list[str]],
    ) -> PointSpec:
        tables = list(affinity)
        routing = name.removeprefix("django-")
        reads = {
            r.name: [t for t in tables if routing != "affine" or affinity[t][0] == r.name]
            for r in replicas
        }
        servers = replicas
        active = {r: dict.fromkeys(t, 1.0) for r, t in reads.items()}
        load: Load
        if name == "primary":
            servers, active = [primary], {primary.name: dict.fromkeys(tables, 1.0)}
            load = self._pgbench(ctx, plan, primary, tables, rows, plan.clients)
        elif name == routing:
            parts = {r.name: self._pgbench(ctx, plan, r, reads[r.name], rows) for r in replicas}
            load = ParallelLoad(dict(parts))
        else:
            load = RouterLoad(
                databases={"default": primary.dsn, **{r.name: r.dsn for r in replicas}},
                routing=routing,
                affinity=affinity,
                rows=dict.fromkeys(tables, rows),
                keys_per_read=plan.keys_per_read,
                clients=plan.clients,
                duration_s=plan.duration_s,
                schema=SCHEMA,
                seed=ctx.options.seed,
            )
        return PointSpec(
            id=name,
            label=LABELS[name],
            topology=name,
            variables={"routing": name, "tables": tables},
            load=load,
            servers=servers,
            runs=plan.runs,
            warmup_s=plan.warmup_s,
            active=active,
        )

    def _pgbench(
        self,
        ctx: BenchContext,
        plan: Plan,
        server: Server,
        tables: list[str],
        rows: int,
        clients: int | None = None,
    ) -> PgbenchLoad:
        """pgbench on ``server`` over ``tables``; ``clients`` defaults to half the plan's."""
        scripts = [(self._script(ctx, plan, table, rows), 1) for table in tables]
        return PgbenchLoad(
            dsn=server.dsn,
            scripts=scripts,
            clients=clients or plan.clients // len(REPLICAS),
            jobs=1,
            duration_s=plan.duration_s,
            random_seed=ctx.options.seed,
        )

    def _script(self, ctx: BenchContext, plan: Plan, table: str, rows: int) -> Path:
        keys = [f"k{i}" for i in range(plan.keys_per_read)]
        lines = [f"-- dbtune bench replicas: {plan.keys_per_read} random rows of {table} by key"]
        lines += [f"\\set {key} random(1, {rows})" for key in keys]
        placeholders = ", ".join(f":{key}" for key in keys)
        lines.append(f"SELECT sum(v) FROM {SCHEMA}.{table} WHERE id IN ({placeholders});")
        return ctx.write_script(f"replicas_read_{table}", "\n".join(lines))

    def _topologies(self, plan: Plan, memory: int) -> dict[str, Any]:
        found = {}
        for name in plan.points:
            single = name == "primary"
            found[name] = {
                "label": LABELS[name],
                "instances": 1 if single else len(REPLICAS),
                "memory_bytes": memory if single else memory * len(REPLICAS),
                "connections": plan.clients,
                "servers": ["primary"] if single else list(REPLICAS),
            }
        return found


LABELS = {
    "primary": "primary only (pgbench)",
    "round-robin": "round-robin replicas (pgbench)",
    "affine": "table-affine replicas (pgbench, oracle routing)",
    "django-round-robin": "round-robin router (Django, Python clients)",
    "django-affine": "TableAffinityRouter (Django, Python clients)",
}
