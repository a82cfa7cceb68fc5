"""How the network distance between services is modelled, and why, for the record.

The faithful way is a real delay on the wire (``tc netem`` on a veth pair between network
namespaces). This harness probes whether the kernel offers ``netem`` at all and records
the answer, but always models the hop in the driver: the lab's servers listen on
127.0.0.1 only, so their traffic cannot be routed through a delayed link without changing
how the lab starts them. The model is explicit and labelled everywhere: each call from the
orders service to another service sleeps ``rtt_ms`` in the client before it is sent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

_PROBE_DEVICE = "dbtnetem0"
_PROBE_PEER = "dbtnetem1"


def netem_available() -> tuple[bool, str]:
    """Whether ``tc qdisc ... netem`` works here (as root, on a throwaway veth pair)."""
    if os.geteuid() != 0:
        return False, "not running as root"
    ip, tc = shutil.which("ip"), shutil.which("tc")
    if ip is None or tc is None:
        return False, "the ip/tc tools are not installed"
    added = _run([ip, "link", "add", _PROBE_DEVICE, "type", "veth", "peer", "name", _PROBE_PEER])
    if added:
        return False, f"cannot create a network device ({added})"
    try:
        failed = _run([tc, "qdisc", "add", "dev", _PROBE_DEVICE, "root", "netem", "delay", "1ms"])
    finally:
        _run([ip, "link", "del", _PROBE_DEVICE])
    if failed:
        return False, f"tc netem unavailable ({failed})"
    return True, "tc netem works"


def _run(argv: list[str]) -> str:
    """Run a short command; the last line of its error output when it failed, else ``""``."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if done.returncode == 0:
        return ""
    lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines else f"exit status {done.returncode}"


def describe(rtt_ms: float) -> dict[str, Any]:
    """The ``network`` record of results.json."""
    available, reason = netem_available()
    return {
        "mode": "driver-delay",
        "rtt_ms": rtt_ms,
        "applies_to": "each call from one service to another (B only); A has no such hop",
        "netem_available": available,
        "netem_probe": reason,
        "why_not_netem": "lab servers listen on 127.0.0.1 only; routing them through a "
        "delayed veth link would need the lab to start them inside network namespaces",
    }
