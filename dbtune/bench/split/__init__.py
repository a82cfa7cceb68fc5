"""The ``split`` scenario: scale one PostgreSQL instance up, or split it per service?

:mod:`.ops` holds the shop's operations (one SQL source for pgbench and the driver),
:mod:`.schema` the data, :mod:`.program` the Python driver's programs, :mod:`.plan` the
sizes and sweeps, :mod:`.network` the hop model, :mod:`.scenario` the measurement,
:mod:`.verdict` the answer paragraph and :mod:`.report` the plots and tables. This package
only re-exports.
"""

from __future__ import annotations

from dbtune.bench.split.scenario import Split

__all__ = ["Split"]
