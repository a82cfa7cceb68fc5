"""Savepoint statements, whose names Django makes unique per thread and per call.

``transaction.atomic()`` names savepoints like ``s140064_x1`` (thread id and a counter), so
the same code path produces different SQL on every run. Normalised text replaces the name:
by one shared placeholder in general, or, inside a capture, by ``sp1``, ``sp2``... in the
order names first appear, so that snapshots stay readable and stable across runs.
"""

from __future__ import annotations

import re
import threading
from typing import Final

SAVEPOINT_PLACEHOLDER: Final = "sp"

_SAVEPOINT_RE = re.compile(
    r"""\s*(SAVEPOINT|RELEASE(?:\s+SAVEPOINT)?|ROLLBACK\s+TO(?:\s+SAVEPOINT)?)
        \s+("(?:[^"]|"")*"|`(?:[^`]|``)*`|[^\s;"`]+)\s*;?\s*\Z""",
    re.IGNORECASE | re.VERBOSE,
)
match_savepoint = _SAVEPOINT_RE.match
"""``match_savepoint(sql)`` is truthy for savepoint statements; a C call, for hot paths."""
_VERBS: Final = {
    "SAVEPOINT": "SAVEPOINT",
    "RELEASE": "RELEASE SAVEPOINT",
    "ROLLBACK": "ROLLBACK TO SAVEPOINT",
}


def _parsed(match: re.Match[str]) -> tuple[str, str]:
    verb, name = match.groups()
    quote = name[0]
    name = name[1:-1].replace(quote * 2, quote) if quote in '"`' else name.lower()
    return _VERBS[verb.split()[0].upper()], name


def parse_savepoint(sql: str) -> tuple[str, str] | None:
    """``(canonical verb, savepoint name)`` for a savepoint statement, else ``None``.

    The verb is one of ``SAVEPOINT``, ``RELEASE SAVEPOINT``, ``ROLLBACK TO SAVEPOINT``; the
    name is unquoted (quoted names keep their case, bare names are folded to lower case).
    """
    match = _SAVEPOINT_RE.match(sql)
    return None if match is None else _parsed(match)


def savepoint_name(sql: str) -> str | None:
    """The savepoint a SAVEPOINT / RELEASE / ROLLBACK TO statement names, else ``None``."""
    match = _SAVEPOINT_RE.match(sql)
    return None if match is None else _parsed(match)[1]


class SavepointNumbering:
    """Labels savepoint names ``sp1``, ``sp2``... in the order they are first seen.

    One instance belongs to one capture; it is safe to share between threads.
    """

    def __init__(self) -> None:
        self._labels: dict[str, str] = {}
        self._lock = threading.Lock()

    def label(self, name: str) -> str:
        """The label of ``name``, assigning the next free one on first sight."""
        with self._lock:
            label = self._labels.get(name)
            if label is None:
                label = self._labels[name] = f"sp{len(self._labels) + 1}"
            return label

    def label_for(self, sql: str) -> str | None:
        """The label for the savepoint ``sql`` names, or ``None`` if it names none.

        Cheap for other statements (one failed regex match): captures call it per query.
        """
        match = _SAVEPOINT_RE.match(sql)
        return None if match is None else self.label(_parsed(match)[1])
