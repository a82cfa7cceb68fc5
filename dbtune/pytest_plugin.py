"""pytest plugin (entry point ``pytest11: dbtune``).

Loaded in every pytest session where dbtune is installed, so importing it must be cheap and
must not import Django: fixtures import lazily. Query snapshots (``--dbtune``) build on the
fixtures here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from dbtune.capture import QueryEvent


@pytest.fixture
def dbtune_queries() -> Iterator[list[QueryEvent]]:
    """Every query the test runs, on every alias, as :class:`dbtune.QueryEvent` objects."""
    from dbtune.capture import capture_queries

    with capture_queries() as queries:
        yield queries
