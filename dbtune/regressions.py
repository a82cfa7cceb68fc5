"""Compare a test's recorded queries with its snapshot: regressions and improvements.

A regression is: more queries on an alias, a query shape the snapshot does not have, or an
N+1 group that is new or grew. Fewer queries are improvements; a new shape on an alias
whose query count went down (``select_related`` replacing a loop by a join) is reported
with the improvement instead of failing. Everything else (shapes that
disappeared, reordering) is not a failure. Messages lead with the diagnosis.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from dbtune.snapshots import AliasRecord, group_key

ChangeKind = Literal["count", "shape", "n+1"]
FAIL_ON_ALL: tuple[ChangeKind, ...] = ("count", "shape", "n+1")


@dataclass
class Change:
    test: str
    alias: str
    kind: ChangeKind
    regression: bool
    message: str
    site: str | None = None
    before: int = 0
    after: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "alias": self.alias,
            "kind": self.kind,
            "level": "regression" if self.regression else "improvement",
            "message": self.message,
            "site": self.site,
            "before": self.before,
            "after": self.after,
        }


def _sql_preview(sql: str, width: int = 140) -> str:
    flat = " ".join(sql.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _count_change(test: str, alias: str, old: int, new: int) -> Change | None:
    if new == old:
        return None
    sign = "+" if new > old else "-"
    noun = "query" if abs(new - old) == 1 else "queries"
    message = f"{sign}{abs(new - old)} {noun} ({old} -> {new})"
    return Change(test, alias, "count", new > old, message, None, old, new)


def compare_alias(test: str, alias: str, old: AliasRecord, new: AliasRecord) -> list[Change]:
    changes: list[Change] = []
    count = _count_change(test, alias, old.total, new.total)
    if count is not None:
        changes.append(count)
    known = {shape.fingerprint for shape in old.shapes}
    fewer = new.total < old.total
    for shape in new.shapes:
        if shape.fingerprint not in known:
            where = f" at {shape.callsite}" if shape.callsite else ""
            message = f"new query shape{where} (x{shape.count}): {_sql_preview(shape.sql)}"
            change = Change(
                test, alias, "shape", not fewer, message, shape.callsite, 0, shape.count
            )
            changes.append(change)
    before = {group_key(g): g for g in old.nplusone}
    for group in new.nplusone:
        previous = before.get(group_key(group))
        grown = previous is not None and int(group["count"]) > int(previous["count"])
        if previous is None or grown:
            was = 0 if previous is None else int(previous["count"])
            label = "new N+1" if previous is None else "N+1 grew"
            site = group.get("access_site")
            where = f" at {site}" if site else ""
            message = (
                f"{label}: {group['model']}.{group['field']} loaded {group['count']} times{where}"
                f" (was {was}); fix: {group.get('fix')}"
            )
            changes.append(
                Change(test, alias, "n+1", True, message, site, was, int(group["count"]))
            )
    return changes


def compare(
    test: str, old: Mapping[str, AliasRecord], new: Mapping[str, AliasRecord]
) -> list[Change]:
    """Every change between a snapshot's records and this run's, regressions first."""
    changes: list[Change] = []
    for alias in sorted(set(old) | set(new)):
        changes += compare_alias(
            test, alias, old.get(alias, AliasRecord()), new.get(alias, AliasRecord())
        )
    return sorted(changes, key=lambda c: (not c.regression, c.alias))


def failing(changes: list[Change], fail_on: tuple[str, ...] = FAIL_ON_ALL) -> list[Change]:
    return [c for c in changes if c.regression and c.kind in fail_on]


def describe(test: str, changes: list[Change]) -> str:
    """The failure text: test id, then one line per change, grouped by alias."""
    lines = [f"dbtune: query regression in {test}"]
    for change in changes:
        lines.append(f"  [{change.alias}] {change.message}")
    return "\n".join(lines)
