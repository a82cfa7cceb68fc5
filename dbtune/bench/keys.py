"""Key distributions: uniform and zipfian, the same in pgbench scripts and the Python driver.

Uniform keys spread reads over the whole active range, so the working set *is* the range.
Zipfian keys (``random_zipfian(1, n, s)``) make a few keys hot; pgbench's ``hash()`` then
scatters the hot ranks over the key space so that hot rows do not share a few pages. The
Python driver draws ranks from the same Zipf law (cumulative weights, bisection) and
scatters them with a multiplicative hash, a bijection on ``1..n`` for ``n`` coprime with
the multiplier. Both are stated in every report that uses them.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from dataclasses import dataclass

KINDS = ("uniform", "zipfian")
DEFAULT_ZIPF_S = 1.1
_MULTIPLIER = 2_654_435_761
_CACHE: dict[tuple[int, float], list[float]] = {}
_CACHE_SIZE = 8


@dataclass(frozen=True)
class KeyChoice:
    """How keys are drawn: ``kind`` is ``uniform`` or ``zipfian`` (exponent ``s`` > 1)."""

    kind: str = "uniform"
    s: float = DEFAULT_ZIPF_S

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown key distribution {self.kind!r}; use one of {KINDS}")
        if self.kind == "zipfian" and not self.s > 1.0:
            raise ValueError("the zipfian exponent must be greater than 1 (pgbench requires it)")

    def describe(self) -> str:
        if self.kind == "uniform":
            return "uniform keys over the active range"
        return f"zipfian keys (s = {self.s:g}) scattered over the active range by a hash"

    def pgbench_lines(self, target: str, count: str) -> list[str]:
        """pgbench meta-commands setting ``:target`` to a key in ``1..:count``."""
        if self.kind == "uniform":
            return [f"\\set {target} random(1, :{count})"]
        return [
            f"\\set {target}_rank random_zipfian(1, :{count}, {self.s:g})",
            f"\\set {target} 1 + abs(hash(:{target}_rank)) % :{count}",
        ]

    def sampler(self, count: int, rng: random.Random) -> KeySampler:
        return KeySampler(self, count, rng)


class KeySampler:
    """Draws keys in ``1..count`` for the Python driver (one per client process)."""

    def __init__(self, choice: KeyChoice, count: int, rng: random.Random) -> None:
        if count < 1:
            raise ValueError("a key range needs at least one key")
        self.count = count
        self.rng = rng
        self.cumulative = zipf_cumulative(count, choice.s) if choice.kind == "zipfian" else None
        multiplier = _MULTIPLIER
        while math.gcd(multiplier, count) != 1:
            multiplier += 2
        self.multiplier = multiplier

    def __call__(self) -> int:
        if self.cumulative is None:
            return self.rng.randint(1, self.count)
        total = self.cumulative[-1]
        rank = bisect.bisect_left(self.cumulative, self.rng.random() * total)
        return (rank * self.multiplier) % self.count + 1

    def several(self, how_many: int) -> list[int]:
        return [self() for _ in range(how_many)]


def zipf_cumulative(count: int, s: float) -> list[float]:
    """Cumulative Zipf weights ``1/k**s`` for ranks 1..count (cached per process)."""
    key = (count, s)
    found = _CACHE.get(key)
    if found is None:
        found = list(itertools.accumulate(k**-s for k in range(1, count + 1)))
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.clear()
        _CACHE[key] = found
    return found
