"""The example shop boots, its migrations are complete, seeding is deterministic, and every
page answers ``?fixed=1`` with the same payload in fewer queries.

The shop has its own settings and apps, so it cannot share this suite's Django
configuration: everything that needs the shop configured runs ``manage.py`` in a
subprocess against a temporary SQLite file (or, in the PostgreSQL tier, a scratch database
on the session's PostgreSQL server) and reports back as JSON.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shop.databases import database_from_dsn, databases_from_env
from shop.pages import PAGES, fixed_url

EXAMPLE = Path(__file__).resolve().parent.parent / "example_project"
MANAGE = EXAMPLE / "manage.py"
SHOP_TABLES = {
    "accounts_address",
    "accounts_customer",
    "accounts_profile",
    "catalog_category",
    "catalog_product",
    "catalog_product_tags",
    "catalog_review",
    "catalog_tag",
    "orders_legacyorderlog",
    "orders_order",
    "orders_orderitem",
    "shipping_carrier",
    "shipping_shipment",
}
MARKER = "SHOPCHECK "

# Runs inside the shop: seeds once per seed in SHOP_CHECK_SEEDS (checksumming the tables
# after each), proves the sequences moved past the copied keys, then requests every page
# plain and fixed, counting queries.
CHECK_SCRIPT = """
import hashlib, json, os, warnings
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from accounts.models import Customer
from shop.generate import BASE_TIME
from shop.pages import PAGES, fixed_url
from shop.seeding import seed, shop_models

warnings.filterwarnings("error", category=RuntimeWarning)


def checksums():
    sums = {}
    for model in shop_models():
        digest = hashlib.sha256()
        for row in model._base_manager.order_by("pk").values_list():
            digest.update(repr(row).encode())
        sums[model._meta.db_table] = digest.hexdigest()
    return sums


call_command("migrate", verbosity=0)
scale = float(os.environ["SHOP_CHECK_SCALE"])
runs = []
for number in os.environ["SHOP_CHECK_SEEDS"].split(","):
    counts = seed(scale, seed=int(number), log=lambda line: None)
    runs.append({"seed": int(number), "counts": counts, "checksums": checksums()})
with transaction.atomic():
    new_pk = Customer.objects.create(email="x@example.com", name="X", created_at=BASE_TIME).pk
    transaction.set_rollback(True)
pages = {}
client = Client()
for name, path in PAGES if os.environ.get("SHOP_CHECK_PAGES") == "1" else []:
    pages[name] = {}
    for variant, url in (("plain", path), ("fixed", fixed_url(path))):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        pages[name][variant] = {
            "status": response.status_code,
            "queries": len(queries),
            "content_type": response["Content-Type"],
            "body": response.content.decode(),
        }
print("SHOPCHECK " + json.dumps({"runs": runs, "new_pk": new_pk, "pages": pages}))
"""


def shop_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a shop subprocess: its own settings, a scratch SQLite file."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "DBTUNE_DSN", "DBTUNE_REPLICA_DSNS"}
    }
    env["DJANGO_SETTINGS_MODULE"] = "shop.settings"
    env["SHOP_SQLITE_PATH"] = str(tmp_path / "shop.sqlite3")
    env.update(extra)
    return env


def manage(
    env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, str(MANAGE), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stderr}"
    return result


def run_check(env: dict[str, str], scale: float, seeds: str, pages: bool) -> dict[str, Any]:
    env = {**env, "SHOP_CHECK_SCALE": str(scale), "SHOP_CHECK_SEEDS": seeds}
    env["SHOP_CHECK_PAGES"] = "1" if pages else "0"
    result = manage(env, "shell", "-v", "0", "-c", CHECK_SCRIPT)
    lines = [line for line in result.stdout.splitlines() if line.startswith(MARKER)]
    assert lines, f"no report from the shop:\n{result.stdout}\n{result.stderr}"
    return json.loads(lines[-1][len(MARKER) :])


@pytest.fixture(scope="module")
def sqlite_check(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Seeds 8, then 7 twice, at scale 0.05 on SQLite, then requests every page."""
    tmp_path = tmp_path_factory.mktemp("shop")
    return run_check(shop_env(tmp_path, SHOP_DBTUNE="0"), 0.05, "8,7,7", pages=True)


def test_check_passes(tmp_path: Path) -> None:
    result = manage(shop_env(tmp_path), "check")
    assert "no issues" in result.stdout


def test_migrations_are_complete(tmp_path: Path) -> None:
    apps = ("shop", "accounts", "catalog", "orders", "shipping")
    manage(shop_env(tmp_path), "makemigrations", "--check", "--dry-run", *apps)


def test_seed_fills_every_table(sqlite_check: dict[str, Any]) -> None:
    counts = sqlite_check["runs"][-1]["counts"]
    assert set(counts) == SHOP_TABLES
    assert all(rows > 0 for rows in counts.values()), counts
    assert max(counts, key=counts.__getitem__) == "orders_legacyorderlog"


def test_reseeding_with_the_same_seed_gives_the_same_rows(sqlite_check: dict[str, Any]) -> None:
    first, second = sqlite_check["runs"][1:]
    assert first["counts"] == second["counts"]
    assert first["checksums"] == second["checksums"]


def test_another_seed_gives_other_rows(sqlite_check: dict[str, Any]) -> None:
    other, ours = sqlite_check["runs"][:2]
    changed = [
        table for table in SHOP_TABLES if other["checksums"][table] != ours["checksums"][table]
    ]
    assert "orders_legacyorderlog" in changed
    assert "accounts_customer" in changed


def test_sequences_continue_after_the_seeded_keys(sqlite_check: dict[str, Any]) -> None:
    assert sqlite_check["new_pk"] == sqlite_check["runs"][-1]["counts"]["accounts_customer"] + 1


@pytest.mark.parametrize(("name", "path"), PAGES, ids=[name for name, _ in PAGES])
def test_fixed_page_gives_same_payload_with_fewer_queries(
    sqlite_check: dict[str, Any], name: str, path: str
) -> None:
    plain, fixed = sqlite_check["pages"][name]["plain"], sqlite_check["pages"][name]["fixed"]
    assert plain["status"] == fixed["status"] == 200
    assert plain["content_type"] == fixed["content_type"]
    if plain["content_type"] == "application/json":
        assert json.loads(plain["body"]) == json.loads(fixed["body"])
    else:
        assert plain["body"] == fixed["body"]
    assert fixed["queries"] < plain["queries"]


def test_pages_list_data_not_placeholders(sqlite_check: dict[str, Any]) -> None:
    """An empty list would make plain and fixed agree trivially."""
    bodies = {name: page["plain"]["body"] for name, page in sqlite_check["pages"].items()}
    for name in ("orders", "order_audit", "products", "shipping_board"):
        payload = json.loads(bodies[name])
        (rows,) = (value for value in payload.values() if isinstance(value, list))
        assert rows, f"{name} listed nothing"
    assert bodies["customers_dashboard"].count("<tr>") > 10


def test_pages_work_with_dbtune_installed(tmp_path: Path) -> None:
    report = run_check(shop_env(tmp_path, SHOP_DBTUNE="1"), 0.02, "42", pages=True)
    for name, page in report["pages"].items():
        assert page["plain"]["body"] == page["fixed"]["body"], name
        assert page["plain"]["status"] == 200, name


def test_seed_command_reports_counts(tmp_path: Path) -> None:
    env = shop_env(tmp_path, SHOP_DBTUNE="0")
    manage(env, "migrate", "-v", "0")
    result = manage(env, "seed", "--scale", "0.02", "--seed", "3", "--format", "json")
    counts = json.loads(result.stdout)
    assert set(counts) == SHOP_TABLES
    summaries = [line for line in result.stderr.splitlines() if line.startswith("seed ")]
    assert len(summaries) == len(SHOP_TABLES) + 1
    assert "total" in summaries[-1]


def test_readme_answer_key_points_at_code() -> None:
    """The README's ``file:line`` answer key must survive edits to the views."""
    readme = (EXAMPLE / "README.md").read_text()
    references = set(re.findall(r"([\w/]+\.(?:py|html)):(\d+)", readme))
    assert len(references) > 20
    for name, number in sorted(references):
        lines = (EXAMPLE / name).read_text().splitlines()
        assert int(number) <= len(lines), f"{name}:{number} is past the end"
        assert lines[int(number) - 1].strip(), f"{name}:{number} is blank"


def test_fixed_url_appends_to_the_query_string() -> None:
    assert fixed_url("/orders/") == "/orders/?fixed=1"
    assert fixed_url("/orders/?status=paid") == "/orders/?status=paid&fixed=1"


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        pytest.param(
            "postgresql://shop:s%40cret@db.internal:6432/shop?sslmode=require",
            {
                "NAME": "shop",
                "USER": "shop",
                "PASSWORD": "s@cret",
                "HOST": "db.internal",
                "PORT": "6432",
                "OPTIONS": {"sslmode": "require"},
            },
            id="url",
        ),
        pytest.param(
            "postgres:///shop?host=/var/run/postgresql",
            {"NAME": "shop", "USER": "", "HOST": "/var/run/postgresql", "PORT": "", "OPTIONS": {}},
            id="url-socket-dir",
        ),
        pytest.param(
            "host=127.0.0.1 port=5433 user=postgres dbname=lab application_name=demo",
            {
                "NAME": "lab",
                "USER": "postgres",
                "HOST": "127.0.0.1",
                "PORT": "5433",
                "OPTIONS": {"application_name": "demo"},
            },
            id="keywords",
        ),
    ],
)
def test_database_from_dsn(dsn: str, expected: dict[str, Any]) -> None:
    entry = database_from_dsn(dsn)
    assert entry["ENGINE"] == "django.db.backends.postgresql"
    assert {key: entry[key] for key in expected} == expected


def test_databases_default_to_sqlite(tmp_path: Path) -> None:
    databases = databases_from_env({}, tmp_path / "db.sqlite3")
    assert databases == {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "db.sqlite3")}
    }


def test_databases_add_replicas_that_mirror_default(tmp_path: Path) -> None:
    environ = {
        "DBTUNE_DSN": "postgresql://u@primary/shop",
        "DBTUNE_REPLICA_DSNS": "postgresql://u@r1/shop, postgresql://u@r2/shop",
    }
    databases = databases_from_env(environ, tmp_path / "unused.sqlite3")
    assert list(databases) == ["default", "replica1", "replica2"]
    assert databases["replica2"]["HOST"] == "r2"
    assert databases["replica1"]["TEST"] == {"MIRROR": "default"}


@pytest.mark.postgres
def test_postgres_copy_seed_matches_sqlite(tmp_path: Path, pg_dsn: str) -> None:
    """COPY on PostgreSQL and bulk_create on SQLite must write exactly the same rows."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    dsn = pg_dsn
    database = "dbtune_example_shop"
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    try:
        env = shop_env(tmp_path, SHOP_DBTUNE="0", DBTUNE_DSN=make_conninfo(dsn, dbname=database))
        on_postgres = run_check(env, 0.1, "5,5", pages=True)
    finally:
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )
    on_sqlite = run_check(shop_env(tmp_path, SHOP_DBTUNE="0"), 0.1, "5", pages=False)

    first, second = on_postgres["runs"]
    assert first["checksums"] == second["checksums"]
    assert first["counts"] == on_sqlite["runs"][0]["counts"]
    assert first["checksums"] == on_sqlite["runs"][0]["checksums"]
    assert on_postgres["new_pk"] == first["counts"]["accounts_customer"] + 1
    for name, page in on_postgres["pages"].items():
        assert page["plain"]["status"] == 200, name
        assert page["plain"]["body"] == page["fixed"]["body"], name
        assert page["fixed"]["queries"] < page["plain"]["queries"], name
