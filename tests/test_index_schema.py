"""The schema and case table shared by the index advisor's PostgreSQL-tier tests.

Each case is a workload (SQL text) and what the advisor must say about it: an index that
must be suggested (table and leading columns, in order), or no suggestion and a phrase
that must appear in the reason (a rejected candidate's, or a skipped statement's).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

SCHEMA = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE customers (
    id bigserial PRIMARY KEY, email varchar(254) NOT NULL, name text NOT NULL,
    is_active boolean NOT NULL, created_at timestamptz NOT NULL);
INSERT INTO customers (email, name, is_active, created_at)
SELECT 'user' || i || '@example.com', 'customer ' || i, i % 10 <> 0, now() - i * interval '1 minute'
FROM generate_series(1, 60000) i;
CREATE INDEX customers_lower_name ON customers (lower(name));
CREATE VIEW active_customers AS SELECT id, email, name FROM customers WHERE is_active;

CREATE TABLE orders (
    id bigserial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers (id),
    status varchar(16) NOT NULL, created_at timestamptz NOT NULL, total numeric(12, 2) NOT NULL);
INSERT INTO orders (customer_id, status, created_at, total)
SELECT 1 + i % 60000, (ARRAY['pending', 'paid', 'shipped', 'delivered', 'cancelled'])[1 + i % 5],
       now() - i * interval '30 seconds', (i % 500) + 0.99
FROM generate_series(1, 120000) i;
CREATE INDEX orders_customer_id_fk ON orders (customer_id);

CREATE TABLE order_items (
    id bigserial PRIMARY KEY, order_id bigint NOT NULL, product_id int NOT NULL,
    quantity int NOT NULL);
INSERT INTO order_items (order_id, product_id, quantity)
SELECT 1 + i % 120000, 1 + (i * 7) % 2000, 1 + (i / 7) % 10 FROM generate_series(1, 200000) i;

CREATE TABLE products (id serial PRIMARY KEY, sku varchar(32) NOT NULL UNIQUE, name text NOT NULL);
INSERT INTO products (sku, name) SELECT 'SKU-' || lpad(i::text, 6, '0'), 'product ' || i
FROM generate_series(1, 50000) i;
CREATE INDEX products_sku_like ON products (sku varchar_pattern_ops);

CREATE TABLE "Shipment" (
    id serial PRIMARY KEY, "TrackingNumber" varchar(40) NOT NULL, carrier text);
INSERT INTO "Shipment" ("TrackingNumber", carrier)
SELECT 'TRK' || i, (ARRAY['ups', 'dhl'])[1 + i % 2] FROM generate_series(1, 60000) i;

CREATE TABLE events (id bigint NOT NULL, user_id int NOT NULL, kind text NOT NULL,
                     created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at);
CREATE TABLE events_old PARTITION OF events FOR VALUES FROM (MINVALUE) TO ('2020-01-01');
CREATE TABLE events_new PARTITION OF events FOR VALUES FROM ('2020-01-01') TO (MAXVALUE);
INSERT INTO events
SELECT i, 1 + i % 20000, 'click', timestamptz '2019-06-01' + i * interval '10 minutes'
FROM generate_series(1, 100000) i;

CREATE TABLE tokens (id serial PRIMARY KEY, token text NOT NULL);
INSERT INTO tokens (token) SELECT md5(i::text) FROM generate_series(1, 50000) i;
CREATE INDEX tokens_token_hash ON tokens USING hash (token);

CREATE TABLE logs (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL, level text NOT NULL);
INSERT INTO logs (created_at, level)
SELECT timestamptz '2024-01-01' + i * interval '1 second', 'info' FROM generate_series(1, 100000) i;
CREATE INDEX logs_created_brin ON logs USING brin (created_at);

CREATE TABLE docs (id serial PRIMARY KEY, title text NOT NULL);
INSERT INTO docs (title) SELECT 'document number ' || i || ' about ' || md5(i::text)
FROM generate_series(1, 50000) i;
CREATE INDEX docs_title_trgm ON docs USING gin (title gin_trgm_ops);

CREATE TABLE accounts (id serial PRIMARY KEY, email text NOT NULL, deleted_at timestamptz);
INSERT INTO accounts (email, deleted_at)
SELECT 'acct' || i || '@example.com', CASE WHEN i % 10 = 0 THEN now() END
FROM generate_series(1, 50000) i;
CREATE INDEX accounts_live_email ON accounts (email) WHERE deleted_at IS NULL;

CREATE TABLE tiny (id serial PRIMARY KEY, code text NOT NULL);
INSERT INTO tiny (code) SELECT 'c' || i FROM generate_series(1, 40) i;

ANALYZE;
"""

Expected = tuple[str, list[str]] | tuple[None, str]

CASES: list[Any] = [
    pytest.param(
        "SELECT * FROM customers WHERE email = $1",
        ("customers", ["email"]),
        {},
        id="param-equality",
    ),
    pytest.param(
        "SELECT * FROM customers WHERE email = 'user42@example.com' AND is_active",
        ("customers", ["email"]),
        {},
        id="single-not-composite",
    ),
    pytest.param(
        "SELECT id FROM orders WHERE status = 'paid' ORDER BY created_at DESC LIMIT 20",
        ("orders", ["status", "created_at"]),
        {},
        id="equality-then-sort",
    ),
    pytest.param(
        "SELECT * FROM order_items WHERE product_id = 17 AND quantity = 3",
        ("order_items", ["product_id", "quantity"]),
        {},
        id="composite",
    ),
    pytest.param(
        "SELECT * FROM order_items WHERE product_id IN (3, 5, 7)",
        ("order_items", ["product_id"]),
        {},
        id="in-list",
    ),
    pytest.param(
        "SELECT o.id, i.quantity FROM orders o JOIN order_items i ON i.order_id = o.id "
        "WHERE o.customer_id = 42",
        ("order_items", ["order_id"]),
        {},
        id="join-key",
    ),
    pytest.param(
        "DELETE FROM order_items WHERE product_id = 7",
        ("order_items", ["product_id"]),
        {},
        id="delete-where",
    ),
    pytest.param(
        "UPDATE customers SET name = 'x' WHERE email = 'user7@example.com'",
        ("customers", ["email"]),
        {},
        id="update-where",
    ),
    pytest.param(
        "SELECT name FROM active_customers WHERE email = 'user5@example.com'",
        ("customers", ["email"]),
        {},
        id="view",
    ),
    pytest.param(
        "WITH c AS (SELECT * FROM customers) SELECT * FROM c WHERE email = 'user9@example.com'",
        ("customers", ["email"]),
        {},
        id="cte-inlined",
    ),
    pytest.param(
        "WITH c AS MATERIALIZED (SELECT * FROM customers) "
        "SELECT * FROM c WHERE email = 'user9@example.com'",
        (None, "nothing an index could serve"),
        {},
        id="cte-materialized",
    ),
    pytest.param(
        "SELECT * FROM events WHERE user_id = 42", ("events", ["user_id"]), {}, id="partitioned"
    ),
    pytest.param(
        'SELECT * FROM "Shipment" WHERE "TrackingNumber" = $1',
        ("Shipment", ["TrackingNumber"]),
        {},
        id="quoted-identifiers",
    ),
    pytest.param(
        "SELECT * FROM customers WHERE UPPER(email::text) = UPPER('USER5@EXAMPLE.COM')",
        ("customers", ["upper(email)"]),
        {},
        id="django-iexact",
    ),
    pytest.param(
        "SELECT * FROM customers WHERE created_at > now() - interval '30 minutes'",
        ("customers", ["created_at"]),
        {},
        id="selective-range",
    ),
    pytest.param(
        "SELECT id FROM orders WHERE status = 'paid' ORDER BY created_at DESC NULLS LAST LIMIT 20",
        ("orders", ["status", "created_at"]),
        {},
        id="sort-nulls-last",
    ),
    pytest.param(
        "SELECT id FROM orders WHERE status = $1 ORDER BY created_at DESC LIMIT $2",
        ("orders", ["status", "created_at"]),
        {},
        id="param-limit",
    ),
    pytest.param(
        "SELECT * FROM orders WHERE total < 1.5", ("orders", ["total"]), {}, id="literal-range"
    ),
    pytest.param(
        "SELECT * FROM customers WHERE to_char(created_at, 'YYYY') = '2024'",
        (None, "not IMMUTABLE"),
        {},
        id="expression-not-immutable",
    ),
    pytest.param(
        "SELECT * FROM pg_class WHERE relname = $1", (None, "system catalog"), {}, id="catalog"
    ),
    pytest.param("SELEC * FROM customers", (None, "parse error"), {}, id="parse-error"),
    pytest.param(
        "SELECT * FROM missing_table WHERE id = 1",
        (None, "unknown relation"),
        {},
        id="unknown-relation",
    ),
    pytest.param(
        "SELECT * FROM customers WHERE nope = 1 AND email = 'x'",
        (None, 'column "nope" does not exist'),
        {},
        id="unknown-column",
    ),
    pytest.param(
        "SELECT * FROM orders WHERE customer_id = 42",
        (None, "already served by existing index orders_customer_id_fk"),
        {},
        id="covered-fk-btree",
    ),
    pytest.param(
        "SELECT * FROM products WHERE sku = 'SKU-000042'",
        (None, "already served by existing index products_sku_key"),
        {},
        id="covered-unique",
    ),
    pytest.param(
        "SELECT * FROM products WHERE sku LIKE 'SKU-0042%'",
        (None, "already served by existing index products_sku_"),
        {},
        id="covered-like-opclass",
    ),
    pytest.param(
        "SELECT * FROM tokens WHERE token = md5('42')",
        (None, "already served by existing index tokens_token_hash"),
        {},
        id="covered-hash",
    ),
    pytest.param(
        "SELECT * FROM logs WHERE created_at BETWEEN '2024-01-01 01:00' AND '2024-01-01 01:05'",
        (None, "already served by existing index logs_created_brin"),
        {},
        id="covered-brin",
    ),
    pytest.param(
        "SELECT * FROM docs WHERE title ILIKE '%number 4242 %'",
        (None, "already served by existing index docs_title_trgm"),
        {},
        id="covered-gin-trigram",
    ),
    pytest.param(
        "SELECT * FROM accounts WHERE email = $1 AND deleted_at IS NULL",
        (None, "accounts_live_email"),
        {},
        id="covered-partial",
    ),
    pytest.param(
        "SELECT * FROM customers WHERE lower(name) = lower('Customer 42')",
        (None, "already served by existing index customers_lower_name"),
        {},
        id="covered-expression",
    ),
    pytest.param(
        "SELECT * FROM tiny WHERE code = 'c7'",
        (None, "too small to matter"),
        {},
        id="table-too-small",
    ),
    pytest.param(
        "SELECT * FROM customers WHERE email = $1",
        (None, "under the floor"),
        {"min_cost": 1e9},
        id="cost-floor",
    ),
    pytest.param(
        "SELECT * FROM customers WHERE email = $1",
        (None, "needs 100% less"),
        {"min_improvement": 0.9999},
        id="min-improvement",
    ),
    pytest.param("SELECT * FROM orders WHERE status = 'paid'", (None, ""), {}, id="unselective"),
]
"""(workload, expected, advise() overrides)."""


def scratch_dsn(admin_dsn: str, name: str) -> str:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    parts = conninfo_to_dict(admin_dsn)
    parts["dbname"] = name
    return make_conninfo("", **{k: str(v) for k, v in parts.items()})


@contextlib.contextmanager
def scratch_database(admin_dsn: str, name: str, schema: str = SCHEMA) -> Iterator[str]:
    """A fresh database ``name`` with ``schema`` loaded; dropped afterwards."""
    import psycopg

    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = scratch_dsn(admin_dsn, name)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(schema)
            conn.execute("VACUUM ANALYZE")
        yield dsn
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def check(result: Any, expected: Expected) -> None:
    """Assert that ``result`` (an AdviceResult) says what ``expected`` says."""
    document = result.to_json()
    table, detail = expected
    if table is not None:
        assert isinstance(detail, list)
        found = [s["columns"] for s in document["suggestions"] if s["table"] == table]
        assert any(columns[: len(detail)] == detail for columns in found), (
            f"expected {table}{detail}, "
            f"got {[(s['table'], s['columns']) for s in document['suggestions']]}; "
            f"rejected: {document['rejected']}; skipped: {document['skipped']}"
        )
        return
    assert not document["suggestions"], document["suggestions"]
    reasons = [r["reason"] for r in document["rejected"]] + [
        s["reason"] for s in document["skipped"]
    ]
    assert not detail or any(detail in reason for reason in reasons), reasons


def test_case_ids_are_unique() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))
