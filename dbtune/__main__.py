from __future__ import annotations

from dbtune.cli import run

run()
