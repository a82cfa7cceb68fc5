"""SQL normalisation, fingerprints, tables touched and statement kinds.

Pure functions of the SQL text and the vendor; nothing here touches a database.
"""

from __future__ import annotations

from dbtune.sql.analysis import Analysis, analyse, fingerprint, normalize, tables
from dbtune.sql.canonical import NORMALIZER_VERSION
from dbtune.sql.kinds import is_write, statement_kind
from dbtune.sql.savepoints import SavepointNumbering, savepoint_name

__all__ = [
    "NORMALIZER_VERSION",
    "Analysis",
    "SavepointNumbering",
    "analyse",
    "fingerprint",
    "is_write",
    "normalize",
    "savepoint_name",
    "statement_kind",
    "tables",
]
