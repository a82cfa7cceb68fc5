"""``--verify``: build the proposed layouts for real and measure them.

Each layout (the table as it is, each finding, the final layout) becomes a copy in schema
``dbtune_scratch`` over the same rows the estimate used (the whole table, or the same
``TABLESAMPLE``), with its B-tree indexes; measured ``pg_relation_size`` per row is set
beside the estimate for those rows. Copies are always dropped. Lab servers, or consent only.
Copies are packed with ``VACUUM FULL`` first: a PostgreSQL 16+ bulk load leaves up to 63
preallocated empty pages at the end of the file, free space rather than bytes of any row.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import replace
from typing import Any

import psycopg
from psycopg import sql

from dbtune.advisors.columns.catalog import Table
from dbtune.advisors.columns.index_size import IndexModel, duplicate_groups
from dbtune.advisors.columns.layout import Layout
from dbtune.advisors.columns.plan import using_expression
from dbtune.advisors.columns.pricing import Pricer
from dbtune.advisors.columns.result import Measurement, TableReport
from dbtune.advisors.columns.sample import Sample, sample_clause

SCRATCH = "dbtune_scratch"
STORAGE_NAMES = {"p": "PLAIN", "e": "EXTERNAL", "m": "MAIN", "x": "EXTENDED"}


class Copier:
    """Builds and measures copies; use as a context manager so copies are always dropped."""

    def __init__(
        self,
        conn: Any,
        reader: Any,
        table: Table,
        pricer: Pricer,
        limit: int,
        choices: dict[str, list[str]],
    ) -> None:
        self.conn, self.reader, self.table, self.pricer = conn, reader, table, pricer
        self.limit, self.choices = limit, choices
        self.created: list[sql.Composable] = []
        self.cache: dict[Layout, Measurement] = {}
        self.pgstattuple = bool(
            conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'pgstattuple'").fetchone()
        )

    def __enter__(self) -> Copier:
        self.conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(SCRATCH)))
        self.conn.execute("SET synchronize_seqscans = off")
        self.conn.execute("SET max_parallel_workers_per_gather = 0")
        return self

    def __exit__(self, *exc: object) -> None:
        for name in self.created:
            self.conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(name))
        # another run's copies may still live there; that run drops its own
        with contextlib.suppress(psycopg.Error):
            self.conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {}").format(sql.Identifier(SCRATCH)))

    def _expr(self, layout: Layout, index: int) -> sql.Composable:
        slot = layout.slots[index]
        alias = sql.Identifier(slot.name)
        if slot.attr.dropped or slot.source is None:
            return sql.SQL("NULL::integer AS {}").format(alias)
        column = self.table.column(slot.name)
        if slot.type_name == column.type_name:
            return sql.SQL("{} AS {}").format(sql.Identifier(column.name), alias)
        value = using_expression(column, slot.type_name, self.choices.get(column.name, []))
        return sql.SQL("({})::{} AS {}").format(value, sql.SQL(slot.type_name), alias)

    def measure(self, layout: Layout, label: str) -> Measurement:
        if layout in self.cache:
            return self.cache[layout]
        name = sql.Identifier(SCRATCH, f"c{os.getpid()}_{len(self.created)}")
        self.created.append(name)
        clause, _ = sample_clause(self.pricer.sample.table_rows, self.limit)
        exprs = sql.SQL(", ").join(self._expr(layout, i) for i in range(len(layout.slots)))
        source = sql.SQL("SELECT {} FROM ONLY {}{} LIMIT {}").format(
            exprs, self.table.ident, clause, sql.Literal(self.limit)
        )
        self._load(name, layout, source)
        for slot in layout.slots:
            if slot.attr.dropped:
                self.conn.execute(
                    sql.SQL("ALTER TABLE {} DROP COLUMN {}").format(name, sql.Identifier(slot.name))
                )
        self.conn.execute(sql.SQL("VACUUM FULL {}").format(name))
        models = [self._index(name, layout, m) for m in self.pricer.indexes if m.modelled]
        row = self.conn.execute(
            sql.SQL("SELECT pg_relation_size({}::regclass), count(*) FROM {}").format(
                sql.Literal(name.as_string(None)), name
            )
        ).fetchone()
        heap, rows = int(row[0]), int(row[1])
        measured_index = sum(size for size, _ in models)
        estimate = self._estimator([m for _, m in models])
        result = Measurement(
            label,
            rows,
            heap,
            measured_index,
            estimate.heap(layout).bytes_total,
            estimate.index_total(layout),
            self._tuple_bytes(name),
        )
        self.cache[layout] = result
        return result

    def _load(self, name: sql.Identifier, layout: Layout, source: sql.Composable) -> None:
        """Fill copy ``name`` with ``source`` in the source's order, pages filled one after
        another: ``CREATE TABLE AS``; or, when a kept column has ``STORAGE EXTERNAL`` or
        ``MAIN`` (which decide compression and TOAST as rows arrive), create, set storage
        and ``COPY`` in the same transaction (which skips the free-space map)."""
        fill = sql.Literal(self.table.fillfactor)
        storages = [
            (slot.name, STORAGE_NAMES.get(column.storage, "EXTENDED"))
            for slot in layout.live
            for column in [self.table.column(slot.name)]
            if slot.attr.typlen == -1
            and slot.type_name == column.type_name
            and column.storage in ("e", "m")
            and column.storage != column.type_storage
        ]
        if not storages:
            self.conn.execute(
                sql.SQL("CREATE TABLE {} WITH (fillfactor = {}) AS {}").format(name, fill, source)
            )
            return
        with self.conn.transaction():
            self.conn.execute(
                sql.SQL("CREATE TABLE {} WITH (fillfactor = {}) AS {} WITH NO DATA").format(
                    name, fill, source
                )
            )
            for column, storage in storages:
                self.conn.execute(
                    sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET STORAGE {}").format(
                        name, sql.Identifier(column), sql.SQL(storage)
                    )
                )
            out = sql.SQL("COPY ({}) TO STDOUT (FORMAT BINARY)").format(source)
            into = sql.SQL("COPY {} FROM STDIN (FORMAT BINARY)").format(name)
            with (
                self.reader.cursor().copy(out) as reading,
                self.conn.cursor().copy(into) as writing,
            ):
                for block in reading:
                    writing.write(block)

    def attempt(self, layout: Layout, label: str, report: TableReport) -> Measurement | None:
        """:meth:`measure`, or ``None`` with a note when the copy cannot be built (values
        changed since the exact checks, or a conversion the data refuses)."""
        try:
            return self.measure(layout, label)
        except psycopg.Error as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
            report.notes.append(f"could not verify {label}: {first}")
            return None

    def _tuple_bytes(self, name: sql.Identifier) -> int | None:
        """``pgstattuple``'s live tuple bytes of the copy, when the extension is usable."""
        if not self.pgstattuple:
            return None
        query = sql.SQL("SELECT tuple_len FROM pgstattuple({}::regclass)")
        try:
            row = self.conn.execute(query.format(sql.Literal(name.as_string(None)))).fetchone()
        except psycopg.Error:
            return None
        return int(row[0])

    def _estimator(self, models: list[IndexModel]) -> Pricer:
        sample = self.pricer.sample
        whole = Sample(sample.keys, sample.rows, len(sample.rows), True, sample.method)
        return Pricer(self.table, whole, self.pricer.platform, models)

    def _index(
        self, copy: sql.Identifier, layout: Layout, model: IndexModel
    ) -> tuple[int, IndexModel]:
        """Build ``model``'s index on the copy (if its columns survive); its size and a model
        whose duplicate counts are the copy's."""
        assert model.columns is not None
        if any(layout.slot(n) is None for n in model.columns):
            return 0, model
        index = model.index
        keys = sql.SQL(", ").join(sql.Identifier(n) for n in model.columns[: index.key_count])
        include = model.columns[index.key_count :]
        options = sql.SQL("fillfactor = {}").format(sql.Literal(index.fillfactor))
        if not index.dedup_allowed and not index.unique and not include:
            options = sql.SQL("{}, deduplicate_items = off").format(options)
        statement = sql.SQL("CREATE {}INDEX ON {} USING btree ({}){} WITH ({}){}").format(
            sql.SQL("UNIQUE " if index.unique else ""),
            copy,
            keys,
            sql.SQL(" INCLUDE ({})").format(sql.SQL(", ").join(sql.Identifier(n) for n in include))
            if include
            else sql.SQL(""),
            options,
            sql.SQL(" WHERE {}").format(sql.SQL(index.predicate))
            if index.predicate
            else sql.SQL(""),
        )
        self.conn.execute(statement)
        row = self.conn.execute(
            "SELECT pg_relation_size(indexrelid) FROM pg_index WHERE indrelid = %s::regclass "
            "ORDER BY indexrelid DESC LIMIT 1",
            (copy.as_string(None),),
        ).fetchone()
        groups = duplicate_groups(self.conn, copy, model)
        return int(row[0]), replace(model, groups=groups)


def verify_table(
    conn: Any,
    reader: Any,
    table: Table,
    pricer: Pricer,
    current: Layout,
    after: Layout,
    report: TableReport,
    limit: int,
) -> None:
    """Measure the current layout, every finding's layouts and the final layout on copies
    (``conn`` writes them, ``reader`` reads the table); fill in ``verified_bytes_per_row``
    of each finding and the report's verification."""
    choices = {
        ch.column.name: list(ch.choices) for f in report.findings for ch in f.changes if ch.choices
    }
    with Copier(conn, reader, table, pricer, limit, choices) as copier:
        now = copier.attempt(current, "now", report)
        for finding in report.findings:
            if finding.base is None or finding.variant is None or not finding.confirmed:
                continue
            label = f"{finding.kind} {', '.join(finding.columns)}"[:80]
            base = copier.attempt(finding.base, f"base of {label}", report)
            variant = copier.attempt(finding.variant, label, report)
            if base is not None and variant is not None and variant.rows:
                finding.verified_bytes_per_row = round(base.per_row - variant.per_row, 2)
        final = copier.attempt(after, "after", report)
        report.verification = list(copier.cache.values())
    if now is not None and now.rows:
        report.verified_row_bytes_now = round(now.heap_bytes / now.rows, 2)
    if final is not None and final.rows:
        report.verified_row_bytes_after = round(final.heap_bytes / final.rows, 2)
