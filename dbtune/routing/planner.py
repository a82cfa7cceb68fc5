"""The affinity planner: which replica keeps which tables hot.

Pure logic over sizes and read weights; nothing here touches a database. The plan follows
three rules, in order of importance:

1. **Each replica's hot set fits its cache.** A table that is read is hot with its whole
   size (heap, indexes, TOAST); a table nobody reads is cold and takes no cache.
2. **Tables read together stay together.** Co-accessed tables are merged into groups
   (union-find, strongest tie first) as long as a group still fits one cache.
3. **Read load is balanced.** Groups are placed largest first on the least-loaded replica
   they fit on, then single groups move off the busiest replica while that lowers its load.

Every table also gets an ordered fallback list: its owner, then the other replicas by the
headroom they would have left if the owner failed and its groups moved there, largest group
first, so a failed replica's tables spread to where they fit best.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from dbtune.report import byte_size
from dbtune.routing.grouping import Group, build_groups


@dataclass(frozen=True)
class TableLoad:
    """One table as the planner sees it.

    ``name`` is the routing key (bare for ``public``, else ``schema.table``);
    ``total_bytes`` heap + indexes + TOAST; ``reads`` its read volume in any unit shared by
    all tables of one plan (only shares matter).
    """

    name: str
    total_bytes: int
    reads: float = 0.0

    @property
    def hot_bytes(self) -> int:
        return self.total_bytes if self.reads > 0 else 0


@dataclass
class ReplicaPlan:
    """What one replica serves: its groups, hot bytes against its cache, its read load."""

    alias: str
    cache_bytes: int
    groups: list[Group] = field(default_factory=list)

    @property
    def tables(self) -> list[str]:
        return [name for group in self.groups for name in group.tables]

    @property
    def hot_bytes(self) -> int:
        return sum(group.hot_bytes for group in self.groups)

    @property
    def reads(self) -> float:
        return sum(group.reads for group in self.groups)

    @property
    def total_bytes(self) -> int:
        return sum(group.total_bytes for group in self.groups)

    @property
    def headroom(self) -> int:
        return self.cache_bytes - self.hot_bytes


@dataclass
class Plan:
    """The outcome: replicas in alias order, owner and fallbacks per table, warnings."""

    replicas: list[ReplicaPlan]
    tables: dict[str, TableLoad]
    fallbacks: dict[str, list[str]]
    groups: list[Group]
    warnings: list[str]
    cache_bytes: int
    apart: list[tuple[str, str]] = field(default_factory=list)
    """Co-accessed pairs kept on different groups because together they exceed a cache."""

    @property
    def assignment(self) -> dict[str, str]:
        return {table: aliases[0] for table, aliases in self.fallbacks.items()}

    @property
    def total_reads(self) -> float:
        return sum(table.reads for table in self.tables.values())

    def default_replicas(self) -> list[str]:
        """Replicas for tables the plan does not know yet: most headroom first."""
        order = sorted(enumerate(self.replicas), key=lambda r: (-r[1].headroom, r[1].reads, r[0]))
        return [replica.alias for _, replica in order]


def _place(groups: list[Group], replicas: list[ReplicaPlan], cache: int) -> None:
    for group in groups:
        fitting = [r for r in replicas if r.hot_bytes + group.hot_bytes <= cache]
        if fitting:
            target = min(fitting, key=lambda r: (r.reads, r.hot_bytes, replicas.index(r)))
        else:
            target = min(replicas, key=lambda r: (r.hot_bytes, r.reads, replicas.index(r)))
        target.groups.append(group)


def _rebalance(replicas: list[ReplicaPlan], cache: int) -> None:
    """Move single groups off the busiest replica while that lowers its read load."""
    for _ in range(sum(len(r.groups) for r in replicas) * len(replicas)):
        busiest = max(replicas, key=lambda r: (r.reads, -replicas.index(r)))
        best: tuple[float, Group, ReplicaPlan] | None = None
        for group in busiest.groups:
            for target in replicas:
                if target is busiest or target.hot_bytes + group.hot_bytes > cache:
                    continue
                peak = max(busiest.reads - group.reads, target.reads + group.reads)
                if peak < busiest.reads - 1e-9 and (best is None or peak < best[0]):
                    best = (peak, group, target)
        if best is None:
            return
        busiest.groups.remove(best[1])
        best[2].groups.append(best[1])


def _fallbacks(replicas: list[ReplicaPlan]) -> dict[str, list[str]]:
    fallbacks: dict[str, list[str]] = {}
    for owner in replicas:
        others = [r for r in replicas if r is not owner]
        headroom = {r.alias: r.headroom for r in others}
        for group in sorted(owner.groups, key=lambda g: (-g.hot_bytes, -g.total_bytes, g.key)):
            order = sorted(others, key=lambda r: (-headroom[r.alias], r.reads, replicas.index(r)))
            if order:
                headroom[order[0].alias] -= group.hot_bytes or group.total_bytes
            for name in group.tables:
                fallbacks[name] = [owner.alias, *(r.alias for r in order)]
    return fallbacks


def _warnings(tables: Sequence[TableLoad], replicas: list[ReplicaPlan], cache: int) -> list[str]:
    warnings: list[str] = []
    for table in sorted(tables, key=lambda t: (-t.hot_bytes, t.name)):
        if table.hot_bytes > cache:
            warnings.append(
                f"table {table.name} ({byte_size(table.hot_bytes)}) alone exceeds one replica's "
                f"cache ({byte_size(cache)}): part of its reads will come from disk on any replica"
            )
    hot = sum(t.hot_bytes for t in tables)
    if hot > cache * len(replicas):
        count, each = len(replicas), byte_size(math.ceil(hot / len(replicas)))
        warnings.append(
            f"the hot set ({byte_size(hot)}) exceeds {count} x {byte_size(cache)} of cache: use "
            f"at least {math.ceil(hot / cache)} replicas, or at least {each} of cache each; "
            f"this is the best plan for {count}"
        )
    for replica in replicas:
        if replica.hot_bytes > cache:
            warnings.append(
                f"{replica.alias}'s hot set ({byte_size(replica.hot_bytes)}) exceeds its cache "
                f"({byte_size(cache)})"
            )
    if tables and not any(t.reads > 0 for t in tables):
        warnings.append(
            "no reads recorded for any table (statistics reset?): tables are spread by size only"
        )
    return warnings


def _apart(pairs: list[tuple[str, str]], shown: int = 3) -> list[str]:
    notes = [
        f"{a} and {b} are read together but do not fit one cache together: planned apart, "
        "so their joins read one side from disk"
        for a, b in pairs[:shown]
    ]
    if len(pairs) > shown:
        notes.append(f"{len(pairs) - shown} more co-accessed pairs were kept apart for size")
    return notes


def plan_affinity(
    tables: Sequence[TableLoad],
    aliases: Sequence[str],
    cache_bytes: int,
    together: Iterable[tuple[str, str, float]] = (),
) -> Plan:
    """Assign every table in ``tables`` to one of ``aliases`` (each with ``cache_bytes``).

    ``together`` lists co-accessed pairs ``(a, b, weight)``, strongest first (see
    :meth:`~dbtune.routing.coaccess.ReadProfile.together`); unknown names are ignored.
    Never fails for an impossible fit: the best plan comes back with warnings saying what
    does not fit and how many replicas or how much cache would.
    """
    if not aliases or cache_bytes <= 0:
        raise ValueError("a plan needs at least one replica and a positive cache size")
    by_name = {table.name: table for table in tables}
    grouping = build_groups(by_name, together, cache_bytes)
    groups = grouping.groups
    replicas = [ReplicaPlan(alias, cache_bytes) for alias in aliases]
    hot = [g for g in groups if g.hot_bytes > 0]
    _place(sorted(hot, key=lambda g: (-g.hot_bytes, -g.reads, g.key)), replicas, cache_bytes)
    _rebalance(replicas, cache_bytes)
    cold_used = {r.alias: 0 for r in replicas}
    cold = sorted((g for g in groups if g.hot_bytes == 0), key=lambda g: (-g.total_bytes, g.key))
    for group in cold:
        target = min(
            replicas,
            key=lambda r: (r.hot_bytes + cold_used[r.alias], r.reads, replicas.index(r)),
        )
        cold_used[target.alias] += group.total_bytes
        target.groups.append(group)
    return Plan(
        replicas=replicas,
        tables=by_name,
        fallbacks=_fallbacks(replicas),
        groups=groups,
        warnings=_warnings(tables, replicas, cache_bytes) + _apart(grouping.apart),
        cache_bytes=cache_bytes,
        apart=grouping.apart,
    )
