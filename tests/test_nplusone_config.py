"""Threshold, allow patterns, ignore comments and paths, nesting, actions and signals."""

from __future__ import annotations

import logging
import warnings
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import override_settings

from dbtune import nplusone
from dbtune.nplusone import Finding, NPlusOneError, NPlusOneWarning, Report
from tests.testapp.library import Library, build_library, marked_sites
from tests.testapp.models import Author, Book

pytestmark = pytest.mark.django_db


@pytest.fixture
def lib() -> Library:
    return build_library()


def author_loop() -> None:
    for book in Book.objects.all():  # @qs
        assert book.author.name  # @access


def relations(report: Report) -> list[str]:
    return [f.relation for f in report.findings]


@pytest.mark.parametrize(
    ("threshold", "found"),
    [pytest.param(2, True, id="2"), pytest.param(6, True, id="6"), pytest.param(7, False, id="7")],
)
def test_threshold_argument(lib: Library, threshold: int, found: bool) -> None:
    with nplusone.detect(threshold, action="none") as report:
        author_loop()
    assert bool(report.findings) is found


@pytest.mark.parametrize(("setting", "found"), [(6, True), (7, False)])
def test_threshold_setting(lib: Library, setting: int, found: bool) -> None:
    with (
        override_settings(DBTUNE={"NPLUSONE": {"THRESHOLD": setting}}),
        nplusone.detect(action="none") as report,
    ):
        author_loop()
    assert bool(report.findings) is found


def test_threshold_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="threshold"):
        nplusone.detect(0)


@pytest.mark.parametrize(
    "pattern",
    ["testapp.Book.author", "TESTAPP.book.AUTHOR", "testapp.Book.*", "testapp.Book", "testapp"],
)
def test_allow_setting_suppresses(lib: Library, pattern: str) -> None:
    with (
        override_settings(DBTUNE={"NPLUSONE": {"ALLOW": [pattern]}}),
        nplusone.detect(action="none") as report,
    ):
        author_loop()
    assert report.findings == []
    assert relations_of(report.suppressed) == ["testapp.Book.author"]


def relations_of(findings: list[Finding]) -> list[str]:
    return [f.relation for f in findings]


@pytest.mark.parametrize("pattern", ["testapp.Book.publisher", "testapp.Author.*", "other.*"])
def test_allow_setting_other_relations_still_reported(lib: Library, pattern: str) -> None:
    with (
        override_settings(DBTUNE={"NPLUSONE": {"ALLOW": [pattern]}}),
        nplusone.detect(action="none") as report,
    ):
        author_loop()
    assert relations(report) == ["testapp.Book.author"]


def test_allow_argument(lib: Library) -> None:
    with nplusone.detect(action="none", allow=["testapp.Book.author"]) as report:
        author_loop()
    assert report.findings == []


def test_allow_context_manager(lib: Library) -> None:
    with nplusone.detect(action="none") as report:
        with nplusone.allow("testapp.Book.author"):
            author_loop()
        for author in Author.objects.all():
            list(author.books.all())
    assert relations(report) == ["testapp.Author.books"]


def test_allow_without_patterns_allows_everything(lib: Library) -> None:
    with nplusone.detect(action="none") as report, nplusone.allow():
        author_loop()
    assert report.findings == []
    assert len(report.suppressed) == 1


def test_allow_as_decorator(lib: Library) -> None:
    @nplusone.allow("testapp.Book.*")
    def allowed() -> None:
        author_loop()

    with nplusone.detect(action="none") as report:
        allowed()
        author_loop()
    (finding,) = report.by_kind("n+1")
    assert finding.access_site == marked_sites(author_loop)["access"]
    assert [f.kind for f in report.findings] == ["n+1", "repeated_query"]


def test_allow_blocks_nest(lib: Library) -> None:
    with nplusone.detect(action="none") as report:
        with nplusone.allow("testapp.Author.*"), nplusone.allow("testapp.Book.author"):
            author_loop()
        author_loop()
    assert len(report.by_kind("n+1")) == 1


def test_ignore_comment(lib: Library) -> None:
    with nplusone.detect(action="none") as report:
        for book in Book.objects.all():
            assert book.author.name  # dbtune: ignore[n+1]
        for book in Book.objects.all():
            str(book.publisher)  # dbtune: ignore
        for author in Author.objects.all():
            list(author.books.all())  # dbtune: ignore[get_in_loop]
    assert relations(report) == ["testapp.Author.books"]
    assert sorted(relations_of(report.suppressed)) == [
        "testapp.Book.author",
        "testapp.Book.publisher",
    ]


def test_ignore_paths_setting(lib: Library) -> None:
    with (
        override_settings(DBTUNE={"NPLUSONE": {"IGNORE_PATHS": ["tests/test_nplusone_c*"]}}),
        nplusone.detect(action="none") as report,
    ):
        author_loop()
    assert report.findings == []


def test_ignore_paths_argument(lib: Library) -> None:
    with nplusone.detect(action="none", ignore_paths=["*/tests/*", "tests/*"]) as report:
        author_loop()
    assert report.findings == []


def test_nested_detect_blocks(lib: Library) -> None:
    with nplusone.detect(action="none") as outer:
        for author in Author.objects.all():
            list(author.books.all())
        with nplusone.detect(action="none") as inner:
            author_loop()
    assert relations(inner) == ["testapp.Book.author"]
    assert sorted(relations(outer)) == ["testapp.Author.books", "testapp.Book.author"]


def test_report_is_live_inside_the_block(lib: Library) -> None:
    with nplusone.detect(action="none") as report:
        assert report.active
        author_loop()
        assert relations(report) == ["testapp.Book.author"]
        for author in Author.objects.all():
            list(author.books.all())
        assert len(report.findings) == 2
    assert not report.active
    assert report.queries == 1 + 6 + 1 + 3
    assert "2 findings" in repr(report)


def test_warn_points_at_the_access_line(lib: Library) -> None:
    with pytest.warns(NPlusOneWarning) as caught, nplusone.detect(action="warn"):
        author_loop()
    (warning,) = caught.list
    site = marked_sites(author_loop)["access"]
    assert f"{warning.filename}:{warning.lineno}".endswith(site)
    assert 'select_related("author")' in str(warning.message)


def test_warn_with_warnings_as_errors_raises_at_exit(lib: Library) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", NPlusOneWarning)
        with pytest.raises(NPlusOneWarning), nplusone.detect(action="warn"):
            author_loop()


def test_raise_action(lib: Library) -> None:
    with pytest.raises(NPlusOneError) as raised, nplusone.detect(action="raise"):
        author_loop()
    assert [f.relation for f in raised.value.findings] == ["testapp.Book.author"]
    assert "fix: select_related" in str(raised.value)


def test_raise_action_never_hides_the_blocks_own_error(lib: Library) -> None:
    def failing() -> None:
        author_loop()
        raise KeyError("original")

    with pytest.raises(KeyError), nplusone.detect(action="raise"):
        failing()


def test_raise_action_ignores_unused_eager_loads(lib: Library) -> None:
    with nplusone.detect(action="raise") as report:
        list(Book.objects.select_related("author"))
    assert [f.kind for f in report.findings] == ["unused_eager"]


def test_log_action(lib: Library, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="dbtune.nplusone"), nplusone.detect():
        author_loop()
        list(Book.objects.select_related("publisher"))
    levels = {record.levelno: record.getMessage() for record in caplog.records}
    assert "assert book.author.name" in levels[logging.WARNING]
    assert 'select_related("author")' in levels[logging.WARNING]
    assert "Unused eager load" in levels[logging.INFO]


def test_none_action_is_silent(lib: Library, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="dbtune"), nplusone.detect(action="none"):
        author_loop()
    assert caplog.records == []


def test_unknown_action_is_refused() -> None:
    with pytest.raises(ValueError, match="action"):
        nplusone.detect(action="explode")


def test_signal_per_finding(lib: Library) -> None:
    received: list[tuple[Any, Finding]] = []

    def receiver(sender: Any, finding: Finding, report: Report, **kwargs: Any) -> None:
        received.append((sender, finding))

    nplusone.finding_detected.connect(receiver)
    try:
        with nplusone.detect(action="none"):
            author_loop()
            for author in Author.objects.all():
                list(author.books.all())
    finally:
        nplusone.finding_detected.disconnect(receiver)
    assert [f.relation for _, f in received] == ["testapp.Book.author", "testapp.Author.books"]
    assert all(sender is Finding for sender, _ in received)


def test_decorator_on_a_function(lib: Library) -> None:
    block = nplusone.detect(action="none")

    @block
    def task() -> int:
        author_loop()
        return 7

    assert task() == 7
    assert task() == 7


def test_decorator_on_a_coroutine_function(lib: Library) -> None:
    @nplusone.detect(action="raise")
    async def task() -> None:
        await sync_to_async(author_loop)()

    with pytest.raises(NPlusOneError):
        async_to_sync(task)()


def test_block_cannot_be_entered_twice() -> None:
    block = nplusone.detect(action="none")
    with block, pytest.raises(RuntimeError, match="already active"), block:
        pass


def test_run_returns_the_report(lib: Library) -> None:
    report = nplusone.run(author_loop)
    assert relations(report) == ["testapp.Book.author"]
    assert report.to_dict()["findings"][0]["fix"] == 'select_related("author")'


def test_message_shows_source_site_and_fix(lib: Library) -> None:
    report = nplusone.run(author_loop)
    (finding,) = report.findings
    sites = marked_sites(author_loop)
    message = finding.message()
    assert message.splitlines()[0] == "N+1 query: testapp.Book.author (6 queries on 'default')"
    assert f"at {sites['access']}:  assert book.author.name  # @access" in message
    assert f"queryset built at {sites['qs']}" in message
    assert message.splitlines()[-1] == '  fix: select_related("author")'
    assert finding.to_dict()["level"] == "warning"
    assert "N+1 query" in report.text()
