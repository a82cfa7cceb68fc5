"""``Finding`` (one wasteful pattern, with its fix) and ``Report`` (what one block found).

The public fields are the contract in DESIGN.md; the rest (``detector``, ``loads``, ``sql``,
``filename``, ``lineno``, ``allowed_by``) help rendering and suppression and never take part
in equality.
"""

from __future__ import annotations

import dataclasses
import linecache
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from dbtune.types import JSONDict

KINDS = ("n+1", "unused_eager", "get_in_loop", "repeated_query", "count_in_loop")
INFO_KINDS = frozenset({"unused_eager"})

_TITLES = {
    "n+1": "N+1 query",
    "unused_eager": "Unused eager load",
    "get_in_loop": "get() in a loop",
    "repeated_query": "Repeated identical query",
    "count_in_loop": "count/exists/aggregate in a loop",
}


@dataclass(frozen=True)
class Finding:
    """One pattern that wastes queries, where it happens, and the change that removes it.

    ``model``/``field`` name the relation (``"testapp.Book"``, ``"author"``); ``count`` is
    the number of queries the pattern ran; ``access_site`` is the user line that triggered
    them and ``queryset_site`` the line that built the root queryset (``None`` if unknown);
    ``fix`` is a one-line code suggestion for that queryset.
    """

    kind: str
    model: str
    field: str
    count: int
    alias: str
    access_site: str | None
    queryset_site: str | None
    fix: str
    detector: str = dataclasses.field(default="orm", compare=False)
    loads: int = dataclasses.field(default=0, compare=False)
    sql: str = dataclasses.field(default="", compare=False, repr=False)
    filename: str | None = dataclasses.field(default=None, compare=False, repr=False)
    lineno: int = dataclasses.field(default=0, compare=False, repr=False)
    allowed_by: tuple[str, ...] = dataclasses.field(default=(), compare=False, repr=False)
    rendered_at: str | None = dataclasses.field(default=None, compare=False, repr=False)
    """For queries a template triggered (``access_site`` is then the template line): the
    Python line that rendered the template."""

    @property
    def level(self) -> str:
        """``info`` for unused eager loads, ``warning`` for everything else."""
        return "info" if self.kind in INFO_KINDS else "warning"

    @property
    def relation(self) -> str:
        """``app_label.Model.field``, the form ``ALLOW`` patterns match."""
        return f"{self.model}.{self.field}"

    def source_line(self) -> str:
        """The text of the access line (empty when the source is not available)."""
        if not self.filename or not self.lineno:
            return ""
        return linecache.getline(self.filename, self.lineno).strip()

    def headline(self) -> str:
        title = _TITLES.get(self.kind, self.kind)
        return f"{title}: {self.relation} ({self.count} queries on {self.alias!r})"

    def message(self) -> str:
        """A few lines for humans: what, where (with the source line), and the fix."""
        lines = [self.headline()]
        source = self.source_line()
        where = self.access_site or "<unknown>"
        lines.append(f"  at {where}" + (f":  {source}" if source else ""))
        if self.rendered_at:
            lines.append(f"  rendered at {self.rendered_at}")
        if self.queryset_site:
            lines.append(f"  queryset built at {self.queryset_site}")
        lines.append(f"  fix: {self.fix}")
        return "\n".join(lines)

    def to_dict(self) -> JSONDict:
        return {
            "kind": self.kind,
            "model": self.model,
            "field": self.field,
            "count": self.count,
            "alias": self.alias,
            "access_site": self.access_site,
            "queryset_site": self.queryset_site,
            "fix": self.fix,
            "level": self.level,
            "detector": self.detector,
        }


@dataclass(frozen=True)
class EagerUse:
    """One declared eager load of one evaluated queryset, and whether anything read it."""

    model: str
    path: str
    how: str
    used: bool
    alias: str
    queryset_site: str | None
    access_site: str | None

    @property
    def key(self) -> tuple[str, str, str | None]:
        return (self.model, self.path, self.queryset_site)


class Report:
    """What one ``detect()`` block saw.

    ``findings`` are the reportable ones (after ``ALLOW``, ``IGNORE_PATHS``, ``allow()`` and
    ``# dbtune: ignore`` comments); ``suppressed`` the ones those removed; ``eager`` every
    declared eager load with its use (the pytest plugin aggregates those over a session).
    Final once the block has exited; read inside the block, they describe the queries so far.
    """

    def __init__(self, live: Callable[[], Report] | None = None) -> None:
        self._findings: list[Finding] = []
        self._suppressed: list[Finding] = []
        self._eager: list[EagerUse] = []
        self._queries = 0
        self._live = live

    def _current(self) -> Report:
        return self if self._live is None else self._live()

    def finish(
        self,
        findings: list[Finding],
        suppressed: list[Finding],
        eager: list[EagerUse],
        queries: int,
    ) -> None:
        """Freeze the results (called once, when the block exits)."""
        self._findings, self._suppressed = findings, suppressed
        self._eager, self._queries = eager, queries
        self._live = None

    @property
    def active(self) -> bool:
        return self._live is not None

    @property
    def findings(self) -> list[Finding]:
        return self._current()._findings

    @property
    def suppressed(self) -> list[Finding]:
        return self._current()._suppressed

    @property
    def eager(self) -> list[EagerUse]:
        return self._current()._eager

    @property
    def queries(self) -> int:
        """How many statements (not transaction control) ran in the block."""
        return self._current()._queries

    def by_kind(self, *kinds: str) -> list[Finding]:
        return [f for f in self.findings if f.kind in kinds]

    @property
    def problems(self) -> list[Finding]:
        """Findings at warning level (everything but unused eager loads)."""
        return [f for f in self.findings if f.level == "warning"]

    def text(self) -> str:
        if not self.findings:
            return f"no findings ({self.queries} queries)"
        return "\n\n".join(f.message() for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {"queries": self.queries, "findings": [f.to_dict() for f in self.findings]}

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def __len__(self) -> int:
        return len(self.findings)

    def __repr__(self) -> str:
        state = "active" if self.active else "final"
        return f"<Report {state}: {len(self.findings)} findings, {self.queries} queries>"
