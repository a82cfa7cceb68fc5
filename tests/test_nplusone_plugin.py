"""The pytest plugin: ``--dbtune`` fails tests with N+1 queries, the report fixture, the
``dbtune`` marker, and unused eager loads aggregated over the whole session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent

INNER = """
import pytest
from tests.testapp.models import Author, Book

pytestmark = pytest.mark.django_db


@pytest.fixture
def data():
    for name in ("a", "b", "c"):
        Book.objects.create(title=name, author=Author.objects.create(name=name))


def load_with_author():
    return list(Book.objects.select_related("author"))


def load_with_mentor():
    return list(Author.objects.select_related("mentor"))


def test_nplusone(data):
    for book in Book.objects.all():
        book.author.name


def test_clean(data):
    for book in load_with_author():
        book.author.name


def test_uses_nothing(data):
    load_with_author()
    load_with_mentor()


@pytest.mark.dbtune(allow=["testapp.Book.author"])
def test_allowed(data):
    for book in Book.objects.all():
        book.author.name


@pytest.mark.dbtune(nplusone=False)
def test_opted_out(data):
    for book in Book.objects.all():
        book.author.name


@pytest.mark.dbtune(threshold=4)
def test_below_threshold(data):
    for book in Book.objects.all():
        book.author.name


def test_fixture(data, dbtune_nplusone):
    for book in Book.objects.all():
        book.author.name
    assert [f.relation for f in dbtune_nplusone.findings] == ["testapp.Book.author"]
"""


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "tests.settings")
    for name in ("CI", "GITHUB_ACTIONS"):  # the snapshot guard refuses new snapshots in CI
        monkeypatch.delenv(name, raising=False)
    pytester.makepyfile(test_inner=INNER)
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # With --dbtune the snapshot guard is on too and judges N+1s: with no snapshot yet,
    # every N+1 fails with the finding's full message.
    return pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider", *args)


def test_without_the_option_nothing_fails(inner: pytest.Pytester) -> None:
    result = run(inner)
    result.assert_outcomes(passed=7)


def test_dbtune_option_fails_the_nplusone_test(inner: pytest.Pytester) -> None:
    result = run(inner, "--dbtune")
    result.assert_outcomes(passed=6, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_nplusone*",
            "*N+1 query: testapp.Book.author (3 queries on 'default')*",
            "*at test_inner.py:*book.author.name*",
            '*fix: select_related("author")*',
        ]
    )
    assert "load_with_author" not in result.stdout.str().split("eager loads no test used")[-1]
    result.stdout.fnmatch_lines(
        ["*dbtune: eager loads no test used*", '*fix: remove "mentor" from select_related()*']
    )


def test_warn_mode(inner: pytest.Pytester) -> None:
    result = run(inner, "--dbtune", "--dbtune-nplusone=warn")
    result.assert_outcomes(passed=7, warnings=1)


def test_unused_eager_loads_can_fail_the_session(inner: pytest.Pytester) -> None:
    result = run(inner, "--dbtune", "--dbtune-nplusone=off", "--dbtune-unused=fail")
    result.assert_outcomes(passed=7)
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_recording_snapshots_never_fails_on_nplusone(inner: pytest.Pytester) -> None:
    result = run(inner, "--dbtune", "--dbtune-update", "--dbtune-unused=off")
    result.assert_outcomes(passed=7)
    assert (inner.path / "__dbtune__" / "test_inner.json").exists()


def test_threshold_option(inner: pytest.Pytester) -> None:
    result = run(inner, "--dbtune", "--dbtune-threshold=4", "--dbtune-unused=off")
    result.assert_outcomes(passed=7)


def test_ini_switch_and_ignore_marker(inner: pytest.Pytester) -> None:
    inner.makeini("[pytest]\ndbtune = true\n")
    inner.makepyfile(
        test_ignored="""
import pytest
from tests.testapp.models import Author, Book

@pytest.mark.django_db
@pytest.mark.dbtune(ignore=True)
def test_ignored():
    for name in ("a", "b"):
        Book.objects.create(title=name, author=Author.objects.create(name=name))
    for book in Book.objects.all():
        book.author.name
"""
    )
    result = run(inner, "--dbtune-unused=off")
    result.assert_outcomes(passed=7, failed=1)
    result.stdout.fnmatch_lines(["*test_inner.py::test_nplusone*"])


def test_importing_the_plugin_does_not_import_django() -> None:
    code = "import sys, dbtune.pytest_plugin; print('django' in sys.modules)"
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert output.stdout.strip() == "False"
