"""One PostgreSQL server of the lab: where it lives, how to reach it, whether it runs.

A node's folder ``<lab>/<name>/`` holds ``data/`` (PGDATA) and ``postgres.log``; the log is
kept outside PGDATA so that ``pg_basebackup`` does not copy the primary's log to replicas.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote

import psutil

from dbtune.lab.config import CONF_FILE, HOST

Role = Literal["primary", "replica"]
_PREFIX = re.compile(r"^\d{4}-\d\d-\d\d [\d:.]+ \S+ \[\d+\] ")
"""The ``log_line_prefix`` the lab configures (``%m [%p] ``), dropped from error messages."""


@dataclass(frozen=True)
class Node:
    """A lab server. ``port`` is chosen when the lab starts and kept across restarts if free."""

    name: str
    role: Role
    port: int
    datadir: Path
    host: str = HOST

    @property
    def folder(self) -> Path:
        return self.datadir.parent

    @property
    def logfile(self) -> Path:
        return self.folder / "postgres.log"

    def dsn(self, dbname: str = "postgres") -> str:
        """A libpq URI for user ``postgres`` (trust authentication, no password)."""
        return f"postgresql://postgres@{self.host}:{self.port}/{quote(dbname, safe='')}"

    def postmaster_pid(self) -> int | None:
        """The pid of this node's running postmaster, or ``None`` when it is not running.

        Reads ``postmaster.pid`` and checks that the process exists and is a postgres
        process, so a stale pid file left by a crash (or a recycled pid) reads as stopped.
        """
        try:
            first = (self.datadir / "postmaster.pid").read_text().split("\n", 1)[0]
            process = psutil.Process(int(first))
            if process.status() == psutil.STATUS_ZOMBIE:
                return None
            if not process.name().startswith("postgres"):
                return None
        except (OSError, ValueError, psutil.Error):
            return None
        return int(first)

    def is_running(self) -> bool:
        return self.postmaster_pid() is not None

    def log_size(self) -> int:
        """The log's current size, to show only what a later start wrote (see :meth:`log_tail`)."""
        try:
            return self.logfile.stat().st_size
        except OSError:
            return 0

    def log_tail(self, lines: int = 3, since: int = 0) -> str:
        """The last ``lines`` non-empty log lines after byte ``since``, joined by `` | ``.

        Empty when there is no log (yet); the lab's line prefix is dropped.
        """
        with contextlib.suppress(OSError), self.logfile.open("rb") as handle:
            handle.seek(since)
            text = handle.read().decode(errors="replace")
            stripped = (_PREFIX.sub("", line).strip() for line in text.splitlines())
            tail = [line for line in stripped if line][-lines:]
            return " | ".join(tail)
        return ""

    def is_initialized(self) -> bool:
        """Whether PGDATA holds a complete lab cluster.

        ``PG_VERSION`` appears early in ``initdb``; the include of ``dbtune.conf`` is added
        only after ``initdb`` succeeded (and ``pg_basebackup`` copies it), so a run that was
        killed half-way reads as not initialized and is created again.
        """
        try:
            conf = (self.datadir / "postgresql.conf").read_text()
        except OSError:
            return False
        return (self.datadir / "PG_VERSION").is_file() and CONF_FILE in conf
