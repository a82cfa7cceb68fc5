"""What a scenario gets to work with: options, the output folder, servers, progress.

The context owns every lab it starts (one folder per server under ``lab_root``) and stops
them in :meth:`BenchContext.close`, removing their data unless ``keep_lab`` asks to leave
them running for a rerun by hand. Scripts and exact command lines are collected here so
that ``results.json`` lists what anyone needs to rerun the same load.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbtune.bench.servers import Server, lab_server, start_lab, user_server

log = logging.getLogger("dbtune.bench")


def stderr_progress(message: str) -> None:
    print(f"[dbtune bench] {message}", file=sys.stderr, flush=True)


@dataclass
class BenchOptions:
    """Everything the command line can set; ``None`` means "the scenario's default".

    ``service_dsns`` maps a service name (``customers``, ``catalog``, ``orders``) to a DSN
    for the split-per-service topology on real servers; ``dsn`` is the single node.
    ``settings`` holds scenario-specific ``--set KEY=VALUE`` overrides.
    """

    quick: bool = False
    runs: int | None = None
    duration_s: int | None = None
    clients: int | None = None
    jobs: int | None = None
    keys: str | None = None
    cache: str = "warm"
    rtt_ms: float | None = None
    dsn: str | None = None
    service_dsns: dict[str, str] = field(default_factory=dict)
    allow_writes: bool = False
    keep_lab: bool = False
    keep_logs: bool = False
    lab_dir: Path | None = None
    calibration: Path | None = None
    seed: int = 42
    settings: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        from dbtune.db import redact

        return {
            "quick": self.quick,
            "runs": self.runs,
            "duration_s": self.duration_s,
            "clients": self.clients,
            "jobs": self.jobs,
            "keys": self.keys,
            "cache": self.cache,
            "rtt_ms": self.rtt_ms,
            "dsn": redact(self.dsn) if self.dsn else None,
            "service_dsns": {name: redact(dsn) for name, dsn in self.service_dsns.items()},
            "allow_writes": self.allow_writes,
            "calibration": str(self.calibration) if self.calibration else None,
            "seed": self.seed,
            "settings": dict(self.settings),
        }


@dataclass
class BenchContext:
    out: Path
    options: BenchOptions
    lab: Any = None
    """An already running :class:`~dbtune.lab.Lab` to reuse (``dbtune demo``), or ``None``."""
    progress: Callable[[str], None] = stderr_progress
    problems: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)
    servers: dict[str, Server] = field(default_factory=dict)
    _labs: list[Any] = field(default_factory=list)

    @property
    def lab_root(self) -> Path:
        return self.options.lab_dir or self.out / "lab"

    def lab_server(self, name: str, *, shared_buffers: str, memory_limit: str | None) -> Server:
        """Start a one-node lab for ``name`` with these sizes; stopped by :meth:`close`."""
        lab = self.lab_cluster(
            name, replicas=0, shared_buffers=shared_buffers, memory_limit=memory_limit
        )
        return self.add_server(lab_server(name, lab))

    def lab_cluster(
        self, name: str, *, replicas: int, shared_buffers: str, memory_limit: str | None
    ) -> Any:
        """Start a lab (primary + ``replicas`` standbys) in ``lab_root/name``; returns the
        :class:`~dbtune.lab.Lab`, stopped by :meth:`close`."""
        what = f"lab {name} (primary + {replicas} replicas)" if replicas else f"lab node {name}"
        self.progress(
            f"starting {what}: shared_buffers {shared_buffers}, "
            f"memory limit {memory_limit or 'none'}"
        )
        lab = start_lab(
            self.lab_root / name,
            shared_buffers=shared_buffers,
            memory_limit=memory_limit,
            replicas=replicas,
        )
        self._labs.append(lab)
        if memory_limit and not lab.memory_limits_active:
            self.note(f"{name}: memory limit {memory_limit} not in force (no usable cgroup)")
        return lab

    def existing_lab_server(self, name: str) -> Server:
        """The primary of the lab passed in by the caller (left running afterwards)."""
        return self.add_server(lab_server(name, self.lab))

    def user_server(self, name: str, dsn: str) -> Server:
        return self.add_server(user_server(name, dsn, allow_writes=self.options.allow_writes))

    def add_server(self, server: Server) -> Server:
        self.servers[server.name] = server
        return server

    def note(self, problem: str) -> None:
        """Record something the report must mention (and say it on stderr now)."""
        if problem not in self.problems:
            self.problems.append(problem)
            self.progress(f"note: {problem}")

    def write_script(self, name: str, text: str) -> Path:
        """Save a pgbench script as ``OUT/scripts/NAME.sql`` and return its absolute path."""
        if not re.fullmatch(r"[a-z0-9_]+", name):
            raise ValueError(f"script name {name!r} must be lowercase letters, digits, _")
        folder = self.out / "scripts"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.sql"
        path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
        relative = f"scripts/{name}.sql"
        if relative not in self.scripts:
            self.scripts.append(relative)
        return path.resolve()

    def record_commands(self, commands: list[str]) -> None:
        for command in commands:
            if command not in self.commands:
                self.commands.append(command)

    def run_folder(self, point_id: str, run: int) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_.=-]+", "_", point_id)
        return self.out / "logs" / safe / f"run{run}"

    def close(self) -> None:
        """Stop the labs this context started (data removed unless ``keep_lab``)."""
        for lab in reversed(self._labs):
            if self.options.keep_lab:
                self.progress(f"leaving lab {lab.path} running (--keep-lab)")
                continue
            try:
                lab.down(remove=True)
            except Exception as exc:  # cleanup must not hide the run's own error
                log.warning("could not stop lab %s: %s", lab.path, exc)
        self._labs.clear()
        logs = self.out / "logs"
        if logs.is_dir():
            for folder in sorted(logs.glob("**/"), key=lambda p: len(p.parts), reverse=True):
                with contextlib.suppress(OSError):
                    folder.rmdir()  # only empty folders: kept logs (--keep-logs) stay
        if not self.options.keep_lab and self.options.lab_dir is None:
            with contextlib.suppress(OSError):
                self.lab_root.rmdir()  # only when empty: nothing else lived there
