"""``run_scenario``: one scenario from start to ``results.json``, ``report.md``/``.html``.

The order is fixed: check the output folder, run the scenario (servers are stopped even
when it fails), record the environment, compute the answer from the results document,
write ``results.json``, draw the plots and render the reports from that same document.
``render_saved`` re-renders a saved run without touching any server.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dbtune.bench import environment
from dbtune.bench.context import BenchContext, BenchOptions, stderr_progress
from dbtune.bench.report import build_document, write_reports
from dbtune.bench.results import SCHEMA, check_results, read_results, write_results
from dbtune.bench.scenario import get_scenario
from dbtune.errors import DBTuneError


def prepare_out(out: Path) -> Path:
    """Create ``out`` (and parents); one-line error when it cannot be a writable folder."""
    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise DBTuneError(f"--out {out} exists and is not a directory; choose a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".dbtune-write-probe"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise DBTuneError(f"cannot write to --out {out}: {exc.strerror or exc}") from None
    return out.resolve()


def run_scenario(
    name: str,
    out_dir: Path | str,
    *,
    quick: bool = True,
    lab: Any = None,
    options: BenchOptions | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run scenario ``name`` and write its three outputs into ``out_dir``; return results.

    ``lab`` is an already running :class:`~dbtune.lab.Lab` a scenario may reuse for its
    single node (it is left running). ``options`` default to ``BenchOptions(quick=quick)``.
    Raises :class:`~dbtune.errors.DBTuneError` with one line for anything the user must fix.
    """
    scenario = get_scenario(name)
    opts = options or BenchOptions(quick=quick)
    unknown = sorted(set(opts.settings) - set(scenario.settings))
    if unknown:
        known = ", ".join(scenario.settings) or "none"
        raise DBTuneError(f"scenario {name} has no setting {unknown[0]!r}; its settings: {known}")
    out = prepare_out(Path(out_dir))
    began, started_at = time.monotonic(), _now()
    ctx = BenchContext(out=out, options=opts, lab=lab, progress=_timed(progress, began))
    env = environment.machine()
    ctx.progress(f"scenario {name} ({'quick' if opts.quick else 'full'} mode) -> {out}")
    try:
        body = scenario.run(ctx)
        ctx.progress("recording the environment")
        environment.finish(env, ctx.servers)
    finally:
        ctx.close()
    ctx.progress("drawing the plots and writing the reports")
    results: dict[str, Any] = {
        "schema": SCHEMA,
        "scenario": name,
        "title": scenario.title,
        "mode": "quick" if opts.quick else "full",
        "started_at": started_at,
        "duration_s": round(time.monotonic() - began, 1),
        "options": opts.to_json(),
        "parameters": body.get("parameters", {}),
        "environment": env,
        "topologies": body.get("topologies", {}),
        "points": body.get("points", []),
        "data": body.get("data", {}),
        "scripts": ctx.scripts,
        "commands": ctx.commands,
        "problems": ctx.problems,
        "answer": "",
    }
    render(results, out)
    problems = check_results(results) + scenario.check(results)
    if problems:
        for problem in problems:
            ctx.note(f"sanity: {problem}")
        results["problems"] = ctx.problems
        render(results, out)
    ctx.progress(f"wrote {out / 'results.json'}, report.md, report.html")
    return results


def render(results: dict[str, Any], out: Path) -> None:
    """Compute the answer, draw the plots and write both reports (updates ``results``)."""
    scenario = get_scenario(results["scenario"])
    parts = scenario.report(results, out)
    results["answer"] = parts.answer
    results["outputs"] = {
        "dir": str(out),
        "results": "results.json",
        "plots": [image.path.name for image in parts.plots],
    }
    write_results(results, out / "results.json")
    document = build_document(results, parts.answer, parts.plots, parts.sections)
    results["outputs"].update(write_reports(document, out))


def render_saved(out_dir: Path | str) -> dict[str, Any]:
    """Re-render ``report.md``/``report.html`` and plots from ``OUT/results.json``."""
    out = prepare_out(Path(out_dir))
    results = read_results(out / "results.json")
    render(results, out)
    write_results(results, out / "results.json")
    return results


def _timed(progress: Callable[[str], None] | None, began: float) -> Callable[[str], None]:
    """Prefix every progress message with the seconds since the run began."""
    say = progress or stderr_progress

    def timed(message: str) -> None:
        say(f"{time.monotonic() - began:6.1f}s {message}")

    return timed


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
