"""Read-your-writes carried across requests (pure tier: SQLite ``default`` + ``other``).

``pin`` mode needs no WAL position, so the carrier (cookie, session, none), its security
and its expiry are tested here through the real middleware; ``lsn`` with lagging replicas
is in ``test_routing_carrier_lab.py``. The replica monitor speaks PostgreSQL, so it is kept
from starting: ``other`` is never checked and therefore healthy.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.core import signing
from django.test import AsyncClient, Client, override_settings

from dbtune.routing import MONITOR, carrier, tokens

COOKIE = "dbtune_ryw"
ROUTING: dict[str, Any] = {
    "PRIMARY": "default",
    "AFFINITY": {"testapp_author": ["other"], "django_session": []},
    "DEFAULT_REPLICAS": ["other"],
    "READ_YOUR_WRITES": "pin",
    "READ_YOUR_WRITES_WINDOW": 30.0,
}
db = pytest.mark.django_db(databases=["default", "other"], transaction=True)


def routed(
    routers: tuple[str, ...] = ("dbtune.routing.TableAffinityRouter",), **changes: Any
) -> Any:
    return override_settings(
        ROOT_URLCONF="tests.ryw_urls",
        DATABASE_ROUTERS=list(routers),
        DBTUNE={"NPLUSONE": {"ACTION": "log"}, "ROUTING": {**ROUTING, **changes}},
    )


def aliases(response: Any, table: str) -> set[str]:
    """The aliases the request's queries of ``table`` ran on (from the middleware's capture)."""
    request = getattr(response, "wsgi_request", None) or response.asgi_request
    return {q.alias for q in request.dbtune.queries if table in q.tables}


@pytest.fixture(autouse=True)
def no_monitor(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    MONITOR.stop()
    monkeypatch.setattr(MONITOR, "ensure_started", lambda: None)
    MONITOR.reset()
    yield
    MONITOR.reset()


@db
def test_cookie_carries_the_pin_to_the_same_users_next_request() -> None:
    client = Client()
    with routed():
        first = client.post("/write/", {"name": "ada"})
        second = client.get("/read/ada/")
        stranger = Client().get("/read/ada/")
    cookie = first.cookies[COOKIE]
    assert (cookie["max-age"], cookie["httponly"], cookie["samesite"]) == (30, True, "Lax")
    assert not cookie["secure"]
    assert aliases(second, "testapp_author") == aliases(second, "testapp_tag") == {"default"}
    assert COOKIE not in second.cookies, "unchanged tokens are not written again"
    assert aliases(stranger, "testapp_author") == aliases(stranger, "testapp_tag") == {"other"}


@db
def test_cookie_is_secure_over_https() -> None:
    with routed():
        response = Client().post("/write/", {"name": "ada"}, secure=True)
    assert response.cookies[COOKIE]["secure"]


def _signed(value: str) -> str:
    return signing.get_cookie_signer(salt=COOKIE + carrier.SALT).sign(value)


@db
@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda good: good[:-3] + "abc", id="tampered-signature"),
        pytest.param(lambda good: _signed("not a payload!"), id="signed-garbage"),
        pytest.param(lambda good: _signed(carrier.encode({"lsn": []})), id="signed-wrong-shape"),
        pytest.param(lambda good: "x" * 5000, id="too-long"),
    ],
)
def test_a_bad_cookie_is_ignored_and_removed(forge: Any) -> None:
    client = Client()
    with routed():
        good = client.post("/write/", {"name": "ada"}).cookies[COOKIE].value
        client.cookies[COOKIE] = forge(good)
        response = client.get("/read/ada/")
    assert response.status_code == 200
    assert aliases(response, "testapp_author") == {"other"}
    assert response.cookies[COOKIE].value == ""
    assert response.cookies[COOKIE]["max-age"] == 0


@db
def test_cookie_expires_after_the_window() -> None:
    client = Client()
    with routed(READ_YOUR_WRITES_WINDOW=1):
        client.post("/write/", {"name": "ada"})
        assert aliases(client.get("/read/ada/"), "testapp_author") == {"default"}
        time.sleep(1.1)
        expired = client.get("/read/ada/")
    assert aliases(expired, "testapp_author") == {"other"}
    assert expired.cookies[COOKIE]["max-age"] == 0


@db
def test_session_carrier() -> None:
    client = Client()
    with routed(READ_YOUR_WRITES_CARRIER="session"):
        first = client.post("/write/", {"name": "ada"})
        assert carrier.SESSION_KEY in client.session
        second = client.get("/read/ada/")
        stranger = Client().get("/read/ada/")
    assert COOKIE not in first.cookies
    assert aliases(second, "testapp_author") == {"default"}
    assert aliases(stranger, "testapp_author") == {"other"}


@db
@pytest.mark.parametrize(
    ("routers", "changes"),
    [
        pytest.param(
            ("dbtune.routing.TableAffinityRouter",), {"READ_YOUR_WRITES": "off"}, id="off"
        ),
        pytest.param((), {}, id="no-router"),
        pytest.param(
            ("dbtune.routing.TableAffinityRouter",),
            {"READ_YOUR_WRITES_CARRIER": "none"},
            id="carrier-none",
        ),
    ],
)
def test_nothing_is_carried(routers: tuple[str, ...], changes: dict[str, Any]) -> None:
    client = Client()
    with routed(routers, **changes):
        first = client.post("/write/", {"name": "ada"})
        second = client.get("/read/ada/")
    assert COOKIE not in first.cookies
    assert carrier.SESSION_KEY not in client.session
    assert aliases(second, "testapp_author") == ({"other"} if routers else {"default"})


@db
@pytest.mark.parametrize("kind", ["cookie", "session"])
def test_async_requests_carry_tokens(kind: str) -> None:
    client = AsyncClient()
    with routed(READ_YOUR_WRITES_CARRIER=kind):
        first = async_to_sync(client.post)("/async/write/", {"name": "ada"})
        second = async_to_sync(client.get)("/async/read/ada/")
        stranger = async_to_sync(AsyncClient().get)("/async/read/ada/")
    assert (COOKIE in first.cookies) == (kind == "cookie")
    assert second.json() == {"found": True, "tags": 0}
    assert aliases(second, "testapp_author") == {"default"}
    assert aliases(stranger, "testapp_author") == {"other"}


def test_payload_keeps_the_newest_tables() -> None:
    with tokens.scope():
        for n in range(60):
            tokens.record_lsn(f"t{n}", n, window=100 + n)
        payload = carrier.current_payload()
    assert payload is not None
    assert len(payload["lsn"]) == carrier.MAX_TABLES
    assert "t59" in payload["lsn"]
    assert "t9" not in payload["lsn"]


def test_cookie_value_is_cut_to_fit() -> None:
    names = [hashlib.sha512(str(n).encode()).hexdigest() for n in range(50)]
    payload = {"lsn": {t: ["0/1", 1000.0 + n] for n, t in enumerate(names)}, "pinned_until": 0}
    text = carrier._fit(payload)
    assert len(text) <= carrier.MAX_COOKIE_CHARS
    kept = carrier.decode(text)
    assert kept is not None
    assert names[-1] in kept["lsn"]
    assert names[0] not in kept["lsn"]


@pytest.mark.parametrize(
    "payload",
    [{"lsn": {}, "pinned_until": 12.5}, {"lsn": {f"table_{n}": ["0/1", 1.0] for n in range(30)}}],
    ids=["small", "compressible"],
)
def test_encode_round_trip(payload: dict[str, Any]) -> None:
    assert carrier.decode(carrier.encode(payload)) == payload


@pytest.mark.parametrize("text", ["", "!!!", ".abc", "bm90IGpzb24", "WzFd"])
def test_decode_rejects_what_encode_did_not_make(text: str) -> None:
    assert carrier.decode(text) is None
