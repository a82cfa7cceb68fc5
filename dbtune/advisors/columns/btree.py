"""B-tree index sizes as ``CREATE INDEX`` (and ``REINDEX``) builds them (``nbtsort.c``).

An index tuple is an 8-byte header (heap TID + info), a 4-byte null bitmap when a key is
NULL, MAXALIGNed, then the keys laid out like heap data; the whole tuple is MAXALIGNed and
takes a 4-byte line pointer. Equal keys are merged into posting-list tuples
(``MAXALIGN(tuple + 6 * TIDs)``, at most ``MAXALIGN_DOWN(10% of a page) - 4`` bytes) when
the index deduplicates: not unique, no INCLUDE columns, every opclass "equal image".

Leaf pages are filled to ``fillfactor`` (default 90) and upper pages to 70%; a page is
closed when its free space falls under the target, its last item then moves right and a
copy becomes the high key. One metapage comes first.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from functools import cache

from dbtune.advisors.columns.storage import LINE_POINTER, PAGE_HEADER, Attr, Platform, Row
from dbtune.advisors.columns.storage import data_length as heap_data_length

INDEX_HEADER = 8
INDEX_NULL_BITMAP = 4
BTREE_SPECIAL = 16
HEAP_TID = 6
DEFAULT_FILLFACTOR = 90
UPPER_FILLFACTOR = 70


def index_tuple_size(attrs: Sequence[Attr], row: Row, platform: Platform) -> int:
    """``IndexTupleSize`` (MAXALIGNed) of a leaf tuple holding ``row``'s keys."""
    has_null = any(value is None for value in row)
    start = platform.max_align(INDEX_HEADER + (INDEX_NULL_BITMAP if has_null else 0))
    return platform.max_align(start + heap_data_length(attrs, row, platform))


def max_posting_size(platform: Platform) -> int:
    """Largest posting-list tuple a build writes (10% of a page, minus a line pointer)."""
    tenth = platform.block_size * 10 // 100
    return tenth // platform.maxalign * platform.maxalign - LINE_POINTER


@cache
def posting_sizes(base: int, duplicates: int, platform: Platform) -> tuple[int, ...]:
    """Tuples a build writes for ``duplicates`` equal keys whose plain tuple is ``base``."""
    limit = max_posting_size(platform)
    per_tuple = max(1, (limit - base) // HEAP_TID)
    while per_tuple > 1 and platform.max_align(base + HEAP_TID * per_tuple) > limit:
        per_tuple -= 1
    sizes: list[int] = []
    left = duplicates
    while left > 0:
        take = min(left, per_tuple)
        sizes.append(base if take == 1 else platform.max_align(base + HEAP_TID * take))
        left -= take
    return tuple(sizes)


def _level_pages(sizes: Iterable[int], target_free: int, leaf: bool, platform: Platform) -> int:
    """Pages one level of the tree takes."""
    empty = platform.block_size - PAGE_HEADER - BTREE_SPECIAL - LINE_POINTER
    pages = 1
    free = empty
    on_page: list[int] = []
    reserve = platform.max_align(HEAP_TID) if leaf else 0
    for size in sizes:
        space = free - LINE_POINTER
        if space < size + reserve or (space < target_free and len(on_page) >= 2):
            moved = on_page[-1] if on_page else size
            pages += 1
            on_page = [moved]
            free = empty - moved - LINE_POINTER
        on_page.append(size)
        free -= size + LINE_POINTER
    return pages


def build_pages(sizes: Sequence[int], fillfactor: int, pivot: float, platform: Platform) -> int:
    """Pages (metapage included) of a B-tree built from leaf tuples of ``sizes`` in order.

    ``pivot`` is the mean size of a downlink: the key alone after suffix truncation, plus
    a MAXALIGNed heap TID where equal keys straddle pages.
    """
    if not sizes:
        return 2
    leaf_target = platform.block_size * (100 - fillfactor) // 100
    upper_target = platform.block_size * (100 - UPPER_FILLFACTOR) // 100
    pages = _level_pages(sizes, leaf_target, True, platform)
    total = 1 + pages
    pivot_size = platform.max_align(math.ceil(pivot))
    while pages > 1:
        pages = _level_pages([pivot_size] * pages, upper_target, False, platform)
        total += pages
    return total


def leaf_items(
    plain_sizes: Sequence[int], groups: dict[int, int] | None, platform: Platform
) -> list[int]:
    """Leaf tuples for rows whose plain tuples are ``plain_sizes``.

    ``groups`` maps a duplicate count to how many distinct keys have it (``None``: no
    deduplication). Sizes of duplicates are taken round-robin from ``plain_sizes``.
    """
    if not groups:
        return list(plain_sizes)
    items: list[int] = []
    position = 0
    count = len(plain_sizes)
    for duplicates, keys in sorted(groups.items()):
        for _ in range(keys):
            base = plain_sizes[position % count] if count else 16
            position += duplicates
            items.extend(posting_sizes(base, duplicates, platform))
    return items
