"""The index advisor's pipeline: workload -> candidates -> costing -> selection -> result.

:func:`advise` is the entry point used by the CLI, the demo and tests. It opens one
read-only session (plus, only for transactional builds, a writable one on a lab server),
never changes the database, and turns every statement it cannot use into a ``skipped``
entry with a reason instead of an error.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbtune.advisors.indexes import costing
from dbtune.advisors.indexes.analyze import analyze
from dbtune.advisors.indexes.candidates import CandidateSet
from dbtune.advisors.indexes.catalog import Catalog
from dbtune.advisors.indexes.coverage import cannot_build, serving_index
from dbtune.advisors.indexes.model import Candidate, Origin
from dbtune.advisors.indexes.planning import PlanError, Planner, variants
from dbtune.advisors.indexes.result import AdviceResult, build_result
from dbtune.advisors.indexes.selection import Selector, Thresholds
from dbtune.advisors.indexes.whatif import Statement
from dbtune.advisors.workload import Query, Workload

Progress = Callable[[str], None]
PARALLEL_PLANNING = 500
"""From this many statements on, two sessions plan them side by side."""


def _plan_all(planner: Planner, statements: list[Statement], errors: dict[int, str]) -> None:
    for statement in statements:
        try:
            statement.before = planner.plan(statement.texts)
        except PlanError as exc:
            errors[statement.number] = f"cannot plan: {exc}"


@dataclass
class Options:
    """Everything that tunes the advisor; the CLI maps its flags onto these one to one."""

    min_improvement: float = 0.5
    min_cost: float = 100.0
    max_width: int = 3
    lab: bool = False
    allow_index_builds: bool = False
    verify: bool = False
    use_hypopg: bool = True
    statement_timeout_ms: int = 30_000
    lock_timeout_ms: int = 2_000
    max_statements_per_candidate: int = 50
    """Statements each candidate is costed on: those it came from, heaviest first ..."""
    max_other_statements: int = 10
    """... plus at most this many others that filter or sort on its leading column."""
    replica_dsns: list[str] = field(default_factory=list)
    lab_dirs: list[Path] = field(default_factory=list)
    maintenance: bool = True


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def advise(
    dsn: str,
    workload: Workload | list[Query] | str,
    *,
    lab: bool = False,
    verify: bool = False,
    allow_index_builds: bool = False,
    options: Options | None = None,
    progress: Progress | None = None,
    **overrides: Any,
) -> AdviceResult:
    """Index advice for ``workload`` on the database at ``dsn``.

    ``workload`` is a :class:`~dbtune.advisors.workload.Workload`, a list of queries, or
    SQL text (statements separated by ``;``). Keyword ``overrides`` set :class:`Options`
    fields (``min_improvement=0.3``). Raises :class:`~dbtune.errors.DBTuneError` (one
    line) for connection problems and for builds refused on a server the lab did not start.
    """
    from dbtune.db import connect

    opts = options or Options()
    opts.lab, opts.verify = opts.lab or lab, opts.verify or verify
    opts.allow_index_builds = opts.allow_index_builds or allow_index_builds
    for name, value in overrides.items():
        if not hasattr(opts, name):
            raise TypeError(f"advise() got an unexpected option {name!r}")
        setattr(opts, name, value)
    if isinstance(workload, str):
        workload = Workload.from_sql(workload)
    elif not isinstance(workload, Workload):
        workload = Workload(workload)
    with connect(dsn, statement_timeout_ms=opts.statement_timeout_ms) as conn:
        return Advisor(conn, dsn, opts, progress or (lambda _: None)).run(workload)


class Advisor:
    def __init__(self, conn: Any, dsn: str, options: Options, progress: Progress) -> None:
        self.conn = conn
        self.dsn = dsn
        self.options = options
        self.progress = progress
        self.catalog = Catalog(conn)
        self.skipped: list[dict[str, str]] = []
        self.rejected: dict[Candidate, str] = {}
        self.statements: dict[int, Statement] = {}
        self.analysed = 0
        self.weight_unit = "cost"

    def run(self, workload: Workload) -> AdviceResult:
        from dbtune.advisors.indexes import verify

        if self.options.verify:
            verify.check_allowed(self)
        self.skipped += [{"statement": text, "reason": why} for text, why in workload.problems]
        self.analyse(workload.queries)
        found = self.candidates()
        self.plan_before(found)
        self.weigh()
        backend = costing.choose(self.conn, self.dsn, self.catalog, self.options)
        try:
            evaluations = costing.evaluate_each(
                backend, self.catalog, found, self.statements, self.options, self.progress
            )
            selector = Selector(
                self.statements,
                self.catalog,
                Thresholds(self.options.min_improvement, self.options.min_cost),
            )
            chosen, reasons = selector.select(evaluations)
            self.rejected.update(reasons)
            final, superseded = costing.combine(
                backend, self.catalog, chosen, self.statements, self.options.min_cost
            )
            self.rejected.update(superseded)
        finally:
            backend.close()
        result = build_result(self, found, final, backend)
        if self.options.verify:
            self.progress("verifying the suggestions with EXPLAIN ANALYZE")
            verify.run(self, result)
        return result

    def analyse(self, queries: list[Query]) -> None:
        self.analysed = len(queries)
        for number, query in enumerate(queries):
            texts = variants(query.sql, query.params)
            analysis = analyze(texts[0], self.catalog)
            reads = any(access.reads for access in analysis.accesses)
            if analysis.skip is None and analysis.kind != "insert" and not reads:
                # Still part of the workload: its writes weigh on the table's indexes.
                self.statements[number] = Statement(number, query, texts, analysis)
                analysis.skip = (
                    "nothing an index could serve (no usable predicate, join or ORDER BY)"
                )
            if analysis.skip is not None:
                self.skipped.append({"statement": query.sql, "reason": analysis.skip})
                continue
            self.statements[number] = Statement(number, query, texts, analysis)

    def candidates(self) -> dict[Candidate, Origin]:
        found = CandidateSet(self.catalog, self.options.max_width)
        for number, statement in self.statements.items():
            for access in statement.analysis.accesses:
                found.add_access(number, access, statement.analysis.kind == "select")
        candidates = found.finish()
        for candidate in list(candidates):
            relation = self.catalog.resolve(*candidate.table)
            existing = serving_index(candidate, relation.indexes) if relation is not None else None
            refused = cannot_build(candidate, self.catalog)
            if refused is not None:
                self.rejected[candidate] = refused
                del candidates[candidate]
            elif existing is not None:
                keys = ", ".join(existing.keys)
                self.rejected[candidate] = (
                    f"already served by existing index {existing.name} ({keys})"
                )
                del candidates[candidate]
        return candidates

    def plan_before(self, found: dict[Candidate, Origin]) -> None:
        """Each statement's plan today; large workloads use a second session in parallel.

        The server plans on one core while this process reads the other session's results,
        which is what a 2-core machine offers.
        """
        tables = {candidate.table for candidate in found}
        todo = [
            s for s in self.statements.values() if s.analysis.skip is None and s.tables & tables
        ]
        errors: dict[int, str] = {}
        if len(todo) >= PARALLEL_PLANNING:
            import threading

            half = todo[len(todo) // 2 :]
            helper = threading.Thread(target=self._plan_with_own_session, args=(half, errors))
            helper.start()
            _plan_all(Planner(self.conn, self.catalog.version), todo[: len(todo) // 2], errors)
            helper.join()
        else:
            _plan_all(Planner(self.conn, self.catalog.version), todo, errors)
        for number, message in errors.items():
            statement = self.statements.pop(number)
            self.skipped.append({"statement": statement.query.sql, "reason": message})
        planned = set(self.statements)
        for origin in found.values():
            origin.statements &= planned

    def _plan_with_own_session(self, statements: list[Statement], errors: dict[int, str]) -> None:
        from dbtune.db import connect

        try:
            with connect(self.dsn, statement_timeout_ms=self.options.statement_timeout_ms) as conn:
                _plan_all(Planner(conn, self.catalog.version), statements, errors)
        except Exception as exc:  # the second session is an optimisation: plan here instead
            self.progress(f"parallel planning unavailable ({exc}); planning sequentially")
            _plan_all(Planner(self.conn, self.catalog.version), statements, errors)

    def weigh(self) -> None:
        """Time weight per statement: measured total ms, or calls x cost x ms-per-cost."""
        ratios = [
            s.query.total_ms / s.query.calls / s.before.cost
            for s in self.statements.values()
            if s.query.total_ms and s.before is not None and s.before.cost > 0 and s.query.calls
        ]
        ratio = statistics.median(ratios) if ratios else 1.0
        self.weight_unit = "ms" if ratios else "cost"
        for statement in self.statements.values():
            cost = statement.before.cost if statement.before is not None else 0.0
            measured = statement.query.total_ms
            statement.weight = measured if measured else statement.query.calls * cost * ratio
