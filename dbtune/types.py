"""Type aliases and small value types shared across dbtune.

Kept here, not in the modules that use them, so that capture, detectors and renderers can
import them without importing each other (data flows one way: capture -> detect -> render).
"""

from __future__ import annotations

from typing import Any, Literal

StatementKind = Literal["select", "insert", "update", "delete", "ddl", "tx", "other"]
"""What a statement does; ``tx`` covers BEGIN/COMMIT/ROLLBACK/SAVEPOINT/RELEASE/SET."""

Vendor = Literal["postgresql", "sqlite", "mysql", "oracle", "other"]

JSONDict = dict[str, Any]
"""A JSON-serialisable mapping, as written to ``--format json`` output and snapshots."""

Site = str
"""A source location, ``"path/to/file.py:LINE"`` (path relative to the working directory)."""
