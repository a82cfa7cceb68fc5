"""Facts about the server the model needs, and whether the lab started it."""

from __future__ import annotations

from typing import Any

from dbtune.advisors.columns.storage import Platform


def server_facts(conn: Any) -> dict[str, Any]:
    """Version, ``MAXALIGN`` (from ``pg_control_init`` when readable, else 8), block size and
    ``wal_level``; ``platform`` is the :class:`Platform` built from them."""
    version_num, version, block_size, wal_level = conn.execute(
        "SELECT current_setting('server_version_num')::int, current_setting('server_version'), "
        "current_setting('block_size')::int, current_setting('wal_level')"
    ).fetchone()
    maxalign, source = 8, "assumed (64-bit build)"
    try:
        row = conn.execute("SELECT max_data_alignment FROM pg_control_init()").fetchone()
        if row and row[0]:
            maxalign, source = int(row[0]), "pg_control_init()"
    except Exception:  # pg_control_init is superuser/pg_monitor only: keep the 64-bit default
        pass
    return {
        "version_num": int(version_num),
        "version": str(version),
        "block_size": int(block_size),
        "maxalign": maxalign,
        "maxalign_source": source,
        "wal_level": str(wal_level),
        "platform": Platform(maxalign, int(block_size)),
    }


def is_lab(dsn: str) -> bool:
    """Whether ``dsn`` points at a node of the lab recorded in ``$DBTUNE_LAB_DIR`` (default
    ``.dbtune-lab``): same local host and port as one of its nodes in ``lab.json``."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        from dbtune.lab.cluster import default_path
        from dbtune.lab.state import load

        parts = conninfo_to_dict(dsn)
        state = load(default_path())
    except Exception:  # no lab package, unreadable lab.json or DSN: not a lab
        return False
    if state is None:
        return False
    host = str(parts.get("host", "localhost"))
    port = int(str(parts.get("port") or 5432))
    local = host in ("127.0.0.1", "localhost", "::1")
    return local and any(node.port == port for node in state.nodes)
