"""The request hook (sync and async middleware) and system check ``dbtune.E006``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from asgiref.sync import async_to_sync
from django.http import HttpRequest, JsonResponse
from django.test import Client, RequestFactory, override_settings

from dbtune import middleware
from dbtune.nplusone import NPlusOneError, NPlusOneWarning
from dbtune.nplusone.checks import check_allow_patterns
from dbtune.nplusone.integration import NPlusOneHook, install
from tests.testapp import views
from tests.testapp.library import build_library, marked_sites
from tests.testapp.models import Book

pytestmark = pytest.mark.django_db


@pytest.fixture
def hook() -> Iterator[None]:
    registered = NPlusOneHook in middleware.registered_hooks()
    install()
    install()
    assert middleware.registered_hooks().count(NPlusOneHook) == 1
    yield
    if not registered:
        middleware._HOOKS.remove(NPlusOneHook)


@override_settings(DEBUG=True, DBTUNE={"NPLUSONE": {"ACTION": "log"}})
def test_request_findings_and_the_fixed_page(hook: None) -> None:
    build_library()
    response = Client().get("/books/")
    (finding,) = response.wsgi_request.dbtune.findings
    assert (finding.kind, finding.relation, finding.fix) == (
        "n+1",
        "testapp.Book.author",
        'select_related("author")',
    )
    assert finding.access_site == marked_sites(views.book_list)["access"]
    assert finding.queryset_site == marked_sites(views.book_list)["qs"]
    fixed = Client().get("/books/?fixed=1")
    assert fixed.wsgi_request.dbtune.findings == []
    assert int(fixed["X-DBTune-Queries"]) < int(response["X-DBTune-Queries"])


@override_settings(DBTUNE={"NPLUSONE": {"ACTION": "warn"}})
def test_request_action_warn(hook: None) -> None:
    build_library()
    with pytest.warns(NPlusOneWarning, match="select_related"):
        Client().get("/books/")


@override_settings(DBTUNE={"NPLUSONE": {"ACTION": "raise", "ALLOW": ["testapp.Book.title"]}})
def test_request_action_raise(hook: None) -> None:
    build_library()
    with pytest.raises(NPlusOneError):
        Client().get("/books/")


@override_settings(DBTUNE={"NPLUSONE": {"ACTION": "raise", "ALLOW": ["testapp.Book.author"]}})
def test_request_allow_setting(hook: None) -> None:
    build_library()
    assert Client().get("/books/").wsgi_request.dbtune.findings == []


@pytest.mark.django_db(transaction=True)
@override_settings(DBTUNE={"NPLUSONE": {"ACTION": "log"}})
def test_async_request(hook: None) -> None:
    build_library()

    async def view(request: HttpRequest) -> JsonResponse:
        names = [book.title async for book in Book.objects.all()]
        async for book in Book.objects.all():
            await book.tags.acount()  # @access
        return JsonResponse({"names": names})

    handler = middleware.DBTuneMiddleware(view)
    request = RequestFactory().get("/async/")
    async_to_sync(handler)(request)
    (finding,) = request.dbtune.findings  # type: ignore[attr-defined]
    assert (finding.kind, finding.relation) == ("count_in_loop", "testapp.Book.tags")
    assert finding.access_site == marked_sites(view)["access"]


@override_settings(DBTUNE={"ENABLED": False})
def test_disabled_setting_skips_the_hook(hook: None) -> None:
    build_library()
    response = Client().get("/books/")
    assert not hasattr(response.wsgi_request, "dbtune")


@pytest.mark.parametrize(
    "pattern",
    [
        "testapp.Book.author",
        "testapp.book.AUTHOR",
        "testapp.Author.books",
        "testapp.Publisher.book_set",
        "testapp.Tag.book_set",
        "testapp.Book.get()",
        "testapp.Book.*",
        "testapp.Book",
        "testapp",
        "*.*.author",
        "*",
    ],
)
def test_check_accepts_patterns(pattern: str) -> None:
    with override_settings(DBTUNE={"NPLUSONE": {"ALLOW": [pattern]}}):
        assert check_allow_patterns() == []


@pytest.mark.parametrize(
    ("pattern", "hint"),
    [
        ("testapp.Book.autor", 'Did you mean "testapp.Book.author"?'),
        ("testapp.Author.book", 'Did you mean "testapp.Author.books"?'),
        ("testapp.Bok.author", 'Did you mean "testapp.Book"?'),
        ("testap", 'Did you mean "testapp"?'),
        ("nosuch.*", "The pattern matches no relation."),
        ("a.b.c.d", 'Use app_label.Model.field, e.g. "testapp.Book.author".'),
    ],
)
def test_check_rejects_typos_with_a_suggestion(pattern: str, hint: str) -> None:
    with override_settings(DBTUNE={"NPLUSONE": {"ALLOW": [pattern]}}):
        (error,) = check_allow_patterns()
    assert error.id == "dbtune.E006"
    assert error.hint == hint
    assert repr(pattern) in error.msg


def test_check_ignores_malformed_settings() -> None:
    with override_settings(DBTUNE={"NPLUSONE": {"ALLOW": "testapp.Book.author"}}):
        assert check_allow_patterns() == []
    with override_settings(DBTUNE=[]):
        assert check_allow_patterns() == []
