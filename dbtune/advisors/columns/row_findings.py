"""Findings about the row as a whole: column order, dropped attributes still counted in
the null bitmap, and type changes that only pay off together."""

from __future__ import annotations

from dbtune.advisors.columns.findings import RISKS, Finding, make_finding
from dbtune.advisors.columns.layout import Layout, best_order
from dbtune.advisors.columns.pricing import Pricer


def combined_finding(pricer: Pricer, current: Layout, findings: list[Finding]) -> Finding | None:
    """Type changes that save nothing alone but something together (two ``int8`` next to
    each other narrowed to ``int4`` share one 8-byte slot; one alone leaves padding)."""
    lone = [
        f
        for f in findings
        if f.kind in ("narrow", "retype")
        and not f.worth_it
        and f.confirmed
        and f.risk != "high"
        and f.variant
    ]
    if len(lone) < 2:
        return None
    layout = current
    for f in lone:
        assert f.variant is not None
        layout = layout.replace_slot(f.columns[0], f.variant.slot(f.columns[0]))
    kind = "narrow" if all(f.kind == "narrow" for f in lone) else "retype"
    risk = max((f.risk for f in lone), key=RISKS.index)
    combined = make_finding(
        pricer,
        kind,
        [f.columns[0] for f in lone],
        current,
        layout,
        from_type=", ".join(f.from_type or "" for f in lone),
        to_type=", ".join(f.to_type or "" for f in lone),
        risk=risk,
        changes=[c for f in lone for c in f.changes],
        evidence="; ".join(f.evidence for f in lone),
    )
    if not combined.worth_it:
        return None
    combined.notes.append(
        "each change alone saves nothing; together they free a whole aligned slot"
    )
    for f in lone:
        others = ", ".join(c for c in combined.columns if c != f.columns[0])
        f.reason += f"; together with {others} it does save (see the combined finding)"
    return combined


def reorder_finding(pricer: Pricer, current: Layout) -> Finding | None:
    """The tightest order against the current one (both as freshly built tables); ``None``
    when the order is already tight (no data bytes to gain)."""
    base = current.fresh()
    best = best_order(base, pricer.sample, pricer.table.fillfactor, pricer.platform)
    if [s.name for s in best.slots] == [s.name for s in base.slots]:
        return None
    padding = pricer.heap(base).mean_data - pricer.heap(best).mean_data
    if padding < 0.05:
        return None
    return make_finding(
        pricer,
        "reorder",
        [s.name for s in best.slots],
        base,
        best,
        from_type=None,
        to_type=None,
        risk="low",
    )


def dropped_attrs_finding(pricer: Pricer, current: Layout) -> Finding | None:
    """Dropped columns still count in every row's null bitmap until the table is rebuilt."""
    dropped = [s.name for s in current.slots if s.attr.dropped]
    if not dropped:
        return None
    finding = make_finding(
        pricer,
        "drop",
        dropped,
        current,
        current.fresh(),
        from_type="dropped column",
        to_type=None,
        risk="low",
    )
    finding.notes.append(
        "VACUUM FULL and CLUSTER keep dropped attributes (as NULLs); only a new table loses them"
    )
    return finding
