"""A small library for the N+1 tests: every relation kind has at least two rows behind it.

Three authors (``a1`` mentored by ``a0``, ``a2`` by ``a1``), each with a profile and two
books; the books of ``a2`` have no publisher (NULL foreign keys). Every book has two tags,
one related book, one comment (generic foreign key) and one review; two shelves hold the
first three books each.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.testapp.models import (
    Author,
    AuthorProfile,
    Book,
    Comment,
    Placement,
    Publisher,
    Review,
    Shelf,
    Tag,
)


@dataclass
class Library:
    publishers: list[Publisher] = field(default_factory=list)
    authors: list[Author] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)
    books: list[Book] = field(default_factory=list)
    shelves: list[Shelf] = field(default_factory=list)


def build_library(using: str = "default") -> Library:
    lib = Library()
    db = using
    lib.publishers = [Publisher.objects.using(db).create(name=f"pub {i}") for i in range(2)]
    mentor = None
    for i in range(3):
        author = Author.objects.using(db).create(name=f"author {i}", bio="...", mentor=mentor)
        AuthorProfile.objects.using(db).create(author=author, website=f"https://a{i}.test")
        lib.authors.append(author)
        mentor = author
    lib.tags = [Tag.objects.using(db).create(name=f"tag {i}") for i in range(3)]
    for i, author in enumerate(lib.authors):
        for j in range(2):
            publisher = None if i == 2 else lib.publishers[j]
            book = Book.objects.using(db).create(
                title=f"book {i}{j}", pages=100 + 10 * i + j, author=author, publisher=publisher
            )
            book.tags.set(lib.tags[:2])
            lib.books.append(book)
    for book, other in zip(lib.books, lib.books[1:] + lib.books[:1], strict=True):
        book.related.add(other)
        Comment.objects.using(db).create(body=f"on {book.title}", target=book)
        Review.objects.using(db).create(book=book, stars=4)
    for i in range(2):
        shelf = Shelf.objects.using(db).create(name=f"shelf {i}")
        for position, book in enumerate(lib.books[:3]):
            Placement.objects.using(db).create(shelf=shelf, book=book, position=position)
        lib.shelves.append(shelf)
    return lib


def marked_sites(function: Callable[..., Any]) -> dict[str, str]:
    """``{"access": "tests/file.py:LINE", ...}`` for every ``# @name`` comment in a function."""
    lines, start = inspect.getsourcelines(function)
    path = os.path.relpath(inspect.getsourcefile(function) or "")
    sites = {}
    for offset, text in enumerate(lines):
        if "# @" in text:
            for name in text.split("# @", 1)[1].split():
                sites[name.lstrip("@")] = f"{path}:{start + offset}"
    return sites
