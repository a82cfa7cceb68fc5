"""``dbtune diff BASE.json HEAD.json``: compare two ``--dbtune-json`` reports.

Typical use: the report of ``main`` against the report of a branch. Exit status 1 when a
regression of a kind named by ``--fail-on`` is found, 2 when a file is missing or not a
dbtune report.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from dbtune.errors import DBTuneError
from dbtune.regressions import FAIL_ON_ALL, Change, compare, failing


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "diff", help="compare two --dbtune-json reports (e.g. main vs a branch)"
    )
    parser.add_argument("base", type=Path, help="report of the base (e.g. main)")
    parser.add_argument("head", type=Path, help="report of the change")
    parser.add_argument(
        "--fail-on",
        default=",".join(FAIL_ON_ALL),
        help="comma-separated regression kinds that give exit status 1 (count,shape,n+1)",
    )
    parser.add_argument(
        "--format",
        choices=("text", "markdown", "github", "sarif", "json"),
        default="text",
        help="output format",
    )
    parser.set_defaults(handler=handle)


def load_report(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DBTuneError(
            f"{path}: no such file; write one with pytest --dbtune --dbtune-json {path}"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DBTuneError(f"{path}: not a JSON dbtune report ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("tests"), dict):
        raise DBTuneError(
            f'{path}: not a dbtune report (no "tests" object); write one with --dbtune-json'
        )
    return data


def diff_reports(base: dict[str, Any], head: dict[str, Any]) -> list[Change]:
    from dbtune.snapshots import records_from_json

    changes: list[Change] = []
    for test, records in sorted(head["tests"].items()):
        before = base["tests"].get(test)
        if before is None:
            continue
        changes += compare(test, records_from_json(before), records_from_json(records))
    return changes


def handle(args: argparse.Namespace) -> int:
    from dbtune import __version__
    from dbtune.ci_output import github_annotations, markdown_summary, sarif
    from dbtune.cli.options import write_json

    kinds = tuple(k.strip() for k in args.fail_on.split(",") if k.strip())
    unknown = sorted(set(kinds) - set(FAIL_ON_ALL))
    if unknown:
        raise DBTuneError(
            f"--fail-on: unknown kind {', '.join(unknown)}; use any of {','.join(FAIL_ON_ALL)}"
        )
    base, head = load_report(args.base), load_report(args.head)
    changes = diff_reports(base, head)
    if args.format == "json":
        write_json({"changes": [c.to_json() for c in changes]})
    elif args.format == "sarif":
        write_json(sarif(changes, __version__))
    elif args.format == "github":
        for line in github_annotations(changes):
            print(line)
    elif args.format == "markdown":
        print(markdown_summary(changes, []), end="")
    else:
        for change in changes:
            level = "REGRESSION" if change.regression else "improvement"
            print(f"{level:<11} {change.test} [{change.alias}] {change.message}")
        if not changes:
            print("no query changes")
    return 1 if failing(changes, kinds) else 0
