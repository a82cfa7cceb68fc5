"""The one reader of the ``DBTUNE`` settings dict.

Everything in dbtune reads configuration through :func:`get` (or the typed helpers below),
never ``settings.DBTUNE`` directly, so that defaults live in one place and tests that use
``override_settings`` see fresh values: the cache is cleared on Django's ``setting_changed``.
Validation lives in :mod:`dbtune.checks`; readers here assume the checks passed and fall
back to defaults for anything malformed rather than raising on the request path.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

NPLUSONE_ACTIONS = ("log", "warn", "raise")
RYW_MODES = ("lsn", "pin", "off")
RYW_CARRIERS = ("cookie", "session", "none")

DEFAULTS: dict[str, Any] = {
    "ENABLED": True,
    "CAPTURE": {
        "KEEP_PARAMS": False,
        "ALIASES": None,
    },
    "NPLUSONE": {
        "THRESHOLD": 2,
        "ACTION": "warn",
        "ALLOW": [],
        "IGNORE_PATHS": [],
    },
    "MIDDLEWARE": {
        "HEADER": True,
        "LOG_LEVEL": "INFO",
    },
    "ROUTING": {
        "PRIMARY": "default",
        "AFFINITY": {},
        "DEFAULT_REPLICAS": [],
        "MAX_LAG_SECONDS": 5.0,
        "READ_YOUR_WRITES": "lsn",
        "READ_YOUR_WRITES_WINDOW": 10.0,
        "READ_YOUR_WRITES_CARRIER": "cookie",
        "READ_YOUR_WRITES_COOKIE": "dbtune_ryw",
        "MONITOR_INTERVAL": 1.0,
    },
}

EXPECTED_TYPES: dict[str, tuple[type, ...]] = {
    "ENABLED": (bool,),
    "CAPTURE": (dict,),
    "CAPTURE.KEEP_PARAMS": (bool,),
    "CAPTURE.ALIASES": (list, tuple, type(None)),
    "NPLUSONE": (dict,),
    "NPLUSONE.THRESHOLD": (int,),
    "NPLUSONE.ACTION": (str,),
    "NPLUSONE.ALLOW": (list, tuple),
    "NPLUSONE.IGNORE_PATHS": (list, tuple),
    "MIDDLEWARE": (dict,),
    "MIDDLEWARE.HEADER": (bool,),
    "MIDDLEWARE.LOG_LEVEL": (str,),
    "ROUTING": (dict,),
    "ROUTING.PRIMARY": (str,),
    "ROUTING.AFFINITY": (dict,),
    "ROUTING.DEFAULT_REPLICAS": (list, tuple),
    "ROUTING.MAX_LAG_SECONDS": (int, float),
    "ROUTING.READ_YOUR_WRITES": (str,),
    "ROUTING.READ_YOUR_WRITES_WINDOW": (int, float),
    "ROUTING.READ_YOUR_WRITES_CARRIER": (str,),
    "ROUTING.READ_YOUR_WRITES_COOKIE": (str,),
    "ROUTING.MONITOR_INTERVAL": (int, float),
}
"""Dotted key -> accepted Python types; the checks report anything else by this table."""


def raw() -> Any:
    """The user's ``DBTUNE`` value exactly as configured (``{}`` when unset)."""
    from django.conf import settings

    return getattr(settings, "DBTUNE", {})


def _merge_checked(prefix: str, defaults: dict[str, Any], user: Any) -> dict[str, Any]:
    """Like :func:`_merge`, but only keeps user values whose type matches the table."""
    merged = copy.deepcopy(defaults)
    if not isinstance(user, dict):
        return merged
    for key, value in user.items():
        if key not in defaults:
            continue
        dotted = f"{prefix}{key}"
        default = defaults[key]
        if isinstance(default, dict) and default:
            merged[key] = _merge_checked(f"{dotted}.", default, value)
            continue
        if isinstance(value, bool) and bool not in EXPECTED_TYPES.get(dotted, (bool,)):
            continue
        if isinstance(value, EXPECTED_TYPES.get(dotted, (object,))):
            merged[key] = value
    return merged


@functools.cache
def get() -> dict[str, Any]:
    """The effective settings: defaults overlaid with every well-typed user value."""
    return _merge_checked("", DEFAULTS, raw())


def clear_cache(**kwargs: Any) -> None:
    if kwargs.get("setting") in (None, "DBTUNE"):
        get.cache_clear()
        routing_view.cache_clear()


def connect_signals() -> None:
    from django.core.signals import setting_changed

    setting_changed.connect(clear_cache, dispatch_uid="dbtune.conf.clear_cache")


@dataclass(frozen=True)
class NPlusOneSettings:
    threshold: int
    action: str
    allow: tuple[str, ...]
    ignore_paths: tuple[str, ...]


def enabled() -> bool:
    return bool(get()["ENABLED"])


def nplusone() -> NPlusOneSettings:
    section = get()["NPLUSONE"]
    action = section["ACTION"] if section["ACTION"] in NPLUSONE_ACTIONS else "warn"
    return NPlusOneSettings(
        threshold=max(2, int(section["THRESHOLD"])),
        action=action,
        allow=tuple(str(p) for p in section["ALLOW"]),
        ignore_paths=tuple(str(p) for p in section["IGNORE_PATHS"]),
    )


def keep_params() -> bool:
    return bool(get()["CAPTURE"]["KEEP_PARAMS"])


def capture_aliases() -> tuple[str, ...] | None:
    aliases = get()["CAPTURE"]["ALIASES"]
    return None if aliases is None else tuple(aliases)


def routing() -> dict[str, Any]:
    return dict(get()["ROUTING"])


@functools.cache
def routing_view() -> Mapping[str, Any]:
    """``ROUTING`` like :func:`routing`, but read-only and built once per settings change.

    For the router's per-query path, where copying the section on every call shows.
    """
    return MappingProxyType(get()["ROUTING"])


@dataclass(frozen=True)
class ReadYourWritesSettings:
    mode: str
    window: float
    carrier: str
    cookie: str


def read_your_writes() -> ReadYourWritesSettings:
    """The ``READ_YOUR_WRITES*`` settings; an invalid choice reads as its default."""
    section, defaults = get()["ROUTING"], DEFAULTS["ROUTING"]
    mode, carrier = section["READ_YOUR_WRITES"], section["READ_YOUR_WRITES_CARRIER"]
    return ReadYourWritesSettings(
        mode=mode if mode in RYW_MODES else defaults["READ_YOUR_WRITES"],
        window=max(0.0, float(section["READ_YOUR_WRITES_WINDOW"])),
        carrier=carrier if carrier in RYW_CARRIERS else defaults["READ_YOUR_WRITES_CARRIER"],
        cookie=section["READ_YOUR_WRITES_COOKIE"] or defaults["READ_YOUR_WRITES_COOKIE"],
    )


def middleware() -> dict[str, Any]:
    return dict(get()["MIDDLEWARE"])
