"""CI-native renderings of query regressions: GitHub annotations and summary, SARIF, JSON.

All functions take :class:`~dbtune.regressions.Change` objects (or the JSON report) and
return text; nothing here runs queries or reads snapshots.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dbtune.regressions import Change

ANNOTATIONS_PER_LEVEL = 10
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
RULES = {
    "count": ("dbtune/query-count", "A test runs more database queries than its snapshot"),
    "shape": ("dbtune/new-query-shape", "A test runs a query shape its snapshot does not have"),
    "n+1": ("dbtune/n-plus-one", "A test has a new or grown N+1 query pattern"),
}


def split_site(site: str | None) -> tuple[str | None, int | None]:
    """``"path.py:12"`` -> ``("path.py", 12)``; anything else -> ``(site or None, None)``."""
    if not site:
        return None, None
    path, _, line = site.rpartition(":")
    if path and line.isdigit():
        return path, int(line)
    return site, None


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(changes: Iterable[Change]) -> list[str]:
    """``::error``/``::notice`` workflow commands at each change's site, 10 per level."""
    lines: list[str] = []
    used = {"error": 0, "notice": 0}
    for change in changes:
        level = "error" if change.regression else "notice"
        if used[level] >= ANNOTATIONS_PER_LEVEL:
            continue
        used[level] += 1
        path, line = split_site(change.site)
        props = [f"title={_escape_property('dbtune: ' + change.test)}"]
        if path:
            props.insert(0, f"file={_escape_property(path)}")
            if line:
                props.insert(1, f"line={line}")
        lines.append(
            f"::{level} {','.join(props)}::{_escape_data(f'[{change.alias}] {change.message}')}"
        )
    return lines


def markdown_summary(changes: list[Change], top: list[tuple[str, int]]) -> str:
    """A job summary: regressions, improvements, tests with most queries."""
    regressions = [c for c in changes if c.regression]
    improvements = [c for c in changes if not c.regression]
    out = ["## dbtune query report", ""]
    out.append(f"{len(regressions)} regressions, {len(improvements)} improvements.")
    for title, items in (("Regressions", regressions), ("Improvements", improvements)):
        if items:
            out += ["", f"### {title}", "", "| test | alias | change |", "|---|---|---|"]
            out += [f"| `{c.test}` | {c.alias} | {c.message.replace('|', '/')} |" for c in items]
    if top:
        out += ["", "### Tests with most queries", "", "| test | queries |", "|---|---:|"]
        out += [f"| `{test}` | {count} |" for test, count in top]
    return "\n".join(out) + "\n"


def sarif(changes: Iterable[Change], version: str) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one result per regression."""
    results = []
    for change in changes:
        if not change.regression:
            continue
        rule_id = RULES[change.kind][0]
        result: dict[str, Any] = {
            "ruleId": rule_id,
            "level": "error",
            "message": {"text": f"{change.test} [{change.alias}]: {change.message}"},
        }
        path, line = split_site(change.site)
        if path:
            region = {"startLine": line} if line else {}
            result["locations"] = [
                {"physicalLocation": {"artifactLocation": {"uri": path}, "region": region}}
            ]
        results.append(result)
    rules = [
        {"id": rule_id, "shortDescription": {"text": text}} for rule_id, text in RULES.values()
    ]
    driver = {
        "name": "dbtune",
        "version": version,
        "informationUri": "https://pypi.org/project/dbtune/",
        "rules": rules,
    }
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{"tool": {"driver": driver}, "results": results}],
    }


def json_report(
    tests: Mapping[str, Any], changes: Iterable[Change], version: str, normalizer: str
) -> dict[str, Any]:
    """The stable ``--dbtune-json`` document that ``dbtune diff`` compares."""
    changes = list(changes)
    queries = sum(rec.get("total", 0) for aliases in tests.values() for rec in aliases.values())
    return {
        "dbtune": version,
        "normalizer": normalizer,
        "summary": {
            "tests": len(tests),
            "queries": queries,
            "regressions": sum(c.regression for c in changes),
            "improvements": sum(not c.regression for c in changes),
        },
        "tests": dict(sorted(tests.items())),
        "changes": [c.to_json() for c in changes],
    }
