"""SqrtPriceMath: token amounts between prices and the next price after an amount.

Mirrors ``v3-core/contracts/libraries/SqrtPriceMath.sol`` (Python-int reference).
Sqrt prices are Q64.96 uint160, liquidity uint128, amounts uint256 in raw token units.
Rounding always favours the pool: amounts the pool receives round up, amounts it pays
round down, and the next price moves so that the trader never gets more than paid for.
"""

from __future__ import annotations

from ._types import MAX_UINT160, MAX_UINT256, require_int, require_uint, to_int256, to_uint160
from .errors import V3Error
from .full_math import div_rounding_up, mul_div, mul_div_rounding_up

#: 2**96, the Q64.96 unit.
Q96 = 1 << 96
#: 2**128, the Q128.128 unit of fee growth.
Q128 = 1 << 128
_RESOLUTION = 96


def get_next_sqrt_price_from_amount0_rounding_up(
    sqrt_price_x96: int, liquidity: int, amount: int, add: bool
) -> int:
    """Next sqrt price after adding (``add``) or removing ``amount`` of token0, rounded up.

    Formula ``L * sqrtP / (L +- amount * sqrtP)``, with the contract's fallback
    ``L / (L / sqrtP +- amount)`` when the product overflows 256 bits.
    """
    if amount == 0:
        return sqrt_price_x96
    numerator1 = liquidity << _RESOLUTION
    product = amount * sqrt_price_x96
    product_fits = product <= MAX_UINT256
    if add:
        if product_fits:
            denominator = numerator1 + product
            if denominator <= MAX_UINT256:  # the contract's `denominator >= numerator1`
                return mul_div_rounding_up(numerator1, sqrt_price_x96, denominator) & MAX_UINT160
        # LowGasSafeMath.add reverts when numerator1 / sqrtP + amount overflows uint256.
        summed = numerator1 // sqrt_price_x96 + amount
        if summed > MAX_UINT256:
            raise V3Error("", "SqrtPriceMath: numerator1 / sqrtP + amount overflows")
        return div_rounding_up(numerator1, summed) & MAX_UINT160
    if not product_fits or numerator1 <= product:
        raise V3Error("", "SqrtPriceMath: amount0 out exceeds the virtual reserve")
    denominator = numerator1 - product
    return to_uint160(mul_div_rounding_up(numerator1, sqrt_price_x96, denominator))


def get_next_sqrt_price_from_amount1_rounding_down(
    sqrt_price_x96: int, liquidity: int, amount: int, add: bool
) -> int:
    """Next sqrt price after adding (``add``) or removing ``amount`` of token1, rounded down.

    Formula ``sqrtP +- amount / L``.
    """
    if add:
        if amount <= MAX_UINT160:
            quotient = (amount << _RESOLUTION) // liquidity
        else:
            quotient = mul_div(amount, Q96, liquidity)
        total = sqrt_price_x96 + quotient
        if total > MAX_UINT256:
            raise V3Error("", "LowGasSafeMath add overflow")
        return to_uint160(total)
    if amount <= MAX_UINT160:
        quotient = div_rounding_up(amount << _RESOLUTION, liquidity)
    else:
        quotient = mul_div_rounding_up(amount, Q96, liquidity)
    if sqrt_price_x96 <= quotient:
        raise V3Error("", "SqrtPriceMath: amount1 out exceeds the virtual reserve")
    return sqrt_price_x96 - quotient


def get_next_sqrt_price_from_input(
    sqrt_price_x96: int, liquidity: int, amount_in: int, zero_for_one: bool
) -> int:
    """Next sqrt price after swapping ``amount_in`` into the pool (rounded against the trader)."""
    require_uint(sqrt_price_x96, 160, "sqrt_price_x96")
    require_uint(liquidity, 128, "liquidity")
    require_uint(amount_in, 256, "amount_in")
    if sqrt_price_x96 == 0:
        raise V3Error("", "SqrtPriceMath: sqrt price is 0")
    if liquidity == 0:
        raise V3Error("", "SqrtPriceMath: liquidity is 0")
    if zero_for_one:
        return get_next_sqrt_price_from_amount0_rounding_up(sqrt_price_x96, liquidity, amount_in, True)
    return get_next_sqrt_price_from_amount1_rounding_down(sqrt_price_x96, liquidity, amount_in, True)


def get_next_sqrt_price_from_output(
    sqrt_price_x96: int, liquidity: int, amount_out: int, zero_for_one: bool
) -> int:
    """Next sqrt price after taking ``amount_out`` out of the pool (rounded against the trader)."""
    require_uint(sqrt_price_x96, 160, "sqrt_price_x96")
    require_uint(liquidity, 128, "liquidity")
    require_uint(amount_out, 256, "amount_out")
    if sqrt_price_x96 == 0:
        raise V3Error("", "SqrtPriceMath: sqrt price is 0")
    if liquidity == 0:
        raise V3Error("", "SqrtPriceMath: liquidity is 0")
    if zero_for_one:
        return get_next_sqrt_price_from_amount1_rounding_down(
            sqrt_price_x96, liquidity, amount_out, False
        )
    return get_next_sqrt_price_from_amount0_rounding_up(sqrt_price_x96, liquidity, amount_out, False)


def get_amount0_delta(sqrt_a_x96: int, sqrt_b_x96: int, liquidity: int, round_up: bool) -> int:
    """Token0 between two sqrt prices for ``liquidity``: ``L * (sqrtB - sqrtA) / (sqrtA * sqrtB)``.

    Rounded up (``round_up=True``, what the pool receives) or down (what it pays).
    Reverts (bare) when the lower sqrt price is 0.
    """
    require_uint(sqrt_a_x96, 160, "sqrt_a_x96")
    require_uint(sqrt_b_x96, 160, "sqrt_b_x96")
    require_uint(liquidity, 128, "liquidity")
    if sqrt_a_x96 > sqrt_b_x96:
        sqrt_a_x96, sqrt_b_x96 = sqrt_b_x96, sqrt_a_x96
    numerator1 = liquidity << _RESOLUTION
    numerator2 = sqrt_b_x96 - sqrt_a_x96
    if sqrt_a_x96 == 0:
        raise V3Error("", "SqrtPriceMath.getAmount0Delta: sqrt price is 0")
    if round_up:
        return div_rounding_up(mul_div_rounding_up(numerator1, numerator2, sqrt_b_x96), sqrt_a_x96)
    return mul_div(numerator1, numerator2, sqrt_b_x96) // sqrt_a_x96


def get_amount1_delta(sqrt_a_x96: int, sqrt_b_x96: int, liquidity: int, round_up: bool) -> int:
    """Token1 between two sqrt prices for ``liquidity``: ``L * (sqrtB - sqrtA) / 2**96``, rounded."""
    require_uint(sqrt_a_x96, 160, "sqrt_a_x96")
    require_uint(sqrt_b_x96, 160, "sqrt_b_x96")
    require_uint(liquidity, 128, "liquidity")
    if sqrt_a_x96 > sqrt_b_x96:
        sqrt_a_x96, sqrt_b_x96 = sqrt_b_x96, sqrt_a_x96
    if round_up:
        return mul_div_rounding_up(liquidity, sqrt_b_x96 - sqrt_a_x96, Q96)
    return mul_div(liquidity, sqrt_b_x96 - sqrt_a_x96, Q96)


def get_amount0_delta_signed(sqrt_a_x96: int, sqrt_b_x96: int, liquidity: int) -> int:
    """Signed token0 delta for a signed int128 liquidity change.

    Positive liquidity (added): the amount owed to the pool, rounded up.  Negative
    (removed): minus the amount paid out, rounded down.
    """
    require_int(liquidity, 128, "liquidity")
    if liquidity < 0:
        return -to_int256(get_amount0_delta(sqrt_a_x96, sqrt_b_x96, -liquidity, False))
    return to_int256(get_amount0_delta(sqrt_a_x96, sqrt_b_x96, liquidity, True))


def get_amount1_delta_signed(sqrt_a_x96: int, sqrt_b_x96: int, liquidity: int) -> int:
    """Signed token1 delta for a signed int128 liquidity change (see the token0 form)."""
    require_int(liquidity, 128, "liquidity")
    if liquidity < 0:
        return -to_int256(get_amount1_delta(sqrt_a_x96, sqrt_b_x96, -liquidity, False))
    return to_int256(get_amount1_delta(sqrt_a_x96, sqrt_b_x96, liquidity, True))
