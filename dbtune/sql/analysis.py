"""Everything dbtune derives from one SQL text, computed once and memoised.

Captured queries repeat the same few hundred SQL texts, so the results are kept in an LRU
cache keyed by ``(sql, vendor, savepoint label)``. Long texts (bulk inserts, huge IN lists)
go to a much smaller cache of their own, so that the memory the cache keeps alive stays
bounded. This is the only place the capture layer calls into SQL parsing, and only when a
consumer first reads a derived attribute.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

from dbtune.sql.canonical import digest, normalized_text
from dbtune.sql.kinds import kind_of, writes
from dbtune.sql.lexer import significant
from dbtune.sql.relations import find_tables
from dbtune.sql.savepoints import SavepointNumbering
from dbtune.types import StatementKind

CACHE_SIZE = 8192
LONG_SQL = 4096
"""Texts longer than this (in characters) use the small cache of ``LONG_CACHE_SIZE``."""
LONG_CACHE_SIZE = 32


class Analysis(NamedTuple):
    """What one SQL text does, as seen by detectors, advisors and the router."""

    normalized: str
    fingerprint: str
    tables: tuple[str, ...]
    kind: StatementKind
    is_write: bool


def analyse(sql: str, vendor: str = "postgresql", savepoint_label: str | None = None) -> Analysis:
    """Analyse ``sql`` written for ``vendor`` (a Django ``connection.vendor`` value); memoised.

    ``savepoint_label`` replaces the savepoint name of a savepoint statement (see
    :class:`~dbtune.sql.savepoints.SavepointNumbering`); it is ignored for other statements.
    Never raises for malformed SQL: unparsable text is normalised by the tokeniser path.
    """
    cached = _analyse_long if len(sql) > LONG_SQL else _analyse_short
    return cached(sql, vendor, savepoint_label)


def _analyse(sql: str, vendor: str, savepoint_label: str | None) -> Analysis:
    tokens = significant(sql)
    normalized = normalized_text(sql, vendor, savepoint_label, tokens)
    kind = kind_of(tokens)
    return Analysis(
        normalized=normalized,
        fingerprint=digest(normalized),
        tables=find_tables(sql, vendor, tokens),
        kind=kind,
        is_write=writes(tokens, kind),
    )


_analyse_short = functools.lru_cache(maxsize=CACHE_SIZE)(_analyse)
_analyse_long = functools.lru_cache(maxsize=LONG_CACHE_SIZE)(_analyse)


def _label(sql: str, savepoints: SavepointNumbering | None) -> str | None:
    return None if savepoints is None else savepoints.label_for(sql)


def normalize(
    sql: str, vendor: str = "postgresql", *, savepoints: SavepointNumbering | None = None
) -> str:
    """``sql`` with literals and placeholders as ``?`` and value lists collapsed.

    Pass the same ``savepoints`` numbering for every statement of one run to get ``sp1``,
    ``sp2``... instead of one placeholder for savepoint names.
    """
    return analyse(sql, vendor, _label(sql, savepoints)).normalized


def fingerprint(
    sql: str, vendor: str = "postgresql", *, savepoints: SavepointNumbering | None = None
) -> str:
    """16 hex characters identifying the normalised statement; changes only with
    :data:`~dbtune.sql.canonical.NORMALIZER_VERSION`."""
    return analyse(sql, vendor, _label(sql, savepoints)).fingerprint


def tables(sql: str, vendor: str = "postgresql") -> tuple[str, ...]:
    """Tables ``sql`` touches, in order of first appearance (see :mod:`dbtune.sql.relations`)."""
    return analyse(sql, vendor).tables
