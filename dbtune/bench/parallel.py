"""Several loads at once as one :class:`~dbtune.bench.load.Load`: one pgbench per server.

pgbench drives one database per process, so traffic spread over a replication set (each
replica with its own clients) is several pgbench processes started together. Their
outcomes add up: transactions, failures and throughput are sums, latencies come from the
merged per-transaction logs, and ``by_script`` keys are prefixed with the part's name.
"""

from __future__ import annotations

import dataclasses
import resource
import threading
from dataclasses import dataclass
from pathlib import Path

from dbtune.bench.load import Load, LoadOutcome
from dbtune.bench.txlog import log_files, read_logs

_LOG_PREFIXES = ("pgbench_log", "driver_log")


@dataclass
class ParallelLoad(Load):
    """``parts`` (name -> load) run concurrently; each writes into ``folder/NAME``."""

    parts: dict[str, Load]
    duration_s: float = 0.0

    def __post_init__(self) -> None:
        self.duration_s = max((part.duration_s for part in self.parts.values()), default=0.0)

    @property
    def label(self) -> str:  # type: ignore[override]  # a property where Load has a field
        labels = sorted({part.label for part in self.parts.values()})
        return "+".join(labels) if labels else "parallel"

    def commands(self) -> list[str]:
        found = []
        for name, part in self.parts.items():
            found += [f"{command}  # {name}, run concurrently" for command in part.commands()]
        return found

    def with_duration(self, seconds: float) -> Load:
        parts = {name: part.with_duration(seconds) for name, part in self.parts.items()}
        return dataclasses.replace(self, parts=parts)

    def run(self, folder: Path) -> LoadOutcome:
        outcomes: dict[str, LoadOutcome] = {}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)

        def one(name: str, part: Load) -> None:
            outcomes[name] = part.run(folder / name)

        threads = [
            threading.Thread(target=one, args=(name, part), name=f"load-{name}")
            for name, part in self.parts.items()
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return self._combine(folder, outcomes, cpu)

    def _combine(self, folder: Path, outcomes: dict[str, LoadOutcome], cpu: float) -> LoadOutcome:
        paths = [
            path
            for name in self.parts
            for prefix in _LOG_PREFIXES
            for path in log_files(folder / name, prefix)
        ]
        log = read_logs(paths) if paths else None
        found = [outcomes[name] for name in self.parts if name in outcomes]
        missing = [name for name in self.parts if name not in outcomes]
        errors = [f"{name}: {o.error}" for name, o in outcomes.items() if o.error]
        errors += [f"{name}: the load did not return" for name in missing]
        failures: dict[str, int] = {}
        for outcome in found:
            for kind, count in outcome.failures.items():
                failures[kind] = failures.get(kind, 0) + count
        rates = [o.tps for o in found]
        return LoadOutcome(
            driver=self.label,
            tps=None if missing or None in rates else sum(r or 0.0 for r in rates),
            transactions=sum(o.transactions for o in found),
            failed=sum(o.failed for o in found),
            duration_s=self.duration_s,
            latency_ms=log.summary() if log else None,
            failures=failures,
            retried=sum(o.retried for o in found),
            by_script={
                f"{name}:{script}": summary
                for name, outcome in outcomes.items()
                for script, summary in outcome.by_script.items()
            },
            command=" & ".join(o.command for o in found if o.command) or None,
            client_cpu_s=cpu,
            error="; ".join(errors) or None,
            reported={
                f"{name}:{key}": value
                for name, outcome in outcomes.items()
                for key, value in outcome.reported.items()
            },
            failure_samples=[s for o in found for s in o.failure_samples][:5],
        )
