"""pytest plugin (entry point ``pytest11: dbtune``).

Loaded in every pytest session where dbtune is installed, so importing it must be cheap and
must not import Django: everything Django-related is imported inside hooks and fixtures.
It also loads the CI regression guard (:mod:`dbtune.pytest_guard`: query snapshots).

- ``dbtune_queries``: every query a test runs, as :class:`dbtune.QueryEvent` objects.
- ``dbtune_nplusone``: the :class:`dbtune.nplusone.Report` of the test body (live while the
  test runs, final after it); a test using it asserts on it and is not failed by ``--dbtune``.
- ``pytest --dbtune`` (or ``dbtune = true`` in the ini file): each test body runs under N+1
  detection and a test with an N+1 fails (``--dbtune-nplusone=warn`` warns instead, ``off``
  skips the check; ``--dbtune-update``, which records snapshots, never fails on them); the
  guard also checks query snapshots. Unused eager loads are
  aggregated over the whole session first (an eager load that any test reads is used) and
  listed at the end; ``--dbtune-unused=fail`` fails the session on them.
- ``@pytest.mark.dbtune(allow=[...], nplusone=True, threshold=None, ignore=False,
  max_queries=None)``: patterns to allow, opt out of the N+1 check, threshold; ``ignore``
  skips every dbtune check and ``max_queries`` is the guard's budget.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from dbtune.capture import QueryEvent
    from dbtune.nplusone import EagerUse, Finding, Report

pytest_plugins = ["dbtune.pytest_guard"]

_MARKER = (
    "dbtune(allow=(), nplusone=True, threshold=None, ignore=False, max_queries=None): "
    "dbtune options for one test: N+1 patterns to allow, opt out of the N+1 check, "
    "N+1 threshold, skip all dbtune checks, query budget"
)


class _State:
    """What ``--dbtune`` collects over one pytest session."""

    def __init__(self, config: pytest.Config) -> None:
        self.enabled = bool(config.getoption("dbtune", False) or _ini(config))
        self.mode = str(config.getoption("dbtune_nplusone", "fail"))
        if config.getoption("dbtune_update", False) and self.mode == "fail":
            self.mode = "off"  # recording snapshots: N+1 groups go into them, nothing fails
        self.unused_mode = str(config.getoption("dbtune_unused", "report"))
        self.threshold: int | None = config.getoption("dbtune_threshold", None)
        self.eager: list[EagerUse] = []


_STATE_KEY = pytest.StashKey[_State]()
_PROBLEMS_KEY = pytest.StashKey[list["Finding"]]()


def _ini(config: pytest.Config) -> bool:
    try:
        return bool(config.getini("dbtune"))
    except ValueError:  # the guard (which declares the ini key) is not loaded
        return False


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dbtune", "dbtune database checks")
    group.addoption(
        "--dbtune",
        action="store_true",
        default=False,
        help="check every test for N+1 queries and against its query snapshot",
    )
    group.addoption(
        "--dbtune-nplusone",
        choices=("fail", "warn", "off"),
        default="fail",
        help="with --dbtune: fail (default), warn about, or ignore tests with N+1 queries",
    )
    group.addoption(
        "--dbtune-unused",
        choices=("report", "fail", "off"),
        default="report",
        help="with --dbtune: list (default) or fail on eager loads no test ever used",
    )
    group.addoption(
        "--dbtune-threshold",
        type=int,
        default=None,
        help="with --dbtune: repetitions that make an N+1 (default: the settings, 2)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", _MARKER)
    config.stash[_STATE_KEY] = _State(config)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    state = item.config.stash.get(_STATE_KEY, None)
    from dbtune.pytest_guard import django_ready, marker_options  # registered by then

    options = marker_options(item)
    checked = options.get("nplusone", True) and not options.get("ignore", False)
    if state is None or not state.enabled or not checked or not django_ready():
        return (yield)
    from dbtune.nplusone import detect

    threshold = options.get("threshold", state.threshold)
    allow = tuple(options.get("allow", ()))
    with detect(threshold, action="none", allow=allow) as report:
        outcome = yield
    state.eager.extend(report.eager)
    if "dbtune_nplusone" not in getattr(item, "fixturenames", ()):
        _judge(item, state, report)  # a test asking for the report checks it itself
    return outcome


def _judge(item: pytest.Item, state: _State, report: Report) -> None:
    problems = report.problems
    if not problems or state.mode == "off":
        return
    if state.mode == "fail":
        from dbtune.pytest_guard import guard_active

        if guard_active(item.config):
            return  # the snapshot guard judges N+1s (new or grown ones fail)
        item.stash[_PROBLEMS_KEY] = problems  # failed in makereport: other hooks still run
        return
    import warnings

    from dbtune.nplusone import NPlusOneWarning

    for finding in problems:
        warnings.warn_explicit(
            finding.message(),
            NPlusOneWarning,
            finding.filename or "<dbtune>",
            finding.lineno or 1,
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    problems = item.stash.get(_PROBLEMS_KEY, None)
    if call.when == "call" and problems and report.passed:
        report.outcome = "failed"
        report.longrepr = "dbtune found N+1 queries in this test:\n\n" + "\n\n".join(
            finding.message() for finding in problems
        )
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash.get(_STATE_KEY, None)
    if state is None or not state.enabled or state.unused_mode != "fail":
        return
    if _unused(state) and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _unused(state: _State) -> list[Finding]:
    if not state.eager or state.unused_mode == "off":
        return []
    from dbtune.nplusone.eager import unused_findings

    return unused_findings(state.eager)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(_STATE_KEY, None)
    if state is None or not state.enabled:
        return
    unused = _unused(state)
    if not unused:
        return
    terminalreporter.section("dbtune: eager loads no test used")
    for finding in unused:
        terminalreporter.write_line(finding.message())


@pytest.fixture
def dbtune_queries() -> Iterator[list[QueryEvent]]:
    """Every query the test runs, on every alias, as :class:`dbtune.QueryEvent` objects."""
    from dbtune.capture import capture_queries

    with capture_queries() as queries:
        yield queries


@pytest.fixture
def dbtune_nplusone(request: pytest.FixtureRequest) -> Iterator[Report]:
    """N+1 detection around the rest of the test: a live :class:`dbtune.nplusone.Report`.

    Honours ``@pytest.mark.dbtune(allow=[...], threshold=N)``; never fails the test by
    itself (assert on ``report.findings``).
    """
    from dbtune.nplusone import detect
    from dbtune.pytest_guard import marker_options

    options = marker_options(request.node)
    allow = tuple(options.get("allow", ()))
    with detect(options.get("threshold"), action="none", allow=allow) as report:
        yield report
