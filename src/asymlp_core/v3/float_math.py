"""Uniswap V3 math in float64: the research tier (Numba kernels, scalar and ``_1d`` forms).

The same formulas as the exact tier (:mod:`asymlp_core.v3`), evaluated in IEEE double
precision for research and vectorised backtests. Conventions:

* Prices are raw token1 per raw token0 (``1.0001**tick``), not adjusted for decimals; sqrt
  prices are plain floats ``sqrt(price)``, not Q64.96. Liquidity and token amounts are raw
  units (wei-like) as in the exact tier, held as floats. Use :func:`sqrt_price_x96_to_float`
  and :func:`float_to_sqrt_price_x96` to cross between the tiers and
  :func:`price_to_human` / :func:`price_from_human` for decimals.
* Argument order mirrors the contracts: current sqrt price, then the range's lower and upper
  sqrt prices, then liquidity or amounts. ``sqrt_price_a`` and ``sqrt_price_b`` may come in
  either order, as in ``LiquidityAmounts``.
* Rounding: every result is the nearest float to the real-valued formula, within the error
  bound stated per function; there is no directional rounding. The exact tier rounds in the
  pool's favour (amounts owed to the pool up, amounts paid out and liquidity minted down,
  swap prices against the trader), so float results sit on either side of it; a float amount
  must not be sent to a contract as a limit without a margin.
* Error bounds are stated against the real-valued formula on the float inputs and, where it
  matters, against the exact tier, whose own integer quantisation (Q64.96 sqrt prices, floored
  or ceiled integer amounts) adds the terms named in each docstring. ``EPS = 2**-52``.
  The bounds are verified by ``tests/test_v3_float.py`` with a margin.
* Kernels are ``@njit(cache=True)`` without fastmath; invalid input (a non-positive price, a
  tick outside [MIN_TICK, MAX_TICK]) raises ``ValueError``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: Tick bounds of the contracts (log base 1.0001 of 2**-128 and 2**128, truncated).
MIN_TICK = -887272
MAX_TICK = 887272
#: Hundredths of a bip: the fee unit of the contracts.
FEE_DENOMINATOR = 1_000_000.0
#: ln(1.0001) split in a head with 33 significant bits (so that ``tick * head`` is exact for
#: every |tick| < 2**20) and the float nearest to the remainder: together ~100 bits of ln(1.0001)
#: = 0.0000999950003333083353331666809511310634820644...
LN_1_0001_HEAD = 9.999500034041375e-05  # 0x1.a368d06600000p-14
LN_1_0001_TAIL = -7.1054179593566435e-15
_Q96_FLOAT = 2.0**96


# ----------------------------------------------------------------------------- ticks and prices
@njit(cache=True)
def _price_unchecked(t: float) -> float:
    # exp(t*tail) = 1 + t*tail + O((t*tail)**2): |t*tail| <= 6.3e-9, so the dropped term is
    # below 2e-17 relative; t*head is exact (33-bit head, |t| < 2**20).
    return math.exp(t * LN_1_0001_HEAD) * (1.0 + t * LN_1_0001_TAIL)


@njit(cache=True)
def _sqrt_price_unchecked(t: float) -> float:
    return math.exp(t * (0.5 * LN_1_0001_HEAD)) * (1.0 + t * (0.5 * LN_1_0001_TAIL))


@njit(cache=True)
def _check_tick_range_1d(ticks: np.ndarray) -> None:
    for i in range(ticks.shape[0]):
        if ticks[i] < MIN_TICK or ticks[i] > MAX_TICK:
            raise ValueError("tick outside [MIN_TICK, MAX_TICK]")


@njit(cache=True)
def tick_to_sqrt_price(tick: int) -> float:
    """sqrt(1.0001**tick) as a float.

    Computed as ``exp(tick*head/2) * (1 + tick*tail/2)`` with ln(1.0001) split so that the first
    product is exact: relative error <= 4 EPS (9e-16) against the real value over the whole
    tick range. Against the exact tier ``get_sqrt_ratio_at_tick(tick) / 2**96`` add the tier's
    quantisation, 1 / get_sqrt_ratio_at_tick(tick) relative (it rounds the Q64.96 value up):
    up to 2.3e-10 at MIN_TICK, below 1e-15 for ticks above -345,000.
    """
    if tick < MIN_TICK or tick > MAX_TICK:
        raise ValueError("tick outside [MIN_TICK, MAX_TICK]")
    return _sqrt_price_unchecked(float(tick))


@njit(cache=True)
def tick_to_price(tick: int) -> float:
    """1.0001**tick (raw token1 per raw token0) as a float.

    Relative error <= 4 EPS (9e-16) against the real value (same split as
    :func:`tick_to_sqrt_price`, not its square). Against the square of the exact tier's
    sqrt ratio add 2 / get_sqrt_ratio_at_tick(tick) relative (up to 4.7e-10 at MIN_TICK).
    """
    if tick < MIN_TICK or tick > MAX_TICK:
        raise ValueError("tick outside [MIN_TICK, MAX_TICK]")
    return _price_unchecked(float(tick))


@njit(cache=True)
def price_to_tick(price: float) -> int:
    """The greatest tick whose :func:`tick_to_price` is <= ``price`` (a floor, as the contract).

    The floor is taken against this module's own :func:`tick_to_price`, so
    ``price_to_tick(tick_to_price(k)) == k`` for every tick k. Against the exact tier
    (``get_tick_at_sqrt_ratio``) the tick can differ by one only when ``price`` lies within
    the combined error of the two boundaries: 4 EPS relative plus the exact tier's
    quantisation (see :func:`tick_to_price`). Prices outside [tick_to_price(MIN_TICK),
    tick_to_price(MAX_TICK)] are clamped to MIN_TICK (below) or MAX_TICK (at or above);
    a non-positive or non-finite price raises ``ValueError``.
    """
    if not (price > 0.0) or not math.isfinite(price):
        raise ValueError("price must be positive and finite")
    guess = math.floor(math.log(price) / (LN_1_0001_HEAD + LN_1_0001_TAIL))
    if guess < MIN_TICK:
        return MIN_TICK
    if guess > MAX_TICK:
        return MAX_TICK
    tick = int(guess)
    # the guess is off by at most one either way near a boundary: settle it with tick_to_price
    while tick < MAX_TICK and tick_to_price(tick + 1) <= price:
        tick += 1
    while tick > MIN_TICK and tick_to_price(tick) > price:
        tick -= 1
    return tick


@njit(cache=True)
def sqrt_price_to_tick(sqrt_price: float) -> int:
    """The greatest tick whose :func:`tick_to_sqrt_price` is <= ``sqrt_price`` (a floor).

    The float analogue of ``get_tick_at_sqrt_ratio``; the same guarantees as
    :func:`price_to_tick` with :func:`tick_to_sqrt_price` as the boundary
    (``sqrt_price_to_tick(tick_to_sqrt_price(k)) == k``).
    """
    if not (sqrt_price > 0.0) or not math.isfinite(sqrt_price):
        raise ValueError("sqrt price must be positive and finite")
    guess = math.floor(2.0 * math.log(sqrt_price) / (LN_1_0001_HEAD + LN_1_0001_TAIL))
    if guess < MIN_TICK:
        return MIN_TICK
    if guess > MAX_TICK:
        return MAX_TICK
    tick = int(guess)
    while tick < MAX_TICK and tick_to_sqrt_price(tick + 1) <= sqrt_price:
        tick += 1
    while tick > MIN_TICK and tick_to_sqrt_price(tick) > sqrt_price:
        tick -= 1
    return tick


@njit(cache=True)
def sqrt_price_to_price(sqrt_price: float) -> float:
    """sqrt_price**2 (one rounding: relative error <= EPS/2)."""
    return sqrt_price * sqrt_price


@njit(cache=True)
def price_to_sqrt_price(price: float) -> float:
    """sqrt(price) (correctly rounded: relative error <= EPS/2)."""
    return math.sqrt(price)


# ----------------------------------------------------------------------------- liquidity <-> amounts
@njit(cache=True)
def liquidity_for_amount0(sqrt_price_a: float, sqrt_price_b: float, amount0: float) -> float:
    """Liquidity ``amount0 * sa * sb / (sb - sa)`` for token0 over [sa, sb] (float sqrt prices).

    Relative error <= EPS * (4 + k) with k = (sb + sa) / (sb - sa) the conditioning of the
    range width, counting the rounding of sqrt prices given as floats of Q64.96 values
    (k ~ 40,000 for a one-tick range, ~4,000 for ten ticks). The exact tier floors twice
    (``mulDiv(sa, sb, Q96)`` then ``mulDiv(amount0, ., sb - sa)``), so it sits below the real
    value by up to ``1 + amount0 / (sb_x96 - sa_x96)`` units.
    """
    lo = min(sqrt_price_a, sqrt_price_b)
    hi = max(sqrt_price_a, sqrt_price_b)
    return amount0 * (lo * hi) / (hi - lo)


@njit(cache=True)
def liquidity_for_amount1(sqrt_price_a: float, sqrt_price_b: float, amount1: float) -> float:
    """Liquidity ``amount1 / (sb - sa)`` for token1 over [sa, sb].

    Relative error <= EPS * (2 + k), k as in :func:`liquidity_for_amount0`. The exact tier
    floors once (``mulDiv(amount1, Q96, sb - sa)``): up to 1 unit below the real value.
    """
    lo = min(sqrt_price_a, sqrt_price_b)
    hi = max(sqrt_price_a, sqrt_price_b)
    return amount1 / (hi - lo)


@njit(cache=True)
def liquidity_for_amounts(
    sqrt_price: float, sqrt_price_a: float, sqrt_price_b: float, amount0: float, amount1: float
) -> float:
    """The largest liquidity that ``amount0`` and ``amount1`` fund at ``sqrt_price`` over [sa, sb].

    Below the range only token0 counts, above it only token1, inside it the smaller of the
    two (``LiquidityAmounts.getLiquidityForAmounts``). Error bounds as
    :func:`liquidity_for_amount0` / :func:`liquidity_for_amount1`, with k taken over the
    sub-range actually used ([s, sb] or [sa, s]). Where the two candidates inside the range
    are within that error of each other the float tier may pick the other side than the
    exact tier; the value still agrees within the bound.
    """
    lo = min(sqrt_price_a, sqrt_price_b)
    hi = max(sqrt_price_a, sqrt_price_b)
    if sqrt_price <= lo:
        return liquidity_for_amount0(lo, hi, amount0)
    if sqrt_price < hi:
        l0 = liquidity_for_amount0(sqrt_price, hi, amount0)
        l1 = liquidity_for_amount1(lo, sqrt_price, amount1)
        return l0 if l0 < l1 else l1
    return liquidity_for_amount1(lo, hi, amount1)


@njit(cache=True)
def amount0_for_liquidity(sqrt_price_a: float, sqrt_price_b: float, liquidity: float) -> float:
    """Token0 ``liquidity * (sb - sa) / (sa * sb)`` held over [sa, sb].

    Absolute error <= 4 EPS * liquidity * (1/sa + 1/sb) (the cancellation in sb - sa is
    absorbed in this scale; relative to the result that is EPS * (4 + k)). The exact tier
    floors twice: up to 2 units below the real value.
    """
    lo = min(sqrt_price_a, sqrt_price_b)
    hi = max(sqrt_price_a, sqrt_price_b)
    return liquidity * (hi - lo) / (hi * lo)


@njit(cache=True)
def amount1_for_liquidity(sqrt_price_a: float, sqrt_price_b: float, liquidity: float) -> float:
    """Token1 ``liquidity * (sb - sa)`` held over [sa, sb].

    Absolute error <= 3 EPS * liquidity * (sa + sb). The exact tier floors once: up to
    1 unit below the real value.
    """
    lo = min(sqrt_price_a, sqrt_price_b)
    hi = max(sqrt_price_a, sqrt_price_b)
    return liquidity * (hi - lo)


@njit(cache=True)
def amounts_for_liquidity(
    sqrt_price: float, sqrt_price_a: float, sqrt_price_b: float, liquidity: float
) -> tuple[float, float]:
    """``(amount0, amount1)`` held by ``liquidity`` over [sa, sb] at ``sqrt_price``.

    Below the range all token0, above it all token1, inside it token0 over [s, sb] and token1
    over [sa, s] (``LiquidityAmounts.getAmountsForLiquidity``). Error bounds of
    :func:`amount0_for_liquidity` and :func:`amount1_for_liquidity` on the sub-range used.
    """
    lo = sqrt_price_a if sqrt_price_a < sqrt_price_b else sqrt_price_b
    hi = sqrt_price_b if sqrt_price_a < sqrt_price_b else sqrt_price_a
    # clamped to the range with selects (no branches, so the _1d loop vectorises); the same
    # formulas as amount0_for_liquidity(s, hi) and amount1_for_liquidity(lo, s)
    s = sqrt_price if sqrt_price > lo else lo
    s = s if s < hi else hi
    return liquidity * (hi - s) / (hi * s), liquidity * (s - lo)


# ----------------------------------------------------------------------------- swap within one range
@njit(cache=True)
def swap_exact_input_within_range(
    sqrt_price: float, liquidity: float, amount_in: float, fee_pips: float, zero_for_one: bool
) -> tuple[float, float]:
    """Swap ``amount_in`` (fee included) against constant ``liquidity``: ``(sqrt_price_next, amount_out)``.

    The fee ``amount_in * fee_pips / 1e6`` is taken first; the rest moves the price as in
    ``SqrtPriceMath.getNextSqrtPriceFromInput``, with no tick crossed (the caller keeps the
    swap inside one initialized range). Written without cancellation:

    * token0 in: ``s' = L s / (L + a s)``, ``out1 = L a s**2 / (L + a s)``;
    * token1 in: ``s' = s + a / L``, ``out0 = a / (s s')``;

    with ``a`` the input after fee. Relative error of ``s'`` and ``out`` <= 8 EPS (1.8e-15)
    against the real values. The exact tier rounds ``s'`` against the trader by up to one
    Q64.96 unit and floors ``out`` (and ceils the fee), so against it add
    ``1 / s'_x96`` relative on the price and ``1 + L * |d out / d s'| / 2**96`` units on the
    amount out (derivative: ``1`` for token1 out, ``1 / s'**2`` for token0 out).
    """
    a = amount_in * (1.0 - fee_pips / FEE_DENOMINATOR)
    if zero_for_one:
        denom = liquidity + a * sqrt_price
        sqrt_next = liquidity * sqrt_price / denom
        amount_out = liquidity * a * sqrt_price * sqrt_price / denom
    else:
        sqrt_next = sqrt_price + a / liquidity
        amount_out = a / (sqrt_price * sqrt_next)
    return sqrt_next, amount_out


# ----------------------------------------------------------------------------- 1-d forms
# The caller allocates the outputs (``np.empty(n)``) and may reuse them across calls: a fresh
# 8 MB buffer per call costs more in page faults than the arithmetic. Each kernel fills its
# outputs and returns them.
@njit(cache=True)
def tick_to_sqrt_price_1d(ticks: np.ndarray, out: np.ndarray) -> np.ndarray:
    """:func:`tick_to_sqrt_price` over an integer array into ``out`` (float64)."""
    _check_tick_range_1d(ticks)
    for i in range(ticks.shape[0]):
        out[i] = _sqrt_price_unchecked(float(ticks[i]))
    return out


@njit(cache=True)
def tick_to_price_1d(ticks: np.ndarray, out: np.ndarray) -> np.ndarray:
    """:func:`tick_to_price` over an integer array into ``out`` (float64)."""
    _check_tick_range_1d(ticks)
    for i in range(ticks.shape[0]):
        out[i] = _price_unchecked(float(ticks[i]))
    return out


@njit(cache=True)
def price_to_tick_1d(prices: np.ndarray, out: np.ndarray) -> np.ndarray:
    """:func:`price_to_tick` over a float array into ``out`` (int64)."""
    for i in range(prices.shape[0]):
        out[i] = price_to_tick(prices[i])
    return out


@njit(cache=True)
def sqrt_price_to_tick_1d(sqrt_prices: np.ndarray, out: np.ndarray) -> np.ndarray:
    """:func:`sqrt_price_to_tick` over a float array into ``out`` (int64)."""
    for i in range(sqrt_prices.shape[0]):
        out[i] = sqrt_price_to_tick(sqrt_prices[i])
    return out


@njit(cache=True)
def liquidity_for_amounts_1d(
    sqrt_prices: np.ndarray,
    sqrt_price_a: np.ndarray,
    sqrt_price_b: np.ndarray,
    amount0: np.ndarray,
    amount1: np.ndarray,
    out: np.ndarray,
) -> np.ndarray:
    """:func:`liquidity_for_amounts` elementwise over equal-length arrays into ``out``."""
    for i in range(sqrt_prices.shape[0]):
        out[i] = liquidity_for_amounts(
            sqrt_prices[i], sqrt_price_a[i], sqrt_price_b[i], amount0[i], amount1[i]
        )
    return out


@njit(cache=True)
def amounts_for_liquidity_1d(
    sqrt_prices: np.ndarray,
    sqrt_price_a: float,
    sqrt_price_b: float,
    liquidity: float,
    out_amount0: np.ndarray,
    out_amount1: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`amounts_for_liquidity` of one position along a path of sqrt prices, into the outputs."""
    for i in range(sqrt_prices.shape[0]):
        out_amount0[i], out_amount1[i] = amounts_for_liquidity(
            sqrt_prices[i], sqrt_price_a, sqrt_price_b, liquidity
        )
    return out_amount0, out_amount1


@njit(cache=True)
def swap_exact_input_within_range_1d(
    sqrt_prices: np.ndarray,
    liquidity: np.ndarray,
    amount_in: np.ndarray,
    fee_pips: float,
    zero_for_one: bool,
    out_sqrt_price: np.ndarray,
    out_amount: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`swap_exact_input_within_range` elementwise, into ``(out_sqrt_price, out_amount)``."""
    for i in range(sqrt_prices.shape[0]):
        out_sqrt_price[i], out_amount[i] = swap_exact_input_within_range(
            sqrt_prices[i], liquidity[i], amount_in[i], fee_pips, zero_for_one
        )
    return out_sqrt_price, out_amount


# ----------------------------------------------------------------------------- Python helpers
def sqrt_price_x96_to_float(sqrt_price_x96: int) -> float:
    """A Q64.96 sqrt price (Python int) as a float sqrt price, correctly rounded.

    Python's int / int true division rounds once, so the relative error is <= EPS/2.
    """
    return sqrt_price_x96 / (1 << 96)


def float_to_sqrt_price_x96(sqrt_price: float) -> int:
    """A float sqrt price as a Q64.96 integer (floored; the float times 2**96 is exact)."""
    if not (sqrt_price > 0.0) or not math.isfinite(sqrt_price):
        raise ValueError("sqrt price must be positive and finite")
    return math.floor(math.ldexp(sqrt_price, 96))


def q128_to_float(value_x128: int) -> float:
    """A Q128.128 value (fee growth) as a float, correctly rounded."""
    return value_x128 / (1 << 128)


def price_to_human(price, decimals0: int, decimals1: int):
    """Raw price (raw token1 per raw token0) -> human price (whole token1 per whole token0).

    ``price * 10**(decimals0 - decimals1)``; works on floats and NumPy arrays. Example: the
    USDC(6)/WETH(18) pool's raw price 1.0001**tick is ``price_to_human(p, 6, 18)`` WETH per USDC.
    """
    return price * 10.0 ** (decimals0 - decimals1)


def price_from_human(price_human, decimals0: int, decimals1: int):
    """Human price (whole token1 per whole token0) -> raw price; the inverse of :func:`price_to_human`."""
    return price_human * 10.0 ** (decimals1 - decimals0)
