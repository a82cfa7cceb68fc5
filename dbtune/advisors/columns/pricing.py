"""Pricing layouts against each other: heap and index bytes per row, and *why* a change
that looks like a saving is not one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dbtune.advisors.columns.catalog import Table
from dbtune.advisors.columns.index_size import IndexModel, estimate_index
from dbtune.advisors.columns.layout import HeapEstimate, Layout, Slot, estimate_heap
from dbtune.advisors.columns.sample import Sample
from dbtune.advisors.columns.storage import LINE_POINTER, Platform

MIN_SAVING_BYTES = 0.5
MIN_SAVING_SHARE = 0.002


@dataclass(frozen=True)
class Delta:
    heap: float
    index: float

    @property
    def total(self) -> float:
        return self.heap + self.index


@dataclass
class Pricer:
    table: Table
    sample: Sample
    platform: Platform
    indexes: list[IndexModel]
    _heap: dict[Layout, HeapEstimate] = field(default_factory=dict)
    _index: dict[tuple[str, tuple[Slot | None, ...]], int | None] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return self.sample.table_rows

    def heap(self, layout: Layout) -> HeapEstimate:
        if layout not in self._heap:
            self._heap[layout] = estimate_heap(
                layout, self.sample, self.table.fillfactor, self.platform
            )
        return self._heap[layout]

    def index(self, layout: Layout, model: IndexModel) -> int | None:
        """Bytes of ``model``'s index on ``layout`` (cached by the slots it reads)."""
        key = (model.index.name, tuple(layout.slot(n) for n in model.columns or []))
        if key not in self._index:
            self._index[key] = estimate_index(model, layout, self.sample, self.platform)
        return self._index[key]

    def index_total(self, layout: Layout) -> int:
        """Modelled index bytes (indexes that are not modelled count as unchanged: 0)."""
        return sum(self.index(layout, m) or 0 for m in self.indexes if m.modelled)

    def delta(self, base: Layout, variant: Layout) -> Delta:
        """Bytes per row ``variant`` saves over ``base`` (negative: it costs more)."""
        heap = self.heap(base).bytes_per_row - self.heap(variant).bytes_per_row
        index = (
            (self.index_total(base) - self.index_total(variant)) / self.rows if self.rows else 0.0
        )
        return Delta(round(heap, 3), round(index, 3))

    def worth_it(self, delta: Delta, base: Layout) -> bool:
        floor = max(MIN_SAVING_BYTES, MIN_SAVING_SHARE * self.heap(base).bytes_per_row)
        return delta.total >= floor

    def explain(self, base: Layout, variant: Layout, delta: Delta, dropping: bool = False) -> str:
        """One sentence on why ``delta`` is what it is, in PostgreSQL's terms."""
        b, v = self.heap(base), self.heap(variant)
        align = self.platform.maxalign
        parts: list[str] = []
        if abs(b.mean_header - v.mean_header) >= 0.05:
            parts.append(
                f"the tuple header (with its null bitmap) goes from {b.mean_header:.1f} to "
                f"{v.mean_header:.1f} bytes on average"
            )
        if abs(b.mean_data - v.mean_data) >= 0.05:
            parts.append(f"row data goes from {b.mean_data:.1f} to {v.mean_data:.1f} bytes")
        elif not parts and dropping:
            parts.append(
                "the row stores the same data bytes either way (a NULL takes no data space)"
            )
        elif not parts:
            parts.append(
                "row data stays the same: the bytes saved become alignment padding "
                "before the next aligned column"
            )
        if abs(b.mean_tuple - v.mean_tuple) < 0.05 and abs(b.mean_data - v.mean_data) >= 0.05:
            parts.append(
                f"but each tuple is padded to a multiple of {align} bytes (MAXALIGN) "
                f"and stays {v.mean_tuple:.1f}"
            )
        elif abs(b.mean_tuple - v.mean_tuple) >= 0.05:
            parts.append(f"tuples {b.mean_tuple:.1f} -> {v.mean_tuple:.1f} bytes")
            if abs(delta.heap) < MIN_SAVING_BYTES:
                per_page = self.platform.page_space / (v.mean_tuple + LINE_POINTER)
                parts.append(
                    f"but about {per_page:.0f} rows still fit on each "
                    f"{self.platform.block_size // 1024} kB page"
                )
        if abs(delta.index) >= 0.05:
            parts.append(f"indexes {delta.index:+.1f} B/row")
        return "; ".join(parts)
