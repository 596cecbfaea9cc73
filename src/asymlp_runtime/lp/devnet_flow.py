"""Swap flow on the devnet pool: noise traders and an arbitrageur, through the real SwapRouter.

The on-chain counterpart of :mod:`asymlp_runtime.lp.flow` (same model, same parameters):

- **Noise traders** arrive as a Poisson process (``noise_rate_per_s``); each swaps a lognormal
  value (mean ``noise_mean_value1`` whole quote tokens, log-sd ``noise_size_sigma``) in a random
  direction (``SwapRouter.exactInputSingle``, no price limit).
- **The arbitrageur** compares the pool price with the CeFi reference price (the paper venue's
  reference path, the function the simulated flow and the paper quote server use): when the pool
  is more than the fee (plus ``arb_margin``) away, it swaps exact input with the edge of the
  no-arbitrage band, ``reference * (1 -/+ fee)``, as the price limit, so the pool stops there.

Swaps are sent from the devnet's unlocked accounts 1..``traders`` in turn (never the LP
manager's wallet), one transaction per block (automine). :class:`DevnetFlow` runs the generator in
a daemon thread every ``step_s`` until :meth:`DevnetFlow.stop`; :meth:`DevnetFlow.advance` runs
one step synchronously (tests). Prices are quote per base whatever the pool's token order.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from asymlp_runtime.lp.flow import FlowModel, FlowSettings

if TYPE_CHECKING:
    from asymlp_runtime.chain.devnet import Devnet

__all__ = ["DevnetFlow", "DevnetFlowSettings"]

log = logging.getLogger("asymlp.lp.devnet_flow")

_HUGE_INPUT = 10**36  # the traders hold 10**40 of each token; the price limit stops the pool first


@dataclass(frozen=True, slots=True)
class DevnetFlowSettings(FlowSettings):
    """:class:`~asymlp_runtime.lp.flow.FlowSettings` plus the thread's step and the number of
    trader accounts (see the module docstring)."""

    step_s: float = 0.25
    traders: int = 8


class DevnetFlow(FlowModel):
    """Noise and arbitrage swaps on one devnet pool (see the module docstring and
    :class:`~asymlp_runtime.lp.flow.FlowModel`).

    Parameters
    ----------
    net : Devnet
        The running devnet (its RPC client is used by this flow only once started).
    fee : int
        The pool's fee tier.
    reference : callable
        ``ts_ns -> price`` (quote per base, whole tokens), the CeFi reference.
    settings : DevnetFlowSettings
    seed : int
        Seed of the generator.
    clock_ns : callable
        Wall clock.
    """

    def __init__(
        self,
        net: Devnet,
        fee: int,
        reference: Callable[[int], float] | None,
        settings: DevnetFlowSettings | None = None,
        *,
        seed: int = 0,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        s = settings or DevnetFlowSettings()
        super().__init__(s, seed)
        self.settings: DevnetFlowSettings = s
        self.net = net
        self.fee = fee
        self.reference = reference
        self._clock_ns = clock_ns
        self._turn = 0
        self.traders = [a for a in net.accounts[1 : 1 + s.traders]]
        self.base_is_token0 = net.token0.address == net.base.address
        self.d_base = net.config.base.decimals
        self.d_quote = net.config.quote.decimals
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ prices
    def price(self) -> float:
        """Pool price, quote per base, whole tokens."""
        s = self.net.slot0(self.fee).sqrt_price_x96 / float(1 << 96)
        raw = s * s  # pool token1 per token0, raw
        if self.base_is_token0:
            return raw * 10.0 ** (self.d_base - self.d_quote)
        return 10.0 ** (self.d_base - self.d_quote) / raw

    def _pool_sqrt_for(self, price: float) -> int:
        raw = price * 10.0 ** (self.d_quote - self.d_base)  # quote raw per base raw
        if not self.base_is_token0:
            raw = 1.0 / raw
        return int(math.sqrt(raw) * float(1 << 96))

    def _sender(self) -> str:
        self._turn = (self._turn + 1) % len(self.traders)
        return self.traders[self._turn]

    def _swap(self, sell_base: bool, amount: int, limit: int) -> tuple[int, int] | None:
        from asymlp_runtime.chain.devnet import ChainRevert

        zero_for_one = sell_base == self.base_is_token0
        try:
            res = self.net.swap_exact_input_single(
                self.fee, zero_for_one, amount, sqrt_price_limit_x96=limit, sender=self._sender()
            )
        except ChainRevert:
            self.stats.failed_swaps += 1
            return None
        return res.amount0, res.amount1

    def _quote_volume(self, a0: int, a1: int) -> int:
        return abs(a1) if self.base_is_token0 else abs(a0)

    # ------------------------------------------------------------------ the generator
    def advance(self, now_s: float, reference_price: float | None) -> int:
        """Noise arrivals in ``(last time, now_s]``, then the arbitrageur; returns swaps done."""
        return self._run(now_s, reference_price, self._noise, self._arbitrage)

    def _noise(self) -> int:
        value1, sell_base = self._noise_order()
        amount = int(value1 / self.price() * 10**self.d_base) if sell_base else int(value1 * 10**self.d_quote)
        if amount <= 0:
            return 0
        got = self._swap(sell_base, amount, 0)
        if got is None:
            return 0
        self.stats.noise_swaps += 1
        self.stats.noise_volume1 += self._quote_volume(*got)
        return 1

    def _arbitrage(self, reference_price: float) -> int:
        order = self._arbitrage_target(self.price(), reference_price, self.fee / 1_000_000)
        if order is None:
            return 0
        target, sell_base = order
        got = self._swap(sell_base, _HUGE_INPUT, self._pool_sqrt_for(target))
        if got is None:
            return 0
        self.stats.arb_swaps += 1
        self.stats.arb_volume1 += self._quote_volume(*got)
        return 1

    # ------------------------------------------------------------------ the thread
    def step(self) -> int:
        """One step at the wall clock: noise since the last step, then arbitrage."""
        now = self._clock_ns()
        ref = self.reference(now) if self.reference is not None else None
        return self.advance(now / 1e9, ref)

    def _loop(self) -> None:
        failures = 0
        while not self._stop.wait(self.settings.step_s):
            try:
                self.step()
                failures = 0
            except Exception as exc:  # the node is gone (shutdown) or a transient error
                failures += 1
                if self._stop.is_set() or failures > 20:
                    return
                log.warning("devnet flow step failed: %s", type(exc).__name__)

    def start(self) -> None:
        """Run the flow in a daemon thread."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="devnet-flow", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the thread (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
