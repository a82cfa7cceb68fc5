"""Scenarios are small classes with one required method, registered by name.

Built-in scenarios live in the modules of :data:`BUILTIN_MODULES` and register themselves
with :func:`register_scenario` exactly as a third party would; adding one (say a
``replicas`` scenario) is a new module plus one line in that tuple, or a
``register_scenario`` call in the caller's own code before :func:`run_scenario
<dbtune.bench.runner.run_scenario>`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from dbtune.errors import DBTuneError

if TYPE_CHECKING:
    from dbtune.bench.context import BenchContext
    from dbtune.report import Image, Section

BUILTIN_MODULES = (
    "dbtune.bench.calibrate",
    "dbtune.bench.split",
    "dbtune.bench.fixes",
    "dbtune.bench.replicas",
)
_REGISTRY: dict[str, type[Scenario]] = {}


@dataclass
class ScenarioReport:
    """What a scenario's report says: the answer paragraph first, then plots and sections.

    ``answer`` must be computed from the results document alone (never typed by hand), so
    that re-rendering a saved ``results.json`` gives the same text.
    """

    answer: str
    plots: list[Image] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)


class Scenario:
    """One benchmark question, answered with measurements.

    Contract of :meth:`run` (the one required method): called once with a
    :class:`~dbtune.bench.context.BenchContext`; it starts or connects to the servers it
    needs through the context (which stops lab servers afterwards), loads its data, and
    measures points with :func:`~dbtune.bench.measure.measure_point`. It returns a dict
    with ``parameters`` (everything that shapes the run, including what was defaulted),
    ``topologies`` (name -> ``label``, ``instances``, ``memory_bytes``, ``connections``,
    ``servers``), ``points`` (from ``measure_point``) and optionally ``data``
    (scenario-specific facts). It raises :class:`~dbtune.errors.DBTuneError` for anything
    the user must fix, and never prints to stdout except through the context.

    :meth:`report` turns a finished results document into a :class:`ScenarioReport`;
    :meth:`check` adds scenario-specific sanity problems. Both have generic defaults.
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    settings: ClassVar[tuple[str, ...]] = ()
    """Keys the scenario accepts in ``--set KEY=VALUE`` (validated before it runs)."""

    def run(self, ctx: BenchContext) -> dict[str, Any]:
        raise NotImplementedError

    def report(self, results: dict[str, Any], out: Path) -> ScenarioReport:
        from dbtune.bench.report import generic_answer

        return ScenarioReport(answer=generic_answer(results))

    def check(self, results: dict[str, Any]) -> list[str]:
        return []


def register_scenario(cls: type[Scenario]) -> type[Scenario]:
    """Class decorator: make ``cls`` runnable as ``--scenario cls.name``."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} needs a name")
    _REGISTRY[cls.name] = cls
    return cls


def _load_builtins() -> None:
    for module in BUILTIN_MODULES:
        importlib.import_module(module)


def scenario_names() -> list[str]:
    _load_builtins()
    return sorted(_REGISTRY)


def get_scenario(name: str) -> Scenario:
    """A fresh instance of scenario ``name``; one-line error naming the choices if unknown."""
    _load_builtins()
    try:
        return _REGISTRY[name]()
    except KeyError:
        choices = ", ".join(sorted(_REGISTRY))
        raise DBTuneError(f"unknown scenario {name!r}; choose one of: {choices}") from None
