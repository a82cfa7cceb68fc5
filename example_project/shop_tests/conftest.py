"""The shop's own tests: every page on a small seeded shop (SQLite), under ``pytest --dbtune``."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def shop(db: Any) -> dict[str, int]:
    """A small, deterministic shop (same rows every run, so query counts are stable)."""
    from shop.seeding import seed

    return seed(0.02, seed=7)


@pytest.fixture(autouse=True)
def _log_nplusone(settings: Any) -> None:
    """The middleware logs N+1s here; the snapshot guard is what judges them."""
    settings.DBTUNE = {"NPLUSONE": {"ACTION": "log"}}
