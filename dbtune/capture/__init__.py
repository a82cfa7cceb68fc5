"""Capture every query on every database alias, in every thread.

Two layers:

* :func:`subscribe` / :func:`unsubscribe`: the listener API that the N+1 detector, the
  middleware, pytest snapshots and the workload sampler build on. Any number of listeners
  may be active at once; they share one execute wrapper per connection
  (:mod:`dbtune.capture.hub` explains how connections in other threads are reached).
* :func:`capture_queries`: a context manager collecting :class:`QueryEvent` objects in a
  list, built on that API (:mod:`dbtune.capture.queries`).

The wrapper does no SQL parsing; :class:`QueryEvent` derives fingerprints, tables and kinds
on first access (:mod:`dbtune.capture.events`).
"""

from __future__ import annotations

from dbtune.capture.events import QueryEvent
from dbtune.capture.hub import (
    CaptureScope,
    Listener,
    Subscription,
    subscribe,
    track_connections,
    unsubscribe,
)
from dbtune.capture.queries import CapturedQueries, QueryCapture, capture_queries

__all__ = [
    "CaptureScope",
    "CapturedQueries",
    "Listener",
    "QueryCapture",
    "QueryEvent",
    "Subscription",
    "capture_queries",
    "subscribe",
    "track_connections",
    "unsubscribe",
]
