"""Exact-tier amounts for transactions: slippage minima, burn proceeds, fees owed, ratio swaps.

All Python ints with the contracts' rounding, built on :mod:`asymlp_core.v3`. Slippage is in
basis points (``50`` = 0.5 %).

Minimum amounts follow the Uniswap v3-sdk (``Position.mintAmountsWithSlippage`` and
``burnAmountsWithSlippage``): the pool price is shifted by the tolerance both ways
(``price x (1 - s)`` and ``price x (1 + s)``, back to a sqrt price with
``floor(sqrt(price x 2**192))``, clamped inside ``(MIN_SQRT_RATIO, MAX_SQRT_RATIO)``); the
liquidity the position manager will actually mint is computed from the desired amounts
(``LiquidityAmounts.getLiquidityForAmounts``, as the periphery does); then each token's minimum
is that liquidity's amount at the price that is adverse for it — token0 at the upper price,
token1 at the lower price — rounded up for a mint (``SqrtPriceMath`` with ``roundUp``) and down
for a burn, the tick of each counterfactual price being ``getTickAtSqrtRatio`` of it.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from asymlp_core.v3 import (
    MAX_SQRT_RATIO,
    MIN_SQRT_RATIO,
    Q128,
    compute_swap_step,
    get_amount0_delta,
    get_amount1_delta,
    get_liquidity_for_amounts,
    get_sqrt_ratio_at_tick,
    get_tick_at_sqrt_ratio,
    mul_div,
)

__all__ = [
    "BPS",
    "MintPlan",
    "burn_amounts",
    "burn_amounts_with_slippage",
    "fee_growth_inside",
    "fees_owed",
    "mint_amounts",
    "mint_amounts_with_slippage",
    "plan_mint",
    "ratio_swap_amount",
    "ratios_after_slippage",
    "swap_price_limit",
]

BPS = 10_000
_U256 = 2**256
_U128_MAX = 2**128 - 1


def _check_bps(slippage_bps: int) -> None:
    if not 0 < slippage_bps < BPS:
        raise ValueError(f"slippage_bps must be in (0, {BPS}), got {slippage_bps}")


def mint_amounts(
    sqrt_price_x96: int, tick: int, tick_lower: int, tick_upper: int, liquidity: int
) -> tuple[int, int]:
    """What ``UniswapV3Pool.mint`` pulls for ``liquidity`` (rounded up), below/inside/above decided
    on ``tick`` as the pool does."""
    sa, sb = get_sqrt_ratio_at_tick(tick_lower), get_sqrt_ratio_at_tick(tick_upper)
    if tick < tick_lower:
        return get_amount0_delta(sa, sb, liquidity, True), 0
    if tick < tick_upper:
        return get_amount0_delta(sqrt_price_x96, sb, liquidity, True), get_amount1_delta(
            sa, sqrt_price_x96, liquidity, True
        )
    return 0, get_amount1_delta(sa, sb, liquidity, True)


def burn_amounts(
    sqrt_price_x96: int, tick: int, tick_lower: int, tick_upper: int, liquidity: int
) -> tuple[int, int]:
    """What ``UniswapV3Pool.burn`` credits for ``liquidity`` (rounded down)."""
    sa, sb = get_sqrt_ratio_at_tick(tick_lower), get_sqrt_ratio_at_tick(tick_upper)
    if tick < tick_lower:
        return get_amount0_delta(sa, sb, liquidity, False), 0
    if tick < tick_upper:
        return get_amount0_delta(sqrt_price_x96, sb, liquidity, False), get_amount1_delta(
            sa, sqrt_price_x96, liquidity, False
        )
    return 0, get_amount1_delta(sa, sb, liquidity, False)


def ratios_after_slippage(sqrt_price_x96: int, slippage_bps: int) -> tuple[int, int]:
    """``(sqrt price at price x (1 - s), sqrt price at price x (1 + s))``, clamped strictly inside
    the pool's sqrt-price domain (the v3-sdk's ``ratiosAfterSlippage``)."""
    _check_bps(slippage_bps)
    p2 = sqrt_price_x96 * sqrt_price_x96
    lower = math.isqrt(p2 * (BPS - slippage_bps) // BPS)
    upper = math.isqrt(p2 * (BPS + slippage_bps) // BPS)
    if lower <= MIN_SQRT_RATIO:
        lower = MIN_SQRT_RATIO + 1
    if upper >= MAX_SQRT_RATIO:
        upper = MAX_SQRT_RATIO - 1
    return lower, upper


class MintPlan(NamedTuple):
    """A mint as the position manager will execute it at the current price.

    ``liquidity``: what the NPM mints for the desired amounts; ``amount0/1``: what the pool
    pulls for it; ``amount0_min/1_min``: the slippage minima.
    """

    liquidity: int
    amount0: int
    amount1: int
    amount0_min: int
    amount1_min: int


def mint_amounts_with_slippage(
    sqrt_price_x96: int,
    tick_lower: int,
    tick_upper: int,
    amount0_desired: int,
    amount1_desired: int,
    slippage_bps: int,
) -> tuple[int, int]:
    """Minimum amounts for ``mint``/``increaseLiquidity`` (see the module docstring)."""
    return plan_mint(sqrt_price_x96, None, tick_lower, tick_upper, amount0_desired, amount1_desired,
                     slippage_bps)[3:]  # fmt: skip


def plan_mint(
    sqrt_price_x96: int,
    tick: int | None,
    tick_lower: int,
    tick_upper: int,
    amount0_desired: int,
    amount1_desired: int,
    slippage_bps: int,
) -> MintPlan:
    """The exact mint (liquidity, amounts pulled) and its slippage minima at ``sqrt_price_x96``.

    ``tick`` is the pool's ``slot0.tick`` (defaults to ``getTickAtSqrtRatio`` of the price).
    """
    sa, sb = get_sqrt_ratio_at_tick(tick_lower), get_sqrt_ratio_at_tick(tick_upper)
    if tick is None:
        tick = get_tick_at_sqrt_ratio(sqrt_price_x96)
    liquidity = get_liquidity_for_amounts(sqrt_price_x96, sa, sb, amount0_desired, amount1_desired)
    amount0, amount1 = mint_amounts(sqrt_price_x96, tick, tick_lower, tick_upper, liquidity)
    lower, upper = ratios_after_slippage(sqrt_price_x96, slippage_bps)
    min0 = mint_amounts(upper, get_tick_at_sqrt_ratio(upper), tick_lower, tick_upper, liquidity)[0]
    min1 = mint_amounts(lower, get_tick_at_sqrt_ratio(lower), tick_lower, tick_upper, liquidity)[1]
    return MintPlan(liquidity, amount0, amount1, min0, min1)


def burn_amounts_with_slippage(
    sqrt_price_x96: int, tick_lower: int, tick_upper: int, liquidity: int, slippage_bps: int
) -> tuple[int, int]:
    """Minimum amounts for ``decreaseLiquidity`` (the v3-sdk's ``burnAmountsWithSlippage``)."""
    lower, upper = ratios_after_slippage(sqrt_price_x96, slippage_bps)
    min0 = burn_amounts(upper, get_tick_at_sqrt_ratio(upper), tick_lower, tick_upper, liquidity)[0]
    min1 = burn_amounts(lower, get_tick_at_sqrt_ratio(lower), tick_lower, tick_upper, liquidity)[1]
    return min0, min1


def fee_growth_inside(
    tick: int,
    tick_lower: int,
    tick_upper: int,
    lower_outside: tuple[int, int],
    upper_outside: tuple[int, int],
    fee_growth_global: tuple[int, int],
) -> tuple[int, int]:
    """``Tick.getFeeGrowthInside`` (Q128.128, modulo 2**256 as the contract's unchecked math)."""
    out: list[int] = []
    for i in (0, 1):
        below = lower_outside[i] if tick >= tick_lower else (fee_growth_global[i] - lower_outside[i]) % _U256
        above = upper_outside[i] if tick < tick_upper else (fee_growth_global[i] - upper_outside[i]) % _U256
        out.append((fee_growth_global[i] - below - above) % _U256)
    return out[0], out[1]


def fees_owed(
    liquidity: int,
    tokens_owed: tuple[int, int],
    fee_growth_inside_last: tuple[int, int],
    fee_growth_inside_now: tuple[int, int],
) -> tuple[int, int]:
    """What the position manager's ``collect`` pays for one NFT: its ``tokensOwed`` plus the fee
    growth since its last update times its liquidity (``mulDiv(.., Q128)``, uint128 wraps)."""
    out: list[int] = []
    for i in (0, 1):
        delta = (fee_growth_inside_now[i] - fee_growth_inside_last[i]) % _U256
        out.append((tokens_owed[i] + (mul_div(delta, liquidity, Q128) & _U128_MAX)) & _U128_MAX)
    return out[0], out[1]


def swap_price_limit(sqrt_price_x96: int, zero_for_one: bool, slippage_bps: int) -> int:
    """``sqrtPriceLimitX96`` for a swap: the price moved by the tolerance in the swap's direction."""
    lower, upper = ratios_after_slippage(sqrt_price_x96, slippage_bps)
    return lower if zero_for_one else upper


def ratio_swap_amount(
    sqrt_price_x96: int,
    pool_liquidity: int,
    fee_pips: int,
    tick_lower: int,
    tick_upper: int,
    amount0: int,
    amount1: int,
) -> tuple[bool, int]:
    """``(zero_for_one, amount_in)``: the exact-input swap after which ``amount0``/``amount1``
    have the ratio the range ``[tick_lower, tick_upper)`` takes at the post-swap price.

    The swap is modelled as one ``SwapMath.computeSwapStep`` at the pool's active liquidity
    (exact while it crosses no initialized tick); the largest input that does not overshoot the
    ratio is found by bisection. A range entirely above (below) the price takes token0
    (token1) only. ``amount_in`` is 0 when the holdings already fit.
    """
    sa, sb = get_sqrt_ratio_at_tick(tick_lower), get_sqrt_ratio_at_tick(tick_upper)
    unit = 1 << 100

    def excess0(sp: int, b0: int, b1: int) -> int:
        # > 0: too much token0 for the range at price sp
        if sp <= sa:
            return -b1 if b1 else 0  # range takes token0 only: any token1 is excess
        if sp >= sb:
            return b0
        need0 = get_amount0_delta(sp, sb, unit, False)
        need1 = get_amount1_delta(sa, sp, unit, False)
        return b0 * need1 - b1 * need0

    e = excess0(sqrt_price_x96, amount0, amount1)
    if e == 0 or pool_liquidity == 0:
        return True, 0
    zero_for_one = e > 0
    budget = amount0 if zero_for_one else amount1
    target = MIN_SQRT_RATIO + 1 if zero_for_one else MAX_SQRT_RATIO - 1

    def after(x: int) -> int:
        if x == 0:
            return e
        sp_next, used_in, out, fee = compute_swap_step(sqrt_price_x96, target, pool_liquidity, x, fee_pips)
        spent = used_in + fee
        if zero_for_one:
            return excess0(sp_next, amount0 - spent, amount1 + out)
        return excess0(sp_next, amount0 + out, amount1 - spent)

    sign = 1 if zero_for_one else -1
    ok, bad = 0, budget + 1  # sign * after(ok) >= 0 > sign * after(bad) (or bad past the budget)
    if sign * after(budget) >= 0:
        return zero_for_one, budget
    bad = budget
    while bad - ok > 1:
        mid = (ok + bad) // 2
        if sign * after(mid) >= 0:
            ok = mid
        else:
            bad = mid
    return zero_for_one, ok
