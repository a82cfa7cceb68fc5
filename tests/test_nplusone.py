"""The N+1 detector's table of scenarios, each checked through the public ``detect()``.

Every positive case names its exact ``(kind, model, field, fix)`` and the lines marked
``# @access`` (where the queries are triggered) and ``# @qs`` (where the root queryset is
built); every fix has a counterpart that applies it and must yield no finding; negative
controls must yield nothing. Each scenario also runs without the detector first, and must
issue exactly the same number of queries with it (the detector never queries).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db.models import Prefetch, Sum, prefetch_related_objects

from dbtune import capture_queries, nplusone
from tests.testapp.library import Library, build_library, marked_sites
from tests.testapp.models import Author, AuthorProfile, Book, Comment, Shelf, Tag

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Expect:
    kind: str
    model: str
    field: str
    fix: str
    access: str = "access"
    qs: str | None = "qs"


def N1(model: str, field: str, fix: str, access: str = "access", qs: str | None = "qs") -> Expect:
    return Expect("n+1", model, field, fix, access, qs)


CASES: list[Any] = []


def case(*expected: Expect) -> Callable[[Callable[[Library], None]], Callable[[Library], None]]:
    def register(scenario: Callable[[Library], None]) -> Callable[[Library], None]:
        CASES.append(pytest.param(scenario, expected, id=scenario.__name__.replace("_", "-")))
        return scenario

    return register


@pytest.fixture
def lib() -> Library:
    return build_library()


# --- forward foreign keys and one-to-one ---------------------------------------------------


@case(N1("testapp.Book", "author", 'select_related("author")'))
def forward_fk(lib: Library) -> None:
    books = Book.objects.all()  # @qs
    for book in books:
        assert book.author.name  # @access


@case()
def fixed_forward_fk(lib: Library) -> None:
    for book in Book.objects.select_related("author"):
        assert book.author.name


@case(N1("testapp.Book", "publisher", 'select_related("publisher")'))
def forward_fk_nullable(lib: Library) -> None:
    for book in Book.objects.order_by("pk"):  # @qs
        str(book.publisher)  # @access


@case()
def fixed_forward_fk_nullable(lib: Library) -> None:
    for book in Book.objects.select_related("publisher"):
        str(book.publisher)


@case(N1("testapp.AuthorProfile", "author", 'select_related("author")'))
def forward_one_to_one(lib: Library) -> None:
    for profile in AuthorProfile.objects.all():  # @qs
        assert profile.author.name  # @access


@case()
def fixed_forward_one_to_one(lib: Library) -> None:
    for profile in AuthorProfile.objects.select_related("author"):
        assert profile.author.name


@case(N1("testapp.Author", "mentor", 'select_related("mentor")'))
def self_referential_fk(lib: Library) -> None:
    for author in Author.objects.all():  # @qs
        str(author.mentor)  # @access


@case()
def fixed_self_referential_fk(lib: Library) -> None:
    for author in Author.objects.select_related("mentor"):
        str(author.mentor)


@case(N1("testapp.Author", "profile", 'select_related("profile")'))
def reverse_one_to_one(lib: Library) -> None:
    for author in Author.objects.all():  # @qs
        assert author.profile.website  # @access


@case()
def fixed_reverse_one_to_one(lib: Library) -> None:
    for author in Author.objects.select_related("profile"):
        assert author.profile.website


@case(N1("testapp.Author", "profile", 'select_related("profile")'))
def reverse_one_to_one_missing(lib: Library) -> None:
    AuthorProfile.objects.filter(author__name="author 1").delete()
    for author in Author.objects.all():  # @qs
        hasattr(author, "profile")  # @access


# --- reverse foreign keys and many-to-many --------------------------------------------------


@case(N1("testapp.Author", "books", 'prefetch_related("books")'))
def reverse_fk_related_name(lib: Library) -> None:
    for author in Author.objects.all():  # @qs
        list(author.books.all())  # @access


@case()
def fixed_reverse_fk_related_name(lib: Library) -> None:
    for author in Author.objects.prefetch_related("books"):
        list(author.books.all())


@case(N1("testapp.Publisher", "book_set", 'prefetch_related("book_set")'))
def reverse_fk_default_name(lib: Library) -> None:
    from tests.testapp.models import Publisher

    for publisher in Publisher.objects.all():  # @qs
        list(publisher.book_set.all())  # @access


@case()
def fixed_reverse_fk_default_name(lib: Library) -> None:
    from tests.testapp.models import Publisher

    for publisher in Publisher.objects.prefetch_related("book_set"):
        list(publisher.book_set.all())


@case(N1("testapp.Book", "tags", 'prefetch_related("tags")'))
def many_to_many(lib: Library) -> None:
    for book in Book.objects.all():  # @qs
        [tag.name for tag in book.tags.all()]  # @access


@case()
def fixed_many_to_many(lib: Library) -> None:
    for book in Book.objects.prefetch_related("tags"):
        [tag.name for tag in book.tags.all()]


@case(N1("testapp.Tag", "book_set", 'prefetch_related("book_set")'))
def many_to_many_reverse_default_name(lib: Library) -> None:
    for tag in Tag.objects.all():  # @qs
        list(tag.book_set.all())  # @access


@case()
def fixed_many_to_many_reverse_default_name(lib: Library) -> None:
    for tag in Tag.objects.prefetch_related("book_set"):
        list(tag.book_set.all())


@case(N1("testapp.Book", "related", 'prefetch_related("related")'))
def many_to_many_self(lib: Library) -> None:
    for book in Book.objects.all():  # @qs
        list(book.related.all())  # @access


@case(N1("testapp.Book", "book_set", 'prefetch_related("book_set")'))
def many_to_many_self_reverse(lib: Library) -> None:
    for book in Book.objects.all():  # @qs
        list(book.book_set.all())  # @access


@case()
def fixed_many_to_many_self_both_ways(lib: Library) -> None:
    for book in Book.objects.prefetch_related("related", "book_set"):
        list(book.related.all()) + list(book.book_set.all())


@case(N1("testapp.Shelf", "books", 'prefetch_related("books")'))
def many_to_many_through(lib: Library) -> None:
    for shelf in Shelf.objects.all():  # @qs
        list(shelf.books.all())  # @access


@case(N1("testapp.Book", "shelves", 'prefetch_related("shelves")'))
def many_to_many_through_reverse(lib: Library) -> None:
    for book in Book.objects.all():  # @qs
        list(book.shelves.all())  # @access


@case(N1("testapp.Shelf", "placement_set", 'prefetch_related("placement_set")'))
def through_model_reverse_fk(lib: Library) -> None:
    for shelf in Shelf.objects.all():  # @qs
        [placement.position for placement in shelf.placement_set.all()]  # @access


@case()
def fixed_many_to_many_through(lib: Library) -> None:
    for shelf in Shelf.objects.prefetch_related("books", "placement_set"):
        list(shelf.books.all()) + list(shelf.placement_set.all())


# --- generic relations ----------------------------------------------------------------------


@case(N1("testapp.Book", "comments", 'prefetch_related("comments")'))
def generic_relation(lib: Library) -> None:
    for book in Book.objects.all():  # @qs
        list(book.comments.all())  # @access


@case()
def fixed_generic_relation(lib: Library) -> None:
    for book in Book.objects.prefetch_related("comments"):
        list(book.comments.all())


@case(N1("testapp.Comment", "target", 'prefetch_related("target")'))
def generic_foreign_key(lib: Library) -> None:
    for comment in Comment.objects.all():  # @qs
        assert comment.target is not None  # @access


@case()
def fixed_generic_foreign_key(lib: Library) -> None:
    for comment in Comment.objects.prefetch_related("target"):
        assert comment.target is not None


# --- nested paths ---------------------------------------------------------------------------


@case(N1("testapp.Book", "tags", 'prefetch_related("books__tags")'))
def nested_prefetch(lib: Library) -> None:
    for author in Author.objects.prefetch_related("books"):  # @qs
        for book in author.books.all():
            list(book.tags.all())  # @access


@case()
def fixed_nested_prefetch(lib: Library) -> None:
    for author in Author.objects.prefetch_related("books__tags"):
        for book in author.books.all():
            list(book.tags.all())


@case(N1("testapp.Author", "mentor", 'select_related("author__mentor")'))
def nested_select(lib: Library) -> None:
    for book in Book.objects.select_related("author"):  # @qs
        str(book.author.mentor)  # @access


@case()
def fixed_nested_select(lib: Library) -> None:
    for book in Book.objects.select_related("author__mentor"):
        str(book.author.mentor)


@case(
    N1("testapp.Book", "author", 'select_related("author")'),
    N1("testapp.Author", "profile", 'select_related("author__profile")'),
)
def chain_of_lazy_loads(lib: Library) -> None:
    for book in Book.objects.all():  # @qs
        assert book.author.profile.website  # @access


@case()
def fixed_chain_of_lazy_loads(lib: Library) -> None:
    for book in Book.objects.select_related("author__profile"):
        assert book.author.profile.website


@case(
    N1("testapp.Author", "books", 'prefetch_related("books")', access="books"),
    N1("testapp.Book", "publisher", 'prefetch_related("books__publisher")', access="pub"),
)
def lazy_many_then_fk(lib: Library) -> None:
    for author in Author.objects.all():  # @qs
        for book in author.books.all():  # @books
            str(book.publisher)  # @pub


@case(N1("testapp.Book", "publisher", 'prefetch_related("books__publisher")'))
def prefetched_then_fk(lib: Library) -> None:
    for author in Author.objects.prefetch_related("books"):  # @qs
        for book in author.books.all():
            str(book.publisher)  # @access


@case()
def fixed_prefetched_then_fk(lib: Library) -> None:
    for author in Author.objects.prefetch_related("books__publisher"):
        for book in author.books.all():
            str(book.publisher)


@case(N1("testapp.Book", "publisher", 'select_related("publisher")'))
def related_manager_rows_of_one_instance(lib: Library) -> None:
    author = Author.objects.get(name="author 0")
    for book in author.books.all():  # @qs
        str(book.publisher)  # @access


@case(N1("testapp.Book", "publisher", 'prefetch_related("books__publisher")'))
def prefetched_rows_of_one_instance(lib: Library) -> None:
    author = Author.objects.prefetch_related("books").get(name="author 0")  # @qs
    for book in author.books.all():
        str(book.publisher)  # @access


# --- deferred fields ------------------------------------------------------------------------


@case(N1("testapp.Book", "pages", 'only("title", "pages")'))
def deferred_by_only(lib: Library) -> None:
    for book in Book.objects.only("title"):  # @qs
        assert book.pages  # @access


@case()
def fixed_deferred_by_only(lib: Library) -> None:
    for book in Book.objects.only("title", "pages"):
        assert book.pages


@case(N1("testapp.Author", "bio", 'remove defer("bio")'))
def deferred_by_defer(lib: Library) -> None:
    for author in Author.objects.defer("bio"):  # @qs
        assert author.bio  # @access


@case(N1("testapp.Book", "pages", 'defer("title")'))
def deferred_among_several(lib: Library) -> None:
    for book in Book.objects.defer("pages", "title"):  # @qs
        assert book.pages  # @access


@case(N1("testapp.Author", "bio", 'only("author__name", "title", "author__bio")'))
def deferred_on_selected_relation(lib: Library) -> None:
    books = Book.objects.select_related("author").only("title", "author__name")  # @qs
    for book in books:
        assert book.author.bio  # @access


# --- iterator, per-instance prefetch, related-manager refinements ---------------------------


@case(N1("testapp.Book", "author", 'select_related("author")'))
def iterator_across_chunks(lib: Library) -> None:
    for book in Book.objects.iterator(chunk_size=2):  # @qs
        assert book.author.name  # @access


@case()
def fixed_iterator_with_prefetch_chunks(lib: Library) -> None:
    for book in Book.objects.prefetch_related("tags").iterator(chunk_size=5):
        list(book.tags.all())


@case(N1("testapp.Author", "books", 'prefetch_related("books")'))
def prefetch_related_objects_per_instance(lib: Library) -> None:
    for author in Author.objects.all():  # @qs
        prefetch_related_objects([author], "books")  # @access


@case()
def fixed_prefetch_related_objects_once(lib: Library) -> None:
    authors = list(Author.objects.all())
    prefetch_related_objects(authors, "books")
    for author in authors:
        list(author.books.all())


@case(
    N1(
        "testapp.Author",
        "books",
        'Prefetch("books", queryset=Book.objects.filter(pages__gt=100), to_attr="filtered_books")',
    )
)
def related_manager_filter(lib: Library) -> None:
    for author in Author.objects.all():  # @qs
        list(author.books.filter(pages__gt=100))  # @access


def Filtered(model: str, field: str, queryset: str) -> Expect:
    fix = f'Prefetch("{field}", queryset={queryset}, to_attr="filtered_{field}")'
    return N1(model, field, fix)


@case(Filtered("testapp.Author", "books", 'Book.objects.order_by("-pages")'))
def related_manager_ordering(lib: Library) -> None:
    for author in Author.objects.all():  # @qs
        list(author.books.order_by("-pages"))  # @access


@case(Filtered("testapp.Author", "books", "Book.objects.all()[:1]"))
def related_manager_slice(lib: Library) -> None:
    for author in Author.objects.all():  # @qs
        list(author.books.all()[:1])  # @access


@case(Filtered("testapp.Book", "tags", "Tag.objects.exclude(...)"))
def many_to_many_exclude(lib: Library) -> None:
    for book in Book.objects.all():  # @qs
        list(book.tags.exclude(name="tag 0"))  # @access


@case(Filtered("testapp.Shelf", "books", "Book.objects.filter(pages__gte=100)"))
def many_to_many_through_filter(lib: Library) -> None:
    for shelf in Shelf.objects.all():  # @qs
        list(shelf.books.filter(pages__gte=100))  # @access


@case(Filtered("testapp.Book", "comments", "Comment.objects.filter(body__startswith='on')"))
def generic_relation_filter(lib: Library) -> None:
    for book in Book.objects.all():  # @qs
        list(book.comments.filter(body__startswith="on"))  # @access


@case()
def fixed_related_manager_filter(lib: Library) -> None:
    long_books = Prefetch("books", Book.objects.filter(pages__gt=100), to_attr="filtered_books")
    for author in Author.objects.prefetch_related(long_books):
        list(author.filtered_books)  # type: ignore[attr-defined]


@case(N1("testapp.Author", "books", "read .long_books (the Prefetch to_attr) instead of .books"))
def prefetch_to_attr_ignored(lib: Library) -> None:
    long_books = Prefetch("books", Book.objects.filter(pages__gt=100), to_attr="long_books")
    for author in Author.objects.prefetch_related(long_books):  # @qs
        list(author.books.all())  # @access


@case()
def fixed_prefetch_object_with_select_related(lib: Library) -> None:
    books = Prefetch("books", queryset=Book.objects.select_related("publisher"))
    for author in Author.objects.prefetch_related(books):
        [str(book.publisher) for book in author.books.all()]


# --- counts, exists, aggregates through the ORM hooks ---------------------------------------


@case(Expect("count_in_loop", "testapp.Author", "books", 'annotate(n=Count("books"))'))
def related_count(lib: Library) -> None:
    for author in Author.objects.all():  # @qs
        author.books.count()  # @access


@case(
    Expect(
        "count_in_loop",
        "testapp.Author",
        "books",
        'annotate(has_books=Exists(Book.objects.filter(author=OuterRef("pk"))))',
    )
)
def related_exists(lib: Library) -> None:
    for author in Author.objects.all():  # @qs
        author.books.exists()  # @access


@case(Expect("count_in_loop", "testapp.Book", "tags", 'annotate(n=Count("tags"))'))
def many_to_many_count(lib: Library) -> None:
    for book in Book.objects.all():  # @qs
        book.tags.count()  # @access


@case(Expect("count_in_loop", "testapp.Author", "books", 'annotate(n=Sum("books__pages"))'))
def related_aggregate(lib: Library) -> None:
    for author in Author.objects.all():  # @qs
        author.books.aggregate(Sum("pages"))  # @access


@case()
def fixed_related_count(lib: Library) -> None:
    from django.db.models import Count

    for author in Author.objects.annotate(n=Count("books")):
        assert author.n  # type: ignore[attr-defined]


# --- unused eager loads ---------------------------------------------------------------------


def Unused(model: str, path: str, how: str) -> Expect:
    return Expect("unused_eager", model, path, f'remove "{path}" from {how}()', "eval", "qs")


@case(Unused("testapp.Author", "books", "prefetch_related"))
def unused_prefetch(lib: Library) -> None:
    authors = Author.objects.prefetch_related("books")  # @qs
    assert [author.name for author in authors]  # @eval


@case(Unused("testapp.Book", "author", "select_related"))
def unused_select_related(lib: Library) -> None:
    for book in Book.objects.select_related("author"):  # @qs @eval
        assert book.title


@case(Unused("testapp.Author", "books__tags", "prefetch_related"))
def unused_nested_level(lib: Library) -> None:
    for author in Author.objects.prefetch_related("books__tags"):  # @qs @eval
        list(author.books.all())


@case(Unused("testapp.Book", "author__mentor", "select_related"))
def unused_nested_select_level(lib: Library) -> None:
    for book in Book.objects.select_related("author__mentor"):  # @qs @eval
        assert book.author.name


@case()
def eager_loads_used_by_one_instance(lib: Library) -> None:
    books = list(Book.objects.select_related("author").prefetch_related("tags"))
    assert books[-1].author.name
    assert list(books[0].tags.all())


@case()
def eager_loads_of_empty_levels(lib: Library) -> None:
    Author.objects.get_or_create(name="no books")
    for author in Author.objects.filter(name="no books").prefetch_related("books__tags"):
        list(author.books.all())


# --- negative controls ----------------------------------------------------------------------


@case()
def single_instances_on_different_lines(lib: Library) -> None:
    first = Book.objects.get(title="book 00")
    second = Book.objects.first()
    third = Book.objects.all()[2]
    assert first.author.name
    assert second is not None
    assert second.author.name
    assert third.author.name


@case()
def single_instances_through_one_helper(lib: Library) -> None:
    def author_name(book: Book) -> str:
        return book.author.name

    author_name(Book.objects.get(title="book 00"))
    author_name(Book.objects.get(title="book 10"))
    author_name(Book.objects.get(title="book 20"))


@case()
def empty_results(lib: Library) -> None:
    for author in Author.objects.filter(name="nobody"):
        list(author.books.all())


@case()
def null_foreign_keys(lib: Library) -> None:
    for book in Book.objects.filter(publisher__isnull=True):
        assert book.publisher is None


@case()
def related_queryset_evaluated_twice(lib: Library) -> None:
    books = Author.objects.get(name="author 0").books.all()
    list(books)
    list(books)
    assert len(books) == 2


@case()
def second_bulk_query_over_loaded_rows(lib: Library) -> None:
    books = list(Book.objects.all())
    prefetch_related_objects(books, "tags")
    prefetch_related_objects(books, "tags")
    assert Book.objects.filter(pk__in=[book.pk for book in books]).count() == len(books)


@case()
def values_rows(lib: Library) -> None:
    for row in Book.objects.values("title", "author__name"):
        assert row["author__name"]
    for title, pages in Book.objects.values_list("title", "pages"):
        assert title
        assert pages


@case()
def none_queryset(lib: Library) -> None:
    for book in Book.objects.none():
        list(book.tags.all())
    for author in Author.objects.all()[:1]:
        list(author.books.none())


@case()
def one_row_loop(lib: Library) -> None:
    for book in Book.objects.filter(title="book 00"):
        assert book.author.name


@pytest.mark.parametrize(("scenario", "expected"), CASES)
def test_scenario(
    lib: Library, scenario: Callable[[Library], None], expected: tuple[Expect, ...]
) -> None:
    scenario(lib)  # warm caches (content types) so both runs below issue the same queries
    with capture_queries() as plain:
        scenario(lib)
    with capture_queries() as watched, nplusone.detect(action="none") as report:
        scenario(lib)
    assert len(watched) == len(plain)
    got = sorted((f.kind, f.model, f.field, f.fix) for f in report.findings)
    assert got == sorted((e.kind, e.model, e.field, e.fix) for e in expected)
    sites = marked_sites(scenario)
    for want in expected:
        (found,) = [f for f in report.findings if (f.model, f.field) == (want.model, want.field)]
        assert found.access_site == sites[want.access]
        assert found.queryset_site == (sites[want.qs] if want.qs else None)
        assert found.count >= (1 if want.kind == "unused_eager" else 2)


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 60
