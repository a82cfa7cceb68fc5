"""Test-session wiring: the PostgreSQL tier.

Tests marked ``postgres`` use the database alias ``pg``. It points at ``DBTUNE_TEST_DSN``
when given, otherwise at a lab (primary + 2 streaming replicas) started once for the
session from the embedded PostgreSQL wheel, only if a collected test needs it. The tier
never skips: a server that cannot start fails the run.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_STATE: dict[str, Any] = {"lab": None, "dsn": None, "error": None, "version": None}


def _alias_entry(dsn: str) -> dict[str, Any]:
    from dbtune.db import django_database

    return {**django_database(dsn), "TEST": {"NAME": "test_dbtune", "DEPENDENCIES": []}}


def _register_alias(name: str, dsn: str) -> None:
    from django.conf import settings
    from django.db import connections

    settings.DATABASES[name] = _alias_entry(dsn)
    connections.__dict__.pop("settings", None)
    connections.settings = connections.configure_settings(settings.DATABASES)


def _start_postgres() -> None:
    dsn = os.environ.get("DBTUNE_TEST_DSN")
    if not dsn:
        from dbtune.lab import Lab

        path = Path(tempfile.mkdtemp(prefix="dbtune-test-lab-"))
        lab = Lab(path=path, replicas=2, shared_buffers="64MB")
        _STATE["lab"] = lab
        lab.up()
        dsn = lab.primary.dsn("postgres")
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        _STATE["version"] = row[0] if row else "?"
    _STATE["dsn"] = dsn
    _register_alias("pg", dsn)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not any(item.get_closest_marker("postgres") for item in items):
        return
    try:
        _start_postgres()
    except Exception as exc:  # the tier never skips: a server that cannot start is an error
        _STATE["error"] = f"{type(exc).__name__}: {exc}"
        raise pytest.UsageError(
            f"the PostgreSQL tier could not start a server: {_STATE['error']}"
        ) from exc


def pytest_report_header(config: pytest.Config) -> list[str]:
    source = os.environ.get("DBTUNE_TEST_DSN") and "DBTUNE_TEST_DSN" or "lab (embedded wheel)"
    return [f"dbtune PostgreSQL tier: {source} (required: never skipped)"]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _STATE["version"]:
        terminalreporter.write_line(f"dbtune PostgreSQL tier ran on server {_STATE['version']}")


def pytest_unconfigure(config: pytest.Config) -> None:
    lab = _STATE.get("lab")
    if lab is not None:
        lab.down(remove=True)


@pytest.fixture(scope="session")
def lab() -> Iterator[Any]:
    """The session's lab (primary + 2 replicas); fails when an external DSN is used."""
    if _STATE["lab"] is None:
        pytest.fail("this test needs the lab's replicas; unset DBTUNE_TEST_DSN to run it")
    return _STATE["lab"]


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    """Admin DSN of the session's PostgreSQL server (database ``postgres``)."""
    if not _STATE["dsn"]:
        pytest.fail("the PostgreSQL tier was not started; mark the test @pytest.mark.postgres")
    return str(_STATE["dsn"])
