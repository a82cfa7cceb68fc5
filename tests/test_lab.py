"""The lab's Python API against real servers: streaming, lag, restarts, limits, bad input.

These tests start their own labs in temporary folders (not the session's lab) and always
stop them. Most checks share one module-scoped lab; lifecycle checks use small labs.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import psycopg
import pytest

from dbtune.errors import LabError
from dbtune.lab import Lab, cgroups, config, parse_size, pg_bin_dir, state
from dbtune.lab import bringup as bringup_module


def lab_processes(path: Path) -> list[psutil.Process]:
    """Postgres processes whose command line names the lab directory ``path``."""
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if (process.info["name"] or "").startswith("postgres") and any(
            str(path) in arg for arg in cmdline
        ):
            found.append(process)
    return found


def count_rows(dsn: str, table: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def sees(dsn: str, expected: int) -> Callable[[], bool]:
    """A check that the node at ``dsn`` has ``expected`` rows in ``lab_rows``."""
    return lambda: count_rows(dsn, "lab_rows") == expected


def poll(condition: Callable[[], bool], timeout: float) -> float:
    """Seconds until ``condition()`` is true; fails the test after ``timeout``."""
    began = time.monotonic()
    while not condition():
        assert time.monotonic() - began < timeout, f"condition not met within {timeout} s"
        time.sleep(0.02)
    return time.monotonic() - began


@pytest.fixture(scope="module")
def module_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    lab = Lab(tmp_path_factory.mktemp("lab") / "lab", replicas=2, shared_buffers="32MB")
    try:
        lab.up()
        with psycopg.connect(lab.primary.dsn(), autocommit=True) as conn:
            conn.execute("CREATE TABLE lab_rows (id int)")
        yield lab
    finally:
        lab.down(remove=True)


@pytest.mark.postgres
def test_status_shows_primary_and_two_streaming_replicas(module_lab: Lab) -> None:
    rows = module_lab.status()
    assert [(row["name"], row["role"]) for row in rows] == [
        ("primary", "primary"),
        ("replica1", "replica"),
        ("replica2", "replica"),
    ]
    assert all(row["running"] and row["shared_buffers"] == "32MB" for row in rows)
    assert [row["streaming"] for row in rows] == [None, True, True]
    assert rows[0]["lag_bytes"] is None
    assert rows[0]["lag_seconds"] is None
    assert len({row["port"] for row in rows}) == 3
    assert module_lab.is_running()


@pytest.mark.postgres
def test_row_written_on_primary_is_visible_on_both_replicas(module_lab: Lab) -> None:
    with psycopg.connect(module_lab.primary.dsn(), autocommit=True) as conn:
        conn.execute("INSERT INTO lab_rows VALUES (1)")
        expected = count_rows(module_lab.primary.dsn(), "lab_rows")
    for replica in module_lab.replicas:
        poll(sees(replica.dsn(), expected), timeout=1.0)


@pytest.mark.postgres
def test_up_twice_is_a_no_op(module_lab: Lab) -> None:
    ports = [node.port for node in module_lab.nodes]
    again = Lab(module_lab.path, replicas=2, shared_buffers="32MB")
    again.up()
    assert again.already_running
    assert [node.port for node in again.nodes] == ports


@pytest.mark.postgres
def test_server_settings(module_lab: Lab) -> None:
    with psycopg.connect(module_lab.replicas[0].dsn(), autocommit=True) as conn:
        settings: dict[str, str] = dict(
            conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN ('listen_addresses',"
                " 'wal_level', 'hot_standby_feedback', 'track_io_timing',"
                " 'shared_preload_libraries', 'unix_socket_directories')"
            ).fetchall()
        )
    assert settings == {
        "listen_addresses": "127.0.0.1",
        "wal_level": "replica",
        "hot_standby_feedback": "on",
        "track_io_timing": "on",
        "shared_preload_libraries": "pg_stat_statements",
        "unix_socket_directories": "",
    }


@pytest.mark.postgres
def test_create_database_inherits_extensions_and_reaches_replicas(module_lab: Lab) -> None:
    module_lab.create_database("lab_created")
    module_lab.create_database("lab_created")
    module_lab.wait_for_replay()
    for node in module_lab.nodes:
        with psycopg.connect(node.dsn("lab_created")) as conn:
            names = {row[0] for row in conn.execute("SELECT extname FROM pg_extension")}
        assert {"pg_stat_statements", "pg_buffercache", "pg_prewarm"} <= names


@pytest.mark.postgres
def test_django_databases(module_lab: Lab) -> None:
    databases = module_lab.django_databases("shop")
    assert list(databases) == ["default", "replica1", "replica2"]
    assert databases["default"]["PORT"] == str(module_lab.primary.port)
    assert databases["default"]["NAME"] == "shop"
    assert "TEST" not in databases["default"]
    assert databases["replica2"]["TEST"] == {"MIRROR": "default"}
    assert {entry["ENGINE"] for entry in databases.values()} == {"django.db.backends.postgresql"}


@pytest.mark.postgres
def test_stopped_replica_catches_up_after_start(module_lab: Lab) -> None:
    module_lab.stop_node("replica2")
    try:
        status = {row["name"]: row for row in module_lab.status()}
        assert not status["replica2"]["running"]
        assert not status["replica2"]["streaming"]
        with psycopg.connect(module_lab.primary.dsn(), autocommit=True) as conn:
            conn.execute("INSERT INTO lab_rows VALUES (2)")
        module_lab.wait_for_replay()
    finally:
        module_lab.start_node("replica2")
    module_lab.wait_for_replay()
    expected = count_rows(module_lab.primary.dsn(), "lab_rows")
    assert count_rows(module_lab.node("replica2").dsn(), "lab_rows") == expected
    assert all(row["streaming"] for row in module_lab.status()[1:])


@pytest.mark.postgres
def test_apply_delay_creates_measurable_lag(module_lab: Lab) -> None:
    replica = module_lab.node("replica1")
    module_lab.set_apply_delay("replica1", 1.0)
    try:
        with psycopg.connect(module_lab.primary.dsn(), autocommit=True) as conn:
            conn.execute("INSERT INTO lab_rows VALUES (3)")
        expected = count_rows(module_lab.primary.dsn(), "lab_rows")
        time.sleep(0.3)
        assert count_rows(replica.dsn(), "lab_rows") == expected - 1
        lagging = {row["name"]: row for row in module_lab.status()}["replica1"]
        assert lagging["lag_bytes"] > 0
        waited = poll(sees(replica.dsn(), expected), timeout=3.0)
        assert waited + 0.3 >= 0.8
    finally:
        module_lab.set_apply_delay("replica1", 0)
    module_lab.wait_for_replay(timeout=5.0)


@pytest.mark.postgres
def test_unknown_node_and_delay_on_primary_are_errors(module_lab: Lab) -> None:
    with pytest.raises(LabError, match="no node 'replica7'"):
        module_lab.stop_node("replica7")
    with pytest.raises(LabError, match="not a running replica"):
        module_lab.set_apply_delay("primary", 1.0)


@pytest.mark.postgres
def test_down_stops_everything_and_up_restarts_a_crashed_lab(tmp_path: Path) -> None:
    lab = Lab(tmp_path / "lab", replicas=1, shared_buffers="16MB")
    try:
        lab.up()
        for node in lab.nodes:
            pid = node.postmaster_pid()
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
        poll(lambda: not any(node.is_running() for node in lab.nodes), timeout=5.0)
        restarted = Lab(tmp_path / "lab", replicas=1, shared_buffers="16MB")
        restarted.up()
        assert not restarted.already_running
        assert [row["streaming"] for row in restarted.status()] == [None, True]
        lab.down()
        assert lab_processes(lab.path) == []
        assert not lab.is_running()
        lab.down()
    finally:
        lab.down(remove=True)
    assert not lab.path.exists()


@pytest.mark.postgres
def test_failed_start_stops_what_it_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = config.server_settings

    def broken(*, name: str, port: int, shared_buffers: int, replica: bool) -> dict[str, str | int]:
        settings = real(name=name, port=port, shared_buffers=shared_buffers, replica=replica)
        if replica:
            settings["shared_preload_libraries"] = "no_such_library"
        return settings

    monkeypatch.setattr(bringup_module, "server_settings", broken)
    lab = Lab(tmp_path / "lab", replicas=1, shared_buffers="16MB")
    try:
        with pytest.raises(LabError, match="replica1 failed to start: .*no_such_library") as info:
            lab.up()
        assert "\n" not in str(info.value)
        assert lab_processes(lab.path) == []
    finally:
        lab.down(remove=True)


@pytest.mark.postgres
def test_memory_limit_puts_each_node_in_its_own_cgroup(tmp_path: Path) -> None:
    usable, reason = cgroups.detect()
    lab = Lab(tmp_path / "lab", replicas=0, shared_buffers="16MB", memory_limit="256MB")
    if usable is None:  # not root or no memory controller: the real fallback must hold
        try:
            lab.up()
            assert not lab.memory_limits_active, reason
            assert lab.status()[0]["memory_limit"] is None
        finally:
            lab.down(remove=True)
        return
    try:
        lab.up()
        assert lab.memory_limits_active
        recorded = state.load(lab.path)
        assert recorded is not None
        assert recorded.nodes[0].cgroup is not None
        group = Path(recorded.nodes[0].cgroup)
        assert int((group / usable.limit_file).read_text()) == 256 * 1024**2
        members = (group / "cgroup.procs").read_text().split()
        assert str(lab.primary.postmaster_pid()) in members
        assert lab.status()[0]["memory_limit"] == 256 * 1024**2
    finally:
        lab.down(remove=True)
    assert not group.exists()


@pytest.mark.postgres
def test_unavailable_memory_limits_warn_once_and_continue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(cgroups, "detect", lambda: (None, "no cgroup here"))
    lab = Lab(tmp_path / "lab", replicas=0, shared_buffers="16MB", memory_limit="256MB")
    try:
        with caplog.at_level(logging.WARNING, logger="dbtune.lab"):
            lab.up()
        assert [record.getMessage() for record in caplog.records] == [
            "memory limits unavailable (no cgroup here); using shared_buffers only"
        ]
        assert not lab.memory_limits_active
        assert lab.status()[0]["memory_limit"] is None
    finally:
        lab.down(remove=True)


def test_pg_bin_dir_honours_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = pg_bin_dir()
    monkeypatch.setenv("DBTUNE_PG_BIN", str(wheel))
    assert pg_bin_dir() == wheel
    monkeypatch.setenv("DBTUNE_PG_BIN", str(tmp_path))
    with pytest.raises(LabError, match="not found in .*DBTUNE_PG_BIN") as info:
        pg_bin_dir()
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("512MB", 512 * 1024**2),
        ("1GB", 1024**3),
        ("64kB", 64 * 1024),
        ("2g", 2 * 1024**3),
        ("4096", 4096),
    ],
    ids=["MB", "GB", "kB", "lowercase-short", "bare-bytes"],
)
def test_parse_size(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    "kwargs",
    [
        {"shared_buffers": "12XB"},
        {"shared_buffers": "64kB"},
        {"memory_limit": "lots"},
        {"shared_buffers": "1GB", "memory_limit": "512MB"},
        {"replicas": 9},
        {"replicas": -1},
    ],
    ids=["bad-unit", "too-small", "bad-limit", "limit-below-buffers", "nine", "negative"],
)
def test_bad_options_are_one_line_errors(tmp_path: Path, kwargs: dict[str, object]) -> None:
    with pytest.raises(LabError) as info:
        Lab(tmp_path, **kwargs)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)


def test_bad_directories_are_refused(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(LabError, match="is a file"):
        Lab(a_file).up()
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(LabError, match="not empty and holds no lab"):
        Lab(foreign).up()
    assert sorted(path.name for path in foreign.iterdir()) == ["notes.txt"]


def test_busy_directory_names_the_holder(tmp_path: Path) -> None:
    with state.locked(tmp_path), pytest.raises(LabError, match=rf"in use .*pid {os.getpid()}"):
        Lab(tmp_path).up()


def test_down_without_a_lab_is_a_no_op(tmp_path: Path) -> None:
    Lab(tmp_path / "nothing").down()
    assert not (tmp_path / "nothing").exists()
    assert Lab(tmp_path).status() == []
