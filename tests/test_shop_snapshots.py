"""Dogfooding: the example shop's own suite passes ``pytest --dbtune`` against its
committed snapshots, in CI mode (no snapshot may be created) and in random order."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_shop_suite_matches_committed_snapshots(tmp_path: Path) -> None:
    snapshot = ROOT / "example_project" / "shop_tests" / "__dbtune__" / "test_pages.json"
    before = snapshot.read_text(encoding="utf-8")
    env = {
        **os.environ,
        "CI": "true",
        "SHOP_SQLITE_PATH": str(tmp_path / "shop.sqlite3"),
        "DJANGO_SETTINGS_MODULE": "shop.settings",
    }
    env.pop("GITHUB_ACTIONS", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "example_project/shop_tests",
            "--ds=shop.settings",
            "--dbtune",
            "-p",
            "no:cacheprovider",
            "-p",
            "randomly",
            "--randomly-seed=11",
            "-q",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "18 passed" in result.stdout
    assert "0 regressions" in result.stdout
    assert snapshot.read_text(encoding="utf-8") == before
