"""What-if costing: how statements would plan if candidate indexes existed.

Three implementations of one small interface, :class:`WhatIf`:

- :class:`HypoPG`: hypothetical indexes (the ``hypopg`` extension), backend-local, so it
  works in the advisor's read-only session and leaves nothing behind;
- :class:`TransactionalBuild`: the real index built inside a transaction that is always
  rolled back, with ``lock_timeout`` and ``statement_timeout`` (lab servers, or explicitly
  allowed); the build holds a SHARE lock on the table while the transaction runs;
- :class:`~dbtune.advisors.indexes.estimate.Estimate`: no server-side what-if at all; the
  planner's own plan without the index plus ``pg_stats`` arithmetic ("not validated").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from dbtune.advisors.indexes import ddl
from dbtune.advisors.indexes.catalog import Catalog
from dbtune.advisors.indexes.model import Analysis, Candidate, RelName
from dbtune.advisors.indexes.planning import Plan, PlanError, Planner
from dbtune.advisors.workload import Query


@dataclass
class Statement:
    """A workload statement the advisor can plan, with its cost without new indexes."""

    number: int
    query: Query
    texts: list[str]
    analysis: Analysis
    before: Plan | None = None
    weight: float = 0.0
    """Time weight: measured total milliseconds, or calls x cost x a ms-per-cost ratio."""

    @property
    def tables(self) -> set[RelName]:
        return {access.rel for access in self.analysis.accesses}


@dataclass
class Outcome:
    """Plans with the candidate indexes in place, and what could not be modelled."""

    plans: dict[int, Plan] = field(default_factory=dict)
    used: dict[int, set[Candidate]] = field(default_factory=dict)
    sizes: dict[Candidate, int] = field(default_factory=dict)
    failed: dict[Candidate, str] = field(default_factory=dict)


class WhatIf:
    """Plans statements as if some indexes existed.

    Contract: :meth:`evaluate` receives candidates that do not exist on the server and
    statements whose ``before`` plan succeeded; it returns, per statement number, the plan
    with *all* the given candidates in place and which of them that plan uses, plus each
    candidate's size in bytes. It must leave the server as it found it (nothing committed,
    no hypothetical index left), never raise for one bad candidate or statement (record
    the candidate in ``failed``; leave the statement out of ``plans``), and only raise
    :class:`~dbtune.errors.DBTuneError` when the session itself is unusable.
    """

    name = "what-if"
    validated = True

    def evaluate(self, candidates: Sequence[Candidate], statements: Sequence[Statement]) -> Outcome:
        raise NotImplementedError

    def close(self) -> None:
        """Release server resources (connections); called once at the end."""


def _targets(catalog: Catalog, table: RelName, per_leaf: bool) -> list[RelName]:
    relation = catalog.resolve(*table)
    if per_leaf and relation is not None and relation.kind == "p":
        return list(relation.leaves)
    return [table]


def _message(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


class HypoPG(WhatIf):
    """Hypothetical indexes with HypoPG, one per leaf partition of a partitioned table."""

    name = "HypoPG"

    def __init__(self, conn: Any, catalog: Catalog) -> None:
        self.conn = conn
        self.catalog = catalog
        self.planner = Planner(conn, catalog.version)

    def evaluate(self, candidates: Sequence[Candidate], statements: Sequence[Statement]) -> Outcome:
        import psycopg

        outcome = Outcome()
        names: dict[str, Candidate] = {}
        try:
            for candidate in candidates:
                try:
                    size = 0
                    for table in _targets(self.catalog, candidate.table, per_leaf=True):
                        statement = ddl.text(ddl.create_index(candidate, None, table=table))
                        oid, name = self.conn.execute(
                            "SELECT indexrelid, indexname FROM hypopg_create_index(%s)",
                            (statement,),
                        ).fetchone()
                        names[str(name)] = candidate
                        row = self.conn.execute(
                            "SELECT hypopg_relation_size(%s)", (oid,)
                        ).fetchone()
                        size += int(row[0] or 0)
                    outcome.sizes[candidate] = size
                except psycopg.Error as exc:
                    outcome.failed[candidate] = f"HypoPG cannot model it: {_message(exc)}"
            _plan_all(self.planner, statements, names, outcome)
        finally:
            self.conn.execute("SELECT hypopg_reset()")
        return outcome


def _plan_all(
    planner: Planner, statements: Sequence[Statement], names: dict[str, Candidate], outcome: Outcome
) -> None:
    for statement in statements:
        try:
            plan = planner.plan(statement.texts)
        except PlanError:
            continue
        outcome.plans[statement.number] = plan
        outcome.used[statement.number] = {names[n] for n in plan.indexes if n in names}


BUILT_PARTS = """
SELECT c.relname, i.indcheckxmin, pg_relation_size(c.oid)
FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid
WHERE c.oid = %(index)s::regclass
   OR c.oid IN (SELECT relid FROM pg_partition_tree(%(index)s::regclass))
"""


class TransactionalBuild(WhatIf):
    """Real indexes built in a transaction that is rolled back after ``EXPLAIN``."""

    name = "transactional build"

    def __init__(
        self, dsn: str, catalog: Catalog, *, lock_timeout_ms: int, build_timeout_ms: int
    ) -> None:
        from dbtune.db import connect

        self._context = connect(dsn, read_only=False, statement_timeout_ms=build_timeout_ms)
        self.conn = self._context.__enter__()
        self.catalog = catalog
        self.lock_timeout_ms = lock_timeout_ms
        self.planner = Planner(self.conn, catalog.version)
        self._count = 0

    def evaluate(self, candidates: Sequence[Candidate], statements: Sequence[Statement]) -> Outcome:
        import psycopg

        outcome = Outcome()
        names: dict[str, Candidate] = {}
        with self.conn.transaction(force_rollback=True):
            self.conn.execute(f"SET LOCAL lock_timeout = {int(self.lock_timeout_ms)}")
            for candidate in candidates:
                self._count += 1
                name = f"dbtune_whatif_{self._count}"
                try:
                    with self.conn.transaction():
                        self.conn.execute(ddl.create_index(candidate, name))
                        index = {"index": ddl.qualified(candidate.table[0], name)}
                        rows = self.conn.execute(BUILT_PARTS, index).fetchall()
                except psycopg.Error as exc:
                    outcome.failed[candidate] = f"could not build it: {_message(exc)}"
                    continue
                if any(bool(checkxmin) for _, checkxmin, _ in rows):
                    outcome.failed[candidate] = (
                        "the table has broken HOT chains, so an index built in a transaction "
                        "is invisible to it"
                    )
                outcome.sizes[candidate] = sum(int(size) for _, _, size in rows)
                names.update({str(relname): candidate for relname, _, _ in rows})
            for statement in statements:
                try:
                    with self.conn.transaction():
                        plan = self.planner.plan(statement.texts)
                except (PlanError, psycopg.Error):
                    continue
                outcome.plans[statement.number] = plan
                outcome.used[statement.number] = {names[n] for n in plan.indexes if n in names}
        return outcome

    def close(self) -> None:
        self._context.__exit__(None, None, None)
