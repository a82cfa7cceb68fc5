"""Read-your-writes carried across requests, on the lab's real streaming replicas.

``pg_r1`` (first choice for ``testapp_author`` and the only one for ``testapp_tag``) applies
WAL 3 s late. The writer's next request carries the LSN of its write and so reads the
author past ``pg_r1``; its tag read, and every read by another client, stays on ``pg_r1``.
Where each read ran comes from the middleware's own capture (``request.dbtune.queries``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.db import connections
from django.test import AsyncClient, Client, override_settings

from dbtune.routing import MONITOR, carrier
from tests.test_routing import REPLICAS, db, replica_aliases  # noqa: F401  # fixtures
from tests.test_routing import ROUTING as LAB_ROUTING
from tests.test_routing_carrier import COOKIE, aliases

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.replicas,
    pytest.mark.usefixtures("replica_aliases"),
]

WINDOW = 1.5
ROUTING: dict[str, Any] = {
    **LAB_ROUTING,
    "AFFINITY": {**LAB_ROUTING["AFFINITY"], "django_session": []},
    "MAX_LAG_SECONDS": 60.0,  # the monitor never takes the lagging replica out here
    "READ_YOUR_WRITES_WINDOW": WINDOW,
}


def routed(**changes: Any) -> Any:
    return override_settings(
        ROOT_URLCONF="tests.ryw_urls",
        DATABASE_ROUTERS=["dbtune.routing.TableAffinityRouter"],
        DBTUNE={"NPLUSONE": {"ACTION": "log"}, "ROUTING": {**ROUTING, **changes}},
    )


def send(client: Client | AsyncClient, method: str, path: str, **data: str) -> Any:
    call = getattr(client, method)
    if isinstance(client, AsyncClient):
        return async_to_sync(call)(path, data)
    return call(path, data)


@pytest.fixture
def fresh() -> Iterator[None]:
    MONITOR.reset()
    yield
    MONITOR.reset()
    for alias in REPLICAS:
        connections[alias].close()


@pytest.fixture
def lagging(lab: Any, fresh: None) -> Iterator[None]:
    name = lab.replicas[0].name
    lab.set_apply_delay(name, 3)
    try:
        yield
    finally:
        lab.set_apply_delay(name, 0)
        lab.wait_for_replay()


@db
@pytest.mark.usefixtures("lagging")
def test_cookie_sends_the_writers_reads_past_the_lagging_replica() -> None:
    client = Client()
    with routed():
        client.post("/write/", {"name": "grace"})
        mine = client.get("/read/grace/")
        stranger = Client().get("/read/grace/")
        forger = Client()
        forger.cookies[COOKIE] = client.cookies[COOKIE].value[:-3] + "abc"
        forged = forger.get("/read/grace/")
        time.sleep(WINDOW + 0.1)
        later = client.get("/read/grace/")

    assert mine.json()["found"] is True
    assert aliases(mine, "testapp_author") in ({"pg_r2"}, {"pg"})
    assert aliases(mine, "testapp_tag") == {"pg_r1"}
    assert stranger.json()["found"] is False, "pg_r1 lags: without the cookie it misses the row"
    assert aliases(stranger, "testapp_author") == {"pg_r1"}
    assert aliases(forged, "testapp_author") == {"pg_r1"}
    assert aliases(later, "testapp_author") == {"pg_r1"}, "the token expires with the window"
    assert later.cookies[COOKIE]["max-age"] == 0


@db
@pytest.mark.usefixtures("lagging")
@pytest.mark.parametrize(
    ("kind", "client_class", "prefix"),
    [("session", Client, ""), ("cookie", AsyncClient, "/async")],
    ids=["session-sync", "cookie-async"],
)
def test_carriers_on_both_middleware_paths(kind: str, client_class: type, prefix: str) -> None:
    client = client_class()
    with routed(READ_YOUR_WRITES_CARRIER=kind, READ_YOUR_WRITES_WINDOW=30.0):
        written = send(client, "post", f"{prefix}/write/", name="ada")
        mine = send(client, "get", f"{prefix}/read/ada/")
        stranger = send(client_class(), "get", f"{prefix}/read/ada/")
    assert (COOKIE in written.cookies) == (kind == "cookie")
    assert mine.json() == {"found": True, "tags": 0}
    assert aliases(mine, "testapp_author") in ({"pg_r2"}, {"pg"})
    assert aliases(mine, "testapp_tag") == {"pg_r1"}
    assert aliases(stranger, "testapp_author") == {"pg_r1"}
    if kind == "session":
        with routed():
            assert carrier.SESSION_KEY in client.session


@db
@pytest.mark.usefixtures("fresh")
def test_pin_mode_carries_the_pin() -> None:
    client = Client()
    with routed(READ_YOUR_WRITES="pin"):
        client.post("/write/", {"name": "pinned"})
        mine = client.get("/read/pinned/")
        stranger = Client().get("/read/pinned/")
    assert aliases(mine, "testapp_author") == aliases(mine, "testapp_tag") == {"pg"}
    assert aliases(stranger, "testapp_author") == aliases(stranger, "testapp_tag") == {"pg_r1"}
