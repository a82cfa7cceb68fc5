"""Capture files: the queries an app really ran, as JSON lines the index advisor reads.

One object per distinct statement: ``sql`` (with placeholders), ``vendor``, ``alias``,
``calls``, ``total_ms``, ``callsite``, ``fingerprint``, and only when asked ``param_sets``
(a few real parameter lists: generic plans guess range selectivity, real values do not).
The first line is a header object without ``sql``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

MAX_PARAM_SETS = 3


class WorkloadWriter:
    """Aggregates :class:`~dbtune.capture.QueryEvent` objects and writes a capture file."""

    def __init__(self, *, keep_params: bool = False) -> None:
        self.keep_params = keep_params
        self.entries: dict[tuple[str, str], dict[str, Any]] = {}

    def add(self, events: Iterable[Any]) -> None:
        for event in events:
            if event.kind == "tx" or event.error:
                continue
            key = (event.alias, event.sql)
            entry = self.entries.get(key)
            if entry is None:
                entry = {
                    "sql": event.sql,
                    "vendor": event.vendor,
                    "alias": event.alias,
                    "fingerprint": event.fingerprint,
                    "callsite": event.callsite,
                    "calls": 0,
                    "total_ms": 0.0,
                }
                self.entries[key] = entry
            entry["calls"] += 1
            entry["total_ms"] = round(entry["total_ms"] + event.duration * 1000.0, 4)
            if self.keep_params and event.params is not None and not event.many:
                sets = entry.setdefault("param_sets", [])
                params = [_jsonable(p) for p in event.params]
                if len(sets) < MAX_PARAM_SETS and params not in sets:
                    sets.append(params)

    def write(self, path: Path) -> None:
        from dbtune import __version__

        lines = [json.dumps({"dbtune": __version__, "kind": "capture", "params": self.keep_params})]
        for key in sorted(self.entries):
            lines.append(json.dumps(self.entries[key], sort_keys=True))
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def merge_parts(writer: WorkloadWriter, path: Path) -> None:
    """Fold in the part files pytest-xdist workers wrote beside ``path``, then write it."""
    for part in sorted(path.parent.glob(f".{path.name}.*.part")):
        for line in part.read_text(encoding="utf-8").splitlines()[1:]:
            entry = json.loads(line)
            key = (entry["alias"], entry["sql"])
            mine = writer.entries.get(key)
            if mine is None:
                writer.entries[key] = entry
                continue
            mine["calls"] += entry["calls"]
            mine["total_ms"] = round(mine["total_ms"] + entry["total_ms"], 4)
            for params in entry.get("param_sets", []):
                sets = mine.setdefault("param_sets", [])
                if len(sets) < MAX_PARAM_SETS and params not in sets:
                    sets.append(params)
        part.unlink()
    writer.write(path)
