"""Pluggable detectors, their registry, and the merge that gives one finding per loop.

Built-in detectors are registered exactly as a third party would register one::

    @register_detector
    class MyDetector(Detector):
        name = "mine"

        def detect(self, session, threshold):
            return [...]
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from dbtune.nplusone.findings import Finding

if TYPE_CHECKING:
    from dbtune.nplusone.session import Session


class Detector:
    """Turns one finished session into findings.

    Contract: :meth:`detect` is called once, after the ``detect()`` block (or request) ends,
    with its :class:`~dbtune.nplusone.session.Session` and the threshold (the number of
    repetitions that makes a pattern). It returns :class:`Finding` objects and must not run
    queries, print, or change the session. Findings of all detectors are merged: a
    fingerprint-level finding at the same access site as a relation-level one for the same
    model and field is dropped, so one loop yields one finding.
    """

    name = "detector"

    def detect(self, session: Session, threshold: int) -> list[Finding]:
        raise NotImplementedError


_DETECTORS: list[type[Detector]] = []


def register_detector(detector: type[Detector]) -> type[Detector]:
    """Run ``detector`` in every future session; usable as a class decorator."""
    if detector not in _DETECTORS:
        _DETECTORS.append(detector)
    return detector


def registered_detectors() -> tuple[type[Detector], ...]:
    return tuple(_DETECTORS)


_ORDER = {"orm": 0, "sql": 1}


def run_all(session: Session, threshold: int) -> list[Finding]:
    """Every registered detector's findings, merged; problems first, ORM ones first."""
    findings: list[Finding] = []
    for detector in _DETECTORS:
        findings.extend(detector().detect(session, threshold))
    findings.sort(key=lambda f: (f.level == "info", _ORDER.get(f.detector, 2)))
    return merge(findings)


def merge(findings: list[Finding]) -> list[Finding]:
    """Drop fingerprint findings that repeat an ORM finding of the same loop; dedupe."""
    named = {(f.access_site, f.model, f.field) for f in findings if f.detector == "orm"}
    seen: set[Finding] = set()
    merged: list[Finding] = []
    for finding in findings:
        key = (finding.access_site, finding.model, finding.field)
        if finding.detector != "orm" and key in named:
            continue
        if finding in seen:
            continue
        seen.add(finding)
        merged.append(finding)
    return merged


def site_file(site: str | None) -> tuple[str | None, int]:
    """The absolute file name and line number of a ``"path.py:LINE"`` site."""
    if not site or ":" not in site:
        return None, 0
    path, _, line = site.rpartition(":")
    try:
        return os.path.abspath(path), int(line)
    except ValueError:
        return None, 0


def finding(
    kind: str,
    model: str,
    field: str,
    group: Any,
    queryset_site: str | None,
    fix: str,
    *,
    detector: str,
    loads: int = 0,
    sql: str = "",
) -> Finding:
    """A :class:`Finding` for a session group (its count, alias, site and ``allow()``)."""
    where = getattr(group, "where", None)  # the site unformatted, when the group knows it
    if where is None:
        filename, lineno = site_file(group.site)
    else:
        filename, lineno = os.path.abspath(where[0]), int(where[1])
    return Finding(
        kind=kind,
        model=model,
        field=field,
        count=group.count,
        alias=group.alias,
        access_site=group.site,
        queryset_site=queryset_site,
        fix=fix,
        detector=detector,
        loads=loads,
        sql=sql,
        filename=filename,
        lineno=lineno,
        allowed_by=group.allow,
        rendered_at=group.rendered_at,
    )
