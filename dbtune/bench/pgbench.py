"""The real ``pgbench`` binary as a :class:`~dbtune.bench.load.Load`.

Every run uses custom script files (``-f FILE@WEIGHT``), ``-M prepared``, ``-n`` (the
scripts' tables are not pgbench's own), ``-c``/``-j``/``-T``, ``--log`` with a
``--log-prefix`` inside the run's folder, and ``--failures-detailed``; ``--max-tries``
retries serialization failures and deadlocks when asked. The command line is kept exactly
as run (password redacted) so that anyone can rerun it against the same server.
"""

from __future__ import annotations

import os
import re
import resource
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from dbtune.bench.load import Load, LoadOutcome, script_summaries
from dbtune.bench.txlog import LogFormatError, log_files, read_logs
from dbtune.db import redact

APPLICATION_NAME = "dbtune-bench"
LOG_PREFIX = "pgbench_log"

_NUMBERS = {
    "processed": r"number of transactions actually processed: (\d+)",
    "failed": r"number of failed transactions: (\d+)",
    "serialization": r"number of serialization failures: (\d+)",
    "deadlock": r"number of deadlock failures: (\d+)",
    "retried": r"number of transactions retried: (\d+)",
    "latency_avg_ms": r"latency average = ([\d.]+) ms",
    "latency_stddev_ms": r"latency stddev = ([\d.]+) ms",
    "connection_ms": r"initial connection time = ([\d.]+) ms",
    "tps": r"tps = ([\d.]+) \(without initial connection time\)",
}


def parse_output(text: str) -> dict[str, float]:
    """The numbers pgbench printed on stdout (keys of ``_NUMBERS`` that were present)."""
    found: dict[str, float] = {}
    for key, pattern in _NUMBERS.items():
        match = re.search(pattern, text)
        if match:
            found[key] = float(match.group(1))
    return found


def pgbench_binary() -> Path:
    from dbtune.lab import pg_bin_dir

    return pg_bin_dir() / "pgbench"


@dataclass
class PgbenchLoad(Load):
    """``pgbench`` against ``dsn`` with ``scripts`` (``(file, weight)``, file names matter).

    ``defines`` become ``-D NAME=VALUE``; the scripts refer to them as ``:NAME``.
    """

    dsn: str
    scripts: list[tuple[Path, int]]
    clients: int
    jobs: int
    duration_s: float
    defines: dict[str, str | int | float] = field(default_factory=dict)
    max_tries: int = 1
    random_seed: int | None = 42
    timeout_margin_s: float = 60.0
    label = "pgbench"

    def argv(self, binary: Path, log_prefix: Path | None, dsn: str | None = None) -> list[str]:
        args = [str(binary), "-n", "-M", "prepared"]
        args += ["-c", str(self.clients), "-j", str(self.jobs), "-T", str(round(self.duration_s))]
        for path, weight in self.scripts:
            args += ["-f", f"{path}@{weight}"]
        for name, value in self.defines.items():
            args += ["-D", f"{name}={value}"]
        args += ["--failures-detailed", f"--max-tries={self.max_tries}"]
        if self.random_seed is not None:
            args.append(f"--random-seed={self.random_seed}")
        if log_prefix is not None:
            args += ["--log", f"--log-prefix={log_prefix}"]
        args.append(dsn if dsn is not None else self.dsn)
        return args

    def commands(self) -> list[str]:
        argv = self.argv(Path("pgbench"), None, redact(self.dsn))
        return [f"PGAPPNAME={APPLICATION_NAME} " + shlex.join(argv)]

    def run(self, folder: Path) -> LoadOutcome:
        folder.mkdir(parents=True, exist_ok=True)
        argv = self.argv(pgbench_binary(), folder / LOG_PREFIX)
        env = dict(os.environ, PGAPPNAME=APPLICATION_NAME, LC_ALL="C")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        try:
            done = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                env=env,
                stdin=subprocess.DEVNULL,
                timeout=self.duration_s + self.timeout_margin_s,
                check=False,
            )
            stdout, stderr, code = done.stdout, done.stderr, done.returncode
        except subprocess.TimeoutExpired as exc:
            stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
            stderr, code = "pgbench did not finish in time", -1
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        (folder / "pgbench.stdout").write_text(stdout)
        (folder / "pgbench.stderr").write_text(stderr)
        return self._outcome(folder, stdout, stderr, code, cpu)

    def _outcome(
        self, folder: Path, stdout: str, stderr: str, code: int, cpu: float
    ) -> LoadOutcome:
        numbers = parse_output(stdout)
        error = None
        if code != 0:
            lines = [line for line in stderr.strip().splitlines() if line.strip()]
            error = f"pgbench exited with status {code}: " + (lines[-1] if lines else "no output")
        try:
            log = read_logs(log_files(folder, LOG_PREFIX), with_retries=self.max_tries != 1)
        except LogFormatError as exc:
            log, error = None, error or f"unreadable pgbench log: {exc}"
        names = [path.stem for path, _ in self.scripts]
        failures = {"serialization": 0, "deadlock": 0, "other": 0}
        if log is not None:
            failures.update(log.failures)
        failed = int(numbers.get("failed", log.failed if log else 0))
        return LoadOutcome(
            driver="pgbench",
            tps=numbers.get("tps"),
            transactions=int(numbers.get("processed", log.succeeded if log else 0)),
            failed=failed,
            duration_s=self.duration_s,
            latency_ms=log.summary() if log else None,
            failures=failures,
            retried=int(numbers.get("retried", 0)),
            by_script=script_summaries(log, names) if log else {},
            command=self.commands()[0],
            client_cpu_s=cpu,
            error=error,
            reported=numbers,
        )
