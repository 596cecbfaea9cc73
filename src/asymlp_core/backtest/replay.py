"""Exact replay: what a hypothetical range would have earned over a pool's swap history, to the wei.

The pool's state at the start (slot0, liquidity, fee growth, every initialized tick with its
liquidity net and fee growth outside: an :class:`asymlp_core.v3.Pool`, built from Mint/Burn
history or read from the chain at a block) gets the hypothetical position minted into it,
then the swaps are replayed through the compiled exact kernel
(:func:`asymlp_core.v3.nb.swap_replay`), which reproduces ``UniswapV3Pool.swap`` bit for bit.
The position's fees are then ``Position.update``'s own formula: ``mulDiv(fee growth inside
now - at mint, liquidity, 2**128)`` per token.

Two ways to turn Swap events into swaps (``swaps_from_events``):

- ``mode="price"`` (default): each event becomes "swap to the event's sqrt price" (exact
  input without bound, the event's price as the limit).  The pool follows the historical
  price path exactly; the extra liquidity of the hypothetical position means that more
  volume is needed to move the price, as arbitrageurs would supply.  This is the usual
  question "what would this range have earned on that price path".
- ``mode="amount"``: each event becomes an exact-input swap of the amount the trader paid in
  (the positive delta), with the event's price as the limit.  With the hypothetical
  position the price moves less; without it, the replay retraces history (an exact-output
  swap of the original is replayed as exact input, which can differ by a wei of rounding in
  its last step).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..v3 import MAX_SQRT_RATIO, MIN_SQRT_RATIO, Pool, get_amounts_for_liquidity, get_sqrt_ratio_at_tick
from ..v3._types import MAX_INT256
from ..v3.full_math import mul_div
from ..v3.nb import ERR_OK, ints_to_limbs, limbs_to_ints, replay_swaps
from ..v3.sqrt_price_math import Q128

#: Owner key of the hypothetical position inside the replayed pool.
REPLAY_OWNER = "__asymlp_replay__"


class Swaps(NamedTuple):
    zero_for_one: np.ndarray  # (n,) bool
    amount_specified: np.ndarray  # (n, 4) uint64 int256 words
    sqrt_price_limit_x96: np.ndarray  # (n, 4) uint64 words


class ReplayResult(NamedTuple):
    fees0: int
    fees1: int
    amount0: int  # what the position holds at the end (principal, rounded down)
    amount1: int
    mint_amount0: int  # what minting it cost at the start (rounded up)
    mint_amount1: int
    n_swaps: int
    n_reverted: int
    final_sqrt_price_x96: int
    final_tick: int
    per_swap: dict[str, Any]  # the kernel's per-swap outputs (limb arrays)


def swaps_from_events(
    amount0: list[int] | np.ndarray,
    amount1: list[int] | np.ndarray,
    sqrt_price_x96: list[int] | np.ndarray,
    start_sqrt_price_x96: int,
    mode: str = "price",
) -> Swaps:
    """Swaps to replay from Swap events (pool's signed deltas and the price after each)."""
    if mode not in ("price", "amount"):
        raise ValueError(f"mode must be 'price' or 'amount', got {mode!r}")
    a0 = [int(v) for v in amount0]
    a1 = [int(v) for v in amount1]
    prices = [int(v) for v in sqrt_price_x96]
    if not len(a0) == len(a1) == len(prices):
        raise ValueError("amount0, amount1 and sqrt_price_x96 differ in length")
    n = len(prices)
    zfo = np.empty(n, dtype=np.bool_)
    specified: list[int] = []
    limits: list[int] = []
    prev = int(start_sqrt_price_x96)
    for i in range(n):
        target = prices[i]
        if not MIN_SQRT_RATIO <= target < MAX_SQRT_RATIO:
            raise ValueError(f"event {i}: sqrt_price_x96 {target} outside the pool's range")
        if mode == "price":
            z = target < prev
            specified.append(MAX_INT256)
        else:
            z = a0[i] > 0
            paid = a0[i] if z else a1[i]
            if paid <= 0:
                raise ValueError(f"event {i}: no positive input amount (amount0={a0[i]}, amount1={a1[i]})")
            specified.append(paid)
        # a limit on the wrong side of the current price makes the swap revert 'SPL' (skipped)
        zfo[i] = z
        limits.append(target)
        prev = target
    return Swaps(zfo, ints_to_limbs(specified), ints_to_limbs(limits))


def _fee_growth_inside(ticks: np.ndarray, outside0: list[int], outside1: list[int], lower: int, upper: int,
                       tick: int, g0: int, g1: int) -> tuple[int, int]:
    """Tick.getFeeGrowthInside over the replay's tick arrays (all mod 2**256)."""
    m = (1 << 256) - 1
    idx = {int(t): i for i, t in enumerate(ticks)}
    lo_i, hi_i = idx[lower], idx[upper]
    if tick >= lower:
        b0, b1 = outside0[lo_i], outside1[lo_i]
    else:
        b0, b1 = (g0 - outside0[lo_i]) & m, (g1 - outside1[lo_i]) & m
    if tick < upper:
        a0, a1 = outside0[hi_i], outside1[hi_i]
    else:
        a0, a1 = (g0 - outside0[hi_i]) & m, (g1 - outside1[hi_i]) & m
    return (g0 - b0 - a0) & m, (g1 - b1 - a1) & m


def exact_replay(pool: Pool, tick_lower: int, tick_upper: int, liquidity: int, swaps: Swaps) -> ReplayResult:
    """Mint ``liquidity`` on ``[tick_lower, tick_upper]`` into a copy of ``pool``, replay ``swaps``
    with the compiled exact kernel, and return the position's exact fees and amounts."""
    work = pool.copy()
    mint0, mint1 = work.mint(REPLAY_OWNER, tick_lower, tick_upper, liquidity)
    pos = work.position(REPLAY_OWNER, tick_lower, tick_upper)
    out = replay_swaps(work, swaps.zero_for_one, swaps.amount_specified, swaps.sqrt_price_limit_x96)
    final = out["final"]
    outside0 = limbs_to_ints(out["fee_growth_outside0_x128"])
    outside1 = limbs_to_ints(out["fee_growth_outside1_x128"])
    in0, in1 = _fee_growth_inside(out["ticks"], outside0, outside1, tick_lower, tick_upper, final["tick"],
                                  final["fee_growth_global0_x128"], final["fee_growth_global1_x128"])
    m = (1 << 256) - 1
    fees0 = mul_div((in0 - pos.fee_growth_inside0_last_x128) & m, liquidity, Q128) & ((1 << 128) - 1)
    fees1 = mul_div((in1 - pos.fee_growth_inside1_last_x128) & m, liquidity, Q128) & ((1 << 128) - 1)
    amount0, amount1 = get_amounts_for_liquidity(
        final["sqrt_price_x96"], get_sqrt_ratio_at_tick(tick_lower), get_sqrt_ratio_at_tick(tick_upper), liquidity
    )
    n_reverted = int(np.count_nonzero(out["error"] != ERR_OK))
    return ReplayResult(fees0, fees1, amount0, amount1, mint0, mint1, len(swaps.zero_for_one), n_reverted,
                        final["sqrt_price_x96"], final["tick"], out)
