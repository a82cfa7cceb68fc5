"""Replica health and lag, measured off the request path.

One :class:`ReplicaMonitor` per process polls every replica named in ``ROUTING`` with its
own psycopg connections (never Django's, so request transactions are untouched). A replica
lagging beyond ``MAX_LAG_SECONDS`` or not answering is taken out; it comes back only once
its lag is below half that (hysteresis, so a replica hovering at the limit does not flap).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

import psycopg

from dbtune import conf
from dbtune.routing.tokens import parse_lsn

logger = logging.getLogger("dbtune.routing")

REPLAY_CACHE_SECONDS = 0.05
"""How long a replica's replay LSN is reused before asking again (read-your-writes)."""

_PROBE = """
SELECT pg_last_wal_replay_lsn()::text, pg_last_wal_receive_lsn()::text,
       EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8
"""


def replica_aliases(options: dict[str, Any]) -> list[str]:
    """Every replica alias named in the routing settings, in first-seen order."""
    seen: dict[str, None] = {}
    for aliases in options["AFFINITY"].values():
        seen.update(dict.fromkeys(aliases))
    seen.update(dict.fromkeys(options["DEFAULT_REPLICAS"]))
    seen.pop(options["PRIMARY"], None)
    return list(seen)


def _conninfo(alias: str) -> dict[str, Any]:
    from django.conf import settings

    entry = settings.DATABASES[alias]
    params = {
        "dbname": entry.get("NAME") or "postgres",
        "user": entry.get("USER") or None,
        "password": entry.get("PASSWORD") or None,
        "host": entry.get("HOST") or None,
        "port": entry.get("PORT") or None,
    }
    return {k: v for k, v in params.items() if v is not None}


class ReplicaMonitor:
    """Healthy/unhealthy verdicts and replay LSNs per replica alias; thread-safe.

    Contract: :meth:`healthy` never blocks on the network; an alias never checked is
    presumed healthy. :meth:`replay_lsn` may query the replica (at most once per
    :data:`REPLAY_CACHE_SECONDS`), waiting at most for a probe of the same alias already
    in flight (connect timeout 2 s), and returns ``None`` when it does not answer.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._connections: dict[str, psycopg.Connection[Any]] = {}
        self._probing: dict[str, threading.Lock] = {}
        self._down: set[str] = set()
        self._lag: dict[str, float | None] = {}
        self._replay: dict[str, tuple[float, int]] = {}
        self._thread: threading.Thread | None = None
        self._running_in = 0
        """pid of the process whose polling thread runs (a fork has no thread: restart)."""
        self._stop = threading.Event()

    def healthy(self, alias: str) -> bool:
        return alias not in self._down

    def lag(self, alias: str) -> float | None:
        """Last measured lag in seconds; ``None`` if never measured or not answering."""
        return self._lag.get(alias)

    def mark_down(self, alias: str) -> None:
        """Take ``alias`` out until a check finds it answering and caught up."""
        with self._lock:
            self._down.add(alias)
            self._replay.pop(alias, None)
        logger.warning("replica %s marked down", alias)

    def reset(self) -> None:
        """Forget every verdict and cached LSN, as if no replica was ever checked."""
        with self._lock:
            self._down.clear()
            self._lag.clear()
            self._replay.clear()

    def _alias_lock(self, alias: str) -> threading.Lock:
        with self._lock:
            return self._probing.setdefault(alias, threading.Lock())

    def _probe(self, alias: str) -> tuple[int | None, float] | None:
        """One round trip to ``alias``: ``(replay LSN, lag seconds)``, ``None`` if silent.

        Serialised per alias only, so a slow replica never delays probes of the others.
        """
        with self._alias_lock(alias):
            # A kept connection may have died with a restart since the last probe: one
            # more try on a fresh connection tells "restarted" from "down".
            for attempt in (1, 2):
                conn = self._connections.get(alias)
                fresh = conn is None or conn.closed
                try:
                    if conn is None or fresh:
                        conn = psycopg.connect(
                            **_conninfo(alias), autocommit=True, connect_timeout=2
                        )
                        self._connections[alias] = conn
                    row = conn.execute(_PROBE).fetchone()
                    break
                except psycopg.Error as exc:
                    self._drop(alias)
                    if fresh or attempt == 2:
                        logger.debug("replica %s does not answer: %s", alias, exc)
                        return None
        if row is None or row[0] is None:
            return None, 0.0
        replay = parse_lsn(row[0])
        # Right after a restart the receive LSN can sit behind replay (streaming restarts
        # at a segment start): anything not ahead of replay means nothing left to apply.
        caught_up = row[2] is None or row[1] is None or parse_lsn(row[1]) <= replay
        with self._lock:
            self._replay[alias] = (time.monotonic(), replay)
        return replay, 0.0 if caught_up else max(0.0, float(row[2]))

    def _drop(self, alias: str) -> None:
        conn = self._connections.pop(alias, None)
        with self._lock:
            self._replay.pop(alias, None)
        if conn is not None:
            conn.close()

    def replay_lsn(self, alias: str) -> int | None:
        with self._lock:
            cached = self._replay.get(alias)
        if cached is not None and time.monotonic() - cached[0] < REPLAY_CACHE_SECONDS:
            return cached[1]
        probed = self._probe(alias)
        return None if probed is None else probed[0]

    def check_now(self) -> None:
        """Probe every configured replica once and update the verdicts (also for tests)."""
        options = conf.routing()
        limit = float(options["MAX_LAG_SECONDS"])
        for alias in replica_aliases(options):
            probed = self._probe(alias)
            lag = None if probed is None else probed[1]
            with self._lock:
                self._lag[alias] = lag
                was_down = alias in self._down
                if lag is None or lag > limit:
                    self._down.add(alias)
                elif lag < limit / 2:
                    self._down.discard(alias)
                is_down = alias in self._down
            if was_down != is_down:
                verb = "out" if is_down else "back in"
                logger.info("replica %s %s (lag %s s, limit %s s)", alias, verb, lag, limit)

    def ensure_started(self) -> None:
        """Start the daemon polling thread once; cheap to call on every routing decision."""
        if self._running_in == os.getpid():
            return
        with self._lock:
            if self._running_in not in (0, os.getpid()):
                # Forked: the parent's thread did not come along, and its connections
                # share sockets with the parent; forget them without closing.
                self._connections = {}
                self._thread = None
            if self._thread is not None and self._thread.is_alive():
                self._running_in = os.getpid()
                return
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, name="dbtune-replica-monitor", daemon=True
            )
            self._thread.start()
            self._running_in = os.getpid()

    def stop(self) -> None:
        self._stop.set()
        self._running_in = 0
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=5)
        for alias in list(self._connections):
            with self._alias_lock(alias):
                self._drop(alias)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check_now()
            except Exception:  # the monitor must outlive any single failed round
                logger.exception("replica monitor round failed")
            self._stop.wait(float(conf.routing()["MONITOR_INTERVAL"]))


MONITOR = ReplicaMonitor()
"""The process-wide monitor shared by every router instance."""
