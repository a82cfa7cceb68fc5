"""``dbtune demo``: run every tool on the example shop and write an HTML report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dbtune.errors import DBTuneError


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def register(subparsers: Any) -> None:
    from dbtune import demo_steps  # noqa: F401  (registers the built-in steps)
    from dbtune.demo import STEPS

    parser = subparsers.add_parser(
        "demo",
        help="lab + example shop + every tool + HTML report",
        description="Start the lab, seed the example shop, run every dbtune tool on it and "
        "write DIR/report.html.",
    )
    parser.add_argument("--out", type=Path, default=Path("dbtune-demo"), help="output folder")
    parser.add_argument("--scale", type=_positive_float, default=1.0, help="shop size (1 = ~50 MB)")
    parser.add_argument("--replicas", type=int, default=2, choices=range(0, 9), metavar="N")
    parser.add_argument("--keep", action="store_true", help="leave the lab running afterwards")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=[step.name for step in STEPS],
        help="leave out a step (repeatable)",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from dbtune.demo import run_demo
    from dbtune.report import render_text

    if args.out.exists() and not args.out.is_dir():
        raise DBTuneError(f"--out {args.out} is a file; give a folder for the report")
    ctx = run_demo(
        args.out, scale=args.scale, replicas=args.replicas, keep=args.keep, skip=tuple(args.skip)
    )
    print(render_text(ctx.document))
    print(f"report: {args.out / 'report.html'}")
    return 0
