"""Unused eager loads: ``select_related`` / ``prefetch_related`` paths nothing read.

A declared path counts as used when user code reads that relation on any instance of the
batch; reading a nested path uses every level on it. A path is only judged when its parent
level loaded at least one row (an empty prefetch cannot be read, so it is not "unused").
Several evaluations of the same queryset line are judged together: one use anywhere is
enough. The pytest plugin widens that to the whole test session before failing anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dbtune.nplusone import fixes
from dbtune.nplusone.detectors import Detector, register_detector, site_file
from dbtune.nplusone.findings import EagerUse, Finding
from dbtune.nplusone.sites import fmt

if TYPE_CHECKING:
    from dbtune.nplusone.session import Session


def eager_uses(session: Session) -> list[EagerUse]:
    """Every declared eager path of every non-empty batch the session evaluated."""
    uses = []
    for batch in session.eager_batches:
        state = batch.eager
        if batch.size == 0 or state is None:
            continue
        for path, how in state.declared.items():
            if path[:-1] not in state.reached:
                continue
            uses.append(
                EagerUse(
                    model=batch.model,
                    path=fixes.joined(path),
                    how=how,
                    used=path in state.used,
                    alias=batch.alias or "default",
                    queryset_site=fmt(batch.site),
                    access_site=fmt(state.eval_site),
                )
            )
    return uses


def unused_findings(uses: list[EagerUse]) -> list[Finding]:
    """One finding per (model, path, queryset site) that no evaluation ever used."""
    grouped: dict[tuple[str, str, str | None], list[EagerUse]] = {}
    for use in uses:
        grouped.setdefault(use.key, []).append(use)
    found = []
    for group in grouped.values():
        if any(use.used for use in group):
            continue
        first = group[0]
        filename, lineno = site_file(first.access_site)
        found.append(
            Finding(
                kind="unused_eager",
                model=first.model,
                field=first.path,
                count=len(group),
                alias=first.alias,
                access_site=first.access_site,
                queryset_site=first.queryset_site,
                fix=fixes.unused(first.path, first.how),
                detector="eager",
                filename=filename,
                lineno=lineno,
            )
        )
    return found


@register_detector
class UnusedEagerDetector(Detector):
    """Reports eager loads that cost a join or a query and were never read."""

    name = "eager"

    def detect(self, session: Session, threshold: int) -> list[Finding]:
        return unused_findings(eager_uses(session))
