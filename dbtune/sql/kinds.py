"""What a statement does (``StatementKind``) and whether it needs the primary.

Read from the token stream, so the same answer comes back for every vendor. ``WITH ...``
statements take the kind of their main statement. A statement "writes" when it inserts,
updates, deletes or changes the schema, when a SELECT takes row locks (``FOR UPDATE``,
``FOR NO KEY UPDATE``, ``FOR SHARE``, ``FOR KEY SHARE``: a hot standby refuses all of them),
when a CTE modifies data, and for MERGE and ``COPY ... FROM``.
"""

from __future__ import annotations

from typing import Final

from dbtune.sql.lexer import IDENT, Token, significant
from dbtune.types import StatementKind

_LEADING: Final[dict[str, StatementKind]] = {
    "SELECT": "select",
    "VALUES": "select",
    "TABLE": "select",
    "INSERT": "insert",
    "REPLACE": "insert",
    "UPDATE": "update",
    "DELETE": "delete",
    "CREATE": "ddl",
    "ALTER": "ddl",
    "DROP": "ddl",
    "TRUNCATE": "ddl",
    "COMMENT": "ddl",
    "GRANT": "ddl",
    "REVOKE": "ddl",
    "BEGIN": "tx",
    "START": "tx",
    "COMMIT": "tx",
    "END": "tx",
    "ROLLBACK": "tx",
    "ABORT": "tx",
    "SAVEPOINT": "tx",
    "RELEASE": "tx",
    "SET": "tx",
    "RESET": "tx",
    "SHOW": "tx",
}
_MAIN_AFTER_WITH = frozenset({"SELECT", "VALUES", "TABLE", "INSERT", "UPDATE", "DELETE", "MERGE"})
_WRITING_KINDS = frozenset({"insert", "update", "delete", "ddl"})
_DML = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE"})
_LOCKS = frozenset({"UPDATE", "SHARE", "NO", "KEY"})


def _leading_word(tokens: list[Token]) -> str:
    """The first keyword of the main statement, looking past ``(`` and ``WITH`` clauses."""
    first = next((t.text.upper() for t in tokens if t.kind == IDENT), "")
    if first != "WITH":
        return first
    depth = 0
    for token in tokens:
        if token.text == "(":
            depth += 1
        elif token.text == ")":
            depth -= 1
        elif depth == 0 and token.kind == IDENT and token.text.upper() in _MAIN_AFTER_WITH:
            return token.text.upper()
    return first


def kind_of(tokens: list[Token]) -> StatementKind:
    """The kind of the statement whose significant tokens are ``tokens``."""
    return _LEADING.get(_leading_word(tokens), "other")


def writes(tokens: list[Token], kind: StatementKind) -> bool:
    """Whether the statement needs a writable database (see the module docstring)."""
    if kind in _WRITING_KINDS:
        return True
    if kind == "tx":
        return False
    words = [t.text.upper() for t in tokens if t.kind == IDENT]
    if words[:1] == ["COPY"]:
        return "FROM" in words
    for index, word in enumerate(words):
        previous = words[index - 1] if index else ""
        if word == "FOR" and index + 1 < len(words) and words[index + 1] in _LOCKS:
            return True
        if word in _DML and previous not in ("FOR", "KEY", "DO", "ON", "EXPLAIN"):
            return True
    return False


def statement_kind(sql: str) -> StatementKind:
    """``select``, ``insert``, ``update``, ``delete``, ``ddl``, ``tx`` or ``other``."""
    return kind_of(significant(sql))


def is_write(sql: str) -> bool:
    """Whether ``sql`` must run on the primary (writes, row locks, data-modifying CTEs)."""
    tokens = significant(sql)
    return writes(tokens, kind_of(tokens))
