"""Mid-price sources for the paper venue: any iterator or callable of prices, or a seeded GBM."""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable, Iterable, Iterator

__all__ = ["MidSource", "gbm_mids", "as_mid_source", "symbol_seed"]

MidSource = Callable[[], float]


def symbol_seed(seed: int, symbol: str) -> int:
    """A per-symbol seed derived from ``seed`` (stable across runs, unlike ``hash``)."""
    digest = hashlib.blake2b(f"{seed}\x1f{symbol}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def gbm_mids(
    start: float, sigma_per_step: float, *, seed: int, drift_per_step: float = 0.0
) -> Iterator[float]:
    """Geometric Brownian motion sampled once per step, starting at ``start`` (first value).

    ``m[t+1] = m[t] * exp((drift - sigma**2 / 2) + sigma * z)`` with ``z`` standard normal from a
    ``random.Random(seed)``: the same seed gives the same path.
    """
    if start <= 0 or sigma_per_step < 0:
        raise ValueError(f"need start > 0 and sigma_per_step >= 0, got {start}, {sigma_per_step}")
    rng = random.Random(seed)
    mid = float(start)
    mu = drift_per_step - 0.5 * sigma_per_step * sigma_per_step
    while True:
        yield mid
        mid *= math.exp(mu + sigma_per_step * rng.gauss(0.0, 1.0))


def as_mid_source(source: Iterable[float] | Callable[[], float]) -> MidSource:
    """Wrap an iterable or a zero-argument callable of prices as a callable; an exhausted iterator
    keeps returning its last price."""
    if callable(source) and not hasattr(source, "__next__"):
        return source  # type: ignore[return-value]
    iterator = iter(source)  # type: ignore[arg-type]
    last: list[float] = []

    def next_mid() -> float:
        try:
            value = float(next(iterator))
        except StopIteration:
            if not last:
                raise ValueError("the price source is empty") from None
            return last[0]
        if not (value > 0 and math.isfinite(value)):
            raise ValueError(f"the price source gave a non-positive or non-finite mid: {value}")
        last[:] = [value]
        return value

    return next_mid
