"""The column advisor: exact row sizes, proven savings, plain "not worth it" verdicts.

``analyze(dsn)`` returns a :class:`ColumnReport`; see :mod:`.result` for what the numbers
mean and :mod:`.storage` for the storage rules they follow. This package only re-exports.
"""

from __future__ import annotations

from dbtune.advisors.columns.analyze import analyze
from dbtune.advisors.columns.findings import Finding
from dbtune.advisors.columns.render import render_django, render_report_text, report_section
from dbtune.advisors.columns.result import ColumnReport, TableReport

__all__ = [
    "ColumnReport",
    "Finding",
    "TableReport",
    "analyze",
    "render_django",
    "render_report_text",
    "report_section",
]
