"""B-tree index sizes for a layout, from the same sampled rows as the heap.

Only plain-column B-tree indexes are modelled; an index on an expression or of another
access method keeps its measured size and is named as not modelled. Deduplication needs
the number of rows per distinct key: one bounded ``GROUP BY`` per index gives it exactly,
``pg_stats`` (``n_distinct`` and the most common values) when that query is too slow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from dbtune.advisors.columns.btree import build_pages, index_tuple_size, leaf_items
from dbtune.advisors.columns.catalog import Index, Table
from dbtune.advisors.columns.layout import Layout
from dbtune.advisors.columns.sample import Sample
from dbtune.advisors.columns.stats import ColumnStats
from dbtune.advisors.columns.storage import Platform

MAX_ITEMS = 100_000
EQUAL_IMAGE_TYPES = {"smallint", "integer", "bigint", "uuid", "date", "boolean", "text"}


@dataclass
class IndexModel:
    index: Index
    columns: list[str] | None
    """Key then INCLUDE column names; ``None`` when the index is not modelled."""
    types: list[str]
    predicate: int | None = None
    """Sample position of the partial-index predicate flag."""
    groups: dict[int, int] | None = None

    @property
    def modelled(self) -> bool:
        return self.columns is not None


def model_for(index: Index, table: Table) -> IndexModel:
    by_num = {c.attnum: c for c in table.columns}
    if index.method != "btree" or 0 in index.attnums:
        return IndexModel(index, None, [])
    cols = [by_num[n] for n in index.attnums]
    return IndexModel(index, [c.name for c in cols], [c.type_name for c in cols])


def duplicate_groups(
    conn: Any, relation: sql.Composable, model: IndexModel
) -> dict[int, int] | None:
    """``{rows per key: number of keys}`` over all of ``relation``, or ``None`` on timeout."""
    assert model.columns is not None
    keys = sql.SQL(", ").join(sql.Identifier(n) for n in model.columns[: model.index.key_count])
    where = (
        sql.SQL(" WHERE {}").format(sql.SQL(model.index.predicate))
        if model.index.predicate
        else sql.SQL("")
    )
    query = sql.SQL(
        "SELECT d, count(*) FROM (SELECT count(*) AS d FROM {}{} GROUP BY {}) g GROUP BY d"
    ).format(relation, where, keys)
    try:
        return {int(d): int(n) for d, n in conn.execute(query).fetchall()}
    except psycopg.errors.QueryCanceled:
        return None


def groups_from_stats(stats: ColumnStats | None, rows: int) -> dict[int, int] | None:
    if stats is None or rows <= 0:
        return None
    groups: dict[int, int] = {}
    nonnull = rows * (1 - stats.null_frac)
    for freq in stats.mcf:
        d = max(1, round(freq * rows))
        groups[d] = groups.get(d, 0) + 1
    rest_rows = nonnull - sum(d * n for d, n in groups.items())
    rest_keys = max(0.0, stats.distinct(rows) - len(stats.mcf))
    if rest_keys >= 1 and rest_rows >= 1:
        d = max(1, round(rest_rows / rest_keys))
        groups[d] = groups.get(d, 0) + max(1, round(rest_rows / d))
    return groups or None


def _scaled(groups: dict[int, int], limit: int) -> tuple[dict[int, int], float]:
    rows = sum(d * n for d, n in groups.items())
    if rows <= limit:
        return groups, 1.0
    factor = limit / rows
    scaled = {d: max(1, round(n * factor)) for d, n in groups.items()}
    return scaled, sum(d * n for d, n in scaled.items()) / rows


def estimate_index(
    model: IndexModel, layout: Layout, sample: Sample, platform: Platform
) -> int | None:
    """Bytes of the index rebuilt on ``layout`` (0 when a column it needs was dropped)."""
    if model.columns is None:
        return None
    slots = [layout.slot(n) for n in model.columns]
    if any(s is None for s in slots) or not sample.rows:
        return 0 if sample.rows else None
    present = [s for s in slots if s is not None]
    attrs = [s.attr for s in present]
    rows = [r for r in sample.rows if model.predicate is None or r[model.predicate]]
    memo: dict[tuple[int | None, ...], int] = {}
    plain: list[int] = []
    for r in rows:
        key = tuple(r[s.source] if s.source is not None else None for s in present)
        size = memo.get(key)
        if size is None:
            size = memo[key] = index_tuple_size(attrs, key, platform)
        plain.append(size)
    if not plain:
        return 2 * platform.block_size
    entries = (
        len(rows) if sample.complete else round(sample.table_rows * len(rows) / len(sample.rows))
    )
    keys_equal_image = [
        t in EQUAL_IMAGE_TYPES or t.startswith("character varying") if t != old else flag
        for t, old, flag in zip(
            (s.type_name for s in present), model.types, model.index.equal_image, strict=False
        )
    ]
    dedup = model.index.method == "btree" and model.index.dedup_allowed and all(keys_equal_image)
    groups = model.groups if dedup else None
    duplicates = bool(model.groups and max(model.groups) > 1)
    pivot = sum(plain) / len(plain) + (platform.max_align(6) if duplicates else 0)
    if groups:
        scaled, factor = _scaled(groups, MAX_ITEMS)
        pages = build_pages(
            leaf_items(plain, scaled, platform), model.index.fillfactor, pivot, platform
        )
        counted = sum(d * n for d, n in scaled.items())
        if factor == 1.0 and sample.complete:
            return pages * platform.block_size
        return round(pages * platform.block_size / counted * entries)
    pages = build_pages(plain, model.index.fillfactor, pivot, platform)
    if sample.complete:
        return pages * platform.block_size
    return round(pages * platform.block_size / len(plain) * entries)
