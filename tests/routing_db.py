"""Throw-away databases for the routing planner and stats tests, on the session's server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql


def dsn_for(base: str, dbname: str, **changes: str) -> str:
    """``base`` pointing at database ``dbname`` (and any other libpq ``changes``)."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    parts = {k: str(v) for k, v in conninfo_to_dict(base).items()}
    parts.update(dbname=dbname, **changes)
    return make_conninfo("", **parts)


@contextmanager
def scratch_db(admin_dsn: str, name: str, *, template: str = "template1") -> Iterator[str]:
    """A fresh database ``name`` (from ``template``), dropped afterwards; yields its DSN.

    ``template1`` in the lab carries pg_stat_statements and pg_buffercache; ``template0``
    has no extensions.
    """
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(drop)
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
    try:
        yield dsn_for(admin_dsn, name)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(drop)


def wait_for_stats(dsn: str, table: str, timeout: float = 15.0) -> None:
    """Wait until ``pg_statio_user_tables`` on ``dsn`` shows block accesses of ``table``.

    Backends flush their statistics at exit or when idle, so a count is not visible the
    moment the reading connection closes.
    """
    deadline = time.monotonic() + timeout
    query = (
        "SELECT coalesce(heap_blks_hit, 0) + coalesce(heap_blks_read, 0) "
        "FROM pg_statio_user_tables WHERE relname = %s"
    )
    while True:
        with psycopg.connect(dsn, autocommit=True) as conn:
            row = conn.execute(query, (table,)).fetchone()
        if row is not None and row[0] > 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"no statistics for {table} on {dsn} after {timeout} s")
        time.sleep(0.2)
