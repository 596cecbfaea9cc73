"""SwapMath.computeSwapStep (Python-int reference of ``v3-core/contracts/libraries/SwapMath.sol``)."""

from __future__ import annotations

from ._types import require_int, require_uint
from .full_math import mul_div, mul_div_rounding_up
from .sqrt_price_math import (
    get_amount0_delta,
    get_amount1_delta,
    get_next_sqrt_price_from_input,
    get_next_sqrt_price_from_output,
)

#: Fees are in hundredths of a basis point (pips): 3000 = 0.3%.
FEE_DENOMINATOR = 1_000_000


def compute_swap_step(
    sqrt_price_current_x96: int,
    sqrt_price_target_x96: int,
    liquidity: int,
    amount_remaining: int,
    fee_pips: int,
) -> tuple[int, int, int, int]:
    """One step of a swap within a single tick range.

    Parameters
    ----------
    sqrt_price_current_x96, sqrt_price_target_x96:
        Q64.96 sqrt prices; the direction is ``current >= target`` (token0 in).
    liquidity:
        Active liquidity (uint128).
    amount_remaining:
        int256: positive for exact input (what is left to pay in, fee included),
        negative for exact output (minus what is left to take out).
    fee_pips:
        The pool fee in pips (uint24, < 1e6).

    Returns
    -------
    (sqrt_price_next_x96, amount_in, amount_out, fee_amount)
        ``amount_in`` excludes the fee; it and ``fee_amount`` round up, ``amount_out`` down.
    """
    require_uint(sqrt_price_current_x96, 160, "sqrt_price_current_x96")
    require_uint(sqrt_price_target_x96, 160, "sqrt_price_target_x96")
    require_uint(liquidity, 128, "liquidity")
    require_int(amount_remaining, 256, "amount_remaining")
    require_uint(fee_pips, 24, "fee_pips")
    if fee_pips >= FEE_DENOMINATOR:
        raise ValueError(f"fee_pips={fee_pips} must be below {FEE_DENOMINATOR}")

    zero_for_one = sqrt_price_current_x96 >= sqrt_price_target_x96
    exact_in = amount_remaining >= 0
    amount_in = 0
    amount_out = 0

    if exact_in:
        amount_remaining_less_fee = mul_div(
            amount_remaining, FEE_DENOMINATOR - fee_pips, FEE_DENOMINATOR
        )
        amount_in = (
            get_amount0_delta(sqrt_price_target_x96, sqrt_price_current_x96, liquidity, True)
            if zero_for_one
            else get_amount1_delta(sqrt_price_current_x96, sqrt_price_target_x96, liquidity, True)
        )
        if amount_remaining_less_fee >= amount_in:
            sqrt_price_next_x96 = sqrt_price_target_x96
        else:
            sqrt_price_next_x96 = get_next_sqrt_price_from_input(
                sqrt_price_current_x96, liquidity, amount_remaining_less_fee, zero_for_one
            )
    else:
        amount_out = (
            get_amount1_delta(sqrt_price_target_x96, sqrt_price_current_x96, liquidity, False)
            if zero_for_one
            else get_amount0_delta(sqrt_price_current_x96, sqrt_price_target_x96, liquidity, False)
        )
        # uint256(-amountRemaining): two's complement, so int256 min maps to 2**255.
        wanted = (-amount_remaining) % (1 << 256)
        if wanted >= amount_out:
            sqrt_price_next_x96 = sqrt_price_target_x96
        else:
            sqrt_price_next_x96 = get_next_sqrt_price_from_output(
                sqrt_price_current_x96, liquidity, wanted, zero_for_one
            )

    reached = sqrt_price_target_x96 == sqrt_price_next_x96

    if zero_for_one:
        if not (reached and exact_in):
            amount_in = get_amount0_delta(
                sqrt_price_next_x96, sqrt_price_current_x96, liquidity, True
            )
        if not (reached and not exact_in):
            amount_out = get_amount1_delta(
                sqrt_price_next_x96, sqrt_price_current_x96, liquidity, False
            )
    else:
        if not (reached and exact_in):
            amount_in = get_amount1_delta(
                sqrt_price_current_x96, sqrt_price_next_x96, liquidity, True
            )
        if not (reached and not exact_in):
            amount_out = get_amount0_delta(
                sqrt_price_current_x96, sqrt_price_next_x96, liquidity, False
            )

    # cap the output amount to not exceed the remaining output amount
    if not exact_in and amount_out > (-amount_remaining) % (1 << 256):
        amount_out = (-amount_remaining) % (1 << 256)

    if exact_in and sqrt_price_next_x96 != sqrt_price_target_x96:
        # take the remainder of the maximum input as fee
        fee_amount = amount_remaining - amount_in
    else:
        fee_amount = mul_div_rounding_up(amount_in, fee_pips, FEE_DENOMINATOR - fee_pips)

    return sqrt_price_next_x96, amount_in, amount_out, fee_amount
