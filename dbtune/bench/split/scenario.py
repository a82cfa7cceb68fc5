"""``split``: scale one instance up (A) or split it per service (B)?

A: one instance with cache memory ``M`` and ``C`` client connections. B: three instances
(customers, catalog, orders) with ``M/3`` each, memory-limited where the lab can. Both are
driven by the same Python driver with the same clients and statements; pgbench also drives
A with the same statements as scripts, as the reference a DBA can rerun. Swept: the
fraction ``x`` of operations that span services, the skew between services (equal or one
hot service) and the working set relative to ``M``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from dbtune.bench import dataset
from dbtune.bench.context import BenchContext
from dbtune.bench.driver import DriverLoad
from dbtune.bench.measure import PointSpec, measure_side_by_side
from dbtune.bench.pgbench import PgbenchLoad
from dbtune.bench.scenario import Scenario, ScenarioReport, register_scenario
from dbtune.bench.servers import SCHEMA, Server
from dbtune.bench.split import network, schema
from dbtune.bench.split.ops import NAMES, SERVICES, Mix, pgbench_script
from dbtune.bench.split.plan import Plan, instance_sizes, make_plan
from dbtune.bench.split.program import Ranges, ScaleUpProgram, SplitProgram
from dbtune.errors import DBTuneError


@register_scenario
class Split(Scenario):
    name = "split"
    title = "scale-up vs split per service"
    summary = "one instance with memory M vs three with M/3 (customers, catalog, orders)"
    settings = ("memory", "overhead", "ratios", "main_ratio", "xs", "grid_x", "skews")

    def run(self, ctx: BenchContext) -> dict[str, Any]:
        plan = make_plan(ctx)
        a, b = self._servers(ctx, plan)
        shape = schema.Shape.for_bytes(plan.largest * plan.memory / 3)
        sizes = self._load(ctx, plan, shape, a, b)
        scripts = {
            name: ctx.write_script(
                f"split_a_{name}_{plan.keys.kind}", pgbench_script(name, SCHEMA, plan.keys)
            )
            for name in NAMES
        }
        runner = _Points(ctx, plan, shape, a, b, scripts)
        for x in plan.xs:  # quick mode: pgbench reference at the ends of the sweep only
            ends = x in (plan.xs[0], plan.xs[-1])
            runner.measure(x, "equal", plan.main_ratio, reference=ends or not plan.quick)
        for ratio in plan.ratios:
            for skew in plan.skews:
                if (ratio, skew) != (plan.main_ratio, "equal") or plan.grid_x not in plan.xs:
                    runner.measure(plan.grid_x, skew, ratio, reference=False)
        buffers = instance_sizes(plan)
        owned = a.owned
        topologies = {
            "A": {
                "label": "scale-up: one instance",
                "instances": 1,
                "memory_bytes": a.memory_limit if owned else None,
                "shared_buffers_bytes": buffers["A"][0] if owned else None,
                "connections": plan.clients,
                "servers": [a.name],
            },
            "B": {
                "label": "split per service: three instances",
                "instances": 3,
                "memory_bytes": sum(s.memory_limit or 0 for s in b.values()) or None,
                "shared_buffers_bytes": 3 * buffers["B"][0] if owned else None,
                "connections": 3 * plan.clients,
                "servers": [server.name for server in b.values()],
            },
        }
        data = {
            "network": network.describe(plan.rtt_ms),
            "shape": {
                "customers": shape.customers,
                "products": shape.products,
                "orders": shape.orders,
            },
            "service_bytes": sizes,
            "drivers": runner.descriptions,
            "instance_sizes": {
                k: {"shared_buffers_bytes": v[0], "memory_limit_bytes": v[1]}
                for k, v in buffers.items()
            },
            "notes": plan.notes,
        }
        return {
            "parameters": plan.to_json(),
            "topologies": topologies,
            "points": runner.points,
            "data": data,
        }

    def report(self, results: dict[str, Any], out: Path) -> ScenarioReport:
        from dbtune.bench.split.report import describe

        return describe(results, out)

    def check(self, results: dict[str, Any]) -> list[str]:
        found = {point["topology"] for point in results["points"]}
        return [f"no point measured topology {t}" for t in ("A", "B") if t not in found]

    def _servers(self, ctx: BenchContext, plan: Plan) -> tuple[Server, dict[str, Server]]:
        given = ctx.options.service_dsns
        if ctx.options.dsn or given:
            missing = [s for s in SERVICES if s not in given]
            unknown = sorted(set(given) - set(SERVICES))
            if not ctx.options.dsn or missing or unknown:
                raise DBTuneError(
                    "split on your own servers needs --dsn (the scale-up node) and "
                    "--service-dsn customers=DSN --service-dsn catalog=DSN "
                    "--service-dsn orders=DSN"
                    + (f"; unknown service {unknown[0]!r}" if unknown else "")
                )
            a = ctx.user_server("a", ctx.options.dsn)
            return a, {s: ctx.user_server(f"b-{s}", given[s]) for s in SERVICES}
        if ctx.lab is not None:
            ctx.note("split starts its own four lab nodes; the lab passed in is not used")
        sizes = instance_sizes(plan)
        a = ctx.lab_server(
            "a", shared_buffers=dataset.mb(sizes["A"][0]), memory_limit=dataset.mb(sizes["A"][1])
        )
        b = {
            service: ctx.lab_server(
                f"b-{service}",
                shared_buffers=dataset.mb(sizes["B"][0]),
                memory_limit=dataset.mb(sizes["B"][1]),
            )
            for service in SERVICES
        }
        return a, b

    def _load(
        self, ctx: BenchContext, plan: Plan, shape: schema.Shape, a: Server, b: dict[str, Server]
    ) -> dict[str, dict[str, int]]:
        jobs = [(a, SERVICES)] + [(server, (service,)) for service, server in b.items()]
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = [
                pool.submit(schema.load, server, services, shape, plan.memory, ctx.progress)
                for server, services in jobs
            ]
            results = [future.result() for future in futures]
        dataset.settle([a, *b.values()], ctx.progress)
        merged_b: dict[str, int] = {}
        for found in results[1:]:
            merged_b.update(found)
        return {"A": results[0], "B": merged_b}


class _Points:
    """Measures A (driver), B (driver) and A (pgbench) for one (x, skew, working set)."""

    def __init__(
        self,
        ctx: BenchContext,
        plan: Plan,
        shape: schema.Shape,
        a: Server,
        b: dict[str, Server],
        scripts: dict[str, Path],
    ) -> None:
        self.ctx, self.plan, self.shape, self.a, self.b = ctx, plan, shape, a, b
        self.scripts = scripts
        self.points: list[dict[str, Any]] = []
        self.warm: dict[str, tuple[float, str]] = {}
        self.descriptions: dict[str, str] = {}

    def measure(self, x: float, skew: str, ratio: float, *, reference: bool) -> None:
        plan, fraction = self.plan, ratio / self.plan.largest
        ranges = Ranges(
            customers=max(1, round(self.shape.customers * fraction)),
            products=max(3, round(self.shape.products * fraction)),
            orders=max(1, round(self.shape.orders * fraction)),
        )
        mix = Mix(x, skew, plan.keys)
        variables = {
            "cross_fraction": x,
            "skew": skew,
            "working_set_ratio": ratio,
            "keys": plan.keys.kind,
        }
        tables = {
            "customers": fraction,
            "products": fraction,
            "orders": fraction,
            "order_items": fraction,
        }
        label = f"x={x:.0%} {skew} ws={ratio:g}xM"
        self.ctx.progress(f"split: {label}")
        a_program = ScaleUpProgram(mix, ranges, self.a.dsn)
        dsns = {service: server.dsn for service, server in self.b.items()}
        b_program = SplitProgram(mix, ranges, dsns, plan.rtt_ms)
        self.descriptions = {"A": a_program.describe(), "B": b_program.describe()}
        loads: list[tuple[str, str, Any, list[Server]]] = [
            ("A", "python", DriverLoad(a_program, plan.clients, plan.duration_s), [self.a]),
            (
                "B",
                "python",
                DriverLoad(b_program, plan.clients, plan.duration_s),
                list(self.b.values()),
            ),
        ]
        if reference:
            weights = mix.integer_weights()
            pgbench = PgbenchLoad(
                dsn=self.a.dsn,
                scripts=[(self.scripts[name], weight) for name, weight in weights.items()],
                clients=plan.clients,
                jobs=plan.jobs,
                duration_s=plan.duration_s,
                defines={
                    "n_customers": ranges.customers,
                    "n_products": ranges.products,
                    "n_orders": ranges.orders,
                },
                random_seed=self.ctx.options.seed,
            )
            loads.append(("A", "pgbench", pgbench, [self.a]))
        specs = []
        for topology, driver, load, servers in loads:
            state = (ratio, skew)
            fresh = self.warm.get(topology) != state
            self.warm[topology] = state
            specs.append(
                PointSpec(
                    id=f"{topology}-{driver}-x{x:g}-{skew}-ws{ratio:g}",
                    label=f"{topology} ({driver}) {label}",
                    topology=topology,
                    variables={**variables, **({"rtt_ms": plan.rtt_ms} if topology == "B" else {})},
                    load=load,
                    servers=servers,
                    runs=plan.runs,
                    warmup_s=plan.warmup_s if fresh else 0.0,
                    active={s.name: tables for s in servers} if fresh else {},
                )
            )
        self.points.extend(measure_side_by_side(self.ctx, specs))
