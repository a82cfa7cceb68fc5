"""Workload sources: what statements a database runs, how often, with which values.

An advisor weighs its advice by the workload, so every source yields the same
:class:`Query` records and a :class:`Workload` merges them by fingerprint (statements that
differ only in literal values are one statement with more calls). Sources are small classes
with one required method, :meth:`WorkloadSource.queries`; combine any of them:

- :class:`SqlFile`: statements separated by ``;`` (one call each);
- :class:`CaptureFile`: dbtune capture files (JSON lines), with real parameter sets;
- :class:`PgStatStatements`: the target's ``pg_stat_statements`` (calls and times);
- :class:`PostgresLog`: ``log_min_duration_statement`` lines of a PostgreSQL stderr log.

Parameter placeholders are kept as ``$n`` (Django's ``%s`` is converted), and at most
:data:`MAX_PARAM_SETS` real parameter sets are kept per statement.
"""

from __future__ import annotations

from dbtune.advisors.workload.base import (
    MAX_PARAM_SETS,
    Params,
    Query,
    Workload,
    WorkloadSource,
    fingerprint,
)
from dbtune.advisors.workload.files import CaptureFile, SqlFile
from dbtune.advisors.workload.server import PgStatStatements, PostgresLog
from dbtune.advisors.workload.text import dollar_params, is_query_text, split_statements

__all__ = [
    "MAX_PARAM_SETS",
    "CaptureFile",
    "Params",
    "PgStatStatements",
    "PostgresLog",
    "Query",
    "SqlFile",
    "Workload",
    "WorkloadSource",
    "dollar_params",
    "fingerprint",
    "is_query_text",
    "split_statements",
]
