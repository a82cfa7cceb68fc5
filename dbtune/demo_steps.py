"""The demo's built-in steps, registered exactly as a third party would register one."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from dbtune.demo import DemoContext, DemoStep, progress, register_step
from dbtune.report import Paragraph, Section, Table


def _drive(client: Any, url: str, rounds: int) -> dict[str, Any]:
    """Request ``url`` ``rounds`` times under capture and N+1 detection.

    Keeps the best time and the last round's queries and findings (unused eager loads,
    info-level, are left out of the page's problems).
    """
    from dbtune.capture import capture_queries
    from dbtune.nplusone import detect

    best = float("inf")
    queries: list[Any] = []
    findings: list[Any] = []
    status = 0
    for _ in range(rounds):
        with capture_queries(keep_params=True) as captured, detect(action="none") as report:
            started = time.perf_counter()
            response = client.get(url)
            elapsed = time.perf_counter() - started
        status = response.status_code
        best = min(best, elapsed)
        queries = list(captured)
        findings = list(report.problems)
    return {"status": status, "seconds": best, "queries": queries, "findings": findings}


@register_step
class PagesStep(DemoStep):
    """Drive every page of the shop, as written and with ``?fixed=1``, under capture."""

    name = "pages"

    title = "driving the shop's pages under capture"
    rounds = 3

    def run(self, ctx: DemoContext) -> Section:
        from django.test import Client

        from shop.pages import PAGES  # type: ignore[import-not-found]  # example_project

        client = Client()
        pages: list[dict[str, Any]] = []
        fingerprints: Counter[str] = Counter()
        nplusone: list[dict[str, Any]] = []
        fixed_findings = 0
        examples: dict[str, Any] = {}
        for name, url in PAGES:
            joiner = "&" if "?" in url else "?"
            plain = _drive(client, url, self.rounds)
            fixed = _drive(client, f"{url}{joiner}fixed=1", self.rounds)
            for finding in plain["findings"]:
                nplusone.append({"page": name, **finding.to_dict()})
            fixed_findings += len(fixed["findings"])
            ctx.workload.extend(plain["queries"])
            for query in plain["queries"]:
                fingerprints[query.fingerprint] += 1
                examples.setdefault(query.fingerprint, query)
            pages.append(
                {
                    "page": name,
                    "url": url,
                    "status": plain["status"],
                    "queries": len(plain["queries"]),
                    "queries_fixed": len(fixed["queries"]),
                    "ms": round(plain["seconds"] * 1000, 2),
                    "ms_fixed": round(fixed["seconds"] * 1000, 2),
                    "aliases": sorted({q.alias for q in plain["queries"]}),
                    "findings": len(plain["findings"]),
                    "findings_fixed": len(fixed["findings"]),
                }
            )
            progress(
                f"  {name:<22} {len(plain['queries']):>5} queries  "
                f"(fixed: {len(fixed['queries'])})  {plain['seconds'] * 1000:8.1f} ms  "
                f"{len(plain['findings'])} N+1 findings (fixed: {len(fixed['findings'])})"
            )
        repeated = [
            {
                "fingerprint": fp,
                "count": count,
                "sql": examples[fp].normalized[:160],
                "callsite": examples[fp].callsite,
                "tables": list(examples[fp].tables),
            }
            for fp, count in fingerprints.most_common(10)
        ]
        ctx.data["pages"] = pages
        ctx.data["repeated_fingerprints"] = repeated
        ctx.data["nplusone"] = nplusone
        ctx.data["nplusone_fixed_findings"] = fixed_findings
        section = self._section(pages, repeated)
        section.add(
            Table(
                ["page", "kind", "relation", "queries", "access site", "queryset built at", "fix"],
                [
                    [
                        f["page"],
                        f["kind"],
                        f"{f['model']}.{f['field']}",
                        f["count"],
                        f["access_site"] or "",
                        f["queryset_site"] or "",
                        f["fix"],
                    ]
                    for f in nplusone
                ],
                caption=(
                    f"N+1 findings on the pages as written ({len(nplusone)}); "
                    f"with ?fixed=1: {fixed_findings}"
                ),
            )
        )
        return section

    def _section(self, pages: list[dict[str, Any]], repeated: list[dict[str, Any]]) -> Section:
        section = Section("Queries per page")
        total = sum(p["queries"] for p in pages)
        total_fixed = sum(p["queries_fixed"] for p in pages)
        section.add(
            Paragraph(
                f"{len(pages)} pages ran {total} queries as written and {total_fixed} with the "
                f"fixes applied (?fixed=1), on the lab's primary through Django."
            )
        )
        section.add(
            Table(
                [
                    "page",
                    "url",
                    "status",
                    "queries",
                    "queries (fixed)",
                    "ms",
                    "ms (fixed)",
                    "N+1",
                    "N+1 (fixed)",
                ],
                [
                    [
                        p["page"],
                        p["url"],
                        p["status"],
                        p["queries"],
                        p["queries_fixed"],
                        p["ms"],
                        p["ms_fixed"],
                        p["findings"],
                        p["findings_fixed"],
                    ]
                    for p in pages
                ],
            )
        )
        section.add(
            Table(
                ["count", "fingerprint", "call site", "normalized SQL"],
                [[r["count"], r["fingerprint"], r["callsite"] or "", r["sql"]] for r in repeated],
                caption="Most repeated query shapes (pages as written)",
            )
        )
        return section


@register_step
class IndexStep(DemoStep):
    """Index advice from the pages' captured workload, verified on the lab."""

    name = "indexes"

    title = "index advice from the captured workload (verified on the lab)"

    def run(self, ctx: DemoContext) -> Section:
        from dbtune.advisors.indexes import advise
        from dbtune.advisors.workload import Workload

        result = advise(
            ctx.lab.primary.dsn("shop"),
            Workload.from_events(ctx.workload),
            lab=True,
            verify=True,
            lab_dirs=[ctx.lab.path],
        )
        document = result.to_json()
        ctx.data["indexes"] = document
        for suggestion in document["suggestions"]:
            columns = ", ".join(suggestion["columns"])
            progress(f"  {suggestion['table']}({columns})")
        section: Section = result.section("Index advice")
        return section


@register_step
class ColumnsStep(DemoStep):
    """Price the shop's columns exactly and prove the savings on copies of the tables."""

    name = "columns"

    title = "column slimming: exact row sizes, verified on copies"

    def run(self, ctx: DemoContext) -> Section:
        from dbtune.advisors.columns import analyze

        report = analyze(
            ctx.lab.primary.dsn("shop"),
            verify=True,
            allow_copies=True,
            progress=lambda line: progress(f"  {line}"),
        )
        ctx.data["columns"] = report.to_json()
        progress(f"  {report.summary()}")
        section: Section = report.section()
        return section


def _run_quietly(ctx: DemoContext, scenario: str, folder: str, options: Any = None) -> Any:
    """Run a benchmark scenario into ``ctx.out/folder``, its stdout lines as progress."""
    import contextlib
    import sys

    from dbtune.bench import run_scenario

    with contextlib.redirect_stdout(sys.stderr):  # pgbench-style lines are progress here
        return run_scenario(
            scenario,
            ctx.out / folder,
            quick=True,
            options=options,
            progress=lambda line: progress(f"  {line}"),
        )


@register_step
class BenchmarkStep(DemoStep):
    """A quick calibrate run: where hit ratio and latency change with data size vs memory."""

    name = "bench"

    title = "benchmark: calibrate (quick)"

    def run(self, ctx: DemoContext) -> Section:
        from dbtune.bench import summary_section

        results = _run_quietly(ctx, "calibrate", "bench")
        ctx.data["bench_calibrate"] = {"out": str(ctx.out / "bench")}
        section: Section = summary_section(results)
        return section


@register_step
class ReplicasStep(DemoStep):
    """A short table-affine vs round-robin run on two memory-bounded replicas."""

    name = "replicas"

    title = "benchmark: table-affine vs round-robin replicas (quick)"

    def run(self, ctx: DemoContext) -> Section:
        from dbtune.bench import BenchOptions, summary_section
        from dbtune.bench.replicas.report import hit_ratios, ratio

        options = BenchOptions(
            quick=True, runs=1, duration_s=5, settings={"points": "round-robin,affine"}
        )
        results = _run_quietly(ctx, "replicas", "bench-replicas", options)
        points = {point["id"]: point for point in results["points"]}
        ctx.data["replicas"] = {
            "out": str(ctx.out / "bench-replicas"),
            "ratio": ratio(results, "affine", "round-robin"),
            "tps": {name: point["summary"]["tps"]["median"] for name, point in points.items()},
            "hit_ratio": {name: hit_ratios(point) for name, point in points.items()},
            "memory_limits": results["data"]["memory_limits"],
        }
        section: Section = summary_section(results)
        return section
