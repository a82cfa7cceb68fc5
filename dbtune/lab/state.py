"""The lab directory: its persisted state (``lab.json``), its lock, and what may live in it.

``lab.json`` lets another process (``dbtune lab status``/``down``, a test run) find the
nodes a lab started. ``lab.lock`` is held with ``fcntl.flock`` while ``up``/``down`` or a
node start/stop runs, so two processes never start the same servers twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dbtune.errors import LabError
from dbtune.lab.node import Node, Role

STATE_FILE = "lab.json"
LOCK_FILE = "lab.lock"


@dataclass
class NodeState:
    """One node as recorded: ``role`` is ``"primary"`` or ``"replica"``, ``port`` 0 if unset."""

    name: str
    role: str
    port: int
    cgroup: str | None = None

    def to_node(self, directory: Path) -> Node:
        """The :class:`Node` this entry describes in the lab at ``directory``."""
        role: Role = "primary" if self.role == "primary" else "replica"
        return Node(self.name, role, self.port, directory / self.name / "data")


@dataclass
class LabState:
    """What ``lab.json`` records; sizes are bytes, ``memory_limit`` ``None`` when unlimited.

    ``bin_dir`` is the PostgreSQL bin folder the data directories were created with.
    """

    shared_buffers: int
    memory_limit: int | None
    nodes: list[NodeState] = field(default_factory=list)
    bin_dir: str = ""
    version: int = 1

    def node(self, name: str) -> NodeState:
        for node in self.nodes:
            if node.name == name:
                return node
        names = ", ".join(node.name for node in self.nodes)
        raise LabError(f"the lab has no node {name!r}; choose one of: {names}")


def load(directory: Path) -> LabState | None:
    """The state saved in ``directory``, or ``None`` when there is none (or it is unreadable)."""
    try:
        raw: dict[str, Any] = json.loads((directory / STATE_FILE).read_text())
        nodes = [NodeState(**item) for item in raw.pop("nodes")]
        return LabState(nodes=nodes, **raw)
    except (OSError, ValueError, TypeError, KeyError):
        return None


def save(directory: Path, state: LabState) -> None:
    """Write ``lab.json`` atomically (a reader never sees half a file)."""
    temporary = directory / f".{STATE_FILE}.{os.getpid()}"
    temporary.write_text(json.dumps(asdict(state), indent=2) + "\n")
    temporary.replace(directory / STATE_FILE)


def check_directory(directory: Path) -> bool:
    """Whether ``directory`` holds a lab; raises :class:`LabError` when it cannot hold one.

    A usable directory is missing, empty, or has ``lab.json`` (or only lab files). A file,
    an unwritable folder, or a non-empty folder that is not a lab is refused, so ``lab up
    --dir`` never mixes servers into someone else's files.
    """
    if not directory.exists():
        return False
    if not directory.is_dir():
        raise LabError(f"{directory} is a file, not a directory; pass a lab folder with --dir")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise LabError(f"{directory} is not writable; pass a folder you can write with --dir")
    if (directory / STATE_FILE).is_file():
        return True
    foreign = [p.name for p in directory.iterdir() if p.name not in (LOCK_FILE, STATE_FILE)]
    if foreign:
        raise LabError(
            f"{directory} is not empty and holds no lab (no {STATE_FILE}); "
            "pass a new or empty folder with --dir"
        )
    return False


@contextlib.contextmanager
def locked(directory: Path) -> Iterator[None]:
    """Hold ``lab.lock`` in ``directory`` (created if needed) without waiting for it."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle = (directory / LOCK_FILE).open("a+")
    except OSError as exc:
        raise LabError(
            f"cannot use lab directory {directory} ({exc.strerror}); pass another with --dir"
        ) from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise LabError(
                f"lab directory {directory} is in use by another process (pid {holder}); "
                "wait for it or use --dir"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)
