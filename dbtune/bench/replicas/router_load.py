"""Reads through Django's router from Python clients, for the ``replicas`` scenario.

Django is configured once per process, so the clients run under a fresh interpreter
(``python -m dbtune.bench.replicas.router_child SPEC FOLDER``) that configures Django with
the lab's primary and replicas and then forks the :class:`~dbtune.bench.driver.DriverLoad`
clients. Each transaction reads ``keys_per_read`` random rows of one random table through
the ORM, so every read goes through ``db_for_read``: either dbtune's
:class:`~dbtune.routing.TableAffinityRouter` (``affine``) or a plain round-robin router
(``round-robin``), the kind most projects start with.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from dbtune.bench.load import Load, LoadOutcome

ROUTINGS = ("affine", "round-robin")


@dataclass
class RouterLoad(Load):
    """``clients`` Python processes reading ``rows`` (table -> row count) through Django.

    ``databases`` maps Django aliases to DSNs, primary (``default``) first; ``affinity``
    is the ``DBTUNE["ROUTING"]["AFFINITY"]`` the affine router uses.
    """

    databases: dict[str, str]
    schema: str
    routing: str
    affinity: dict[str, list[str]]
    rows: dict[str, int]
    keys_per_read: int
    clients: int
    duration_s: float
    seed: int = 42
    timeout_margin_s: float = 120.0
    label = "django"

    def __post_init__(self) -> None:
        if self.routing not in ROUTINGS:
            raise ValueError(f"routing must be one of {ROUTINGS}, not {self.routing!r}")

    def commands(self) -> list[str]:
        return []

    def run(self, folder: Path) -> LoadOutcome:
        folder.mkdir(parents=True, exist_ok=True)
        spec = folder / "router_spec.json"
        spec.write_text(json.dumps(dataclasses.asdict(self), indent=2))
        argv = [sys.executable, "-m", "dbtune.bench.replicas.router_child", str(spec), str(folder)]
        try:
            done = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
                timeout=self.duration_s + self.timeout_margin_s,
                check=False,
            )
            stderr, code = done.stderr, done.returncode
        except subprocess.TimeoutExpired:
            stderr, code = "the Django clients did not finish in time", -1
        result = folder / "outcome.json"
        if code == 0 and result.is_file():
            return LoadOutcome(**json.loads(result.read_text()))
        lines = [line for line in stderr.strip().splitlines() if line.strip()]
        return LoadOutcome(
            driver=self.label,
            tps=None,
            transactions=0,
            failed=0,
            duration_s=self.duration_s,
            latency_ms=None,
            error=f"Django clients exited with status {code}: "
            + (lines[-1] if lines else "no output"),
        )
