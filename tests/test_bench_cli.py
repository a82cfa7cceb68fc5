"""``dbtune bench``: bad input gets one error line and exit status 2 (no server needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

import dbtune.cli
from dbtune.bench import get_scenario, scenario_names


@pytest.fixture(autouse=True)
def _bench_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make sure ``bench`` is a subcommand, whether or not the CLI lists it already."""
    modules = dbtune.cli.SUBCOMMAND_MODULES
    if "dbtune.cli.bench" not in modules:
        monkeypatch.setattr(dbtune.cli, "SUBCOMMAND_MODULES", (*modules, "dbtune.cli.bench"))


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert dbtune.cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Traceback" not in captured.err
    errors = [line for line in captured.err.splitlines() if line.startswith("dbtune: error: ")]
    assert len(errors) == 1, captured.err
    assert captured.err.rstrip().endswith(errors[0])  # progress lines may come before it
    return errors[0]


def test_unknown_scenario(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    line = one_line_error(capsys, ["bench", "run", "--scenario", "nope", "--out", str(tmp_path)])
    assert "unknown scenario 'nope'" in line
    assert "calibrate, fixes, replicas, split" in line


def test_out_is_a_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("")
    line = one_line_error(capsys, ["bench", "run", "--scenario", "calibrate", "--out", str(target)])
    assert "is not a directory" in line


def test_out_is_missing(capsys: pytest.CaptureFixture[str]) -> None:
    assert "--out DIR" in one_line_error(capsys, ["bench", "run", "--scenario", "split"])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--set", "colour=blue"], "has no setting 'colour'"),
        (["--set", "noequals"], "use NAME=VALUE"),
        (["--runs", "0"], "--runs must be at least 1"),
        (["--rtt-ms", "-1"], "--rtt-ms must not be negative"),
    ],
    ids=["unknown-setting", "malformed-setting", "zero-runs", "negative-rtt"],
)
def test_bad_options(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, extra: list[str], message: str
) -> None:
    argv = ["bench", "run", "--scenario", "split", "--out", str(tmp_path), *extra]
    assert message in one_line_error(capsys, argv)


def test_user_servers_need_allow_writes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    argv = ["bench", "run", "--scenario", "calibrate", "--out", str(tmp_path)]
    line = one_line_error(capsys, [*argv, "--dsn", "postgresql://u@127.0.0.1:1/x"])
    assert "--allow-writes" in line


def test_split_on_user_servers_needs_every_service(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = ["bench", "run", "--scenario", "split", "--out", str(tmp_path), "--allow-writes"]
    argv += ["--dsn", "postgresql://u@127.0.0.1:1/x", "--service-dsn", "orders=postgresql://o"]
    assert "--service-dsn customers=DSN" in one_line_error(capsys, argv)


def test_report_without_results(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    line = one_line_error(capsys, ["bench", "report", "--out", str(tmp_path)])
    assert "cannot read" in line


def test_list_names_every_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert dbtune.cli.main(["bench", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("calibrate", "split", "fixes", "replicas"):
        assert out.count(name) >= 1


def test_scenarios_are_registered_with_one_line_summaries() -> None:
    assert {"calibrate", "fixes", "replicas", "split"} <= set(scenario_names())
    for name in scenario_names():
        scenario = get_scenario(name)
        assert scenario.name == name
        assert scenario.summary
        assert "\n" not in scenario.summary


def test_check_a_saved_run(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from dbtune.bench.results import write_results
    from dbtune.bench.runner import render
    from tests.test_bench_results import split_results

    results = split_results(0.8)
    render(results, tmp_path)
    write_results(results, tmp_path / "results.json")
    assert dbtune.cli.main(["bench", "check", "--out", str(tmp_path)]) == 0
    assert "results.json is sane" in capsys.readouterr().out
    results["points"][0]["runs"][0]["tps"] = -1
    write_results(results, tmp_path / "results.json")
    assert dbtune.cli.main(["bench", "check", "--out", str(tmp_path)]) == 1
    assert "is not positive" in capsys.readouterr().out
