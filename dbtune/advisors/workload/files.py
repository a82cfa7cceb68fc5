"""Workload files: SQL files (statements separated by ``;``) and dbtune capture files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dbtune.advisors.workload.base import MAX_PARAM_SETS, Params, Query, WorkloadSource, read_text
from dbtune.advisors.workload.text import dollar_params, split_statements


class SqlFile(WorkloadSource):
    """A file of SQL statements separated by ``;``; each counts as one call."""

    def __init__(self, path: Path | str) -> None:
        super().__init__()
        self.path = Path(path)

    def queries(self) -> Iterator[Query]:
        text = read_text(self.path, "workload file")
        for line, statement in split_statements(text):
            sql = dollar_params(statement)
            yield Query(sql=sql, sources=[f"{self.path.name}:{line}"])


def _first(entry: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if entry.get(key) is not None:
            return entry[key]
    return None


def _values(value: Any) -> Any:
    """Parameters as written by ``QueryEvent.to_dict`` (a ``repr`` string) or as JSON."""
    if isinstance(value, str):
        import ast

        try:
            return ast.literal_eval(value)
        except (ValueError, SyntaxError):  # datetimes and the like: no usable values
            return None
    return value


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class CaptureFile(WorkloadSource):
    """A dbtune capture file: one JSON object per line.

    Read keys: ``sql`` (required; ``%s`` or ``$n`` placeholders), ``calls`` or ``count``,
    ``total_ms`` or ``mean_ms`` or ``duration`` (seconds, one execution), ``params`` (one
    parameter list) and/or ``param_sets`` (several), ``origin`` (Django ``app.Model.field``)
    or ``model``/``field``, ``callsite``. Objects without ``sql`` (headers) are ignored.
    """

    def __init__(self, path: Path | str) -> None:
        super().__init__()
        self.path = Path(path)

    def queries(self) -> Iterator[Query]:
        text = read_text(self.path, "capture file")
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{self.path.name}:{number}"
            try:
                entry = json.loads(line)
            except ValueError:
                self.problems.append((line[:200], f"{where}: not a JSON object"))
                continue
            if not isinstance(entry, dict) or not isinstance(entry.get("sql"), str):
                continue
            if entry.get("vendor") not in (None, "postgresql"):
                continue
            query = self._query(entry, where)
            if query is not None:
                yield query

    def _query(self, entry: dict[str, Any], where: str) -> Query | None:
        calls = _number(_first(entry, "calls", "count")) or 1.0
        total = _number(entry.get("total_ms"))
        mean = _number(entry.get("mean_ms"))
        duration = _number(entry.get("duration"))
        if total is None and mean is not None:
            total = mean * calls
        if total is None and duration is not None:
            total = duration * 1000.0 * calls
        params = _values(entry.get("params"))
        given = list(params) if entry.get("many") and isinstance(params, list | tuple) else [params]
        sets: list[Params] = []
        for candidate in [*given, *(entry.get("param_sets") or [])]:
            candidate = _values(candidate)
            if isinstance(candidate, list | tuple) and candidate and len(sets) < MAX_PARAM_SETS:
                sets.append(tuple(candidate))
        origin = _first(entry, "origin")
        if origin is None and entry.get("model"):
            origin = ".".join(str(entry[k]) for k in ("model", "field") if entry.get(k))
        return Query(
            sql=dollar_params(entry["sql"]),
            calls=calls,
            total_ms=total,
            params=sets,
            sources=[str(entry.get("callsite") or where)],
            origin=str(origin) if origin else None,
        )
