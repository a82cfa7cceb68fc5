"""The tables a statement touches.

Names come back unquoted, in order of first appearance, without duplicates: bare names folded
to lower case, quoted names as written, the ``public`` schema dropped and any other schema kept
as ``schema.table``. Names a ``WITH`` clause defines are not tables and are left out.

PostgreSQL statements are read from libpg_query's parse tree (every ``RangeVar``: FROM and
JOIN items, subqueries, CTE bodies, INSERT/UPDATE/DELETE targets, DDL subjects). Other
vendors, and statements libpg_query rejects, fall back to reading the names after FROM,
JOIN, INTO, UPDATE, USING and TABLE in the token stream.
"""

from __future__ import annotations

import json
from typing import Any

from dbtune.sql.lexer import IDENT, KEYWORDS, QIDENT, Token, significant, to_dollar_params, unquote

_REFERENCE_KEYWORDS = frozenset({"FROM", "JOIN", "INTO", "UPDATE", "USING", "TABLE", "TRUNCATE"})
_LISTS = frozenset({"FROM", "USING", "TRUNCATE"})
_SKIPPED = frozenset({"ONLY", "LATERAL", "IF", "NOT", "EXISTS", "TABLE"})


def find_tables(sql: str, vendor: str, tokens: list[Token] | None = None) -> tuple[str, ...]:
    """Tables touched by ``sql``; ``tokens`` may pass ``significant(sql)`` if already known."""
    if vendor == "postgresql":
        found = _from_parse_tree(sql)
        if found is not None:
            return found
    return _from_tokens(significant(sql) if tokens is None else tokens)


def _qualified(schema: str | None, name: str) -> str:
    return name if schema in (None, "public") else f"{schema}.{name}"


def _from_parse_tree(sql: str) -> tuple[str, ...] | None:
    from pglast import parser

    try:
        tree: Any = json.loads(parser.parse_sql_json(to_dollar_params(sql)))
    except (parser.ParseError, ValueError):
        return None
    ranges: list[tuple[int, str | None, str]] = []
    ctes: set[str] = set()
    pending: list[Any] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            pending.extend(node)
        elif isinstance(node, dict):
            if "relname" in node:  # a RangeVar (typed fields carry no node-type wrapper)
                ranges.append((node.get("location", -1), node.get("schemaname"), node["relname"]))
            elif "ctename" in node:
                ctes.add(node["ctename"])
            pending.extend(value for value in node.values() if isinstance(value, dict | list))
    names = [
        _qualified(schema, name)
        for _, schema, name in sorted(ranges, key=lambda item: item[0])
        if schema is not None or name not in ctes
    ]
    return tuple(dict.fromkeys(names))


def _is_name(token: Token) -> bool:
    return token.kind == QIDENT or (token.kind == IDENT and token.text.upper() not in KEYWORDS)


def _cte_names(tokens: list[Token]) -> set[str]:
    """Names defined as ``name AS (`` or ``name (columns) AS (`` anywhere in the statement."""
    names: set[str] = set()
    for index, token in enumerate(tokens[:-2]):
        if not _is_name(token):
            continue
        after = index + 1
        if tokens[after].text == "(":
            depth = 0
            for after in range(index + 1, len(tokens)):
                depth += {"(": 1, ")": -1}.get(tokens[after].text, 0)
                if depth == 0:
                    break
            after += 1
        if (
            after + 1 < len(tokens)
            and tokens[after].text.upper() == "AS"
            and tokens[after + 1].text.upper() in ("(", "MATERIALIZED", "NOT")
        ):
            names.add(unquote(token))
    return names


def _read_name(tokens: list[Token], index: int) -> tuple[str | None, int]:
    """Read ``name[.name...]`` at ``index``; return the qualified table name and next index."""
    parts: list[str] = []
    while index < len(tokens) and _is_name(tokens[index]):
        parts.append(unquote(tokens[index]))
        index += 1
        if index < len(tokens) and tokens[index].text == ".":
            index += 1
        else:
            break
    if not parts:
        return None, index
    return _qualified(parts[-2] if len(parts) > 1 else None, parts[-1]), index


def _from_tokens(tokens: list[Token]) -> tuple[str, ...]:
    ctes = _cte_names(tokens) if any(t.text.upper() == "WITH" for t in tokens) else set()
    found: dict[str, None] = {}
    calls: list[bool] = []
    for index, token in enumerate(tokens):
        if token.text == "(":
            calls.append(index > 0 and _is_name(tokens[index - 1]))
        elif token.text == ")" and calls:
            calls.pop()
        word = token.text.upper() if token.kind == IDENT else ""
        if word not in _REFERENCE_KEYWORDS or (calls and calls[-1]):
            continue
        previous = tokens[index - 1].text.upper() if index else ""
        if (word, previous) in (("FROM", "DISTINCT"), ("UPDATE", "FOR"), ("UPDATE", "KEY")):
            continue  # IS [NOT] DISTINCT FROM, FOR [NO KEY] UPDATE
        if word == "UPDATE" and previous in ("DO", "ON"):
            continue  # ON CONFLICT DO UPDATE, ON UPDATE CASCADE
        cursor = index + 1
        while True:
            while cursor < len(tokens) and tokens[cursor].text.upper() in _SKIPPED:
                cursor += 1
            name, cursor = _read_name(tokens, cursor)
            if name is None:
                break
            called = cursor < len(tokens) and tokens[cursor].text == "("
            if not (called and word in ("FROM", "JOIN", "USING")) and name not in ctes:
                found[name] = None
            if cursor < len(tokens) and tokens[cursor].text.upper() == "AS":
                cursor += 1
            if cursor < len(tokens) and _is_name(tokens[cursor]):
                cursor += 1
            if word not in _LISTS or cursor >= len(tokens) or tokens[cursor].text != ",":
                break
            cursor += 1
    return tuple(found)
