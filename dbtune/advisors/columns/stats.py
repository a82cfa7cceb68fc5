"""``pg_stats`` per column: the cheap first look that decides which exact queries to run.

Statistics come from a sample ANALYZE took, so they only *screen*: a column whose
``null_frac`` is 1 is a candidate for "always NULL", never the proof.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_STATS = """
SELECT attname, null_frac, avg_width, n_distinct,
       most_common_vals::text::text[], most_common_freqs, histogram_bounds::text::text[]
FROM pg_stats WHERE schemaname = %s AND tablename = %s AND NOT inherited
"""


@dataclass
class ColumnStats:
    null_frac: float
    avg_width: int
    n_distinct: float
    mcv: list[str | None]
    mcf: list[float]
    bounds: list[str | None]

    def distinct(self, rows: float) -> float:
        """Estimated number of distinct non-NULL values in ``rows`` rows."""
        return self.n_distinct if self.n_distinct >= 0 else -self.n_distinct * rows

    @property
    def values(self) -> list[str]:
        """Every value the statistics name (most common values and histogram bounds)."""
        return [v for v in [*self.mcv, *self.bounds] if v is not None]

    @property
    def covered(self) -> float:
        """Fraction of rows that are NULL or one of the most common values."""
        return self.null_frac + sum(self.mcf)


def load_stats(conn: Any, schema: str, table: str) -> dict[str, ColumnStats]:
    """Statistics by column name; empty when the table was never analysed."""
    out: dict[str, ColumnStats] = {}
    for name, null_frac, width, distinct, mcv, mcf, bounds in conn.execute(
        _STATS, (schema, table)
    ).fetchall():
        out[name] = ColumnStats(
            float(null_frac),
            int(width),
            float(distinct),
            list(mcv or []),
            [float(f) for f in mcf or []],
            list(bounds or []),
        )
    return out
