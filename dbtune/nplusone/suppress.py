"""Which findings the developer has said to leave alone.

Four ways, all checked when a block ends: ``ALLOW`` patterns (settings, ``detect(allow=)``,
the pytest marker), :func:`~dbtune.nplusone.allow` blocks active while the queries ran,
``IGNORE_PATHS`` (fnmatch on the access site's file), and a ``# dbtune: ignore`` comment
(optionally ``# dbtune: ignore[n+1, get_in_loop]``) on the access line.

Patterns are ``app_label.Model.field`` with fnmatch wildcards, case-insensitive;
``app_label.Model`` means every field of that model and ``app_label`` every model.
"""

from __future__ import annotations

import fnmatch
import linecache
import os
import re
from collections.abc import Iterable

from dbtune.nplusone.findings import Finding

_COMMENT = re.compile(r"#\s*dbtune:\s*ignore(?:\[([^\]]*)\])?", re.IGNORECASE)


def normalize(pattern: str) -> str:
    """Lower-cased; ``app`` and ``app.Model`` widen to every field below them."""
    pattern = pattern.strip().lower()
    if pattern.count(".") < 2 and not pattern.endswith("*"):
        pattern += ".*"
    return pattern


def matches(relation: str, patterns: Iterable[str]) -> bool:
    name = relation.lower()
    return any(fnmatch.fnmatchcase(name, normalize(p)) for p in patterns)


def _comment_kinds(filename: str | None, lineno: int) -> set[str] | None:
    """Kinds ignored by a comment on that line (``{"*"}`` for all), or ``None``."""
    if not filename or not lineno:
        return None
    found = _COMMENT.search(linecache.getline(filename, lineno))
    if found is None:
        return None
    if not found.group(1):
        return {"*"}
    return {kind.strip() for kind in found.group(1).split(",") if kind.strip()}


def ignored_by_comment(finding: Finding) -> bool:
    lines = [(finding.filename, finding.lineno)]
    if finding.kind == "unused_eager" and finding.queryset_site:
        path, _, line = finding.queryset_site.rpartition(":")
        if line.isdigit():
            lines.append((os.path.abspath(path), int(line)))
    for filename, lineno in lines:
        kinds = _comment_kinds(filename, lineno)
        if kinds is not None and ("*" in kinds or finding.kind in kinds):
            return True
    return False


def in_ignored_path(finding: Finding, ignore_paths: Iterable[str]) -> bool:
    site = finding.access_site
    if not site:
        return False
    path = site.rpartition(":")[0]
    candidates = [path, finding.filename or path]
    return any(fnmatch.fnmatch(c, pattern) for c in candidates for pattern in ignore_paths)


def split(
    findings: Iterable[Finding], allow: Iterable[str], ignore_paths: Iterable[str]
) -> tuple[list[Finding], list[Finding]]:
    """``(kept, suppressed)``."""
    allow = tuple(allow)
    ignore_paths = tuple(ignore_paths)
    kept: list[Finding] = []
    suppressed: list[Finding] = []
    for finding in findings:
        quiet = (
            matches(finding.relation, (*allow, *finding.allowed_by))
            or in_ignored_path(finding, ignore_paths)
            or ignored_by_comment(finding)
        )
        (suppressed if quiet else kept).append(finding)
    return kept, suppressed
