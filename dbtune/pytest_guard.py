"""pytest hooks of the CI regression guard (``pytest --dbtune``), loaded by the plugin.

Per test (call phase only; setup and teardown are not counted unless
``--dbtune-include-setup``): capture every query and N+1 finding, compare with the committed
snapshot, fail on regressions. The record and the changes travel in
``report.user_properties`` so that with pytest-xdist the controller alone writes snapshot
files, the JSON and SARIF reports and the GitHub summary, once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

RECORD = "dbtune-record"
CHANGES = "dbtune-changes"
_GUARD = pytest.StashKey[Any]()
_WORKLOAD = pytest.StashKey[Any]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dbtune", "dbtune database checks")
    group.addoption(
        "--dbtune-update", action="store_true", help="rewrite query snapshots of the tests that ran"
    )
    group.addoption(
        "--dbtune-prune",
        action="store_true",
        help="remove snapshot records of tests that no longer exist (full runs only)",
    )
    group.addoption(
        "--dbtune-fail-on", default=None, help="regression kinds that fail a test: count,shape,n+1"
    )
    group.addoption(
        "--dbtune-json", default=None, metavar="FILE", help="write the query report as JSON"
    )
    group.addoption(
        "--dbtune-sarif", default=None, metavar="FILE", help="write regressions as SARIF 2.1.0"
    )
    group.addoption(
        "--dbtune-include-setup",
        action="store_true",
        help="count queries of fixtures' setup and teardown too",
    )
    group.addoption(
        "--dbtune-seqscan",
        action="store_true",
        help="PostgreSQL: fail on SELECTs whose filter no index can serve (EXPLAIN, seqscan off)",
    )
    group.addoption(
        "--dbtune-workload",
        default=None,
        metavar="FILE",
        help="write every captured query as a capture file for `dbtune advise indexes`",
    )
    group.addoption(
        "--dbtune-workload-params",
        action="store_true",
        help="keep a few real parameter sets per statement in the --dbtune-workload file",
    )
    parser.addini("dbtune", type="bool", default=False, help="run pytest as if --dbtune was given")


def enabled(config: pytest.Config) -> bool:
    return bool(config.getoption("dbtune", False) or config.getini("dbtune"))


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _partial_run(config: pytest.Config) -> bool:
    option = config.option
    narrowed = any(
        getattr(option, name, None)
        for name in ("keyword", "markexpr", "lf", "deselect", "failedfirst")
    )
    return narrowed or any("::" in str(arg) for arg in config.args) or _is_worker(config)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if not enabled(config):
        return
    from dbtune.guard import Guard, GuardOptions

    options = GuardOptions(config)
    if options.prune and _partial_run(config) and not _is_worker(config):
        raise pytest.UsageError(
            "--dbtune-prune needs a full run: it would delete records of tests this run did "
            "not select (-k, -m, --lf, --deselect or node ids given)"
        )
    if config.getoption("dbtune_nplusone", "fail") != "fail":
        options.fail_on = tuple(kind for kind in options.fail_on if kind != "n+1")
    config.stash[_GUARD] = Guard(options, Path(str(config.rootpath)))
    if config.getoption("dbtune_workload"):
        from dbtune.workload_file import WorkloadWriter

        keep = bool(config.getoption("dbtune_workload_params"))
        config.stash[_WORKLOAD] = WorkloadWriter(keep_params=keep)


def guard_active(config: pytest.Config) -> bool:
    """True when the guard judges this session (N+1 findings included)."""
    return _GUARD in config.stash


def _site(item: pytest.Item) -> str:
    path, line, _ = item.location
    return f"{path}:{(line or 0) + 1}"


def marker_options(item: pytest.Item) -> dict[str, Any]:
    """The keyword arguments of the test's ``@pytest.mark.dbtune(...)`` (``{}`` without)."""
    marker = item.get_closest_marker("dbtune")
    return dict(marker.kwargs) if marker is not None else {}


def django_ready() -> bool:
    try:
        from django.conf import settings
    except ImportError:
        return False
    return bool(settings.configured)


def _seqscans(item: pytest.Item, queries: list[Any]) -> str | None:
    if not item.config.getoption("dbtune_seqscan"):
        return None
    from dbtune.seqscan import explain_filtered_seqscans

    scans = explain_filtered_seqscans(queries)
    if not scans:
        return None
    lines = [f"dbtune: unindexed filter in {item.nodeid}"]
    lines += [f"  [{scan.alias}] {scan.message()}" for scan in scans]
    return "\n".join(lines)


def _judge(item: pytest.Item, queries: list[Any], findings: list[Any]) -> None:
    guard = item.config.stash[_GUARD]
    max_queries = marker_options(item).get("max_queries")
    path = Path(str(item.path))
    failure, record = guard.judge(item.nodeid, path, _site(item), queries, findings, max_queries)
    scans = _seqscans(item, queries)
    if scans:
        failure = f"{failure}\n{scans}" if failure else scans
    from dbtune.guard import vendors

    databases = vendors({q.alias for q in queries})
    # a failing test's record goes to the reports but never into a snapshot file, where it
    # would accept the regression silently
    writable = failure is None or guard.options.update
    payload = [str(path), record, databases, writable]
    item.user_properties.append((RECORD, json.dumps(payload)))
    mine = [c.to_json() for c in guard.changes if c.test == item.nodeid]
    item.user_properties.append((CHANGES, json.dumps(mine)))
    if failure:
        pytest.fail(failure, pytrace=False)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    kwargs = marker_options(item)
    if _GUARD not in item.config.stash or not django_ready() or kwargs.get("ignore", False):
        return (yield)
    from dbtune.capture import capture_queries
    from dbtune.nplusone import detect

    allow = tuple(kwargs.get("allow", ()))
    opted_out = kwargs.get("nplusone", True) is False
    if opted_out or "dbtune_nplusone" in getattr(item, "fixturenames", ()):
        allow = (*allow, "*")  # opted out, or the test checks its N+1 report itself
    threshold = kwargs.get("threshold", item.config.getoption("dbtune_threshold", None))
    keep = bool(item.config.getoption("dbtune_seqscan")) or bool(
        item.config.getoption("dbtune_workload_params")
    )
    with (
        capture_queries(keep_params=keep) as queries,
        detect(threshold, action="none", allow=allow) as report,
    ):
        outcome = yield
    if item.config.getoption("dbtune_include_setup"):
        events = [*item.stash.get(_SETUP_QUERIES, []), *queries]
    else:
        events = list(queries)
    writer = item.config.stash.get(_WORKLOAD, None)
    if writer is not None:
        writer.add(events)
    if events or report.problems:
        _judge(item, events, list(report.problems))
    return outcome


_SETUP_QUERIES = pytest.StashKey[list[Any]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    if _GUARD not in item.config.stash or not item.config.getoption("dbtune_include_setup"):
        return (yield)
    if not django_ready():
        return (yield)
    from dbtune.capture import capture_queries

    with capture_queries() as queries:
        outcome = yield
    item.stash[_SETUP_QUERIES] = list(queries)
    return outcome


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    guard = _controller_guard()
    if guard is None or report.when != "call":
        return
    for name, value in report.user_properties:
        if name == RECORD:
            path, record, databases, writable = json.loads(str(value))
            guard.collect(report.nodeid, Path(path), record, databases, writable)
        elif name == CHANGES:
            from dbtune.regressions import Change

            known = {(c.test, c.alias, c.kind, c.message) for c in guard.changes}
            for data in json.loads(str(value)):
                change = Change(
                    data["test"],
                    data["alias"],
                    data["kind"],
                    data["level"] == "regression",
                    data["message"],
                    data["site"],
                    data["before"],
                    data["after"],
                )
                if (change.test, change.alias, change.kind, change.message) not in known:
                    guard.changes.append(change)


_CONTROLLER: list[Any] = []


def _controller_guard() -> Any:
    return _CONTROLLER[0] if _CONTROLLER else None


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    guard = session.config.stash.get(_GUARD, None)
    _CONTROLLER.clear()
    if guard is not None and not _is_worker(session.config):
        _CONTROLLER.append(guard)


def _write_workload(config: pytest.Config) -> None:
    writer = config.stash.get(_WORKLOAD, None)
    target = config.getoption("dbtune_workload", None)
    if writer is None or not target:
        return
    path = Path(target)
    if _is_worker(config):
        worker = getattr(config, "workerinput", {}).get("workerid", "w")
        writer.write(path.with_name(f".{path.name}.{worker}.part"))
        return
    from dbtune.workload_file import merge_parts

    merge_parts(writer, path)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _write_workload(session.config)
    guard = _controller_guard()
    if guard is None or _is_worker(session.config):
        return
    from dbtune import __version__, ci_output
    from dbtune.sql import NORMALIZER_VERSION

    collected = {item.nodeid for item in session.items} if guard.options.prune else None
    guard.written = guard.write(collected)
    tests = {nodeid: record for nodeid, (_, record, _, _) in guard.records.items()}
    if guard.options.json_path:
        document = ci_output.json_report(tests, guard.changes, __version__, NORMALIZER_VERSION)
        Path(guard.options.json_path).write_text(
            json.dumps(document, indent=2, sort_keys=True) + "\n"
        )
    if guard.options.sarif_path:
        log = ci_output.sarif(guard.changes, __version__)
        Path(guard.options.sarif_path).write_text(json.dumps(log, indent=2) + "\n")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if guard.options.github and summary:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(ci_output.markdown_summary(guard.changes, _top(tests)))


def _top(tests: dict[str, Any], n: int = 10) -> list[tuple[str, int]]:
    totals = {t: sum(r.get("total", 0) for r in aliases.values()) for t, aliases in tests.items()}
    return sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    guard = _controller_guard()
    if guard is None:
        return
    from dbtune import ci_output

    tests = {nodeid: record for nodeid, (_, record, _, _) in guard.records.items()}
    write = terminalreporter.write_line
    terminalreporter.section("dbtune query report")
    regressions = [c for c in guard.changes if c.regression]
    improvements = [c for c in guard.changes if not c.regression]
    write(
        f"{len(tests)} tests touched a database; "
        f"{len(regressions)} regressions, {len(improvements)} improvements"
    )
    for test, count in _top(tests, 5):
        write(f"  {count:>6} queries  {test}")
    for change in regressions:
        write(f"  REGRESSION  {change.test} [{change.alias}] {change.message}")
    for change in improvements:
        write(f"  improvement {change.test} [{change.alias}] {change.message}")
    if improvements and not guard.options.update:
        write("  run `pytest --dbtune --dbtune-update` to record the improvements")
    for path in getattr(guard, "written", []):
        write(f"  wrote {os.path.relpath(path)}")
    if guard.options.github:
        for line in ci_output.github_annotations(guard.changes):
            write(line)
