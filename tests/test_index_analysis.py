"""Statement analysis for the index advisor: what each statement asks of each base table.

Pure logic on an offline catalog (no server): views and CTEs resolve to base tables,
catalogs/foreign tables/unknown relations/parse errors are reasons, never exceptions.
"""

from __future__ import annotations

import pytest

from dbtune.advisors.indexes.analyze import analyze
from dbtune.advisors.indexes.catalog import Catalog, Column, Relation
from dbtune.advisors.indexes.model import Access, Analysis

VIEW = "SELECT id, email, name FROM customer WHERE is_active"


def _table(name: str, *columns: str, kind: str = "r", schema: str = "public") -> Relation:
    cols = {
        c.split(":")[0]: Column(c.split(":")[0], c.split(":")[1] if ":" in c else "integer")
        for c in columns
    }
    return Relation(schema, name, kind, tuples=100_000, pages=1000, columns=cols)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    customer = _table(
        "customer", "id", "email:character varying(254)", "name:text", "is_active:boolean"
    )
    order = _table(
        "Order",
        "id",
        "customer_id",
        "status:character varying(16)",
        "created_at:timestamp with time zone",
        "deleted_at:timestamp with time zone",
    )
    item = _table("item", "id", "order_id", "sku:text", "qty")
    view = _table("active_customers", "id", "email:text", "name:text", kind="v")
    view.view_sql = VIEW
    limited = _table("latest_orders", "id", "status:text", kind="v")
    limited.view_sql = 'SELECT id, status FROM "Order" ORDER BY created_at DESC LIMIT 10'
    remote = _table("remote", "id", "code:text", kind="f")
    pg_class = _table("pg_class", "oid", "relname:name", schema="pg_catalog")
    return Catalog.offline([customer, order, item, view, limited, remote, pg_class])


def _access(analysis: Analysis, table: str) -> Access:
    found = [a for a in analysis.accesses if a.rel[1] == table]
    assert found, f"no access to {table}: {analysis}"
    return found[0]


def _uses(analysis: Analysis, table: str) -> set[tuple[str, str]]:
    return {(u.key, u.kind) for u in _access(analysis, table).uses}


USES = [
    pytest.param(
        'SELECT * FROM "Order" WHERE status = $1', "Order", {("status", "eq")}, id="param-eq"
    ),
    pytest.param(
        "SELECT * FROM customer WHERE email = 'a@b'", "customer", {("email", "eq")}, id="literal-eq"
    ),
    pytest.param(
        "SELECT * FROM item WHERE qty > 3 AND sku = 'x'",
        "item",
        {("qty", "range"), ("sku", "eq")},
        id="range-and-eq",
    ),
    pytest.param(
        "SELECT * FROM item WHERE qty BETWEEN 1 AND 5", "item", {("qty", "range")}, id="between"
    ),
    pytest.param(
        "SELECT * FROM item WHERE sku IN ('a', 'b')", "item", {("sku", "in")}, id="in-list"
    ),
    pytest.param("SELECT * FROM item WHERE sku = ANY($1)", "item", {("sku", "in")}, id="any-array"),
    pytest.param(
        'SELECT * FROM "Order" WHERE deleted_at IS NULL',
        "Order",
        {("deleted_at", "null")},
        id="is-null",
    ),
    pytest.param(
        "SELECT * FROM customer WHERE is_active",
        "customer",
        {("is_active", "eq")},
        id="bare-boolean",
    ),
    pytest.param(
        "SELECT * FROM customer WHERE email LIKE 'abc%'",
        "customer",
        {("email", "prefix")},
        id="like-prefix",
    ),
    pytest.param(
        "SELECT * FROM customer WHERE name LIKE '%abc%'",
        "customer",
        {("name", "infix")},
        id="like-infix",
    ),
    pytest.param(
        "SELECT * FROM customer WHERE name ILIKE 'abc%'",
        "customer",
        {("name", "infix")},
        id="ilike",
    ),
    pytest.param(
        'SELECT * FROM customer WHERE UPPER("customer"."email"::text) = UPPER($1)',
        "customer",
        {("upper(email)", "eq")},
        id="django-iexact",
    ),
    pytest.param(
        "SELECT * FROM customer WHERE UPPER(name::text) LIKE UPPER('%abc%')",
        "customer",
        {("upper(name)", "infix")},
        id="django-icontains",
    ),
    pytest.param(
        "SELECT * FROM item WHERE 5 < qty", "item", {("qty", "range")}, id="value-on-left"
    ),
    pytest.param(
        "SELECT * FROM customer c WHERE c.email = 'x' OR c.name = 'y'",
        "customer",
        set(),
        id="or-is-not-and",
    ),
    pytest.param(
        'UPDATE "Order" SET status = $1 WHERE customer_id = $2',
        "Order",
        {("customer_id", "eq")},
        id="update-where",
    ),
    pytest.param(
        "DELETE FROM item WHERE order_id = 5", "item", {("order_id", "eq")}, id="delete-where"
    ),
    pytest.param(
        "SELECT * FROM active_customers WHERE email = 'x'",
        "customer",
        {("email", "eq"), ("is_active", "eq")},
        id="view",
    ),
    pytest.param(
        "WITH c AS (SELECT * FROM customer) SELECT * FROM c WHERE email = 'x'",
        "customer",
        {("email", "eq")},
        id="cte-inlined",
    ),
    pytest.param(
        "WITH c AS MATERIALIZED (SELECT * FROM customer) SELECT * FROM c WHERE email = 'x'",
        "customer",
        set(),
        id="cte-materialized",
    ),
    pytest.param(
        "WITH c AS (SELECT * FROM customer) SELECT * FROM c, c AS d WHERE c.email = 'x'",
        "customer",
        set(),
        id="cte-used-twice",
    ),
    pytest.param(
        "SELECT * FROM latest_orders WHERE status = 'x'", "Order", set(), id="view-with-limit"
    ),
    pytest.param(
        "SELECT * FROM (SELECT id, sku AS code FROM item) s WHERE s.code = 'x'",
        "item",
        {("sku", "eq")},
        id="subquery-alias",
    ),
    pytest.param(
        "SELECT * FROM customer WHERE email = 'x' "
        "UNION ALL SELECT * FROM customer WHERE name = 'y'",
        "customer",
        {("email", "eq")},
        id="union-arm",
    ),
    pytest.param(
        "SELECT * FROM customer c "
        'WHERE EXISTS (SELECT 1 FROM "Order" o WHERE o.customer_id = c.id)',
        "Order",
        {("customer_id", "eq")},
        id="correlated-exists",
    ),
    pytest.param(
        'SELECT * FROM "Order" WHERE id IN (SELECT order_id FROM item WHERE sku = $1)',
        "item",
        {("sku", "eq"), ("order_id", "join")},
        id="in-subquery",
    ),
]


@pytest.mark.parametrize(("sql", "table", "expected"), USES)
def test_predicates_become_uses(
    catalog: Catalog, sql: str, table: str, expected: set[tuple[str, str]]
) -> None:
    analysis = analyze(sql, catalog)
    assert analysis.skip is None
    assert _uses(analysis, table) == expected


def test_join_keys_are_uses_on_both_sides(catalog: Catalog) -> None:
    analysis = analyze(
        'SELECT * FROM customer c JOIN "Order" o ON o.customer_id = c.id WHERE c.email = $1',
        catalog,
    )
    assert ("customer_id", "join") in _uses(analysis, "Order")
    assert _uses(analysis, "customer") == {("id", "join"), ("email", "eq")}
    assert next(u for u in _access(analysis, "Order").uses).partner == ("public", "customer")


def test_using_clause_is_a_join(catalog: Catalog) -> None:
    analysis = analyze("SELECT * FROM item JOIN item AS other USING (order_id)", catalog)
    assert all(("order_id", "join") in {(u.key, u.kind) for u in a.uses} for a in analysis.accesses)


def test_order_by_and_limit(catalog: Catalog) -> None:
    analysis = analyze(
        'SELECT id FROM "Order" WHERE status = $1 ORDER BY created_at DESC LIMIT 20', catalog
    )
    access = _access(analysis, "Order")
    assert [(k.key, k.desc) for k in access.sort] == [("created_at", True)]
    assert access.limit == 20
    assert access.referenced == {"id", "status", "created_at"}


def test_order_by_position_and_alias(catalog: Catalog) -> None:
    analysis = analyze("SELECT sku AS s, qty FROM item ORDER BY 2, s", catalog)
    assert [k.key for k in _access(analysis, "item").sort] == ["qty", "sku"]


def test_order_by_two_tables_is_not_an_index_order(catalog: Catalog) -> None:
    analysis = analyze(
        'SELECT * FROM customer c JOIN "Order" o ON o.customer_id = c.id '
        "ORDER BY c.name, o.created_at",
        catalog,
    )
    assert all(not a.sort for a in analysis.accesses)


def test_select_list_columns_are_not_predicates(catalog: Catalog) -> None:
    analysis = analyze("SELECT name, email FROM customer WHERE id = 1", catalog)
    assert _uses(analysis, "customer") == {("id", "eq")}
    assert _access(analysis, "customer").referenced == {"name", "email", "id"}


def test_star_reads_every_column(catalog: Catalog) -> None:
    assert _access(analyze("SELECT * FROM item WHERE id = 1", catalog), "item").referenced is None


def test_constant_predicates_are_recorded(catalog: Catalog) -> None:
    analysis = analyze('SELECT * FROM "Order" WHERE deleted_at IS NULL AND status = $1', catalog)
    assert _access(analysis, "Order").constants == {"deleted_at IS NULL": "deleted_at"}


def test_update_records_set_columns(catalog: Catalog) -> None:
    analysis = analyze('UPDATE "Order" SET status = $1, deleted_at = now() WHERE id = $2', catalog)
    assert analysis.kind == "update"
    assert _access(analysis, "Order").updated == {"status", "deleted_at"}


def test_insert_is_a_write(catalog: Catalog) -> None:
    analysis = analyze("INSERT INTO item (order_id, sku) VALUES ($1, $2)", catalog)
    assert analysis.kind == "insert"
    assert _access(analysis, "item").write == "insert"


def test_view_access_says_how_it_was_reached(catalog: Catalog) -> None:
    analysis = analyze("SELECT * FROM active_customers WHERE email = 'x'", catalog)
    assert _access(analysis, "customer").via == "view active_customers"


SKIPPED = [
    pytest.param("SELEC * FROM customer", "parse error", id="parse-error"),
    pytest.param(
        "SELECT * FROM nowhere WHERE id = 1", "unknown relation nowhere", id="unknown-relation"
    ),
    pytest.param(
        "SELECT * FROM pg_class WHERE relname = $1", "system catalog pg_class", id="catalog"
    ),
    pytest.param(
        "SELECT * FROM remote WHERE code = 'x'", "foreign table remote", id="foreign-table"
    ),
    pytest.param("BEGIN", "not a query (transaction control)", id="begin"),
    pytest.param("SET search_path = public", "not a query (SET)", id="set"),
    pytest.param("CREATE TABLE t (id int)", "not a query (Create statement)", id="ddl"),
    pytest.param("SELECT 1; SELECT 2", "several statements", id="two-statements"),
    pytest.param("", "empty statement", id="empty"),
    pytest.param("SELECT now()", "reads no table", id="no-table"),
]


@pytest.mark.parametrize(("sql", "reason"), SKIPPED)
def test_unusable_statements_are_skipped_with_a_reason(
    catalog: Catalog, sql: str, reason: str
) -> None:
    skip = analyze(sql, catalog).skip
    assert skip is not None
    assert skip.startswith(reason)


def test_quoted_identifiers_keep_their_case(catalog: Catalog) -> None:
    catalog.relations[("public", "Shipment")] = _table("Shipment", "id", "TrackingNumber:text")
    catalog.relations[("public", "Shipment")].loaded = True
    analysis = analyze('SELECT * FROM "Shipment" WHERE "TrackingNumber" = $1', catalog)
    assert _uses(analysis, "Shipment") == {("TrackingNumber", "eq")}
    assert (
        analyze("SELECT * FROM shipment WHERE trackingnumber = $1", catalog).skip
        == "unknown relation shipment"
    )


def test_deeply_nested_statement_is_skipped_not_raised(catalog: Catalog) -> None:
    sql = "SELECT * FROM item WHERE " + " AND ".join(f"(qty = {i}" for i in range(300)) + ")" * 300
    result = analyze(sql, catalog)
    assert result.skip is None or isinstance(result.skip, str)


def test_subqueries_in_dml_and_views_are_analysed(catalog: Catalog) -> None:
    analysis = analyze(
        "UPDATE item SET qty = (SELECT count(*) FROM customer WHERE email = $1)", catalog
    )
    assert ("email", "eq") in _uses(analysis, "customer")
    catalog.relations[("public", "busy")] = _table("busy", "id", "email:text", kind="v")
    catalog.relations[("public", "busy")].view_sql = (
        'SELECT c.id, c.email FROM customer c WHERE EXISTS (SELECT 1 FROM "Order" o '
        "WHERE o.customer_id = c.id AND o.status = 'x')"
    )
    catalog.relations[("public", "busy")].loaded = True
    analysis = analyze("SELECT * FROM busy WHERE email = 'y'", catalog)
    assert ("status", "eq") in _uses(analysis, "Order")
