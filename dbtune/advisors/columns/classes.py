"""Row classes from ``pg_stats`` alone: the fallback when the table cannot be sampled.

Instead of one "average row" (which misprices alignment and the null bitmap) the rows are
split into classes: every combination of NULL / not NULL over the nullable columns, each
weighted by the product of the columns' ``null_frac`` (columns taken as independent), and
each varlena value as wide as its ``avg_width`` (stored bytes, header included, an 18-byte
TOAST pointer for moved-out values). The classes are then interleaved into a few thousand
synthetic rows, so the page simulation sees the mix.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from dbtune.advisors.columns.sample import Probe, Sample
from dbtune.advisors.columns.stats import ColumnStats
from dbtune.advisors.columns.storage import SHORT_VARLENA_MAX

SYNTHETIC_ROWS = 4000
MAX_SPLIT_COLUMNS = 8
"""Nullable columns whose NULLs split classes; beyond these the rarest are merged."""


def _width(probe: Probe, stats: ColumnStats | None) -> int:
    if probe.kind == "fixed":
        return 0
    if probe.kind == "flag":
        return 1
    width = stats.avg_width if stats is not None else 8
    return width if width <= SHORT_VARLENA_MAX and probe.packable else -width


def row_classes(
    probes: Sequence[Probe], stats: dict[str, ColumnStats]
) -> list[tuple[tuple[int | None, ...], float]]:
    """``(row, weight)`` per class; weights sum to 1."""
    base = [_width(p, stats.get(p.key.split("::")[0])) for p in probes]
    nullable = []
    for i, p in enumerate(probes):
        st = stats.get(p.key.split("::")[0])
        if p.kind != "flag" and st is not None and st.null_frac > 0:
            nullable.append((i, min(1.0, st.null_frac)))
    split = sorted(nullable, key=lambda item: -min(item[1], 1 - item[1]))[:MAX_SPLIT_COLUMNS]
    fixed_nulls = {i for i, frac in nullable if (i, frac) not in split and frac >= 0.5}
    classes: list[tuple[tuple[int | None, ...], float]] = []
    for pattern in itertools.product((False, True), repeat=len(split)):
        weight = 1.0
        row: list[int | None] = list(base)
        for (i, frac), is_null in zip(split, pattern, strict=True):
            weight *= frac if is_null else 1 - frac
            if is_null:
                row[i] = None
        for i in fixed_nulls:
            row[i] = None
        if weight > 0:
            classes.append((tuple(row), weight))
    return classes


def stats_sample(probes: Sequence[Probe], stats: dict[str, ColumnStats], table_rows: int) -> Sample:
    """A synthetic :class:`Sample` of the row classes, each spread evenly over the rows,
    standing for ``table_rows`` rows; never ``complete``."""
    classes = row_classes(probes, stats)
    placed: list[tuple[float, int]] = []
    for index, (_, weight) in enumerate(classes):
        count = max(1, round(weight * SYNTHETIC_ROWS)) if weight * SYNTHETIC_ROWS >= 0.5 else 0
        placed += [((k + 0.5) / count, index) for k in range(count)]
    rows = [classes[index][0] for _, index in sorted(placed)]
    method = f"pg_stats row classes ({len(classes)} classes; the table could not be sampled)"
    return Sample([p.key for p in probes], rows, max(table_rows, 1), False, method)
