"""PostgreSQL's heap tuple and page layout, computed exactly rather than approximated.

The rules (``htup_details.h``, ``heaptuple.c``, ``hio.c``), for a row with attributes in
``attnum`` order:

* a 23-byte header, plus a null bitmap of ``ceil(natts / 8)`` bytes only when the row holds
  a NULL, where ``natts`` counts every attribute including dropped ones (always NULL in new
  rows); data starts at ``t_hoff = MAXALIGN(23 + bitmap)``;
* each non-NULL value is aligned to its type's ``typalign`` relative to the data start,
  except varlena values stored with a 1-byte header (uncompressed, up to 126 data bytes,
  on a column whose storage is not ``plain``) and external TOAST pointers (18 bytes);
* on a page the tuple takes ``MAXALIGN(t_len)`` plus a 4-byte line pointer; a page holds
  ``block_size - 24`` such bytes, minus the space ``fillfactor`` keeps free, and at most
  ``MaxHeapTuplesPerPage`` tuples.

A value in a row is given as ``None`` (NULL) or an int width: for a fixed-length attribute
the width is ignored (``typlen`` counts); for a varlena a positive width is stored without
alignment (1-byte header, or TOAST pointer) and a negative width ``-w`` is ``w`` bytes
stored with a 4-byte header, aligned.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

HEAP_TUPLE_HEADER = 23
LINE_POINTER = 4
PAGE_HEADER = 24
TOAST_POINTER = 18
SHORT_VARLENA_MAX = 127
"""Largest varlena stored with a 1-byte header: 126 data bytes plus the header."""

Row = tuple[int | None, ...]


@dataclass(frozen=True)
class Platform:
    """What the server was compiled with; ``MAXALIGN`` 8 and 8 kB pages on 64-bit builds."""

    maxalign: int = 8
    block_size: int = 8192

    def align_of(self, typalign: str) -> int:
        if typalign == "d":
            return min(8, self.maxalign)
        return {"c": 1, "s": 2, "i": 4}.get(typalign, 1)

    def max_align(self, length: int) -> int:
        return align_up(length, self.maxalign)

    @property
    def page_space(self) -> int:
        return self.block_size - PAGE_HEADER

    @property
    def max_tuples_per_page(self) -> int:
        return self.page_space // (self.max_align(HEAP_TUPLE_HEADER) + LINE_POINTER)


@dataclass(frozen=True)
class Attr:
    """One attribute slot of a row: ``typlen`` > 0 fixed, -1 varlena, -2 cstring."""

    name: str
    typlen: int
    typalign: str
    packable: bool = True
    """Whether a short value gets a 1-byte header (``attstorage`` is not ``plain``)."""
    type_name: str = ""
    dropped: bool = False


def align_up(offset: int, alignment: int) -> int:
    return (offset + alignment - 1) // alignment * alignment


def varlena_width(payload: int, *, packable: bool = True, compressed: bool = False) -> int:
    """The encoded width (see module docs) of a varlena value with ``payload`` data bytes."""
    if packable and not compressed and payload + 1 <= SHORT_VARLENA_MAX:
        return payload + 1
    return -(payload + 4)


def data_length(attrs: Sequence[Attr], row: Row, platform: Platform, start: int = 0) -> int:
    """Bytes of the data area for ``row`` laid out in ``attrs`` order, from offset ``start``."""
    offset = start
    for attr, value in zip(attrs, row, strict=True):
        if value is None:
            continue
        if attr.typlen > 0:
            offset = align_up(offset, platform.align_of(attr.typalign)) + attr.typlen
        elif value > 0:
            offset += value
        else:
            offset = align_up(offset, platform.align_of(attr.typalign)) - value
    return offset - start


def header_length(natts: int, has_null: bool, platform: Platform) -> int:
    """``t_hoff``: the header with its null bitmap, MAXALIGNed."""
    bitmap = (natts + 7) // 8 if has_null else 0
    return platform.max_align(HEAP_TUPLE_HEADER + bitmap)


def tuple_length(attrs: Sequence[Attr], row: Row, platform: Platform) -> int:
    """``t_len`` of a heap tuple holding ``row``."""
    has_null = any(value is None for value in row)
    return header_length(len(attrs), has_null, platform) + data_length(attrs, row, platform)


def tuple_space(attrs: Sequence[Attr], row: Row, platform: Platform) -> int:
    """Bytes ``row`` takes on a heap page: ``MAXALIGN(t_len)`` plus its line pointer."""
    return platform.max_align(tuple_length(attrs, row, platform)) + LINE_POINTER


def reserved_space(fillfactor: int, platform: Platform) -> int:
    """Free space an insert leaves on each page (``RelationGetTargetPageFreeSpace``)."""
    return platform.block_size * (100 - fillfactor) // 100


@dataclass(frozen=True)
class PageFill:
    """How a sequential rebuild packs tuples: ``pages`` used by ``rows``."""

    rows: int
    pages: int
    full_pages: int
    rows_on_full_pages: int

    def bytes_per_row(self, platform: Platform) -> float:
        """Heap bytes per row, from full pages when there are any (a partial last page of a
        sample says nothing about the table it was drawn from)."""
        if self.full_pages and self.rows_on_full_pages:
            return platform.block_size * self.full_pages / self.rows_on_full_pages
        return platform.block_size * self.pages / self.rows if self.rows else 0.0


def fill_pages(spaces: Iterable[int], fillfactor: int, platform: Platform) -> PageFill:
    """Pack tuples (each ``MAXALIGN(t_len) + 4`` bytes, in order) as VACUUM FULL, CLUSTER,
    CREATE TABLE AS and a rewriting ALTER TABLE do: a tuple goes on the current page when
    ``space + reserved <= free`` and the page has fewer than ``MaxHeapTuplesPerPage``
    tuples, else on a new page."""
    reserve = reserved_space(fillfactor, platform)
    limit = platform.max_tuples_per_page
    pages = full_pages = rows = rows_full = on_page = used = 0
    for space in spaces:
        rows += 1
        if pages == 0 or on_page >= limit or used + space + reserve > platform.page_space:
            if pages:
                full_pages += 1
                rows_full += on_page
            pages += 1
            on_page = used = 0
        on_page += 1
        used += space
    return PageFill(rows, pages, full_pages, rows_full)


def uniform_pages(rows: int, space: int, fillfactor: int, platform: Platform) -> int:
    """Pages for ``rows`` tuples that all take ``space`` bytes (the closed form)."""
    usable = platform.page_space - reserved_space(fillfactor, platform)
    per_page = max(1, min(platform.max_tuples_per_page, usable // space))
    return math.ceil(rows / per_page)


def bulk_extended_pages(pages: int, max_chunk: int = 64) -> int:
    """File size in pages after a bulk load that needed ``pages`` (PostgreSQL 16+).

    ``CREATE TABLE AS`` and a rewriting ``ALTER TABLE`` extend the file through a bulk
    insert state by 1, 1, 2, 4, ... pages, then ``max_chunk`` at a time, so the file ends on
    the next such step; the empty tail stays until a VACUUM truncates it (``VACUUM FULL``
    and ``CLUSTER`` write pages one by one and leave none).
    """
    if pages <= 0:
        return 0
    if pages <= max_chunk:
        return 1 << (pages - 1).bit_length()
    return math.ceil(pages / max_chunk) * max_chunk
