"""The shop's operations, written once for pgbench scripts and for the Python driver.

Three services own their tables: ``customers`` (customers), ``catalog`` (products) and
``orders`` (orders, order_items). Local operations touch one service; a fraction ``x`` of
operations spans services: ``order_view`` (order + items + customer + products) and
``checkout`` (check customer, reserve stock and price, create order and items). In the
scale-up topology (A) a spanning operation is one transaction with joins on one server;
split per service (B) it is several round trips with an application-side join and no
atomicity across services.

Statements are templates: ``{s}`` is the schema, ``{name}`` a parameter, rendered as
``:name`` for pgbench and ``%(name)s`` for psycopg, so both drivers send the same SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from dbtune.bench.keys import KeyChoice

SERVICES = ("customers", "catalog", "orders")
SKEWS = {
    "equal": {"customers": 1 / 3, "catalog": 1 / 3, "orders": 1 / 3},
    "hot": {"customers": 0.15, "catalog": 0.15, "orders": 0.70},
}
WRITE_SHARE = 0.10
"""Share of each service's local operations that write (an UPDATE of one row)."""
VIEW_SHARE = 0.80
"""Share of spanning operations that only read (``order_view``); the rest is ``checkout``."""

SQL = {
    "customer_read": "SELECT id, name, email, country, last_seen FROM {s}.customers "
    "WHERE id = {cid}",
    "customer_write": "UPDATE {s}.customers SET last_seen = now() WHERE id = {cid}",
    "product_read": "SELECT id, sku, name, price_cents, stock FROM {s}.products WHERE id = {pid}",
    "product_write": "UPDATE {s}.products SET stock = stock - 1 WHERE id = {pid}",
    "order_read": "SELECT o.id, o.customer_id, o.status, o.total_cents, i.line, i.product_id, "
    "i.quantity, i.price_cents FROM {s}.orders o JOIN {s}.order_items i ON i.order_id = o.id "
    "WHERE o.id = {oid}",
    "order_write": "UPDATE {s}.orders SET status = 'shipped' WHERE id = {oid}",
    "order_view": "SELECT o.id, o.status, c.name, c.email, i.line, p.name, p.price_cents, "
    "i.quantity FROM {s}.orders o JOIN {s}.customers c ON c.id = o.customer_id "
    "JOIN {s}.order_items i ON i.order_id = o.id JOIN {s}.products p ON p.id = i.product_id "
    "WHERE o.id = {oid}",
    "customer_name": "SELECT name, email FROM {s}.customers WHERE id = {cid}",
    "products_by_ids": "SELECT id, name, price_cents FROM {s}.products WHERE id = ANY({ids})",
    "customer_check": "SELECT country FROM {s}.customers WHERE id = {cid}",
    "reserve_total": "WITH reserved AS (UPDATE {s}.products SET stock = stock - 1 "
    "WHERE id BETWEEN {pid} AND {pid} + 2 RETURNING price_cents) "
    "SELECT sum(price_cents) AS total FROM reserved",
    "reserve_rows": "UPDATE {s}.products SET stock = stock - 1 WHERE id BETWEEN {pid} AND "
    "{pid} + 2 RETURNING id, price_cents",
    "insert_order": "INSERT INTO {s}.orders (customer_id, status, total_cents, created_at) "
    "VALUES ({cid}, 'new', {total}, now()) RETURNING id",
    "insert_items_joined": "INSERT INTO {s}.order_items (order_id, line, product_id, quantity, "
    "price_cents) SELECT {id}, p.id - {pid} + 1, p.id, 1, p.price_cents FROM {s}.products p "
    "WHERE p.id BETWEEN {pid} AND {pid} + 2",
    "insert_items_given": "INSERT INTO {s}.order_items (order_id, line, product_id, quantity, "
    "price_cents) SELECT {id}, t.line, t.product, 1, t.price FROM unnest({lines}::int[], "
    "{products}::bigint[], {prices}::int[]) AS t(line, product, price)",
}
_PARAMS = ("cid", "pid", "oid", "ids", "total", "id", "lines", "products", "prices")

# operation name -> (service that receives it, spans services?)
OPERATIONS = {
    "customer_read": ("customers", False),
    "customer_write": ("customers", False),
    "product_read": ("catalog", False),
    "product_write": ("catalog", False),
    "order_read": ("orders", False),
    "order_write": ("orders", False),
    "order_view": ("orders", True),
    "checkout": ("orders", True),
}
NAMES = list(OPERATIONS)


def for_psycopg(name: str, schema: str) -> str:
    return SQL[name].format(s=schema, **{p: f"%({p})s" for p in _PARAMS})


def for_pgbench(name: str, schema: str) -> str:
    return SQL[name].format(s=schema, **{p: f":{p}" for p in _PARAMS})


@dataclass(frozen=True)
class Mix:
    """The operation mix: spanning fraction ``x``, service ``skew``, key distribution."""

    x: float
    skew: str
    keys: KeyChoice

    def weights(self) -> dict[str, float]:
        """Probability of each operation (sums to 1)."""
        shares = SKEWS[self.skew]
        found = {}
        for name, (service, spans) in OPERATIONS.items():
            if spans:
                share = VIEW_SHARE if name == "order_view" else 1 - VIEW_SHARE
                found[name] = self.x * share
            else:
                share = WRITE_SHARE if name.endswith("_write") else 1 - WRITE_SHARE
                found[name] = (1 - self.x) * shares[service] * share
        return found

    def integer_weights(self, scale: int = 10_000) -> dict[str, int]:
        """pgbench ``@WEIGHT`` values (zero-weight operations left out)."""
        rounded = {name: round(weight * scale) for name, weight in self.weights().items()}
        return {name: weight for name, weight in rounded.items() if weight > 0}


def pgbench_script(name: str, schema: str, keys: KeyChoice) -> str:
    """The pgbench script for operation ``name`` on the scale-up node (all tables local)."""
    lines = [f"-- dbtune bench split, topology A: {name}; {keys.describe()}"]
    if name.startswith("customer"):
        lines += keys.pgbench_lines("cid", "n_customers")
    elif name.startswith("product"):
        lines += keys.pgbench_lines("pid", "n_products")
    elif name == "checkout":
        lines += keys.pgbench_lines("cid", "n_customers")
        lines += ["\\set n_slots :n_products - 2"] + keys.pgbench_lines("pid", "n_slots")
    else:
        lines += keys.pgbench_lines("oid", "n_orders")
    if name != "checkout":
        return "\n".join([*lines, for_pgbench(name, schema) + ";"])
    return "\n".join(
        [
            *lines,
            "BEGIN;",
            for_pgbench("customer_check", schema) + ";",
            for_pgbench("reserve_total", schema) + " \\gset",
            for_pgbench("insert_order", schema) + " \\gset",
            for_pgbench("insert_items_joined", schema) + ";",
            "END;",
        ]
    )
