"""dbtune: find and fix the database work a Django + PostgreSQL monolith wastes.

Public API (everything else is internal and may change)::

    with dbtune.capture_queries() as queries: ...
    with dbtune.nplusone.detect() as report: ...

Names are resolved lazily so that ``import dbtune`` (and the ``dbtune`` command for DBAs)
does not import Django's ORM until it is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from dbtune import nplusone
    from dbtune.capture import QueryEvent, capture_queries

__all__ = [
    "QueryEvent",
    "__version__",
    "capture_queries",
    "nplusone",
]

_LAZY = {
    "QueryEvent": ("dbtune.capture", "QueryEvent"),
    "capture_queries": ("dbtune.capture", "capture_queries"),
    "nplusone": ("dbtune.nplusone", None),
}


def __getattr__(name: str) -> Any:
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'dbtune' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
