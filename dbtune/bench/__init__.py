"""pgbench-style benchmarks: one shared harness, scenarios as pluggable classes.

::

    from dbtune.bench import run_scenario, summary_section

    results = run_scenario("split", "out/split", quick=True)   # results.json + reports
    section = summary_section(results)                         # for another report

The harness: :mod:`~dbtune.bench.pgbench` (the real binary) and :mod:`~dbtune.bench.driver`
(Python clients) produce per-transaction logs parsed by :mod:`~dbtune.bench.txlog`;
:mod:`~dbtune.bench.measure` runs each point under the protocol of
:mod:`~dbtune.bench.protocol`; :mod:`~dbtune.bench.results` defines ``results.json``;
:mod:`~dbtune.bench.report` renders it. This package only re-exports.
"""

from __future__ import annotations

from dbtune.bench.context import BenchContext, BenchOptions
from dbtune.bench.driver import ClientSession, DriverLoad, DriverProgram
from dbtune.bench.load import Load, LoadOutcome
from dbtune.bench.measure import PointSpec, measure_point, measure_side_by_side
from dbtune.bench.pgbench import PgbenchLoad
from dbtune.bench.report import summary_section
from dbtune.bench.results import SCHEMA, check_results, read_results
from dbtune.bench.runner import render_saved, run_scenario
from dbtune.bench.scenario import (
    Scenario,
    ScenarioReport,
    get_scenario,
    register_scenario,
    scenario_names,
)
from dbtune.bench.stats import latency_summary, percentile, spread
from dbtune.bench.txlog import TransactionLog, parse_lines, read_logs

__all__ = [
    "SCHEMA",
    "BenchContext",
    "BenchOptions",
    "ClientSession",
    "DriverLoad",
    "DriverProgram",
    "Load",
    "LoadOutcome",
    "PgbenchLoad",
    "PointSpec",
    "Scenario",
    "ScenarioReport",
    "TransactionLog",
    "check_results",
    "get_scenario",
    "latency_summary",
    "measure_point",
    "measure_side_by_side",
    "parse_lines",
    "percentile",
    "read_logs",
    "read_results",
    "register_scenario",
    "render_saved",
    "run_scenario",
    "scenario_names",
    "spread",
    "summary_section",
]
