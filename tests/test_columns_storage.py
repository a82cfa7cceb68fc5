"""The storage rules of the column advisor as pure arithmetic (no server).

Expected numbers are worked out by hand from PostgreSQL's rules (23-byte header, null
bitmap only with a NULL, MAXALIGN 8, 8168 usable bytes per 8 kB page); the layouts tests
check the same rules against real tables.
"""

from __future__ import annotations

import pytest

from dbtune.advisors.columns.btree import index_tuple_size, max_posting_size, posting_sizes
from dbtune.advisors.columns.catalog import Column, Table
from dbtune.advisors.columns.screening import screen
from dbtune.advisors.columns.stats import ColumnStats
from dbtune.advisors.columns.storage import (
    Attr,
    Platform,
    bulk_extended_pages,
    fill_pages,
    header_length,
    tuple_length,
    uniform_pages,
    varlena_width,
)
from dbtune.advisors.columns.targets import smallest_int

P = Platform()
I2 = Attr("s", 2, "s")
I4 = Attr("i", 4, "i")
I8 = Attr("l", 8, "d")
B = Attr("b", 1, "c")
T = Attr("t", -1, "i")
UUID = Attr("u", 16, "c")


@pytest.mark.parametrize(
    ("attrs", "row", "expected"),
    [
        pytest.param([I4, I8], (0, 0), 40, id="int4-int8-padding"),
        pytest.param([I8, I4], (0, 0), 36, id="int8-int4-unpadded-but-maxaligned-40"),
        pytest.param([B, I8, B, I8], (0, 0, 0, 0), 56, id="bool-int8-twice"),
        pytest.param([I8, I8, B, B], (0, 0, 0, 0), 42, id="bools-last"),
        pytest.param([I4, I8, I8], (0, 0, 0), 48, id="one-of-three-narrowed"),
        pytest.param([I4, I4, I8], (0, 0, 0), 40, id="two-of-three-narrowed"),
        pytest.param([I4] * 8, (0,) * 7 + (None,), 52, id="8-cols-null-bitmap-free"),
        pytest.param([I4] * 9, (0,) * 8 + (None,), 64, id="9-cols-null-bitmap-8-bytes"),
        pytest.param([I2, T], (0, 11), 37, id="short-varlena-unaligned"),
        pytest.param([I2, T], (0, -204), 232, id="long-varlena-int-aligned"),
        pytest.param([I4, T], (0, 18), 46, id="toast-pointer-18"),
        pytest.param([UUID, I8], (0, 0), 48, id="uuid-char-aligned"),
        pytest.param([I8], (None,), 24, id="all-null"),
    ],
)
def test_tuple_length(attrs: list[Attr], row: tuple[int | None, ...], expected: int) -> None:
    assert tuple_length(attrs, row, P) == expected


@pytest.mark.parametrize(
    ("payload", "expected"),
    [(0, 1), (10, 11), (126, 127), (127, -131), (200, -204)],
)
def test_varlena_header_switches_at_126_data_bytes(payload: int, expected: int) -> None:
    assert varlena_width(payload) == expected


def test_plain_storage_never_gets_a_short_header() -> None:
    assert varlena_width(10, packable=False) == -14


@pytest.mark.parametrize(
    ("natts", "has_null", "expected"),
    [(8, False, 24), (8, True, 24), (9, True, 32), (72, True, 32), (73, True, 40)],
)
def test_header_length(natts: int, has_null: bool, expected: int) -> None:
    assert header_length(natts, has_null, P) == expected


def test_page_fill_uniform_matches_closed_form() -> None:
    space = 40 + 4
    fill = fill_pages([space] * 10_000, 100, P)
    assert fill.pages == uniform_pages(10_000, space, 100, P) == 55  # 185 rows per page
    assert fill_pages([space] * 185, 100, P).pages == 1


def test_fillfactor_and_tuple_cap() -> None:
    assert uniform_pages(158, 36, 70, P) == 1  # (8168 - 2457) // 36 = 158
    assert uniform_pages(159, 36, 70, P) == 2
    assert P.max_tuples_per_page == 291
    assert uniform_pages(292, 28, 100, P) == 2  # 8168 // 28 = 291, and the cap is 291


def test_btree_entries_and_posting_lists() -> None:
    assert index_tuple_size([I8], (0,), P) == index_tuple_size([I4], (0,), P) == 16
    assert index_tuple_size([I8, I8], (0, 0), P) == 24
    assert index_tuple_size([I4, I4], (0, 0), P) == 16
    assert index_tuple_size([T], (37,), P) == 48
    assert index_tuple_size([UUID], (0,), P) == 24
    assert max_posting_size(P) == 812
    sizes = posting_sizes(16, 300, P)
    assert sizes == (808, 808, MAXED(16 + 6 * 36))


def MAXED(n: int) -> int:  # noqa: N802  (reads like the C macro)
    return (n + 7) // 8 * 8


@pytest.mark.parametrize(
    ("needed", "file"), [(1, 1), (3, 4), (40, 64), (64, 64), (65, 128), (926, 960)]
)
def test_bulk_extension_rounds_the_file_up(needed: int, file: int) -> None:
    assert bulk_extended_pages(needed) == file


def test_smallest_int_keeps_headroom() -> None:
    assert smallest_int(0, 3000, 10) == "smallint"
    assert smallest_int(0, 4000, 10) == "integer"
    assert smallest_int(-5, 300_000_000, 10) == "bigint"
    assert smallest_int(0, 300_000_000, 1) == "integer"


def _stats(**kw: object) -> ColumnStats:
    base: dict[str, object] = {
        "null_frac": 0.0,
        "avg_width": 8,
        "n_distinct": -1.0,
        "mcv": [],
        "mcf": [],
        "bounds": [],
    }
    base.update(kw)
    return ColumnStats(**base)  # type: ignore[arg-type]


def _column(name: str, type_name: str, typname: str, typlen: int, align: str) -> Column:
    typmod = ((12 << 16) | 0) + 4 if type_name == "numeric(12,0)" else -1
    storage = "x" if typlen < 0 else "p"
    return Column(1, name, type_name, typname, typlen, align, storage, False, typmod=typmod)


UUIDS = ["0b3f8f0e-6f55-4f57-9a4b-3b1d6c2f9e11", "ffe1c2d3-0000-4abc-8def-0123456789ab"]
SCREENING = [
    ("legacy", ("bigint", "int8", 8, "d"), {"null_frac": 1.0}, ("drop", None, "null")),
    (
        "flag",
        ("integer", "int4", 4, "i"),
        {"n_distinct": 1.0, "mcv": ["7"], "mcf": [1.0]},
        ("drop", None, "constant"),
    ),
    (
        "views",
        ("bigint", "int8", 8, "d"),
        {"bounds": ["0", "500", "2000"]},
        ("narrow", "smallint", "range"),
    ),
    (
        "likes",
        ("bigint", "int8", 8, "d"),
        {"bounds": ["0", "100000"]},
        ("narrow", "integer", "range"),
    ),
    ("big", ("bigint", "int8", 8, "d"), {"bounds": ["0", "1000000000000"]}, None),
    ("stars", ("integer", "int4", 4, "i"), {"bounds": ["1", "5"]}, ("narrow", "smallint", "range")),
    (
        "price",
        ("numeric(12,0)", "numeric", -1, "i"),
        {"bounds": ["10", "99000"]},
        ("narrow", "integer", "range"),
    ),
    (
        "ext",
        ("character varying(36)", "varchar", -1, "i"),
        {"avg_width": 37, "bounds": UUIDS},
        ("retype", "uuid", "uuid"),
    ),
    (
        "status",
        ("text", "text", -1, "i"),
        {"n_distinct": 3.0, "mcv": ["new", "paid", "sent"], "mcf": [0.5, 0.3, 0.2]},
        ("retype", "smallint", "choices"),
    ),
    (
        "zip",
        ("text", "text", -1, "i"),
        {"bounds": ["100", "99999"]},
        ("retype", "integer", "integer_text"),
    ),
    (
        "opted",
        ("text", "text", -1, "i"),
        {"mcv": ["yes", "no"], "mcf": [0.6, 0.4], "n_distinct": 2.0},
        ("retype", "boolean", "boolean_text"),
    ),
    (
        "day",
        ("timestamp with time zone", "timestamptz", 8, "d"),
        {"bounds": ["2024-01-01 00:00:00+00", "2024-03-05 00:00:00+00"]},
        ("narrow", "date", "midnight"),
    ),
    (
        "seen",
        ("timestamp with time zone", "timestamptz", 8, "d"),
        {"bounds": ["2024-01-01 00:00:00+00", "2024-03-05 10:11:00+00"]},
        None,
    ),
    (
        "body",
        ("text", "text", -1, "i"),
        {"avg_width": 400, "n_distinct": 3.0, "mcv": ["a", "b", "c"], "mcf": [0.5, 0.3, 0.2]},
        None,
    ),
]


@pytest.mark.parametrize(
    ("name", "column", "stats", "expected"), SCREENING, ids=[c[0] for c in SCREENING]
)
def test_screening_from_pg_stats(
    name: str,
    column: tuple[str, str, int, str],
    stats: dict[str, object],
    expected: tuple[str, str | None, str] | None,
) -> None:
    table = Table(1, "public", "t", [_column(name, *column)], reltuples=100_000)
    found = screen(table, {name: _stats(**stats)}, headroom=10)
    if expected is None:
        assert found == []
    else:
        assert [(c.kind, c.to_type, c.check) for c in found] == [expected]
        assert not found[0].confirmed, "screening alone never confirms"
