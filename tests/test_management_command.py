"""``manage.py dbtune``: same subcommands as the console script, ``--database`` as ``--dsn``."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from dbtune.management.commands.dbtune import dsn_for_alias


def test_database_alias_must_exist() -> None:
    with pytest.raises(CommandError, match="not in DATABASES"):
        dsn_for_alias("nope")


def test_sqlite_alias_is_refused_for_dsn() -> None:
    with pytest.raises(CommandError, match="not a PostgreSQL database"):
        dsn_for_alias("default")


def test_subcommand_is_required() -> None:
    with pytest.raises(CommandError, match="give a subcommand"):
        call_command("dbtune")


@pytest.mark.postgres
def test_hyphenated_alias_runs_the_advisor(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        call_command(
            "dbtune", "--database", "pg", "advise-indexes", "--workload", "/nonexistent.sql"
        )
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("dbtune: error:")
    assert "nonexistent.sql" in err


@pytest.mark.postgres
def test_database_alias_becomes_dsn() -> None:
    dsn = dsn_for_alias("pg")
    assert "dbname=" in dsn
    assert "host=" in dsn
