"""Regressions for the user-code filter behind every call site."""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path

from dbtune import callsite


def test_console_scripts_are_not_user_code() -> None:
    # `pytest` started through bin/pytest put that script's frame under every test: in a venv
    # it is neither site-packages nor the stdlib, and was reported as the access site.
    script = os.path.join(sysconfig.get_paths()["scripts"], "pytest")
    assert not callsite._classify(script)


def test_project_files_are_user_code() -> None:
    assert callsite._classify(__file__)
    assert callsite._classify(str(Path.cwd() / "example_project" / "orders" / "views.py"))
