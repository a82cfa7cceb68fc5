"""Choosing a set of indexes for the whole workload.

Each candidate was costed alone: for every statement whose plan uses it, the cost with it.
Selection is greedy: take the candidate with the largest benefit minus write penalty, mark
the (statement, table) pairs it serves, and score the rest again without those pairs, so
two suggestions never serve the same statement on the same table. Benefit is the time the
candidate saves, ``sum(weight x (1 - after / before))`` over statements at or above the
cost floor; it must cut their weighted cost by ``min_improvement``. The write penalty grows
with the share of writes on the table (``pg_stat_user_tables`` and the workload's own DML)
and with each index already chosen there; indexing a column that workload UPDATEs set adds
the cost of those updates losing HOT.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cache

from dbtune.advisors.indexes.catalog import Catalog
from dbtune.advisors.indexes.model import Candidate, RelName
from dbtune.advisors.indexes.whatif import Statement

WRITE_FACTOR = 0.6
HOT_FACTOR = 0.3
TIE = 0.98


@dataclass
class Evaluation:
    """One candidate costed alone: statement number -> cost with it (when the plan uses it)."""

    after: dict[int, float] = field(default_factory=dict)
    size: int = 0
    failed: str | None = None
    validated: bool = True


@dataclass
class Choice:
    candidate: Candidate
    statements: list[int]
    benefit: float
    penalty: float
    size: int
    validated: bool


@dataclass
class Thresholds:
    min_improvement: float = 0.5
    min_cost: float = 100.0


class Selector:
    def __init__(
        self,
        statements: dict[int, Statement],
        catalog: Catalog,
        thresholds: Thresholds,
    ) -> None:
        self.statements = statements
        self.catalog = catalog
        self.thresholds = thresholds
        self.served: dict[tuple[int, RelName], Candidate] = {}
        self.per_table: Counter[RelName] = Counter()

    def select(
        self, evaluations: dict[Candidate, Evaluation]
    ) -> tuple[list[Choice], dict[Candidate, str]]:
        """Chosen candidates (best net benefit first) and why each other one was not chosen.

        A choice only changes the scores of candidates on its own table (served pairs and
        the per-table penalty are per table), so tables are selected independently.
        """
        reasons = {c: str(e.failed) for c, e in evaluations.items() if e.failed is not None}
        by_table: dict[RelName, dict[Candidate, Evaluation]] = defaultdict(dict)
        for candidate, evaluation in evaluations.items():
            if evaluation.failed is None:
                by_table[candidate.table][candidate] = evaluation
        chosen: list[Choice] = []
        for table in sorted(by_table):
            chosen += self._select_table(by_table[table], reasons)
        chosen.sort(key=lambda choice: choice.penalty - choice.benefit)
        return chosen, reasons

    def _select_table(
        self, remaining: dict[Candidate, Evaluation], reasons: dict[Candidate, str]
    ) -> list[Choice]:
        chosen: list[Choice] = []
        gains: dict[Candidate, tuple[list[int], float] | str] = {}
        while remaining:
            scored: list[tuple[float, Choice]] = []
            for candidate, evaluation in remaining.items():
                if candidate not in gains:
                    gains[candidate] = self.gain(candidate, evaluation)
                gain = gains[candidate]
                result = (
                    gain if isinstance(gain, str) else self.choice(candidate, evaluation, *gain)
                )
                if isinstance(result, str):
                    reasons[candidate] = result
                else:
                    scored.append((result.benefit - result.penalty, result))
            if not scored:
                break
            top = max(score for score, _ in scored)
            close = [choice for score, choice in scored if score >= TIE * top]
            pick = min(
                close, key=lambda ch: (len(ch.candidate.keys) + len(ch.candidate.include), ch.size)
            )
            chosen.append(pick)
            reasons.pop(pick.candidate, None)
            del remaining[pick.candidate]
            self.per_table[pick.candidate.table] += 1
            served = set(pick.statements)
            for number in served:
                self.served[(number, pick.candidate.table)] = pick.candidate
            for candidate, evaluation in remaining.items():
                if not served.isdisjoint(evaluation.after):
                    gains.pop(candidate, None)
        return chosen

    def score(self, candidate: Candidate, evaluation: Evaluation) -> Choice | str:
        """The candidate as a choice (benefit, penalty) now, or why it is not one."""
        gain = self.gain(candidate, evaluation)
        return gain if isinstance(gain, str) else self.choice(candidate, evaluation, *gain)

    def gain(self, candidate: Candidate, evaluation: Evaluation) -> tuple[list[int], float] | str:
        """Statements the candidate would serve and the weighted time it saves them."""
        floor = self.thresholds.min_cost
        helped, small, taken = [], [], []
        for number, after in evaluation.after.items():
            before = self.statements[number].before
            if before is None or after >= before.cost:
                continue
            if (number, candidate.table) in self.served:
                taken.append(self.served[(number, candidate.table)])
            elif before.cost < floor:
                small.append(before.cost)
            else:
                helped.append(number)
        if not helped:
            if taken:
                return f"its statements are already served by {taken[0].label()}"
            if small:
                return (
                    f"statement cost {max(small):,.0f} is under the floor {floor:,.0f} "
                    "(table too small to matter)"
                )
            return "the planner would not use it for any statement"
        weight = sum(self.statements[n].weight for n in helped)
        kept = sum(
            self.statements[n].weight * evaluation.after[n] / _cost(self.statements[n])
            for n in helped
        )
        improvement = 1.0 - kept / weight if weight > 0 else 0.0
        if improvement < self.thresholds.min_improvement:
            total_before = sum(_cost(self.statements[n]) for n in helped)
            total_after = sum(evaluation.after[n] for n in helped)
            return (
                f"cost {total_before:,.0f} -> {total_after:,.0f} ({improvement:.0%} less), "
                f"needs {self.thresholds.min_improvement:.0%} less"
            )
        return helped, weight - kept

    def choice(
        self, candidate: Candidate, evaluation: Evaluation, helped: list[int], benefit: float
    ) -> Choice | str:
        """``benefit`` minus the write penalty, given the indexes already chosen on the table."""
        share = self.write_share(candidate.table)
        penalty = benefit * share * WRITE_FACTOR * (1 + self.per_table[candidate.table])
        penalty += self.hot_penalty(candidate)
        if benefit - penalty <= 0:
            return (
                f"write overhead outweighs the benefit ({share:.0%} of operations on "
                f"{candidate.table[1]} write index entries)"
            )
        return Choice(candidate, helped, benefit, penalty, evaluation.size, evaluation.validated)

    @cache  # noqa: B019 - one selector per advice run; tables are few
    def write_share(self, table: RelName) -> float:
        """Share of operations on ``table`` that write index entries (server stats, workload)."""
        relation = self.catalog.resolve(*table)
        measured = relation.writes.write_share if relation is not None else 0.0
        writes = reads = 0.0
        for statement in self.statements.values():
            for access in statement.analysis.accesses:
                if access.rel == table:
                    calls = statement.query.calls
                    if access.write in ("insert", "delete") or (
                        access.write == "update" and access.updated
                    ):
                        writes += calls
                    else:
                        reads += calls
        workload = writes / (writes + reads) if writes + reads else 0.0
        return max(measured, workload)

    def hot_penalty(self, candidate: Candidate) -> float:
        """Weight of workload UPDATEs that set an indexed column (they stop being HOT)."""
        columns = {k.expr for k in candidate.keys if not k.is_expr} | set(candidate.include)
        return sum(w * HOT_FACTOR for cols, w in self.updates(candidate.table) if cols & columns)

    @cache  # noqa: B019 - one selector per advice run; tables are few
    def updates(self, table: RelName) -> list[tuple[set[str], float]]:
        """Columns each workload UPDATE on ``table`` sets, with the statement's weight."""
        return [
            (access.updated, statement.weight)
            for statement in self.statements.values()
            for access in statement.analysis.accesses
            if access.rel == table and access.write == "update" and access.updated
        ]


def _cost(statement: Statement) -> float:
    return statement.before.cost if statement.before is not None else 0.0
