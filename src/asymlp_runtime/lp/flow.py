"""Seeded swap flow against a simulated pool: noise traders and an arbitrageur.

- **Noise traders** arrive as a Poisson process (``noise_rate_per_s``); each swaps a lognormal
  value (mean ``noise_mean_value1`` in whole token1, log-sd ``noise_size_sigma``) in a random
  direction, exact input, with no price limit.
- **The arbitrageur** looks at the CeFi reference price after the noise of a step: when the pool
  price is more than the fee (plus ``arb_margin``) away from it, it swaps the pool back to the
  edge of the no-arbitrage band, ``reference * (1 -/+ fee)`` (exact input with the target as the
  price limit, so the pool stops exactly there).

Every swap goes through the exact pool state machine (:class:`asymlp_core.v3.Pool`), so fees,
tick crossings and rounding are the contract's. The generator is a pure function of its seed
and of the sequence of ``(time, reference price)`` it is advanced with.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from asymlp_core.v3 import MAX_SQRT_RATIO, MIN_SQRT_RATIO, V3Error

if TYPE_CHECKING:
    from asymlp_runtime.lp.sim import SimPoolBackend

__all__ = ["FlowModel", "FlowSettings", "FlowStats", "SwapFlowGenerator"]

_HUGE_INPUT = 1 << 200


@dataclass(frozen=True, slots=True)
class FlowSettings:
    """Parameters of the flow (see the module docstring).

    Attributes
    ----------
    noise_rate_per_s : float
        Mean noise swaps per second (0 disables noise).
    noise_mean_value1 : float
        Mean value of a noise swap in whole token1 (USDC).
    noise_size_sigma : float
        Log-sd of the lognormal size (the mean is kept at ``noise_mean_value1``).
    arbitrage : bool
        Run the arbitrageur.
    arb_margin : float
        Extra relative gap beyond the fee before the arbitrageur trades (its costs).
    max_catch_up_s : float
        After a pause (restart), at most this much noise time is replayed.
    """

    noise_rate_per_s: float = 2.0
    noise_mean_value1: float = 5_000.0
    noise_size_sigma: float = 1.0
    arbitrage: bool = True
    arb_margin: float = 0.0
    max_catch_up_s: float = 5.0


@dataclass(slots=True)
class FlowStats:
    """Counters of the flow since the generator was created."""

    noise_swaps: int = 0
    arb_swaps: int = 0
    noise_volume1: int = 0  # raw token1 traded by noise (input or output side)
    arb_volume1: int = 0
    failed_swaps: int = 0


class FlowModel:
    """The traders of a flow, whatever pool they swap on: the noise traders' arrival clock and
    order sizes, and the arbitrageur's no-arbitrage band.  Subclasses do the swaps
    (:class:`SwapFlowGenerator` on the simulated pool,
    :class:`~asymlp_runtime.lp.devnet_flow.DevnetFlow` through the devnet's SwapRouter).

    Parameters
    ----------
    settings : FlowSettings
        Rates, sizes and arbitrage switch.
    seed : int
        Seed of the generator's :class:`random.Random`.
    """

    def __init__(self, settings: FlowSettings, seed: int) -> None:
        if settings.noise_rate_per_s < 0 or settings.noise_mean_value1 <= 0 or settings.noise_size_sigma < 0:
            raise ValueError("noise rate must be >= 0, mean size > 0 and size sigma >= 0")
        self.settings = settings
        self.seed = seed
        self._rng = random.Random(seed)
        self._last_t: float | None = None
        self._next_arrival: float | None = None
        self.stats = FlowStats()

    def _run(
        self,
        now_s: float,
        reference_price: float | None,
        noise: Callable[[], int],
        arbitrage: Callable[[float], int],
    ) -> int:
        """``noise()`` at each arrival in ``(last time, now_s]`` (at most ``max_catch_up_s`` of
        them after a pause), then ``arbitrage(reference_price)`` when there is a usable reference;
        returns the swaps they report."""
        s = self.settings
        done = 0
        if self._last_t is None or now_s - self._last_t > s.max_catch_up_s:
            self._last_t = now_s if self._last_t is None else now_s - s.max_catch_up_s
            self._next_arrival = None
        if s.noise_rate_per_s > 0:
            if self._next_arrival is None or self._next_arrival < self._last_t:
                self._next_arrival = self._last_t + self._rng.expovariate(s.noise_rate_per_s)
            while self._next_arrival <= now_s:
                done += noise()
                self._next_arrival += self._rng.expovariate(s.noise_rate_per_s)
        self._last_t = max(self._last_t, now_s)
        if s.arbitrage and reference_price is not None and reference_price > 0 and math.isfinite(reference_price):
            done += arbitrage(reference_price)
        return done

    def _noise_order(self) -> tuple[float, bool]:
        """The next noise trader: (value in whole quote tokens, sells the base token)."""
        s = self.settings
        value1 = s.noise_mean_value1 * math.exp(
            s.noise_size_sigma * self._rng.gauss(0.0, 1.0) - 0.5 * s.noise_size_sigma**2
        )
        return value1, self._rng.random() < 0.5

    def _arbitrage_target(self, price: float, reference_price: float, fee: float) -> tuple[float, bool] | None:
        """``(target price, sells the base token)`` when ``price`` is more than ``fee`` (a fraction)
        plus ``arb_margin`` away from the reference: the near edge of the no-arbitrage band,
        ``reference * (1 -/+ fee)``; None inside the band."""
        band = fee + self.settings.arb_margin
        if price < reference_price * (1.0 - band):
            return reference_price * (1.0 - fee), False  # buy base: the price goes up
        if price > reference_price * (1.0 + band):
            return reference_price * (1.0 + fee), True
        return None


class SwapFlowGenerator(FlowModel):
    """Noise traders and an arbitrageur on the simulated pool (see the module docstring and
    :class:`FlowModel`)."""

    def advance(self, pool: SimPoolBackend, now_s: float, reference_price: float | None) -> int:
        """Run the noise arrivals in ``(last time, now_s]`` then the arbitrageur; returns swaps done.

        ``reference_price`` (token1 per token0, whole tokens) ``None`` skips the arbitrage.
        """
        return self._run(now_s, reference_price, lambda: self._noise_swap(pool), lambda r: self._arbitrage(pool, r))

    def _noise_swap(self, pool: SimPoolBackend) -> int:
        value1, sell0 = self._noise_order()
        price = pool.price_now()
        if sell0:
            amount = int(value1 / price * 10**pool.token0.decimals)
        else:
            amount = int(value1 * 10**pool.token1.decimals)
        if amount <= 0:
            return 0
        limit = MIN_SQRT_RATIO + 1 if sell0 else MAX_SQRT_RATIO - 1
        try:
            a0, a1 = pool.external_swap(sell0, amount, limit)
        except V3Error:
            self.stats.failed_swaps += 1
            return 0
        self.stats.noise_swaps += 1
        self.stats.noise_volume1 += abs(a1)
        return 1

    def _arbitrage(self, pool: SimPoolBackend, reference_price: float) -> int:
        order = self._arbitrage_target(pool.price_now(), reference_price, pool.fee / 1_000_000)
        if order is None:
            return 0
        target, zero_for_one = order  # selling token0 moves the price down
        limit = pool.sqrt_price_x96_for(target)
        current = pool.pool.sqrt_price_x96
        if (zero_for_one and not MIN_SQRT_RATIO < limit < current) or (
            not zero_for_one and not current < limit < MAX_SQRT_RATIO
        ):
            return 0
        try:
            a0, a1 = pool.external_swap(zero_for_one, _HUGE_INPUT, limit)
        except V3Error:
            self.stats.failed_swaps += 1
            return 0
        self.stats.arb_swaps += 1
        self.stats.arb_volume1 += abs(a1)
        return 1
