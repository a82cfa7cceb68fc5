"""Statement text helpers: splitting SQL files, recognising queries, placeholders."""

from __future__ import annotations

import re
from collections.abc import Iterator


def dollar_params(sql: str) -> str:
    """``sql`` with Django/psycopg ``%s`` placeholders written as PostgreSQL's ``$n``."""
    if "%" not in sql:
        return sql
    if not re.search(r"%(?:s|\([^()\s]*\)s)", sql.replace("%%", "")):
        return sql
    try:
        from dbtune.sql.lexer import to_dollar_params
    except ImportError:  # pragma: no cover - the shared lexer is optional
        count = iter(range(1, 10_000))
        return re.sub(r"%s", lambda _: f"${next(count)}", sql).replace("%%", "%")
    # The driver turns every "%%" into "%", inside string literals too.
    return to_dollar_params(sql).replace("%%", "%")


_STATEMENT_PIECES = re.compile(
    r"""'(?:[^']|'')*'? | "(?:[^"]|"")*"? | --[^\n]* | /\*[\s\S]*?(?:\*/|\Z)
      | \$(?P<tag>[^\W\d]\w*|)\$[\s\S]*?(?:\$(?P=tag)\$|\Z) | (?P<semi>;) | [^'"\-/$;]+ | [\s\S]""",
    re.VERBOSE,
)


def split_statements(text: str) -> Iterator[tuple[int, str]]:
    """``(line number, statement)`` for each ``;``-separated statement of ``text``.

    Semicolons inside quotes, comments and dollar quotes do not split; unparsable statements
    are yielded too (the advisor reports them), empty ones are not.
    """
    start, line, counted = 0, 1, 0
    pieces = [m.end() for m in _STATEMENT_PIECES.finditer(text + ";") if m.group("semi")]
    for end in pieces:
        chunk = text[start : end - 1]
        if _strip_comments(chunk).strip():
            offset = start + len(chunk) - len(chunk.lstrip())
            line += text.count("\n", counted, offset)
            counted = offset
            yield line, chunk.strip()
        start = end
    rest = text[start:]
    if start < len(text) and _strip_comments(rest).strip():
        offset = start + len(rest) - len(rest.lstrip())
        yield line + text.count("\n", counted, offset), rest.strip()


def _strip_comments(chunk: str) -> str:
    return re.sub(r"--[^\n]*|/\*[\s\S]*?\*/", " ", chunk)


QUERY_KEYWORDS = ("select", "with", "insert", "update", "delete", "table", "values", "merge")


def is_query_text(sql: str) -> bool:
    """Whether ``sql`` starts like a query (not BEGIN, SET, EXPLAIN, DDL, ...)."""
    words = _strip_comments(sql).lstrip(" \t\r\n(").split(None, 1)
    return bool(words) and words[0].lower() in QUERY_KEYWORDS
