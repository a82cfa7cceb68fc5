"""The CI regression guard end to end: real pytest runs (pytester) on a small test module."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent

TEST_MODULE = """
import pytest
from tests.testapp.models import Author, Book


@pytest.fixture
def library(db):
    for i in range(4):
        Book.objects.create(title=f"zebra{{i}}", author=Author.objects.create(name=f"okapi{{i}}"))


def test_titles(library):
    titles = [b.title for b in Book.objects.order_by("id")]
    {extra}
    assert len(titles) == 4


def test_authors(library):
    names = [b.author.name for b in Book.objects.{authors_qs}]
    assert len(names) == 4


def test_no_database():
    assert 1 + 1 == 2
"""


def _module(extra: str = "pass", authors_qs: str = 'select_related("author")') -> str:
    return TEST_MODULE.format(extra=extra, authors_qs=authors_qs)


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    for name in ("CI", "GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "tests.settings")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\n")
    pytester.makepyfile(test_shop=_module())
    return pytester


def _run(project: pytest.Pytester, *args: str, seed: int | None = None) -> pytest.RunResult:
    order = ["-p", "no:randomly"] if seed is None else [f"--randomly-seed={seed}"]
    return project.runpytest_subprocess("--dbtune", *order, *args)


def _snapshot(project: pytest.Pytester) -> dict[str, object]:
    data: dict[str, object] = json.loads(
        (project.path / "__dbtune__" / "test_shop.json").read_text()
    )
    return data


def test_first_run_records_snapshot(project: pytest.Pytester) -> None:
    result = _run(project)
    result.assert_outcomes(passed=3)
    snapshot = _snapshot(project)
    tests = snapshot["tests"]
    assert isinstance(tests, dict)
    assert sorted(tests) == ["test_shop.py::test_authors", "test_shop.py::test_titles"]
    header = snapshot["header"]
    assert isinstance(header, dict)
    assert header["databases"] == {"default": header["databases"]["default"]}
    assert str(header["databases"]["default"]).startswith("sqlite")
    text = (project.path / "__dbtune__" / "test_shop.json").read_text()
    assert text.endswith("}\n")
    assert "zebra" not in text
    assert "okapi" not in text


def test_added_query_fails_with_count_shape_and_site(project: pytest.Pytester) -> None:
    _run(project).assert_outcomes(passed=3)
    project.makepyfile(test_shop=_module(extra="Author.objects.filter(name='x').exists()"))
    result = _run(project)
    result.assert_outcomes(passed=2, failed=1)
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "*dbtune: query regression in test_shop.py::test_titles*",
            "*[[]default] +1 query (1 -> 2)*",
            "*[[]default] new query shape at test_shop.py:1[0-9] (x1): SELECT*testapp_author*",
        ]
    )


def test_added_n_plus_one_fails_with_the_fix(project: pytest.Pytester) -> None:
    _run(project).assert_outcomes(passed=3)
    project.makepyfile(test_shop=_module(authors_qs="all()"))
    result = _run(project)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*query regression in test_shop.py::test_authors*",
            "*+4 queries (1 -> 5)*",
            "*new N+1: testapp.Book.author loaded 4 times at test_shop.py:*"
            ' fix: select_related("author")*',
        ]
    )


def test_removed_query_passes_as_improvement(project: pytest.Pytester) -> None:
    project.makepyfile(test_shop=_module(authors_qs="all()"))
    _run(project, "--dbtune-update").assert_outcomes(passed=3)
    project.makepyfile(test_shop=_module())
    result = _run(project)
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        ["*improvement test_shop.py::test_authors [[]default] -4 queries (5 -> 1)*"]
    )


def test_missing_snapshot_fails_in_ci(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    result = _run(project)
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*no query snapshot for this test*--dbtune-update*"])
    assert not (project.path / "__dbtune__").exists()


def test_github_annotations_and_summary(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(project).assert_outcomes(passed=3)
    summary = project.path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    project.makepyfile(test_shop=_module(extra="Author.objects.count()"))
    result = _run(project)
    result.stdout.fnmatch_lines(
        ["::error file=test_shop.py,line=1*,title=dbtune%3A test_shop.py%3A%3Atest_titles::*"]
    )
    assert "## dbtune query report" in summary.read_text()


def test_json_and_sarif_reports(project: pytest.Pytester) -> None:
    _run(project).assert_outcomes(passed=3)
    project.makepyfile(test_shop=_module(extra="Author.objects.count()"))
    result = _run(project, "--dbtune-json", "report.json", "--dbtune-sarif", "report.sarif")
    assert result.ret == 1
    report = json.loads((project.path / "report.json").read_text())
    assert report["summary"]["regressions"] >= 1
    assert set(report["tests"]) == {"test_shop.py::test_titles", "test_shop.py::test_authors"}
    sarif = json.loads((project.path / "report.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} == {
        "dbtune/query-count",
        "dbtune/new-query-shape",
    }


def test_update_keeps_records_of_tests_not_run(project: pytest.Pytester) -> None:
    _run(project).assert_outcomes(passed=3)
    _run(project, "--dbtune-update", "-k", "titles").assert_outcomes(passed=1, deselected=2)
    tests = _snapshot(project)["tests"]
    assert isinstance(tests, dict)
    assert "test_shop.py::test_authors" in tests


def test_prune_refuses_partial_runs(project: pytest.Pytester) -> None:
    result = _run(project, "--dbtune-prune", "-k", "titles")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--dbtune-prune needs a full run*"])


def test_prune_removes_stale_records(project: pytest.Pytester) -> None:
    _run(project).assert_outcomes(passed=3)
    project.makepyfile(test_shop=_module().replace("def test_titles", "def test_renamed"))
    _run(project, "--dbtune-prune").assert_outcomes(passed=3)
    tests = _snapshot(project)["tests"]
    assert isinstance(tests, dict)
    assert sorted(tests) == ["test_shop.py::test_authors", "test_shop.py::test_renamed"]


def test_marker_budget_and_ignore(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_marked="""
import pytest
from tests.testapp.models import Author


@pytest.mark.dbtune(max_queries=1)
@pytest.mark.django_db
def test_over_budget():
    Author.objects.create(name="x")
    Author.objects.count()


@pytest.mark.dbtune(ignore=True)
@pytest.mark.django_db
def test_ignored():
    Author.objects.count()
"""
    )
    result = _run(project, "test_marked.py")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*2 queries, over the budget of 1 set by the marker*"])


def test_random_order_and_xdist_are_stable(project: pytest.Pytester) -> None:
    _run(project).assert_outcomes(passed=3)
    before = (project.path / "__dbtune__" / "test_shop.json").read_text()
    for seed in (1, 2, 3):
        _run(project, seed=seed).assert_outcomes(passed=3)
    xdist = _run(project, "-n", "2", "-p", "no:benchmark")
    xdist.assert_outcomes(passed=3)
    assert (project.path / "__dbtune__" / "test_shop.json").read_text() == before


def test_workload_file_feeds_the_index_advisor(project: pytest.Pytester) -> None:
    from dbtune.advisors.workload import CaptureFile

    _run(project, "--dbtune-workload", "w.jsonl").assert_outcomes(passed=3)
    lines = (project.path / "w.jsonl").read_text().splitlines()
    assert '"kind": "capture"' in lines[0]
    assert all("param_sets" not in line for line in lines)
    assert "zebra" not in "".join(lines)
    _run(project, "--dbtune-workload", "p.jsonl", "--dbtune-workload-params").assert_outcomes(
        passed=3
    )
    assert "param_sets" in (project.path / "p.jsonl").read_text()
    source = CaptureFile(project.path / "w.jsonl")
    assert source.problems == []
