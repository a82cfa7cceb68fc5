"""Table-affine read replicas: a router, its health monitor and escape hatches."""

from __future__ import annotations

from dbtune.routing import tokens
from dbtune.routing.failover import retry_reads
from dbtune.routing.monitor import MONITOR, ReplicaMonitor
from dbtune.routing.router import TableAffinityRouter, note_write, replica_for, use_primary

__all__ = [
    "MONITOR",
    "ReplicaMonitor",
    "TableAffinityRouter",
    "note_write",
    "replica_for",
    "retry_reads",
    "tokens",
    "use_primary",
]
