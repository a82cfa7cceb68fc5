"""Read-your-writes state of the current context: LSN tokens per table and the pin.

State lives in a :class:`contextvars.ContextVar` holding an immutable snapshot, so each
request, task or thread sees only its own writes and a copied context never shares
mutations with its parent. Expiry uses wall-clock time (``time.time``) so that
:func:`dump` output stays meaningful when :func:`load` runs in another process, e.g. the
next request of the same user, which :mod:`dbtune.routing.carrier` arranges through the
middleware (a signed cookie or the session).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any


def parse_lsn(text: str) -> int:
    """``'16/B374D848'`` -> an integer that orders like ``pg_lsn``."""
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def format_lsn(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


@dataclass(frozen=True)
class Tokens:
    """Tables written in this context: ``{table: (lsn, expires_at)}``, plus a pin deadline."""

    lsn: Mapping[str, tuple[int, float]] = field(default_factory=dict)
    pinned_until: float = 0.0


EMPTY = Tokens()
"""Shared and never mutated: every update builds a new :class:`Tokens`."""

_STATE: ContextVar[Tokens] = ContextVar("dbtune_routing_tokens", default=EMPTY)


def current() -> Tokens:
    return _STATE.get()


def record_lsn(table: str, lsn: int, window: float) -> None:
    """Remember that ``table`` was committed at ``lsn``; forget it after ``window`` seconds.

    A token only ever grows: an older LSN never replaces a newer one for the same table.
    """
    state = _STATE.get()
    previous = state.lsn.get(table)
    if previous is not None and previous[0] > lsn:
        lsn = previous[0]
    updated = dict(state.lsn)
    updated[table] = (lsn, time.time() + window)
    _STATE.set(Tokens(lsn=updated, pinned_until=state.pinned_until))


def pin(window: float) -> None:
    """Send every read of this context to the primary for ``window`` seconds."""
    state = _STATE.get()
    until = max(state.pinned_until, time.time() + window)
    _STATE.set(Tokens(lsn=state.lsn, pinned_until=until))


def lsn_for(table: str) -> int | None:
    """The LSN a replica must have replayed before it may serve ``table``; ``None`` if any."""
    entry = _STATE.get().lsn.get(table)
    if entry is None or entry[1] <= time.time():
        return None
    return entry[0]


def pinned() -> bool:
    return _STATE.get().pinned_until > time.time()


def clear() -> None:
    _STATE.set(EMPTY)


def dump() -> dict[str, Any]:
    """A JSON-serialisable copy of the live (unexpired) tokens, for :func:`load` later."""
    now = time.time()
    state = _STATE.get()
    return {
        "lsn": {t: [format_lsn(v), exp] for t, (v, exp) in state.lsn.items() if exp > now},
        "pinned_until": state.pinned_until if state.pinned_until > now else 0.0,
    }


def load(data: Any) -> None:
    """Merge tokens from :func:`dump` into this context; malformed input is ignored.

    Input may come from a client, so nothing here raises: bad entries are skipped.
    """
    if not isinstance(data, dict):
        return
    state = _STATE.get()
    merged = dict(state.lsn)
    entries = data.get("lsn")
    for table, entry in entries.items() if isinstance(entries, dict) else ():
        try:
            value, expires = parse_lsn(str(entry[0])), float(entry[1])
        except (TypeError, ValueError, LookupError):
            continue
        if str(table) not in merged or merged[str(table)][0] < value:
            merged[str(table)] = (value, expires)
    until = data.get("pinned_until")
    pinned_until = state.pinned_until
    if isinstance(until, int | float) and not isinstance(until, bool):
        pinned_until = max(pinned_until, float(until))
    _STATE.set(Tokens(lsn=merged, pinned_until=pinned_until))


@contextlib.contextmanager
def scope() -> Iterator[None]:
    """Run a block (a request, a task) with its own, initially empty, tokens."""
    reset = _STATE.set(EMPTY)
    try:
        yield
    finally:
        _STATE.reset(reset)
