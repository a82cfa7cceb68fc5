"""``retry_reads``: re-run a read on the next candidate when a replica fails mid-query.

Django's router API cannot retry a query, so this wraps a *callable* that evaluates
querysets. Limits: only a decorator (a ``with`` block cannot be re-run in Python); the
callable must be safe to run twice (reads only); no retry inside an atomic block on the
primary or when the failing alias was the primary; querysets whose results were already
cached are not re-evaluated, so build them inside the callable.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import InterfaceError, OperationalError, connections

from dbtune import conf
from dbtune.routing.monitor import MONITOR
from dbtune.routing.router import ROUTED

P = ParamSpec("P")
R = TypeVar("R")

logger = logging.getLogger("dbtune.routing")


def retry_reads(attempts: int = 3) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator: on ``OperationalError``/``InterfaceError`` from a replica, mark every
    replica the failed attempt was routed to as down, close its Django connection and
    call again (up to ``attempts`` calls in all); other errors propagate at once."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            for attempt in range(1, attempts + 1):
                routed: list[str] = []
                reset = ROUTED.set(routed)
                try:
                    return func(*args, **kwargs)
                except (OperationalError, InterfaceError):
                    primary = conf.routing()["PRIMARY"]
                    if not routed or connections[primary].in_atomic_block or attempt == attempts:
                        raise
                    for alias in dict.fromkeys(routed):
                        MONITOR.mark_down(alias)
                        connections[alias].close()
                    logger.info("retrying read after failure on %s", ", ".join(routed))
                finally:
                    ROUTED.reset(reset)
            raise AssertionError("unreachable")  # pragma: no cover

        return wrapper

    return decorate
