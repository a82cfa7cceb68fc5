"""``dbtune demo``: the lab, the example shop, every tool, one HTML report.

The demo is a list of :class:`DemoStep` objects run in order against one
:class:`DemoContext`; each step adds a section to the report. Later features add steps the
same way a third party would. Progress goes to stderr; the summary to stdout.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbtune.errors import DBTuneError
from dbtune.report import Document, Section, render_html, render_text


def progress(message: str) -> None:
    print(f"[dbtune demo] {message}", file=sys.stderr, flush=True)


def find_example_project() -> Path:
    """The ``example_project`` folder of a dbtune checkout (the demo's shop)."""
    candidates = [
        Path.cwd() / "example_project",
        Path(__file__).resolve().parent.parent / "example_project",
    ]
    for candidate in candidates:
        if (candidate / "manage.py").is_file():
            return candidate
    raise DBTuneError(
        "example_project/ not found; run `dbtune demo` from a dbtune checkout "
        "(pip install -e . in the repository)"
    )


@dataclass
class DemoContext:
    out: Path
    scale: float
    replicas: int
    lab: Any = None
    document: Document = field(default_factory=lambda: Document("dbtune demo report"))
    data: dict[str, Any] = field(default_factory=dict)
    """Results steps share with later steps and write to ``results.json``."""
    workload: list[Any] = field(default_factory=list)
    """Queries captured from the shop's pages (with parameters, kept in memory only)."""


class DemoStep:
    """One stage of the demo.

    Contract: :meth:`run` is called once, in registration order, after the shop is migrated
    and seeded on the lab; it may read ``ctx.data`` written by earlier steps, must return
    the report section it produced (or ``None``), and reports progress via :func:`progress`.
    A :class:`~dbtune.errors.DBTuneError` aborts the demo with one line.
    """

    title = ""
    name = ""
    """Short name for ``dbtune demo --skip NAME``."""

    def run(self, ctx: DemoContext) -> Section | None:
        raise NotImplementedError


STEPS: list[type[DemoStep]] = []


def register_step(step: type[DemoStep]) -> type[DemoStep]:
    if step not in STEPS:
        STEPS.append(step)
    return step


def _configure_django(ctx: DemoContext) -> None:
    project = find_example_project()
    if str(project) not in sys.path:
        sys.path.insert(0, str(project))
    lab = ctx.lab
    lab.create_database("shop")
    os.environ["DATABASE_URL"] = lab.primary.dsn("shop")
    os.environ["DBTUNE_REPLICA_DSNS"] = ",".join(r.dsn("shop") for r in lab.replicas)
    os.environ["DJANGO_SETTINGS_MODULE"] = "shop.settings"
    os.environ.setdefault("DJANGO_DEBUG", "0")
    import django

    django.setup()


def _prepare_shop(ctx: DemoContext) -> None:
    from django.core.management import call_command

    from shop.seeding import seed  # type: ignore[import-not-found]  # example_project on sys.path

    progress("migrating the shop")
    call_command("migrate", verbosity=0, interactive=False)
    progress(f"seeding the shop at scale {ctx.scale:g}")
    started = time.perf_counter()
    counts: dict[str, int] = seed(scale=ctx.scale, seed=42, using="default")
    ctx.data["seed"] = {"rows": counts, "seconds": round(time.perf_counter() - started, 2)}


def run_demo(
    out: Path,
    *,
    scale: float = 1.0,
    replicas: int = 2,
    keep: bool = False,
    lab_dir: Path | None = None,
    skip: tuple[str, ...] = (),
) -> DemoContext:
    from dbtune import demo_steps  # noqa: F401  (registers the built-in steps)
    from dbtune.lab import Lab

    out.mkdir(parents=True, exist_ok=True)
    ctx = DemoContext(out=out, scale=scale, replicas=replicas)
    started = time.perf_counter()
    progress(f"starting the lab: primary + {replicas} streaming replicas")
    ctx.lab = Lab(path=lab_dir or out / "lab", replicas=replicas)
    try:
        ctx.lab.up()
        _configure_django(ctx)
        _prepare_shop(ctx)
        for step_class in STEPS:
            if step_class.name in skip:
                progress(f"skipping {step_class.name}")
                continue
            step = step_class()
            progress(step.title or step_class.__name__)
            section = step.run(ctx)
            if section is not None:
                ctx.document.sections.append(section)
    finally:
        if not keep:
            progress("stopping the lab (use --keep to leave it running)")
            ctx.lab.down()
    ctx.data["seconds"] = round(time.perf_counter() - started, 1)
    from dbtune.demo_summary import summary_section

    ctx.document.sections.insert(0, summary_section(ctx.data))
    ctx.document.subtitle = (
        f"PostgreSQL lab with {replicas} replicas, shop scale {scale:g}, "
        f"run took {ctx.data['seconds']} s"
    )
    _write(ctx)
    return ctx


def _write(ctx: DemoContext) -> None:
    import json

    (ctx.out / "report.html").write_text(render_html(ctx.document), encoding="utf-8")
    (ctx.out / "report.txt").write_text(render_text(ctx.document), encoding="utf-8")
    (ctx.out / "results.json").write_text(
        json.dumps(ctx.data, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8"
    )
