"""Layouts (attributes in order, each fed by a sampled column) and their exact heap size.

A :class:`Layout` is what a rebuilt table would look like: the current table, the table
with one change applied, or the table in the order with the least padding. Pricing a
layout replays the sampled rows, in physical order, through :mod:`storage`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from operator import itemgetter

from dbtune.advisors.columns.catalog import Table
from dbtune.advisors.columns.sample import Sample
from dbtune.advisors.columns.storage import (
    LINE_POINTER,
    Attr,
    Platform,
    Row,
    data_length,
    fill_pages,
    header_length,
    tuple_space,
)


@dataclass(frozen=True)
class Slot:
    """One attribute of a layout; ``source`` indexes the sample row (``None``: always NULL)."""

    name: str
    attr: Attr
    source: int | None
    not_null: bool = False

    @property
    def type_name(self) -> str:
        return self.attr.type_name


@dataclass(frozen=True)
class Layout:
    slots: tuple[Slot, ...]

    @property
    def attrs(self) -> list[Attr]:
        return [s.attr for s in self.slots]

    @property
    def live(self) -> list[Slot]:
        return [s for s in self.slots if not s.attr.dropped]

    def row(self, values: Sequence[int | None]) -> Row:
        return tuple(None if s.source is None else values[s.source] for s in self.slots)

    def rows(self, sample: Sample) -> list[Row]:
        """Every sampled row as this layout stores it (fast path of :meth:`row`)."""
        if not self.slots:
            return [() for _ in sample.rows]
        width = len(sample.keys)
        picks = [width if s.source is None else s.source for s in self.slots]
        pick = itemgetter(*picks)
        if len(picks) == 1:
            return [(pick((*r, None)),) for r in sample.rows]
        if all(s.source is not None for s in self.slots):
            return [pick(r) for r in sample.rows]
        return [pick((*r, None)) for r in sample.rows]

    def slot(self, name: str) -> Slot | None:
        return next((s for s in self.live if s.name == name), None)

    def replace_slot(self, name: str, new: Slot | None, *, in_place_drop: bool = False) -> Layout:
        """The layout with column ``name`` changed to ``new``, or removed when ``new`` is None
        (``in_place_drop``: kept as a dropped attribute, as ``DROP COLUMN`` leaves it)."""
        slots: list[Slot] = []
        for s in self.slots:
            if s.name != name or s.attr.dropped:
                slots.append(s)
            elif new is not None:
                slots.append(new)
            elif in_place_drop:
                slots.append(Slot(s.name, replace(s.attr, dropped=True), None))
        return Layout(tuple(slots))

    def fresh(self) -> Layout:
        """The layout a new table gets: dropped attributes gone."""
        return Layout(tuple(self.live))

    def describe(self) -> list[dict[str, str]]:
        return [{"column": s.name, "type": s.type_name} for s in self.live]


def current_layout(table: Table, sample: Sample) -> Layout:
    slots = []
    for c in table.columns:
        source = None if c.dropped else sample.index(c.name)
        slots.append(Slot(c.name, c.attr(), source, c.not_null))
    return Layout(tuple(slots))


@dataclass(frozen=True)
class HeapEstimate:
    bytes_per_row: float
    bytes_total: int
    rows: int
    mean_header: float = 0.0
    mean_data: float = 0.0
    mean_tuple: float = 0.0
    """Means over the sampled rows: ``t_hoff``, data bytes, ``MAXALIGN(t_len)``."""


def estimate_heap(
    layout: Layout, sample: Sample, fillfactor: int, platform: Platform
) -> HeapEstimate:
    """Heap (main fork) bytes of the table rebuilt with ``layout``: exact page count when the
    sample is the whole table; else the table's rows at the sample's rows per full page,
    rounded up to whole pages."""
    attrs = layout.attrs
    memo: dict[Row, tuple[int, int, int]] = {}
    spaces: list[int] = []
    header = data = 0
    for row in layout.rows(sample):
        known = memo.get(row)
        if known is None:
            has_null = None in row
            known = (
                header_length(len(attrs), has_null, platform),
                data_length(attrs, row, platform),
                tuple_space(attrs, row, platform),
            )
            memo[row] = known
        header += known[0]
        data += known[1]
        spaces.append(known[2])
    fill = fill_pages(spaces, fillfactor, platform)
    n = max(1, len(spaces))
    means = (header / n, data / n, (sum(spaces) / n - LINE_POINTER) if spaces else 0.0)
    if sample.complete or not sample.rows:
        total = fill.pages * platform.block_size if sample.rows else 0
        per_row = total / fill.rows if fill.rows else 0.0
        return HeapEstimate(per_row, total, fill.rows, *means)
    pages = math.ceil(fill.bytes_per_row(platform) * sample.table_rows / platform.block_size - 1e-9)
    total = pages * platform.block_size
    return HeapEstimate(total / sample.table_rows, total, sample.table_rows, *means)


def _class_rank(slot: Slot, platform: Platform) -> int:
    attr = slot.attr
    if attr.typlen <= 0:
        return 8
    return {8: 0, 4: 2, 2: 4}.get(platform.align_of(attr.typalign), 6)


def _odd(slot: Slot, platform: Platform) -> bool:
    attr = slot.attr
    return attr.typlen > 0 and attr.typlen % platform.align_of(attr.typalign) != 0


def tight_orders(layout: Layout, sample: Sample, platform: Platform) -> list[Layout]:
    """Candidate orders with the least padding, best guess first.

    The rule: 8-byte aligned first, then 4, 2, 1, varlena last, NOT NULL before nullable
    within a class, lengths that break the next column's alignment last in their class.
    Variants move wide (4-byte header) varlenas next to the 4-byte class.
    """
    live = layout.live

    def key(extra: Callable[[Slot], int]) -> Callable[[Slot], tuple[int, ...]]:
        return lambda s: (
            _class_rank(s, platform) if extra(s) < 0 else extra(s),
            0 if s.not_null else 1,
            1 if _odd(s, platform) else 0,
        )

    rule = sorted(live, key=key(lambda s: -1))
    widths = _mean_varlena_widths(live, sample)
    wide = {s.name for s in live if widths.get(s.name, 0.0) > 127}
    moved = sorted(live, key=key(lambda s: 3 if s.name in wide else -1))
    orders = [Layout(tuple(rule))]
    if moved != rule:
        orders.append(Layout(tuple(moved)))
    return orders


def _mean_varlena_widths(slots: Sequence[Slot], sample: Sample) -> dict[str, float]:
    out: dict[str, float] = {}
    for s in slots:
        if s.attr.typlen > 0 or s.source is None:
            continue
        values = [abs(r[s.source] or 0) for r in sample.rows if r[s.source] is not None]
        out[s.name] = sum(values) / len(values) if values else 0.0
    return out


def best_order(layout: Layout, sample: Sample, fillfactor: int, platform: Platform) -> Layout:
    """The order with the fewest heap bytes, then the least row data (padding), among the
    candidates of :func:`tight_orders` and ``layout``'s own order."""
    candidates = [*tight_orders(layout, sample, platform), layout]
    priced = []
    for i, candidate in enumerate(candidates):
        estimate = estimate_heap(candidate, sample, fillfactor, platform)
        priced.append((estimate.bytes_total, round(estimate.mean_data, 3), i))
    return candidates[min(priced)[2]]
