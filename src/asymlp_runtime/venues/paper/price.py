"""Mid-price sources for the paper venue: any iterator or callable of prices, a seeded GBM, or the
time-indexed reference path :func:`reference_mid` that separate processes share."""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable, Iterable, Iterator
from statistics import NormalDist

__all__ = [
    "REFERENCE_ORIGIN_NS",
    "MidSource",
    "ReferencePath",
    "as_mid_source",
    "brownian_at",
    "gbm_mids",
    "reference_mid",
    "symbol_seed",
]

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


# --------------------------------------------------------------------------------------------
# A reference price that is a pure function of (seed, time): shared by separate processes
# --------------------------------------------------------------------------------------------
#: Origin of the reference path's step count: 2026-01-01T00:00:00Z in ns (times before it use a
#: second, independent branch, so the path is defined for every time).
REFERENCE_ORIGIN_NS = 1_767_225_600 * 1_000_000_000
_TREE_LEVELS = 40  # 2**40 steps of 1 s is about 35,000 years on each side of the origin
_NORMAL = NormalDist()


def _hashed_normal(key: bytes, level: int, index: int) -> float:
    """A standard normal that is a pure function of ``(key, level, index)`` (BLAKE2b -> inverse CDF)."""
    digest = hashlib.blake2b(
        key + level.to_bytes(1, "big") + index.to_bytes(8, "big"), digest_size=8
    ).digest()
    u = ((int.from_bytes(digest, "big") >> 11) + 0.5) / 9007199254740992.0  # (0, 1), 53 bits
    return _NORMAL.inv_cdf(u)


def brownian_at(key: bytes, n: int) -> float:
    """Standard Brownian motion at integer time ``n >= 0``, ``W(0) = 0``, as a pure function of ``key``.

    Lévy's midpoint construction on ``[0, 2**40]``: ``W(2**40) = 2**20 z_root``; the midpoint of
    ``[a, b]`` is ``(W(a) + W(b)) / 2 + sqrt((b - a) / 4) z_node``, each ``z`` a hashed standard
    normal of its node. Descending to ``n`` costs 40 hashed normals (about 40 us) and the values
    at integer times have exactly the joint law of a Brownian motion.
    """
    if not 0 <= n <= 1 << _TREE_LEVELS:
        raise ValueError(f"step {n} outside [0, 2**{_TREE_LEVELS}]")
    lo, hi = 0, 1 << _TREE_LEVELS
    w_lo, w_hi = 0.0, float(1 << (_TREE_LEVELS // 2)) * _hashed_normal(key, 0, 0)
    level = 0
    while hi - lo > 1:
        if n == lo:
            return w_lo
        if n == hi:
            return w_hi
        level += 1
        mid = (lo + hi) >> 1
        w_mid = 0.5 * (w_lo + w_hi) + math.sqrt((hi - lo) / 4.0) * _hashed_normal(key, level, mid)
        if n < mid:
            hi, w_hi = mid, w_mid
        else:
            lo, w_lo = mid, w_mid
    return w_lo if n == lo else w_hi


class ReferencePath:
    """A seeded GBM over fixed time steps, evaluated at wall-clock times (cached per step).

    ``mid(ts_ns) = start_mid * exp(sigma * W(k) - sigma**2 * |k| / 2)`` with
    ``k = floor((ts_ns - origin_ns) / step_ns)`` and ``W`` the Brownian motion of
    :func:`brownian_at` keyed by ``(seed, symbol)`` (a second independent branch for ``k < 0``).
    Every process that builds a ``ReferencePath`` with the same arguments sees the same price at
    the same time without talking to the others.

    Parameters
    ----------
    seed : int
        Seed of the path.
    symbol : str
        Instrument (each symbol has its own path).
    start_mid : float
        Price at the origin.
    sigma_per_step : float
        Log volatility per step (5e-5 per 1 s step is about 28 % a year).
    step_s : float
        Step length in seconds; the price is constant within a step.
    origin_ns : int
        Time of step 0.
    """

    def __init__(
        self,
        seed: int,
        symbol: str = "",
        *,
        start_mid: float = 3000.0,
        sigma_per_step: float = 5e-5,
        step_s: float = 1.0,
        origin_ns: int = REFERENCE_ORIGIN_NS,
        cache_size: int = 4096,
    ) -> None:
        if start_mid <= 0 or sigma_per_step < 0 or step_s <= 0:
            raise ValueError("need start_mid > 0, sigma_per_step >= 0, step_s > 0")
        self.seed, self.symbol = seed, symbol
        self.start_mid, self.sigma = float(start_mid), float(sigma_per_step)
        self.step_ns = int(round(step_s * 1e9))
        self.origin_ns = origin_ns
        base = f"{seed}\x1f{symbol}".encode()
        self._keys = (base + b"\x1f+", base + b"\x1f-")
        self._cache: dict[int, float] = {}
        self._cache_size = cache_size

    def step_index(self, ts_ns: int) -> int:
        """Step ``k`` that contains ``ts_ns``."""
        return (ts_ns - self.origin_ns) // self.step_ns

    def step_start_ns(self, k: int) -> int:
        """Start time of step ``k``."""
        return self.origin_ns + k * self.step_ns

    def mid_at_step(self, k: int) -> float:
        """Mid price of step ``k``."""
        cached = self._cache.get(k)
        if cached is not None:
            return cached
        w = brownian_at(self._keys[0], k) if k >= 0 else brownian_at(self._keys[1], -k)
        sigma = self.sigma
        mid = self.start_mid * math.exp(sigma * w - 0.5 * sigma * sigma * abs(k))
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[k] = mid
        return mid

    def __call__(self, ts_ns: int) -> float:
        """Mid price at wall-clock time ``ts_ns``."""
        return self.mid_at_step(self.step_index(ts_ns))


_PATHS: dict[tuple, ReferencePath] = {}


def reference_mid(
    ts_ns: int,
    seed: int,
    symbol: str = "",
    *,
    start_mid: float = 3000.0,
    sigma_per_step: float = 5e-5,
    step_s: float = 1.0,
    origin_ns: int = REFERENCE_ORIGIN_NS,
) -> float:
    """The paper reference mid at ``ts_ns``: :class:`ReferencePath` ``(seed, symbol, ...)(ts_ns)``.

    A pure function of its arguments (paths are cached per argument set, values per step): the
    quote server, the trading engine, the position server and the LP flow generator of one paper
    stack agree on the price at any time without exchanging a message.
    """
    key = (seed, symbol, start_mid, sigma_per_step, step_s, origin_ns)
    path = _PATHS.get(key)
    if path is None:
        if len(_PATHS) > 64:
            _PATHS.clear()
        path = _PATHS[key] = ReferencePath(
            seed, symbol, start_mid=start_mid, sigma_per_step=sigma_per_step, step_s=step_s,
            origin_ns=origin_ns,
        )
    return path(ts_ns)
