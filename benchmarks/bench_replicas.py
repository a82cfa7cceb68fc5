"""Table-affine read replicas against round-robin, each replica's memory bounded.

    python benchmarks/bench_replicas.py --quick          # ~2 min on 2 cores
    python benchmarks/bench_replicas.py                  # full mode, see benchmarks/README.md

Same options as ``dbtune bench run --scenario replicas``; the harness is ``dbtune.bench``.
Prints, side by side in one run: primary only, round-robin replicas, table-affine replicas
(pgbench, oracle routing) and both routers through Django, with every node's hit ratio.
"""

from __future__ import annotations

import sys

from dbtune.cli.bench import script_main

if __name__ == "__main__":
    sys.exit(script_main("replicas"))
