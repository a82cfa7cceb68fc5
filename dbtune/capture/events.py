"""``QueryEvent``: one executed query, as every dbtune consumer sees it.

Built on the hot path, so construction only stores what the wrapper measured. Everything
derived from the SQL text (``fingerprint``, ``normalized``, ``tables``, ``kind``,
``is_write``) is computed on first access through :func:`dbtune.sql.analyse`, which memoises
by SQL text; call sites are formatted on first access too.
"""

from __future__ import annotations

from typing import Any

from dbtune import callsite
from dbtune.sql import Analysis, analyse
from dbtune.types import JSONDict, Site, StatementKind

_Location = tuple[str, int]


class QueryEvent:
    """One query run through a Django connection.

    Measured: ``alias``, ``vendor`` (``connection.vendor``), ``sql`` (as sent, with
    placeholders), ``params`` (``None`` unless the capture keeps parameters; for ``many`` the
    sequence of parameter sets), ``many`` (``executemany``), ``duration`` (seconds,
    ``time.perf_counter``; failed queries included), ``started`` (``perf_counter`` value at
    start), ``thread_id``, ``error`` (exception class name if the query failed, else ``None``).

    Derived lazily: ``callsite`` (``"path.py:LINE"`` of the first user frame, or ``None``),
    ``stack`` (every user frame, innermost first, when the capture asked for it, else
    ``None``), ``fingerprint``, ``normalized``, ``tables``, ``kind``, ``is_write``.
    """

    __slots__ = (
        "_analysis",
        "_frames",
        "_label",
        "_location",
        "alias",
        "duration",
        "error",
        "many",
        "params",
        "params_digest",
        "sql",
        "started",
        "thread_id",
        "vendor",
    )

    def __init__(
        self,
        alias: str,
        vendor: str,
        sql: str,
        params: Any,
        many: bool,
        duration: float,
        started: float,
        thread_id: int,
        error: str | None,
        location: _Location | None,
        frames: tuple[_Location, ...] | None,
        params_digest: int | None = None,
    ) -> None:
        self.alias = alias
        self.vendor = vendor
        self.sql = sql
        self.params = params
        self.params_digest = params_digest
        self.many = many
        self.duration = duration
        self.started = started
        self.thread_id = thread_id
        self.error = error
        self._location = location
        self._frames = frames
        self._label: str | None = None
        self._analysis: Analysis | None = None

    def _copy(self) -> QueryEvent:
        clone = QueryEvent(
            self.alias,
            self.vendor,
            self.sql,
            self.params,
            self.many,
            self.duration,
            self.started,
            self.thread_id,
            self.error,
            self._location,
            self._frames,
            self.params_digest,
        )
        clone._label = self._label
        return clone

    def _stripped(self, keep_params: bool, stack: bool) -> QueryEvent:
        """A copy without what one listener did not ask for (others may have)."""
        clone = self._copy()
        clone.params = self.params if keep_params else None
        clone._frames = self._frames if stack else None
        return clone

    def _labelled(self, label: str) -> QueryEvent:
        """A copy whose savepoint name normalises to ``label`` (see ``SavepointNumbering``)."""
        clone = self._copy()
        clone._label = label
        return clone

    @property
    def analysis(self) -> Analysis:
        """Everything derived from the SQL text, computed once."""
        analysis = self._analysis
        if analysis is None:
            analysis = self._analysis = analyse(self.sql, self.vendor, self._label)
        return analysis

    @property
    def fingerprint(self) -> str:
        return self.analysis.fingerprint

    @property
    def normalized(self) -> str:
        return self.analysis.normalized

    @property
    def tables(self) -> tuple[str, ...]:
        return self.analysis.tables

    @property
    def kind(self) -> StatementKind:
        return self.analysis.kind

    @property
    def is_write(self) -> bool:
        return self.analysis.is_write

    @property
    def callsite(self) -> Site | None:
        return callsite.format_site(self._location)

    @property
    def stack(self) -> tuple[Site, ...] | None:
        if self._frames is None:
            return None
        return tuple(f"{callsite.display(path)}:{line}" for path, line in self._frames)

    def to_dict(self) -> JSONDict:
        """A JSON-serialisable summary (parameters as ``repr`` strings, if kept)."""
        params = self.params
        return {
            "alias": self.alias,
            "vendor": self.vendor,
            "sql": self.sql,
            "params": None if params is None else repr(params),
            "many": self.many,
            "duration": self.duration,
            "error": self.error,
            "callsite": self.callsite,
            "fingerprint": self.fingerprint,
            "normalized": self.normalized,
            "tables": list(self.tables),
            "kind": self.kind,
            "is_write": self.is_write,
        }

    def __repr__(self) -> str:
        sql = self.sql if len(self.sql) <= 60 else self.sql[:57] + "..."
        return f"<QueryEvent {self.alias} {self.duration * 1000:.2f}ms {sql!r}>"


def params_digest(params: Any) -> int:
    """A hash that tells parameter sets apart without storing them (``0`` for ``None``).

    Equal sets give equal digests; different sets almost always differ. Unhashable values
    fall back to hashing their ``repr``.
    """
    if params is None:
        return 0
    if type(params) is tuple:
        try:
            return hash(params)
        except TypeError:
            return hash(repr(params))
    try:
        if isinstance(params, dict):
            return hash(tuple(sorted(params.items())))
        return hash(tuple(params))
    except TypeError:
        return hash(repr(params))
