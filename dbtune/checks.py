"""System checks for the ``DBTUNE`` setting.

Ids are stable and never reused; each has a ``hint`` that says how to fix it. The README
lists every id, and ``tests/test_checks.py`` has one test per id.

- ``dbtune.E001`` DBTUNE is not a dict
- ``dbtune.E002`` unknown key (with a "did you mean")
- ``dbtune.E003`` value of the wrong type
- ``dbtune.E004`` value out of range or not one of the allowed choices
- ``dbtune.E005`` a database alias that is not in ``DATABASES``
- ``dbtune.E006`` an ``NPLUSONE.ALLOW`` pattern that matches no model relation
  (registered from :mod:`dbtune.nplusone.checks`)
- ``dbtune.E007`` ``READ_YOUR_WRITES_CARRIER`` is ``"session"`` but Django's
  ``SessionMiddleware`` does not run before ``DBTuneMiddleware``
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Any

from django.core.checks import CheckMessage, Error, register
from django.utils.module_loading import import_string

from dbtune import conf

_TYPE_NAMES = {
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    dict: "a dict",
    list: "a list",
    tuple: "a tuple",
    type(None): "None",
}


def _describe(types: tuple[type, ...]) -> str:
    return " or ".join(dict.fromkeys(_TYPE_NAMES.get(t, t.__name__) for t in types))


def _suggest(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f'Did you mean "{close[0]}"?'
    return "Known keys: " + ", ".join(sorted(known)) + "."


def _walk(prefix: str, defaults: dict[str, Any], user: dict[str, Any]) -> Iterator[CheckMessage]:
    for key, value in user.items():
        dotted = f"{prefix}{key}"
        if key not in defaults:
            yield Error(
                f"DBTUNE setting {dotted!r} is not a known key.",
                hint=_suggest(str(key), list(defaults)),
                id="dbtune.E002",
            )
            continue
        expected = conf.EXPECTED_TYPES[dotted]
        wrong_bool = isinstance(value, bool) and bool not in expected
        if wrong_bool or not isinstance(value, expected):
            yield Error(
                f"DBTUNE[{dotted!r}] must be {_describe(expected)}, got {type(value).__name__}.",
                hint=f"Default: {defaults[key]!r}.",
                id="dbtune.E003",
            )
            continue
        default = defaults[key]
        if isinstance(default, dict) and default and isinstance(value, dict):
            yield from _walk(f"{dotted}.", default, value)


def _choice(dotted: str, value: Any, choices: tuple[str, ...]) -> Iterator[CheckMessage]:
    if value not in choices:
        yield Error(
            f"DBTUNE[{dotted!r}] is {value!r}; it must be one of {', '.join(choices)}.",
            hint=_suggest(str(value), list(choices)),
            id="dbtune.E004",
        )


def _at_least(dotted: str, value: float, minimum: float) -> Iterator[CheckMessage]:
    if value < minimum:
        yield Error(
            f"DBTUNE[{dotted!r}] is {value!r}; it must be at least {minimum}.",
            hint="Remove the key to use the default.",
            id="dbtune.E004",
        )


def _values(effective: dict[str, Any]) -> Iterator[CheckMessage]:
    nplus = effective["NPLUSONE"]
    yield from _choice("NPLUSONE.ACTION", nplus["ACTION"], conf.NPLUSONE_ACTIONS)
    yield from _at_least("NPLUSONE.THRESHOLD", nplus["THRESHOLD"], 2)
    routing = effective["ROUTING"]
    yield from _choice("ROUTING.READ_YOUR_WRITES", routing["READ_YOUR_WRITES"], conf.RYW_MODES)
    yield from _at_least("ROUTING.MAX_LAG_SECONDS", routing["MAX_LAG_SECONDS"], 0)
    yield from _at_least("ROUTING.MONITOR_INTERVAL", routing["MONITOR_INTERVAL"], 0.05)
    yield from _at_least("ROUTING.READ_YOUR_WRITES_WINDOW", routing["READ_YOUR_WRITES_WINDOW"], 0)
    carrier = routing["READ_YOUR_WRITES_CARRIER"]
    yield from _choice("ROUTING.READ_YOUR_WRITES_CARRIER", carrier, conf.RYW_CARRIERS)
    if not _COOKIE_NAME.fullmatch(routing["READ_YOUR_WRITES_COOKIE"]):
        yield Error(
            f"DBTUNE['ROUTING.READ_YOUR_WRITES_COOKIE'] is "
            f"{routing['READ_YOUR_WRITES_COOKIE']!r}, which is not a valid cookie name.",
            hint="Use letters, digits, '_' or '-', e.g. 'dbtune_ryw'.",
            id="dbtune.E004",
        )
    if carrier == "session":
        yield from _session_middleware()


_COOKIE_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
"""RFC 6265 ``token``: what a cookie name may contain."""
_SESSIONS = "django.contrib.sessions.middleware.SessionMiddleware"
_DBTUNE = "dbtune.middleware.DBTuneMiddleware"


def _position(middleware: list[str], base: str) -> int | None:
    """Index of the first entry that is ``base`` or a subclass of it; ``None`` if none."""
    wanted = import_string(base)
    for index, path in enumerate(middleware):
        try:
            found = path == base or issubclass(import_string(path), wanted)
        except (ImportError, TypeError):
            continue
        if found:
            return index
    return None


def _session_middleware() -> Iterator[CheckMessage]:
    from django.conf import settings

    middleware = [str(path) for path in getattr(settings, "MIDDLEWARE", None) or ()]
    sessions, dbtune = _position(middleware, _SESSIONS), _position(middleware, _DBTUNE)
    if sessions is None or (dbtune is not None and dbtune < sessions):
        yield Error(
            "DBTUNE['ROUTING.READ_YOUR_WRITES_CARRIER'] is 'session', but "
            + (
                "SessionMiddleware is not in MIDDLEWARE."
                if sessions is None
                else "DBTuneMiddleware comes before SessionMiddleware in MIDDLEWARE."
            ),
            hint=f"List {_SESSIONS!r} before {_DBTUNE!r} in MIDDLEWARE, or use the "
            "'cookie' carrier.",
            id="dbtune.E007",
        )


def _aliases_named(effective: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(dotted setting, alias) for every database alias the settings refer to."""
    routing = effective["ROUTING"]
    user_routing = conf.raw().get("ROUTING", {}) if isinstance(conf.raw(), dict) else {}
    if isinstance(user_routing, dict) and user_routing:
        yield "ROUTING.PRIMARY", routing["PRIMARY"]
        for table, replicas in routing["AFFINITY"].items():
            for alias in replicas if isinstance(replicas, list | tuple) else [replicas]:
                yield f"ROUTING.AFFINITY.{table}", alias
        for alias in routing["DEFAULT_REPLICAS"]:
            yield "ROUTING.DEFAULT_REPLICAS", alias
    for alias in effective["CAPTURE"]["ALIASES"] or ():
        yield "CAPTURE.ALIASES", alias


def _aliases(effective: dict[str, Any]) -> Iterator[CheckMessage]:
    from django.conf import settings

    databases = list(getattr(settings, "DATABASES", {}))
    for dotted, alias in _aliases_named(effective):
        if alias not in databases:
            yield Error(
                f"DBTUNE[{dotted!r}] names database alias {alias!r}, which is not in DATABASES.",
                hint=_suggest(str(alias), databases),
                id="dbtune.E005",
            )


@register()
def check_settings(**kwargs: Any) -> list[CheckMessage]:
    """Validate ``DBTUNE``; returns every problem at once, never raises."""
    user = conf.raw()
    if not isinstance(user, dict):
        return [
            Error(
                f"DBTUNE must be a dict, got {type(user).__name__}.",
                hint="Example: DBTUNE = {'NPLUSONE': {'THRESHOLD': 2}}",
                id="dbtune.E001",
            )
        ]
    messages = list(_walk("", conf.DEFAULTS, user))
    effective = conf.get()
    messages.extend(_values(effective))
    messages.extend(_aliases(effective))
    return messages


def _register_nplusone_checks() -> None:
    from dbtune.nplusone.checks import check_allow_patterns

    register()(check_allow_patterns)


_register_nplusone_checks()
