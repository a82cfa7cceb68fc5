"""Turning chosen candidates into suggestions: names, SQL (validated), numbers, clean-ups."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dbtune.advisors.indexes import ddl, maintenance
from dbtune.advisors.indexes.django_output import django_ready, removal, removal_sql
from dbtune.advisors.indexes.model import Candidate, Origin
from dbtune.advisors.indexes.result import AdviceResult, StatementCost, Suggestion

if TYPE_CHECKING:
    from dbtune.advisors.indexes.advisor import Advisor
    from dbtune.advisors.indexes.selection import Choice
    from dbtune.advisors.indexes.whatif import WhatIf


def assemble(
    advisor: Advisor,
    found: dict[Candidate, Origin],
    final: list[tuple[Choice, dict[int, float]]],
    backend: WhatIf,
) -> AdviceResult:
    catalog = advisor.catalog
    result = AdviceResult(
        skipped=advisor.skipped,
        costing=backend.name,
        validated=backend.validated,
        statements=advisor.analysed,
        benefit_unit=advisor.weight_unit,
        thresholds={
            "min_improvement": advisor.options.min_improvement,
            "min_cost": advisor.options.min_cost,
        },
    )
    taken: set[str] = set()
    for relation in catalog.relations.values():
        taken.update(index.name for index in relation.indexes)
    for choice, costs in sorted(final, key=lambda item: -item[0].benefit):
        candidate = choice.candidate
        name = ddl.index_name(candidate)
        if name in taken:
            name = f"{name[:23]}_{len(taken) % 1000:03d}x"
        taken.add(name)
        target = catalog.resolve(*candidate.table)
        partitioned = target is not None and target.kind == "p"
        notes = []
        if partitioned:
            notes.append(
                "partitioned table: CREATE INDEX ... CONCURRENTLY is not supported, "
                "the statement locks writes while it builds"
            )
        if candidate.method == "gin" and "pg_trgm" not in catalog.extensions:
            notes.append("needs the pg_trgm extension: CREATE EXTENSION pg_trgm;")
        if not choice.validated:
            notes.append("not validated: estimated from pg_stats, no what-if costing available")
        sql = ddl.text(ddl.create_index(candidate, name, concurrently=not partitioned))
        statements = []
        for number, after in sorted(costs.items()):
            statement = advisor.statements[number]
            before = statement.before.cost if statement.before is not None else 0.0
            source = statement.query.sources[0] if statement.query.sources else ""
            statements.append(
                StatementCost(statement.query.sql, statement.query.calls, before, after, source)
            )
        result.suggestions.append(
            Suggestion(
                candidate=candidate,
                table=catalog.display(candidate.table),
                name=name,
                sql=sql,
                why=list(found.get(candidate, Origin()).reasons),
                statements=statements,
                size_bytes=choice.size,
                validated=choice.validated,
                benefit=choice.benefit,
                write_penalty=choice.penalty,
                notes=notes,
            )
        )
    for candidate, reason in sorted(advisor.rejected.items(), key=lambda item: item[0].label()):
        result.rejected.append(
            {
                "table": catalog.display(candidate.table),
                "columns": candidate.columns,
                "include": list(candidate.include),
                "where": candidate.where,
                "method": candidate.method,
                "reason": reason,
            }
        )
    if advisor.options.maintenance:
        add_maintenance(advisor, result)
    _validate(result)
    return result


def add_maintenance(advisor: Advisor, result: AdviceResult) -> None:
    conn = advisor.conn
    indexes = maintenance.load(conn)
    row = conn.execute(
        "SELECT stats_reset::text FROM pg_stat_database WHERE datname = current_database()"
    ).fetchone()
    replicas = (
        maintenance.replica_scans(advisor.options.replica_dsns)
        if advisor.options.replica_dsns
        else None
    )
    found = maintenance.find(indexes, replicas, row[0] if row else None)
    result.unused_indexes = found["unused_indexes"]
    result.duplicate_indexes = found["duplicate_indexes"]
    result.invalid_indexes = found["invalid_indexes"]
    with_django = django_ready()
    for item in result.unused_indexes + result.duplicate_indexes + result.invalid_indexes:
        item["migration"] = removal(item) if with_django else removal_sql(item)


def _validate(result: AdviceResult) -> None:
    """Run every generated statement through pgsanity; drop what fails (it never should)."""
    entries: list[tuple[str, Any]] = [(s.sql, s) for s in result.suggestions]
    for key in ("unused_indexes", "duplicate_indexes", "invalid_indexes"):
        entries += [(item["sql"], item) for item in getattr(result, key)]
    errors = ddl.validate([sql for sql, _ in entries])
    for position, message in errors.items():
        owner = entries[position][1]
        if isinstance(owner, Suggestion):
            result.suggestions.remove(owner)
            result.rejected.append(
                {
                    "table": owner.table,
                    "columns": owner.candidate.columns,
                    "include": list(owner.candidate.include),
                    "where": owner.candidate.where,
                    "method": owner.candidate.method,
                    "reason": f"generated SQL failed validation: {message}",
                }
            )
        else:
            owner["sql"] = None
            owner["reason"] += f" (generated SQL failed validation: {message})"
