"""The target types the advisor proposes, their storage, ranges and Django fields."""

from __future__ import annotations

import re

from dbtune.advisors.columns.storage import Attr

_FIXED = {
    "smallint": (2, "s"),
    "integer": (4, "i"),
    "bigint": (8, "d"),
    "uuid": (16, "c"),
    "date": (4, "i"),
    "boolean": (1, "c"),
}
INT_RANGES = {
    "smallint": (-(2**15), 2**15 - 1),
    "integer": (-(2**31), 2**31 - 1),
    "bigint": (-(2**63), 2**63 - 1),
}
INT_ORDER = ("smallint", "integer", "bigint")
TYPNAME_TO_INT = {"int2": "smallint", "int4": "integer", "int8": "bigint"}

DJANGO_FIELDS = {
    "smallint": "models.SmallIntegerField()",
    "integer": "models.IntegerField()",
    "bigint": "models.BigIntegerField()",
    "uuid": "models.UUIDField()",
    "date": "models.DateField()",
    "boolean": "models.BooleanField()",
    "text": "models.TextField()",
}

UUID_RE = re.compile(
    r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})$"
)
UUID_SQL = UUID_RE.pattern
INT_RE = re.compile(r"^(0|-?[1-9][0-9]{0,17})$")
INT_SQL = "^(0|-?[1-9][0-9]{0,17})$"
BOOL_WORDS = ("true", "false", "t", "f", "yes", "no", "y", "n", "on", "off")
MIDNIGHT_RE = re.compile(r"^\d{4,}-\d\d-\d\d 00:00:00([+-]\d\d(:\d\d)?)?( BC)?$")


def target_attr(name: str, type_name: str) -> Attr:
    """Storage of ``type_name`` (one of the proposed targets, or varchar/text)."""
    if type_name in _FIXED:
        length, align = _FIXED[type_name]
        return Attr(name, length, align, True, type_name)
    return Attr(name, -1, "i", True, type_name)


def smallest_int(low: int, high: int, headroom: float) -> str | None:
    """The narrowest integer type holding ``[low, high]`` scaled by ``headroom``."""
    for candidate in INT_ORDER:
        lo, hi = INT_RANGES[candidate]
        if low * headroom >= lo and high * headroom <= hi:
            return candidate
    return None


def django_field(type_name: str) -> str:
    if type_name.startswith("character varying("):
        return f"models.CharField(max_length={type_name[18:-1]})"
    return DJANGO_FIELDS.get(type_name, f"<field for {type_name}>")
