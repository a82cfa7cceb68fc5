"""The request hook: N+1 detection around every request the middleware sees.

Registered with :func:`dbtune.middleware.register_hook` from ``AppConfig.ready`` (like any
third-party hook). Per request it runs :class:`~dbtune.nplusone.detect` with the
``NPLUSONE`` settings (``THRESHOLD``, ``ACTION``, ``ALLOW``, ``IGNORE_PATHS``), appends the
findings to ``request.dbtune.findings`` (unused eager loads included, logged at INFO), and
warns or raises as ``ACTION`` says once the view has returned.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from dbtune.middleware import RequestHook, RequestReport
from dbtune.nplusone.api import detect
from dbtune.nplusone.findings import Report


class NPlusOneHook(RequestHook):
    """Runs the N+1 detectors around the view; never queries, never changes the response."""

    def scope(self, request: Any, report: RequestReport) -> contextlib.AbstractContextManager[Any]:
        return _scope(report)


@contextlib.contextmanager
def _scope(request_report: RequestReport) -> Iterator[None]:
    from dbtune import conf

    settings = conf.nplusone()
    block = detect(settings.threshold, action=settings.action)
    found = Report()
    try:
        with block as found:
            yield
    finally:
        request_report.findings.extend(found.findings)


def install() -> None:
    """Register the hook with the middleware; idempotent (for ``AppConfig.ready``)."""
    from dbtune.middleware import register_hook

    register_hook(NPlusOneHook)
