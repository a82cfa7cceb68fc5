"""Read-your-writes across requests: the middleware hook that carries tokens to the next one.

Registered with :func:`dbtune.middleware.register_hook` from ``AppConfig.ready``, it acts
only while :class:`~dbtune.routing.TableAffinityRouter` is in ``DATABASE_ROUTERS`` and
``READ_YOUR_WRITES`` is not ``"off"``. Per request it runs the view inside
:func:`~dbtune.routing.tokens.scope`, first loading what the request carries (the WAL LSN
of each table this user wrote recently, or a pin); after the view it writes the carrier
back only if the tokens changed (new writes, expired entries dropped), and removes it once
nothing is left. Carriers (``READ_YOUR_WRITES_CARRIER``):

- ``"cookie"``: a signed cookie (``READ_YOUR_WRITES_COOKIE``), ``max_age`` the window,
  HttpOnly, SameSite=Lax, Secure on HTTPS. A cookie with a bad signature, older than the
  window or garbled is ignored, as if absent.
- ``"session"``: key :data:`SESSION_KEY` of ``request.session`` (``SessionMiddleware``
  must run first: check ``dbtune.E007``). Reading it loads the session on every request.
- ``"none"``: tokens live for one request only.

The payload keeps the :data:`MAX_TABLES` most recently written tables.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import math
import zlib
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest

from dbtune import conf
from dbtune.middleware import RequestHook, RequestReport, register_hook
from dbtune.routing import tokens

logger = logging.getLogger("dbtune.routing")

SALT = "dbtune.routing.read_your_writes"
SESSION_KEY = "_dbtune_ryw"
MAX_TABLES = 50
MAX_COOKIE_CHARS = 3800
"""Browsers keep cookies up to ~4 kB: a larger value would be dropped, so it is cut."""

Payload = dict[str, Any]


def active() -> bool:
    """Whether the hook has anything to do under the current settings."""
    from django.db import router

    from dbtune.routing.router import TableAffinityRouter

    if conf.read_your_writes().mode == "off":
        return False
    return any(isinstance(r, TableAffinityRouter) for r in router.routers)


def current_payload(limit: int = MAX_TABLES) -> Payload | None:
    """This context's live tokens, newest ``limit`` tables only; ``None`` when empty."""
    data = tokens.dump()
    newest = sorted(data["lsn"].items(), key=lambda item: item[1][1], reverse=True)[:limit]
    if not newest and not data["pinned_until"]:
        return None
    lsn = {table: [value, round(expires, 1)] for table, (value, expires) in newest}
    return {"lsn": lsn, "pinned_until": round(data["pinned_until"], 1)}


def encode(payload: Payload) -> str:
    """Compact, cookie-safe text: urlsafe base64 of (zlib-compressed, ``.``-marked) JSON."""
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    packed = zlib.compress(raw, 9)
    text = base64.urlsafe_b64encode(packed if len(packed) < len(raw) else raw).decode()
    return ("." if len(packed) < len(raw) else "") + text.rstrip("=")


def decode(text: str) -> Payload | None:
    """Inverse of :func:`encode`; ``None`` for anything it did not produce."""
    compressed = text.startswith(".")
    body = text[1:] if compressed else text
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        data = json.loads(zlib.decompress(raw) if compressed else raw)
    except (binascii.Error, ValueError, zlib.error):
        return None
    return data if isinstance(data, dict) else None


class _Cookie:
    needs_io = False

    def __init__(self, request: HttpRequest, settings: conf.ReadYourWritesSettings) -> None:
        self.request, self.settings = request, settings

    def read(self) -> tuple[bool, Payload | None]:
        """``(present, payload)``: a tampered, expired or garbled cookie is present but empty."""
        name = self.settings.cookie
        if name not in self.request.COOKIES:
            return False, None
        age = timedelta(seconds=max(self.settings.window, 1.0))
        signed = None
        if len(self.request.COOKIES[name]) <= MAX_COOKIE_CHARS + 100:
            signed = self.request.get_signed_cookie(name, default=None, salt=SALT, max_age=age)
        if signed is None:
            logger.debug("read-your-writes cookie %s ignored: bad, expired or too long", name)
            return True, None
        return True, decode(signed)

    def write(self, report: RequestReport, payload: Payload | None) -> None:
        response, name = report.response, self.settings.cookie
        if response is None:
            return
        if payload is None:
            response.delete_cookie(name, samesite="Lax")
            return
        response.set_signed_cookie(
            name,
            _fit(payload),
            salt=SALT,
            max_age=max(1, math.ceil(self.settings.window)),
            httponly=True,
            samesite="Lax",
            secure=self.request.is_secure(),
        )


def _fit(payload: Payload) -> str:
    """``encode(payload)``, dropping the oldest tables until it fits a cookie."""
    text, tables = encode(payload), len(payload["lsn"])
    while len(text) > MAX_COOKIE_CHARS - 100 and tables:
        tables -= 1
        newest = sorted(payload["lsn"].items(), key=lambda item: item[1][1], reverse=True)
        text = encode({**payload, "lsn": dict(newest[:tables])})
    return text


class _Session:
    needs_io = True

    def __init__(self, request: HttpRequest, settings: conf.ReadYourWritesSettings) -> None:
        self.session = getattr(request, "session", None)

    def read(self) -> tuple[bool, Payload | None]:
        if self.session is None or SESSION_KEY not in self.session:
            return False, None
        value = self.session[SESSION_KEY]
        return True, value if isinstance(value, dict) else None

    def write(self, report: RequestReport, payload: Payload | None) -> None:
        if self.session is None:
            return
        if payload is None:
            self.session.pop(SESSION_KEY, None)
        else:
            self.session[SESSION_KEY] = payload


class _NoCarrier:
    needs_io = False

    def __init__(self, request: HttpRequest, settings: conf.ReadYourWritesSettings) -> None:
        pass

    def read(self) -> tuple[bool, Payload | None]:
        return False, None

    def write(self, report: RequestReport, payload: Payload | None) -> None:
        pass


Carrier = _Cookie | _Session | _NoCarrier
_CARRIERS: dict[str, type[Carrier]] = {"cookie": _Cookie, "session": _Session, "none": _NoCarrier}


def _outgoing(present: bool, incoming: Payload | None) -> tuple[bool, Payload | None]:
    """``(write?, payload)`` for the carrier once the view is done."""
    payload = current_payload()
    if payload is None:
        return present, None
    return payload != incoming, payload


class ReadYourWritesHook(RequestHook):
    """Loads the request's carried tokens before the view and stores changes after it."""

    def scope(self, request: Any, report: RequestReport) -> contextlib.AbstractContextManager[Any]:
        carrier = _carrier(request)
        return contextlib.nullcontext() if carrier is None else _scope(carrier, report)

    def ascope(
        self, request: Any, report: RequestReport
    ) -> contextlib.AbstractAsyncContextManager[Any]:
        carrier = _carrier(request)
        return contextlib.nullcontext() if carrier is None else _ascope(carrier, report)


def _carrier(request: HttpRequest) -> Carrier | None:
    if not active():
        return None
    settings = conf.read_your_writes()
    return _CARRIERS[settings.carrier](request, settings)


@contextlib.contextmanager
def _scope(carrier: Carrier, report: RequestReport) -> Iterator[None]:
    present, incoming = carrier.read()
    with tokens.scope():
        tokens.load(incoming)
        yield
        write, payload = _outgoing(present, incoming)
    if write:
        carrier.write(report, payload)


@contextlib.asynccontextmanager
async def _ascope(carrier: Carrier, report: RequestReport) -> AsyncIterator[None]:
    """:func:`_scope` for the async path; a carrier that does I/O does it off the loop."""
    if carrier.needs_io:
        present, incoming = await sync_to_async(carrier.read)()
    else:
        present, incoming = carrier.read()
    with tokens.scope():
        tokens.load(incoming)
        yield
        write, payload = _outgoing(present, incoming)
    if write and carrier.needs_io:
        await sync_to_async(carrier.write)(report, payload)
    elif write:
        carrier.write(report, payload)


def install() -> None:
    """Register the hook with the middleware; idempotent (for ``AppConfig.ready``)."""
    register_hook(ReadYourWritesHook)
