"""Snapshot records, comparison and CI renderings, on queries really captured on SQLite."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dbtune import ci_output, snapshots
from dbtune.capture import capture_queries
from dbtune.cli import main
from dbtune.regressions import compare, describe, failing
from tests.testapp.models import Author, Book

pytestmark = pytest.mark.django_db


def _library(n: int = 3) -> None:
    for i in range(n):
        Book.objects.create(title=f"b{i}", author=Author.objects.create(name=f"a{i}"))


def _record(fn: Any) -> dict[str, snapshots.AliasRecord]:
    with capture_queries() as queries:
        fn()
    return snapshots.record_queries(queries)


def _titles_naive() -> None:
    for book in Book.objects.all():
        book.author.name  # noqa: B018


def _titles_fixed() -> None:
    for book in Book.objects.select_related("author"):
        book.author.name  # noqa: B018


def test_record_counts_kinds_and_shapes_without_literals() -> None:
    _library()
    record = _record(_titles_naive)["default"]
    assert record.counts == {"select": 4}
    assert [s.count for s in record.shapes] == [1, 3]
    assert all("'" not in s.sql and "a0" not in s.sql for s in record.shapes)


def test_transaction_control_is_not_counted() -> None:
    from django.db import transaction

    def work() -> None:
        with transaction.atomic():
            Author.objects.create(name="x")

    record = _record(work)["default"]
    assert record.counts == {"insert": 1}


def test_json_round_trip_is_stable() -> None:
    _library()
    records = _record(_titles_naive)
    data = snapshots.records_to_json(records)
    again = snapshots.records_to_json(snapshots.records_from_json(json.loads(json.dumps(data))))
    assert again == data
    text = snapshots.dumps({"tests": {"t": data}})
    assert text.endswith("}\n")
    assert text == snapshots.dumps(json.loads(text))


def test_more_queries_and_new_shape_are_regressions() -> None:
    _library()
    old = _record(_titles_fixed)
    new = _record(_titles_naive)
    changes = compare("t::test", old, new)
    kinds = sorted(c.kind for c in failing(changes))
    assert kinds == ["count", "shape", "shape"]
    count = next(c for c in changes if c.kind == "count")
    assert count.message == "+3 queries (1 -> 4)"
    shape = next(c for c in changes if c.kind == "shape" and "testapp_author" in c.message)
    assert shape.site is not None
    assert shape.site.startswith("tests/test_snapshots.py:")
    assert "t::test" in describe("t::test", failing(changes))


def test_fewer_queries_are_an_improvement() -> None:
    _library()
    changes = compare("t", _record(_titles_naive), _record(_titles_fixed))
    assert not failing(changes)
    assert changes[0].message == "-3 queries (4 -> 1)"
    assert [c.kind for c in changes] == ["count", "shape"]


def test_in_list_length_does_not_change_the_shape() -> None:
    _library(5)
    ids = list(Book.objects.values_list("id", flat=True))
    old = _record(lambda: list(Book.objects.filter(id__in=ids[:2])))
    new = _record(lambda: list(Book.objects.filter(id__in=ids)))
    assert compare("t", old, new) == []


def test_github_annotations_are_capped_and_escaped() -> None:
    _library()
    changes = compare("t", _record(_titles_fixed), _record(_titles_naive)) * 6
    lines = ci_output.github_annotations(changes)
    assert len(lines) == ci_output.ANNOTATIONS_PER_LEVEL
    assert all(line.startswith("::error ") for line in lines)
    assert any("file=tests/test_snapshots.py,line=" in line for line in lines)
    assert all("\n" not in line for line in lines)


def test_sarif_has_one_result_per_regression() -> None:
    _library()
    changes = compare("t", _record(_titles_fixed), _record(_titles_naive))
    log = ci_output.sarif(changes, "0")
    assert log["version"] == "2.1.0"
    results = log["runs"][0]["results"]
    assert len(results) == len(failing(changes))
    rule_ids = {r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert {r["ruleId"] for r in results} <= rule_ids


def _report(tmp_path: Path, name: str, fn: Any) -> Path:
    records = snapshots.records_to_json(_record(fn))
    document = ci_output.json_report({"tests/x.py::t": records}, [], "0", "1")
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


def test_diff_command_exits_1_on_regression(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _library()
    base = _report(tmp_path, "base.json", _titles_fixed)
    head = _report(tmp_path, "head.json", _titles_naive)
    assert main(["diff", str(base), str(head)]) == 1
    assert "REGRESSION  tests/x.py::t [default] +3 queries (1 -> 4)" in capsys.readouterr().out
    assert main(["diff", str(head), str(base)]) == 0
    assert main(["diff", str(base), str(head), "--fail-on", "n+1"]) == 0


def test_diff_command_sarif_is_one_json_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _library()
    base = _report(tmp_path, "base.json", _titles_fixed)
    head = _report(tmp_path, "head.json", _titles_naive)
    capsys.readouterr()
    main(["diff", str(base), str(head), "--format", "sarif"])
    assert json.loads(capsys.readouterr().out)["version"] == "2.1.0"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(None, "no such file", id="missing"),
        pytest.param("{not json", "not a JSON dbtune report", id="not-json"),
        pytest.param("[]", "not a dbtune report", id="wrong-shape"),
    ],
)
def test_diff_bad_input_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, expected: str
) -> None:
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    assert main(["diff", str(bad), str(bad)]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert err.count("\n") == 1
