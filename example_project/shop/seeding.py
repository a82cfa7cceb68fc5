"""Fill the shop's tables with deterministic data, fast.

``seed()`` is what the ``seed`` command, the demo and the benchmarks call. On PostgreSQL it
streams rows with COPY through the psycopg cursor inside Django's own connection, so it
honours whatever alias, transaction and settings Django already uses; elsewhere it falls
back to ``bulk_create``, which is fine for the small scales SQLite is meant for.

Existing shop data is removed first, so seeding twice with the same arguments leaves the
same rows behind. Tables, indexes and constraints are never dropped: the indexes present
(and missing) are part of what the shop demonstrates.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from itertools import islice

from django.apps import apps
from django.core.management.color import no_style
from django.db import DatabaseError, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from shop.generate import Row, ShopData, TableRows

SHOP_APPS = ("accounts", "catalog", "orders", "shipping")
BULK_BATCH = 2_000

Log = Callable[[str], None]


def shop_models() -> list[type[models.Model]]:
    """Every model whose table the seed owns, including the tag link table."""
    found: list[type[models.Model]] = []
    for label in SHOP_APPS:
        found.extend(apps.get_app_config(label).get_models(include_auto_created=True))
    return found


def seed(
    scale: float, seed: int = 42, using: str = "default", log: Log | None = None
) -> dict[str, int]:
    """Replace the shop's data with the rows for ``scale`` and ``seed``; return row counts.

    The counts are keyed by table name. One summary line per table goes to ``log``
    (standard error by default). Everything happens in one transaction, so readers never
    see a half-seeded shop; statistics are refreshed afterwards on PostgreSQL so the
    planner sees the new data at once.
    """
    write = log or _to_stderr
    connection = connections[using]
    is_postgres = connection.vendor == "postgresql"
    owns_transaction = not connection.in_atomic_block
    counts: dict[str, int] = {}
    started = time.perf_counter()
    with transaction.atomic(using=using):
        skipping_checks = is_postgres and _skip_foreign_key_triggers(connection, using)
        _empty(connection)
        for table in ShopData(scale, seed).tables():
            table_started = time.perf_counter()
            if is_postgres:
                rows = _copy(connection, table, freeze=owns_transaction)
            else:
                rows = _bulk_create(table, using)
            name = table.model._meta.db_table
            counts[name] = rows
            write(f"seed {name:<24} {rows:>10,} rows {time.perf_counter() - table_started:7.2f}s")
        _reset_sequences(connection)
        if skipping_checks:
            _restore_foreign_key_triggers(connection)
    if is_postgres:
        _analyze(connection)
    total = sum(counts.values())
    elapsed = time.perf_counter() - started
    write(f"seed {'total':<24} {total:>10,} rows {elapsed:7.2f}s (scale {scale:g}, seed {seed})")
    return counts


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _skip_foreign_key_triggers(connection: BaseDatabaseWrapper, using: str) -> bool:
    """Let COPY skip the per-row foreign key checks when the role may; say if it may.

    The generator only emits keys that exist, and at scale 10 the deferred checks cost
    about as much as the COPY itself. Roles without the privilege simply pay for them.
    """
    try:
        with transaction.atomic(using=using), connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
    except DatabaseError:
        return False
    return True


def _restore_foreign_key_triggers(connection: BaseDatabaseWrapper) -> None:
    """Undo the skip, in case the caller's transaction goes on after the seed."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = DEFAULT")


def _empty(connection: BaseDatabaseWrapper) -> None:
    tables = [connection.ops.quote_name(model._meta.db_table) for model in shop_models()]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY")
        else:
            for table in reversed(tables):
                cursor.execute(f"DELETE FROM {table}")


def _copy(connection: BaseDatabaseWrapper, table: TableRows, *, freeze: bool) -> int:
    """Stream one table with COPY; frozen rows spare the first readers all hint-bit writes.

    ``FREEZE`` is only allowed when the table was emptied in the current transaction,
    which holds when this seed opened the transaction itself.
    """
    opts = table.model._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(opts.get_field(name).column) for name in table.fields)
    statement = f"COPY {quote(opts.db_table)} ({columns}) FROM STDIN"
    if freeze:
        statement += " WITH (FREEZE)"
    rows = 0
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        write_row = copy.write_row
        for row in table.rows:
            write_row(row)
            rows += 1
    return rows


def _bulk_create(table: TableRows, using: str) -> int:
    model, fields = table.model, table.fields
    manager = model._base_manager.using(using)
    rows = 0
    for batch in _batches(table.rows, BULK_BATCH):
        manager.bulk_create([model(**dict(zip(fields, row, strict=True))) for row in batch])
        rows += len(batch)
    return rows


def _batches(rows: Iterable[Row], size: int) -> Iterable[list[Row]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _reset_sequences(connection: BaseDatabaseWrapper) -> None:
    """Move identity sequences past the copied keys so the app's own inserts still work."""
    statements = connection.ops.sequence_reset_sql(no_style(), shop_models())
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def _analyze(connection: BaseDatabaseWrapper) -> None:
    quote = connection.ops.quote_name
    tables = ", ".join(quote(model._meta.db_table) for model in shop_models())
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables}")
