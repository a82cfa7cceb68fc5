"""The ``replicas`` benchmark scenario (see :mod:`dbtune.bench.replicas.scenario`)."""

from __future__ import annotations

from dbtune.bench.replicas.scenario import Replicas

__all__ = ["Replicas"]
