"""Workload from the server's own records: ``pg_stat_statements`` and its log files."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dbtune.advisors.workload.base import Query, WorkloadSource, read_text
from dbtune.advisors.workload.text import is_query_text


class PgStatStatements(WorkloadSource):
    """The target database's ``pg_stat_statements``: calls and total time as weights.

    Handles both column generations (``total_exec_time`` since PostgreSQL 13,
    ``total_time`` before). Only statements of the current database that look like
    queries are read (BEGIN/SET/DDL are not advice material), most expensive first.
    """

    def __init__(self, conn: Any, limit: int = 5000) -> None:
        super().__init__()
        self.conn = conn
        self.limit = limit

    def queries(self) -> Iterator[Query]:
        from psycopg import sql

        from dbtune.db import require_extension

        require_extension(self.conn, "pg_stat_statements", "--pg-stat-statements reads it")
        schema, columns = self._describe()
        total = "total_exec_time" if "total_exec_time" in columns else "total_time"
        query = sql.SQL(
            "SELECT query, calls, {total} FROM {view} WHERE calls > 0 AND dbid = "
            "(SELECT oid FROM pg_database WHERE datname = current_database()) "
            "ORDER BY {total} DESC LIMIT %s"
        ).format(total=sql.Identifier(total), view=sql.Identifier(schema, "pg_stat_statements"))
        for text, calls, total_ms in self.conn.execute(query, (self.limit,)).fetchall():
            if not text or text.startswith("<insufficient privilege>"):
                self.problems.append(("pg_stat_statements", "query text not visible to this user"))
                continue
            if not is_query_text(text) or "hypopg_" in text:
                continue
            yield Query(
                sql=text,
                calls=float(calls),
                total_ms=float(total_ms),
                sources=["pg_stat_statements"],
            )

    def _describe(self) -> tuple[str, set[str]]:
        row = self.conn.execute(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'pg_stat_statements'"
        ).fetchone()
        schema = str(row[0])
        names = self.conn.execute(
            "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = 'pg_stat_statements' AND a.attnum > 0",
            (schema,),
        ).fetchall()
        return schema, {str(name) for (name,) in names}


_LOG_LINE = re.compile(
    r"(?:^|\s)(?P<level>LOG|DETAIL|STATEMENT|ERROR|HINT|CONTEXT|WARNING):\s+(?P<msg>.*)$"
)
_DURATION = re.compile(
    r"duration: (?P<ms>[\d.]+) ms\s+(?:statement|execute [^:]*): (?P<sql>[\s\S]*)$"
)
_LOG_PARAM = re.compile(r"\$(\d+) = (NULL|'(?:[^']|'')*')")


class PostgresLog(WorkloadSource):
    """A PostgreSQL stderr log with ``log_min_duration_statement`` entries.

    Reads ``duration: N ms  statement: ...`` and ``duration: N ms  execute <name>: ...``
    messages (continuation lines included) and the ``DETAIL:  parameters: $1 = '...'``
    line that follows an ``execute`` message.
    """

    def __init__(self, path: Path | str) -> None:
        super().__init__()
        self.path = Path(path)

    def queries(self) -> Iterator[Query]:
        pending: Query | None = None
        for level, message, line in self._messages():
            if level == "DETAIL" and pending is not None and message.startswith("parameters:"):
                values = {int(n): v for n, v in _LOG_PARAM.findall(message)}
                if values and "NULL" not in values.values():
                    params = [
                        values.get(i, "NULL")[1:-1].replace("''", "'")
                        for i in range(1, max(values) + 1)
                    ]
                    pending.params.append(tuple(params))
                continue
            if pending is not None:
                yield pending
                pending = None
            match = _DURATION.search(message) if level == "LOG" else None
            if match and is_query_text(match["sql"]):
                sql = match["sql"].strip().rstrip(";")
                pending = Query(
                    sql=sql, total_ms=float(match["ms"]), sources=[f"{self.path.name}:{line}"]
                )
        if pending is not None:
            yield pending

    def _messages(self) -> Iterator[tuple[str, str, int]]:
        current: list[Any] | None = None
        for number, line in enumerate(read_text(self.path, "log file").splitlines(), start=1):
            match = _LOG_LINE.search(line)
            if match is None or line[:1] in ("\t", " "):
                if current is not None:
                    current[1] += "\n" + line.strip("\t")
                continue
            if current is not None:
                yield current[0], current[1], current[2]
            current = [match["level"], match["msg"], number]
        if current is not None:
            yield current[0], current[1], current[2]
