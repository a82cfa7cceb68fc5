"""Candidate generation, coverage by existing indexes and workload-level selection.

Pure logic on an offline catalog with hand-written ``pg_stats`` numbers.
"""

from __future__ import annotations

import pytest

from dbtune.advisors.indexes.analyze import analyze
from dbtune.advisors.indexes.candidates import CandidateSet
from dbtune.advisors.indexes.catalog import Catalog, Column, ExistingIndex, Relation, WriteStats
from dbtune.advisors.indexes.coverage import serves
from dbtune.advisors.indexes.model import Candidate, IndexKey
from dbtune.advisors.indexes.planning import Plan
from dbtune.advisors.indexes.selection import Evaluation, Selector, Thresholds
from dbtune.advisors.indexes.whatif import Statement
from dbtune.advisors.workload import Query

ORDERS = ("public", "orders")


@pytest.fixture
def catalog() -> Catalog:
    columns = {
        "id": Column("id", n_distinct=-1.0),
        "customer_id": Column("customer_id", n_distinct=20_000),
        "status": Column("status", "character varying(16)", n_distinct=5),
        "created_at": Column("created_at", "timestamp with time zone", n_distinct=-1.0),
        "deleted_at": Column(
            "deleted_at", "timestamp with time zone", n_distinct=10, null_frac=0.98
        ),
        "email": Column("email", "character varying(254)", n_distinct=-0.9),
        "note": Column("note", "text", n_distinct=-0.5),
    }
    orders = Relation("public", "orders", tuples=100_000, pages=2_000, columns=columns)
    return Catalog.offline([orders])


def _candidates(catalog: Catalog, *sqls: str) -> dict[Candidate, object]:
    found = CandidateSet(catalog)
    for number, sql in enumerate(sqls):
        analysis = analyze(sql, catalog)
        assert analysis.skip is None, analysis.skip
        for access in analysis.accesses:
            found.add_access(number, access, analysis.kind == "select")
    return dict(found.finish())


def _keys(catalog: Catalog, *sqls: str) -> set[tuple[str, ...]]:
    return {tuple(c.columns) for c in _candidates(catalog, *sqls) if not c.include and not c.where}


CASES = [
    pytest.param(
        "SELECT * FROM orders WHERE status = $1 AND customer_id = $2",
        ("customer_id", "status"),
        id="most-selective-first",
    ),
    pytest.param(
        "SELECT * FROM orders WHERE status = $1 ORDER BY created_at DESC LIMIT 20",
        ("status", "created_at"),
        id="equality-then-sort",
    ),
    pytest.param(
        "SELECT * FROM orders WHERE created_at > $1 AND status = $2",
        ("status", "created_at"),
        id="equality-then-range",
    ),
    pytest.param(
        "SELECT * FROM orders WHERE status = $1 AND created_at > $2 ORDER BY customer_id",
        ("status", "customer_id", "created_at"),
        id="eq-sort-range",
    ),
    pytest.param(
        "SELECT * FROM orders "
        "WHERE customer_id = 1 AND status = 'x' AND email = 'y' AND note = 'z'",
        ("email", "note", "customer_id"),
        id="width-capped-at-three",
    ),
]


@pytest.mark.parametrize(("sql", "widest"), CASES)
def test_column_order(catalog: Catalog, sql: str, widest: tuple[str, ...]) -> None:
    keys = _keys(catalog, sql)
    assert widest in keys
    assert all(len(k) <= 3 for k in keys)
    for width in range(1, len(widest)):
        assert widest[:width] in keys


def test_sort_and_range_also_offers_eq_plus_range(catalog: Catalog) -> None:
    keys = _keys(
        catalog, "SELECT * FROM orders WHERE status = $1 AND created_at > $2 ORDER BY customer_id"
    )
    assert ("status", "created_at") in keys


def test_descending_sort_is_flipped_to_ascending_unless_mixed(catalog: Catalog) -> None:
    found = _candidates(catalog, "SELECT * FROM orders ORDER BY created_at DESC, id DESC LIMIT 5")
    assert any(c.columns == ["created_at", "id"] and not any(k.desc for k in c.keys) for c in found)
    mixed = _candidates(catalog, "SELECT * FROM orders ORDER BY created_at DESC, id ASC LIMIT 5")
    assert any([k.desc for k in c.keys] == [False, True] for c in mixed if len(c.keys) == 2)


def test_select_list_only_columns_are_include_not_keys(catalog: Catalog) -> None:
    found = _candidates(catalog, "SELECT note FROM orders WHERE customer_id = $1")
    assert {tuple(c.columns) for c in found} == {("customer_id",)}
    assert any(c.include == ("note",) for c in found)


def test_partial_index_when_literal_predicate_is_workload_wide(catalog: Catalog) -> None:
    found = _candidates(
        catalog,
        "SELECT * FROM orders WHERE deleted_at IS NULL AND customer_id = $1",
        "SELECT * FROM orders WHERE deleted_at IS NULL AND status = $1 ORDER BY created_at",
    )
    partial = [c for c in found if c.where]
    assert partial
    assert all(c.where == "deleted_at IS NULL" for c in partial)
    assert any(c.columns == ["customer_id"] for c in partial)


def test_no_partial_index_when_some_statement_lacks_the_predicate(catalog: Catalog) -> None:
    found = _candidates(
        catalog,
        "SELECT * FROM orders WHERE deleted_at IS NULL AND customer_id = $1",
        "SELECT * FROM orders WHERE status = $1",
    )
    assert not any(c.where for c in found)


def test_infix_match_gives_a_trigram_candidate(catalog: Catalog) -> None:
    found = _candidates(
        catalog, "SELECT * FROM orders WHERE UPPER(note::text) LIKE UPPER('%refund%')"
    )
    (trigram,) = [c for c in found if c.method == "gin"]
    assert trigram.keys == (IndexKey("upper(note)", True, opclass="gin_trgm_ops"),)


def test_prefix_match_uses_a_pattern_opclass_unless_c_collation(catalog: Catalog) -> None:
    found = _candidates(catalog, "SELECT * FROM orders WHERE email LIKE 'ab%'")
    assert [k.opclass for c in found for k in c.keys] == ["varchar_pattern_ops"]
    catalog.c_collation = True
    found = _candidates(catalog, "SELECT * FROM orders WHERE email LIKE 'ab%'")
    assert [k.opclass for c in found for k in c.keys] == [None]


def test_or_arms_each_get_a_candidate(catalog: Catalog) -> None:
    assert _keys(catalog, "SELECT * FROM orders WHERE email = $1 OR customer_id = $2") == {
        ("email",),
        ("customer_id",),
    }


def _existing(method: str, *keys: str, **options: object) -> ExistingIndex:
    return ExistingIndex(
        name=f"ix_{method}", schema="public", table="orders", method=method, keys=keys, **options
    )  # type: ignore[arg-type]


def _candidate(*keys: str, roles: tuple[str, ...] = (), **options: object) -> Candidate:
    return Candidate(
        ORDERS, tuple(IndexKey(k) for k in keys), roles=roles or ("eq",) * len(keys), **options
    )  # type: ignore[arg-type]


COVERAGE = [
    pytest.param(
        _existing("btree", "status", "created_at"), _candidate("status"), True, id="btree-prefix"
    ),
    pytest.param(
        _existing("btree", "status", "created_at"),
        _candidate("created_at"),
        False,
        id="btree-not-prefix",
    ),
    pytest.param(
        _existing("btree", "customer_id", "status"),
        _candidate("status", "customer_id"),
        True,
        id="btree-equality-any-order",
    ),
    pytest.param(
        _existing("btree", "created_at", "status"),
        _candidate("status", "created_at", roles=("eq", "sort")),
        False,
        id="btree-sort-position-matters",
    ),
    pytest.param(
        _existing("btree", "created_at", "id", desc=(False, False)),
        Candidate(
            ORDERS, (IndexKey("created_at"), IndexKey("id", desc=True)), roles=("sort", "sort")
        ),
        False,
        id="btree-direction-mismatch",
    ),
    pytest.param(
        _existing("btree", "created_at", "id", desc=(True, False)),
        Candidate(
            ORDERS, (IndexKey("created_at"), IndexKey("id", desc=True)), roles=("sort", "sort")
        ),
        True,
        id="btree-directions-reversed",
    ),
    pytest.param(
        _existing("btree", "status", "created_at", desc=(False, True)),
        Candidate(ORDERS, (IndexKey("status"), IndexKey("created_at")), roles=("eq", "sort")),
        True,
        id="btree-one-sort-key-any-direction",
    ),
    pytest.param(
        _existing("btree", "email", opclasses=("varchar_pattern_ops",)),
        Candidate(ORDERS, (IndexKey("email", opclass="varchar_pattern_ops"),), roles=("prefix",)),
        True,
        id="django-like-index",
    ),
    pytest.param(
        _existing("btree", "email"),
        Candidate(ORDERS, (IndexKey("email", opclass="varchar_pattern_ops"),), roles=("prefix",)),
        False,
        id="default-opclass-no-like",
    ),
    pytest.param(
        _existing("btree", "email", opclasses=("varchar_pattern_ops",)),
        _candidate("email"),
        True,
        id="pattern-opclass-serves-equality",
    ),
    pytest.param(
        _existing("btree", "email", opclasses=("varchar_pattern_ops",)),
        _candidate("email", roles=("sort",)),
        False,
        id="pattern-opclass-cannot-sort",
    ),
    pytest.param(
        _existing("btree", "customer_id", include=("note",)),
        _candidate("customer_id", include=("note",)),
        True,
        id="include-covered",
    ),
    pytest.param(
        _existing("btree", "customer_id"),
        _candidate("customer_id", include=("note",)),
        False,
        id="include-missing",
    ),
    pytest.param(
        _existing("btree", "customer_id", predicate="deleted_at IS NULL"),
        _candidate("customer_id"),
        False,
        id="partial-does-not-serve-all",
    ),
    pytest.param(
        _existing("btree", "customer_id", predicate="deleted_at IS NULL"),
        _candidate("customer_id", where="deleted_at IS NULL"),
        True,
        id="partial-same-predicate",
    ),
    pytest.param(
        _existing("btree", "customer_id"),
        _candidate("customer_id", where="deleted_at IS NULL"),
        True,
        id="full-serves-partial",
    ),
    pytest.param(_existing("hash", "email"), _candidate("email"), True, id="hash-equality"),
    pytest.param(
        _existing("hash", "email"), _candidate("email", roles=("range",)), False, id="hash-no-range"
    ),
    pytest.param(
        _existing("brin", "created_at"),
        _candidate("created_at", roles=("range",)),
        True,
        id="brin-range",
    ),
    pytest.param(
        _existing("brin", "created_at"),
        _candidate("created_at", roles=("sort",)),
        False,
        id="brin-no-sort",
    ),
    pytest.param(
        _existing("gist", "created_at"),
        _candidate("created_at", roles=("range",)),
        True,
        id="gist-range",
    ),
    pytest.param(
        _existing("gin", "note", opclasses=("gin_trgm_ops",)),
        Candidate(ORDERS, (IndexKey("note", opclass="gin_trgm_ops"),), "gin", roles=("infix",)),
        True,
        id="gin-trigram",
    ),
    pytest.param(
        _existing("gist", "note", opclasses=("gist_trgm_ops",)),
        Candidate(ORDERS, (IndexKey("note", opclass="gin_trgm_ops"),), "gin", roles=("infix",)),
        True,
        id="gist-trigram",
    ),
    pytest.param(
        _existing("gin", "note", opclasses=("gin_trgm_ops",)),
        Candidate(
            ORDERS,
            (IndexKey("upper(note)", True, opclass="gin_trgm_ops"),),
            "gin",
            roles=("infix",),
        ),
        False,
        id="trigram-other-expression",
    ),
    pytest.param(
        _existing("btree", "upper(email)"),
        Candidate(ORDERS, (IndexKey("upper(email)", True),), roles=("eq",)),
        True,
        id="expression-index",
    ),
]


@pytest.mark.parametrize(("index", "candidate", "expected"), COVERAGE)
def test_existing_index_coverage(
    index: ExistingIndex, candidate: Candidate, expected: bool
) -> None:
    assert serves(index, candidate) is expected


def _statement(
    number: int, sql: str, cost: float, catalog: Catalog, calls: float = 1.0
) -> Statement:
    statement = Statement(number, Query(sql, calls=calls), [sql], analyze(sql, catalog), Plan(cost))
    statement.weight = calls * cost
    return statement


def test_selection_serves_each_statement_once_and_prefers_narrow_on_ties(catalog: Catalog) -> None:
    statements = {
        0: _statement(0, "SELECT * FROM orders WHERE email = $1 AND status = $2", 1000.0, catalog)
    }
    narrow, wide = _candidate("email"), _candidate("email", "status")
    evaluations = {narrow: Evaluation({0: 8.4}, size=100), wide: Evaluation({0: 8.3}, size=200)}
    chosen, reasons = Selector(statements, catalog, Thresholds()).select(evaluations)
    assert [c.candidate for c in chosen] == [narrow]
    assert "already served by orders(email)" in reasons[wide]


def test_selection_thresholds_explain_rejections(catalog: Catalog) -> None:
    statements = {
        0: _statement(0, "SELECT * FROM orders WHERE status = $1", 120.0, catalog),
        1: _statement(1, "SELECT * FROM orders WHERE customer_id = $1", 50.0, catalog),
    }
    weak, small = _candidate("status"), _candidate("customer_id")
    evaluations = {
        weak: Evaluation({0: 90.0}),
        small: Evaluation({1: 8.0}),
        _candidate("email"): Evaluation({}),
    }
    chosen, reasons = Selector(statements, catalog, Thresholds(0.5, 100.0)).select(evaluations)
    assert not chosen
    assert reasons[weak] == "cost 120 -> 90 (25% less), needs 50% less"
    assert "under the floor 100" in reasons[small]
    assert reasons[_candidate("email")] == "the planner would not use it for any statement"


def test_write_heavy_tables_get_fewer_indexes(catalog: Catalog) -> None:
    statements = {
        0: _statement(0, "SELECT * FROM orders WHERE email = $1", 1000.0, catalog),
        1: _statement(1, "SELECT * FROM orders WHERE customer_id = $1", 1000.0, catalog),
    }
    first, second = _candidate("email"), _candidate("customer_id")
    evaluations = {first: Evaluation({0: 10.0}), second: Evaluation({1: 10.0})}
    chosen, _ = Selector(statements, catalog, Thresholds()).select(dict(evaluations))
    assert len(chosen) == 2
    catalog.relations[ORDERS].writes = WriteStats(
        inserts=1_000_000, scans=1_000, tuples_read=50_000
    )
    chosen, reasons = Selector(statements, catalog, Thresholds()).select(dict(evaluations))
    assert len(chosen) == 1
    assert "write overhead outweighs the benefit" in next(iter(reasons.values()))


def test_updates_of_an_indexed_column_cost_their_hot_updates(catalog: Catalog) -> None:
    statements = {
        0: _statement(0, "SELECT * FROM orders WHERE status = $1", 1000.0, catalog),
        1: _statement(1, "UPDATE orders SET status = $1 WHERE id = $2", 1000.0, catalog, calls=10),
    }
    chosen, reasons = Selector(statements, catalog, Thresholds()).select(
        {_candidate("status"): Evaluation({0: 100.0})}
    )
    assert not chosen
    assert "write overhead" in reasons[_candidate("status")]
