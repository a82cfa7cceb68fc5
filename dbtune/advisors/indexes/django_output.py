"""Suggestions as Django code: ``Meta.indexes`` entries and ``AddIndexConcurrently`` migrations.

Each suggestion is matched to the model whose ``db_table`` it indexes and its columns to
field names. Plain keys become ``models.Index(fields=[...])`` (``-name`` for descending,
``opclasses``, ``include``, ``condition=Q(...)``); ``UPPER(col)``/``LOWER(col)`` keys
become ``Upper("field")``/``Lower("field")`` expressions (wrapped in ``OpClass`` when they
need an operator class); trigram indexes become ``GinIndex``. A suggestion Django cannot
express (another expression, a table without a model) becomes ``RunSQL`` with the exact
statement, which leaves the migration state alone. Migrations are ``atomic = False``, as
``CREATE INDEX CONCURRENTLY`` requires. Unused and duplicate indexes get the matching
``RemoveIndexConcurrently`` (or ``RunSQL`` with ``DROP INDEX CONCURRENTLY``).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pglast import ast
from pglast.enums import BoolExprType, NullTestType

from dbtune.advisors.indexes.exprs import first_target, last_name
from dbtune.advisors.indexes.model import IndexKey

if TYPE_CHECKING:
    from dbtune.advisors.indexes.result import AdviceResult, Suggestion

FUNCTIONS = {"upper": "Upper", "lower": "Lower"}
IMPORTS = {
    "Upper": "from django.db.models.functions import Upper",
    "Lower": "from django.db.models.functions import Lower",
    "F": "from django.db.models import F",
    "OpClass": "from django.contrib.postgres.indexes import OpClass",
    "GinIndex": "from django.contrib.postgres.indexes import GinIndex",
}


@dataclass
class ModelIndex:
    """One suggestion in Django terms; ``code`` is ``None`` when only ``RunSQL`` can say it."""

    suggestion: Suggestion
    app_label: str | None = None
    model: Any = None
    code: str | None = None
    imports: set[str] = field(default_factory=set)

    def operation(self) -> str:
        s = self.suggestion
        if self.model is not None and self.code is not None:
            model_name = py(self.model._meta.model_name)
            return (
                f"AddIndexConcurrently(\n            model_name={model_name},\n"
                f"            index={self.code},\n        )"
            )
        drop = f"DROP INDEX CONCURRENTLY IF EXISTS {s.name}"
        return (
            f"migrations.RunSQL(\n            sql={py(s.sql)},\n"
            f"            reverse_sql={py(drop)},\n        )"
        )


def py(value: Any) -> str:
    """A Python literal for generated code, strings in double quotes (as Django writes them)."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(py(item) for item in value) + "]"
    return repr(value)


def django_ready() -> bool:
    """Whether Django settings are configured (set up on demand from DJANGO_SETTINGS_MODULE)."""
    import os

    if "django" not in sys.modules and not os.environ.get("DJANGO_SETTINGS_MODULE"):
        return False
    try:
        import django
        from django.apps import apps
        from django.conf import settings
    except ImportError:
        return False
    if not settings.configured and not os.environ.get("DJANGO_SETTINGS_MODULE"):
        return False
    if not apps.ready:
        try:
            django.setup()
        except Exception:  # a broken project is not the advisor's business: plain SQL then
            return False
    return True


def model_for(table: tuple[str, str]) -> Any:
    from django.apps import apps

    for model in apps.get_models(include_auto_created=True):
        if model._meta.db_table == table[1] and not model._meta.proxy:
            return model
    return None


def _field(model: Any, column: str) -> str | None:
    for candidate in model._meta.concrete_fields:
        if candidate.column == column:
            return str(candidate.name)
    return None


def _expression(model: Any, text: str, imports: set[str]) -> str | None:
    try:
        node = first_target(f"SELECT {text}")
    except Exception:  # not expressible: the caller falls back to RunSQL
        return None
    if isinstance(node, ast.ColumnRef):
        name = _field(model, last_name(node.fields))
        imports.add("F")
        return f"F({py(name)})" if name else None
    args = node.args if isinstance(node, ast.FuncCall) else None
    if args and len(args) == 1 and isinstance(args[0], ast.ColumnRef):
        function = FUNCTIONS.get(last_name(node.funcname))
        name = _field(model, last_name(args[0].fields))
        if function and name:
            imports.add(function)
            return f"{function}({py(name)})"
    return None


def _lookup(model: Any, part: Any) -> str | None:
    """``field__isnull=True`` / ``field=False`` for one conjunct of a partial-index predicate."""
    negated = isinstance(part, ast.BoolExpr) and part.boolop == BoolExprType.NOT_EXPR
    inner = part.args[0] if negated else part
    if isinstance(inner, ast.NullTest) and isinstance(inner.arg, ast.ColumnRef):
        name = _field(model, last_name(inner.arg.fields))
        is_null = inner.nulltesttype == NullTestType.IS_NULL
        return f"{name}__isnull={is_null}" if name else None
    if isinstance(inner, ast.ColumnRef):
        name = _field(model, last_name(inner.fields))
        return f"{name}={not negated}" if name else None
    return None


def _condition(model: Any, where: str) -> str | None:
    try:
        node = first_target(f"SELECT {where}")
    except Exception:  # not expressible as Q(): RunSQL
        return None
    conjunction = isinstance(node, ast.BoolExpr) and node.boolop == BoolExprType.AND_EXPR
    lookups = [_lookup(model, part) for part in (node.args if conjunction else [node])]
    if not lookups or None in lookups:
        return None
    return f"models.Q({', '.join(str(lookup) for lookup in lookups)})"


def _ordering(key: IndexKey) -> str:
    """``.desc()``/``.asc(nulls_first=True)``: a key's direction as a Django expression."""
    if key.nulls_first is None:
        return ".desc()" if key.desc else ""
    nulls = "nulls_first=True" if key.nulls_first else "nulls_last=True"
    return f".{'desc' if key.desc else 'asc'}({nulls})"


def index_code(model: Any, suggestion: Suggestion, imports: set[str]) -> str | None:
    """``models.Index(...)``/``GinIndex(...)`` source for ``suggestion`` on ``model``."""
    c = suggestion.candidate
    options = [f"name={py(suggestion.name)}"]
    if c.where:
        condition = _condition(model, c.where)
        if condition is None:
            return None
        options.append(f"condition={condition}")
    plain = not any(k.is_expr or k.nulls_first is not None for k in c.keys)
    if plain:
        names = [_field(model, k.expr) for k in c.keys]
        include = [_field(model, name) for name in c.include]
        if None in names or None in include:
            return None
        fields = [f"-{n}" if k.desc else str(n) for n, k in zip(names, c.keys, strict=True)]
        options.insert(0, f"fields={py(fields)}")
        if any(k.opclass for k in c.keys):
            options.append(f"opclasses={py([k.opclass or '' for k in c.keys])}")
        if include:
            options.append(f"include={py(include)}")
        head = ""
    else:
        parts = []
        for key in c.keys:
            code = _expression(model, key.expr, imports)
            if code is None or (key.opclass and (key.desc or key.nulls_first is not None)):
                return None
            if key.opclass:
                imports.add("OpClass")
                code = f"OpClass({code}, name={py(key.opclass)})"
            parts.append(code + _ordering(key))
        head = ", ".join(parts) + ", "
    if c.method == "gin":
        imports.add("GinIndex")
        return f"GinIndex({head}{', '.join(options)})"
    return f"models.Index({head}{', '.join(options)})" if c.method == "btree" else None


def model_indexes(result: AdviceResult) -> list[ModelIndex]:
    found = []
    for suggestion in result.suggestions:
        entry = ModelIndex(suggestion)
        model = model_for(suggestion.candidate.table)
        if model is not None:
            entry.model, entry.app_label = model, model._meta.app_label
            entry.code = index_code(model, suggestion, entry.imports)
        found.append(entry)
    return found


def removal(item: dict[str, Any]) -> str:
    """The migration operation that removes an unused or duplicate index."""
    model = model_for((item["schema"], item["table"]))
    if model is not None and any(i.name == item["index"] for i in model._meta.indexes):
        return (
            f"RemoveIndexConcurrently(model_name={py(model._meta.model_name)}, "
            f"name={py(item['index'])})"
        )
    return removal_sql(item)


def removal_sql(item: dict[str, Any]) -> str:
    """``RunSQL`` dropping the index concurrently (reversible: it recreates it)."""
    return f"migrations.RunSQL(sql={py(item['sql'])}, reverse_sql={py(item['definition'])})"


def render(result: AdviceResult) -> str:
    from dbtune.advisors.indexes.django_migrations import migration_source

    if not django_ready():
        lines = ["# Django is not configured (set DJANGO_SETTINGS_MODULE); plain SQL instead:"]
        lines += [f"{s.sql};" for s in result.suggestions]
        return "\n".join(lines) + "\n"
    entries = model_indexes(result)
    out: list[str] = []
    for entry in entries:
        where = (
            f"{entry.app_label}.{entry.model.__name__}" if entry.model else entry.suggestion.table
        )
        out.append(f"# {where}: {', '.join(entry.suggestion.candidate.columns)}")
        if entry.code:
            out.append(f"#   Meta.indexes += [{entry.code}]")
    for app_label in sorted({e.app_label for e in entries if e.app_label}):
        source = migration_source(app_label, [e for e in entries if e.app_label == app_label])
        out += ["", f"# --- {app_label}/migrations/ ---", source]
    removals = result.unused_indexes + result.duplicate_indexes
    if removals:
        out += ["", "# Indexes to remove (operations for a migration with atomic = False):"]
        out += [f"#   {removal(item)}  # {item['reason']}" for item in removals]
    return "\n".join(out).rstrip() + "\n"


def write_migrations(result: AdviceResult) -> list[Path]:
    from dbtune.advisors.indexes.django_migrations import write

    return write(result)
