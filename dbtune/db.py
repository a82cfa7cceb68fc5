"""Connections to a user's PostgreSQL server for the DBA-facing commands.

Advisors are read-only by default: every session they open sets
``default_transaction_read_only = on`` and a ``statement_timeout``, so a mistake in dbtune
cannot change or stall a production database. Connection problems become one-line
:class:`~dbtune.errors.ConnectionFailed` errors that say how to fix the DSN.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dbtune.errors import ConnectionFailed, DBTuneError

DEFAULT_STATEMENT_TIMEOUT_MS = 30_000


def first_line(exc: BaseException) -> str:
    """The first line of an error's message (psycopg adds DETAIL and HINT lines after it)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def redact(dsn: str) -> str:
    """The DSN with any password replaced, safe for messages and reports."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    try:
        parts = conninfo_to_dict(dsn)
    except Exception:  # an unparsable DSN is shown as a placeholder, never echoed
        return "<unparsable DSN>"
    if "password" in parts:
        parts["password"] = "***"
    return make_conninfo("", **{k: str(v) for k, v in parts.items()})


@contextmanager
def connect(
    dsn: str,
    *,
    read_only: bool = True,
    statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS,
    autocommit: bool = True,
    application_name: str = "dbtune",
) -> Iterator[Any]:
    """A psycopg connection to ``dsn``, read-only unless told otherwise.

    Raises :class:`ConnectionFailed` with one line (password redacted) when the server
    cannot be reached, the DSN is malformed, or authentication fails.
    """
    import psycopg

    options = f"-c statement_timeout={int(statement_timeout_ms)}"
    if read_only:
        options += " -c default_transaction_read_only=on"
    try:
        conn = psycopg.connect(
            dsn,
            autocommit=autocommit,
            connect_timeout=10,
            options=options,
            application_name=application_name,
        )
    except psycopg.ProgrammingError as exc:
        raise ConnectionFailed(
            f"invalid DSN: {first_line(exc)}; use postgresql://USER@HOST:PORT/DBNAME"
        ) from None
    except psycopg.OperationalError as exc:
        raise ConnectionFailed(
            f"cannot connect to {redact(dsn)}: {first_line(exc)}; check host, port, user and "
            "password (or start a local server with `dbtune lab up`)"
        ) from None
    try:
        yield conn
    finally:
        conn.close()


def require_extension(conn: Any, name: str, why: str) -> None:
    """Raise a one-line error unless extension ``name`` is installed in the database."""
    row = conn.execute("SELECT 1 FROM pg_extension WHERE extname = %s", (name,)).fetchone()
    if row is None:
        raise DBTuneError(
            f"extension {name} is not installed in this database ({why}); "
            f"run CREATE EXTENSION {name}; as a superuser, or omit the option that needs it"
        )


def server_version_num(conn: Any) -> int:
    row = conn.execute("SELECT current_setting('server_version_num')::int").fetchone()
    return int(row[0])


def django_database(dsn: str) -> dict[str, Any]:
    """A Django ``DATABASES`` entry for a libpq DSN or URI (PostgreSQL backend)."""
    from psycopg.conninfo import conninfo_to_dict

    parts = conninfo_to_dict(dsn)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": str(parts.get("dbname", "postgres")),
        "USER": str(parts.get("user", "postgres")),
        "PASSWORD": str(parts.get("password", "")),
        "HOST": str(parts.get("host", "127.0.0.1")),
        "PORT": str(parts.get("port", "5432")),
    }
