"""TableAffinityRouter against the lab's two real streaming replicas."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connections, router, transaction
from django.test import override_settings

from dbtune.routing import (
    MONITOR,
    TableAffinityRouter,
    replica_for,
    retry_reads,
    tokens,
    use_primary,
)
from tests.testapp.models import Author, Book, Tag

pytestmark = [pytest.mark.postgres, pytest.mark.replicas]
db = pytest.mark.django_db(databases=["pg", "pg_r1", "pg_r2"], transaction=True)

REPLICAS = ("pg_r1", "pg_r2")
ROUTING: dict[str, Any] = {
    "PRIMARY": "pg",
    "AFFINITY": {"testapp_author": ["pg_r1", "pg_r2"], "testapp_book": ["pg_r2", "pg_r1"]},
    "DEFAULT_REPLICAS": ["pg_r1"],
    "MAX_LAG_SECONDS": 1.0,
    "READ_YOUR_WRITES": "lsn",
    "READ_YOUR_WRITES_WINDOW": 30.0,
    "MONITOR_INTERVAL": 60.0,
}


def routed(**changes: Any) -> override_settings:
    return override_settings(
        DATABASE_ROUTERS=["dbtune.routing.TableAffinityRouter"],
        DBTUNE={"NPLUSONE": {"ACTION": "log"}, "ROUTING": {**ROUTING, **changes}},
    )


def _reset_connection_settings() -> None:
    connections.__dict__.pop("settings", None)
    connections.settings = connections.configure_settings(settings.DATABASES)


@pytest.fixture(scope="module")
def replica_aliases(lab: Any, django_db_setup: None) -> Iterator[None]:
    """Aliases ``pg_r1``/``pg_r2`` for the lab replicas, reading the replicated test DB.

    Registered after the test databases exist; ``TEST.MIRROR`` only keeps the test case
    from flushing them (a replica is read-only), they keep their own connections.
    """
    for alias, node in zip(REPLICAS, lab.replicas, strict=True):
        entry = dict(settings.DATABASES["pg"])
        entry.update(HOST=node.host, PORT=str(node.port), NAME="test_dbtune")
        entry["TEST"] = {"NAME": "test_dbtune", "MIRROR": "pg"}
        settings.DATABASES[alias] = entry
    _reset_connection_settings()
    yield
    MONITOR.stop()
    for alias in REPLICAS:
        connections[alias].close()
        del connections[alias]
        settings.DATABASES.pop(alias)
    _reset_connection_settings()


@pytest.fixture
def routing(replica_aliases: None) -> Iterator[None]:
    """Empty read-your-writes tokens and replica verdicts, the router installed."""
    MONITOR.reset()
    with tokens.scope(), routed():
        yield
    for alias in REPLICAS:
        connections[alias].close()


def _names(alias: str) -> set[str]:
    return set(Author.objects.using(alias).values_list("name", flat=True))


@db
@pytest.mark.usefixtures("routing")
def test_reads_follow_affinity_and_writes_stay_on_primary(lab: Any) -> None:
    assert Author.objects.all().db == "pg_r1"
    assert Book.objects.all().db == "pg_r2"
    assert Tag.objects.all().db == "pg_r1"
    with routed(DEFAULT_REPLICAS=[]):
        assert Tag.objects.all().db == "pg"

    with routed(READ_YOUR_WRITES="off"):
        Author.objects.create(name="ada")
        lab.wait_for_replay()
        found = Author.objects.get(name="ada")
        assert found._state.db == "pg_r1"
        assert router.db_for_write(Author, instance=found) == "pg"
        found.name = "ada lovelace"
        found.save()
    assert Author.objects.using("pg").get().name == "ada lovelace"


@db
@pytest.mark.usefixtures("routing")
def test_router_answers_relations_and_migrations() -> None:
    primary, replica = Author(), Author()
    primary._state.db, replica._state.db = "pg", "pg_r2"
    stranger = Author()
    stranger._state.db = "default"
    rt = TableAffinityRouter()
    assert rt.allow_relation(primary, replica) is True
    assert rt.allow_relation(primary, stranger) is None
    assert rt.allow_migrate("pg", "testapp") is True
    assert rt.allow_migrate("pg_r1", "testapp") is False
    assert rt.allow_migrate("default", "testapp") is None


@db
@pytest.mark.usefixtures("routing")
def test_atomic_block_and_use_primary_read_the_primary() -> None:
    with transaction.atomic(using="pg"):
        assert Author.objects.all().db == "pg"
    assert Author.objects.all().db == "pg_r1"

    with use_primary():
        assert Book.objects.all().db == "pg"
        assert replica_for("testapp_book") == "pg"

    @use_primary()
    def read() -> str | None:
        return Tag.objects.all().db

    assert read() == "pg"
    assert replica_for("testapp_book") == "pg_r2"


@db
@pytest.mark.usefixtures("routing")
def test_read_your_writes_lsn_skips_a_lagging_replica(lab: Any) -> None:
    lagging = lab.replicas[0].name
    try:
        lab.set_apply_delay(lagging, 2)
        Author.objects.create(name="grace")
        assert Author.objects.using("pg_r1").filter(name="grace").count() == 0
        assert Author.objects.all().db in ("pg_r2", "pg")
        assert Author.objects.filter(name="grace").count() == 1
        assert Tag.objects.all().db == "pg_r1"
        with routed(AFFINITY={"testapp_author": ["pg_r1"]}):
            assert Author.objects.all().db == "pg"
        carried = tokens.dump()
        with tokens.scope():
            assert Author.objects.all().db == "pg_r1"
            tokens.load(carried)
            assert Author.objects.all().db != "pg_r1"
    finally:
        lab.set_apply_delay(lagging, 0)
        lab.wait_for_replay()
    MONITOR.reset()
    time.sleep(0.1)
    assert Author.objects.all().db == "pg_r1"


@db
@pytest.mark.usefixtures("routing")
@pytest.mark.parametrize(("mode", "expected"), [("pin", "pg"), ("off", "pg_r1")])
def test_read_your_writes_pin_and_off(mode: str, expected: str) -> None:
    with routed(READ_YOUR_WRITES=mode):
        Author.objects.create(name="pinned")
        assert Tag.objects.all().db == expected
        assert Author.objects.all().db == expected


@db
@pytest.mark.usefixtures("routing")
def test_lagging_replica_is_ejected_and_readmitted(lab: Any) -> None:
    lagging = lab.replicas[0].name
    try:
        lab.set_apply_delay(lagging, 3)
        Author.objects.create(name="lag")
        time.sleep(1.5)
        MONITOR.check_now()
        assert not MONITOR.healthy("pg_r1")
        assert MONITOR.healthy("pg_r2")
        with routed(READ_YOUR_WRITES="off"):
            assert Author.objects.all().db == "pg_r2"
            assert Tag.objects.all().db == "pg"
    finally:
        lab.set_apply_delay(lagging, 0)
        lab.wait_for_replay()
    MONITOR.check_now()
    assert MONITOR.healthy("pg_r1")
    assert Tag.objects.all().db == "pg_r1"


@db
@pytest.mark.usefixtures("routing")
def test_stopped_replica_is_taken_out_and_reads_retry(lab: Any) -> None:
    Author.objects.create(name="kept")
    lab.wait_for_replay()
    tokens.clear()
    stopped = lab.replicas[0].name

    @retry_reads()
    def names() -> list[str]:
        return list(Author.objects.values_list("name", flat=True))

    try:
        lab.stop_node(stopped)
        assert names() == ["kept"]
        assert not MONITOR.healthy("pg_r1")
        MONITOR.reset()
        MONITOR.check_now()
        assert not MONITOR.healthy("pg_r1")
        assert Author.objects.all().db == "pg_r2"
        assert Tag.objects.all().db == "pg"
    finally:
        lab.start_node(stopped)
        lab.wait_for_replay()
    MONITOR.check_now()
    assert MONITOR.healthy("pg_r1")
    assert _names("pg_r1") == {"kept"}
