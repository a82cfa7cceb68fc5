"""What happens to findings when a block ends: log, signal, warn or raise.

``warn`` uses :func:`warnings.warn_explicit` with the access site's file and line, so the
warning points at the code to change and ``-W error`` (or pytest's ``filterwarnings =
error``) turns it into a failure there. Unused eager loads are informational: logged at
INFO, never warned about or raised.
"""

from __future__ import annotations

import logging
import warnings

from django.dispatch import Signal

from dbtune.nplusone.findings import Finding, Report

logger = logging.getLogger("dbtune.nplusone")

ACTIONS = ("none", "log", "warn", "raise")

finding_detected = Signal()
"""Sent once per reported finding when a block or request ends. Receivers get ``finding``
(a :class:`Finding`) and ``report`` (its :class:`Report`); ``sender`` is ``Finding``."""


class NPlusOneWarning(UserWarning):
    """An N+1 (or related) finding, reported with ``ACTION = "warn"``."""


class NPlusOneError(Exception):
    """Raised when a block ends with findings and ``ACTION = "raise"``."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        super().__init__("\n\n".join(f.message() for f in findings))


class _Message:
    """``finding.message()``, formatted only if a handler formats the log record."""

    __slots__ = ("finding",)

    def __init__(self, finding: Finding) -> None:
        self.finding = finding

    def __str__(self) -> str:
        return self.finding.message()


def act(report: Report, action: str) -> None:
    """Log, signal, then warn or raise, as ``action`` says (``none``: signal only)."""
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
    if action != "none":
        for finding in report.findings:
            level = logging.INFO if finding.level == "info" else logging.WARNING
            if logger.isEnabledFor(level):
                logger.log(level, "%s", _Message(finding))
    for finding in report.findings:
        finding_detected.send(sender=Finding, finding=finding, report=report)
    problems = report.problems
    if action == "warn":
        for finding in problems:
            warnings.warn_explicit(
                finding.message(),
                NPlusOneWarning,
                finding.filename or "<dbtune>",
                finding.lineno or 1,
            )
    elif action == "raise" and problems:
        raise NPlusOneError(problems)
