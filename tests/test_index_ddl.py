"""Generated SQL (quoted, pgsanity-valid), index names, and ``Meta.indexes`` source edits."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

from dbtune.advisors.indexes import ddl
from dbtune.advisors.indexes.model import Candidate, IndexKey
from dbtune.advisors.indexes.model_patch import add_meta_indexes

TABLE = ("public", "orders_order")
VARIANTS = [
    pytest.param(
        Candidate(TABLE, (IndexKey("status"), IndexKey("created_at"))),
        '("status", "created_at")',
        id="plain",
    ),
    pytest.param(
        Candidate(TABLE, (IndexKey("created_at"), IndexKey("id", desc=True))),
        '"id" DESC',
        id="desc",
    ),
    pytest.param(
        Candidate(TABLE, (IndexKey("upper(email)", True),)), "((upper(email)))", id="expression"
    ),
    pytest.param(
        Candidate(TABLE, (IndexKey("sku", opclass="varchar_pattern_ops"),)),
        '"sku" "varchar_pattern_ops"',
        id="opclass",
    ),
    pytest.param(
        Candidate(TABLE, (IndexKey("customer_id"),), include=("total",)),
        'INCLUDE ("total")',
        id="include",
    ),
    pytest.param(
        Candidate(TABLE, (IndexKey("customer_id"),), where="deleted_at IS NULL"),
        "WHERE deleted_at IS NULL",
        id="partial",
    ),
    pytest.param(
        Candidate(TABLE, (IndexKey("name", opclass="gin_trgm_ops"),), "gin"),
        'USING gin ("name" "gin_trgm_ops")',
        id="trigram",
    ),
    pytest.param(
        Candidate(("Sales", 'Odd "Name"'), (IndexKey("Mixed Case"),)),
        '"Sales"."Odd ""Name"""',
        id="quoting",
    ),
    pytest.param(
        Candidate(TABLE, (IndexKey("data ->> 'k'", True),)),
        "((data ->> 'k'))",
        id="operator-expression",
    ),
]


@pytest.mark.parametrize(("candidate", "fragment"), VARIANTS)
def test_create_index_sql_is_quoted_and_valid(candidate: Candidate, fragment: str) -> None:
    name = ddl.index_name(candidate)
    statement = ddl.text(ddl.create_index(candidate, name, concurrently=True))
    assert statement.startswith(f'CREATE INDEX CONCURRENTLY "{name}" ON ')
    assert fragment in statement
    assert ddl.validate([statement]) == {}


def test_index_names_fit_django_and_differ_per_variant() -> None:
    names = [ddl.index_name(p.values[0]) for p in VARIANTS]
    assert all(len(n) <= 30 and n[0].isalpha() for n in names)
    assert len(set(names)) == len(names)
    assert names[0] == "orders_order_status_created_at_idx"[:30] or names[0].startswith(
        "orders_order_status"
    )
    long = Candidate(TABLE, (IndexKey("a_really_long_column_name"), IndexKey("another_long_one")))
    assert ddl.index_name(long) == ddl.index_name(long)
    assert len(ddl.index_name(long)) <= 30


def test_validate_reports_the_broken_statement() -> None:
    good = ddl.text(ddl.drop_index("public", "x"))
    assert good == 'DROP INDEX CONCURRENTLY IF EXISTS "public"."x"'
    errors = ddl.validate(
        [good, "CREATE INDEX ON t USING (a)", good, "CREATE INDEX x ON t (a b c)"]
    )
    assert sorted(errors) == [1, 3]
    assert "syntax error" in errors[1]


def _load_model(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"dbtune_patch_{path.stem}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # inspect finds a class's file through sys.modules
    spec.loader.exec_module(module)
    return getattr(module, name)


SOURCES = {
    "no-meta": (
        "class A:\n    x = 1\n\n    def __str__(self):\n        return 'a'\n",
        "    class Meta:\n        indexes = [\n            NEWIX,\n        ]\n",
    ),
    "meta-without-indexes": (
        "class A:\n    x = 1\n\n    class Meta:\n        ordering = ['x']\n",
        "        ordering = ['x']\n        indexes = [\n            NEWIX,\n        ]\n",
    ),
    "multi-line-list": (
        "class A:\n    class Meta:\n        indexes = [\n            OLD\n        ]\n",
        "        indexes = [\n            OLD,\n            NEWIX,\n        ]\n",
    ),
    "one-line-list": (
        "class A:\n    class Meta:\n        indexes = [OLD]\n",
        "        indexes = [OLD, NEWIX]\n",
    ),
    "empty-list": (
        "class A:\n    class Meta:\n        indexes = []\n",
        "        indexes = [\n            NEWIX,\n        ]\n",
    ),
}


@pytest.mark.parametrize("case", sorted(SOURCES))
def test_meta_indexes_are_added_in_place(case: str, tmp_path: Path) -> None:
    before, expected = SOURCES[case]
    path = tmp_path / f"{case.replace('-', '_')}.py"
    path.write_text("OLD = None\n\n\n" + before)
    docstring = tmp_path / "documented.py"
    docstring.write_text('"""Doc."""\nOLD = None\n\n\n' + before)
    model = _load_model(path, "A")
    assert add_meta_indexes(model, "NEWIX", {"import os"}) == path
    text = path.read_text()
    ast.parse(text)
    assert expected in text
    assert text.startswith("import os\nOLD = None\n")
    assert add_meta_indexes(model, "NEWIX", set()) is None
    add_meta_indexes(_load_model(docstring, "A"), "NEWIX", {"import os"})
    assert docstring.read_text().startswith('"""Doc."""\nimport os\n')
