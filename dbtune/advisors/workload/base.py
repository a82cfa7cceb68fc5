"""The workload's records: one :class:`Query` per distinct statement, merged by fingerprint."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbtune.advisors.workload.text import dollar_params, split_statements
from dbtune.errors import DBTuneError

MAX_PARAM_SETS = 3

Params = tuple[Any, ...]


@dataclass
class Query:
    """One statement of the workload.

    ``calls`` weighs it; ``total_ms`` is calls x mean time when a source measured it;
    ``params`` holds real parameter sets for its ``$n`` placeholders (never invented).
    """

    sql: str
    calls: float = 1.0
    total_ms: float | None = None
    params: list[Params] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    origin: str | None = None

    def __post_init__(self) -> None:
        self.sql = dollar_params(self.sql)

    def merge(self, other: Query) -> None:
        self.calls += other.calls
        if other.total_ms is not None:
            self.total_ms = (self.total_ms or 0.0) + other.total_ms
        for params in other.params:
            if len(self.params) < MAX_PARAM_SETS and params not in self.params:
                self.params.append(params)
        self.sources += [s for s in other.sources if s not in self.sources][:5]
        self.origin = self.origin or other.origin


class WorkloadSource:
    """Where statements come from.

    Contract: :meth:`queries` is called once; it yields one :class:`Query` per statement it
    read (repeats allowed; the workload merges them), never raises for a malformed entry
    (it yields nothing for it and records ``(text, reason)`` in :attr:`problems`), and
    raises :class:`~dbtune.errors.DBTuneError` with one line when the source itself cannot
    be read (missing file, missing extension).
    """

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def queries(self) -> Iterator[Query]:
        raise NotImplementedError


def read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise DBTuneError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


CONSTANT_TOKENS = frozenset({"SCONST", "USCONST", "ICONST", "FCONST", "BCONST", "XCONST", "PARAM"})


def fingerprint(sql: str) -> str:
    """Same value for statements that differ only in literals, placeholders, spacing, case
    of keywords and unquoted names, or the length of ``IN`` lists.

    Built from PostgreSQL's own scanner rather than libpg_query's fingerprint, which treats
    tables whose names differ only in digits (``events_2023``, ``events_2024``) as one.
    """
    import hashlib

    from pglast.parser import ParseError, scan

    try:
        tokens = scan(sql)
    except ParseError:
        return " ".join(sql.split())
    words = []
    for token in tokens:
        text = sql[token.start : token.end + 1]
        if token.name in CONSTANT_TOKENS:
            words.append("?")
        elif token.name == "IDENT":
            words.append(text if text.startswith('"') else text.lower())
        else:
            words.append(token.name if token.kind != "NO_KEYWORD" else text)
    key = re.sub(r"\?(?: , \?)+", "?", " ".join(words))
    return hashlib.sha1(key.encode()).hexdigest()[:16]


class Workload:
    """Queries merged by fingerprint, in first-seen order, plus what could not be read."""

    def __init__(self, queries: Iterable[Query] = ()) -> None:
        self._by_fingerprint: dict[str, Query] = {}
        self.problems: list[tuple[str, str]] = []
        self.extend(queries)

    def add(self, query: Query) -> None:
        key = fingerprint(query.sql)
        known = self._by_fingerprint.get(key)
        if known is None:
            self._by_fingerprint[key] = query
        else:
            known.merge(query)

    def extend(self, queries: Iterable[Query]) -> None:
        for query in queries:
            self.add(query)

    def read(self, source: WorkloadSource) -> Workload:
        self.extend(source.queries())
        self.problems += source.problems
        return self

    @property
    def queries(self) -> list[Query]:
        return list(self._by_fingerprint.values())

    def __len__(self) -> int:
        return len(self._by_fingerprint)

    @classmethod
    def from_sql(cls, text: str, source: str = "sql") -> Workload:
        """A workload from SQL text (statements separated by ``;``), for tests and the API."""
        return cls(
            Query(sql=dollar_params(s), sources=[f"{source}:{line}"])
            for line, s in split_statements(text)
        )

    @classmethod
    def from_events(cls, events: Iterable[Any]) -> Workload:
        """A workload from captured ``QueryEvent`` objects (``dbtune.capture_queries()``).

        Only PostgreSQL events count; parameter values are used when the capture kept them
        (``keep_params=True``), one set per execution, a few per statement.
        """
        workload = cls()
        for event in events:
            if getattr(event, "vendor", "postgresql") != "postgresql":
                continue
            params = getattr(event, "params", None)
            rows = (
                list(params)[:MAX_PARAM_SETS]
                if getattr(event, "many", False) and params
                else [params]
            )
            sets = [tuple(row) for row in rows if isinstance(row, list | tuple) and row]
            duration = getattr(event, "duration", None)
            workload.add(
                Query(
                    sql=str(event.sql),
                    total_ms=None if duration is None else float(duration) * 1000.0,
                    params=sets,
                    sources=[str(getattr(event, "callsite", None) or getattr(event, "alias", ""))],
                )
            )
        return workload
