"""The operation plan of each finding, and the Django migration that carries it out."""

from __future__ import annotations

from dbtune.advisors.columns.catalog import Column, Table
from dbtune.advisors.columns.findings import Finding
from dbtune.advisors.columns.plan import (
    REWRITE_BYTES_PER_SECOND,
    Change,
    Plan,
    alter_type_sql,
    cost,
    drop_sql,
    online_steps,
    rebuild_steps,
    rewrites,
)
from dbtune.advisors.columns.pricing import Pricer
from dbtune.advisors.columns.targets import django_field

EXCLUSIVE = "ACCESS EXCLUSIVE"


def model_name(table: Table) -> tuple[str, str]:
    """(app_label, model_name) guessed from Django's default ``<app>_<model>`` table name."""
    app, _, model = table.name.partition("_")
    return (app, model) if model else ("<app>", table.name)


def _field(column: Column, to_type: str, choices: tuple[str, ...]) -> str:
    head, _, args = django_field(to_type)[:-1].partition("(")
    parts = [args] if args else []
    if choices:
        parts.append(
            "choices=[" + ", ".join(f"({i}, {v!r})" for i, v in enumerate(choices, 1)) + "]"
        )
    if not column.not_null:
        parts.append("null=True")
    return f"{head}({', '.join(parts)})"


def _alter_ops(table: Table, changes: list[Change]) -> list[str]:
    _, model = model_name(table)
    return [
        f'migrations.AlterField(model_name="{model}", name="{ch.column.name}", '
        f"field={_field(ch.column, ch.to_type, ch.choices)})"
        for ch in changes
    ]


def _run_sql(sql_text: str | list[str], state: list[str]) -> str:
    ops = f", state_operations=[{', '.join(state)}]" if state else ""
    return f"migrations.RunSQL({sql_text!r}, reverse_sql=migrations.RunSQL.noop{ops})"


def _alter_fields(table: Table, changes: list[Change], sql_text: str) -> list[str]:
    """``AlterField`` for one plain change (Django writes the ``USING`` cast itself); else
    the single-rewrite SQL with the model state changes attached."""
    lines = [
        f"# {table.name}.{ch.column.name}: {ch.column.type_name} -> {ch.to_type}" for ch in changes
    ]
    if len(changes) == 1 and not changes[0].choices:
        return lines + _alter_ops(table, changes)
    if any(ch.choices for ch in changes):
        lines.append(
            "# text values become codes 1..n in the order of choices=[...]; "
            "update the code that reads them"
        )
    return [*lines, _run_sql(sql_text, _alter_ops(table, changes))]


def _remove_field(table: Table, column: Column, sql_text: str) -> list[str]:
    _, model = model_name(table)
    remove = f'migrations.RemoveField(model_name="{model}", name="{column.name}")'
    return [
        f"# step 1, with code that no longer reads {column.name}: Django stops selecting it",
        f"migrations.SeparateDatabaseAndState(state_operations=[{remove}])",
        "# step 2, the next deploy (no running code still selects the column): drop it",
        "migrations.SeparateDatabaseAndState(database_operations=["
        f"migrations.RunSQL({sql_text!r}, reverse_sql=migrations.RunSQL.noop)])",
    ]


def make_plan(table: Table, finding: Finding, pricer: Pricer, wal_level: str) -> Plan:
    """The plan for ``finding``; costs assume the variant layout's heap and index sizes."""
    variant = finding.variant
    rewrite_bytes = 0
    if variant is not None:
        rewrite_bytes = pricer.heap(variant).bytes_total + pricer.index_total(variant)
    if finding.kind in ("narrow", "retype") and finding.changes:
        verdicts = [rewrites(ch.column, ch.to_type) for ch in finding.changes]
        rewrite = any(r for r, _ in verdicts)
        why = "; ".join(dict.fromkeys(w for _, w in verdicts))
        statement = alter_type_sql(table, finding.changes)
        online = [step for ch in finding.changes for step in online_steps(table, ch)]
        plan = Plan(rewrite, why, EXCLUSIVE, [statement], online)
        for ch in finding.changes:
            for fk in table.fks_in:
                if ch.column.name in fk.ref_columns:
                    plan.fk_cascade.append(
                        f"{fk.table}({', '.join(fk.columns)}) -> {ch.to_type} (rewrites {fk.table})"
                    )
        plan.django = _alter_fields(table, finding.changes, statement)
        if rewrite:
            plan.warnings.append(
                f"ALTER COLUMN TYPE holds an {EXCLUSIVE} lock on {table.label} while it "
                "rewrites the table and rebuilds its indexes: every read and write waits"
            )
    elif finding.kind == "drop" and finding.from_type != "dropped column":
        column = table.column(finding.columns[0])
        statement = drop_sql(table, column)
        plan = Plan(
            False, "DROP COLUMN only marks the attribute dropped", EXCLUSIVE, [statement], []
        )
        plan.django = _remove_field(table, column, statement)
        plan.warnings.append(
            "Django selects every field: remove the field from the model first (step 1), "
            "drop the column in a later deploy (step 2)"
        )
        if column.not_null:
            plan.warnings.append(
                "the column is NOT NULL: drop the constraint or give it a database default "
                "before step 1"
            )
    else:
        live = (
            [s.name for s in variant.live] if variant is not None else [c.name for c in table.live]
        )
        order = [Change(table.column(n), table.column(n).type_name) for n in live]
        plan = Plan(
            True,
            "a new table with the columns in another order",
            EXCLUSIVE,
            rebuild_steps(table, order),
            [],
        )
        plan.warnings.append(
            f"the copy needs writes to {table.label} stopped (or captured by a trigger); the "
            f"{EXCLUSIVE} lock is held only for the rename"
        )
        plan.django = [
            "# no model change: Django does not see column order; run the SQL in migrations.RunSQL"
        ]
    cost(plan, rewrite_bytes, wal_level)
    return plan


def table_migration(
    table: Table, findings: list[Finding], after: list[tuple[str, str]], rewrite_bytes: int
) -> list[str]:
    """One migration for every applied finding of ``table`` (``after``: the final columns
    and types, in order). Type changes share one rewrite (one ``ALTER TABLE``, or one new
    table when the order changes too, which Django cannot express); a dropped column is
    first removed from the model (step 1), from the table in a later deploy (step 2)."""
    applied = [f for f in findings if f.applied]
    changes = [ch for f in applied if f.kind in ("narrow", "retype") for ch in f.changes]
    drops = [f for f in applied if f.kind == "drop" and f.from_type != "dropped column" and f.plan]
    rebuild = any(f.kind == "reorder" or f.from_type == "dropped column" for f in applied)
    lines: list[str] = []
    for f in drops:
        assert f.plan is not None
        lines += f.plan.django[:2] if rebuild else f.plan.django
    if changes or rebuild:
        seconds = rewrite_bytes / REWRITE_BYTES_PER_SECOND
        how = (
            "copies it to a new table: stop writes during the copy (the lock is brief)"
            if rebuild
            else f"rewrites it under an {EXCLUSIVE} lock: reads and writes wait"
        )
        lines.append(
            f"# WARNING: {table.label} ({rewrite_bytes / 2**20:,.1f} MB, about {seconds:,.1f} s "
            f"at {REWRITE_BYTES_PER_SECOND / 2**20:.0f} MB/s): this {how}; use a maintenance "
            "window or the online plan (new column, batched backfill, swap) in the JSON output"
        )
    if rebuild:
        chosen = {ch.column.name: ch for ch in changes}
        layout = [
            chosen.get(name) or Change(table.column(name), type_name) for name, type_name in after
        ]
        lines.append("# one new table in the final order and types (after step 1 of any drop):")
        lines.append(_run_sql(rebuild_steps(table, layout), _alter_ops(table, changes)))
    elif changes:
        lines += _alter_fields(table, changes, alter_type_sql(table, changes))
    return lines
