"""Which what-if backend costs the candidates, and the two costing rounds.

HypoPG is used whenever the extension is installed in the target database. Otherwise a
writable session builds real indexes in rolled-back transactions, but only with ``--lab``
on a server the lab started, or with ``--allow-index-builds``. Otherwise candidates are
ranked by :class:`~dbtune.advisors.indexes.estimate.Estimate` and labelled "not
validated". Candidates a backend cannot model (HypoPG and GIN, for instance) fall back to
the estimate one by one.

Round one costs each candidate alone on the statements that could use it; round two costs
the chosen set together, so the numbers shown are the ones the set delivers, and drops a
suggestion the planner no longer uses next to the others.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from dbtune.advisors.indexes.catalog import Catalog
from dbtune.advisors.indexes.estimate import Estimate
from dbtune.advisors.indexes.model import Candidate, Origin, RelName
from dbtune.advisors.indexes.selection import Choice, Evaluation
from dbtune.advisors.indexes.whatif import HypoPG, Outcome, Statement, TransactionalBuild, WhatIf
from dbtune.errors import DBTuneError

if TYPE_CHECKING:
    from dbtune.advisors.indexes.advisor import Options

BUILD_TIMEOUT_MS = 300_000
BUILD_REFUSALS = ("IMMUTABLE", "no default operator class", "does not accept data type")
"""Errors that mean the index cannot exist at all (not that the backend cannot model it)."""


def choose(conn: Any, dsn: str, catalog: Catalog, options: Options) -> WhatIf:
    from dbtune.advisors.indexes.labcheck import lab_node
    from dbtune.db import redact

    if options.use_hypopg and "hypopg" in catalog.extensions:
        return HypoPG(conn, catalog)
    if options.lab or options.allow_index_builds:
        if not options.allow_index_builds and lab_node(dsn, conn, options.lab_dirs) is None:
            raise DBTuneError(
                f"--lab: {redact(dsn)} is not a server the dbtune lab started (no running lab "
                "lists it); pass --allow-index-builds to build indexes there in rolled-back "
                "transactions anyway, or omit --lab"
            )
        return TransactionalBuild(
            dsn, catalog, lock_timeout_ms=options.lock_timeout_ms, build_timeout_ms=BUILD_TIMEOUT_MS
        )
    return Estimate(catalog)


Leads = dict[tuple[RelName, str], list[Statement]]


def leading_keys(statements: dict[int, Statement]) -> Leads:
    """Statements by ``(table, column or expression)`` they filter, join or sort on."""
    found: Leads = defaultdict(list)
    for statement in statements.values():
        if statement.before is None:
            continue
        for access in statement.analysis.accesses:
            keys = {u.key for u in access.uses} | {k.key for k in access.sort + access.group}
            keys |= {u.key for group in access.or_groups for u in group}
            for key in keys:
                if not found[(access.rel, key)] or found[(access.rel, key)][-1] is not statement:
                    found[(access.rel, key)].append(statement)
    return found


def relevant(
    candidate: Candidate,
    origin: Origin,
    statements: dict[int, Statement],
    leads: Leads,
    limit: int,
    others_limit: int = 10,
) -> list[Statement]:
    """The statements behind the candidate, then others on its leading key, heaviest first."""
    own = sorted(
        (statements[n] for n in origin.statements if n in statements and statements[n].before),
        key=lambda s: -s.weight,
    )
    others = [
        s
        for s in leads.get((candidate.table, candidate.keys[0].expr), [])
        if s.number not in origin.statements
    ]
    others.sort(key=lambda s: -s.weight)
    return (own + others[:others_limit])[:limit]


def evaluate_each(
    backend: WhatIf,
    catalog: Catalog,
    found: dict[Candidate, Origin],
    statements: dict[int, Statement],
    options: Options,
    progress: Callable[[str], None],
) -> dict[Candidate, Evaluation]:
    fallback = Estimate(catalog)
    leads = leading_keys(statements)
    evaluations: dict[Candidate, Evaluation] = {}
    ordered = sorted(found, key=lambda c: (c.table, c.label()))
    for position, candidate in enumerate(ordered, start=1):
        if position % 25 == 0:
            progress(f"costing candidate {position}/{len(ordered)} with {backend.name}")
        targets = relevant(
            candidate,
            found[candidate],
            statements,
            leads,
            options.max_statements_per_candidate,
            options.max_other_statements,
        )
        if not targets:
            evaluations[candidate] = Evaluation(
                failed="no plannable statement uses its leading column"
            )
            continue
        costliest = max(s.before.cost for s in targets if s.before is not None)
        if costliest < options.min_cost:
            evaluations[candidate] = Evaluation(
                failed=f"statement cost {costliest:,.0f} is under the floor "
                f"{options.min_cost:,.0f} (table too small to matter)"
            )
            continue
        outcome = backend.evaluate([candidate], targets)
        validated = backend.validated
        failure = outcome.failed.get(candidate, "")
        if any(marker in failure for marker in BUILD_REFUSALS):
            reason = failure.split(": ", 1)[-1]
            evaluations[candidate] = Evaluation(failed=f"PostgreSQL cannot build it: {reason}")
            continue
        if candidate in outcome.failed:
            outcome = fallback.evaluate([candidate], targets)
            validated = False
        evaluations[candidate] = _evaluation(candidate, outcome, validated)
    return evaluations


def _evaluation(candidate: Candidate, outcome: Outcome, validated: bool) -> Evaluation:
    after = {
        number: plan.cost
        for number, plan in outcome.plans.items()
        if candidate in outcome.used.get(number, set())
    }
    return Evaluation(after=after, size=outcome.sizes.get(candidate, 0), validated=validated)


def combine(
    backend: WhatIf,
    catalog: Catalog,
    chosen: Sequence[Choice],
    statements: dict[int, Statement],
    min_cost: float = 0.0,
) -> tuple[list[tuple[Choice, dict[int, float]]], dict[Candidate, str]]:
    """Cost the chosen set together; ``(choice, statement -> cost)`` for those still used.

    Besides the statements a choice was selected for, every statement that filters or sorts
    on its leading column is costed again, so the statements listed as helped are complete
    even when round one looked at a sample of them.
    """
    if not chosen:
        return [], {}
    leads = leading_keys(statements)
    scopes: dict[Candidate, set[int]] = {}
    for choice in chosen:
        lead = (choice.candidate.table, choice.candidate.keys[0].expr)
        extra = {s.number for s in leads.get(lead, []) if s.before and s.before.cost >= min_cost}
        scopes[choice.candidate] = set(choice.statements) | extra
    targets = [statements[n] for n in sorted(set().union(*scopes.values()))]
    validated = [c.candidate for c in chosen if c.validated]
    together = backend.evaluate(validated, targets) if validated else Outcome()
    final: list[tuple[Choice, dict[int, float]]] = []
    dropped: dict[Candidate, str] = {}
    for choice in chosen:
        candidate = choice.candidate
        scope = scopes[candidate]
        outcome = together
        if not choice.validated or candidate in together.failed:
            outcome = Estimate(catalog).evaluate(
                [candidate], [statements[n] for n in sorted(scope)]
            )
        costs = {
            n: plan.cost
            for n, plan in outcome.plans.items()
            if n in scope
            and candidate in outcome.used.get(n, set())
            and plan.cost < _before(statements[n])
        }
        if not costs:
            dropped[candidate] = "the planner prefers the other suggestions once they exist"
            continue
        if together.sizes.get(candidate):
            choice.size = together.sizes[candidate]
        final.append((choice, costs))
    return final, dropped


def _before(statement: Statement) -> float:
    return statement.before.cost if statement.before is not None else 0.0
