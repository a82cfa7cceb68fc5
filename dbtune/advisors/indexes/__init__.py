"""The index advisor: a set of indexes for a whole workload, each decision explained.

``advise(dsn, workload)`` parses the workload's statements (pglast), derives candidate
indexes per table, drops those an existing index already serves, costs the rest with
HypoPG, with indexes built in rolled-back transactions on a lab server, or with
``pg_stats`` estimates, selects a set greedily by benefit minus write overhead, and returns
an :class:`AdviceResult` (JSON, report section, Django migration).
"""

from __future__ import annotations

from dbtune.advisors.indexes.advisor import Options, advise
from dbtune.advisors.indexes.model import Candidate, IndexKey
from dbtune.advisors.indexes.result import AdviceResult, Suggestion
from dbtune.advisors.indexes.whatif import WhatIf

__all__ = ["AdviceResult", "Candidate", "IndexKey", "Options", "Suggestion", "WhatIf", "advise"]
