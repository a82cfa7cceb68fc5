"""``dbtune advise columns`` from the command line: formats, errors, the copy guard."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from dbtune.advisors.columns.server import is_lab
from dbtune.cli import main

DB = "dbtune_columns_cli"


def _dsn(base: str, dbname: str) -> str:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    parts = conninfo_to_dict(base)
    parts["dbname"] = dbname
    return make_conninfo("", **{k: str(v) for k, v in parts.items()})


@pytest.fixture(scope="module")
def cli_db(pg_dsn: str) -> Iterator[str]:
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(DB)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DB)))
    dsn = _dsn(pg_dsn, DB)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE shop_item (id int8 NOT NULL, ok bool NOT NULL, n int8 NOT NULL, "
            "ext varchar(36) NOT NULL, state text NOT NULL)"
        )
        conn.execute(
            "INSERT INTO shop_item SELECT i * 10000000000, true, i % 90, gen_random_uuid()::text, "
            "(ARRAY['a1', 'b2'])[1 + i % 2] FROM generate_series(1, 2000) i"
        )
        conn.execute("CREATE TABLE tiny (a int4)")
        conn.execute("ANALYZE")
    yield dsn
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DB)))


@pytest.fixture
def no_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBTUNE_LAB_DIR", str(tmp_path / "no-lab"))


@pytest.mark.postgres
def test_json_is_the_only_stdout(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["advise", "columns", "--dsn", cli_db, "--format", "json"]) == 0
    out, err = capsys.readouterr()
    document = json.loads(out)
    assert [t["table"] for t in document["tables"]] == ["shop_item"]
    assert document["skipped"] == [
        {"table": "tiny", "reason": "0 rows (fewer than --min-rows 1000)"}
    ]
    table = document["tables"][0]
    assert table["row_bytes_after"] < table["row_bytes_now"]
    kinds = {(f["kind"], tuple(f["columns"])) for f in table["findings"]}
    assert ("retype", ("ext",)) in kinds
    assert ("narrow", ("n",)) in kinds
    assert "columns: shop_item" in err


@pytest.mark.postgres
def test_text_and_django_formats(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["advise", "columns", "--dsn", cli_db, "--table", "shop_item"]) == 0
    text = capsys.readouterr().out
    assert "shop_item" in text
    assert "bytes/row now" in text
    assert "not worth it" in text
    assert main(["advise", "columns", "--dsn", cli_db, "--format", "django"]) == 0
    django = capsys.readouterr().out
    assert "migrations.AlterField" in django
    assert "ACCESS EXCLUSIVE" in django


@pytest.mark.postgres
@pytest.mark.usefixtures("no_lab")
def test_verify_needs_a_lab_or_consent(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["advise", "columns", "--dsn", cli_db, "--verify"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--allow-copies" in err
    assert (
        main(
            ["advise", "columns", "--dsn", cli_db, "--verify", "--allow-copies", "--format", "json"]
        )
        == 0
    )
    document = json.loads(capsys.readouterr().out)
    assert document["tables"][0]["verification"]["within_5_percent"] is True
    with psycopg.connect(cli_db) as conn:
        left = conn.execute(
            "SELECT count(*) FROM pg_namespace WHERE nspname = 'dbtune_scratch'"
        ).fetchone()
    assert left == (0,), "copies and their schema are always dropped"


@pytest.mark.postgres
def test_unknown_table_is_one_line(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["advise", "columns", "--dsn", cli_db, "--table", "nope"]) == 2
    assert "no table nope in schema public" in capsys.readouterr().err


def test_bad_options_and_dsn(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["advise", "columns", "--dsn", "postgresql://x@127.0.0.1:1/db", "--headroom", "0.5"])
        == 2
    )
    assert "--headroom" in capsys.readouterr().err
    assert main(["advise", "columns", "--dsn", "postgresql://x@127.0.0.1:1/db"]) == 2
    assert "cannot connect" in capsys.readouterr().err


def test_lab_detection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dbtune.lab.state import LabState, NodeState, save

    monkeypatch.setenv("DBTUNE_LAB_DIR", str(tmp_path))
    assert not is_lab("postgresql://postgres@127.0.0.1:6543/postgres")
    save(
        tmp_path,
        LabState(
            shared_buffers=1, memory_limit=None, nodes=[NodeState("primary", "primary", 6543)]
        ),
    )
    assert is_lab("postgresql://postgres@127.0.0.1:6543/postgres")
    assert not is_lab("postgresql://postgres@127.0.0.1:6544/postgres")
    assert not is_lab("postgresql://postgres@db.example.com:6543/postgres")
