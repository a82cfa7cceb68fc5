"""Calibrate one node: throughput, latency and hit ratio as the working set outgrows memory.

    python benchmarks/bench_calibrate.py --quick          # ~1.5 min on 2 cores
    python benchmarks/bench_calibrate.py                  # full mode, see benchmarks/README.md

Same options as ``dbtune bench run --scenario calibrate``; the harness is ``dbtune.bench``.
Its ``results.json`` sizes the other scenarios (``bench_split.py --calibration FILE``).
"""

from __future__ import annotations

import sys

from dbtune.cli.bench import script_main

if __name__ == "__main__":
    sys.exit(script_main("calibrate"))
