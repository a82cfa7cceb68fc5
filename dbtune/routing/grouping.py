"""Groups of tables read together, merged while each group still fits one replica's cache.

A join between two tables on different replicas cannot be served by either, so tables
that statements read together are kept on one replica. Ties are merged strongest first
(union-find); a merge that would make a group's hot set larger than one cache is refused,
which splits the weakest ties of a cluster of tables too large for any single replica.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol


class Sized(Protocol):
    """What grouping reads of a table (:class:`~dbtune.routing.planner.TableLoad`)."""

    @property
    def total_bytes(self) -> int: ...

    @property
    def reads(self) -> float: ...

    @property
    def hot_bytes(self) -> int: ...


@dataclass(frozen=True)
class Group:
    """Tables placed together; ``tables`` sorted by reads (busiest first), then name."""

    tables: tuple[str, ...]
    hot_bytes: int
    total_bytes: int
    reads: float

    @property
    def key(self) -> str:
        """A stable name for ordering: the alphabetically first table."""
        return min(self.tables)


@dataclass
class Grouping:
    """The groups, and the co-accessed pairs kept apart because together they do not fit."""

    groups: list[Group]
    apart: list[tuple[str, str]]


def build_groups(
    tables: Mapping[str, Sized], together: Iterable[tuple[str, str, float]], cache_bytes: int
) -> Grouping:
    """Merge ``tables`` along the ``together`` pairs (strongest first) under ``cache_bytes``.

    Pairs naming an unknown or unread table are ignored. Every table ends up in exactly one
    group; groups come back sorted by :attr:`Group.key`.
    """
    parent = {name: name for name in tables}
    hot = {name: table.hot_bytes for name, table in tables.items()}

    def find(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    apart: list[tuple[str, str]] = []
    for first, second, _ in together:
        if first not in tables or second not in tables:
            continue
        if not (tables[first].reads > 0 and tables[second].reads > 0):
            continue
        a, b = find(first), find(second)
        if a == b:
            continue
        if hot[a] + hot[b] > cache_bytes:
            apart.append((first, second))
            continue
        parent[b] = a
        hot[a] += hot.pop(b)
    members: dict[str, list[str]] = {}
    for name in tables:
        members.setdefault(find(name), []).append(name)
    groups = []
    for names in members.values():
        names.sort(key=lambda n: (-tables[n].reads, n))
        groups.append(
            Group(
                tables=tuple(names),
                hot_bytes=sum(tables[n].hot_bytes for n in names),
                total_bytes=sum(tables[n].total_bytes for n in names),
                reads=sum(tables[n].reads for n in names),
            )
        )
    return Grouping(sorted(groups, key=lambda g: g.key), apart)
