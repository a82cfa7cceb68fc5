"""Scale one PostgreSQL instance up (A) or split it per service (B)? Measured, with plots.

    python benchmarks/bench_split.py --quick              # ~1.5-2 min on 2 cores
    python benchmarks/bench_split.py --calibration benchmarks/out/calibrate/results.json

Same options as ``dbtune bench run --scenario split``; the harness is ``dbtune.bench``.
The report's first paragraph answers the question for the measured configuration.
"""

from __future__ import annotations

import sys

from dbtune.cli.bench import script_main

if __name__ == "__main__":
    sys.exit(script_main("split"))
