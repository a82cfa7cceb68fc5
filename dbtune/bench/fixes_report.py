"""The fixes scenario's answer, tables and plots, computed from the results document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dbtune.bench.plots import bars
from dbtune.bench.scenario import ScenarioReport
from dbtune.report import Image, Paragraph, Section, Table

PLAIN, FIXED = "as written", "N+1 fixed"
INDEXED, BOTH = "as written + indexes", "N+1 fixed + indexes"
VARIANT_ORDER = (PLAIN, INDEXED, FIXED, BOTH)


def _total(pages: list[dict[str, Any]], variant: str, key: str) -> float:
    return float(sum(p["variants"][variant][key] for p in pages if variant in p["variants"]))


def answer(results: dict[str, Any]) -> str:
    data, params = results["data"], results["parameters"]
    pages = data["pages"]
    if not pages:
        return "No page was measured; see the problems listed under Conditions."
    rows = sum(data.get("seed", {}).get("rows", {}).values())
    q_plain, q_fixed = _total(pages, PLAIN, "queries"), _total(pages, FIXED, "queries")
    l_plain, l_fixed = _total(pages, PLAIN, "median_ms"), _total(pages, FIXED, "median_ms")
    cut = (1 - q_fixed / q_plain) * 100 if q_plain else 0.0
    text = (
        f"Through Django's full request stack on a scale-{params['scale']:g} shop "
        f"({rows:,} rows), the {len(pages)} pages ran {q_plain:,.0f} queries as written and "
        f"{q_fixed:,.0f} with dbtune's N+1 fixes (-{cut:.0f}%); the sum of their median "
        f"latencies went from {l_plain:,.1f} ms to {l_fixed:,.1f} ms."
    )
    indexes = data.get("indexes", {})
    if indexes.get("error"):
        text += f" Index advice was not applied: {indexes['error']}."
    elif indexes.get("applied"):
        indexed, both = _total(pages, INDEXED, "median_ms"), _total(pages, BOTH, "median_ms")
        text += (
            f" The index advisor suggested {len(indexes['suggested'])} index(es) for what the "
            f"pages ran; with them applied the pages took {indexed:,.1f} ms as written and "
            f"{both:,.1f} ms with both fixes."
        )
    elif not indexes.get("suggested"):
        text += " The index advisor suggested no index for what the pages ran."
    else:
        text += (
            f" The index advisor suggested {len(indexes.get('suggested', []))} index(es); none "
            "was applied (a server the lab did not start needs --allow-writes)."
        )
    best = max(pages, key=lambda p: p["variants"][PLAIN]["median_ms"] - _best(p)[1])
    name, fastest = _best(best)
    before = best["variants"][PLAIN]
    text += (
        f" The largest gain: {best['page']} from {before['median_ms']:,.1f} ms "
        f"({before['queries']} queries) to {fastest:,.1f} ms "
        f"({best['variants'][name]['queries']} queries, {name})."
    )
    return text


def _best(page: dict[str, Any]) -> tuple[str, float]:
    name = min(page["variants"], key=lambda v: page["variants"][v]["median_ms"])
    return name, float(page["variants"][name]["median_ms"])


def describe(results: dict[str, Any], out: Path) -> ScenarioReport:
    pages = results["data"]["pages"]
    names = [page["page"] for page in pages]
    variants = [v for v in VARIANT_ORDER if pages and v in pages[0]["variants"]]
    queries = {
        v: [float(p["variants"][v]["queries"]) for p in pages]
        for v in variants
        if v in (PLAIN, FIXED)
    }
    latency = {v: [float(p["variants"][v]["median_ms"]) for p in pages] for v in variants}
    plots = []
    if pages:
        plots = [
            Image(
                bars(out / "fixes_queries.png", "Queries per page", names, queries, "queries"),
                "Queries per request, as written and with the N+1 fixes",
            ),
            Image(
                bars(out / "fixes_latency.png", "Median latency per page", names, latency, "ms"),
                "Median latency per request, each variant",
            ),
        ]
    headers = ["page", "url"] + [f"{v} (queries / median ms)" for v in variants]
    rows: list[list[object]] = [
        [p["page"], p["url"]]
        + [f"{p['variants'][v]['queries']} / {p['variants'][v]['median_ms']:.1f}" for v in variants]
        for p in pages
    ]
    sections = [Section("Pages", [Table(headers, rows, numeric=False)])]
    indexes = results["data"].get("indexes", {})
    if indexes.get("suggested"):
        listing = Section("Indexes suggested by dbtune")
        for statement in indexes["suggested"]:
            listing.add(Paragraph(statement))
        sections.append(listing)
    return ScenarioReport(answer=answer(results), plots=plots, sections=sections)
