"""A short tour of the exact tier on embedded defaults: a range for a budget, what it holds,
and a swap against it.  Runs offline with no keys."""

from __future__ import annotations

import math

from asymlp_core.v3 import (
    FEE_TIER_TICK_SPACING,
    MAX_SQRT_RATIO,
    MIN_SQRT_RATIO,
    Pool,
    get_amounts_for_liquidity,
    get_liquidity_for_amounts,
    get_sqrt_ratio_at_tick,
)

DECIMALS0 = 18  # token0: a WETH-like asset
DECIMALS1 = 6  # token1: a USDC-like asset


def human_price_to_tick(price: float) -> int:
    """Tick of a human price (token1 per token0, decimals applied), floored."""
    raw = price * 10**DECIMALS1 / 10**DECIMALS0
    return math.floor(math.log(raw) / math.log(1.0001))


def tick_to_human_price(tick: int) -> float:
    return 1.0001**tick * 10**DECIMALS0 / 10**DECIMALS1


def run_demo(price: float = 3000.0, budget_usd: float = 10_000.0, width_pct: float = 5.0) -> dict:
    """Mint a +-width_pct range worth ``budget_usd`` into a 0.3% pool, swap through it, collect.

    Returns the figures it prints, so tests can check them.
    """
    fee = 3000
    spacing = FEE_TIER_TICK_SPACING[fee]
    tick = human_price_to_tick(price)
    pool = Pool(fee, spacing)
    pool.initialize(get_sqrt_ratio_at_tick(tick))

    # Background liquidity from other LPs, wide around the price.
    lower_bg = (tick - 6000) // spacing * spacing
    upper_bg = -((-(tick + 6000)) // spacing) * spacing
    pool.mint("others", lower_bg, upper_bg, 10**17)

    # Our range: +-width_pct around the price, aligned outward to the spacing.
    lower = human_price_to_tick(price * (1 - width_pct / 100)) // spacing * spacing
    upper = -(-human_price_to_tick(price * (1 + width_pct / 100)) // spacing) * spacing
    sqrt_p, sqrt_a, sqrt_b = pool.sqrt_price_x96, get_sqrt_ratio_at_tick(lower), get_sqrt_ratio_at_tick(upper)
    # Split the budget in the proportion the range holds at this price (amounts per unit L).
    unit = 10**18
    a0, a1 = get_amounts_for_liquidity(sqrt_p, sqrt_a, sqrt_b, unit)
    value_per_unit = a0 / 10**DECIMALS0 * price + a1 / 10**DECIMALS1
    scale = budget_usd / value_per_unit
    amount0_desired = int(a0 * scale)
    amount1_desired = int(a1 * scale)
    liquidity = get_liquidity_for_amounts(sqrt_p, sqrt_a, sqrt_b, amount0_desired, amount1_desired)
    paid0, paid1 = pool.mint("us", lower, upper, liquidity)

    print("asymlp demo: exact Uniswap V3 arithmetic (0.30% pool, WETH/USDC-like, offline)")
    print(f"  pool price            {tick_to_human_price(pool.tick):,.2f} USDC/WETH (tick {pool.tick})")
    print(f"  our range             [{tick_to_human_price(lower):,.2f}, {tick_to_human_price(upper):,.2f}]"
          f" ticks [{lower}, {upper}]")
    print(f"  budget                {budget_usd:,.2f} USDC -> liquidity {liquidity}")
    print(f"  deposited             {paid0 / 10**DECIMALS0:.6f} WETH + {paid1 / 10**DECIMALS1:,.6f} USDC"
          f"  (raw {paid0}, {paid1})")

    # A trader sells 2 WETH into the pool (exact input), then buys 1 WETH back (exact output).
    sell0, sell1 = pool.swap(True, 2 * 10**18, MIN_SQRT_RATIO + 1)
    print(f"  swap sell 2 WETH      pool deltas ({sell0}, {sell1}) -> price {tick_to_human_price(pool.tick):,.2f}")
    buy0, buy1 = pool.swap(False, -(10**18), MAX_SQRT_RATIO - 1)
    print(f"  swap buy 1 WETH       pool deltas ({buy0}, {buy1}) -> price {tick_to_human_price(pool.tick):,.2f}")

    held0, held1 = get_amounts_for_liquidity(pool.sqrt_price_x96, sqrt_a, sqrt_b, liquidity)
    pool.burn("us", lower, upper, 0)  # poke: credit fees to tokens owed
    pos = pool.position("us", lower, upper)
    print(f"  range now holds       {held0 / 10**DECIMALS0:.6f} WETH + {held1 / 10**DECIMALS1:,.6f} USDC")
    print(f"  fees owed             {pos.tokens_owed0 / 10**DECIMALS0:.9f} WETH + "
          f"{pos.tokens_owed1 / 10**DECIMALS1:,.6f} USDC  (raw {pos.tokens_owed0}, {pos.tokens_owed1})")
    return {
        "liquidity": liquidity,
        "paid": (paid0, paid1),
        "swaps": ((sell0, sell1), (buy0, buy1)),
        "held": (held0, held1),
        "fees_owed": (pos.tokens_owed0, pos.tokens_owed1),
        "range": (lower, upper),
    }
