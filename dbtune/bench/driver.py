"""The Python driver: client processes running a :class:`DriverProgram` for a fixed time.

Used wherever pgbench cannot go: traffic that crosses services (several servers per
transaction, application-side joins) or passes through Django. Each client is its own
process (forked, so no GIL is shared and nothing is pickled) with its own connections; all
clients start together after connecting, run closed-loop for ``duration_s``, and write one
line per transaction in pgbench's log format, so the same parser computes the latencies.
Failures are classified like pgbench's: ``serialization`` (SQLSTATE 40001), ``deadlock``
(40P01) or ``other``; a lost connection ends that client and is reported as the run's error.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import random
import resource
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbtune.bench.load import Load, LoadOutcome, script_summaries
from dbtune.bench.txlog import log_files, read_logs, write_line

LOG_PREFIX = "driver_log"
_SQLSTATE_KIND = {"40001": "serialization", "40P01": "deadlock"}


class ClientSession:
    """One client's connections. Contract: :meth:`transaction` runs one transaction to
    completion and returns its script number (index into ``DriverProgram.names``); a
    failed transaction raises the driver's exception (psycopg errors are classified by
    SQLSTATE) after the session rolled back, ready for the next one. :meth:`close` closes
    every connection."""

    def transaction(self) -> int:
        raise NotImplementedError

    def close(self) -> None:
        """Close the session's connections (default: nothing to close)."""


class DriverProgram:
    """What the clients run. ``names`` label script numbers in reports; :meth:`session`
    (the one required method) opens one client's connections inside its process."""

    names: list[str] = []

    def session(self, client: int, rng: random.Random) -> ClientSession:
        raise NotImplementedError

    def describe(self) -> str:
        return type(self).__name__


def failure_kind(exc: BaseException) -> str | None:
    """``serialization``/``deadlock``/``other`` for a query failure, ``None`` if the
    connection itself is gone (the client must stop)."""
    import psycopg

    if isinstance(exc, psycopg.OperationalError) and getattr(exc, "sqlstate", None) is None:
        return None
    return _SQLSTATE_KIND.get(str(getattr(exc, "sqlstate", "") or ""), "other")


def _client(
    program: DriverProgram, client: int, seed: int, duration: float, folder: Path, barrier: Any
) -> None:
    result: dict[str, Any] = {"error": None}
    session = None
    try:
        session = program.session(client, random.Random(seed * 7919 + client))
    except Exception as exc:  # reported by the parent as the run's error
        result["error"] = f"client {client} could not connect: {str(exc).splitlines()[0]}"
    barrier.wait()
    start_cpu = resource.getrusage(resource.RUSAGE_SELF)
    end = time.monotonic() + duration
    number = 0
    with (folder / f"{LOG_PREFIX}.{client}").open("w", encoding="ascii") as log:
        while session is not None and time.monotonic() < end:
            number += 1
            began = time.perf_counter()
            try:
                script = session.transaction()
            except Exception as exc:  # classified; a lost connection stops this client
                kind = failure_kind(exc)
                message = (str(exc).splitlines() or [type(exc).__name__])[0]
                if kind is None:
                    result["error"] = f"client {client}: {message}"
                    break
                samples = result.setdefault("samples", [])
                if len(samples) < 3 and message not in samples:
                    samples.append(message)
                write_line(log, client, number, 0, kind, time.time())
                continue
            elapsed = round((time.perf_counter() - began) * 1_000_000)
            write_line(log, client, number, script, elapsed, time.time())
    result["finished"] = time.monotonic()
    if session is not None:
        session.close()
    used = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu_s"] = (used.ru_utime - start_cpu.ru_utime) + (used.ru_stime - start_cpu.ru_stime)
    (folder / f"client.{client}.json").write_text(json.dumps(result))


@dataclass
class DriverLoad(Load):
    """``clients`` processes running ``program`` for ``duration_s`` seconds."""

    program: DriverProgram
    clients: int
    duration_s: float
    seed: int = 42
    label = "python"

    def run(self, folder: Path) -> LoadOutcome:
        folder.mkdir(parents=True, exist_ok=True)
        context = multiprocessing.get_context("fork")
        barrier = context.Barrier(self.clients + 1)
        processes = [
            context.Process(
                target=_client,
                args=(self.program, client, self.seed, self.duration_s, folder, barrier),
                daemon=True,
            )
            for client in range(self.clients)
        ]
        for process in processes:
            process.start()
        # A client that died before connecting breaks the barrier; its missing result
        # file then names the problem in the outcome.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=60)
        started = time.monotonic()
        for process in processes:
            process.join(timeout=self.duration_s + 60)
            if process.is_alive():
                process.kill()
        return self._outcome(folder, started)

    def _outcome(self, folder: Path, started: float) -> LoadOutcome:
        results: list[dict[str, Any]] = []
        for client in range(self.clients):
            path = folder / f"client.{client}.json"
            found = json.loads(path.read_text()) if path.is_file() else None
            results.append(found or {"error": f"client {client} died without a result"})
        errors = [r["error"] for r in results if r.get("error")]
        samples = sorted({sample for r in results for sample in r.get("samples", [])})
        finished = [r["finished"] for r in results if "finished" in r]
        elapsed = max(max(finished, default=started) - started, 1e-9)
        log = read_logs(log_files(folder, LOG_PREFIX))
        failures = {"serialization": 0, "deadlock": 0, "other": 0}
        failures.update(log.failures)
        return LoadOutcome(
            driver="python",
            tps=log.succeeded / elapsed if log.succeeded else None,
            transactions=log.succeeded,
            failed=log.failed,
            duration_s=self.duration_s,
            latency_ms=log.summary(),
            failures=failures,
            by_script=script_summaries(log, self.program.names),
            command=None,
            client_cpu_s=sum(float(r.get("cpu_s", 0.0)) for r in results),
            error="; ".join(errors[:2]) or None,
            reported={"elapsed_s": round(elapsed, 4)},
            failure_samples=samples[:5],
        )
