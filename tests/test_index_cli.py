"""``dbtune advise indexes`` end to end: JSON/text/django output, exit codes, migrations.

The Django test builds a throw-away project (one app, its initial migration, a scratch
database), runs ``manage.py dbtune advise indexes --write-migrations`` and checks that
``makemigrations --check`` has nothing to do and that ``migrate`` builds the index.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from dbtune.cli import main
from tests.test_index_schema import scratch_database

pytestmark = pytest.mark.postgres

SCHEMA = """
CREATE TABLE items (id serial PRIMARY KEY, code text NOT NULL, kind int NOT NULL);
INSERT INTO items (code, kind) SELECT 'code-' || i, i % 7 FROM generate_series(1, 50000) i;
ANALYZE;
"""


@pytest.fixture(scope="module")
def dsn(pg_dsn: str) -> Iterator[str]:
    with scratch_database(pg_dsn, "dbtune_test_index_cli", SCHEMA) as url:
        yield url


@pytest.fixture
def workload(tmp_path: Path) -> Path:
    path = tmp_path / "workload.sql"
    path.write_text(
        "SELECT * FROM items WHERE code = %s;\n"
        "SELECT * FROM items WHERE code = 'code-7';\n"
        "this is not SQL;\n"
        "SELECT * FROM pg_class WHERE relname = 'x';\n"
        "SELECT * FROM nowhere;\n"
        "SELECT pg_sleep(0);\n"
    )
    return path


def test_json_is_one_document_and_bad_statements_do_not_fail(
    dsn: str, workload: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        ["advise", "indexes", "--dsn", dsn, "--workload", str(workload), "--format", "json"]
    )
    out, err = capsys.readouterr()
    assert status == 0
    document = json.loads(out)
    (suggestion,) = document["suggestions"]
    keys = {"table", "columns", "include", "where", "method", "sql", "cost_before", "cost_after"}
    assert keys | {"statements", "size_bytes", "validated"} <= set(suggestion)
    assert suggestion["table"] == "items"
    assert suggestion["columns"] == ["code"]
    assert len(suggestion["statements"]) == 1
    reasons = {s["reason"].split(":")[0] for s in document["skipped"]}
    assert {"parse error", "system catalog pg_class", "unknown relation nowhere"} <= reasons
    assert {"unused_indexes", "duplicate_indexes"} <= set(document)


def test_text_output_explains(dsn: str, workload: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["advise", "indexes", "--dsn", dsn, "--workload", str(workload)]) == 0
    out = capsys.readouterr().out
    assert "items (code)" in out
    assert "CREATE INDEX CONCURRENTLY" in out
    assert "why: code = $1" in out
    assert "cost " in out
    assert "->" in out


def test_fail_on(dsn: str, workload: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["advise", "indexes", "--dsn", dsn, "--workload", str(workload), "--format", "json"]
    assert main([*args, "--fail-on", "suggestions"]) == 1
    assert main([*args, "--fail-on", "invalid"]) == 0
    capsys.readouterr()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--workload", "/nonexistent/w.sql"], "cannot read workload file"),
        (["--verify"], "--verify creates indexes"),
    ],
)
def test_usage_errors_are_one_line(
    dsn: str, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["advise", "indexes", "--dsn", dsn, *extra]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_unreachable_server(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "w.sql").write_text("SELECT 1")
    dsn = "postgresql://nobody:secret@127.0.0.1:1/db"
    assert main(["advise", "indexes", "--dsn", dsn, "--workload", str(tmp_path / "w.sql")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dbtune: error: cannot connect")
    assert "secret" not in err


MODELS = """
from django.db import models


class Customer(models.Model):
    email = models.CharField(max_length=254)
    name = models.TextField()


class Order(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE)
    status = models.CharField(max_length=16)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
"""

WORKLOAD = """
SELECT * FROM shopapp_order WHERE status = %s ORDER BY created_at DESC LIMIT 20;
SELECT * FROM shopapp_customer
WHERE UPPER(shopapp_customer.email::text) = UPPER('USER5@EXAMPLE.COM');
SELECT * FROM shopapp_order WHERE customer_id = 5;
"""

DATA = """
INSERT INTO shopapp_customer (email, name) SELECT 'user' || i || '@example.com', 'n' || i
FROM generate_series(1, 40000) i;
INSERT INTO shopapp_order (customer_id, status, created_at)
SELECT 1 + i % 40000, (ARRAY['new', 'paid', 'sent', 'done'])[1 + i % 4],
       now() - i * interval '1 minute'
FROM generate_series(1, 80000) i;
ANALYZE;
"""


def _project(root: Path, dsn: str) -> dict[str, str]:
    from psycopg.conninfo import conninfo_to_dict

    parts = conninfo_to_dict(dsn)
    (root / "proj").mkdir()
    (root / "proj" / "__init__.py").write_text("")
    settings = f"""
        SECRET_KEY = "x"
        USE_TZ = True
        DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
        INSTALLED_APPS = ["django.contrib.postgres", "dbtune", "shopapp"]
        DATABASES = {{"default": {{"ENGINE": "django.db.backends.postgresql",
            "NAME": {parts["dbname"]!r}, "USER": {parts.get("user", "postgres")!r},
            "HOST": {parts.get("host", "127.0.0.1")!r}, "PORT": {str(parts.get("port", 5432))!r}}}}}
    """
    (root / "proj" / "settings.py").write_text(textwrap.dedent(settings))
    (root / "shopapp" / "migrations").mkdir(parents=True)
    (root / "shopapp" / "__init__.py").write_text("")
    (root / "shopapp" / "migrations" / "__init__.py").write_text("")
    (root / "shopapp" / "models.py").write_text(MODELS)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "PG"))}
    env.update(DJANGO_SETTINGS_MODULE="proj.settings", PYTHONPATH=f"{root}{os.pathsep}{Path.cwd()}")
    return env


def _django(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "django", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_django_migrations_round_trip(pg_dsn: str, tmp_path: Path) -> None:
    import psycopg

    with scratch_database(pg_dsn, "dbtune_test_index_django", "SELECT 1") as dsn:
        env = _project(tmp_path, dsn)
        assert _django(tmp_path, env, "makemigrations", "shopapp").returncode == 0
        assert _django(tmp_path, env, "migrate").returncode == 0
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(DATA)
        (tmp_path / "w.sql").write_text(WORKLOAD)
        run = _django(
            tmp_path,
            env,
            "dbtune",
            "--database",
            "default",
            "advise",
            "indexes",
            "--workload",
            str(tmp_path / "w.sql"),
            "--format",
            "django",
            "--write-migrations",
        )
        assert run.returncode == 0, run.stderr
        assert "AddIndexConcurrently" in run.stdout
        migration = (tmp_path / "shopapp" / "migrations" / "0002_dbtune_indexes.py").read_text()
        assert "atomic = False" in migration
        assert 'dependencies = [("shopapp", "0001_initial")]' in migration
        assert 'fields=["status", "created_at"]' in migration
        assert 'Upper("email")' in migration
        models = (tmp_path / "shopapp" / "models.py").read_text()
        assert "from django.db.models.functions import Upper" in models
        assert models.count("indexes = [") == 2
        check = _django(tmp_path, env, "makemigrations", "--check", "--dry-run")
        assert check.returncode == 0, check.stdout + check.stderr
        assert _django(tmp_path, env, "migrate").returncode == 0
        with psycopg.connect(dsn) as conn:
            names = {
                r[0]
                for r in conn.execute(
                    "SELECT indexname FROM pg_indexes WHERE tablename LIKE 'shopapp_%'"
                )
            }
        assert {"shopapp_order_status_created_at_idx"} <= names or any("status" in n for n in names)
        assert any("upper" in n for n in names)
