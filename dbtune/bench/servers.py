"""The servers a benchmark drives: lab nodes it starts itself, or the user's own servers.

A :class:`Server` knows its DSN *to the benchmark's database* and whether this run owns
it. On an owned server (a lab node) the harness creates, fills, resets and drops freely.
On a server the lab did not start it creates and drops only its own schema
(:data:`SCHEMA`), and only after the user passed ``--allow-writes``; it never touches
anything else there.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbtune.errors import DBTuneError

SCHEMA = "dbtune_bench"
BENCH_DATABASE = "dbtune_bench"
log = logging.getLogger("dbtune.bench")


@dataclass
class Server:
    """One PostgreSQL server in a benchmark topology.

    ``name`` is how reports call it (``single``, ``a``, ``b-orders``...). ``lab_dir`` and
    ``postmaster_pid`` are known for lab nodes only; ``memory_limit`` is the cgroup limit in
    bytes when one is in force; ``cgroup`` its folder.
    """

    name: str
    dsn: str
    owned: bool
    lab_dir: Path | None = None
    cgroup: Path | None = None
    memory_limit: int | None = None
    node: str = "primary"
    """The lab node this server is (``primary``, ``replica1``...), for lab servers."""

    def connect(self, **kwargs: Any) -> Any:
        """An autocommit connection; one-line :class:`DBTuneError` when unreachable."""
        import psycopg

        from dbtune.db import redact

        try:
            return psycopg.connect(self.dsn, autocommit=True, connect_timeout=10, **kwargs)
        except psycopg.Error as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise DBTuneError(
                f"cannot connect to {self.name} ({redact(self.dsn)}): {reason}"
            ) from None

    def postmaster_pid(self) -> int | None:
        node = self._node()
        return node.postmaster_pid() if node is not None else None

    def is_running(self) -> bool | None:
        """Whether the lab node runs; ``None`` for a server the lab did not start."""
        node = self._node()
        return node.is_running() if node is not None else None

    def log_tail(self) -> str:
        node = self._node()
        return node.log_tail(lines=2) if node is not None else ""

    def _node(self) -> Any:
        if self.lab_dir is None:
            return None
        from dbtune.lab import Lab

        with contextlib.suppress(DBTuneError):
            return Lab(self.lab_dir, replicas=0).node(self.node)
        return None


def lab_server(name: str, lab: Any, database: str = BENCH_DATABASE) -> Server:
    """The primary of a running ``lab`` as an owned server with a benchmark database."""
    from dbtune.lab import state

    lab.create_database(database)
    recorded = state.load(lab.path)
    item = recorded.nodes[0] if recorded is not None and recorded.nodes else None
    cgroup = Path(item.cgroup) if item is not None and item.cgroup else None
    limit = recorded.memory_limit if recorded is not None and cgroup is not None else None
    return Server(
        name=name,
        dsn=lab.primary.dsn(database),
        owned=True,
        lab_dir=lab.path,
        cgroup=cgroup,
        memory_limit=limit,
    )


def lab_node_server(name: str, lab: Any, node: str, database: str = BENCH_DATABASE) -> Server:
    """Node ``node`` (say ``replica1``) of a running multi-node ``lab`` as an owned server.

    The database must already exist (created on the primary, replicated to standbys).
    """
    from dbtune.lab import state

    item = state.load(lab.path).node(node)  # type: ignore[union-attr]  # the lab runs
    cgroup = Path(item.cgroup) if item.cgroup else None
    return Server(
        name=name,
        dsn=lab.node(node).dsn(database),
        owned=True,
        lab_dir=lab.path,
        cgroup=cgroup,
        memory_limit=read_memory_limit(cgroup) if cgroup else None,
        node=node,
    )


def read_memory_limit(group: Path) -> int | None:
    """The limit in force on a node's cgroup in bytes (``None`` if unreadable or unlimited)."""
    for name in ("memory.limit_in_bytes", "memory.max"):
        with contextlib.suppress(OSError, ValueError):
            text = (group / name).read_text().strip()
            return None if text == "max" else int(text)
    return None


def user_server(name: str, dsn: str, *, allow_writes: bool) -> Server:
    """A server given with ``--dsn``; refuses to go on without ``--allow-writes``.

    The benchmark needs its own tables, so a server the lab did not start is only used
    when the user said so explicitly; the connection is checked at once.
    """
    if not allow_writes:
        raise DBTuneError(
            f"the benchmark creates its own tables (schema {SCHEMA}) on {name}; on a server "
            "the lab did not start pass --allow-writes to agree (nothing else is touched)"
        )
    server = Server(name=name, dsn=dsn, owned=False)
    server.connect().close()
    return server


def start_lab(
    folder: Path, *, shared_buffers: str, memory_limit: str | None, replicas: int = 0
) -> Any:
    """Start (or reuse) a lab in ``folder`` with these settings and return it.

    A lab already running there with other settings is stopped and started again, so the
    benchmark always measures the memory it reports.
    """
    from dbtune.lab import Lab, parse_size
    from dbtune.lab import state as lab_state

    lab = Lab(folder, replicas=replicas, shared_buffers=shared_buffers, memory_limit=memory_limit)
    recorded = lab_state.load(lab.path)
    if recorded is not None and recorded.nodes and lab.is_running():
        wanted = (parse_size(shared_buffers), memory_limit and parse_size(memory_limit))
        if (recorded.shared_buffers, recorded.memory_limit) != wanted:
            lab.down()
    lab.up()
    return lab


def shared_buffers_bytes(server: Server) -> int:
    with server.connect() as conn:
        row = conn.execute("SELECT pg_size_bytes(current_setting('shared_buffers'))").fetchone()
    return int(row[0])
