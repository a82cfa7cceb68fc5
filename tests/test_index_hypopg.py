"""The index advisor with HypoPG, on a second server: Debian's PostgreSQL 15 + hypopg.

The server is a lab started from ``DBTUNE_PG_BIN=/usr/lib/postgresql/15/bin`` (install it
with ``apt-get install -y postgresql-15 postgresql-15-hypopg``). PostgreSQL 15 has no
``EXPLAIN (GENERIC_PLAN)``, so ``$1`` statements also exercise the ``PREPARE`` +
``force_generic_plan`` path. The module never skips: missing binaries or HypoPG fail it
with the install command (``.ci/run`` installs both).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dbtune.advisors.indexes import advise
from dbtune.advisors.indexes.labcheck import lab_node
from tests.test_index_schema import CASES, Expected, check, scratch_database

pytestmark = pytest.mark.postgres

PG15_BIN = Path(os.environ.get("DBTUNE_HYPOPG_BIN", "/usr/lib/postgresql/15/bin"))
HYPOPG_CONTROL = Path("/usr/share/postgresql/15/extension/hypopg.control")
INSTALL = "apt-get install -y postgresql-15 postgresql-15-hypopg"


def _unavailable() -> str | None:
    if not (PG15_BIN / "postgres").is_file():
        return f"no PostgreSQL 15 binaries in {PG15_BIN} ({INSTALL})"
    if Path("/usr/lib/postgresql/15/bin") == PG15_BIN and not HYPOPG_CONTROL.is_file():
        return f"HypoPG is not installed for PostgreSQL 15 ({INSTALL})"
    return None


@pytest.fixture(scope="module")
def hypopg_lab() -> Iterator[Any]:
    """A lab of its own, in a private temporary folder (not pytest's shared basetemp, which
    a concurrent pytest run may prune while the server starts)."""
    reason = _unavailable()
    if reason:
        pytest.fail(f"the HypoPG tier needs PostgreSQL 15 with HypoPG: {reason}")
    from dbtune.lab import Lab

    saved = os.environ.get("DBTUNE_PG_BIN")
    os.environ["DBTUNE_PG_BIN"] = str(PG15_BIN)
    lab = Lab(tempfile.mkdtemp(prefix="dbtune-hypopg-lab-"), replicas=0, shared_buffers="64MB")
    try:
        lab.up()
    finally:
        if saved is None:
            os.environ.pop("DBTUNE_PG_BIN", None)
        else:
            os.environ["DBTUNE_PG_BIN"] = saved
    try:
        yield lab
    finally:
        lab.down(remove=True)


@pytest.fixture(scope="module")
def dsn(hypopg_lab: Any) -> Iterator[str]:
    schema = "CREATE EXTENSION hypopg;\n" + _schema()
    with scratch_database(
        hypopg_lab.primary.dsn("postgres"), "dbtune_test_index_hypopg", schema
    ) as url:
        yield url


def _schema() -> str:
    from tests.test_index_schema import SCHEMA

    return SCHEMA


@pytest.mark.parametrize(("workload", "expected", "options"), CASES)
def test_hypopg(dsn: str, workload: str, expected: Expected, options: dict[str, Any]) -> None:
    result = advise(dsn, workload, **options)
    assert result.costing == "HypoPG"
    check(result, expected)


def test_hypothetical_indexes_are_validated_and_sized(dsn: str) -> None:
    result = advise(
        dsn, "SELECT id FROM orders WHERE status = $1 ORDER BY created_at DESC LIMIT 20"
    )
    (suggestion,) = result.suggestions
    assert suggestion.validated
    assert suggestion.size_bytes > 100_000
    assert suggestion.cost_after < suggestion.cost_before / 10


def test_what_hypopg_cannot_model_falls_back_to_an_estimate(dsn: str) -> None:
    result = advise(dsn, "SELECT * FROM customers WHERE name ILIKE '%omer 4242%'")
    (suggestion,) = result.suggestions
    assert suggestion.candidate.method == "gin"
    assert not suggestion.validated
    assert any("not validated" in note for note in suggestion.notes)


def test_lab_server_is_recognised_and_builds_run_there(
    dsn: str, hypopg_lab: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    monkeypatch.setenv("DBTUNE_LAB_DIR", str(hypopg_lab.path))
    with psycopg.connect(dsn) as conn:
        assert lab_node(dsn, conn) is not None
        assert lab_node(dsn.replace("127.0.0.1", "192.0.2.1"), conn) is None
    result = advise(dsn, "SELECT * FROM customers WHERE email = $1", lab=True, use_hypopg=False)
    assert result.costing == "transactional build"
    assert [s.candidate.columns for s in result.suggestions] == [["email"]]
