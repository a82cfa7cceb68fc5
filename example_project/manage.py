#!/usr/bin/env python
"""Command-line entry point of the example shop.

It puts its own folder on ``sys.path`` first so that the apps import as the top-level
packages ``shop``, ``accounts``, ``catalog``, ``orders`` and ``shipping`` from any working
directory, exactly as they do under pytest's ``pythonpath``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
