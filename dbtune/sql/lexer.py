"""A small SQL tokeniser shared by the normaliser, the table finder and the kind classifier.

It is deliberately forgiving: any input produces tokens (an unterminated string becomes
single-character tokens), because captured SQL comes from every backend Django supports and
from raw ``cursor.execute`` calls. It knows the lexical forms that matter for fingerprints:
string literals (standard, ``E''``, ``N''``, ``B''``/``X''`` and PostgreSQL dollar quoting),
quoted identifiers, numbers, comments and the placeholder styles of the DB-API drivers
(``%s``, ``%(name)s``, ``?``, ``?1``, ``:name``, ``$1``).
"""

from __future__ import annotations

import functools
import re
from typing import Final, NamedTuple

WS: Final = "ws"
COMMENT: Final = "comment"
STRING: Final = "string"
IDENT: Final = "ident"
QIDENT: Final = "qident"
PARAM: Final = "param"
NUMBER: Final = "number"
PERCENT: Final = "percent"
OP: Final = "op"

_TOKEN_RE = re.compile(
    r"""
      (?P<ws>\s+)
    | (?P<comment>--[^\n]*|/\*[\s\S]*?(?:\*/|\Z))
    | (?P<string>[eE]'(?:[^'\\]|\\[\s\S]|'')*'
        | (?:[nNbBxX]|[uU]&)?'(?:[^']|'')*'
        | \$(?P<tag>[^\W\d]\w*|)\$[\s\S]*?\$(?P=tag)\$)
    | (?P<qident>"(?:[^"]|"")*"|`(?:[^`]|``)*`)
    | (?P<param>%\([^()\s]*\)s|%s|\$\d+|\?\d*|(?<!:):[^\W\d]\w*)
    | (?P<percent>%%)
    | (?P<number>0[xX][0-9a-fA-F_]+|(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<ident>[^\W\d][\w$]*)
    | (?P<op>::|<>|!=|<=|>=|\|\||->>|->|\#>>|\#>|@>|<@|&&|[\s\S])
    """,
    re.VERBOSE,
)

_KEYWORD_LIST = """
ABORT ADD ALL ALTER ANALYZE AND ANY ARRAY AS ASC BEGIN BETWEEN BY CASCADE CASE CAST
CHECK COLLATE COLUMN COMMENT COMMIT CONFLICT CONSTRAINT CREATE CROSS CURRENT_DATE
CURRENT_TIMESTAMP DEFAULT DEFERRABLE DELETE DESC DISTINCT DO DROP ELSE END ESCAPE EXCEPT
EXISTS EXPLAIN FALSE FETCH FILTER FIRST FOR FOREIGN FROM FULL GRANT GROUP HAVING IF
IGNORE ILIKE IN INDEX INNER INSERT INTERSECT INTERVAL INTO IS ISNULL ISOLATION JOIN KEY LAST
LATERAL LEFT LEVEL LIKE LIMIT LOCK LOCKED MATERIALIZED MERGE NATURAL NEXT NO NOT NOTHING
NOTNULL NOWAIT NULL NULLS OF OFFSET ON ONLY OR ORDER OUTER OVER PARTITION PRAGMA PRIMARY
RECURSIVE REFERENCES RELEASE RENAME REPLACE RESET RETURNING REVOKE RIGHT ROLLBACK ROW
ROWS SAVEPOINT SELECT SET SHARE SHOW SIMILAR SKIP SOME START TABLE THEN TO TRANSACTION
TRUE TRUNCATE UNION UNIQUE UPDATE USING VACUUM VALUES VIEW WHEN WHERE WINDOW WITH WITHIN
"""
KEYWORDS: Final = frozenset(_KEYWORD_LIST.split())
"""Words printed upper-case in normalised SQL; every other bare word is printed lower-case.

Only a curated set: PostgreSQL's unreserved keywords include common column names (``name``,
``position``), and upper-casing those would make normalised SQL harder to read. Case never
changes meaning for bare words, so this choice only affects readability, not fingerprints.
"""


class Token(NamedTuple):
    kind: str
    text: str


def tokenize(sql: str) -> list[Token]:
    """Split ``sql`` into tokens, whitespace and comments included; never raises."""
    tokens = []
    for match in _TOKEN_RE.finditer(sql):
        tokens.append(Token(match.lastgroup or OP, match.group()))
    return tokens


def significant(sql: str) -> list[Token]:
    """The tokens of ``sql`` without whitespace and comments."""
    return [token for token in tokenize(sql) if token.kind not in (WS, COMMENT)]


def unquote(token: Token) -> str:
    """The name an identifier token denotes: quoted names keep their case, bare ones fold.

    Folding to lower case follows PostgreSQL (and is harmless for SQLite, whose names are
    case-insensitive).
    """
    if token.kind == QIDENT:
        quote = token.text[0]
        return token.text[1:-1].replace(quote * 2, quote)
    return token.text.lower()


@functools.lru_cache(maxsize=16)  # normalising and finding tables both convert the same text
def to_dollar_params(sql: str) -> str:
    """Rewrite psycopg-style placeholders as ``$1..$n`` so that libpg_query can parse them.

    ``%s`` placeholders are numbered left to right; every ``%(name)s`` with the same name
    gets the same number; ``%%`` becomes ``%``. Text inside literals, quoted identifiers and
    comments is left alone. Numbering starts after the highest ``$n`` already present.
    """
    tokens = tokenize(sql)
    highest = 0
    for token in tokens:
        if token.kind == PARAM and token.text.startswith("$"):
            highest = max(highest, int(token.text[1:]))
    named: dict[str, int] = {}
    parts = []
    for kind, text in tokens:
        if kind == PERCENT:
            text = "%"
        elif kind == PARAM and text.startswith("%"):
            if text == "%s":
                highest += 1
                number = highest
            else:
                number = named.get(text) or highest + 1
                highest = max(highest, number)
                named[text] = number
            text = f"${number}"
        parts.append(text)
    return "".join(parts)
