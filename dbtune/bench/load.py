"""What drives a benchmark run, and what one run of it measured.

A :class:`Load` is anything that puts traffic on the servers for a fixed time: the real
``pgbench`` binary (:mod:`dbtune.bench.pgbench`) where one database is driven, the Python
driver (:mod:`dbtune.bench.driver`) where traffic crosses services or passes through
Django. Both report a :class:`LoadOutcome` with the same fields, latencies computed from
per-transaction logs in pgbench's format, so their numbers are comparable line by line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbtune.bench.txlog import TransactionLog


@dataclass
class LoadOutcome:
    """One timed run. ``tps`` counts successful transactions per second of the run.

    ``tps`` is what the driver itself reports (pgbench's ``tps = ...`` line, excluding
    connection time); ``latency_ms`` comes from the per-transaction logs. ``error`` is set
    when the run did not complete (server died, clients aborted); the numbers are then
    whatever was measured before that.
    """

    driver: str
    tps: float | None
    transactions: int
    failed: int
    duration_s: float
    latency_ms: dict[str, float] | None
    failures: dict[str, int] = field(default_factory=dict)
    retried: int = 0
    by_script: dict[str, dict[str, float]] = field(default_factory=dict)
    command: str | None = None
    client_cpu_s: float | None = None
    error: str | None = None
    reported: dict[str, float] = field(default_factory=dict)
    failure_samples: list[str] = field(default_factory=list)
    """A few distinct messages of failed transactions (the Python driver knows them)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "driver": self.driver,
            "tps": None if self.tps is None else round(self.tps, 3),
            "transactions": self.transactions,
            "failed": self.failed,
            "failures": dict(self.failures),
            "retried": self.retried,
            "duration_s": round(self.duration_s, 3),
            "latency_ms": self.latency_ms,
            "by_script": self.by_script,
            "command": self.command,
            "client_cpu_s": None if self.client_cpu_s is None else round(self.client_cpu_s, 3),
            "error": self.error,
            "reported": self.reported,
            "failure_samples": self.failure_samples,
        }


def script_summaries(log: TransactionLog, names: list[str]) -> dict[str, dict[str, float]]:
    """Per-script count and latency summary, keyed by script name (``script_no`` order)."""
    from dbtune.bench.stats import latency_summary

    found: dict[str, dict[str, float]] = {}
    for number, values in sorted(log.by_script.items()):
        name = names[number] if number < len(names) else f"script{number}"
        summary = latency_summary(values) or {}
        found[name] = {"count": len(values), **summary}
    return found


class Load:
    """Traffic for one timed run.

    Contract: :meth:`run` is called once per run with an empty folder it may write logs
    into; it blocks for about ``duration_s`` (plus connection set-up), never raises for a
    server-side failure (it returns a :class:`LoadOutcome` whose ``error`` says what
    happened), and leaves no client connection open when it returns, so that the servers'
    statistics are flushed. ``label`` names the driver in reports.
    """

    label = "load"
    duration_s: float = 0.0

    def run(self, folder: Path) -> LoadOutcome:
        raise NotImplementedError

    def commands(self) -> list[str]:
        """Shell command lines that reproduce this load, for the record (may be empty)."""
        return []

    def with_duration(self, seconds: float) -> Load:
        """The same load for ``seconds`` (used for unrecorded warm-up runs)."""
        import dataclasses

        if dataclasses.is_dataclass(self):
            return dataclasses.replace(self, duration_s=seconds)
        return self
