"""LiquidityAmounts (Python-int reference of ``v3-periphery/contracts/libraries/LiquidityAmounts.sol``).

Liquidity from token amounts (rounded down, so that minting never asks for more than the
amounts given) and token amounts from liquidity (rounded down, the value a position holds).
"""

from __future__ import annotations

from ._types import require_uint, to_uint128
from .full_math import mul_div
from .sqrt_price_math import Q96


def _sorted(a: int, b: int) -> tuple[int, int]:
    return (b, a) if a > b else (a, b)


def get_liquidity_for_amount0(sqrt_a_x96: int, sqrt_b_x96: int, amount0: int) -> int:
    """``amount0 * (sqrtA * sqrtB / 2**96) / (sqrtB - sqrtA)``, rounded down."""
    sqrt_a_x96, sqrt_b_x96 = _sorted(sqrt_a_x96, sqrt_b_x96)
    intermediate = mul_div(sqrt_a_x96, sqrt_b_x96, Q96)
    return to_uint128(mul_div(amount0, intermediate, sqrt_b_x96 - sqrt_a_x96))


def get_liquidity_for_amount1(sqrt_a_x96: int, sqrt_b_x96: int, amount1: int) -> int:
    """``amount1 * 2**96 / (sqrtB - sqrtA)``, rounded down."""
    sqrt_a_x96, sqrt_b_x96 = _sorted(sqrt_a_x96, sqrt_b_x96)
    return to_uint128(mul_div(amount1, Q96, sqrt_b_x96 - sqrt_a_x96))


def get_liquidity_for_amounts(
    sqrt_price_x96: int, sqrt_a_x96: int, sqrt_b_x96: int, amount0: int, amount1: int
) -> int:
    """The most liquidity that ``amount0`` and ``amount1`` can back in ``[sqrtA, sqrtB]``.

    This is what NonfungiblePositionManager mints for desired amounts.
    """
    for name, value in (
        ("sqrt_price_x96", sqrt_price_x96),
        ("sqrt_a_x96", sqrt_a_x96),
        ("sqrt_b_x96", sqrt_b_x96),
    ):
        require_uint(value, 160, name)
    require_uint(amount0, 256, "amount0")
    require_uint(amount1, 256, "amount1")
    sqrt_a_x96, sqrt_b_x96 = _sorted(sqrt_a_x96, sqrt_b_x96)
    if sqrt_price_x96 <= sqrt_a_x96:
        return get_liquidity_for_amount0(sqrt_a_x96, sqrt_b_x96, amount0)
    if sqrt_price_x96 < sqrt_b_x96:
        liquidity0 = get_liquidity_for_amount0(sqrt_price_x96, sqrt_b_x96, amount0)
        liquidity1 = get_liquidity_for_amount1(sqrt_a_x96, sqrt_price_x96, amount1)
        return min(liquidity0, liquidity1)
    return get_liquidity_for_amount1(sqrt_a_x96, sqrt_b_x96, amount1)


def get_amount0_for_liquidity(sqrt_a_x96: int, sqrt_b_x96: int, liquidity: int) -> int:
    """Token0 held by ``liquidity`` over ``[sqrtA, sqrtB]``, rounded down."""
    sqrt_a_x96, sqrt_b_x96 = _sorted(sqrt_a_x96, sqrt_b_x96)
    return mul_div(liquidity << 96, sqrt_b_x96 - sqrt_a_x96, sqrt_b_x96) // sqrt_a_x96


def get_amount1_for_liquidity(sqrt_a_x96: int, sqrt_b_x96: int, liquidity: int) -> int:
    """Token1 held by ``liquidity`` over ``[sqrtA, sqrtB]``, rounded down."""
    sqrt_a_x96, sqrt_b_x96 = _sorted(sqrt_a_x96, sqrt_b_x96)
    return mul_div(liquidity, sqrt_b_x96 - sqrt_a_x96, Q96)


def get_amounts_for_liquidity(
    sqrt_price_x96: int, sqrt_a_x96: int, sqrt_b_x96: int, liquidity: int
) -> tuple[int, int]:
    """Token amounts ``(amount0, amount1)`` that ``liquidity`` holds at ``sqrt_price_x96``."""
    for name, value in (
        ("sqrt_price_x96", sqrt_price_x96),
        ("sqrt_a_x96", sqrt_a_x96),
        ("sqrt_b_x96", sqrt_b_x96),
    ):
        require_uint(value, 160, name)
    require_uint(liquidity, 128, "liquidity")
    sqrt_a_x96, sqrt_b_x96 = _sorted(sqrt_a_x96, sqrt_b_x96)
    if sqrt_price_x96 <= sqrt_a_x96:
        return get_amount0_for_liquidity(sqrt_a_x96, sqrt_b_x96, liquidity), 0
    if sqrt_price_x96 < sqrt_b_x96:
        return (
            get_amount0_for_liquidity(sqrt_price_x96, sqrt_b_x96, liquidity),
            get_amount1_for_liquidity(sqrt_a_x96, sqrt_price_x96, liquidity),
        )
    return 0, get_amount1_for_liquidity(sqrt_a_x96, sqrt_b_x96, liquidity)
