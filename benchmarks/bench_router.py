"""Decision overhead of ``TableAffinityRouter.db_for_read``; target: median <= 5 us per call.

Per case, side by side: the router's own ``TableAffinityRouter().db_for_read(Model)`` (A)
and the real path of every queryset, ``django.db.router.db_for_read(Model)`` through
Django's ``ConnectionRouter`` (B). The verdict is absolute: each side's median time per
call (loop overhead included) must be <= 5 us; the ratio B/A shows what Django adds.

Cases: a table listed in ``AFFINITY``; a table only ``DEFAULT_REPLICAS`` serve; a
read-your-writes (``lsn``) token present for *another* table; inside ``use_primary()``.

No server is involved: the primary and both replicas are SQLite in-memory aliases. Past the
first call, which opens the chosen replica's connection in this thread, the decision itself
never touches a replica (a read of the token's own table would ask a replica for its replay
LSN, which is network time, not decision time, and is left out). The replica
monitor is kept from probing anything: an idle thread stands in for its polling thread, so
``ensure_started()`` takes the same fast path as in a server whose monitor is running, and
replicas never checked are healthy (the monitor's contract). Every sample asserts the alias
chosen, so a replica taken out behind the benchmark's back would fail the run. Run from the
repository root::

    python benchmarks/bench_router.py [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import django
from _harness import compare
from django.conf import settings

TARGET_US = 5.0
CALLS = 2000  # db_for_read calls per sample
MEMORY = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
ROUTING: dict[str, Any] = {
    "PRIMARY": "default",
    # A realistic plan: dozens of tables, each with its owner and a fallback.
    "AFFINITY": {
        **{f"bench_table_{n}": ["replica_a", "replica_b"] for n in range(40)},
        "bench_product": ["replica_a", "replica_b"],
        "bench_order": ["replica_b", "replica_a"],
    },
    "DEFAULT_REPLICAS": ["replica_b"],
    "MAX_LAG_SECONDS": 5.0,
    "READ_YOUR_WRITES": "lsn",
    "READ_YOUR_WRITES_WINDOW": 3600.0,
    "MONITOR_INTERVAL": 3600.0,
}


def _configure() -> None:
    settings.configure(
        DATABASES={"default": MEMORY, "replica_a": MEMORY, "replica_b": MEMORY},
        DATABASE_ROUTERS=["dbtune.routing.TableAffinityRouter"],
        INSTALLED_APPS=["dbtune"],
        DBTUNE={"ROUTING": ROUTING},
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    )
    django.setup()


@functools.cache
def _models() -> dict[str, Any]:
    from django.db import models

    def model(name: str, table: str) -> Any:
        meta = type("Meta", (), {"app_label": "bench_router", "db_table": table})
        return type(name, (models.Model,), {"__module__": __name__, "Meta": meta})

    return {
        "mapped": model("Product", "bench_product"),
        "unmapped": model("Review", "bench_review"),
    }


def _park_monitor() -> threading.Event:
    """Stand in for the monitor's polling thread; set the returned event to end it."""
    from dbtune.routing import MONITOR

    idle = threading.Event()
    thread = threading.Thread(target=idle.wait, name="bench-idle-monitor", daemon=True)
    thread.start()
    MONITOR._thread = thread
    return idle


@contextlib.contextmanager
def _token_for_another_table() -> Iterator[None]:
    from dbtune.routing import tokens

    with tokens.scope():
        tokens.record_lsn("bench_order", 0x16B374D848, window=3600)
        yield


def _cases() -> list[tuple[str, str, Callable[[], Any], str]]:
    """(name, model key, block to run the calls in, alias every call must choose)."""
    from dbtune.routing import use_primary

    return [
        ("table in AFFINITY", "mapped", contextlib.nullcontext, "replica_a"),
        ("table only DEFAULT_REPLICAS serve", "unmapped", contextlib.nullcontext, "replica_b"),
        ("lsn token for another table", "mapped", _token_for_another_table, "replica_a"),
        ("inside use_primary()", "mapped", use_primary, "default"),
    ]


def _loop(decide: Callable[..., Any], model: Any, block: Callable[[], Any], want: str) -> Any:
    def run() -> None:
        with block():
            for _ in range(CALLS):
                decide(model)
            assert decide(model) == want, f"routed to {decide(model)!r}, expected {want!r}"

    return run


def _run_case(name: str, key: str, block: Callable[[], Any], want: str, rounds: int) -> Any:
    from django.db import router

    from dbtune.routing import TableAffinityRouter

    model = _models()[key]
    direct = _loop(TableAffinityRouter().db_for_read, model, block, want)
    through_django = _loop(router.db_for_read, model, block, want)
    result = compare(
        name,
        direct,
        through_django,
        labels=("TableAffinityRouter().db_for_read", "django.db.router.db_for_read"),
        rounds=rounds,
        unit=f"{CALLS} calls",
    )
    us = {side: result[side]["median_s"] / CALLS * 1e6 for side in ("a", "b")}
    result.update(target=TARGET_US, ok=max(us.values()) <= TARGET_US, us_per_call=us)
    print(f"  per call: {us['a']:.2f} us direct, {us['b']:.2f} us via ConnectionRouter")
    return result


def _lookup_us(rounds: int) -> float:
    """Median us of one ``connections[alias]`` lookup (for context: a decision makes one)."""
    import statistics
    import time

    from django.db import connections

    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(CALLS):
            connections["replica_a"]  # noqa: B018  # the lookup is what is timed
        samples.append((time.perf_counter() - started) / CALLS * 1e6)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    rounds = 5 if args.quick else 41

    _configure()
    idle = _park_monitor()
    try:
        results = [_run_case(*case, rounds=rounds) for case in _cases()]
        lookup = _lookup_us(rounds)
    finally:
        idle.set()
    print(f"\nsummary (median us per db_for_read, target <= {TARGET_US:g} us)")
    for result in results:
        us = result["us_per_call"]
        verdict = "OK" if result["ok"] else "MISSED"
        print(f"  {result['name']}: direct {us['a']:.2f}, ConnectionRouter {us['b']:.2f} {verdict}")
    print(f"  (one django.db.connections[alias] lookup: {lookup:.2f} us; a replica decision")
    print("   makes one, the primary's atomic-block check)")
    if args.json:
        import json

        args.json.write_text(json.dumps(results, indent=2))
    return 0 if all(result["ok"] for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
