"""Create, start and stop lab nodes with ``initdb``, ``pg_basebackup`` and ``pg_ctl``.

Every failure raises :class:`LabError` with one line: what failed, the tail of the server
log (or of the tool's stderr), and where the full log is.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import subprocess
import time
from pathlib import Path

import psutil

from dbtune.errors import LabError
from dbtune.lab.binaries import Runner
from dbtune.lab.config import CONF_FILE, HBA, HOST, free_port, render_conf
from dbtune.lab.node import Node

_BIND_FAILED = ("could not bind", "Address already in use", "could not create any TCP/IP")
_START_ATTEMPTS = 3


def _output_tail(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line.strip() for line in (result.stderr or result.stdout).splitlines()]
    return " | ".join([line for line in lines if line][-3:]) or f"exit status {result.returncode}"


def _tool_error(what: str, result: subprocess.CompletedProcess[str]) -> LabError:
    return LabError(f"{what} failed: {_output_tail(result)}")


class Controller:
    """Node lifecycle; knows nothing about lab.json, locks or cgroup creation."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner

    def prepare_folder(self, node: Node) -> None:
        node.folder.mkdir(mode=0o700, exist_ok=True)
        self.runner.own(node.folder)

    def init_primary(self, node: Node) -> None:
        """``initdb`` a fresh primary whose configuration includes ``dbtune.conf``."""
        self.prepare_folder(node)
        args = ["-D", str(node.datadir), "-U", "postgres", "-A", "trust", "-E", "UTF8"]
        result = self.runner.run(
            self.runner.command("initdb", *args, "--locale=C", "--no-sync"), cwd=node.folder
        )
        if result.returncode != 0:
            raise _tool_error(f"initdb of {node.name} in {node.datadir}", result)
        conf = node.datadir / "postgresql.conf"
        with conf.open("a") as handle:
            handle.write(f"\ninclude_if_exists = '{CONF_FILE}'\n")
        self.runner.write(node.datadir / "pg_hba.conf", HBA)

    def clone_replica(self, node: Node, primary: Node) -> None:
        """``pg_basebackup -R -X stream`` from ``primary`` with a slot named after ``node``."""
        self.prepare_folder(node)
        source = f"host={HOST} port={primary.port} user=postgres"
        args = ["-D", str(node.datadir), "-d", source, "-R", "-X", "stream", "-c", "fast"]
        command = self.runner.command("pg_basebackup", *args, "-N", "-C", "-S", node.name)
        result = self.runner.run(command, cwd=node.folder)
        if result.returncode != 0:
            raise _tool_error(f"pg_basebackup of {node.name} from {primary.name}", result)

    def start(self, node: Node, settings: dict[str, str | int], cgroup: Path | None) -> Node:
        """Start ``node`` with ``settings``; returns it with the port it finally listens on.

        A port taken since it was chosen (another program bound it first) is replaced by a
        fresh one, up to three times.
        """
        stale = node.datadir / "postmaster.pid"
        if stale.exists() and not node.is_running():
            stale.unlink()
        for attempt in range(_START_ATTEMPTS):
            offset = node.log_size()
            self.runner.write(
                node.datadir / CONF_FILE, render_conf({**settings, "port": node.port})
            )
            args = ["-D", str(node.datadir), "-l", str(node.logfile), "-w", "-t", "60", "-s"]
            command = self.runner.command("pg_ctl", *args, "start")
            result = self.runner.run(command, cwd=node.folder, cgroup=cgroup, timeout=90)
            if result.returncode == 0 and node.is_running():
                return node
            tail = node.log_tail(since=offset) or _output_tail(result)
            if attempt + 1 < _START_ATTEMPTS and any(sign in tail for sign in _BIND_FAILED):
                node = dataclasses.replace(node, port=free_port({node.port}))
                continue
            self.stop(node)
            raise LabError(f"{node.name} failed to start: {tail} (log: {node.logfile})")
        raise AssertionError("unreachable")

    def point_at(self, replica: Node, primary: Node) -> None:
        """Set ``primary_conninfo`` of a stopped ``replica`` to ``primary``'s current port."""
        auto = replica.datadir / "postgresql.auto.conf"
        text = auto.read_text() if auto.exists() else ""
        line = f"primary_conninfo = 'host={HOST} port={primary.port} user=postgres'"
        text, count = re.subn(r"(?m)^primary_conninfo\s*=.*$", line, text)
        if not count:
            text += line + "\n"
        self.runner.write(auto, text)

    def stop(self, node: Node) -> None:
        """Fast shutdown; immediate if that stalls; finally kill whatever is left."""
        pid = node.postmaster_pid()
        if pid is None:
            return
        for mode, timeout in (("fast", "30"), ("immediate", "10")):
            command = self.runner.command("pg_ctl", "-D", str(node.datadir), "-m", mode)
            self.runner.run([*command, "-w", "-t", timeout, "-s", "stop"], cwd=node.folder)
            if not _alive(pid):
                return
        _kill_tree(pid)


def _alive(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def _kill_tree(pid: int) -> None:
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return
    for process in processes:
        try:
            process.kill()
        except psutil.Error:
            continue
    psutil.wait_procs(processes, timeout=5)
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def kill_strays(directory: Path) -> None:
    """Kill postgres processes whose command line names ``directory`` (a lost or stale pid)."""
    marker = str(directory) + os.sep
    for process in psutil.process_iter(["name", "cmdline"]):
        name, cmdline = process.info["name"] or "", process.info["cmdline"] or []
        if name.startswith("postgres") and any(marker in arg for arg in cmdline):
            with contextlib.suppress(psutil.Error):
                process.kill()
