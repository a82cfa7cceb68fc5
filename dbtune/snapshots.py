"""Query snapshots: what each test does to the database, stored next to the test module.

A snapshot file ``<test dir>/__dbtune__/<module>.json`` holds a header (dbtune, normaliser,
Django and database versions) and one record per test node id: per alias, counts by
statement kind, the ordered query shapes with multiplicities, and the N+1 groups. Literal
values are never stored (shapes are normalised SQL); call sites are not stored either, so
moving code does not churn snapshots. Transaction control (BEGIN/SAVEPOINT/...) is excluded
from budgets and shapes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SNAPSHOT_DIR = "__dbtune__"
ORDER_DEPENDENT_TABLES = frozenset({"django_content_type", "django_site"})
"""Tables whose lookups Django caches per process (ContentType, Site): whether a test
queries them depends on which tests ran before it, so they are left out of records."""
FORMAT_VERSION = 1


@dataclass
class Shape:
    fingerprint: str
    sql: str
    kind: str
    count: int = 0
    callsite: str | None = None
    """Where the current run issued it first; shown in messages, never stored."""

    def to_json(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "sql": self.sql,
            "kind": self.kind,
            "count": self.count,
        }


@dataclass
class AliasRecord:
    counts: dict[str, int] = field(default_factory=dict)
    shapes: list[Shape] = field(default_factory=list)
    nplusone: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "counts": dict(sorted(self.counts.items())),
            "total": self.total,
            "shapes": [s.to_json() for s in self.shapes],
            "nplusone": sorted(
                ({k: v for k, v in g.items() if k in _GROUP_FIELDS} for g in self.nplusone),
                key=group_key,
            ),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AliasRecord:
        shapes = [
            Shape(s["fingerprint"], s["sql"], s.get("kind", "other"), int(s["count"]))
            for s in data.get("shapes", [])
        ]
        return cls(dict(data.get("counts", {})), shapes, list(data.get("nplusone", [])))


_GROUP_FIELDS = ("kind", "model", "field", "count", "fix")
"""What a snapshot stores of an N+1 group; the access site is shown, never stored."""


def group_key(group: Mapping[str, Any]) -> tuple[str, str, str]:
    return (str(group.get("kind")), str(group.get("model")), str(group.get("field")))


def record_queries(events: Iterable[Any], findings: Iterable[Any] = ()) -> dict[str, AliasRecord]:
    """Build per-alias records from captured :class:`~dbtune.capture.QueryEvent` objects.

    ``findings`` are N+1 findings (objects with kind, model, field, count, alias, fix).
    """
    records: dict[str, AliasRecord] = {}
    index: dict[tuple[str, str], Shape] = {}
    for event in events:
        if event.kind == "tx" or (event.tables and set(event.tables) <= ORDER_DEPENDENT_TABLES):
            continue
        record = records.setdefault(event.alias, AliasRecord())
        record.counts[event.kind] = record.counts.get(event.kind, 0) + 1
        key = (event.alias, event.fingerprint)
        shape = index.get(key)
        if shape is None:
            shape = Shape(event.fingerprint, event.normalized, event.kind, 0, event.callsite)
            index[key] = shape
            record.shapes.append(shape)
        shape.count += 1
    for finding in findings:
        record = records.setdefault(finding.alias, AliasRecord())
        record.nplusone.append(
            {
                "kind": finding.kind,
                "model": finding.model,
                "field": finding.field,
                "count": int(finding.count),
                "fix": finding.fix,
                "access_site": finding.access_site,
            }
        )
    return records


def snapshot_path(test_file: Path) -> Path:
    return test_file.parent / SNAPSHOT_DIR / f"{test_file.stem}.json"


def header(vendors: Mapping[str, str]) -> dict[str, Any]:
    import django

    from dbtune import __version__
    from dbtune.sql import NORMALIZER_VERSION

    return {
        "format": FORMAT_VERSION,
        "dbtune": __version__,
        "normalizer": NORMALIZER_VERSION,
        "django": str(django.VERSION[0]),
        "databases": dict(sorted(vendors.items())),
    }


def load(path: Path) -> dict[str, Any]:
    """The snapshot document at ``path``; an empty one when the file does not exist."""
    if not path.exists():
        return {"header": {}, "tests": {}}
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    data.setdefault("tests", {})
    return data


def dumps(document: Mapping[str, Any]) -> str:
    """Stable, diff-friendly JSON: sorted keys, two-space indent, trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def save(path: Path, document: Mapping[str, Any]) -> None:
    """Write atomically (temp file + rename) so an interrupted run never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(dumps(document), encoding="utf-8")
    tmp.replace(path)


def records_from_json(data: Mapping[str, Any]) -> dict[str, AliasRecord]:
    return {alias: AliasRecord.from_json(rec) for alias, rec in data.items()}


def records_to_json(records: Mapping[str, AliasRecord]) -> dict[str, Any]:
    return {alias: rec.to_json() for alias, rec in sorted(records.items())}
