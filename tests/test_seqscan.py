"""``--dbtune-seqscan``: filtered sequential scans no index can serve, on a real server."""

from __future__ import annotations

import pytest

from dbtune.capture import capture_queries
from dbtune.seqscan import explain_filtered_seqscans, filter_columns
from tests.testapp.models import Author, Book


@pytest.mark.parametrize(
    ("expression", "columns"),
    [
        pytest.param("((title)::text = 'x'::text)", ("title",), id="equality"),
        pytest.param("((pages > 10) AND (pages < 20))", ("pages",), id="range"),
        pytest.param("((title)::text ~~ 'ab%'::text)", ("title",), id="like"),
        pytest.param("((name)::text = 'a'::text) OR (bio IS NULL)", ("name", "bio"), id="or-null"),
        pytest.param("(upper((name)::text) = 'A'::text)", ("name",), id="upper"),
    ],
)
def test_filter_columns(expression: str, columns: tuple[str, ...]) -> None:
    assert filter_columns(expression) == columns


@pytest.mark.postgres
@pytest.mark.django_db(databases=["pg"])
def test_unindexed_filter_is_found_and_indexed_ones_are_not() -> None:
    author = Author.objects.using("pg").create(name="a")
    Book.objects.using("pg").create(title="t", author=author)
    with capture_queries(keep_params=True) as queries:
        list(Book.objects.using("pg").filter(title="t"))
        list(Book.objects.using("pg").filter(pk=1))
        list(Book.objects.using("pg").filter(author_id=author.pk))
    scans = explain_filtered_seqscans(queries)
    assert [(s.table, s.columns) for s in scans] == [("testapp_book", ("title",))]
    message = scans[0].message()
    assert "testapp_book(title)" in message
    assert "tests/test_seqscan.py:" in message
    assert Book.objects.using("pg").count() == 1  # the EXPLAINs changed nothing
