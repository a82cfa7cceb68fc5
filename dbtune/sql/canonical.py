"""Normalised SQL text and its fingerprint.

Two statements share a fingerprint when they differ only in literal values, placeholder
style, IN-list / ARRAY / multi-row VALUES lengths, savepoint names, whitespace, comments and
the case of bare words. Anything that changes the plan's shape (tables, columns, operators,
``=`` versus ``IN``, sort direction) keeps them apart.

On PostgreSQL the statement first goes through libpg_query (via pglast): that validates it and
replaces constants exactly as the server's own parser sees them. Everything else, and any
statement libpg_query rejects, takes a tokeniser path with the same output conventions.
"""

from __future__ import annotations

import functools
import hashlib
import re
from typing import Final

from dbtune.sql.lexer import (
    IDENT,
    KEYWORDS,
    NUMBER,
    OP,
    PARAM,
    PERCENT,
    QIDENT,
    STRING,
    Token,
    significant,
    to_dollar_params,
)
from dbtune.sql.savepoints import SAVEPOINT_PLACEHOLDER, parse_savepoint

NORMALIZER_VERSION: Final = "1"
"""Bumped whenever a change here changes any fingerprint (snapshots compare it)."""

LITERAL: Final = "literal"
KEYWORD: Final = "keyword"
_VALUE = Token(LITERAL, "?")
_ANY_LENGTH = Token(LITERAL, "...")

_SIMPLE_PG_NAME = re.compile(r"[a-z_][a-z0-9_$]*\Z")
_NO_SPACE_BEFORE = frozenset({",", ")", "]", ".", "::", ";", "["})
_NO_SPACE_AFTER = frozenset({"(", "[", ".", "::"})
_CALL_KEYWORDS = frozenset({"ANY", "ALL", "SOME", "CAST", "ARRAY"})
_SPACED_AFTER_NAME = frozenset({"INTO", "TABLE", "ON", "REFERENCES", "INDEX", "VIEW", "WITH"})
_CLAUSE_END = frozenset(
    {"LIMIT", "OFFSET", "HAVING", "FOR", "FETCH", "UNION", "EXCEPT", "INTERSECT", "WINDOW"}
)
_POSITION_FOLLOWERS = _CLAUSE_END | {",", ")", ";", "ASC", "DESC", "NULLS", "USING", "ORDER"}


def digest(normalized: str) -> str:
    """The fingerprint of already-normalised text: 16 hex characters, stable across runs."""
    data = f"{NORMALIZER_VERSION}\n{normalized}".encode()
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def normalized_text(
    sql: str,
    vendor: str,
    savepoint_label: str | None = None,
    tokens: list[Token] | None = None,
) -> str:
    """Normalise ``sql`` as written for ``vendor`` (a Django ``connection.vendor`` value).

    Savepoint statements print as ``SAVEPOINT <label>``; the label defaults to one shared
    placeholder, so that every savepoint name fingerprints alike. ``tokens`` may pass
    ``significant(sql)`` when the caller has it already.
    """
    savepoint = parse_savepoint(sql)
    if savepoint is not None:
        return f"{savepoint[0]} {savepoint_label or SAVEPOINT_PLACEHOLDER}"
    if vendor == "postgresql":
        parsed = _libpg_normalize(sql)
        if parsed is not None:
            return _render(_collapse(_words(significant(parsed), postgres=True)))
    tokens = significant(sql) if tokens is None else tokens
    return _render(_collapse(_words(tokens, postgres=False)))


def _libpg_normalize(sql: str) -> str | None:
    from pglast import parser

    try:
        return str(parser.normalize(to_dollar_params(sql)))
    except (parser.ParseError, ValueError):
        return None


@functools.cache
def _reserved_pg_words() -> frozenset[str]:
    """Lower-case words PostgreSQL only accepts as names when quoted."""
    from pglast import keywords

    return frozenset(
        keywords.RESERVED_KEYWORDS | keywords.TYPE_FUNC_NAME_KEYWORDS | keywords.COL_NAME_KEYWORDS
    )


def _words(tokens: list[Token], *, postgres: bool) -> list[Token]:
    """Replace literals and placeholders by ``?`` and fix the case of every bare word."""
    reserved = _reserved_pg_words() if postgres else frozenset()
    out: list[Token] = []
    by_depth = -1
    depth = 0
    for index, (kind, text) in enumerate(tokens):
        bare = text[1:-1]
        if kind == QIDENT and postgres and _SIMPLE_PG_NAME.match(bare) and bare not in reserved:
            kind, text = IDENT, bare
        if kind in (STRING, PARAM):
            out.append(_VALUE)
        elif kind == NUMBER:
            following = tokens[index + 1].text.upper() if index + 1 < len(tokens) else ")"
            previous = out[-1].text if out else ""
            positional = previous == "BY" or (previous == "," and by_depth == depth)
            if positional and following in _POSITION_FOLLOWERS:
                out.append(Token(NUMBER, text))
                continue
            if _is_sign(out):
                out.pop()
            out.append(_VALUE)
        elif kind == IDENT:
            upper = text.upper()
            if upper in ("TRUE", "FALSE") and not _after_is(out):
                out.append(_VALUE)
            elif upper in KEYWORDS:
                out.append(Token(KEYWORD, upper))
                if upper == "BY" and len(out) > 1 and out[-2].text in ("ORDER", "GROUP"):
                    by_depth = depth
                elif upper in _CLAUSE_END:
                    by_depth = -1
            else:
                out.append(Token(IDENT, text.lower()))
        elif kind == PERCENT:
            out.append(Token(OP, "%"))
        else:
            if text == "(":
                depth += 1
            elif text == ")":
                depth -= 1
                by_depth = -1 if depth < by_depth else by_depth
            out.append(Token(kind, text))
    while out and out[-1].text == ";":
        out.pop()
    return out


def _is_sign(out: list[Token]) -> bool:
    if not out or out[-1].kind != OP or out[-1].text not in ("-", "+"):
        return False
    if len(out) == 1:
        return True
    before = out[-2]
    return before.kind == KEYWORD or (before.kind == OP and before.text not in (")", "]"))


def _after_is(out: list[Token]) -> bool:
    if out and out[-1].text == "NOT":
        return len(out) > 1 and out[-2].text == "IS"
    return bool(out) and out[-1].text == "IS"


def _closing(tokens: list[Token], start: int) -> int:
    """Index of the bracket closing the one at ``start`` (or ``len(tokens)`` if unclosed)."""
    opening = tokens[start].text
    closing = ")" if opening == "(" else "]"
    depth = 0
    for index in range(start, len(tokens)):
        text = tokens[index].text
        if text == opening:
            depth += 1
        elif text == closing:
            depth -= 1
            if depth == 0:
                return index
    return len(tokens)


def _constant_items(inner: list[Token]) -> bool:
    """True when every comma-separated item in ``inner`` is a value, possibly cast."""
    items: list[list[Token]] = [[]]
    depth = 0
    for token in inner:
        if token.text == "," and depth == 0:
            items.append([])
            continue
        if token.text in ("(", "["):
            depth += 1
        elif token.text in (")", "]"):
            depth -= 1
        items[-1].append(token)
    for item in items:
        if item and item[0] == _VALUE and (len(item) == 1 or item[1].text == "::"):
            continue
        row = len(item) > 2 and item[0].text == "(" and _closing(item, 0) == len(item) - 1
        if row and _constant_items(item[1:-1]):  # as in (a, b) IN ((1, 2), (3, 4))
            continue
        if len(item) > 2 and item[0].text == "CAST" and item[2] == _VALUE:
            continue
        if len(item) == 1 and item[0].text == "NULL":
            continue
        return False
    return True


def _collapse(tokens: list[Token]) -> list[Token]:
    """Fold IN (...) and ARRAY[...] lists of values, and repeated rows after VALUES."""
    out: list[Token] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        following = tokens[index + 1].text if index + 1 < len(tokens) else ""
        if (token.text, following) in (("IN", "("), ("ARRAY", "[")):
            end = _closing(tokens, index + 1)
            if end < len(tokens) and _constant_items(tokens[index + 2 : end]):
                out += [token, tokens[index + 1], _ANY_LENGTH, tokens[end]]
                index = end + 1
                continue
        if token.text == "VALUES" and following == "(":
            rows: list[tuple[Token, ...]] = []
            index += 1
            while index < len(tokens) and tokens[index].text == "(":
                end = _closing(tokens, index)
                row = tuple(_collapse(tokens[index : end + 1]))
                if row not in rows:
                    rows.append(row)
                index = end + 1
                if tokens[index : index + 2] != [Token(OP, ","), Token(OP, "(")]:
                    break
                index += 1
            out.append(token)
            for number, row in enumerate(rows):
                out += [Token(OP, ",")] * (number > 0) + list(row)
            continue
        out.append(token)
        index += 1
    return out


def _render(tokens: list[Token]) -> str:
    parts: list[str] = []
    for index, token in enumerate(tokens):
        if index and not _glued(tokens, index):
            parts.append(" ")
        parts.append(token.text)
    return "".join(parts)


def _glued(tokens: list[Token], index: int) -> bool:
    """Whether no space goes between ``tokens[index - 1]`` and ``tokens[index]``."""
    text, previous = tokens[index].text, tokens[index - 1]
    if text in _NO_SPACE_BEFORE or previous.text in _NO_SPACE_AFTER:
        return True
    if text != "(":
        return False
    if previous.kind == KEYWORD:
        return previous.text in _CALL_KEYWORDS
    if previous.kind not in (IDENT, QIDENT):
        return False
    start = index - 1
    while start >= 2 and tokens[start - 1].text == ".":
        start -= 2
    return start == 0 or tokens[start - 1].text not in _SPACED_AFTER_NAME
