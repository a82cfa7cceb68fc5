"""Async code: ``aget``, ``acount``, ``async for`` and ``sync_to_async`` lambdas.

Driven with ``async_to_sync`` (pytest-asyncio is not used). The access site must be the
line in the coroutine, not the synchronous caller that started the event loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from dbtune import nplusone
from tests.testapp.library import build_library, marked_sites
from tests.testapp.models import Author, Book

pytestmark = pytest.mark.django_db(transaction=True)


async def aget_in_async_for() -> None:
    async for book in Book.objects.all():
        await Author.objects.aget(pk=book.author_id)  # @access


async def related_manager_in_async_for() -> None:
    async for author in Author.objects.all():  # @qs
        [book async for book in author.books.all()]  # @access


async def acount_in_async_for() -> None:
    async for author in Author.objects.all():  # @qs
        await author.books.acount()  # @access


async def lazy_load_in_sync_to_async() -> None:
    books = [book async for book in Book.objects.all()]  # @qs
    for book in books:
        await sync_to_async(lambda b=book: b.author.name)()  # @access


async def aiterator_chunks() -> None:
    async for book in Book.objects.aiterator(chunk_size=2):  # @qs
        await sync_to_async(lambda b=book: str(b.publisher))()  # @access


async def fixed_async_for() -> None:
    async for book in Book.objects.select_related("author"):
        assert book.author.name


@pytest.mark.parametrize(
    ("scenario", "expected", "with_qs"),
    [
        (aget_in_async_for, ("get_in_loop", "testapp.Author", "get()", "in_bulk(ids)"), False),
        (
            related_manager_in_async_for,
            ("n+1", "testapp.Author", "books", 'prefetch_related("books")'),
            True,
        ),
        (
            acount_in_async_for,
            ("count_in_loop", "testapp.Author", "books", 'annotate(n=Count("books"))'),
            True,
        ),
        (
            lazy_load_in_sync_to_async,
            ("n+1", "testapp.Book", "author", 'select_related("author")'),
            True,
        ),
        (
            aiterator_chunks,
            ("n+1", "testapp.Book", "publisher", 'select_related("publisher")'),
            True,
        ),
        (fixed_async_for, None, False),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_async_scenario(
    scenario: Callable[[], Awaitable[Any]], expected: tuple[str, ...] | None, with_qs: bool
) -> None:
    build_library()
    with nplusone.detect(action="none") as report:
        async_to_sync(scenario)()
    if expected is None:
        assert report.findings == []
        return
    (finding,) = report.findings
    assert (finding.kind, finding.model, finding.field, finding.fix) == expected
    sites = marked_sites(scenario)
    assert finding.access_site == sites["access"]
    assert finding.queryset_site == (sites["qs"] if with_qs else None)


def test_detect_inside_a_coroutine() -> None:
    build_library()

    async def view() -> list[str]:
        with nplusone.detect(action="none") as report:
            await related_manager_in_async_for()
        return [f.relation for f in report.findings]

    assert async_to_sync(view)() == ["testapp.Author.books"]
