"""``dbtune lab up|status|down`` run as a real subprocess, the way users and CI call it.

User mistakes must end with exit status 2 and exactly one stderr line starting
``dbtune: error:`` (never a traceback); machine output must be one JSON document.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import psutil
import pytest

from dbtune.lab import Lab

pytestmark = pytest.mark.postgres


def dbtune(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dbtune", "lab", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("dbtune: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert result.stdout == ""


def lab_processes(path: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        name, cmdline = process.info["name"] or "", process.info["cmdline"] or []
        if name.startswith("postgres") and any(str(path) in arg for arg in cmdline):
            found.append(process)
    return found


class CliLab(NamedTuple):
    path: Path
    up_stdout: str


@pytest.fixture(scope="module")
def cli_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliLab]:
    """A lab started by ``dbtune lab up`` (one replica), always stopped and removed."""
    path = tmp_path_factory.mktemp("cli") / "lab"
    try:
        first = dbtune("up", "--dir", path, "--replicas", "1", "--shared-buffers", "16MB")
        assert first.returncode == 0, first.stderr
        yield CliLab(path, first.stdout)
    finally:
        Lab(path).down(remove=True)


def test_up_prints_dsns_and_a_databases_block(cli_lab: CliLab) -> None:
    stdout = cli_lab.up_stdout
    lines = stdout.splitlines()
    assert lines[0].split()[0] == "primary"
    assert lines[0].split()[1].startswith("postgresql://postgres@127.0.0.1:")
    assert lines[1].split()[0] == "replica1"
    block = stdout[stdout.index("DATABASES = ") + len("DATABASES = ") :]
    databases = json.loads(block)
    assert list(databases) == ["default", "replica1"]
    assert databases["replica1"]["TEST"] == {"MIRROR": "default"}
    assert lines[0].endswith(f":{databases['default']['PORT']}/postgres")


def test_up_twice_reports_already_running(cli_lab: CliLab) -> None:
    again = dbtune("up", "--dir", cli_lab.path, "--replicas", "1", "--shared-buffers", "16MB")
    assert again.returncode == 0, again.stderr
    assert "already running" in again.stderr
    assert again.stdout == cli_lab.up_stdout


def test_status_text(cli_lab: CliLab) -> None:
    result = dbtune("status", "--dir", cli_lab.path)
    assert result.returncode == 0, result.stderr
    assert "running" in result.stdout.splitlines()[0]
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[2:]}
    assert rows["primary"][1:4] == ["primary", rows["primary"][2], "yes"]
    assert rows["replica1"][3:5] == ["yes", "yes"]


def test_status_json_is_one_document(cli_lab: CliLab) -> None:
    result = dbtune("status", "--dir", cli_lab.path, "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["dir"] == str(cli_lab.path)
    assert document["running"] is True
    nodes = {node["name"]: node for node in document["nodes"]}
    assert nodes["replica1"]["streaming"] is True
    assert nodes["replica1"]["lag_bytes"] == 0
    assert nodes["primary"]["shared_buffers"] == "16MB"


def test_busy_directory_exits_2(cli_lab: CliLab) -> None:
    with (cli_lab.path / "lab.lock").open("a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            result = dbtune("up", "--dir", cli_lab.path, "--replicas", "1")
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    assert_one_line_error(result, "in use by another process", f"pid {os.getpid()}", "--dir")


def test_down_is_idempotent_and_leaves_no_process(tmp_path: Path) -> None:
    lab_dir = tmp_path / "lab"
    try:
        assert dbtune("up", "--dir", lab_dir, "--replicas", "0").returncode == 0
        assert lab_processes(lab_dir) != []
        for _ in range(2):
            result = dbtune("down", "--dir", lab_dir)
            assert result.returncode == 0, result.stderr
            assert lab_processes(lab_dir) == []
        stopped = json.loads(dbtune("status", "--dir", lab_dir, "--format", "json").stdout)
        assert stopped["running"] is False
        assert [node["running"] for node in stopped["nodes"]] == [False]
    finally:
        Lab(lab_dir).down(remove=True)
    removed = json.loads(dbtune("status", "--dir", lab_dir, "--format", "json").stdout)
    assert removed == {"dir": str(lab_dir), "running": False, "nodes": []}


def test_bad_dir_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "a-file"
    target.write_text("not a lab")
    assert_one_line_error(dbtune("up", "--dir", target), "is a file")


def test_bad_dir_that_holds_other_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("someone else's")
    assert_one_line_error(dbtune("up", "--dir", tmp_path), "not empty", "--dir")
    assert [path.name for path in tmp_path.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--shared-buffers", "12XB"], "--shared-buffers '12XB' is not a size"),
        (["--memory-limit", "lots"], "--memory-limit 'lots' is not a size"),
        (["--replicas", "9"], "--replicas must be between 0 and 8"),
    ],
    ids=["shared-buffers", "memory-limit", "replicas"],
)
def test_bad_options_exit_2(tmp_path: Path, args: list[str], fragment: str) -> None:
    assert_one_line_error(dbtune("up", "--dir", tmp_path / "lab", *args), fragment)
    assert not (tmp_path / "lab").exists()


def test_down_without_a_lab_exits_0(tmp_path: Path) -> None:
    result = dbtune("down", "--dir", tmp_path / "none")
    assert result.returncode == 0
    assert "nothing to stop" in result.stderr
