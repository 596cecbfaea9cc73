"""Uniswap V3 arithmetic: the exact tier (Python ints, bit-for-bit with the contracts).

Mirrors ``@uniswap/v3-core`` 1.0.1 and ``@uniswap/v3-periphery`` 1.4.4: one module per
contract library (``full_math``, ``tick_math``, ``sqrt_price_math``, ``swap_math``,
``liquidity_math``, ``liquidity_amounts``, ``tick_bitmap``) and the pool state machine
apart (``pool``).  Arguments follow the contracts' order; every revert raises
:class:`V3Error` with the contract's reason string.

The same arithmetic compiled with Numba over fixed-width limbs lives in
:mod:`asymlp_core.v3.nb`; float64 research kernels in :mod:`asymlp_core.v3.float_math`.
"""

from .errors import V3Error
from .full_math import div_rounding_up, mul_div, mul_div_rounding_up
from .liquidity_amounts import (
    get_amount0_for_liquidity,
    get_amount1_for_liquidity,
    get_amounts_for_liquidity,
    get_liquidity_for_amount0,
    get_liquidity_for_amount1,
    get_liquidity_for_amounts,
)
from .liquidity_math import add_delta
from .pool import (
    FEE_TIER_TICK_SPACING,
    Pool,
    PositionInfo,
    TickInfo,
    tick_spacing_to_max_liquidity_per_tick,
)
from .sqrt_price_math import (
    Q96,
    Q128,
    get_amount0_delta,
    get_amount0_delta_signed,
    get_amount1_delta,
    get_amount1_delta_signed,
    get_next_sqrt_price_from_amount0_rounding_up,
    get_next_sqrt_price_from_amount1_rounding_down,
    get_next_sqrt_price_from_input,
    get_next_sqrt_price_from_output,
)
from .swap_math import FEE_DENOMINATOR, compute_swap_step
from .tick_bitmap import flip_tick, next_initialized_tick_within_one_word
from .tick_math import (
    MAX_SQRT_RATIO,
    MAX_TICK,
    MIN_SQRT_RATIO,
    MIN_TICK,
    get_sqrt_ratio_at_tick,
    get_tick_at_sqrt_ratio,
)

__all__ = [
    "FEE_DENOMINATOR",
    "FEE_TIER_TICK_SPACING",
    "MAX_SQRT_RATIO",
    "MAX_TICK",
    "MIN_SQRT_RATIO",
    "MIN_TICK",
    "Q96",
    "Q128",
    "Pool",
    "PositionInfo",
    "TickInfo",
    "V3Error",
    "add_delta",
    "compute_swap_step",
    "div_rounding_up",
    "flip_tick",
    "get_amount0_delta",
    "get_amount0_delta_signed",
    "get_amount0_for_liquidity",
    "get_amount1_delta",
    "get_amount1_delta_signed",
    "get_amount1_for_liquidity",
    "get_amounts_for_liquidity",
    "get_liquidity_for_amount0",
    "get_liquidity_for_amount1",
    "get_liquidity_for_amounts",
    "get_next_sqrt_price_from_amount0_rounding_up",
    "get_next_sqrt_price_from_amount1_rounding_down",
    "get_next_sqrt_price_from_input",
    "get_next_sqrt_price_from_output",
    "get_sqrt_ratio_at_tick",
    "get_tick_at_sqrt_ratio",
    "mul_div",
    "mul_div_rounding_up",
    "next_initialized_tick_within_one_word",
    "tick_spacing_to_max_liquidity_per_tick",
]

# The compiled tier is loaded on first use (importing Numba costs a second).
_NB_EXPORTS = ("replay_swaps", "ints_to_limbs", "limbs_to_ints", "ERROR_REASONS", "error_reason")


def __getattr__(name: str):
    if name in _NB_EXPORTS:
        from . import nb

        return getattr(nb, name)
    raise AttributeError(f"module 'asymlp_core.v3' has no attribute {name!r}")
