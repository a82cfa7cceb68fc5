"""Workload sources for the advisors: SQL files, capture files, PostgreSQL logs.

Pure logic (``pg_stat_statements`` is read in ``test_index_advisor.py`` on a server).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dbtune.advisors.workload import (
    MAX_PARAM_SETS,
    CaptureFile,
    PostgresLog,
    Query,
    SqlFile,
    Workload,
    dollar_params,
    is_query_text,
    split_statements,
)
from dbtune.errors import DBTuneError

SPLITS = [
    pytest.param("SELECT 1; SELECT 2", ["SELECT 1", "SELECT 2"], id="two"),
    pytest.param("SELECT ';' AS x;", ["SELECT ';' AS x"], id="semicolon-in-string"),
    pytest.param('SELECT 1 AS ";";', ['SELECT 1 AS ";"'], id="semicolon-in-identifier"),
    pytest.param("SELECT $$a;b$$, $t$;$t$;", ["SELECT $$a;b$$, $t$;$t$"], id="dollar-quotes"),
    pytest.param("-- c;\nSELECT 1 /* ; */;", ["-- c;\nSELECT 1 /* ; */"], id="comments"),
    pytest.param("SELECT 1;;\n;-- only a comment\n", ["SELECT 1"], id="empty-pieces"),
    pytest.param(
        "SELECT 'unterminated; SELECT 2", ["SELECT 'unterminated; SELECT 2"], id="unterminated"
    ),
    pytest.param("selec oops; SELECT 2", ["selec oops", "SELECT 2"], id="bad-statements-kept"),
]


@pytest.mark.parametrize(("text", "expected"), SPLITS)
def test_split_statements(text: str, expected: list[str]) -> None:
    assert [s for _, s in split_statements(text)] == expected


def test_split_reports_line_numbers() -> None:
    assert [n for n, _ in split_statements("SELECT 1;\n\n  SELECT 2;\nSELECT\n3;")] == [1, 3, 4]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT * FROM t WHERE a = %s AND b = %s", "SELECT * FROM t WHERE a = $1 AND b = $2"),
        (
            "SELECT * FROM t WHERE a LIKE 'x%%' AND b = %s",
            "SELECT * FROM t WHERE a LIKE 'x%' AND b = $1",
        ),
        ("SELECT * FROM t WHERE a = $1", "SELECT * FROM t WHERE a = $1"),
    ],
)
def test_django_placeholders_become_dollar_params(sql: str, expected: str) -> None:
    assert dollar_params(sql) == expected


def test_workload_merges_statements_that_differ_only_in_literals() -> None:
    workload = Workload.from_sql(
        "SELECT * FROM t WHERE id = 1; select *  from t where id = 2; SELECT 1"
    )
    first = workload.queries[0]
    assert len(workload) == 2
    assert first.calls == 2.0
    assert first.sources == ["sql:1"]


def test_merge_keeps_a_few_parameter_sets_and_adds_times() -> None:
    workload = Workload()
    for i in range(5):
        workload.add(Query("SELECT * FROM t WHERE id = $1", calls=2, total_ms=1.5, params=[(i,)]))
    (query,) = workload.queries
    assert query.calls == 10
    assert query.total_ms == pytest.approx(7.5)
    assert query.params == [(i,) for i in range(MAX_PARAM_SETS)]


def test_sql_file(tmp_path: Path) -> None:
    path = tmp_path / "w.sql"
    path.write_text("SELECT * FROM t WHERE a = %s;\nnot sql at all;\n")
    queries = list(SqlFile(path).queries())
    assert [q.sql for q in queries] == ["SELECT * FROM t WHERE a = $1", "not sql at all"]
    assert queries[1].sources == ["w.sql:2"]


def test_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DBTuneError, match=r"cannot read workload file .*nope\.sql"):
        list(SqlFile(tmp_path / "nope.sql").queries())


def test_capture_file(tmp_path: Path) -> None:
    lines = [
        {"version": 1, "kind": "header"},
        {
            "sql": "SELECT * FROM t WHERE a = %s",
            "params": [5],
            "calls": 3,
            "mean_ms": 2.0,
            "origin": "shop.Order.status",
        },
        {
            "sql": "SELECT * FROM t WHERE a = %s",
            "params": "(7,)",
            "duration": 0.004,
            "callsite": "views.py:12",
        },
        {"sql": "SELECT * FROM t WHERE b = %s", "params": "(datetime.date(2024, 1, 1),)"},
        {"sql": "INSERT INTO t (a) VALUES (%s)", "params": [[1], [2]], "many": True},
        {"sql": "SELECT 1", "vendor": "sqlite"},
    ]
    path = tmp_path / "capture.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n{broken\n")
    source = CaptureFile(path)
    workload = Workload().read(source)
    first, second, insert = workload.queries
    assert first.sql == "SELECT * FROM t WHERE a = $1"
    assert first.calls == 4
    assert first.total_ms == pytest.approx(10.0)
    assert first.params == [(5,), (7,)]
    assert first.origin == "shop.Order.status"
    assert second.params == []
    assert insert.params == [(1,), (2,)]
    assert workload.problems == [("{broken", "capture.jsonl:7: not a JSON object")]


def _line(second: int, pid: int, message: str) -> str:
    return f"2024-05-01 10:00:0{second}.000 UTC [{pid}] {message}\n"


SELECT_BY_ID = "SELECT * FROM orders WHERE id = $1"
LOG = (
    _line(0, 11, "LOG:  duration: 12.500 ms  statement: SELECT * FROM orders")
    + "\tWHERE status = 'paid'\n"
    + _line(1, 11, f"LOG:  duration: 0.200 ms  execute <unnamed>: {SELECT_BY_ID}")
    + _line(1, 11, "DETAIL:  parameters: $1 = '42'")
    + _line(2, 12, f"LOG:  duration: 0.300 ms  execute S_1: {SELECT_BY_ID}")
    + _line(2, 12, "DETAIL:  parameters: $1 = NULL")
    + _line(3, 12, "LOG:  duration: 0.100 ms  statement: BEGIN")
    + _line(4, 12, "LOG:  checkpoint starting: time")
    + _line(5, 13, "LOG:  duration: 1.000 ms  statement: SELECT 'it''s' FROM t;")
)


def test_postgres_log(tmp_path: Path) -> None:
    path = tmp_path / "postgresql.log"
    path.write_text(LOG)
    queries = list(PostgresLog(path).queries())
    assert [q.sql for q in queries] == [
        "SELECT * FROM orders\nWHERE status = 'paid'",
        "SELECT * FROM orders WHERE id = $1",
        "SELECT * FROM orders WHERE id = $1",
        "SELECT 'it''s' FROM t",
    ]
    assert queries[0].total_ms == 12.5
    assert queries[0].sources == ["postgresql.log:1"]
    assert queries[1].params == [("42",)]
    assert queries[2].params == []
    workload = Workload(queries)
    assert len(workload) == 3
    assert workload.queries[1].calls == 2


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT 1", True),
        ("  with x as (select 1) select 1", True),
        ("(SELECT 1)", True),
        ("BEGIN", False),
        ("SET x = 1", False),
        ("EXPLAIN SELECT 1", False),
        ("-- c\nUPDATE t SET a = 1", True),
    ],
)
def test_is_query_text(sql: str, expected: bool) -> None:
    assert is_query_text(sql) is expected


def test_captured_events_become_a_workload() -> None:
    from types import SimpleNamespace

    event = SimpleNamespace(
        vendor="postgresql",
        sql="SELECT * FROM t WHERE a = %s",
        params=(5,),
        many=False,
        duration=0.002,
        callsite="views.py:3",
        alias="default",
    )
    other = SimpleNamespace(vendor="sqlite", sql="SELECT 1", params=None, many=False, duration=0.0)
    batch = SimpleNamespace(
        vendor="postgresql",
        sql="INSERT INTO t (a) VALUES (%s)",
        params=[(1,), (2,)],
        many=True,
        duration=0.001,
        callsite=None,
        alias="default",
    )
    workload = Workload.from_events([event, event, other, batch])
    select, insert = workload.queries
    assert select.sql == "SELECT * FROM t WHERE a = $1"
    assert select.calls == 2
    assert select.total_ms == pytest.approx(4.0)
    assert select.params == [(5,)]
    assert select.sources == ["views.py:3"]
    assert insert.params == [(1,), (2,)]
    assert insert.sources == ["default"]
