"""The detectors on a real PostgreSQL server (alias ``pg``): relation-level findings,
pglast fingerprints for counts and raw SQL, and the same fixes as on SQLite."""

from __future__ import annotations

import pytest
from django.db import connections

from dbtune import nplusone
from tests.testapp.library import build_library
from tests.testapp.models import Author, Book, Comment

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(databases=["default", "pg"])]


def test_relation_findings_on_postgres() -> None:
    build_library(using="pg")
    with nplusone.detect(action="none") as report:
        for book in Book.objects.using("pg").all():
            assert book.author.name
        for author in Author.objects.using("pg").all():
            list(author.books.all())
        for comment in Comment.objects.using("pg").all():
            assert comment.target is not None
    found = sorted((f.kind, f.relation, f.fix, f.alias) for f in report.findings)
    assert found == [
        ("n+1", "testapp.Author.books", 'prefetch_related("books")', "pg"),
        ("n+1", "testapp.Book.author", 'select_related("author")', "pg"),
        ("n+1", "testapp.Comment.target", 'prefetch_related("target")', "pg"),
    ]


def test_fingerprint_findings_on_postgres() -> None:
    build_library(using="pg")
    with nplusone.detect(action="none") as report:
        for author in Author.objects.using("pg").all():
            Book.objects.using("pg").filter(author=author).count()
        with connections["pg"].cursor() as cursor:
            for value in (1, 2, 3):
                cursor.execute("SELECT count(*) FROM testapp_book WHERE pages > %s", [value])
        for pk in Book.objects.using("pg").values_list("pk", flat=True):
            Book.objects.using("pg").get(pk=pk)
    found = sorted((f.kind, f.relation, f.fix) for f in report.findings)
    assert found == [
        ("count_in_loop", "testapp.Author.books", 'annotate(n=Count("books"))'),
        ("get_in_loop", "testapp.Book.get()", "in_bulk(ids)"),
        ("n+1", "testapp.Book.raw SQL", "one query for all rows (WHERE ... IN (...))"),
    ]
    assert {f.alias for f in report.findings} == {"pg"}


def test_fixed_queries_on_postgres() -> None:
    build_library(using="pg")
    with nplusone.detect(action="none") as report:
        for book in Book.objects.using("pg").select_related("author"):
            assert book.author.name
        for author in Author.objects.using("pg").prefetch_related("books"):
            list(author.books.all())
    assert report.findings == []
