"""SQL normalisation, fingerprints, tables touched and statement kinds (no database needed).

Every fingerprint case runs on both paths: ``postgresql`` (libpg_query via pglast, then the
token pass) and ``sqlite`` (the tokeniser fallback every other vendor uses).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dbtune import sql
from dbtune.sql.lexer import to_dollar_params

PATHS = ["postgresql", "sqlite"]

SAME = [
    pytest.param("SELECT a FROM t WHERE id = 1", "SELECT a FROM t WHERE id = 42", id="numbers"),
    pytest.param(
        "SELECT a FROM t WHERE n = 'a'", "SELECT a FROM t WHERE n = 'it''s'", id="strings"
    ),
    pytest.param("SELECT a FROM t WHERE x = 1.5", "SELECT a FROM t WHERE x = 2", id="float-int"),
    pytest.param("SELECT a FROM t WHERE id = -1", "SELECT a FROM t WHERE id = 7", id="negative"),
    pytest.param(
        "SELECT a FROM t WHERE f = true", "SELECT a FROM t WHERE f = false", id="booleans"
    ),
    pytest.param(
        "SELECT a FROM t WHERE id = 1", "SELECT a FROM t WHERE id = %s", id="literal-param"
    ),
    pytest.param("SELECT a FROM t WHERE id = %s", "SELECT a FROM t WHERE id = %(pk)s", id="named"),
    pytest.param(
        "SELECT a FROM t WHERE d = 'x' AND e = %s",
        "SELECT a FROM t WHERE d = %s AND e = 3",
        id="mixed-params",
    ),
    pytest.param(
        "SELECT a FROM t WHERE id IN (%s, %s, %s)",
        "SELECT a FROM t WHERE id IN (%s)",
        id="in-lengths",
    ),
    pytest.param(
        "SELECT a FROM t WHERE id IN (1, 2, 3)",
        "SELECT a FROM t WHERE id IN (%s, %s)",
        id="in-literals",
    ),
    pytest.param(
        "SELECT a FROM t WHERE id NOT IN (1)", "SELECT a FROM t WHERE id NOT IN (4, 5)", id="not-in"
    ),
    pytest.param(
        "SELECT a FROM t WHERE (a, b) IN ((1, 2))",
        "SELECT a FROM t WHERE (a, b) IN ((1, 2), (3, 4))",
        id="in-row-values",
    ),
    pytest.param(
        "SELECT a FROM t WHERE a = ANY(ARRAY[1, 2])",
        "SELECT a FROM t WHERE a = ANY(ARRAY[%s, %s, %s, %s])",
        id="any-array",
    ),
    pytest.param(
        "INSERT INTO t (a, b) VALUES (%s, %s)",
        "INSERT INTO t (a, b) VALUES (%s, %s), (%s, %s), (%s, %s)",
        id="values-rows",
    ),
    pytest.param(
        "INSERT INTO t (a) VALUES (1), (2) RETURNING t.id",
        "INSERT INTO t (a) VALUES ('x') RETURNING t.id",
        id="values-returning",
    ),
    pytest.param("SELECT a FROM t LIMIT 21", "SELECT a FROM t LIMIT 1", id="limit"),
    pytest.param(
        "SELECT a FROM t LIMIT 10 OFFSET 20", "SELECT a FROM t LIMIT 5 OFFSET 0", id="offset"
    ),
    pytest.param(
        "SELECT a FROM t WHERE id = 1", "select  a\n  from t\twhere id=1", id="whitespace"
    ),
    pytest.param("SELECT a FROM t WHERE id = 1", "SeLeCt a FrOm t WhErE id = 1", id="keyword-case"),
    pytest.param(
        "SELECT a FROM t WHERE id = 1", "SELECT A FROM T WHERE ID = 1", id="bare-name-case"
    ),
    pytest.param("SELECT a FROM t", "/* hi */ SELECT a -- trailing\nFROM t", id="comments"),
    pytest.param("SELECT a FROM t", "SELECT a FROM t;", id="semicolon"),
    pytest.param('SAVEPOINT "s140064_x1"', 'SAVEPOINT "s99_x12"', id="savepoint-names"),
    pytest.param('RELEASE SAVEPOINT "s1_x1"', "RELEASE SAVEPOINT s2_x3", id="release-names"),
    pytest.param(
        'ROLLBACK TO SAVEPOINT "s1_x1"', 'ROLLBACK TO SAVEPOINT "s5_x2"', id="rollback-to-names"
    ),
    pytest.param(
        "SELECT a FROM t WHERE n LIKE %s", "SELECT a FROM t WHERE n LIKE 'ab%%'", id="like-pattern"
    ),
]

DIFFERENT = [
    pytest.param("SELECT a FROM t WHERE id = 1", "SELECT a FROM u WHERE id = 1", id="tables"),
    pytest.param("SELECT a FROM t WHERE id = 1", "SELECT b FROM t WHERE id = 1", id="columns"),
    pytest.param("SELECT a, b FROM t", "SELECT b, a FROM t", id="column-order"),
    pytest.param(
        "SELECT a FROM t WHERE id = %s", "SELECT a FROM t WHERE id IN (%s)", id="eq-vs-in"
    ),
    pytest.param(
        "SELECT a FROM t WHERE id = %s", "SELECT a FROM t WHERE id = ANY(%s)", id="eq-vs-any"
    ),
    pytest.param(
        "SELECT a FROM t WHERE id IN (1, 2)",
        "SELECT a FROM t WHERE id IN (SELECT x FROM u)",
        id="in-values-vs-subquery",
    ),
    pytest.param(
        "SELECT a FROM t ORDER BY a ASC", "SELECT a FROM t ORDER BY a DESC", id="order-direction"
    ),
    pytest.param("SELECT a FROM t ORDER BY 1", "SELECT a FROM t ORDER BY 2", id="order-position"),
    pytest.param("SELECT a FROM t GROUP BY 1", "SELECT a FROM t GROUP BY 2", id="group-position"),
    pytest.param("SELECT a FROM t WHERE x < 1", "SELECT a FROM t WHERE x <= 1", id="operators"),
    pytest.param("SELECT a FROM t WHERE x IS NULL", "SELECT a FROM t WHERE x = %s", id="is-null"),
    pytest.param(
        "SELECT a FROM t WHERE x IS TRUE", "SELECT a FROM t WHERE x IS FALSE", id="is-true-false"
    ),
    pytest.param(
        "SELECT a FROM t WHERE x = 1 AND y = 2", "SELECT a FROM t WHERE x = 1 OR y = 2", id="and-or"
    ),
    pytest.param("SELECT a FROM t", "SELECT DISTINCT a FROM t", id="distinct"),
    pytest.param("SELECT a FROM t", "SELECT a FROM t LIMIT 1", id="limit-or-not"),
    pytest.param(
        "SELECT a FROM t INNER JOIN u ON t.id = u.t_id",
        "SELECT a FROM t LEFT OUTER JOIN u ON t.id = u.t_id",
        id="join-type",
    ),
    pytest.param(
        "SELECT a FROM t INNER JOIN u ON t.id = u.t_id",
        "SELECT a FROM t INNER JOIN u ON t.id = u.other_id",
        id="join-column",
    ),
    pytest.param("SELECT count(a) FROM t", "SELECT sum(a) FROM t", id="functions"),
    pytest.param('SELECT a FROM "Book"', 'SELECT a FROM "book"', id="quoted-name-case"),
    pytest.param('SAVEPOINT "s1_x1"', 'RELEASE SAVEPOINT "s1_x1"', id="savepoint-vs-release"),
    pytest.param(
        "SELECT a FROM t WHERE id = 1 FOR UPDATE", "SELECT a FROM t WHERE id = 1", id="for-update"
    ),
    pytest.param(
        "INSERT INTO t (a) VALUES (%s)", "INSERT INTO t (a, b) VALUES (%s, %s)", id="insert-columns"
    ),
]


@pytest.mark.parametrize("vendor", PATHS)
@pytest.mark.parametrize(("left", "right"), SAME)
def test_same_fingerprint(vendor: str, left: str, right: str) -> None:
    assert sql.normalize(left, vendor) == sql.normalize(right, vendor)
    assert sql.fingerprint(left, vendor) == sql.fingerprint(right, vendor)


@pytest.mark.parametrize("vendor", PATHS)
@pytest.mark.parametrize(("left", "right"), DIFFERENT)
def test_different_fingerprint(vendor: str, left: str, right: str) -> None:
    assert sql.fingerprint(left, vendor) != sql.fingerprint(right, vendor)


@pytest.mark.parametrize(
    ("vendor", "statement", "expected"),
    [
        pytest.param(
            "postgresql",
            'SELECT "b"."id" FROM "testapp_book" "b" WHERE "b"."id" IN (%s, %s) LIMIT 21',
            "SELECT b.id FROM testapp_book b WHERE b.id IN (...) LIMIT ?",
            id="pg-unquotes-plain-names",
        ),
        pytest.param(
            "sqlite",
            'SELECT "b"."id" FROM "testapp_book" "b" WHERE "b"."id" IN (%s, %s) LIMIT 21',
            'SELECT "b"."id" FROM "testapp_book" "b" WHERE "b"."id" IN (...) LIMIT ?',
            id="fallback-keeps-quotes",
        ),
        pytest.param(
            "postgresql",
            'SELECT "user", "Mixed" FROM t',
            'SELECT "user", "Mixed" FROM t',
            id="pg-keeps-needed-quotes",
        ),
        pytest.param(
            "postgresql",
            "INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y') RETURNING id",
            "INSERT INTO t (a, b) VALUES (?, ?) RETURNING id",
            id="values-collapsed",
        ),
        pytest.param(
            "sqlite",
            "INSERT INTO t (a) VALUES (%s), (DEFAULT), (%s)",
            "INSERT INTO t (a) VALUES (?), (DEFAULT)",
            id="distinct-row-shapes-kept",
        ),
        pytest.param(
            "postgresql",
            "SELECT a FROM t ORDER BY 1 DESC, 2",
            "SELECT a FROM t ORDER BY 1 DESC, 2",
            id="positional-order-by-kept",
        ),
        pytest.param("sqlite", 'SAVEPOINT "s1_x1"', "SAVEPOINT sp", id="savepoint-placeholder"),
    ],
)
def test_normalized_text(vendor: str, statement: str, expected: str) -> None:
    assert sql.normalize(statement, vendor) == expected


def test_savepoint_numbering_in_order_of_first_sight() -> None:
    numbering = sql.SavepointNumbering()
    statements = [
        'SAVEPOINT "s140_x1"',
        'SAVEPOINT "s140_x2"',
        'RELEASE SAVEPOINT "s140_x2"',
        'ROLLBACK TO SAVEPOINT "s140_x1"',
        "SELECT 1",
    ]
    normalized = [sql.normalize(s, savepoints=numbering) for s in statements]
    assert normalized == [
        "SAVEPOINT sp1",
        "SAVEPOINT sp2",
        "RELEASE SAVEPOINT sp2",
        "ROLLBACK TO SAVEPOINT sp1",
        "SELECT ?",
    ]
    assert sql.savepoint_name('SAVEPOINT "S1"') == "S1"
    assert sql.savepoint_name("SELECT 1") is None


@pytest.mark.parametrize("vendor", PATHS)
def test_fingerprint_shape(vendor: str) -> None:
    fingerprint = sql.fingerprint("SELECT 1", vendor)
    assert re.fullmatch(r"[0-9a-f]{16}", fingerprint)


@pytest.mark.parametrize(
    ("vendor", "statement", "expected"),
    [
        ("postgresql", 'SELECT "t"."id" FROM "t" WHERE "t"."id" = %s', "416098069ae2b898"),
        ("sqlite", 'SELECT "t"."id" FROM "t" WHERE "t"."id" = %s', "76787c50a395122c"),
        ("postgresql", "SELECT a FROM t WHERE id IN (%s, %s)", "905ae052cf3aa48c"),
    ],
)
def test_fingerprint_regression_guard(vendor: str, statement: str, expected: str) -> None:
    """Fingerprints are stored in snapshots: changing one must bump NORMALIZER_VERSION."""
    assert sql.NORMALIZER_VERSION == "1", "update the expected fingerprints below"
    assert sql.fingerprint(statement, vendor) == expected


@pytest.mark.parametrize("vendor", PATHS)
@pytest.mark.parametrize(
    "statement",
    ["", "   ", "SELECT 'unterminated", "))(( ,,", "INSERT OR IGNORE INTO t VALUES (?)", "\x00"],
)
def test_malformed_sql_never_raises(vendor: str, statement: str) -> None:
    analysis = sql.analyse(statement, vendor)
    assert isinstance(analysis.normalized, str)


@settings(database=None)  # no .hypothesis/ example store in the repository
@given(st.text(max_size=80))
def test_any_text_is_analysed(text: str) -> None:
    for vendor in PATHS:
        sql.analyse(text, vendor)


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        pytest.param("SELECT %s, %s", "SELECT $1, $2", id="positional"),
        pytest.param("SELECT %(a)s, %(b)s, %(a)s", "SELECT $1, $2, $1", id="named-reused"),
        pytest.param("SELECT '%s', \"%s\", %s", "SELECT '%s', \"%s\", $1", id="quoted-left-alone"),
        pytest.param("SELECT 5 %% 2, %s", "SELECT 5 % 2, $1", id="escaped-percent"),
        pytest.param("SELECT $1, %s", "SELECT $1, $2", id="after-existing-dollars"),
        pytest.param("SELECT $$%s$$ -- %s\n", "SELECT $$%s$$ -- %s\n", id="dollar-quote-comment"),
    ],
)
def test_to_dollar_params(statement: str, expected: str) -> None:
    assert to_dollar_params(statement) == expected


TABLES = [
    pytest.param('SELECT * FROM "testapp_book"', ("testapp_book",), id="quoted"),
    pytest.param("SELECT * FROM Book", ("book",), id="bare-folded"),
    pytest.param('SELECT * FROM "Book"', ("Book",), id="quoted-case-kept"),
    pytest.param("SELECT * FROM public.book", ("book",), id="public-stripped"),
    pytest.param("SELECT * FROM sales.orders o", ("sales.orders",), id="schema-kept"),
    pytest.param(
        "SELECT * FROM a INNER JOIN b ON a.id = b.a_id LEFT OUTER JOIN c ON c.id = b.c_id",
        ("a", "b", "c"),
        id="joins",
    ),
    pytest.param("SELECT * FROM a, b AS bb, c cc WHERE a.x = bb.x", ("a", "b", "c"), id="comma"),
    pytest.param("SELECT * FROM a WHERE a.id IN (SELECT x FROM b)", ("a", "b"), id="subquery"),
    pytest.param(
        "WITH recent AS (SELECT * FROM orders) SELECT * FROM recent JOIN users ON true",
        ("orders", "users"),
        id="cte-body-not-name",
    ),
    pytest.param('INSERT INTO "tag" ("name") VALUES (%s)', ("tag",), id="insert-target"),
    pytest.param("UPDATE a SET x = 1 FROM b WHERE a.id = b.id", ("a", "b"), id="update-from"),
    pytest.param("DELETE FROM a USING b WHERE a.id = b.id", ("a", "b"), id="delete-using"),
    pytest.param("SELECT EXTRACT(YEAR FROM t.d) FROM t", ("t",), id="extract-from-is-no-table"),
    pytest.param("SELECT * FROM a JOIN a ON true", ("a",), id="deduplicated"),
    pytest.param("SELECT * FROM t FOR UPDATE OF t", ("t",), id="for-update-no-target"),
    pytest.param("SELECT * FROM t WHERE a IS DISTINCT FROM b", ("t",), id="is-distinct-from"),
    pytest.param(
        "INSERT INTO t (a) VALUES (1) ON CONFLICT (a) DO UPDATE SET a = 2", ("t",), id="upsert"
    ),
    pytest.param("SELECT 1", (), id="no-table"),
]


@pytest.mark.parametrize("vendor", PATHS)
@pytest.mark.parametrize(("statement", "expected"), TABLES)
def test_tables(vendor: str, statement: str, expected: tuple[str, ...]) -> None:
    assert sql.tables(statement, vendor) == expected


@pytest.mark.parametrize(
    ("statement", "kind", "writes"),
    [
        ("SELECT 1", "select", False),
        ("  (SELECT 1) UNION (SELECT 2)", "select", False),
        ("/* c */ select * from t", "select", False),
        ("SELECT * FROM t WHERE id = 1 FOR UPDATE", "select", True),
        ("SELECT * FROM t FOR NO KEY UPDATE SKIP LOCKED", "select", True),
        ("SELECT * FROM t FOR SHARE", "select", True),
        ("SELECT 'FOR UPDATE' FROM t", "select", False),
        ("WITH x AS (SELECT 1) SELECT * FROM x", "select", False),
        ("WITH x AS (DELETE FROM t RETURNING id) SELECT * FROM x", "select", True),
        ("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", "insert", True),
        ("INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET a = 1", "insert", True),
        ("REPLACE INTO t VALUES (1)", "insert", True),
        ("UPDATE t SET a = 1", "update", True),
        ("DELETE FROM t", "delete", True),
        ("CREATE TABLE t (id int)", "ddl", True),
        ("ALTER TABLE t ADD COLUMN b int", "ddl", True),
        ("DROP TABLE t", "ddl", True),
        ("TRUNCATE t", "ddl", True),
        ("COMMENT ON TABLE t IS 'x'", "ddl", True),
        ("BEGIN", "tx", False),
        ("COMMIT", "tx", False),
        ("ROLLBACK", "tx", False),
        ('SAVEPOINT "s1"', "tx", False),
        ('RELEASE SAVEPOINT "s1"', "tx", False),
        ("SET TIME ZONE 'UTC'", "tx", False),
        ("START TRANSACTION", "tx", False),
        ("SHOW search_path", "tx", False),
        ("EXPLAIN SELECT 1", "other", False),
        ("EXPLAIN ANALYZE UPDATE t SET a = 1", "other", True),
        ("VACUUM", "other", False),
        ("PRAGMA foreign_keys", "other", False),
        ("", "other", False),
    ],
)
def test_kind_and_is_write(statement: str, kind: str, writes: bool) -> None:
    assert sql.statement_kind(statement) == kind
    assert sql.is_write(statement) is writes
    for vendor in PATHS:
        analysis = sql.analyse(statement, vendor)
        assert (analysis.kind, analysis.is_write) == (kind, writes)
