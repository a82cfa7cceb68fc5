"""``dbtune lab up|status|down``: a local primary with N streaming replicas.

``up`` prints each node's DSN and a ready-to-paste Django ``DATABASES`` block on stdout;
progress goes to stderr. ``status --format json`` prints exactly one document::

    {"dir": "...", "running": true, "nodes": [{"name": "primary", "role": "primary",
      "port": 5432, "dsn": "...", "running": true, "streaming": null, "lag_bytes": null,
      "lag_seconds": null, "shared_buffers": "128MB", "memory_limit": null,
      "server_version": "18.1"}, ...]}
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any, TextIO

from dbtune.errors import LabError

_PROGRESS_FORMAT = "dbtune: %(message)s"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "lab",
        help="local PostgreSQL primary + streaming replicas",
        description="Run a local PostgreSQL primary with N streaming hot standbys.",
    )
    commands = parser.add_subparsers(dest="lab_command", metavar="{up,status,down}")
    commands.required = True

    up = commands.add_parser("up", help="start the lab (no-op when it runs)")
    _add_dir(up)
    up.add_argument("--replicas", type=int, default=2, metavar="N", help="standbys, 0..8")
    up.add_argument("--shared-buffers", default="128MB", metavar="SIZE", help="per node")
    up.add_argument(
        "--memory-limit", default=None, metavar="SIZE", help="cgroup limit per node (root)"
    )
    up.set_defaults(handler=handle_up)

    status = commands.add_parser("status", help="show nodes, lag and streaming state")
    _add_dir(status)
    status.add_argument("--format", choices=("text", "json"), default="text")
    status.set_defaults(handler=handle_status)

    down = commands.add_parser("down", help="stop every node (data is kept)")
    _add_dir(down)
    down.add_argument("--remove", action="store_true", help="also delete the lab directory")
    down.set_defaults(handler=handle_down)


def _add_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir", default=None, metavar="PATH", help="lab folder ($DBTUNE_LAB_DIR or .dbtune-lab)"
    )


class _ProgressHandler(logging.StreamHandler[TextIO]):
    """Writes the lab's progress to the *current* ``sys.stderr`` (tests swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.setStream(sys.stderr)
        super().emit(record)


def _progress() -> None:
    """Send the lab's progress messages to stderr (once per process)."""
    logger = logging.getLogger("dbtune.lab")
    if not any(isinstance(handler, _ProgressHandler) for handler in logger.handlers):
        handler = _ProgressHandler()
        handler.setFormatter(logging.Formatter(_PROGRESS_FORMAT))
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(logging.INFO)


def handle_up(args: argparse.Namespace) -> int:
    from dbtune.lab import Lab

    if not 0 <= args.replicas <= 8:
        raise LabError(f"--replicas must be between 0 and 8, not {args.replicas}")
    _progress()
    lab = Lab(
        args.dir,
        replicas=args.replicas,
        shared_buffers=_size_option(args.shared_buffers, "--shared-buffers"),
        memory_limit=args.memory_limit and _size_option(args.memory_limit, "--memory-limit"),
    )
    lab.up()  # logs "lab already running in DIR" when it is a no-op
    for node in lab.nodes:
        print(f"{node.name:<10} {node.dsn()}")
    print()
    print("DATABASES = " + json.dumps(lab.django_databases(), indent=4))
    return 0


def _size_option(text: str, option: str) -> str:
    """Validate a size with the option's name in the message; returns ``text`` unchanged."""
    from dbtune.lab import parse_size

    parse_size(text, option)
    return text


def handle_status(args: argparse.Namespace) -> int:
    from dbtune.lab import Lab

    lab = Lab(args.dir)
    nodes = lab.status()
    running = bool(nodes) and bool(nodes[0]["running"])
    if args.format == "json":
        print(json.dumps({"dir": str(lab.path), "running": running, "nodes": nodes}, indent=2))
        return 0
    if not nodes:
        print(f"no lab in {lab.path}; start one with: dbtune lab up --dir {lab.path}")
        return 0
    print(f"lab {lab.path}: {'running' if running else 'stopped'}")
    print(_table(nodes))
    return 0


def _table(nodes: list[dict[str, Any]]) -> str:
    columns = ["name", "role", "port", "running", "streaming", "lag_bytes", "lag_seconds"]
    columns += ["shared_buffers", "memory_limit", "dsn"]
    rows = [[_cell(node[column]) for column in columns] for node in nodes]
    widths = [max(len(column), *(len(row[i]) for row in rows)) for i, column in enumerate(columns)]
    lines = ["  ".join(text.ljust(width) for text, width in zip(columns, widths, strict=True))]
    for row in rows:
        lines.append("  ".join(text.ljust(width) for text, width in zip(row, widths, strict=True)))
    return "\n".join(line.rstrip() for line in lines)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def handle_down(args: argparse.Namespace) -> int:
    from dbtune.lab import Lab

    _progress()
    Lab(args.dir).down(remove=args.remove)
    return 0
