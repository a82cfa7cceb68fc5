"""One test per system check id, plus registration."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import checks
from django.test import override_settings

from dbtune.checks import check_settings


def _ids(value: Any) -> list[str]:
    with override_settings(DBTUNE=value):
        return [m.id or "" for m in check_settings()]


def _messages(value: Any) -> list[checks.CheckMessage]:
    with override_settings(DBTUNE=value):
        return check_settings()


def test_checks_are_registered() -> None:
    from dbtune.nplusone.checks import check_allow_patterns

    registered = checks.registry.registry.get_checks()
    assert check_settings in registered
    assert check_allow_patterns in registered


def test_defaults_pass() -> None:
    assert _ids({}) == []


def test_documented_example_passes() -> None:
    value = {
        "NPLUSONE": {"THRESHOLD": 3, "ACTION": "raise", "ALLOW": ["testapp.Book.author"]},
        "ROUTING": {
            "PRIMARY": "default",
            "AFFINITY": {"testapp_book": ["other"]},
            "DEFAULT_REPLICAS": ["other"],
            "MAX_LAG_SECONDS": 5.0,
            "READ_YOUR_WRITES": "pin",
        },
    }
    assert _ids(value) == []


def test_e001_not_a_dict() -> None:
    assert _ids(["NPLUSONE"]) == ["dbtune.E001"]


@pytest.mark.parametrize(
    ("value", "suggestion"),
    [
        pytest.param({"NPLUSONES": {}}, '"NPLUSONE"', id="top-level-typo"),
        pytest.param({"NPLUSONE": {"TRESHOLD": 3}}, '"THRESHOLD"', id="nested-typo"),
        pytest.param({"ROUTING": {"MAX_LAG": 1.0}}, '"MAX_LAG_SECONDS"', id="routing-typo"),
    ],
)
def test_e002_unknown_key_suggests(value: dict[str, Any], suggestion: str) -> None:
    messages = _messages(value)
    assert [m.id for m in messages] == ["dbtune.E002"]
    assert suggestion in (messages[0].hint or "")


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({"NPLUSONE": {"THRESHOLD": "2"}}, id="threshold-str"),
        pytest.param({"NPLUSONE": {"THRESHOLD": True}}, id="threshold-bool"),
        pytest.param({"NPLUSONE": {"ALLOW": "app.Model.field"}}, id="allow-str"),
        pytest.param({"ENABLED": "yes"}, id="enabled-str"),
        pytest.param({"ROUTING": {"MAX_LAG_SECONDS": "5"}}, id="lag-str"),
        pytest.param({"ROUTING": []}, id="routing-list"),
    ],
)
def test_e003_wrong_type(value: dict[str, Any]) -> None:
    assert _ids(value) == ["dbtune.E003"]


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({"NPLUSONE": {"ACTION": "explode"}}, id="action"),
        pytest.param({"NPLUSONE": {"THRESHOLD": 1}}, id="threshold-low"),
        pytest.param({"ROUTING": {"READ_YOUR_WRITES": "session"}}, id="ryw-mode"),
        pytest.param({"ROUTING": {"MAX_LAG_SECONDS": -1}}, id="negative-lag"),
        pytest.param({"ROUTING": {"READ_YOUR_WRITES_CARRIER": "header"}}, id="ryw-carrier"),
        pytest.param({"ROUTING": {"READ_YOUR_WRITES_COOKIE": "ryw token"}}, id="cookie-name"),
        pytest.param({"ROUTING": {"READ_YOUR_WRITES_COOKIE": ""}}, id="cookie-empty"),
    ],
)
def test_e004_bad_value(value: dict[str, Any]) -> None:
    assert _ids(value) == ["dbtune.E004"]


def test_e004_hint_suggests_close_choice() -> None:
    (message,) = _messages({"NPLUSONE": {"ACTION": "raize"}})
    assert '"raise"' in (message.hint or "")


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({"ROUTING": {"PRIMARY": "primary"}}, id="primary"),
        pytest.param({"ROUTING": {"DEFAULT_REPLICAS": ["replica_a"]}}, id="default-replicas"),
        pytest.param({"ROUTING": {"AFFINITY": {"t": ["default", "nope"]}}}, id="affinity"),
        pytest.param({"CAPTURE": {"ALIASES": ["defualt"]}}, id="capture-aliases"),
    ],
)
def test_e005_unknown_alias(value: dict[str, Any]) -> None:
    assert _ids(value) == ["dbtune.E005"]


def test_e005_hint_names_close_alias() -> None:
    (message,) = _messages({"CAPTURE": {"ALIASES": ["defualt"]}})
    assert '"default"' in (message.hint or "")


SESSIONS = "django.contrib.sessions.middleware.SessionMiddleware"
DBTUNE_MIDDLEWARE = "dbtune.middleware.DBTuneMiddleware"


@pytest.mark.parametrize(
    ("middleware", "ids"),
    [
        pytest.param([SESSIONS, DBTUNE_MIDDLEWARE], [], id="sessions-first"),
        pytest.param([DBTUNE_MIDDLEWARE], ["dbtune.E007"], id="no-sessions"),
        pytest.param([DBTUNE_MIDDLEWARE, SESSIONS], ["dbtune.E007"], id="sessions-after"),
    ],
)
def test_e007_session_carrier_needs_session_middleware(
    middleware: list[str], ids: list[str]
) -> None:
    value = {"ROUTING": {"READ_YOUR_WRITES_CARRIER": "session"}}
    with override_settings(MIDDLEWARE=middleware):
        assert _ids(value) == ids
        assert _ids({"ROUTING": {"READ_YOUR_WRITES_CARRIER": "cookie"}}) == []


def test_invalid_values_fall_back_to_defaults_at_runtime() -> None:
    from dbtune import conf

    with override_settings(DBTUNE={"NPLUSONE": {"THRESHOLD": "x", "ACTION": "nope"}}):
        settings = conf.nplusone()
    assert settings.threshold == 2
    assert settings.action == "warn"
    with override_settings(DBTUNE={"ROUTING": {"READ_YOUR_WRITES_CARRIER": "header"}}):
        assert conf.read_your_writes().carrier == "cookie"


def test_conf_cache_follows_override_settings() -> None:
    from dbtune import conf

    with override_settings(DBTUNE={"NPLUSONE": {"THRESHOLD": 5}}):
        assert conf.nplusone().threshold == 5
    assert conf.nplusone().threshold == 2
