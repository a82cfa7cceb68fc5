"""A local PostgreSQL primary with N streaming hot standbys, for demos, tests and benchmarks.

::

    from dbtune.lab import Lab

    lab = Lab("/tmp/lab", replicas=2)
    lab.up()
    lab.primary.dsn()          # postgresql://postgres@127.0.0.1:PORT/postgres
    lab.down()

This package only re-exports; see :mod:`dbtune.lab.cluster` for the contract.
"""

from __future__ import annotations

from dbtune.lab.binaries import pg_bin_dir
from dbtune.lab.cluster import Lab
from dbtune.lab.config import parse_size
from dbtune.lab.node import Node

__all__ = ["Lab", "Node", "parse_size", "pg_bin_dir"]
