"""Asymmetric Uniswap V3 ranges from market-making quotes, and liquidity for a budget.

Conventions: ``price`` is token1 per token0 in raw units as the pool defines it
(``price = 1.0001**tick``); token0 is the risky asset in examples (WETH), token1 the
numeraire.  Inventory ``q`` is signed token0 relative to target.

Mapping from a quote model to a range: the part of a range below the price buys token0 as
the price falls (a bid ladder), the part above sells it (an ask ladder).  So ``r - delta_bid``
gives the lower bound, ``r + delta_ask`` the upper, and the inventory skew then moves width to
the side that sheds the excess (long token0 -> above).  Details in :mod:`.nb`.

Kernels (``@njit``, callable from other kernels) live in :mod:`asymlp_core.ranges.nb`; the
validated Python API is re-exported here.
"""

from asymlp_core.ranges.api import (
    MAX_PRICE,
    MAX_TICK_SPACING,
    MIN_PRICE,
    ExactAllocation,
    FloatAllocation,
    TickRange,
    asymmetric_range,
    asymmetric_range_1d,
    liquidity_for_budget,
    liquidity_for_budget_exact,
)
from asymlp_core.ranges.nb import (
    LN_TICK_BASE,
    MAX_TICK,
    MIN_TICK,
    aligned_width_limits,
    asymmetric_range_ticks,
    asymmetric_range_ticks_1d,
    asymmetric_range_ticks_prepared,
    position_amounts,
    position_value,
    price_to_tick_float,
    tick_to_price,
    tick_to_sqrt_price,
    usable_tick_bounds,
)

__all__ = [
    "LN_TICK_BASE",
    "MAX_PRICE",
    "MAX_TICK",
    "MAX_TICK_SPACING",
    "MIN_PRICE",
    "MIN_TICK",
    "ExactAllocation",
    "FloatAllocation",
    "TickRange",
    "aligned_width_limits",
    "asymmetric_range",
    "asymmetric_range_1d",
    "asymmetric_range_ticks",
    "asymmetric_range_ticks_1d",
    "asymmetric_range_ticks_prepared",
    "liquidity_for_budget",
    "liquidity_for_budget_exact",
    "position_amounts",
    "position_value",
    "price_to_tick_float",
    "tick_to_price",
    "tick_to_sqrt_price",
    "usable_tick_bounds",
]
