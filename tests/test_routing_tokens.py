"""Pure-logic tier of dbtune.routing: tokens, decisions without a replica, retries."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import OperationalError
from django.test import override_settings

from dbtune.routing import TableAffinityRouter, replica_for, retry_reads, tokens, use_primary
from dbtune.routing.monitor import MONITOR, replica_aliases
from tests.testapp.models import Author

ROUTING: dict[str, Any] = {
    "PRIMARY": "default",
    "AFFINITY": {"testapp_author": ["other"]},
    "DEFAULT_REPLICAS": [],
}


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    MONITOR.reset()
    with tokens.scope(), override_settings(DBTUNE={"ROUTING": ROUTING}):
        yield
    MONITOR.reset()


@pytest.mark.parametrize(
    ("text", "value"),
    [("0/0", 0), ("0/4539DF0", 0x4539DF0), ("16/B374D848", (0x16 << 32) | 0xB374D848)],
    ids=["zero", "low", "high"],
)
def test_lsn_round_trip(text: str, value: int) -> None:
    assert tokens.parse_lsn(text) == value
    assert tokens.format_lsn(value) == text


def test_token_never_moves_backwards_and_expires() -> None:
    tokens.record_lsn("t", 100, window=30)
    tokens.record_lsn("t", 50, window=30)
    assert tokens.lsn_for("t") == 100
    tokens.record_lsn("gone", 7, window=-1)
    assert tokens.lsn_for("gone") is None
    assert tokens.lsn_for("never") is None


def test_dump_and_load_carry_tokens_to_another_context() -> None:
    tokens.record_lsn("testapp_author", 0x4539DF0, window=30)
    tokens.pin(30)
    carried = tokens.dump()
    with tokens.scope():
        assert tokens.lsn_for("testapp_author") is None
        assert not tokens.pinned()
        tokens.load(carried)
        assert tokens.lsn_for("testapp_author") == 0x4539DF0
        assert tokens.pinned()


@pytest.mark.parametrize(
    "data",
    [
        None,
        "x",
        {"lsn": "x"},
        {"lsn": {"t": ["nope", 1]}},
        {"lsn": {"t": []}},
        {"lsn": {"t": {"lsn": "0/1"}}},
        {"pinned_until": True},
    ],
    ids=["none", "str", "lsn-str", "bad-lsn", "short", "dict-entry", "bool-pin"],
)
def test_load_ignores_malformed_input(data: Any) -> None:
    tokens.load(data)
    assert tokens.dump() == {"lsn": {}, "pinned_until": 0.0}


def test_pin_expires() -> None:
    tokens.pin(0.01)
    assert tokens.pinned()
    time.sleep(0.02)
    assert not tokens.pinned()


@pytest.mark.django_db(databases=["default", "other"], transaction=True)
def test_decisions_without_network(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="dbtune.routing"):
        assert replica_for("testapp_author") == "other"
    assert "read testapp_author -> other" in caplog.text
    assert replica_for("testapp_book") == "default"
    with use_primary(), use_primary():
        assert replica_for("testapp_author") == "default"
    assert replica_for("testapp_author") == "other"
    MONITOR.mark_down("other")
    assert replica_for("testapp_author") == "default"
    assert replica_aliases({**ROUTING, "DEFAULT_REPLICAS": ["default", "x"]}) == ["other", "x"]


def test_writes_and_migrations_belong_to_the_primary() -> None:
    rt = TableAffinityRouter()
    replica_copy = Author()
    replica_copy._state.db = "other"
    assert rt.db_for_write(Author, instance=replica_copy) == "default"
    assert rt.allow_migrate("default", "testapp") is True
    assert rt.allow_migrate("other", "testapp") is False
    assert rt.allow_migrate("elsewhere", "testapp") is None


def test_retry_reads_reraises_when_no_replica_was_used() -> None:
    calls: list[int] = []

    @retry_reads()
    def failing() -> None:
        calls.append(1)
        raise OperationalError("primary is gone")

    with pytest.raises(OperationalError):
        failing()
    assert calls == [1]
