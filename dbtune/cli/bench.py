"""``dbtune bench run|list|report|check``: pgbench-style scenarios with plots and an answer.

``run`` writes ``results.json``, ``report.md``, ``report.html`` and PNG plots into
``--out``, prints pgbench-style text per measured point on stdout and progress on stderr.
``report`` re-renders a saved run; ``check`` validates a saved ``results.json`` (schema and
sanity, no timing thresholds; exit status 1 with the problems); ``list`` names scenarios.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dbtune.errors import DBTuneError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="pgbench-style benchmarks (calibrate, split, fixes)",
        description="Run benchmark scenarios on the lab or on your own servers.",
    )
    commands = parser.add_subparsers(dest="bench_command", metavar="{run,list,report,check}")
    commands.required = True

    run = commands.add_parser("run", help="run one scenario, write results and reports")
    run.add_argument("--scenario", required=True, metavar="NAME", help="see `dbtune bench list`")
    add_run_options(run)
    run.set_defaults(handler=handle_run)

    listing = commands.add_parser("list", help="list the scenarios")
    listing.set_defaults(handler=handle_list)

    report = commands.add_parser("report", help="re-render reports from OUT/results.json")
    report.add_argument("--out", required=True, metavar="DIR")
    report.set_defaults(handler=handle_report)

    check = commands.add_parser("check", help="check OUT/results.json: schema and sanity")
    check.add_argument("--out", required=True, metavar="DIR")
    check.set_defaults(handler=handle_check)


def add_run_options(run: argparse.ArgumentParser) -> None:
    """Every option of ``bench run`` but ``--scenario`` (shared with benchmarks/ scripts)."""
    run.add_argument("--out", default=None, metavar="DIR", help="output folder (created)")
    run.add_argument("--quick", action="store_true", help="small data, short runs (~2 min)")
    run.add_argument("--dsn", default=None, help="single-node server instead of a lab node")
    run.add_argument(
        "--service-dsn",
        action="append",
        default=[],
        metavar="NAME=DSN",
        help="split: one server per service (customers, catalog, orders)",
    )
    run.add_argument(
        "--allow-writes",
        action="store_true",
        help="allow creating the benchmark schema on servers the lab did not start",
    )
    run.add_argument("--runs", type=int, default=None, help="repeated runs per point")
    run.add_argument("--duration", type=int, default=None, metavar="S", help="seconds per run")
    run.add_argument("--clients", type=int, default=None, help="concurrent clients")
    run.add_argument("--jobs", type=int, default=None, help="pgbench threads (-j)")
    run.add_argument("--keys", choices=("uniform", "zipfian", "both"), default=None)
    run.add_argument("--cache", choices=("warm", "cold"), default="warm")
    run.add_argument("--rtt-ms", type=float, default=None, help="split: delay per service hop")
    run.add_argument("--calibration", default=None, metavar="FILE", help="calibrate results.json")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="settings")
    run.add_argument("--lab-dir", default=None, metavar="PATH", help="where lab nodes live")
    run.add_argument("--keep-lab", action="store_true", help="leave lab nodes running")
    run.add_argument("--keep-logs", action="store_true", help="keep per-transaction logs")
    run.add_argument("--seed", type=int, default=42, help="random seed for keys")


def script_main(scenario: str, argv: Sequence[str] | None = None) -> int:
    """``python benchmarks/bench_<scenario>.py [options]``: the same run as the CLI's.

    ``--out`` defaults to ``benchmarks/out/<scenario>``; errors are one line, status 2.
    """
    parser = argparse.ArgumentParser(
        prog=f"bench_{scenario}.py", description=f"dbtune bench run --scenario {scenario}"
    )
    add_run_options(parser)
    args = parser.parse_args(argv)
    args.scenario = scenario
    args.out = args.out or str(Path("benchmarks") / "out" / scenario)
    try:
        return handle_run(args)
    except DBTuneError as exc:
        print(f"dbtune: error: {exc}", file=sys.stderr)
        return 2


def _pairs(values: list[str], option: str) -> dict[str, str]:
    found = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip():
            raise DBTuneError(f"{option} {value!r}: use NAME=VALUE")
        found[key.strip()] = rest.strip()
    return found


def options_from_args(args: argparse.Namespace) -> Any:
    from dbtune.bench import BenchOptions

    for name in ("runs", "duration", "clients", "jobs"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise DBTuneError(f"--{name} must be at least 1, not {value}")
    if args.rtt_ms is not None and args.rtt_ms < 0:
        raise DBTuneError(f"--rtt-ms must not be negative, not {args.rtt_ms}")
    return BenchOptions(
        quick=args.quick,
        runs=args.runs,
        duration_s=args.duration,
        clients=args.clients,
        jobs=args.jobs,
        keys=args.keys,
        cache=args.cache,
        rtt_ms=args.rtt_ms,
        dsn=args.dsn,
        service_dsns=_pairs(args.service_dsn, "--service-dsn"),
        allow_writes=args.allow_writes,
        keep_lab=args.keep_lab,
        keep_logs=args.keep_logs,
        lab_dir=Path(args.lab_dir).resolve() if args.lab_dir else None,
        calibration=Path(args.calibration) if args.calibration else None,
        seed=args.seed,
        settings=_pairs(args.settings, "--set"),
    )


def handle_run(args: argparse.Namespace) -> int:
    from dbtune.bench import get_scenario, run_scenario

    get_scenario(args.scenario)
    if not args.out:
        raise DBTuneError("no output folder; pass --out DIR")
    results = run_scenario(args.scenario, Path(args.out), options=options_from_args(args))
    print(f"answer: {results['answer']}")
    return 0


def handle_list(args: argparse.Namespace) -> int:
    from dbtune.bench import get_scenario, scenario_names

    for name in scenario_names():
        print(f"{name:<10} {get_scenario(name).summary}")
    return 0


def handle_report(args: argparse.Namespace) -> int:
    from dbtune.bench import render_saved

    results = render_saved(Path(args.out))
    print(f"answer: {results['answer']}")
    return 0


def handle_check(args: argparse.Namespace) -> int:
    """Exit 0 when ``results.json`` is sane, 1 (problems on stdout) when it is not."""
    from dbtune.bench import check_results, get_scenario, read_results

    results = read_results(Path(args.out) / "results.json")
    problems = check_results(results) + get_scenario(results["scenario"]).check(results)
    for problem in problems:
        print(problem)
    if not problems:
        print(f"{results['scenario']}: {len(results['points'])} point(s), results.json is sane")
    return 1 if problems else 0
