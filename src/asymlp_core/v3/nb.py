"""Uniswap V3 exact arithmetic compiled with Numba over fixed-width limbs (v3-core 1.0.1).

The kernels reproduce the contracts bit for bit, like the Python-int reference in
:mod:`asymlp_core.v3`, but in ``@njit(cache=True)`` nopython code.

Representation (see :mod:`asymlp_core.v3._u256`)
-----------------------------------------------
* Every contract integer is a ``UniTuple(uint64, 4)`` of words, least significant
  first (``value = w0 + w1 * 2**64 + w2 * 2**128 + w3 * 2**192``).  uint160 sqrt prices
  (Q64.96), uint128 liquidity, uint256 amounts and Q128.128 fee growth all use four
  words with the unused upper words zero.
* Signed values (int256 amounts, int128 liquidity deltas) are **two's complement** in
  the same four words, sign-extended to 256 bits: ``-1`` is four ``2**64 - 1`` words.
* Arrays of values are ``(n, 4)`` uint64 arrays, one row per value.
* Ticks, fees and tick spacings are plain int64 scalars / arrays.
* Kernels never raise: every fallible kernel returns an error code last (``ERR_OK`` = 0,
  see ``ERROR_REASONS``) and zero words for the values when it is nonzero.  The codes
  map to the contracts' revert strings; ``ERR_BARE`` is a ``require`` without a reason
  (FullMath, SafeCast, LowGasSafeMath guards, a division by zero).
* Kernels assume in-domain arguments (e.g. a uint160 argument has words 2 and 3 within
  160 bits, a fee below 1e6); the Python wrappers check the domain as the reference does.

Scalar kernels
--------------
=========================================== ==========================================================
kernel                                      contract function -> returns
=========================================== ==========================================================
``mul_div_u256(a, b, d)``                    FullMath.mulDiv -> ``(q, err)``
``mul_div_rounding_up_u256(a, b, d)``        FullMath.mulDivRoundingUp -> ``(q, err)``
``div_rounding_up_u256(x, y)``               UnsafeMath.divRoundingUp (``y == 0`` gives 0) -> ``q``
``sqrt_ratio_at_tick(tick)``                 TickMath.getSqrtRatioAtTick -> ``(sqrt_x96, err)``
``tick_at_sqrt_ratio(sqrt_x96)``             TickMath.getTickAtSqrtRatio -> ``(tick, err)``
``amount0_delta(a, b, liquidity, round_up)`` SqrtPriceMath.getAmount0Delta (uint) -> ``(amount, err)``
``amount1_delta(a, b, liquidity, round_up)`` SqrtPriceMath.getAmount1Delta (uint) -> ``(amount, err)``
``amount0_delta_signed(a, b, liquidity)``    getAmount0Delta(int128) -> ``(int256, err)``
``amount1_delta_signed(a, b, liquidity)``    getAmount1Delta(int128) -> ``(int256, err)``
``next_sqrt_price_from_amount0_rounding_up`` getNextSqrtPriceFromAmount0RoundingUp -> ``(sqrt, err)``
``next_sqrt_price_from_amount1_rounding_down`` getNextSqrtPriceFromAmount1RoundingDown -> ``(sqrt, err)``
``next_sqrt_price_from_input``               getNextSqrtPriceFromInput -> ``(sqrt, err)``
``next_sqrt_price_from_output``              getNextSqrtPriceFromOutput -> ``(sqrt, err)``
``compute_swap_step(cur, target, L, rem, f)`` SwapMath.computeSwapStep -> ``(next, in, out, fee, err)``
``add_delta(x, y)``                          LiquidityMath.addDelta -> ``(z, err)``
``next_initialized_tick_sorted(ticks, tick, spacing, lte)``
                                             TickBitmap.nextInitializedTickWithinOneWord over a
                                             sorted array of initialized ticks ->
                                             ``(next_tick, initialized, index)``
=========================================== ==========================================================

Array kernels (caller-allocated outputs, return a count)
--------------------------------------------------------
* ``compute_swap_step_1d`` -- computeSwapStep over rows of input arrays.
* ``sqrt_ratio_at_tick_1d`` / ``tick_at_sqrt_ratio_1d`` -- tick conversions over arrays.
* ``swap_replay`` -- ``UniswapV3Pool.swap`` for a sequence of swaps against a pool state
  and its initialized ticks; see its docstring.

Python helpers (``nb_*`` wrappers taking and returning Python ints, raising
:class:`~asymlp_core.v3.V3Error`; ``to_words``/``from_words``/``ints_to_limbs``/
``limbs_to_ints`` conversions; :func:`replay_swaps` for a reference ``Pool``) follow the
kernels.

Errors: ``ERR_OK`` 0, ``ERR_BARE`` 1 (``''``), ``ERR_T`` 2 ('T'), ``ERR_R`` 3 ('R'),
``ERR_LS`` 4 ('LS'), ``ERR_LA`` 5 ('LA'), ``ERR_SPL`` 6 ('SPL'), ``ERR_AS`` 7 ('AS'),
``ERR_LOK`` 8 ('LOK', a pool that was never initialized).  Where the Python reference
raises ``ZeroDivisionError`` (``getNextSqrtPriceFromAmount1RoundingDown`` called directly
with zero liquidity, which the contract's ``getNextSqrtPriceFrom{Input,Output}`` guard
against) the kernel reports ``ERR_BARE``, as the EVM reverts without a reason there.

The whole module also runs as plain Python under ``NUMBA_DISABLE_JIT=1`` (slowly; the
tests pass that way).  See :mod:`asymlp_core.v3._u256` for the limb arithmetic and for
a note on Numba's cache when editing it.

TickMath.getTickAtSqrtRatio is computed with a float64 logarithm whose error (< 1e-9
ticks) is far below its acceptance margin (1e-4 ticks, while the contract's sqrt ratios
differ from exact powers of 1.0001 by < 1e-5 ticks); within the margin of a tick
boundary the answer is settled exactly with ``sqrt_ratio_at_tick``, so the result is the
greatest tick whose sqrt ratio is at most the price, which is what the contract returns.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numba import config, njit

from . import _u256 as u
from ._u256 import MAX64, ONE, S32, U64, Z256, ZERO, from_words, from_words_signed, to_words
from .errors import V3Error
from .tick_math import _TICK_FACTORS

# ----------------------------------------------------------------------------- error codes

ERR_OK = 0
ERR_BARE = 1  # require without a reason string ('')
ERR_T = 2
ERR_R = 3
ERR_LS = 4
ERR_LA = 5
ERR_SPL = 6
ERR_AS = 7
ERR_LOK = 8

#: Error code -> the contract's revert reason.
ERROR_REASONS = {
    ERR_BARE: "",
    ERR_T: "T",
    ERR_R: "R",
    ERR_LS: "LS",
    ERR_LA: "LA",
    ERR_SPL: "SPL",
    ERR_AS: "AS",
    ERR_LOK: "LOK",
}

# ----------------------------------------------------------------------------- constants

MIN_TICK = -887272
MAX_TICK = 887272
_MIN_SQRT_RATIO_INT = 4295128739
_MAX_SQRT_RATIO_INT = 1461446703485210103287273052203988822378723970342
MIN_SQRT_RATIO_W = to_words(_MIN_SQRT_RATIO_INT)
MAX_SQRT_RATIO_W = to_words(_MAX_SQRT_RATIO_INT)
_Q96_W = to_words(1 << 96)
_Q128_W = to_words(1 << 128)
_FEE_DENOMINATOR = 1_000_000
_FEE_DEN_W = to_words(_FEE_DENOMINATOR)
_S96 = U64(96)
_S128 = U64(128)

# TickMath ratio factors 2**128 / sqrt(1.0001)**(2**i), i = 0..19 (Q128.128, from the contract,
# shared with the Python-int tier), as (low word, high word) rows.
_TICK_FACTORS_INT = _TICK_FACTORS
TICK_FACTORS = np.array(
    [[f & 0xFFFFFFFFFFFFFFFF, f >> 64] for f in _TICK_FACTORS_INT], dtype=np.uint64
)
#: ln(2) and ln(sqrt(1.0001)) for the float estimate of getTickAtSqrtRatio.
_LN2 = math.log(2.0)
_LN_SQRT_10001 = 0.5 * math.log1p(1e-4)
#: Fractional distance to a tick boundary under which the estimate is settled exactly.
_TICK_MARGIN = 1e-4


# ----------------------------------------------------------------------------- FullMath


@njit(cache=True)
def mul_div_u256(a, b, d):
    """FullMath.mulDiv: ``floor(a * b / d)`` with a 512-bit product -> ``(q, err)``.

    ``ERR_BARE`` when ``d == 0`` or the quotient does not fit in 256 bits (the contract's
    ``require(denominator > prod1)``).
    """
    p = u.mul_wide(a, b)
    if not u.lt((p[4], p[5], p[6], p[7]), d):
        return Z256, ERR_BARE
    q, _ = u.divrem_wide(p, d)
    return q, ERR_OK


@njit(cache=True)
def mul_div_rounding_up_u256(a, b, d):
    """FullMath.mulDivRoundingUp: ``ceil(a * b / d)`` -> ``(q, err)``; also reverts at 2**256."""
    p = u.mul_wide(a, b)
    if not u.lt((p[4], p[5], p[6], p[7]), d):
        return Z256, ERR_BARE
    q, r = u.divrem_wide(p, d)
    if not u.is_zero(r):
        if q[0] == MAX64 and q[1] == MAX64 and q[2] == MAX64 and q[3] == MAX64:
            return Z256, ERR_BARE
        q = u.add_small(q, ONE)
    return q, ERR_OK


@njit(cache=True)
def div_rounding_up_u256(x, y):
    """UnsafeMath.divRoundingUp: ``ceil(x / y)``; the EVM's ``div`` by zero gives 0."""
    if u.is_zero(y):
        return Z256
    q, r = u.divrem(x, y)
    if not u.is_zero(r):
        q = u.add_small(q, ONE)
    return q


@njit(cache=True)
def _shr96_of_wide(p, round_up):
    """``p >> 96`` (rounded down or up) of a product below 2**288 (words 0..4)."""
    q = (
        (p[1] >> S32) | (p[2] << S32),
        (p[2] >> S32) | (p[3] << S32),
        (p[3] >> S32) | (p[4] << S32),
        p[4] >> S32,
    )
    if round_up and (p[0] | (p[1] & u.M32)) != ZERO:
        q = u.add_small(q, ONE)
    return q


# ----------------------------------------------------------------------------- TickMath


@njit(cache=True)
def _mul_shr128(r0, r1, c0, c1):
    """``(r * c) >> 128`` for 128-bit ``r = (r0, r1)`` and ``c = (c0, c1)``: two words."""
    _, h00 = u.mul64(r0, c0)
    l01, h01 = u.mul64(r0, c1)
    l10, h10 = u.mul64(r1, c0)
    l11, h11 = u.mul64(r1, c1)
    x, c1a = u.adc(h00, l01, ZERO)
    x, c1b = u.adc(x, l10, ZERO)
    y, d1 = u.adc(h01, h10, c1a)
    y, d2 = u.adc(y, l11, c1b)
    z = h11 + d1 + d2
    return y, z


@njit(cache=True)
def sqrt_ratio_at_tick(tick):
    """TickMath.getSqrtRatioAtTick: ``sqrt(1.0001**tick) * 2**96`` (Q64.96, rounded up).

    Returns ``(sqrt_price_x96, err)``; ``ERR_T`` when ``|tick| > MAX_TICK``.
    """
    abs_tick = -tick if tick < 0 else tick
    if abs_tick > MAX_TICK:
        return Z256, ERR_T
    # ratio < 2**128 once a factor has been applied; 2**128 exactly while none has.
    have = False
    r0 = ZERO
    r1 = ZERO
    for i in range(20):
        if (abs_tick >> i) & 1:
            if have:
                r0, r1 = _mul_shr128(r0, r1, TICK_FACTORS[i, 0], TICK_FACTORS[i, 1])
            else:
                r0 = TICK_FACTORS[i, 0]
                r1 = TICK_FACTORS[i, 1]
                have = True
    if have:
        ratio = (r0, r1, ZERO, ZERO)
    else:
        ratio = (ZERO, ZERO, ONE, ZERO)
    if tick > 0:
        ratio, _ = u.divrem(u.MAX256, ratio)
    # Q128.128 -> Q64.96, rounding up
    out = u.shr(ratio, S32)
    if (ratio[0] & u.M32) != ZERO:
        out = u.add_small(out, ONE)
    return out, ERR_OK


@njit(cache=True)
def tick_at_sqrt_ratio(sqrt_price_x96):
    """TickMath.getTickAtSqrtRatio: the greatest tick whose sqrt ratio is ``<= sqrt_price_x96``.

    Returns ``(tick, err)``; ``ERR_R`` unless ``MIN_SQRT_RATIO <= sqrt_price_x96 < MAX_SQRT_RATIO``.
    """
    if u.lt(sqrt_price_x96, MIN_SQRT_RATIO_W) or not u.lt(sqrt_price_x96, MAX_SQRT_RATIO_W):
        return 0, ERR_R
    x = (math.log(u.to_float(sqrt_price_x96)) - 96.0 * _LN2) / _LN_SQRT_10001
    fl = math.floor(x)
    t = int(fl)
    frac = x - fl
    if frac > _TICK_MARGIN and frac < 1.0 - _TICK_MARGIN:
        return t, ERR_OK
    # Close to a boundary: settle with the exact sqrt ratios.
    t = int(math.floor(x + 0.5))
    if t < MIN_TICK:
        t = MIN_TICK
    if t > MAX_TICK - 1:
        t = MAX_TICK - 1
    s, _ = sqrt_ratio_at_tick(t)
    if u.lt(sqrt_price_x96, s):
        while t > MIN_TICK:
            t -= 1
            s, _ = sqrt_ratio_at_tick(t)
            if not u.lt(sqrt_price_x96, s):
                break
    else:
        while t < MAX_TICK:
            s, _ = sqrt_ratio_at_tick(t + 1)
            if u.lt(sqrt_price_x96, s):
                break
            t += 1
    return t, ERR_OK


# ----------------------------------------------------------------------------- SqrtPriceMath


@njit(cache=True)
def next_sqrt_price_from_amount0_rounding_up(sqrt_price_x96, liquidity, amount, add):
    """getNextSqrtPriceFromAmount0RoundingUp -> ``(sqrt_price_x96, err)``.

    ``L * sqrtP / (L +- amount * sqrtP)`` rounded up, with the contract's fallback
    ``L / (L / sqrtP + amount)`` when the product or the sum overflows 256 bits.
    """
    if u.is_zero(amount):
        return sqrt_price_x96, ERR_OK
    numerator1 = u.shl(liquidity, _S96)
    product, fits = u.mul_lo_checked(amount, sqrt_price_x96)
    if add:
        if fits:
            denominator, carry = u.add(numerator1, product)
            if carry == ZERO:
                q, err = mul_div_rounding_up_u256(numerator1, sqrt_price_x96, denominator)
                if err != ERR_OK:
                    return Z256, err
                return (q[0], q[1], q[2] & u.M32, ZERO), ERR_OK
        if u.is_zero(sqrt_price_x96):
            return Z256, ERR_BARE
        t, _ = u.divrem(numerator1, sqrt_price_x96)
        summed, carry = u.add(t, amount)
        if carry != ZERO:
            return Z256, ERR_BARE
        q = div_rounding_up_u256(numerator1, summed)
        return (q[0], q[1], q[2] & u.M32, ZERO), ERR_OK
    if not fits or not u.lt(product, numerator1):
        return Z256, ERR_BARE
    denominator, _ = u.sub(numerator1, product)
    q, err = mul_div_rounding_up_u256(numerator1, sqrt_price_x96, denominator)
    if err != ERR_OK:
        return Z256, err
    if not u.fits160(q):
        return Z256, ERR_BARE
    return q, ERR_OK


@njit(cache=True)
def next_sqrt_price_from_amount1_rounding_down(sqrt_price_x96, liquidity, amount, add):
    """getNextSqrtPriceFromAmount1RoundingDown -> ``(sqrt_price_x96, err)``: ``sqrtP +- amount / L``."""
    small = u.fits160(amount)
    if add:
        if small:
            if u.is_zero(liquidity):
                return Z256, ERR_BARE  # Solidity division by zero
            quotient, _ = u.divrem(u.shl(amount, _S96), liquidity)
        else:
            quotient, err = mul_div_u256(amount, _Q96_W, liquidity)
            if err != ERR_OK:
                return Z256, err
        total, carry = u.add(sqrt_price_x96, quotient)
        if carry != ZERO or not u.fits160(total):
            return Z256, ERR_BARE
        return total, ERR_OK
    if small:
        quotient = div_rounding_up_u256(u.shl(amount, _S96), liquidity)
    else:
        quotient, err = mul_div_rounding_up_u256(amount, _Q96_W, liquidity)
        if err != ERR_OK:
            return Z256, err
    if not u.lt(quotient, sqrt_price_x96):
        return Z256, ERR_BARE
    out, _ = u.sub(sqrt_price_x96, quotient)
    return out, ERR_OK


@njit(cache=True)
def next_sqrt_price_from_input(sqrt_price_x96, liquidity, amount_in, zero_for_one):
    """getNextSqrtPriceFromInput -> ``(sqrt_price_x96, err)`` (rounded against the trader)."""
    if u.is_zero(sqrt_price_x96) or u.is_zero(liquidity):
        return Z256, ERR_BARE
    if zero_for_one:
        return next_sqrt_price_from_amount0_rounding_up(sqrt_price_x96, liquidity, amount_in, True)
    return next_sqrt_price_from_amount1_rounding_down(sqrt_price_x96, liquidity, amount_in, True)


@njit(cache=True)
def next_sqrt_price_from_output(sqrt_price_x96, liquidity, amount_out, zero_for_one):
    """getNextSqrtPriceFromOutput -> ``(sqrt_price_x96, err)`` (rounded against the trader)."""
    if u.is_zero(sqrt_price_x96) or u.is_zero(liquidity):
        return Z256, ERR_BARE
    if zero_for_one:
        return next_sqrt_price_from_amount1_rounding_down(sqrt_price_x96, liquidity, amount_out, False)
    return next_sqrt_price_from_amount0_rounding_up(sqrt_price_x96, liquidity, amount_out, False)


@njit(cache=True)
def amount0_delta(sqrt_a_x96, sqrt_b_x96, liquidity, round_up):
    """getAmount0Delta: ``L * (sqrtB - sqrtA) / (sqrtA * sqrtB)`` -> ``(amount0, err)``.

    Rounded up or down; ``ERR_BARE`` when the lower sqrt price is 0.
    """
    if u.lt(sqrt_b_x96, sqrt_a_x96):
        sqrt_a_x96, sqrt_b_x96 = sqrt_b_x96, sqrt_a_x96
    if u.is_zero(sqrt_a_x96):
        return Z256, ERR_BARE
    numerator1 = u.shl(liquidity, _S96)
    numerator2, _ = u.sub(sqrt_b_x96, sqrt_a_x96)
    if round_up:
        q, err = mul_div_rounding_up_u256(numerator1, numerator2, sqrt_b_x96)
        if err != ERR_OK:
            return Z256, err
        return div_rounding_up_u256(q, sqrt_a_x96), ERR_OK
    q, err = mul_div_u256(numerator1, numerator2, sqrt_b_x96)
    if err != ERR_OK:
        return Z256, err
    q, _ = u.divrem(q, sqrt_a_x96)
    return q, ERR_OK


@njit(cache=True)
def amount1_delta(sqrt_a_x96, sqrt_b_x96, liquidity, round_up):
    """getAmount1Delta: ``L * (sqrtB - sqrtA) / 2**96`` rounded -> ``(amount1, err)`` (never fails)."""
    if u.lt(sqrt_b_x96, sqrt_a_x96):
        sqrt_a_x96, sqrt_b_x96 = sqrt_b_x96, sqrt_a_x96
    diff, _ = u.sub(sqrt_b_x96, sqrt_a_x96)
    # liquidity < 2**128 and diff < 2**160: the product is below 2**288, the division
    # by Q96 a shift, and mulDiv's overflow checks cannot fail.
    p = u.mul_wide(liquidity, diff)
    return _shr96_of_wide(p, round_up), ERR_OK


@njit(cache=True)
def _sext128(x):
    """Sign-extend the low 128 bits of ``x`` to an int256 (two's complement words)."""
    if (x[1] >> u.S63) != ZERO:
        return (x[0], x[1], MAX64, MAX64)
    return (x[0], x[1], ZERO, ZERO)


@njit(cache=True)
def amount0_delta_signed(sqrt_a_x96, sqrt_b_x96, liquidity):
    """getAmount0Delta(int128 liquidity) -> ``(int256 amount0, err)``.

    Liquidity added: the amount owed, rounded up; removed: minus the amount paid, rounded down.
    """
    if u.is_neg(liquidity):
        v, err = amount0_delta(sqrt_a_x96, sqrt_b_x96, u.neg(liquidity), False)
        if err != ERR_OK:
            return Z256, err
        if u.is_neg(v):
            return Z256, ERR_BARE
        return u.neg(v), ERR_OK
    v, err = amount0_delta(sqrt_a_x96, sqrt_b_x96, liquidity, True)
    if err != ERR_OK:
        return Z256, err
    if u.is_neg(v):
        return Z256, ERR_BARE
    return v, ERR_OK


@njit(cache=True)
def amount1_delta_signed(sqrt_a_x96, sqrt_b_x96, liquidity):
    """getAmount1Delta(int128 liquidity) -> ``(int256 amount1, err)`` (see the token0 form)."""
    if u.is_neg(liquidity):
        v, err = amount1_delta(sqrt_a_x96, sqrt_b_x96, u.neg(liquidity), False)
        if u.is_neg(v):
            return Z256, ERR_BARE
        return u.neg(v), ERR_OK
    v, err = amount1_delta(sqrt_a_x96, sqrt_b_x96, liquidity, True)
    if u.is_neg(v):
        return Z256, ERR_BARE
    return v, ERR_OK


# ----------------------------------------------------------------------------- SwapMath


@njit(cache=True)
def compute_swap_step(
    sqrt_price_current_x96, sqrt_price_target_x96, liquidity, amount_remaining, fee_pips
):
    """SwapMath.computeSwapStep -> ``(sqrt_price_next_x96, amount_in, amount_out, fee_amount, err)``.

    ``amount_remaining`` is an int256 (two's complement words): positive is exact input,
    negative exact output.  ``fee_pips`` is an int below 1e6.  ``amount_in`` excludes
    the fee; it and ``fee_amount`` round up, ``amount_out`` rounds down.
    """
    zero_for_one = not u.lt(sqrt_price_current_x96, sqrt_price_target_x96)
    exact_in = not u.is_neg(amount_remaining)
    fee_w = (U64(fee_pips), ZERO, ZERO, ZERO)
    fee_complement = (U64(_FEE_DENOMINATOR - fee_pips), ZERO, ZERO, ZERO)
    amount_in = Z256
    amount_out = Z256
    wanted = Z256
    if exact_in:
        less_fee, err = mul_div_u256(amount_remaining, fee_complement, _FEE_DEN_W)
        if err != ERR_OK:
            return Z256, Z256, Z256, Z256, err
        if zero_for_one:
            amount_in, err = amount0_delta(sqrt_price_target_x96, sqrt_price_current_x96, liquidity, True)
        else:
            amount_in, err = amount1_delta(sqrt_price_current_x96, sqrt_price_target_x96, liquidity, True)
        if err != ERR_OK:
            return Z256, Z256, Z256, Z256, err
        if not u.lt(less_fee, amount_in):
            sqrt_next = sqrt_price_target_x96
        else:
            sqrt_next, err = next_sqrt_price_from_input(
                sqrt_price_current_x96, liquidity, less_fee, zero_for_one
            )
            if err != ERR_OK:
                return Z256, Z256, Z256, Z256, err
    else:
        if zero_for_one:
            amount_out, err = amount1_delta(sqrt_price_target_x96, sqrt_price_current_x96, liquidity, False)
        else:
            amount_out, err = amount0_delta(sqrt_price_current_x96, sqrt_price_target_x96, liquidity, False)
        if err != ERR_OK:
            return Z256, Z256, Z256, Z256, err
        wanted = u.neg(amount_remaining)  # uint256(-amountRemaining), 2**255 for int256 min
        if not u.lt(wanted, amount_out):
            sqrt_next = sqrt_price_target_x96
        else:
            sqrt_next, err = next_sqrt_price_from_output(
                sqrt_price_current_x96, liquidity, wanted, zero_for_one
            )
            if err != ERR_OK:
                return Z256, Z256, Z256, Z256, err

    reached = u.eq(sqrt_price_target_x96, sqrt_next)
    err = ERR_OK
    if zero_for_one:
        if not (reached and exact_in):
            amount_in, err = amount0_delta(sqrt_next, sqrt_price_current_x96, liquidity, True)
            if err != ERR_OK:
                return Z256, Z256, Z256, Z256, err
        if not (reached and not exact_in):
            amount_out, err = amount1_delta(sqrt_next, sqrt_price_current_x96, liquidity, False)
    else:
        if not (reached and exact_in):
            amount_in, err = amount1_delta(sqrt_price_current_x96, sqrt_next, liquidity, True)
        if not (reached and not exact_in):
            amount_out, err = amount0_delta(sqrt_price_current_x96, sqrt_next, liquidity, False)
            if err != ERR_OK:
                return Z256, Z256, Z256, Z256, err

    if not exact_in and u.lt(wanted, amount_out):
        amount_out = wanted

    if exact_in and not reached:
        fee_amount, _ = u.sub(amount_remaining, amount_in)
    else:
        fee_amount, err = mul_div_rounding_up_u256(amount_in, fee_w, fee_complement)
        if err != ERR_OK:
            return Z256, Z256, Z256, Z256, err
    return sqrt_next, amount_in, amount_out, fee_amount, ERR_OK


# ----------------------------------------------------------------------------- LiquidityMath


@njit(cache=True)
def add_delta(x, y):
    """LiquidityMath.addDelta: uint128 ``x`` plus int128 ``y`` (sign-extended words) -> ``(z, err)``.

    ``ERR_LS`` when the result would go below zero, ``ERR_LA`` above ``2**128 - 1``.
    """
    s, _ = u.add(x, y)
    z = (s[0], s[1], ZERO, ZERO)
    if u.is_neg(y):
        if not u.lt(z, x):
            return Z256, ERR_LS
    elif u.lt(z, x):
        return Z256, ERR_LA
    return z, ERR_OK


# ----------------------------------------------------------------------------- TickBitmap


@njit(cache=True)
def _search_right(ticks, value):
    """Number of entries of the sorted ``ticks`` that are ``<= value``."""
    lo = 0
    hi = ticks.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if ticks[mid] <= value:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def next_initialized_tick_sorted(ticks, tick, tick_spacing, lte):
    """TickBitmap.nextInitializedTickWithinOneWord over a sorted array of initialized ticks.

    ``ticks`` holds the initialized ticks (multiples of ``tick_spacing``) in ascending
    order.  The search stays within the 256-bit bitmap word of the compressed tick
    (``lte``: at or left of ``tick``; otherwise strictly right of it) exactly as the
    contract: when the word holds no initialized tick, the word's edge is returned with
    ``initialized = False``.  Returns ``(next_tick, initialized, index_into_ticks or -1)``.
    """
    compressed = tick // tick_spacing  # floor, as the contract's truncation plus decrement
    if lte:
        word_start = (compressed >> 8) << 8
        i = _search_right(ticks, compressed * tick_spacing) - 1
        if i >= 0 and ticks[i] >= word_start * tick_spacing:
            return ticks[i], True, i
        return word_start * tick_spacing, False, -1
    start = compressed + 1
    word_end = ((start >> 8) << 8) + 255
    i = _search_right(ticks, start * tick_spacing - 1)
    if i < ticks.shape[0] and ticks[i] <= word_end * tick_spacing:
        return ticks[i], True, i
    return word_end * tick_spacing, False, -1


# ----------------------------------------------------------------------------- array kernels


@njit(cache=True)
def _load(a, i):
    return (a[i, 0], a[i, 1], a[i, 2], a[i, 3])


@njit(cache=True)
def _store(a, i, v):
    a[i, 0] = v[0]
    a[i, 1] = v[1]
    a[i, 2] = v[2]
    a[i, 3] = v[3]


@njit(cache=True)
def compute_swap_step_1d(
    sqrt_current, sqrt_target, liquidity, amount_remaining, fee_pips,
    out_sqrt_next, out_amount_in, out_amount_out, out_fee_amount, out_err,
):  # fmt: skip
    """computeSwapStep over rows: inputs ``(n, 4)`` uint64 (``fee_pips`` ``(n,)`` int64).

    Writes the four results into ``(n, 4)`` outputs and the error code into ``out_err``;
    returns ``n``.
    """
    n = sqrt_current.shape[0]
    for i in range(n):
        nxt, a_in, a_out, fee, err = compute_swap_step(
            _load(sqrt_current, i),
            _load(sqrt_target, i),
            _load(liquidity, i),
            _load(amount_remaining, i),
            fee_pips[i],
        )
        _store(out_sqrt_next, i, nxt)
        _store(out_amount_in, i, a_in)
        _store(out_amount_out, i, a_out)
        _store(out_fee_amount, i, fee)
        out_err[i] = err
    return n


@njit(cache=True)
def sqrt_ratio_at_tick_1d(ticks, out_sqrt, out_err):
    """getSqrtRatioAtTick over an int64 array into ``(n, 4)`` words; returns ``n``."""
    n = ticks.shape[0]
    for i in range(n):
        s, err = sqrt_ratio_at_tick(ticks[i])
        _store(out_sqrt, i, s)
        out_err[i] = err
    return n


@njit(cache=True)
def tick_at_sqrt_ratio_1d(sqrt_prices, out_tick, out_err):
    """getTickAtSqrtRatio over ``(n, 4)`` words into an int64 array; returns ``n``."""
    n = sqrt_prices.shape[0]
    for i in range(n):
        t, err = tick_at_sqrt_ratio(_load(sqrt_prices, i))
        out_tick[i] = t
        out_err[i] = err
    return n


#: Rows of the ``state_words`` array of :func:`swap_replay`.
STATE_SQRT_PRICE = 0
STATE_LIQUIDITY = 1
STATE_FEE_GROWTH0 = 2
STATE_FEE_GROWTH1 = 3
STATE_PROTOCOL_FEES0 = 4
STATE_PROTOCOL_FEES1 = 5
#: Entries of the ``state_ints`` array of :func:`swap_replay`.
STATE_TICK = 0
STATE_FEE = 1
STATE_TICK_SPACING = 2
STATE_FEE_PROTOCOL = 3


@njit(cache=True)
def swap_replay(
    state_words, state_ints,
    ticks, liquidity_net, fee_growth_outside0, fee_growth_outside1,
    zero_for_one, amount_specified, sqrt_price_limit,
    out_sqrt_price, out_tick, out_liquidity, out_amount0, out_amount1,
    out_fee_growth0, out_fee_growth1, out_err,
):  # fmt: skip
    """Run ``UniswapV3Pool.swap`` for each swap in order, updating the pool state in place.

    Parameters
    ----------
    state_words : (6, 4) uint64
        Rows: sqrt price (Q64.96), active liquidity, fee growth global 0 and 1
        (Q128.128), protocol fees 0 and 1 (uint128).  Updated after each successful swap.
    state_ints : (4,) int64
        Current tick (updated), fee (pips), tick spacing, fee protocol
        (``feeProtocol0 + (feeProtocol1 << 4)``, 0 for off).
    ticks : (m,) int64
        The initialized ticks, sorted ascending (the tick bitmap as a sorted array).
    liquidity_net : (m, 4) uint64
        Each tick's int128 liquidity net, sign-extended two's complement words.
    fee_growth_outside0, fee_growth_outside1 : (m, 4) uint64
        Each tick's fee growth outside; flipped in place on a crossing (Tick.cross).
    zero_for_one : (n,) bool
    amount_specified : (n, 4) uint64
        int256 words: positive exact input, negative exact output.
    sqrt_price_limit : (n, 4) uint64
    out_* : (n, 4) uint64 / (n,) int64
        After each swap: sqrt price, tick, liquidity, the pool's signed deltas amount0 and
        amount1 (int256 words; zero for a reverted swap), fee growth globals, and the
        error code (``ERR_OK`` or the revert's code).  A reverted swap leaves the pool
        (and the ticks) exactly as it found them, as a reverted transaction.

    Returns
    -------
    int
        The number of swaps processed (``n``).

    Notes
    -----
    Each step searches only the current bitmap word (``next_initialized_tick_sorted``),
    so steps end at word boundaries like the contract; the tick after a step is
    ``tick_next - 1`` (token0 in) or ``tick_next`` on reaching the step's target price,
    ``getTickAtSqrtRatio`` otherwise (if the price moved).  The oracle is not modelled and
    token transfers are assumed to succeed.
    """
    n = zero_for_one.shape[0]
    m = ticks.shape[0]
    fee = state_ints[STATE_FEE]
    spacing = state_ints[STATE_TICK_SPACING]
    cross_index = np.empty(m, dtype=np.int64)
    cross_growth = np.empty((m, 4), dtype=np.uint64)
    sqrt_cache = np.zeros((m, 4), dtype=np.uint64)
    cached = np.zeros(m, dtype=np.bool_)

    for k in range(n):
        z41 = zero_for_one[k]
        specified = _load(amount_specified, k)
        limit = _load(sqrt_price_limit, k)
        sqrt_price = _load(state_words, STATE_SQRT_PRICE)
        liquidity = _load(state_words, STATE_LIQUIDITY)
        g0 = _load(state_words, STATE_FEE_GROWTH0)
        g1 = _load(state_words, STATE_FEE_GROWTH1)
        tick = state_ints[STATE_TICK]
        err = ERR_OK
        if u.is_zero(specified):
            err = ERR_AS
        elif u.is_zero(sqrt_price):
            err = ERR_LOK
        elif z41:
            if not (u.lt(limit, sqrt_price) and u.lt(MIN_SQRT_RATIO_W, limit)):
                err = ERR_SPL
        elif not (u.lt(sqrt_price, limit) and u.lt(limit, MAX_SQRT_RATIO_W)):
            err = ERR_SPL

        fee_protocol = state_ints[STATE_FEE_PROTOCOL]
        fee_protocol = (fee_protocol % 16) if z41 else (fee_protocol >> 4)
        exact_input = not u.is_neg(specified)
        remaining = specified
        calculated = Z256
        growth = g0 if z41 else g1
        protocol_fee = Z256
        n_cross = 0

        while err == ERR_OK and not u.is_zero(remaining) and not u.eq(sqrt_price, limit):
            start = sqrt_price
            tick_next, initialized, idx = next_initialized_tick_sorted(ticks, tick, spacing, z41)
            if tick_next < MIN_TICK:
                tick_next = MIN_TICK
            elif tick_next > MAX_TICK:
                tick_next = MAX_TICK
            if initialized:
                if not cached[idx]:
                    s, _ = sqrt_ratio_at_tick(tick_next)
                    _store(sqrt_cache, idx, s)
                    cached[idx] = True
                sqrt_next = _load(sqrt_cache, idx)
            else:
                sqrt_next, _ = sqrt_ratio_at_tick(tick_next)
            if z41:
                target = limit if u.lt(sqrt_next, limit) else sqrt_next
            else:
                target = limit if u.lt(limit, sqrt_next) else sqrt_next
            sqrt_price, amount_in, amount_out, fee_amount, err = compute_swap_step(
                sqrt_price, target, liquidity, remaining, fee
            )
            if err != ERR_OK:
                break
            paid, _ = u.add(amount_in, fee_amount)
            if exact_input:
                if u.is_neg(paid) or u.is_neg(amount_out):
                    err = ERR_BARE  # SafeCast.toInt256
                    break
                remaining, _ = u.sub(remaining, paid)
                new_calc, _ = u.sub(calculated, amount_out)
                # LowGasSafeMath.sub(int256) with y >= 0 requires z <= x: it overflows
                # exactly when a negative x wraps to a non-negative z.
                if u.is_neg(calculated) and not u.is_neg(new_calc):
                    err = ERR_BARE
                    break
                calculated = new_calc
            else:
                if u.is_neg(amount_out) or u.is_neg(paid):
                    err = ERR_BARE
                    break
                remaining, _ = u.add(remaining, amount_out)
                new_calc, _ = u.add(calculated, paid)
                # LowGasSafeMath.add(int256) with y >= 0 requires z >= x.
                if not u.is_neg(calculated) and u.is_neg(new_calc):
                    err = ERR_BARE
                    break
                calculated = new_calc
            if fee_protocol > 0:
                delta, _ = u.divrem(fee_amount, (U64(fee_protocol), ZERO, ZERO, ZERO))
                fee_amount, _ = u.sub(fee_amount, delta)
                pf, _ = u.add(protocol_fee, delta)
                protocol_fee = (pf[0], pf[1], ZERO, ZERO)
            if not u.is_zero(liquidity):
                inc, err = mul_div_u256(fee_amount, _Q128_W, liquidity)
                if err != ERR_OK:
                    break
                growth, _ = u.add(growth, inc)
            if u.eq(sqrt_price, sqrt_next):
                if initialized:
                    cross_index[n_cross] = idx
                    _store(cross_growth, n_cross, growth)
                    n_cross += 1
                    net = _load(liquidity_net, idx)
                    if z41:
                        net = _sext128(u.neg(net))  # int128 negation wraps, as in 0.7
                    liquidity, err = add_delta(liquidity, net)
                    if err != ERR_OK:
                        break
                tick = tick_next - 1 if z41 else tick_next
            elif not u.eq(sqrt_price, start):
                tick, err = tick_at_sqrt_ratio(sqrt_price)
                if err != ERR_OK:
                    break

        if err == ERR_OK:
            # commit: pool state, then Tick.cross on every crossed tick
            _store(state_words, STATE_SQRT_PRICE, sqrt_price)
            _store(state_words, STATE_LIQUIDITY, liquidity)
            state_ints[STATE_TICK] = tick
            if z41:
                _store(state_words, STATE_FEE_GROWTH0, growth)
                if not u.is_zero(protocol_fee):
                    pf, _ = u.add(_load(state_words, STATE_PROTOCOL_FEES0), protocol_fee)
                    _store(state_words, STATE_PROTOCOL_FEES0, (pf[0], pf[1], ZERO, ZERO))
            else:
                _store(state_words, STATE_FEE_GROWTH1, growth)
                if not u.is_zero(protocol_fee):
                    pf, _ = u.add(_load(state_words, STATE_PROTOCOL_FEES1), protocol_fee)
                    _store(state_words, STATE_PROTOCOL_FEES1, (pf[0], pf[1], ZERO, ZERO))
            for j in range(n_cross):
                idx = cross_index[j]
                crossed = _load(cross_growth, j)
                c0 = crossed if z41 else g0
                c1 = g1 if z41 else crossed
                v0, _ = u.sub(c0, _load(fee_growth_outside0, idx))
                v1, _ = u.sub(c1, _load(fee_growth_outside1, idx))
                _store(fee_growth_outside0, idx, v0)
                _store(fee_growth_outside1, idx, v1)
            moved, _ = u.sub(specified, remaining)
            if z41 == exact_input:
                amount0 = moved
                amount1 = calculated
            else:
                amount0 = calculated
                amount1 = moved
        else:
            amount0 = Z256
            amount1 = Z256
        _store(out_sqrt_price, k, _load(state_words, STATE_SQRT_PRICE))
        out_tick[k] = state_ints[STATE_TICK]
        _store(out_liquidity, k, _load(state_words, STATE_LIQUIDITY))
        _store(out_amount0, k, amount0)
        _store(out_amount1, k, amount1)
        _store(out_fee_growth0, k, _load(state_words, STATE_FEE_GROWTH0))
        _store(out_fee_growth1, k, _load(state_words, STATE_FEE_GROWTH1))
        out_err[k] = err
    return n


# ----------------------------------------------------------------------------- Python side


def _quiet() -> contextlib.AbstractContextManager[Any]:
    """Silence NumPy's scalar overflow warnings when the kernels run as Python (no JIT)."""
    return np.errstate(over="ignore") if config.DISABLE_JIT else contextlib.nullcontext()


def error_reason(code: int) -> str | None:
    """The contract's revert reason for a kernel error code (``None`` for ``ERR_OK``)."""
    return None if code == ERR_OK else ERROR_REASONS[int(code)]


def _check(err: int, where: str) -> None:
    if err != ERR_OK:
        raise V3Error(ERROR_REASONS[int(err)], f"{where} (compiled kernel)")


def _uint(value: int, bits: int, name: str) -> tuple[np.uint64, ...]:
    from ._types import require_uint

    return to_words(require_uint(value, bits, name))


def _int(value: int, bits: int, name: str) -> tuple[np.uint64, ...]:
    from ._types import require_int

    return to_words(require_int(value, bits, name))


def ints_to_limbs(values: Sequence[int] | np.ndarray) -> np.ndarray:
    """Python ints (signed ones as two's complement mod 2**256) -> ``(n, 4)`` uint64 words."""
    out = np.empty((len(values), 4), dtype=np.uint64)
    mask = 0xFFFFFFFFFFFFFFFF
    for i, value in enumerate(values):
        v = int(value) & ((1 << 256) - 1)
        out[i, 0] = v & mask
        out[i, 1] = (v >> 64) & mask
        out[i, 2] = (v >> 128) & mask
        out[i, 3] = v >> 192
    return out


def limbs_to_ints(words: np.ndarray, signed: bool = False) -> list[int]:
    """``(n, 4)`` uint64 words -> Python ints (two's complement read as signed if asked)."""
    conv = from_words_signed if signed else from_words
    return [conv(row) for row in words.tolist()]


def nb_mul_div(a: int, b: int, denominator: int) -> int:
    """FullMath.mulDiv through the compiled kernel (Python ints in and out)."""
    with _quiet():
        q, err = mul_div_u256(_uint(a, 256, "a"), _uint(b, 256, "b"), _uint(denominator, 256, "d"))
    _check(err, "FullMath.mulDiv")
    return from_words(q)


def nb_mul_div_rounding_up(a: int, b: int, denominator: int) -> int:
    """FullMath.mulDivRoundingUp through the compiled kernel."""
    with _quiet():
        q, err = mul_div_rounding_up_u256(
            _uint(a, 256, "a"), _uint(b, 256, "b"), _uint(denominator, 256, "d")
        )
    _check(err, "FullMath.mulDivRoundingUp")
    return from_words(q)


def nb_div_rounding_up(x: int, y: int) -> int:
    """UnsafeMath.divRoundingUp through the compiled kernel (``y == 0`` gives 0)."""
    with _quiet():
        q = div_rounding_up_u256(_uint(x, 256, "x"), _uint(y, 256, "y"))
    return from_words(q)


def nb_get_sqrt_ratio_at_tick(tick: int) -> int:
    """TickMath.getSqrtRatioAtTick through the compiled kernel."""
    from ._types import require_int

    with _quiet():
        s, err = sqrt_ratio_at_tick(require_int(tick, 24, "tick"))
    _check(err, "TickMath.getSqrtRatioAtTick")
    return from_words(s)


def nb_get_tick_at_sqrt_ratio(sqrt_price_x96: int) -> int:
    """TickMath.getTickAtSqrtRatio through the compiled kernel."""
    with _quiet():
        t, err = tick_at_sqrt_ratio(_uint(sqrt_price_x96, 160, "sqrt_price_x96"))
    _check(err, "TickMath.getTickAtSqrtRatio")
    return int(t)


def nb_get_amount0_delta(sqrt_a_x96: int, sqrt_b_x96: int, liquidity: int, round_up: bool) -> int:
    """SqrtPriceMath.getAmount0Delta (unsigned) through the compiled kernel."""
    with _quiet():
        v, err = amount0_delta(
            _uint(sqrt_a_x96, 160, "sqrt_a_x96"),
            _uint(sqrt_b_x96, 160, "sqrt_b_x96"),
            _uint(liquidity, 128, "liquidity"),
            bool(round_up),
        )
    _check(err, "SqrtPriceMath.getAmount0Delta")
    return from_words(v)


def nb_get_amount1_delta(sqrt_a_x96: int, sqrt_b_x96: int, liquidity: int, round_up: bool) -> int:
    """SqrtPriceMath.getAmount1Delta (unsigned) through the compiled kernel."""
    with _quiet():
        v, err = amount1_delta(
            _uint(sqrt_a_x96, 160, "sqrt_a_x96"),
            _uint(sqrt_b_x96, 160, "sqrt_b_x96"),
            _uint(liquidity, 128, "liquidity"),
            bool(round_up),
        )
    _check(err, "SqrtPriceMath.getAmount1Delta")
    return from_words(v)


def nb_get_amount0_delta_signed(sqrt_a_x96: int, sqrt_b_x96: int, liquidity: int) -> int:
    """SqrtPriceMath.getAmount0Delta (int128 liquidity) through the compiled kernel."""
    with _quiet():
        v, err = amount0_delta_signed(
            _uint(sqrt_a_x96, 160, "sqrt_a_x96"),
            _uint(sqrt_b_x96, 160, "sqrt_b_x96"),
            _int(liquidity, 128, "liquidity"),
        )
    _check(err, "SqrtPriceMath.getAmount0Delta")
    return from_words_signed(v)


def nb_get_amount1_delta_signed(sqrt_a_x96: int, sqrt_b_x96: int, liquidity: int) -> int:
    """SqrtPriceMath.getAmount1Delta (int128 liquidity) through the compiled kernel."""
    with _quiet():
        v, err = amount1_delta_signed(
            _uint(sqrt_a_x96, 160, "sqrt_a_x96"),
            _uint(sqrt_b_x96, 160, "sqrt_b_x96"),
            _int(liquidity, 128, "liquidity"),
        )
    _check(err, "SqrtPriceMath.getAmount1Delta")
    return from_words_signed(v)


def nb_get_next_sqrt_price_from_amount0_rounding_up(
    sqrt_price_x96: int, liquidity: int, amount: int, add: bool
) -> int:
    """SqrtPriceMath.getNextSqrtPriceFromAmount0RoundingUp through the compiled kernel."""
    with _quiet():
        v, err = next_sqrt_price_from_amount0_rounding_up(
            _uint(sqrt_price_x96, 160, "sqrt_price_x96"),
            _uint(liquidity, 128, "liquidity"),
            _uint(amount, 256, "amount"),
            bool(add),
        )
    _check(err, "SqrtPriceMath.getNextSqrtPriceFromAmount0RoundingUp")
    return from_words(v)


def nb_get_next_sqrt_price_from_amount1_rounding_down(
    sqrt_price_x96: int, liquidity: int, amount: int, add: bool
) -> int:
    """SqrtPriceMath.getNextSqrtPriceFromAmount1RoundingDown through the compiled kernel."""
    with _quiet():
        v, err = next_sqrt_price_from_amount1_rounding_down(
            _uint(sqrt_price_x96, 160, "sqrt_price_x96"),
            _uint(liquidity, 128, "liquidity"),
            _uint(amount, 256, "amount"),
            bool(add),
        )
    _check(err, "SqrtPriceMath.getNextSqrtPriceFromAmount1RoundingDown")
    return from_words(v)


def nb_get_next_sqrt_price_from_input(
    sqrt_price_x96: int, liquidity: int, amount_in: int, zero_for_one: bool
) -> int:
    """SqrtPriceMath.getNextSqrtPriceFromInput through the compiled kernel."""
    with _quiet():
        v, err = next_sqrt_price_from_input(
            _uint(sqrt_price_x96, 160, "sqrt_price_x96"),
            _uint(liquidity, 128, "liquidity"),
            _uint(amount_in, 256, "amount_in"),
            bool(zero_for_one),
        )
    _check(err, "SqrtPriceMath.getNextSqrtPriceFromInput")
    return from_words(v)


def nb_get_next_sqrt_price_from_output(
    sqrt_price_x96: int, liquidity: int, amount_out: int, zero_for_one: bool
) -> int:
    """SqrtPriceMath.getNextSqrtPriceFromOutput through the compiled kernel."""
    with _quiet():
        v, err = next_sqrt_price_from_output(
            _uint(sqrt_price_x96, 160, "sqrt_price_x96"),
            _uint(liquidity, 128, "liquidity"),
            _uint(amount_out, 256, "amount_out"),
            bool(zero_for_one),
        )
    _check(err, "SqrtPriceMath.getNextSqrtPriceFromOutput")
    return from_words(v)


def nb_compute_swap_step(
    sqrt_price_current_x96: int,
    sqrt_price_target_x96: int,
    liquidity: int,
    amount_remaining: int,
    fee_pips: int,
) -> tuple[int, int, int, int]:
    """SwapMath.computeSwapStep through the compiled kernel.

    Returns ``(sqrt_price_next_x96, amount_in, amount_out, fee_amount)`` as Python ints.
    """
    from ._types import require_uint

    require_uint(fee_pips, 24, "fee_pips")
    if fee_pips >= _FEE_DENOMINATOR:
        raise ValueError(f"fee_pips={fee_pips} must be below {_FEE_DENOMINATOR}")
    with _quiet():
        nxt, a_in, a_out, fee, err = compute_swap_step(
            _uint(sqrt_price_current_x96, 160, "sqrt_price_current_x96"),
            _uint(sqrt_price_target_x96, 160, "sqrt_price_target_x96"),
            _uint(liquidity, 128, "liquidity"),
            _int(amount_remaining, 256, "amount_remaining"),
            int(fee_pips),
        )
    _check(err, "SwapMath.computeSwapStep")
    return from_words(nxt), from_words(a_in), from_words(a_out), from_words(fee)


def nb_add_delta(x: int, y: int) -> int:
    """LiquidityMath.addDelta through the compiled kernel."""
    with _quiet():
        z, err = add_delta(_uint(x, 128, "x"), _int(y, 128, "y"))
    _check(err, "LiquidityMath.addDelta")
    return from_words(z)


def nb_next_initialized_tick_within_one_word(
    ticks: Sequence[int] | np.ndarray, tick: int, tick_spacing: int, lte: bool
) -> tuple[int, bool]:
    """TickBitmap.nextInitializedTickWithinOneWord from a sorted list of initialized ticks."""
    arr = np.asarray(ticks, dtype=np.int64)
    nxt, initialized, _ = next_initialized_tick_sorted(arr, int(tick), int(tick_spacing), bool(lte))
    return int(nxt), bool(initialized)


def replay_swaps(
    pool: Any,
    zero_for_one: Sequence[bool] | np.ndarray,
    amount_specified: Sequence[int] | np.ndarray,
    sqrt_price_limit_x96: Sequence[int] | np.ndarray,
) -> dict[str, Any]:
    """Replay swaps against a copy of a reference :class:`~asymlp_core.v3.Pool`'s state.

    The pool is read (slot0, liquidity, fee growth, fee protocol, initialized ticks with
    their liquidity net and fee growth outside), never modified.  ``amount_specified``
    and ``sqrt_price_limit_x96`` are Python ints or ``(n, 4)`` uint64 word arrays.

    Returns
    -------
    dict
        Per swap, as ``(n, 4)`` uint64 words unless noted: ``sqrt_price_x96``, ``tick``
        ((n,) int64), ``liquidity``, ``amount0`` and ``amount1`` (int256 two's complement),
        ``fee_growth_global0_x128``, ``fee_growth_global1_x128``, ``error`` ((n,) int64
        codes, see ``ERROR_REASONS``); ``ticks`` ((m,) int64) with the final
        ``fee_growth_outside0_x128``/``fee_growth_outside1_x128`` ((m, 4) words); and
        ``final``: the final pool state as Python ints (``sqrt_price_x96``, ``tick``,
        ``liquidity``, fee growth globals, ``protocol_fees0``/``protocol_fees1``).
    """
    z41 = np.ascontiguousarray(np.asarray(zero_for_one, dtype=np.bool_))
    n = z41.shape[0]

    def words(x: Any) -> np.ndarray:
        if isinstance(x, np.ndarray) and x.dtype == np.uint64 and x.ndim == 2:
            return np.ascontiguousarray(x)
        return ints_to_limbs(list(x))

    amounts = words(amount_specified)
    limits = words(sqrt_price_limit_x96)
    if amounts.shape[0] != n or limits.shape[0] != n:
        raise ValueError("zero_for_one, amount_specified and sqrt_price_limit_x96 differ in length")

    tick_list = list(pool.initialized_ticks())
    infos = [pool.tick_info(t) for t in tick_list]
    ticks = np.asarray(tick_list, dtype=np.int64)
    liquidity_net = ints_to_limbs([i.liquidity_net for i in infos])
    outside0 = ints_to_limbs([i.fee_growth_outside0_x128 for i in infos])
    outside1 = ints_to_limbs([i.fee_growth_outside1_x128 for i in infos])
    state_words = ints_to_limbs(
        [
            pool.sqrt_price_x96,
            pool.liquidity,
            pool.fee_growth_global0_x128,
            pool.fee_growth_global1_x128,
            pool.protocol_fees0,
            pool.protocol_fees1,
        ]
    )
    state_ints = np.array(
        [pool.tick, pool.fee, pool.tick_spacing, getattr(pool, "fee_protocol", 0)], dtype=np.int64
    )
    out = {
        "sqrt_price_x96": np.empty((n, 4), np.uint64),
        "tick": np.empty(n, np.int64),
        "liquidity": np.empty((n, 4), np.uint64),
        "amount0": np.empty((n, 4), np.uint64),
        "amount1": np.empty((n, 4), np.uint64),
        "fee_growth_global0_x128": np.empty((n, 4), np.uint64),
        "fee_growth_global1_x128": np.empty((n, 4), np.uint64),
        "error": np.empty(n, np.int64),
    }
    with _quiet():
        swap_replay(
            state_words, state_ints, ticks, liquidity_net, outside0, outside1,
            z41, amounts, limits,
            out["sqrt_price_x96"], out["tick"], out["liquidity"], out["amount0"], out["amount1"],
            out["fee_growth_global0_x128"], out["fee_growth_global1_x128"], out["error"],
        )  # fmt: skip
    out["ticks"] = ticks
    out["fee_growth_outside0_x128"] = outside0
    out["fee_growth_outside1_x128"] = outside1
    final = limbs_to_ints(state_words)
    out["final"] = {
        "sqrt_price_x96": final[STATE_SQRT_PRICE],
        "tick": int(state_ints[STATE_TICK]),
        "liquidity": final[STATE_LIQUIDITY],
        "fee_growth_global0_x128": final[STATE_FEE_GROWTH0],
        "fee_growth_global1_x128": final[STATE_FEE_GROWTH1],
        "protocol_fees0": final[STATE_PROTOCOL_FEES0],
        "protocol_fees1": final[STATE_PROTOCOL_FEES1],
    }
    return out
