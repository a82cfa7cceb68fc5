"""The public API is exactly what ``dbtune.__all__`` lists, sorted."""

from __future__ import annotations

import dbtune


def test_all_is_sorted_and_exact() -> None:
    assert dbtune.__all__ == sorted(dbtune.__all__)
    assert dbtune.__all__ == ["QueryEvent", "__version__", "capture_queries", "nplusone"]


def test_every_exported_name_resolves() -> None:
    for name in dbtune.__all__:
        assert getattr(dbtune, name) is not None, name
