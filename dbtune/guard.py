"""The CI regression guard: record each test's queries, check them against snapshots.

Used by :mod:`dbtune.pytest_plugin` when ``--dbtune`` is on. Workers (pytest-xdist) and a
plain run behave the same way: each test is judged where it runs, against the committed
snapshot, and its record travels to the controller in ``report.user_properties``; only the
controller writes snapshot files, once, at the end of the session.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dbtune import snapshots
from dbtune.regressions import FAIL_ON_ALL, Change, compare, describe, failing

PROPERTY = "dbtune-record"


class GuardOptions:
    def __init__(self, config: Any) -> None:
        self.update = bool(config.getoption("dbtune_update", False))
        self.prune = bool(config.getoption("dbtune_prune", False))
        raw = str(config.getoption("dbtune_fail_on", None) or ",".join(FAIL_ON_ALL))
        self.fail_on = tuple(part.strip() for part in raw.split(",") if part.strip())
        self.json_path: str | None = config.getoption("dbtune_json", None)
        self.sarif_path: str | None = config.getoption("dbtune_sarif", None)
        self.ci = bool(os.environ.get("CI"))
        self.github = os.environ.get("GITHUB_ACTIONS") == "true"


def vendors(aliases: Iterable[str]) -> dict[str, str]:
    """``alias -> "vendor major"`` for the aliases a test used (``"postgresql 18"``)."""
    from django.db import connections

    out: dict[str, str] = {}
    for alias in aliases:
        connection = connections[alias]
        major = ""
        if connection.vendor == "postgresql":
            number = getattr(connection, "pg_version", None)
            major = str(number // 10000) if number else ""
        elif connection.vendor == "sqlite":
            import sqlite3

            major = sqlite3.sqlite_version.split(".")[0]
        out[alias] = f"{connection.vendor} {major}".strip()
    return out


class Guard:
    """Per-session state of the guard; one instance per pytest process."""

    def __init__(self, options: GuardOptions, rootdir: Path) -> None:
        self.options = options
        self.rootdir = rootdir
        self._snapshots: dict[Path, dict[str, Any]] = {}
        self.records: dict[str, tuple[Path, dict[str, Any], dict[str, str], bool]] = {}
        self.changes: list[Change] = []

    def snapshot(self, test_file: Path) -> dict[str, Any]:
        path = snapshots.snapshot_path(test_file)
        if path not in self._snapshots:
            self._snapshots[path] = snapshots.load(path)
        return self._snapshots[path]

    def judge(
        self,
        nodeid: str,
        test_file: Path,
        test_site: str,
        events: list[Any],
        findings: list[Any],
        max_queries: int | None = None,
    ) -> tuple[str | None, dict[str, Any]]:
        """Compare one test's queries with its snapshot.

        Returns ``(failure text or None, record JSON)``. The record JSON travels to the
        controller, which writes it when the snapshot is missing or ``--dbtune-update``.
        """
        records = snapshots.record_queries(events, findings)
        record_json = snapshots.records_to_json(records)
        problems: list[str] = []
        total = sum(r.total for r in records.values())
        if max_queries is not None and total > max_queries:
            problems.append(
                f"  {total} queries, over the budget of {max_queries} set by the marker"
            )
        stored = self.snapshot(test_file)["tests"].get(nodeid)
        if stored is None and not self.options.update and "n+1" in self.options.fail_on:
            for finding in findings:
                text = finding.message() if hasattr(finding, "message") else str(finding)
                problems.append(textwrap.indent(f"[{finding.alias}] {text}", "  "))
        if stored is None:
            if self.options.ci and not self.options.update:
                where = snapshots.snapshot_path(test_file)
                problems.append(
                    f"  no query snapshot for this test in {where} (CI is set, so it is not "
                    "created here); run `pytest --dbtune --dbtune-update` locally and commit it"
                )
        elif not self.options.update:
            changes = compare(nodeid, snapshots.records_from_json(stored), records)
            for change in changes:
                if change.site is None:
                    change.site = test_site
            self.changes.extend(changes)
            bad = failing(changes, self.options.fail_on)
            if bad:
                problems.append(describe(nodeid, bad).split("\n", 1)[1])
        if problems:
            return f"dbtune: query regression in {nodeid}\n" + "\n".join(problems), record_json
        return None, record_json

    def collect(
        self,
        nodeid: str,
        test_file: Path,
        record_json: dict[str, Any],
        dbs: dict[str, str],
        writable: bool = True,
    ) -> None:
        """Controller side: remember a record that arrived from a test report.

        ``writable`` is false for a test that failed the guard: its record appears in the
        JSON report but is never written into a snapshot file.
        """
        self.records[nodeid] = (test_file, record_json, dbs, writable)

    def write(self, collected: set[str] | None) -> list[Path]:
        """Write new records (and all, with ``--dbtune-update``); prune when asked.

        Records of tests that did not run are kept; with ``collected`` (a full run's node
        ids) records of tests that no longer exist are dropped.
        """
        by_file: dict[Path, dict[str, tuple[dict[str, Any], dict[str, str]]]] = {}
        for nodeid, (test_file, record, dbs, writable) in self.records.items():
            if writable:
                by_file.setdefault(test_file, {})[nodeid] = (record, dbs)
        written: list[Path] = []
        files = set(by_file)
        if collected is not None:
            files |= {p.parent.parent / f"{p.stem}.py" for p in self._existing_snapshot_files()}
        for test_file in sorted(files):
            path = snapshots.snapshot_path(test_file)
            document = snapshots.load(path)
            tests: dict[str, Any] = dict(document["tests"])
            changed = False
            databases: dict[str, str] = dict(document.get("header", {}).get("databases", {}))
            create = not self.options.ci or self.options.update
            for nodeid, (record, dbs) in by_file.get(test_file, {}).items():
                if self.options.update or (create and nodeid not in tests):
                    changed = changed or tests.get(nodeid) != record
                    tests[nodeid] = record
                    databases.update(dbs)
            if collected is not None:
                stale = [n for n in tests if n not in collected]
                for nodeid in stale:
                    del tests[nodeid]
                changed = changed or bool(stale)
            if changed and not tests:
                path.unlink(missing_ok=True)
                written.append(path)
            elif changed:
                snapshots.save(path, {"header": snapshots.header(databases), "tests": tests})
                written.append(path)
        return written

    def _existing_snapshot_files(self) -> list[Path]:
        return sorted(self.rootdir.rglob(f"{snapshots.SNAPSHOT_DIR}/*.json"))
