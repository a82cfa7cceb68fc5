"""The README documents every setting, check id and command, and starts with two commands."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from dbtune import checks, conf
from dbtune.cli import build_parser

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    test_command = README.split("```")[1].splitlines()[2]
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci.splitlines()


def test_readme_starts_with_two_command_lines() -> None:
    first_block = README.split("```")[1]
    lines = [line for line in first_block.splitlines()[1:] if line.strip()]
    assert len(lines) == 2
    assert lines[0].endswith("dbtune demo")
    assert lines[1].endswith("pytest")
    assert README.index("```") < README.index("\n## ")


@pytest.mark.parametrize("key", sorted(conf.EXPECTED_TYPES))
def test_every_setting_is_documented(key: str) -> None:
    leaf = key.rsplit(".", 1)[-1]
    assert f'"{leaf}"' in README, f"setting {key} missing from the README's DBTUNE example"
    if "." in key:
        assert f"`{key}`" in README, f"setting {key} missing from the README's settings table"


def test_every_check_id_is_documented() -> None:
    ids = set(re.findall(r"dbtune\.[EW]\d{3}", Path(checks.__file__).read_text()))
    assert ids
    for check_id in sorted(ids):
        assert f"`{check_id}`" in README, check_id


def _subcommands() -> list[str]:
    parser = build_parser()
    names: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                nested = [a for a in sub._actions if isinstance(a, argparse._SubParsersAction)]
                if nested:
                    names += [f"{name} {child}" for child in nested[0].choices]
                else:
                    names.append(name)
    return names


def test_every_command_is_documented() -> None:
    commands = _subcommands()
    assert "demo" in commands
    for command in commands:
        assert f"`dbtune {command}" in README, command
