"""Per-transaction logs in pgbench's format: parsing them, and writing them from Python.

pgbench ``--log`` writes one line per transaction (PostgreSQL 18 documentation,
"Per-Transaction Logging")::

    client_id transaction_no time script_no time_epoch time_us [schedule_lag] [retries]

``time`` is the elapsed time in microseconds, ``skipped`` for a transaction skipped under
``--rate``/``--latency-limit``, or the failure kind: ``failed``, or with
``--failures-detailed`` ``serialization``/``deadlock``/``other``. ``schedule_lag`` is present
with ``--rate``; ``retries`` when ``--max-tries`` is not 1. The Python driver writes the
same six columns, so latency statistics are computed by one parser for both drivers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from dbtune.bench.stats import latency_summary

FAILURE_WORDS = {"failed": "other", "serialization": "serialization", "deadlock": "deadlock"}
FAILURE_WORDS["other"] = "other"


class LogFormatError(ValueError):
    """A log line that does not have the columns pgbench's format promises."""


@dataclass
class TransactionLog:
    """What the lines of one run's logs say, all clients merged."""

    latencies_ms: list[float] = field(default_factory=list)
    by_script: dict[int, list[float]] = field(default_factory=dict)
    failures: Counter[str] = field(default_factory=Counter)
    skipped: int = 0
    retries: int = 0
    first_end: float | None = None
    last_end: float | None = None

    @property
    def succeeded(self) -> int:
        return len(self.latencies_ms)

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    def add(self, script: int, elapsed_us: int, end: float) -> None:
        millis = elapsed_us / 1000.0
        self.latencies_ms.append(millis)
        self.by_script.setdefault(script, []).append(millis)
        self._seen(end)

    def _seen(self, end: float) -> None:
        self.first_end = end if self.first_end is None else min(self.first_end, end)
        self.last_end = end if self.last_end is None else max(self.last_end, end)

    def summary(self) -> dict[str, float] | None:
        return latency_summary(self.latencies_ms)


def parse_line(
    line: str, log: TransactionLog, *, with_lag: bool = False, with_retries: bool = False
) -> None:
    """Add one log line to ``log``; raises :class:`LogFormatError` when malformed."""
    fields = line.split()
    expected = 6 + int(with_lag) + int(with_retries)
    if len(fields) != expected:
        raise LogFormatError(f"expected {expected} columns, found {len(fields)}: {line!r}")
    try:
        int(fields[0]), int(fields[1])
        script = int(fields[3])
        end = int(fields[4]) + int(fields[5]) / 1_000_000
        if with_retries:
            log.retries += int(fields[-1])
    except ValueError:
        raise LogFormatError(f"not a pgbench log line: {line!r}") from None
    token = fields[2]
    if token.isdigit():
        log.add(script, int(token), end)
    elif token == "skipped":
        log.skipped += 1
        log._seen(end)
    elif token in FAILURE_WORDS:
        log.failures[FAILURE_WORDS[token]] += 1
        log._seen(end)
    else:
        raise LogFormatError(f"unknown transaction time {token!r} in {line!r}")


def parse_lines(
    lines: Iterable[str], *, with_lag: bool = False, with_retries: bool = False
) -> TransactionLog:
    log = TransactionLog()
    for line in lines:
        if line.strip():
            parse_line(line, log, with_lag=with_lag, with_retries=with_retries)
    return log


def log_files(folder: Path, prefix: str = "pgbench_log") -> list[Path]:
    """The files one pgbench run wrote: ``PREFIX.PID`` and ``PREFIX.PID.THREAD``."""
    return sorted(path for path in folder.glob(f"{prefix}.*") if path.is_file())


def read_logs(
    paths: Iterable[Path], *, with_lag: bool = False, with_retries: bool = False
) -> TransactionLog:
    """Parse every line of every file in ``paths`` into one :class:`TransactionLog`."""
    log = TransactionLog()
    for path in paths:
        with path.open(encoding="ascii", errors="replace") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    parse_line(line, log, with_lag=with_lag, with_retries=with_retries)
                except LogFormatError as exc:
                    raise LogFormatError(f"{path.name}:{number}: {exc}") from None
    return log


def write_line(
    handle: TextIO, client: int, number: int, script: int, elapsed_us: int | str, end: float
) -> None:
    """Write one line in pgbench's format (``elapsed_us`` may be a failure word)."""
    seconds = int(end)
    micros = int((end - seconds) * 1_000_000)
    handle.write(f"{client} {number} {elapsed_us} {script} {seconds} {micros}\n")
