"""Row sizes against real tables: the model is checked against PostgreSQL, not itself.

Each case is a table with a hand-worked tuple length (``t_len`` as ``lp_len`` reports it).
The test builds it on the server, packs it with ``VACUUM FULL`` and checks three numbers
agree to the byte: the hand-worked heap bytes per row (pages from ``t_len``), the measured
``pg_relation_size / rows``, and ``row_bytes_now`` of ``dbtune advise columns``. Mixed
cases (NULL patterns, varying widths) have no hand number; model and server must agree.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from dbtune.advisors.columns import ColumnReport, analyze
from dbtune.advisors.columns.index_size import duplicate_groups, estimate_index

pytestmark = pytest.mark.postgres

ROWS = 3000
DB = "dbtune_columns_layouts"


def heap_bytes_per_row(t_len: int, rows: int = ROWS, fillfactor: int = 100) -> float:
    """Hand formula for uniform rows: MAXALIGN(t_len) + 4 per tuple, 8168 bytes per page."""
    space = (t_len + 7) // 8 * 8 + 4
    per_page = min(291, (8168 - 8192 * (100 - fillfactor) // 100) // space)
    return math.ceil(rows / per_page) * 8192 / rows


# (id, column definitions, SELECT list over generate_series(1, ROWS) i, extra SQL, t_len)
UNIFORM: list[tuple[str, str, str, str, int]] = [
    ("int4_int8", "a int4, b int8", "i, i", "", 40),  # 24 + 4 + pad 4 + 8
    ("int8_int4", "a int8, b int4", "i, i", "", 36),  # 24 + 12: MAXALIGN 40, as above
    ("bool_int8_bool_int8", "a bool, b int8, c bool, d int8", "true, i, false, i", "", 56),
    ("int8_int8_bool_bool", "b int8, d int8, a bool, c bool", "i, i, true, false", "", 42),
    ("three_int8", "a int8, b int8, c int8", "i, i, i", "", 48),
    ("int4_int8_int8", "a int4, b int8, c int8", "i, i, i", "", 48),  # one narrowed: same
    ("int4_int4_int8", "a int4, b int4, c int8", "i, i, i", "", 40),  # two narrowed: -8
    (
        "eight_int4_null",
        ", ".join(f"c{k} int4" for k in range(8)),
        "i, i, i, i, i, i, i, NULL",
        "",
        52,
    ),
    (
        "nine_int4_null",
        ", ".join(f"c{k} int4" for k in range(9)),
        "i, i, i, i, i, i, i, i, NULL",
        "",
        64,
    ),
    ("nine_int4", ", ".join(f"c{k} int4" for k in range(9)), "i, i, i, i, i, i, i, i, i", "", 60),
    (
        "ten_int4_drop_one",
        ", ".join(f"c{k} int4" for k in range(10)),
        "i, i, i, i, i, i, i, i, i, i",
        "ALTER TABLE ten_int4_drop_one DROP COLUMN c9",
        68,  # natts stays 10, the dropped one is NULL: bitmap, header 32, data 36
    ),
    ("short_text", "a int4, b text", "i, repeat('x', 10)", "", 39),  # 1-byte header, no align
    ("text_126", "b text", "repeat('x', 126)", "", 151),  # 127 bytes: still short
    ("text_127", "b text", "repeat('x', 127)", "", 155),  # 4-byte header: 131
    ("int2_text_200", "a int2, b text", "1, repeat('x', 200)", "", 232),  # 24 + 2 + pad 2 + 204
    (
        "toasted",
        "a int4, b text",
        "i, (SELECT string_agg(md5(i::text || k::text), '') FROM generate_series(1, 100) k)",
        "",
        46,  # 24 + 4 + 18-byte TOAST pointer
    ),
    ("uuid_as_varchar", "a varchar(36)", "gen_random_uuid()::text", "", 61),
    ("uuid_native", "a uuid", "gen_random_uuid()", "", 40),
    ("char10", "a char(10)", "'ab'", "", 35),  # padded to 10 characters: 11 bytes
    ("timestamptz_bool", "a timestamptz, b bool", "now(), true", "", 33),
    ("all_null", "a int8", "NULL", "", 24),  # 291 tuples per page (the cap)
]
FILLFACTOR_T_LEN = 32

MIXED: list[tuple[str, str, str]] = [
    (
        "nine_cols_every_third_null",
        ", ".join(f"c{k} int4" for k in range(9)),
        "i, i, i, i, i, i, i, i, CASE WHEN i % 3 = 0 THEN NULL ELSE i END",
    ),
    ("varying_text", "a int8, b text, c int2", "i, repeat('y', (i * 7919) % 300), 1"),
    (
        "sparse_nulls",
        "a int8, b int4, c text, d bool, e int8",
        "i, NULLIF(i % 4, 0), CASE WHEN i % 5 = 0 THEN NULL ELSE md5(i::text) END, NULL, i",
    ),
    ("numeric_mix", "a numeric, b int4", "(i * 37) % 100000, i"),
]

INDEXES: list[tuple[str, str, str, str]] = [
    ("idx_int8", "a int8", "i", "(a)"),
    ("idx_int4", "a int4", "i", "(a)"),  # same entry size as int8: 16 bytes
    ("idx_int8_pair", "a int8, b int8", "i, i", "(a, b)"),  # 24-byte entries
    ("idx_int4_pair", "a int4, b int4", "i, i", "(a, b)"),  # 16-byte entries
    ("idx_status_dedup", "s text", "(ARRAY['new', 'paid', 'sent'])[1 + i % 3]", "(s)"),
    ("idx_uuid_varchar", "u varchar(36)", "gen_random_uuid()::text", "(u)"),
    ("idx_uuid", "u uuid", "gen_random_uuid()", "(u)"),
    ("idx_partial", "a int8, b bool", "i, i % 4 = 0", "(a) WHERE b"),
]


def _dsn(base: str, dbname: str) -> str:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    parts = conninfo_to_dict(base)
    parts["dbname"] = dbname
    return make_conninfo("", **{k: str(v) for k, v in parts.items()})


@pytest.fixture(scope="module")
def layout_db(pg_dsn: str) -> Iterator[tuple[str, ColumnReport, dict[str, Any]]]:
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(DB)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DB)))
    dsn = _dsn(pg_dsn, DB)
    measured: dict[str, Any] = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        cases = [(c[0], c[1], c[2], c[3]) for c in UNIFORM]
        cases += [(c[0], c[1], c[2], "") for c in MIXED]
        cases.append(
            ("fillfactor_70", "a int8", "i", "ALTER TABLE fillfactor_70 SET (fillfactor = 70)")
        )
        for name, columns, select, extra in cases:
            conn.execute(f"CREATE TABLE {name} ({columns})")
            if name == "toasted":
                conn.execute("ALTER TABLE toasted ALTER COLUMN b SET STORAGE EXTERNAL")
            if name == "fillfactor_70":
                conn.execute(extra)
            conn.execute(f"INSERT INTO {name} SELECT {select} FROM generate_series(1, {ROWS}) i")
            if extra and name != "fillfactor_70":
                conn.execute(extra)
            conn.execute(f"VACUUM FULL {name}")
        for name, columns, select, index in INDEXES:
            conn.execute(f"CREATE TABLE {name} ({columns})")
            conn.execute(
                f"INSERT INTO {name} SELECT {select} FROM generate_series(1, {ROWS * 4}) i"
            )
            conn.execute(f"CREATE INDEX {name}_i ON {name} {index}")
        conn.execute("ANALYZE")
        for name, *_ in [*cases, *INDEXES]:
            row = conn.execute(
                f"SELECT pg_relation_size('{name}'), count(*) FROM {name}"
            ).fetchone()
            assert row is not None
            measured[name] = row[0] / row[1]
        for name, *_ in INDEXES:
            row = conn.execute(f"SELECT pg_relation_size('{name}_i')").fetchone()
            assert row is not None
            measured[f"{name}_i"] = row[0]
    report = analyze(dsn, min_rows=0)
    yield dsn, report, measured
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DB)))


def _table(report: ColumnReport, name: str) -> Any:
    return next(t for t in report.tables if t.table == name)


@pytest.mark.parametrize(
    ("name", "t_len"), [(c[0], c[4]) for c in UNIFORM], ids=[c[0] for c in UNIFORM]
)
def test_uniform_layout_bytes_per_row(
    layout_db: tuple[str, ColumnReport, dict[str, Any]], name: str, t_len: int
) -> None:
    _, report, measured = layout_db
    expected = heap_bytes_per_row(t_len)
    assert measured[name] == pytest.approx(expected, abs=1e-9), "the hand-worked t_len is wrong"
    assert _table(report, name).row_bytes_now == pytest.approx(expected, abs=1e-9)


def test_fillfactor(layout_db: tuple[str, ColumnReport, dict[str, Any]]) -> None:
    _, report, measured = layout_db
    expected = heap_bytes_per_row(FILLFACTOR_T_LEN, fillfactor=70)
    assert measured["fillfactor_70"] == pytest.approx(expected)
    assert _table(report, "fillfactor_70").row_bytes_now == pytest.approx(expected)


@pytest.mark.parametrize("name", [c[0] for c in MIXED])
def test_mixed_rows_match_the_server(
    layout_db: tuple[str, ColumnReport, dict[str, Any]], name: str
) -> None:
    _, report, measured = layout_db
    assert _table(report, name).row_bytes_now == pytest.approx(measured[name], abs=1e-9)


@pytest.mark.parametrize("name", [c[0] for c in INDEXES])
def test_btree_index_size_matches_the_server(
    layout_db: tuple[str, ColumnReport, dict[str, Any]], name: str
) -> None:
    _, report, measured = layout_db
    table = _table(report, name)
    assert table.index_bytes_now == measured[f"{name}_i"]
    assert table.row_bytes_now == pytest.approx(measured[name], abs=1e-9)


def test_index_model_is_exact_not_copied_from_the_catalog(
    layout_db: tuple[str, ColumnReport, dict[str, Any]],
) -> None:
    """``index_bytes_now`` is the measured size; the model's own estimate must match it."""
    dsn, _, measured = layout_db
    from dbtune.advisors.columns.analyze import Options, analyze_table
    from dbtune.advisors.columns.catalog import load_tables
    from dbtune.advisors.columns.server import server_facts
    from dbtune.db import connect

    with connect(dsn) as conn:
        facts = server_facts(conn)
        for name, *_ in INDEXES:
            table = load_tables(conn, "public", [name])[0]
            work = analyze_table(conn, table, Options(min_rows=0), facts)
            assert not isinstance(work, str)
            model = work.pricer.indexes[0]
            model.groups = duplicate_groups(conn, sql.Identifier(name), model)
            estimate = estimate_index(model, work.current, work.pricer.sample, work.pricer.platform)
            assert estimate == measured[f"{name}_i"], name


def test_narrowing_a_single_int8_index_key_saves_no_index_bytes(
    layout_db: tuple[str, ColumnReport, dict[str, Any]],
) -> None:
    _, _, measured = layout_db
    assert measured["idx_int8_i"] == measured["idx_int4_i"]
    assert measured["idx_int4_pair_i"] < measured["idx_int8_pair_i"]
    assert measured["idx_uuid_i"] < measured["idx_uuid_varchar_i"]


@pytest.mark.parametrize(
    "name",
    [
        "int4_int8",
        "eight_int4_null",
        "nine_cols_every_third_null",
        "sparse_nulls",
        "short_text",
        "uuid_as_varchar",
    ],
)
def test_pg_stats_row_classes_fallback_is_close(
    layout_db: tuple[str, ColumnReport, dict[str, Any]], name: str
) -> None:
    """Without a sample (timeouts), row classes from ``pg_stats`` still land within 3%."""
    from dbtune.advisors.columns.catalog import load_tables
    from dbtune.advisors.columns.classes import stats_sample
    from dbtune.advisors.columns.layout import current_layout, estimate_heap
    from dbtune.advisors.columns.sample import column_probe
    from dbtune.advisors.columns.server import server_facts
    from dbtune.advisors.columns.stats import load_stats
    from dbtune.db import connect

    dsn, _, measured = layout_db
    with connect(dsn) as conn:
        facts = server_facts(conn)
        table = load_tables(conn, "public", [name])[0]
        stats = load_stats(conn, "public", name)
    probes = [column_probe(c, facts["version_num"]) for c in table.live]
    sample = stats_sample(probes, stats, ROWS)
    estimate = estimate_heap(current_layout(table, sample), sample, 100, facts["platform"])
    assert estimate.bytes_per_row == pytest.approx(measured[name], rel=0.03)
