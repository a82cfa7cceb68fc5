"""Is a DSN a server the dbtune lab started? Index builds are only allowed there.

Conservative on purpose: the DSN must point at this machine (loopback address, or a Unix
socket), a running lab's ``lab.json`` must list a node on that port whose postmaster is
alive, and the server itself must confirm it: its ``data_directory`` (when the role may
read it) is that node's data folder, or else its ``cluster_name`` and ``port`` are the
node's. Labs are looked for in ``DBTUNE_LAB_DIR``, ``./.dbtune-lab`` and any folder given.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

LOOPBACK = frozenset({"", "localhost", "127.0.0.1", "::1"})
DEFAULT_LAB_DIR = ".dbtune-lab"


def lab_dirs(extra: Iterable[Path] = ()) -> list[Path]:
    folders = [Path(p) for p in extra]
    if os.environ.get("DBTUNE_LAB_DIR"):
        folders.append(Path(os.environ["DBTUNE_LAB_DIR"]))
    folders.append(Path.cwd() / DEFAULT_LAB_DIR)
    return folders


def _nodes(folder: Path) -> list[tuple[str, int, Path]]:
    try:
        state = json.loads((folder / "lab.json").read_text())
        return [
            (str(n["name"]), int(n["port"]), folder / str(n["name"]) / "data")
            for n in state.get("nodes", [])
        ]
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return []


def _alive(datadir: Path) -> bool:
    try:
        pid = int((datadir / "postmaster.pid").read_text().split("\n", 1)[0])
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def lab_node(dsn: str, conn: Any, extra_dirs: Iterable[Path] = ()) -> str | None:
    """The lab node ``dsn`` reaches (``"<lab folder>:<node>"``), or ``None``."""
    from psycopg.conninfo import conninfo_to_dict

    parts = conninfo_to_dict(dsn)
    host = str(parts.get("host") or parts.get("hostaddr") or "")
    if host not in LOOPBACK and not host.startswith("/"):
        return None
    port = int(str(parts.get("port") or 5432).split(",")[0])
    cluster, server_port = conn.execute(
        "SELECT current_setting('cluster_name'), current_setting('port')::int"
    ).fetchone()
    try:
        datadir = conn.execute("SELECT current_setting('data_directory')").fetchone()[0]
    except Exception:  # only privileged roles may read it; cluster_name decides then
        datadir = None
    for folder in lab_dirs(extra_dirs):
        for name, node_port, node_datadir in _nodes(folder):
            if node_port != port or server_port != port or not _alive(node_datadir):
                continue
            if datadir:
                if Path(datadir).resolve() == node_datadir.resolve():
                    return f"{folder}:{name}"
            elif cluster == name:
                return f"{folder}:{name}"
    return None
