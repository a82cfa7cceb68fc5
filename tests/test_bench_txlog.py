"""pgbench per-transaction logs and the statistics computed from them (pure, no server)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from dbtune.bench.stats import crossover, latency_summary, percentile, spread
from dbtune.bench.txlog import (
    LogFormatError,
    log_files,
    parse_lines,
    read_logs,
    write_line,
)


def test_successful_lines_become_latencies_per_script() -> None:
    log = parse_lines(
        [
            "0 1 1500 0 1700000000 100000",
            "1 1 2500 1 1700000000 200000",
            "0 2 500 0 1700000001 0",
        ]
    )
    assert log.latencies_ms == [1.5, 2.5, 0.5]
    assert log.by_script == {0: [1.5, 0.5], 1: [2.5]}
    assert log.succeeded == 3
    assert log.failed == 0
    assert log.first_end == pytest.approx(1700000000.1)
    assert log.last_end == pytest.approx(1700000001.0)


@pytest.mark.parametrize(
    ("word", "kind"),
    [("serialization", "serialization"), ("deadlock", "deadlock"), ("failed", "other")],
    ids=["serialization", "deadlock", "failed-without-details"],
)
def test_failed_transactions_are_counted_by_kind(word: str, kind: str) -> None:
    log = parse_lines([f"3 7 {word} 0 1700000000 5", "3 8 900 0 1700000000 9"])
    assert log.failures == {kind: 1}
    assert log.latencies_ms == [0.9]


def test_retries_column_with_max_tries() -> None:
    log = parse_lines(["0 1 1000 0 1 0 2", "0 2 serialization 0 1 5 1"], with_retries=True)
    assert log.retries == 3
    assert log.failures["serialization"] == 1


def test_schedule_lag_column_and_skipped_transactions() -> None:
    log = parse_lines(["0 1 1000 0 1 0 250", "0 2 skipped 0 1 5 0"], with_lag=True)
    assert log.skipped == 1
    assert log.latencies_ms == [1.0]


@pytest.mark.parametrize(
    "line",
    ["0 1 1000 0 1", "0 1 abc 0 1 0", "x 1 1000 0 1 0", "0 1 1000 0 1 0 7"],
    ids=["too-few-columns", "unknown-time", "bad-client", "unexpected-column"],
)
def test_malformed_lines_raise(line: str) -> None:
    with pytest.raises(LogFormatError):
        parse_lines([line])


def test_read_logs_merges_thread_files_and_names_bad_line(tmp_path: Path) -> None:
    (tmp_path / "pgbench_log.42").write_text("0 1 1000 0 1 0\n")
    (tmp_path / "pgbench_log.42.1").write_text("1 1 3000 0 1 1\n\n")
    (tmp_path / "other.txt").write_text("ignored\n")
    files = log_files(tmp_path)
    assert [path.name for path in files] == ["pgbench_log.42", "pgbench_log.42.1"]
    assert read_logs(files).latencies_ms == [1.0, 3.0]
    (tmp_path / "pgbench_log.42.2").write_text("0 1 1000 0 1 0\nbroken\n")
    with pytest.raises(LogFormatError, match=r"pgbench_log\.42\.2:2"):
        read_logs(log_files(tmp_path))


def test_driver_lines_round_trip_through_the_parser() -> None:
    handle = io.StringIO()
    write_line(handle, 2, 1, 3, 1234, 1700000000.25)
    write_line(handle, 2, 2, 0, "deadlock", 1700000000.5)
    log = parse_lines(handle.getvalue().splitlines())
    assert log.by_script == {3: [1.234]}
    assert log.failures == {"deadlock": 1}
    assert log.last_end == pytest.approx(1700000000.5)


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([1.0], 99, 1.0),
        ([1.0, 2.0], 50, 1.5),
        ([1.0, 2.0, 3.0, 4.0, 5.0], 50, 3.0),
        ([1.0, 2.0, 3.0, 4.0, 5.0], 95, 4.8),
        (list(map(float, range(1, 101))), 99, 99.01),
        ([10.0, 20.0], 0, 10.0),
        ([10.0, 20.0], 100, 20.0),
    ],
    ids=["single", "two-median", "odd-median", "p95-interpolated", "p99-of-100", "min", "max"],
)
def test_percentile_interpolates_between_ranks(
    values: list[float], q: float, expected: float
) -> None:
    assert percentile(values, q) == pytest.approx(expected)


def test_percentile_rejects_empty_and_out_of_range() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0], 101)


def test_latency_summary_is_ordered_and_uses_population_stddev() -> None:
    summary = latency_summary([4.0, 2.0, 2.0, 4.0])
    assert summary is not None
    assert summary["avg"] == 3.0
    assert summary["stddev"] == 1.0
    assert summary["p50"] <= summary["p95"] <= summary["p99"] <= summary["max"] == 4.0
    assert latency_summary([]) is None


def test_spread_is_median_and_range_ignoring_missing_runs() -> None:
    found = spread([100.0, None, 90.0, 110.0])
    assert found == {"median": 100.0, "min": 90.0, "max": 110.0, "spread_pct": 20.0, "n": 3}
    assert spread([None]) is None


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([10.0, 10.0, 10.0], [5.0, 6.0, 7.0], (None, "a_always")),
        ([10.0, 10.0, 10.0], [12.0, 11.0, 10.0], (None, "b_always")),
        ([10.0, 10.0, 10.0], [12.0, 8.0, 6.0], (0.05, "b_wins_below")),
        ([10.0, 10.0, 10.0], [6.0, 8.0, 12.0], (0.15, "b_wins_above")),
    ],
    ids=["a-always", "b-always-with-tie", "b-wins-at-small-x", "b-wins-at-large-x"],
)
def test_crossover_is_interpolated(
    a: list[float], b: list[float], expected: tuple[float | None, str]
) -> None:
    where, kind = crossover([0.0, 0.1, 0.2], a, b)
    assert kind == expected[1]
    if expected[0] is None:
        assert where is None
    else:
        assert where == pytest.approx(expected[0])
