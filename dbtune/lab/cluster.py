"""The :class:`Lab`: a local primary with N streaming hot standbys in one directory.

Everything a later process needs (node names, ports, cgroups, sizes) is in ``lab.json``, so
``Lab(path).status()`` or ``.down()`` work from any process, whatever options it passed.
Starting is delegated to :mod:`dbtune.lab.bringup`; SQL to :mod:`dbtune.lab.monitor`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

from dbtune.errors import LabError
from dbtune.lab import cgroups, monitor, state
from dbtune.lab.binaries import Runner
from dbtune.lab.bringup import Bringup
from dbtune.lab.config import MIN_SHARED_BUFFERS, human_size, parse_size
from dbtune.lab.control import Controller, kill_strays
from dbtune.lab.node import Node

log = logging.getLogger("dbtune.lab")
MAX_REPLICAS = 8


def default_path() -> Path:
    """``$DBTUNE_LAB_DIR``, else ``./.dbtune-lab``."""
    return Path(os.environ.get("DBTUNE_LAB_DIR") or ".dbtune-lab")


class Lab:
    """A lab directory and the servers it runs.

    ``replicas``, ``shared_buffers`` and ``memory_limit`` (sizes such as ``"512MB"``) apply
    when :meth:`up` starts servers; a lab that already runs keeps its settings. Sizes and
    counts are validated here and raise :class:`~dbtune.errors.LabError`.
    """

    def __init__(
        self,
        path: Path | str | None = None,
        replicas: int = 2,
        shared_buffers: str = "128MB",
        memory_limit: str | None = None,
    ) -> None:
        self.path = Path(path if path is not None else default_path()).expanduser().resolve()
        if not 0 <= replicas <= MAX_REPLICAS:
            raise LabError(f"replicas must be between 0 and {MAX_REPLICAS}, not {replicas}")
        self.replica_count = replicas
        self.shared_buffers = parse_size(shared_buffers, "shared_buffers")
        if self.shared_buffers < MIN_SHARED_BUFFERS:
            raise LabError(f"shared_buffers {shared_buffers!r} is too small; use at least 128kB")
        self.memory_limit = parse_size(memory_limit, "memory_limit") if memory_limit else None
        if self.memory_limit is not None and self.memory_limit <= self.shared_buffers:
            raise LabError(
                f"memory_limit {memory_limit!r} must be larger than shared_buffers "
                f"{shared_buffers!r}; raise the limit or lower shared_buffers"
            )
        self.already_running = False
        self._runner: Runner | None = None

    def __repr__(self) -> str:
        return f"Lab({str(self.path)!r})"

    @property
    def lab_id(self) -> str:
        """A short id derived from the directory, used to name cgroups."""
        return hashlib.sha1(str(self.path).encode()).hexdigest()[:8]

    def _runner_once(self) -> Runner:
        if self._runner is None:
            recorded = state.load(self.path)
            self._runner = Runner.create(recorded.bin_dir if recorded else "")
        return self._runner

    def _state(self) -> state.LabState:
        found = state.load(self.path)
        if found is None:
            raise LabError(
                f"no lab in {self.path}; start one with: dbtune lab up --dir {self.path}"
            )
        return found

    @property
    def nodes(self) -> list[Node]:
        """All nodes, primary first, as recorded in ``lab.json`` (read on every access)."""
        return [item.to_node(self.path) for item in self._state().nodes]

    @property
    def primary(self) -> Node:
        return self.nodes[0]

    @property
    def replicas(self) -> list[Node]:
        return [node for node in self.nodes if node.role == "replica"]

    def node(self, name: str) -> Node:
        return self._state().node(name).to_node(self.path)

    @property
    def memory_limits_active(self) -> bool:
        """Whether every node runs inside its own memory-limited cgroup."""
        found = state.load(self.path)
        if found is None or not found.nodes:
            return False
        return all(item.cgroup and Path(item.cgroup).is_dir() for item in found.nodes)

    def is_running(self) -> bool:
        """Whether the lab's primary runs (replicas may be stopped one by one)."""
        found = state.load(self.path)
        return bool(found and found.nodes) and self.primary.is_running()

    def up(self) -> None:
        """Start every node and wait until each replica streams; a no-op if all already run.

        A running lab keeps its settings (``already_running`` becomes true; a warning says
        so when this object asked for others). A stopped or crashed lab is restarted with
        this object's settings: replicas beyond ``replicas`` are removed, missing ones
        cloned. On failure whatever this call started is stopped again and the error
        names the cause.
        """
        existing = state.check_directory(self.path)
        runner = self._runner_once()
        began = time.monotonic()
        with state.locked(self.path):
            current = state.load(self.path) if existing else None
            if current is not None and current.nodes:
                nodes = [item.to_node(self.path) for item in current.nodes]
                if all(node.is_running() for node in nodes):
                    self.already_running = True
                    self._note_running(current)
                    return
            self.already_running = False
            runner.adopt(self.path)
            Bringup(self, runner, current).run()
        log.info("lab up in %.1f s (%s)", time.monotonic() - began, self.path)

    def _note_running(self, current: state.LabState) -> None:
        asked = (self.replica_count + 1, self.shared_buffers, self.memory_limit)
        if asked == (len(current.nodes), current.shared_buffers, current.memory_limit):
            log.info("lab already running in %s", self.path)
            return
        log.warning(
            "lab already running in %s with %d replica(s), shared_buffers %s; "
            "run `dbtune lab down` first to change its settings",
            self.path,
            len(current.nodes) - 1,
            human_size(current.shared_buffers),
        )

    def down(self, remove: bool = False) -> None:
        """Stop every node (fast shutdown) and drop their cgroups; idempotent.

        Data is kept for the next :meth:`up` unless ``remove`` deletes the directory.
        """
        if not (self.path / state.STATE_FILE).is_file():
            log.info("no lab in %s; nothing to stop", self.path)
            return
        controller = Controller(self._runner_once())
        with state.locked(self.path):
            found = self._state()
            nodes = [item.to_node(self.path) for item in found.nodes]
            was_running = any(node.is_running() for node in nodes)
            for node in reversed(nodes):
                controller.stop(node)
            kill_strays(self.path)
            for item in found.nodes:
                if item.cgroup:
                    cgroups.remove(Path(item.cgroup))
                    item.cgroup = None
            state.save(self.path, found)
        if remove:
            shutil.rmtree(self.path, ignore_errors=True)
        verb = "stopped" if was_running else "was not running"
        log.info("lab %s in %s%s", verb, self.path, "; directory removed" if remove else "")

    def stop_node(self, name: str) -> None:
        """Fast-stop one node (a replica, normally); a stopped node stays stopped."""
        node = self.node(name)
        with state.locked(self.path):
            Controller(self._runner_once()).stop(node)

    def start_node(self, name: str) -> None:
        """Start one stopped node again; for a replica, wait until it streams."""
        with state.locked(self.path):
            Bringup(self, self._runner_once(), self._state()).restart(name)

    def set_memory_limit(self, name: str, size: str | int) -> int:
        """Set node ``name``'s cgroup memory limit now (e.g. tighter once data is loaded).

        Returns the limit in bytes. Raises :class:`LabError` when the node runs without a
        cgroup, or when the kernel cannot reclaim enough to get under the new limit.
        """
        limit = size if isinstance(size, int) else parse_size(size, "memory limit")
        item = self._state().node(name)
        if not item.cgroup or not Path(item.cgroup).is_dir():
            raise LabError(f"{name} runs without a memory cgroup; start the lab with a limit")
        try:
            cgroups.set_limit(Path(item.cgroup), limit)
        except OSError as exc:
            raise LabError(
                f"cannot set {name}'s memory limit to {human_size(limit)}: "
                f"{exc.strerror or exc}; choose a larger limit"
            ) from None
        return limit

    def set_apply_delay(self, name: str, seconds: float) -> None:
        """Make replica ``name`` apply WAL ``seconds`` late (0 removes the delay)."""
        node = self.node(name)
        if node.role != "replica" or not node.is_running():
            raise LabError(f"{name} is not a running replica; pick one from `dbtune lab status`")
        monitor.set_apply_delay(node, seconds)

    def wait_for_replay(self, timeout: float = 10.0) -> None:
        """Return once every running replica replayed all WAL the primary has now."""
        lsn = monitor.flushed_lsn(self.primary)
        deadline = time.monotonic() + timeout
        for replica in self.replicas:
            if replica.is_running():
                monitor.wait_replayed(replica, lsn, deadline)

    def create_database(self, name: str) -> None:
        """Create database ``name`` on the primary if missing (it inherits the extensions)."""
        monitor.create_database(self.primary, name)

    def status(self) -> list[dict[str, Any]]:
        """One dict per node, primary first; ``[]`` when the directory holds no lab.

        Keys: ``name``, ``role``, ``port``, ``dsn``, ``running``, ``shared_buffers`` (as
        ``SHOW`` prints it), ``memory_limit`` (bytes, ``None`` without a cgroup limit),
        ``streaming`` (replicas; ``None`` for the primary), ``lag_bytes`` and
        ``lag_seconds`` (replicas that answer; else ``None``), ``server_version``.
        Never raises for a stopped or unreachable node.
        """
        found = state.load(self.path)
        if found is None or not found.nodes:
            return []
        return monitor.describe(self.path, found)

    def django_databases(self, dbname: str = "postgres") -> dict[str, dict[str, Any]]:
        """``DATABASES`` entries: ``default`` is the primary, ``replicaN`` mirror it in tests."""
        databases: dict[str, dict[str, Any]] = {}
        for node in self.nodes:
            entry: dict[str, Any] = {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": dbname,
                "USER": "postgres",
                "PASSWORD": "",
                "HOST": node.host,
                "PORT": str(node.port),
            }
            if node.role == "replica":
                entry["TEST"] = {"MIRROR": "default"}
            databases["default" if node.role == "primary" else node.name] = entry
        return databases
