"""Per-node memory limits with Linux memory cgroups (v1 ``memory`` controller or v2).

Each lab node gets its own cgroup, created below the memory cgroup of the process that runs
``lab up``. Page cache is charged to the cgroup of the process that first reads a page, so a
limit bounds a node's shared buffers *and* its OS cache the way a separate machine would.
The postmaster is born inside its cgroup: a tiny launcher (run as root) writes its own pid
to ``cgroup.procs``, drops to the server user and execs ``pg_ctl``, so every process forked
afterwards inherits the cgroup and nothing runs unlimited in between.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

_LAUNCHER = (
    "import os,sys\n"
    "fd=os.open(sys.argv[1],os.O_WRONLY);os.write(fd,str(os.getpid()).encode());os.close(fd)\n"
    "if sys.argv[2]!='-':os.setgroups([]);os.setgid(int(sys.argv[3]));os.setuid(int(sys.argv[2]))\n"
    "os.execv(sys.argv[4],sys.argv[4:])\n"
)


@dataclass(frozen=True)
class MemoryCgroups:
    """Where node cgroups are created (``base``) and which cgroup version drives them."""

    base: Path
    version: int

    @property
    def limit_file(self) -> str:
        return "memory.limit_in_bytes" if self.version == 1 else "memory.max"

    def create(self, name: str, limit_bytes: int) -> Path:
        """Create (or reuse) the cgroup ``name`` with ``limit_bytes``; returns its folder."""
        group = self.base / name
        group.mkdir(exist_ok=True)
        (group / self.limit_file).write_text(str(limit_bytes))
        return group


def _mounts() -> list[tuple[str, str, str, str]]:
    """``(root, mount point, fstype, super options)`` of every cgroup mount."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) >= 5 and len(tail) >= 3 and tail[0] in ("cgroup", "cgroup2"):
            found.append((fields[3], fields[4], tail[0], tail[2]))
    return found


def _own_groups() -> dict[str, str]:
    """Map of controller list (``"memory"``, ``""`` for v2) to our cgroup path."""
    groups = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            groups[controller] = path
    return groups


def _locate() -> MemoryCgroups:
    groups = _own_groups()
    for root, mount, fstype, options in _mounts():
        if fstype == "cgroup" and "memory" in options.split(",") and "memory" in groups:
            return MemoryCgroups(Path(mount) / os.path.relpath(groups["memory"], root), 1)
    for root, mount, fstype, _ in _mounts():
        if fstype != "cgroup2" or "" not in groups:
            continue
        base = Path(mount) / os.path.relpath(groups[""], root)
        if "memory" not in (base / "cgroup.controllers").read_text().split():
            continue
        control = base / "cgroup.subtree_control"
        if "memory" not in control.read_text().split():
            control.write_text("+memory")
        return MemoryCgroups(base, 2)
    raise OSError("no memory cgroup controller is mounted")


def detect() -> tuple[MemoryCgroups | None, str]:
    """The usable memory cgroups, or ``None`` and a short reason why not."""
    if os.geteuid() != 0:
        return None, "not running as root"
    try:
        cgroups = _locate()
        probe = cgroups.base / f"dbtune-probe-{os.getpid()}"
        probe.mkdir()
        probe.rmdir()
    except OSError as exc:
        return None, exc.strerror or str(exc)
    return cgroups, ""


def set_limit(group: Path, limit_bytes: int) -> None:
    """Change the memory limit of an existing node cgroup (v1 or v2) while it runs.

    Lowering a limit below current use makes the kernel reclaim page cache first; raises
    :class:`OSError` when it cannot get the group under the new limit.
    """
    for name in ("memory.limit_in_bytes", "memory.max"):
        path = group / name
        if path.exists():
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, str(limit_bytes).encode())
            finally:
                os.close(fd)
            return
    raise OSError(f"{group} has no memory limit file")


def launch_argv(group: Path, uid: int | None, gid: int | None, argv: list[str]) -> list[str]:
    """Argv that enters ``group``, drops to ``uid``/``gid`` (when given) and execs ``argv``."""
    user = ["-", "-"] if uid is None or gid is None else [str(uid), str(gid)]
    procs = str(group / "cgroup.procs")
    return [sys.executable, "-I", "-S", "-c", _LAUNCHER, procs, *user, *argv]


def remove(group: Path) -> None:
    """Kill anything left in ``group`` and delete it; missing groups are ignored."""
    for _ in range(50):
        if not group.exists():
            return
        with contextlib.suppress(OSError):
            for pid in (group / "cgroup.procs").read_text().split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
        try:
            group.rmdir()
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.05)
            continue
        return
