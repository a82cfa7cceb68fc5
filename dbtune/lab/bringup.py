"""One start of a lab: create, restart or remove nodes, and undo it all on failure.

Kept apart from :class:`~dbtune.lab.cluster.Lab` because it is a transaction with its own
bookkeeping: which servers this run started and which cgroups it created, so that a failed
``up`` leaves nothing running and, for a brand-new lab, no half-made data directories (the
server logs stay, for the error message to point at; the next ``up`` starts afresh).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from dbtune.errors import LabError
from dbtune.lab import cgroups, monitor, state
from dbtune.lab.binaries import Runner
from dbtune.lab.config import free_port, port_is_free, server_settings
from dbtune.lab.control import Controller
from dbtune.lab.node import Node

if TYPE_CHECKING:
    from dbtune.lab.cluster import Lab

log = logging.getLogger("dbtune.lab")


class Bringup:
    """Brings the nodes recorded in ``current`` (or a new lab) to the state ``lab`` asks for."""

    def __init__(self, lab: Lab, runner: Runner, current: state.LabState | None) -> None:
        self.lab = lab
        self.controller = Controller(runner)
        untracked = current is None or not current.nodes
        self.fresh = untracked and not (lab.path / "primary").exists()
        self.state = current or state.LabState(lab.shared_buffers, lab.memory_limit)
        self.state.bin_dir = str(runner.bin_dir)
        self.started: list[Node] = []
        self.groups: list[Path] = []
        self._memory: cgroups.MemoryCgroups | None = None
        self._memory_checked = False

    def run(self) -> None:
        """Start the primary, then each replica, then wait until all of them stream."""
        self.state.shared_buffers = self.lab.shared_buffers
        self.state.memory_limit = self.lab.memory_limit
        try:
            primary, rebuilt = self._primary()
            names = [f"replica{index}" for index in range(1, self.lab.replica_count + 1)]
            for name in names:
                self._replica(name, primary, rebuild=rebuilt)
            self._drop_extra(primary, keep={"primary", *names})
            if names:
                log.info("waiting for %s to stream", ", ".join(names))
                monitor.wait_streaming(primary, set(names))
        except BaseException:
            self._undo()
            raise

    def restart(self, name: str) -> None:
        """Start the stopped node ``name`` with its recorded settings (``lab.start_node``)."""
        item = self.state.node(name)
        node = item.to_node(self.lab.path)
        if node.is_running():
            return
        primary = self.state.nodes[0].to_node(self.lab.path)
        if node.role == "replica":
            if not primary.is_running():
                raise LabError(f"cannot start {name}: the primary is not running; run lab up")
            self.controller.point_at(node, primary)
        self._start(item, node)
        if node.role == "replica":
            monitor.wait_streaming(primary, {name})

    def _save(self) -> None:
        state.save(self.lab.path, self.state)

    def _entry(self, name: str, role: str) -> state.NodeState:
        for item in self.state.nodes:
            if item.name == name:
                return item
        item = state.NodeState(name, role, 0)
        self.state.nodes.append(item)
        return item

    def _primary(self) -> tuple[Node, bool]:
        """The running primary, and whether it was created anew (replicas must be re-cloned)."""
        item = self._entry("primary", "primary")
        node = item.to_node(self.lab.path)
        rebuilt = not node.is_initialized()
        if rebuilt:
            for other in self.state.nodes:
                self.controller.stop(other.to_node(self.lab.path))
                shutil.rmtree(self.lab.path / other.name, ignore_errors=True)
            self.state.nodes = [item]
            self._save()
            log.info("creating the primary in %s", node.datadir)
            self.controller.init_primary(node)
        node = self._start(item, node)
        monitor.install_extensions(node)
        return node, rebuilt

    def _replica(self, name: str, primary: Node, *, rebuild: bool) -> Node:
        item = self._entry(name, "replica")
        node = item.to_node(self.lab.path)
        if node.is_running() and not rebuild:
            return node
        complete = node.is_initialized() and (node.datadir / "standby.signal").is_file()
        cloned = rebuild or not complete
        if cloned:
            self._clone(node, primary)
        self.controller.point_at(node, primary)
        try:
            return self._start(item, node)
        except LabError:
            if cloned:
                raise
            log.warning("%s did not start from its old data; cloning it again", name)
        self._clone(node, primary)
        return self._start(item, node)

    def _clone(self, node: Node, primary: Node) -> None:
        self.controller.stop(node)
        shutil.rmtree(node.folder, ignore_errors=True)
        self._save()
        log.info("cloning %s from the primary (pg_basebackup)", node.name)
        monitor.drop_slot(primary, node.name)
        self.controller.clone_replica(node, primary)

    def _start(self, item: state.NodeState, node: Node) -> Node:
        if node.is_running():
            return node
        taken = {other.port for other in self.state.nodes if other is not item}
        reuse = item.port and item.port not in taken and port_is_free(item.port)
        node = dataclasses.replace(node, port=item.port if reuse else free_port(taken))
        settings = server_settings(
            name=node.name,
            port=node.port,
            shared_buffers=self.state.shared_buffers,
            replica=node.role == "replica",
        )
        log.info("starting %s on port %d", node.name, node.port)
        node = self.controller.start(node, settings, self._group(item))
        self.started.append(node)
        item.port = node.port
        self._save()
        return node

    def _group(self, item: state.NodeState) -> Path | None:
        """The memory cgroup ``item`` starts in, or ``None`` without a (usable) limit."""
        if item.cgroup:
            cgroups.remove(Path(item.cgroup))
            item.cgroup = None
        limit = self.state.memory_limit
        if limit is None:
            return None
        if not self._memory_checked:
            self._memory_checked = True
            self._memory, reason = cgroups.detect()
            if self._memory is None:
                log.warning("memory limits unavailable (%s); using shared_buffers only", reason)
        if self._memory is None:
            return None
        try:
            group = self._memory.create(f"dbtune-{self.lab.lab_id}-{item.name}", limit)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            log.warning("memory limits unavailable (%s); using shared_buffers only", reason)
            self._memory = None
            return None
        self.groups.append(group)
        item.cgroup = str(group)
        return group

    def _drop_extra(self, primary: Node, keep: set[str]) -> None:
        for item in [item for item in self.state.nodes if item.name not in keep]:
            log.info("removing %s (more replicas than asked for)", item.name)
            self.controller.stop(item.to_node(self.lab.path))
            if item.cgroup:
                cgroups.remove(Path(item.cgroup))
            shutil.rmtree(self.lab.path / item.name, ignore_errors=True)
            monitor.drop_slot(primary, item.name)
            self.state.nodes.remove(item)
            self._save()

    def _undo(self) -> None:
        for node in reversed(self.started):
            with contextlib.suppress(Exception):
                self.controller.stop(node)
        for group in self.groups:
            cgroups.remove(group)
        for item in self.state.nodes:
            if item.cgroup and Path(item.cgroup) in self.groups:
                item.cgroup = None
        if self.fresh:
            for item in self.state.nodes:
                shutil.rmtree(item.to_node(self.lab.path).datadir, ignore_errors=True)
        with contextlib.suppress(OSError):
            self._save()
