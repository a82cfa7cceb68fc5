"""DBTuneMiddleware: per-request capture, header, logging, hooks; sync and async."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client, override_settings

from dbtune import middleware
from tests.testapp.models import Author, Book

pytestmark = pytest.mark.django_db


@pytest.fixture
def books() -> None:
    for i in range(3):
        author = Author.objects.create(name=f"author {i}")
        Book.objects.create(title=f"book {i}", author=author)


@override_settings(DEBUG=True)
def test_header_counts_the_request_queries(books: None) -> None:
    response = Client().get("/books/")
    assert response.status_code == 200
    assert response["X-DBTune-Queries"] == "4"
    fixed = Client().get("/books/?fixed=1")
    assert fixed["X-DBTune-Queries"] == "1"


def test_no_header_without_debug(books: None) -> None:
    response = Client().get("/books/")
    assert "X-DBTune-Queries" not in response


@override_settings(
    DEBUG=True, DBTUNE={"MIDDLEWARE": {"HEADER": False}, "NPLUSONE": {"ACTION": "log"}}
)
def test_header_can_be_switched_off(books: None) -> None:
    assert "X-DBTune-Queries" not in Client().get("/books/")


@override_settings(DEBUG=True, DBTUNE={"ENABLED": False})
def test_disabled_middleware_does_nothing(books: None) -> None:
    response = Client().get("/books/")
    assert "X-DBTune-Queries" not in response
    assert not hasattr(response.wsgi_request, "dbtune")


def test_report_is_attached_to_the_request(books: None) -> None:
    response = Client().get("/books/")
    report = response.wsgi_request.dbtune
    assert len(report.queries) == 4
    assert {q.alias for q in report.queries} == {"default"}
    assert report.duration >= 0


def test_summary_is_logged(books: None, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="dbtune.request"):
        Client().get("/books/")
    assert "GET /books/: 4 queries" in caplog.text


@pytest.mark.django_db(transaction=True)
@override_settings(DEBUG=True)
def test_async_request_is_captured(books: None) -> None:
    response = async_to_sync(AsyncClient().get)("/books-async/")
    assert response.status_code == 200
    assert response["X-DBTune-Queries"] == "1"


def test_registered_hook_wraps_each_request(books: None) -> None:
    seen: list[tuple[str, int]] = []

    class CountingHook(middleware.RequestHook):
        def scope(self, request: Any, report: middleware.RequestReport) -> Any:
            @contextlib.contextmanager
            def wrapped() -> Iterator[None]:
                yield
                seen.append((request.path, len(report.queries)))
                report.findings.append("seen")

            return wrapped()

    middleware.register_hook(CountingHook)
    try:
        response = Client().get("/books/")
    finally:
        middleware._HOOKS.remove(CountingHook)
    assert seen == [("/books/", 4)]
    assert "seen" in response.wsgi_request.dbtune.findings


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["sync", "async"])
def test_hooks_see_the_response_on_both_paths(books: None, path: str) -> None:
    entered: list[str] = []

    class HeaderHook(middleware.RequestHook):
        def scope(self, request: Any, report: middleware.RequestReport) -> Any:
            @contextlib.contextmanager
            def wrapped() -> Iterator[None]:
                entered.append("scope")
                yield
                assert report.response is not None
                report.response["X-Hook"] = "seen"

            return wrapped()

        def ascope(self, request: Any, report: middleware.RequestReport) -> Any:
            entered.append("ascope")
            return super().ascope(request, report)

    middleware.register_hook(HeaderHook)
    try:
        if path == "sync":
            response = Client().get("/books/")
        else:
            response = async_to_sync(AsyncClient().get)("/books-async/")
    finally:
        middleware._HOOKS.remove(HeaderHook)
    assert response["X-Hook"] == "seen"
    assert entered == (["scope"] if path == "sync" else ["ascope", "scope"])
