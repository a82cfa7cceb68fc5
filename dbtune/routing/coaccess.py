"""Read volume and co-access from statements: which tables are read, and read together.

The affinity planner wants two things a list of statements can tell: how much read work
lands on each table, and which tables one statement reads together (a join read on a
replica that holds only one side of it reads the other side from disk). Only statements a
router sends to a replica count: ``SELECT`` without ``FOR UPDATE``/``FOR SHARE`` (Django
sends locking reads to the primary). Names are matched to the tables the planner knows with
:func:`resolve`, so ``shop.orders`` and a bare ``orders`` meet when that is unambiguous.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

_LOCKING = re.compile(r"\bFOR\s+(?:NO\s+KEY\s+)?(?:UPDATE|SHARE|KEY\s+SHARE)\b", re.IGNORECASE)


def resolve(name: str, known: Collection[str]) -> str | None:
    """The key in ``known`` that ``name`` (as :func:`dbtune.sql.tables` returns it) means.

    Keys follow the router: a bare name for the ``public`` schema, ``schema.table``
    otherwise. A bare name that is not a public table matches the one table of that name in
    another schema (search_path reached it); ``None`` when nothing or several match.
    """
    if name in known:
        return name
    if "." in name:
        return None
    others = [key for key in known if key.endswith(f".{name}") and key.count(".") == 1]
    return others[0] if len(others) == 1 else None


@dataclass
class ReadProfile:
    """Read weights per table and per pair of tables, from weighted statements.

    ``reads[t]``: each statement's weight split evenly over the tables it reads (the read
    load a replica holding ``t`` serves). ``touched[t]``: the full weight of every statement
    reading ``t``. ``pairs[(a, b)]`` (``a < b``): the full weight of statements reading both.
    """

    reads: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    touched: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    pairs: dict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(float))
    statements: int = 0
    skipped: int = 0

    def add(self, tables: Iterable[str], weight: float) -> None:
        names = sorted(set(tables))
        if not names or weight <= 0:
            self.skipped += 1
            return
        self.statements += 1
        for name in names:
            self.reads[name] += weight / len(names)
            self.touched[name] += weight
        for i, first in enumerate(names):
            for second in names[i + 1 :]:
                self.pairs[(first, second)] += weight

    def together(self, min_share: float) -> list[tuple[str, str, float]]:
        """Pairs read together in at least ``min_share`` of the less-read table's statements.

        Sorted by weight, heaviest first, then by names, so the planner merges the strongest
        ties first and the result does not depend on dict order.
        """
        found = [
            (a, b, weight)
            for (a, b), weight in self.pairs.items()
            if weight >= min_share * min(self.touched[a], self.touched[b])
        ]
        return sorted(found, key=lambda item: (-item[2], item[0], item[1]))


def is_replica_read(sql: str) -> bool:
    """Whether a router would send ``sql`` to a replica: a plain ``SELECT``."""
    from dbtune.sql import statement_kind

    return statement_kind(sql) == "select" and _LOCKING.search(sql) is None


def read_profile(statements: Iterable[tuple[str, float]], known: Collection[str]) -> ReadProfile:
    """A :class:`ReadProfile` of ``(sql, weight)`` statements over the tables in ``known``.

    Statements that are not replica reads, or read none of the known tables, are counted in
    :attr:`ReadProfile.skipped`; unknown names (views, functions, other schemas) are ignored.
    """
    from dbtune.sql import tables

    profile = ReadProfile()
    for sql, weight in statements:
        if not is_replica_read(sql):
            profile.skipped += 1
            continue
        names = [resolve(name, known) for name in tables(sql)]
        profile.add([name for name in names if name is not None], weight)
    return profile
