"""Reads survive a replica that dies under load: automatic failover on real replicas."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest
from django.db import connections

from dbtune.routing import MONITOR, tokens
from dbtune.routing.reroute import connection_lost
from tests.test_routing import db, replica_aliases, routed, routing  # noqa: F401  # fixtures
from tests.testapp.models import Author

pytestmark = [pytest.mark.postgres, pytest.mark.replicas]

ROWS = 20


def _scans(node: Any) -> int:
    """Sequential scans of the author table counted on ``node`` (a lab replica)."""
    with psycopg.connect(node.dsn("test_dbtune"), autocommit=True) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(seq_scan), 0) FROM pg_stat_user_tables "
            "WHERE relname = 'testapp_author'"
        ).fetchone()
    return int(row[0]) if row else 0


class Readers:
    """Threads reading every author in a loop; each failure is kept, never raised."""

    def __init__(self, count: int) -> None:
        self.failures: list[str] = []
        self.reads = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run) for _ in range(count)]

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    names = list(Author.objects.values_list("name", flat=True))
                    if len(names) != ROWS:
                        raise AssertionError(f"read {len(names)} rows, expected {ROWS}")
                except Exception as exc:
                    with self._lock:
                        self.failures.append(f"{type(exc).__name__}: {exc}")
                else:
                    with self._lock:
                        self.reads += 1
        finally:
            connections.close_all()

    def __enter__(self) -> Readers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def count(self) -> int:
        with self._lock:
            return self.reads


def wait_for_reads(readers: Readers, more: int, timeout: float = 20.0) -> None:
    goal, deadline = readers.count() + more, time.monotonic() + timeout
    while readers.count() < goal and time.monotonic() < deadline:
        time.sleep(0.02)
    assert readers.count() >= goal, "the readers made no progress"


@db
@pytest.mark.usefixtures("routing")
def test_stopping_a_replica_under_threaded_load_fails_no_read(lab: Any) -> None:
    Author.objects.bulk_create([Author(name=f"author {i}") for i in range(ROWS)])
    lab.wait_for_replay()
    tokens.clear()
    node = lab.replicas[0]
    try:
        with Readers(4) as readers:
            wait_for_reads(readers, 40)
            assert MONITOR.healthy("pg_r1")
            lab.stop_node(node.name)
            wait_for_reads(readers, 100)
            assert not MONITOR.healthy("pg_r1")
            lab.start_node(node.name)
            lab.wait_for_replay()
            MONITOR.check_now()
            assert MONITOR.healthy("pg_r1"), f"lag after restart: {MONITOR.lag('pg_r1')}"
            before = _scans(node)
            wait_for_reads(readers, 40)
        assert readers.failures == []
        assert _scans(node) > before, "the restarted replica got no reads back"
    finally:
        if not node.is_running():
            lab.start_node(node.name)
            lab.wait_for_replay()


@db
@pytest.mark.usefixtures("routing")
def test_query_errors_are_not_retried_on_another_replica() -> None:
    from django.db import DatabaseError

    with pytest.raises(DatabaseError, match="no_such_table"):
        connections["pg_r1"].cursor().execute("SELECT * FROM no_such_table")
    assert MONITOR.healthy("pg_r1")


@db
@pytest.mark.usefixtures("routing")
def test_unconnectable_replica_is_skipped_before_any_query(lab: Any) -> None:
    node = lab.replicas[0]
    connections["pg_r1"].close()
    try:
        lab.stop_node(node.name)
        assert Author.objects.all().db == "pg_r2"
        assert not MONITOR.healthy("pg_r1")
        with routed(AFFINITY={"testapp_author": ["pg_r1"]}, DEFAULT_REPLICAS=[]):
            assert Author.objects.all().db == "pg"
    finally:
        lab.start_node(node.name)
        lab.wait_for_replay()


@pytest.mark.parametrize(
    ("sqlstate", "lost"),
    [(None, True), ("08006", True), ("57P01", True), ("57014", False), ("40001", False)],
    ids=["no-state", "connection-failure", "admin-shutdown", "statement-timeout", "conflict"],
)
def test_connection_lost_reads_the_sqlstate(sqlstate: str | None, lost: bool) -> None:
    from django.db import InterfaceError, OperationalError

    class Cause(Exception):
        pass

    cause = Cause("x")
    cause.sqlstate = sqlstate  # type: ignore[attr-defined]  # as psycopg errors carry it
    error = OperationalError("x")
    error.__cause__ = cause
    assert connection_lost(error) is lost
    assert connection_lost(InterfaceError("closed")) is True
    assert connection_lost(ValueError("x")) is False
