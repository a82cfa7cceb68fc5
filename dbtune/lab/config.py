"""Sizes, ports and the server configuration every lab node runs with.

The settings trade durability for speed because a lab holds throw-away data: ``fsync=off``
and ``full_page_writes=off`` skip disk flushes. ``synchronous_commit`` stays ``on``: with
fsync off it costs next to nothing, and it guarantees that a commit's WAL is written before
the commit returns, which LSN-based read-your-writes routing relies on.
"""

from __future__ import annotations

import re
import socket

from dbtune.errors import LabError

HOST = "127.0.0.1"
CONF_FILE = "dbtune.conf"
MIN_SHARED_BUFFERS = 128 * 1024

_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2}
_UNITS |= {"g": 1024**3, "gb": 1024**3, "t": 1024**4, "tb": 1024**4}
_SIZE = re.compile(r"\s*(\d+)\s*([a-z]*)\s*", re.IGNORECASE)

HBA = f"""# written by dbtune lab: trust on {HOST} only, no unix sockets
host all all {HOST}/32 trust
host replication all {HOST}/32 trust
"""


def parse_size(text: str, what: str = "size") -> int:
    """Bytes in ``text`` such as ``"512MB"``, ``"1GB"``, ``"64kB"`` or ``"1048576"``.

    Units are powers of 1024 as in PostgreSQL, case-insensitive, with optional ``B``.
    Raises :class:`LabError` naming ``what`` (e.g. ``"--shared-buffers"``) when malformed.
    """
    match = _SIZE.fullmatch(text)
    if match is None or match.group(2).lower() not in _UNITS:
        raise LabError(f"{what} {text!r} is not a size; use a number with kB, MB, GB or TB")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def pg_size(size_bytes: int) -> str:
    """``size_bytes`` in the ``kB`` unit PostgreSQL accepts in its configuration."""
    return f"{size_bytes // 1024}kB"


def free_port(exclude: set[int] | frozenset[int] = frozenset()) -> int:
    """A TCP port on :data:`HOST` that nothing listens on now (the kernel picks it)."""
    for _ in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((HOST, 0))
            port = int(sock.getsockname()[1])
        if port not in exclude:
            return port
    raise LabError(f"no free TCP port on {HOST}; close some servers and retry")


def port_is_free(port: int) -> bool:
    """Whether ``port`` can be bound on :data:`HOST` right now.

    ``SO_REUSEADDR`` is set as PostgreSQL sets it, so connections of an earlier server
    lingering in TIME_WAIT do not make the port look taken.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def server_settings(
    *, name: str, port: int, shared_buffers: int, replica: bool
) -> dict[str, str | int]:
    """The ``postgresql.conf`` settings of one node (rewritten before every start)."""
    settings: dict[str, str | int] = {
        "listen_addresses": HOST,
        "port": port,
        "unix_socket_directories": "",
        "cluster_name": name,
        "max_connections": 100,
        "shared_buffers": pg_size(shared_buffers),
        "shared_preload_libraries": "pg_stat_statements",
        "track_io_timing": "on",
        "wal_level": "replica",
        "max_wal_senders": 16,
        "max_replication_slots": 16,
        "hot_standby": "on",
        "hot_standby_feedback": "on",
        "wal_receiver_status_interval": "1s",
        "fsync": "off",
        "full_page_writes": "off",
        "synchronous_commit": "on",
        "logging_collector": "off",
        "log_line_prefix": "%m [%p] ",
        "lc_messages": "C",
    }
    if not replica:
        settings["hot_standby_feedback"] = "off"
    return settings


def render_conf(settings: dict[str, str | int]) -> str:
    """``postgresql.conf`` lines for ``settings`` (strings quoted, quotes doubled)."""
    lines = ["# written by dbtune lab before each start; edits are overwritten"]
    for key, value in settings.items():
        text = str(value) if isinstance(value, int) else "'" + value.replace("'", "''") + "'"
        lines.append(f"{key} = {text}")
    return "\n".join(lines) + "\n"


def human_size(size_bytes: int) -> str:
    """``size_bytes`` in the largest unit that divides it, as ``SHOW`` prints sizes."""
    for unit, factor in (("TB", 1024**4), ("GB", 1024**3), ("MB", 1024**2), ("kB", 1024)):
        if size_bytes % factor == 0:
            return f"{size_bytes // factor}{unit}"
    return f"{size_bytes}B"
