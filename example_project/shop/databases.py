"""Build ``DATABASES`` from the environment, without a dj-database-url dependency.

The shop runs on SQLite for a quick look and on PostgreSQL whenever a DSN is given, so the
same code base serves ``runserver`` on a laptop, the test suite and the lab's benchmarks.
Both URL DSNs (``postgresql://user:pass@host:port/db?sslmode=...``) and libpq keyword DSNs
(``host=... dbname=...``, which is what psycopg and the lab hand out) are accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from psycopg.conninfo import conninfo_to_dict

URL_SCHEMES = ("postgres", "postgresql")
CONNECTION_KEYS = {"host": "HOST", "port": "PORT", "user": "USER", "password": "PASSWORD"}


def database_from_dsn(dsn: str) -> dict[str, Any]:
    """Translate one PostgreSQL DSN into a Django ``DATABASES`` entry.

    Parameters Django has no key for (``sslmode``, ``application_name``, ...) go to
    ``OPTIONS`` so psycopg still receives them.
    """
    dsn = dsn.strip()
    if urlsplit(dsn).scheme in URL_SCHEMES:
        params = _url_params(dsn)
    else:
        params = {key: str(value) for key, value in conninfo_to_dict(dsn).items()}
    entry: dict[str, Any] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": params.pop("dbname", "") or params.get("user", "") or "postgres",
    }
    for key, setting in CONNECTION_KEYS.items():
        entry[setting] = params.pop(key, "")
    entry["OPTIONS"] = params
    return entry


def _url_params(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query))
    found = {
        "host": unquote(parts.hostname or ""),
        "port": str(parts.port or ""),
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "dbname": unquote(parts.path.lstrip("/")),
    }
    # A query parameter (``?host=/var/run/postgresql``) wins over an empty URL part.
    for key, value in found.items():
        if value or key not in params:
            params[key] = value
    return {key: value for key, value in params.items() if value}


def databases_from_env(environ: Mapping[str, str], sqlite_path: Path) -> dict[str, Any]:
    """Return ``DATABASES``: PostgreSQL when a DSN is set, else the SQLite file.

    ``DATABASE_URL`` wins over ``DBTUNE_DSN``. ``DBTUNE_REPLICA_DSNS`` (comma separated)
    adds ``replica1``, ``replica2``, ... which mirror ``default`` under test, since they are
    the same data seen through streaming replication. Nothing routes to them until a
    router is configured.
    """
    dsn = environ.get("DATABASE_URL") or environ.get("DBTUNE_DSN")
    if not dsn:
        return {
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(environ.get("SHOP_SQLITE_PATH") or sqlite_path),
            }
        }
    databases = {"default": database_from_dsn(dsn)}
    replica_dsns = [part for part in environ.get("DBTUNE_REPLICA_DSNS", "").split(",") if part]
    for number, replica_dsn in enumerate(replica_dsns, start=1):
        replica = database_from_dsn(replica_dsn)
        replica["TEST"] = {"MIRROR": "default"}
        databases[f"replica{number}"] = replica
    return databases
