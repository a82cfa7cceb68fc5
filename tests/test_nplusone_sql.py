"""Scenarios only the SQL-fingerprint detector sees: plain querysets, raw SQL and writes
repeated from one line, on every alias, each with its fix and a fixed counterpart."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections
from django.db.models import Count, Exists, OuterRef

from dbtune import nplusone
from tests.testapp.library import Library, build_library, marked_sites
from tests.testapp.models import Author, AuthorProfile, Book, Publisher, Tag

pytestmark = pytest.mark.django_db(databases=["default", "other"])

Expected = tuple[str, str, str, str]
HOIST = "hoist the query out of the loop (or cache its result)"
CASES: list[Any] = []


def case(*expected: Expected) -> Callable[[Callable[[Library], None]], Callable[[Library], None]]:
    def register(scenario: Callable[[Library], None]) -> Callable[[Library], None]:
        CASES.append(pytest.param(scenario, expected, id=scenario.__name__.replace("_", "-")))
        return scenario

    return register


@pytest.fixture
def lib() -> Library:
    return build_library()


@case(("n+1", "testapp.Author", "books", 'prefetch_related("books")'))
def filter_by_foreign_key(lib: Library) -> None:
    for author in Author.objects.all():
        list(Book.objects.filter(author=author))  # @access


@case(("n+1", "testapp.Book", "tags", 'prefetch_related("tags")'))
def filter_through_many_to_many(lib: Library) -> None:
    for book in Book.objects.all():
        list(Tag.objects.filter(book=book))  # @access


@case(
    (
        "n+1",
        "testapp.Author",
        "books",
        'Prefetch("books", queryset=Book.objects.filter(pages__gt=100), to_attr="filtered_books")',
    )
)
def filter_by_foreign_key_and_more(lib: Library) -> None:
    for author in Author.objects.all():
        list(Book.objects.filter(author=author, pages__gt=100))  # @access


@case(("count_in_loop", "testapp.Author", "books", 'annotate(n=Count("books"))'))
def count_by_foreign_key(lib: Library) -> None:
    for author in Author.objects.all():
        Book.objects.filter(author_id=author.pk).count()  # @access


@case(
    (
        "count_in_loop",
        "testapp.Author",
        "books",
        'annotate(has_books=Exists(Book.objects.filter(author=OuterRef("pk"))))',
    )
)
def exists_by_foreign_key(lib: Library) -> None:
    for author in Author.objects.all():
        Book.objects.filter(author=author).exists()  # @access


@case()
def fixed_count_and_exists(lib: Library) -> None:
    has_books = Exists(Book.objects.filter(author=OuterRef("pk")))
    for author in Author.objects.annotate(n=Count("books"), has_books=has_books):
        assert author.n  # type: ignore[attr-defined]
        assert author.has_books  # type: ignore[attr-defined]


@case(("n+1", "testapp.Author", "profile", 'select_related("profile")'))
def get_by_one_to_one(lib: Library) -> None:
    for author in Author.objects.all():
        AuthorProfile.objects.get(author=author)  # @access


@case(("get_in_loop", "testapp.Book", "get()", "in_bulk(ids)"))
def get_by_primary_key(lib: Library) -> None:
    for pk in [book.pk for book in lib.books]:
        Book.objects.get(pk=pk)  # @access


@case(("get_in_loop", "testapp.Author", "get()", "in_bulk(ids)"))
def get_from_values_rows(lib: Library) -> None:
    for row in Book.objects.values("author_id"):
        Author.objects.get(pk=row["author_id"])  # @access


@case(("get_in_loop", "testapp.Book", "get()", "filter(title__in=values)"))
def get_by_non_unique_field(lib: Library) -> None:
    for title in ["book 00", "book 01", "book 10"]:
        Book.objects.get(title=title)  # @access


@case()
def fixed_get_in_loop(lib: Library) -> None:
    found = Book.objects.in_bulk([book.pk for book in lib.books])
    assert len(found) == len(lib.books)


@case(("get_in_loop", "testapp.Author", "get()", "in_bulk(ids)"))
def get_in_loop_with_prefetch(lib: Library) -> None:
    for pk in [author.pk for author in lib.authors]:
        list(Author.objects.prefetch_related("books").get(pk=pk).books.all())  # @access


@case(("n+1", "testapp.Book", "raw SQL", "one query for all rows (WHERE ... IN (...))"))
def raw_sql(lib: Library) -> None:
    sql = "SELECT id FROM testapp_book WHERE author_id = %s"
    for author in lib.authors:
        with connection.cursor() as cursor:
            cursor.execute(sql, [author.pk])  # @access


@case(("n+1", "testapp.Author", "raw SQL", "one query for all rows (WHERE ... IN (...))"))
def raw_queryset(lib: Library) -> None:
    sql = "SELECT * FROM testapp_author WHERE id = %s"
    for author in lib.authors:
        list(Author.objects.raw(sql, [author.pk]))  # @access


@case(
    (
        "n+1",
        "testapp.Book",
        "save()",
        'bulk_update(objs, ["title", "pages", "author", "publisher"])',
    )
)
def save_per_row(lib: Library) -> None:
    for book in Book.objects.all():
        book.pages += 1
        book.save()  # @access


@case(("n+1", "testapp.Book", "save()", 'bulk_update(objs, ["pages"])'))
def save_update_fields_per_row(lib: Library) -> None:
    for book in Book.objects.all():
        book.pages += 1
        book.save(update_fields=["pages"])  # @access


@case()
def fixed_save_per_row(lib: Library) -> None:
    books = list(Book.objects.all())
    for book in books:
        book.pages += 1
    Book.objects.bulk_update(books, ["pages"])


@case(("n+1", "testapp.Book", "update()", 'bulk_update(objs, ["pages"])'))
def update_per_row(lib: Library) -> None:
    for book in Book.objects.all():
        Book.objects.filter(pk=book.pk).update(pages=book.pages + 1)  # @access


@case(("n+1", "testapp.Tag", "create()", "bulk_create(objs)"))
def create_per_row(lib: Library) -> None:
    for name in ["x", "y", "z"]:
        Tag.objects.create(name=name)  # @access


@case(("n+1", "testapp.Tag", "delete()", "filter(pk__in=ids).delete()"))
def delete_per_row_with_cascade(lib: Library) -> None:
    for tag in Tag.objects.all():
        tag.delete()  # @access


@case(
    (
        "repeated_query",
        "testapp.Publisher",
        "get()",
        HOIST,
    )
)
def same_get_repeated(lib: Library) -> None:
    pk = lib.publishers[0].pk
    for _book in Book.objects.all():
        Publisher.objects.get(pk=pk)  # @access


@case(
    (
        "repeated_query",
        "testapp.Tag",
        "count()",
        HOIST,
    )
)
def same_count_repeated(lib: Library) -> None:
    for _book in Book.objects.all():
        Tag.objects.count()  # @access


@case()
def fixed_repeated_query(lib: Library) -> None:
    total = Tag.objects.count()
    for _book in Book.objects.all():
        assert total


@case(("n+1", "testapp.Book", "author", 'select_related("author")'))
def instances_created_before_the_loop(lib: Library) -> None:
    books = [Book(pk=book.pk, title=book.title, author_id=book.author_id) for book in lib.books]
    for book in books:
        assert book.author.name  # @access


@pytest.mark.parametrize(("scenario", "expected"), CASES)
def test_scenario(
    lib: Library, scenario: Callable[[Library], None], expected: tuple[Expected, ...]
) -> None:
    with nplusone.detect(action="none") as report:
        scenario(lib)
    assert sorted((f.kind, f.model, f.field, f.fix) for f in report.findings) == sorted(expected)
    sites = marked_sites(scenario)
    for found in report.findings:
        assert found.access_site == sites["access"]
        assert found.count >= 2
        assert found.alias == "default"


def test_other_alias_is_watched() -> None:
    build_library(using="other")
    with nplusone.detect(action="none") as report:
        for book in Book.objects.using("other").all():
            assert book.author.name
        for author in Author.objects.using("other").all():
            Book.objects.using("other").filter(author=author).count()
    found = {(f.kind, f.field, f.alias) for f in report.findings}
    assert found == {("n+1", "author", "other"), ("count_in_loop", "books", "other")}


def test_aliases_can_be_limited() -> None:
    build_library(using="other")
    with nplusone.detect(action="none", aliases=["default"]) as report:
        for book in Book.objects.using("other").all():
            assert book.author.name
    assert report.findings == []
    assert report.queries == 0
    assert connections["other"].vendor == "sqlite"
