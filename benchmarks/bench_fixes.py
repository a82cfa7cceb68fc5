"""The example shop's pages before and after dbtune's N+1 and index suggestions.

    python benchmarks/bench_fixes.py --quick              # ~40 s on 2 cores

Same options as ``dbtune bench run --scenario fixes``; the harness is ``dbtune.bench``.
Queries per page and latency per page through Django's full request stack.
"""

from __future__ import annotations

import sys

from dbtune.cli.bench import script_main

if __name__ == "__main__":
    sys.exit(script_main("fixes"))
