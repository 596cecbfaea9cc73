"""Numba kernels for asymmetric Uniswap V3 ranges (float tier).

Contract
--------
Every function here is ``@njit(cache=True)``, takes scalars (or, for ``_1d`` forms, 1-d
float64 arrays plus caller-allocated output arrays) and returns scalars or tuples of scalars.
Nothing allocates, nothing reads module state other than the true constants below.  Inputs
are trusted: the Python API in :mod:`asymlp_core.ranges.api` validates them first.

Units
-----
``price`` is token1 per token0 in raw units, exactly as the pool defines it:
``price = 1.0001 ** tick`` and ``sqrt_price = sqrt(price)`` (the float of
``sqrt_price_x96 / 2**96``).  token0 is the risky asset in the examples (WETH in a WETH/USDC
pool), token1 the numeraire.  Liquidity ``L`` is in the pool's raw units
(``sqrt(amount0_raw * amount1_raw)``).  Budgets and values are in raw token1 units.

Quote model -> range
--------------------
Inside ``[P_a, P_b]`` a V3 position is a continuum of limit orders.  The part of the range
*below* the current price holds token1 and buys token0 as the price falls through it: it is a
bid ladder.  The part *above* holds token0 and sells it as the price rises: an ask ladder.
A market-making model (Avellaneda-Stoikov, GLFT) gives a reservation price ``r`` and
distances ``delta_bid``, ``delta_ask`` at which it wants to buy and sell, so

* the lower bound comes from ``r - delta_bid`` (deepest bid), the upper from
  ``r + delta_ask`` (farthest ask), both converted to ticks relative to ``tick(r)``;
* then the inventory skew moves the share of the width that lies above ``r``: with
  ``u = clip(q / q_max, -1, 1)`` and ``k = clip(skew * u, -1, 1)``, the upper share ``f``
  moves towards 1 by ``k * (1 - f)`` when long token0 (``k > 0``) and towards 0 by
  ``|k| * f`` when short.  Long token0 -> more range above the price, where the position
  sells token0 as the price rises; short -> more range below, where it buys token0.
  The width is unchanged by the skew;
* the width is clamped to ``[min_width, max_width]`` (both first aligned to the spacing:
  ``min`` rounded up, ``max`` rounded down, at least one spacing, at most the usable span);
* the lower bound is floored and the upper bound ceiled to the tick spacing (so the
  range covers the quote; the width may grow by up to a spacing per side); if the
  alignment pushed the width past a limit, whole spacings are removed (or added) on both
  sides in the proportion ``f : 1 - f``;
* if a bound falls outside the spacing-aligned usable ticks ``[-m, m]`` with
  ``m = (887272 // spacing) * spacing``, the range is shifted (not cut) back inside, so
  the width limits still hold.

The result always satisfies ``lower < upper``, both multiples of the spacing, both within
the usable bounds, ``upper - lower`` within the aligned ``[min_width, max_width]``.
"""

from __future__ import annotations

import math

from numba import njit

# TickMath.MIN_TICK / MAX_TICK: log base 1.0001 of 2**-128 and 2**128, truncated to int.
MIN_TICK = -887272
MAX_TICK = 887272
# ln(1.0001): converts natural-log price ratios into ticks.
LN_TICK_BASE = math.log(1.0001)
_INV_LN_TICK_BASE = 1.0 / LN_TICK_BASE
# Fast-math flags of the hot range kernels, decided here only: "contract" lets LLVM fuse
# a * b + c into one FMA (one rounding instead of two); no other IEEE rule is relaxed, so
# NaN/inf handling and the floor/ceil alignment are unaffected.  The same kernels use
# error_model="numpy" (no zero-division checks): every divisor there is > 0 by
# construction (r > 0 is validated, the shared series divisor is >= 3.5, the width and
# split divisions are guarded).
FASTMATH = {"contract"}
# A distance larger than any range can be (twice the tick domain); stands in for "infinite".
_FAR_TICKS = 2.0 * MAX_TICK


@njit(cache=True)
def usable_tick_bounds(tick_spacing):
    """Spacing-aligned (min_usable, max_usable) ticks: ``-+ (887272 // spacing) * spacing``."""
    hi = (MAX_TICK // tick_spacing) * tick_spacing
    return -hi, hi


@njit(cache=True)
def price_to_tick_float(price):
    """Fractional tick of a price: ``ln(price) / ln(1.0001)`` (no rounding)."""
    return math.log(price) / LN_TICK_BASE


@njit(cache=True)
def tick_to_price(tick):
    """Price at a (possibly fractional) tick: ``1.0001 ** tick``, computed as exp for accuracy."""
    return math.exp(tick * LN_TICK_BASE)


@njit(cache=True)
def tick_to_sqrt_price(tick):
    """Float sqrt price at a tick: ``1.0001 ** (tick / 2)``."""
    return math.exp(0.5 * tick * LN_TICK_BASE)


@njit(cache=True)
def aligned_width_limits(tick_spacing, min_width_ticks, max_width_ticks):
    """Width limits aligned to the spacing: min rounded up, max rounded down.

    Both are at least one spacing and at most the usable span; ``max >= min`` always.
    """
    lo_usable, hi_usable = usable_tick_bounds(tick_spacing)
    span = hi_usable - lo_usable
    s = tick_spacing
    wmin = ((min_width_ticks + s - 1) // s) * s
    if wmin < s:
        wmin = s
    if wmin > span:
        wmin = span
    wmax = (max_width_ticks // s) * s
    if wmax > span:
        wmax = span
    if wmax < wmin:
        wmax = wmin
    return wmin, wmax


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _two_atanh_series(y):
    """``2 atanh(y) = 2 (y + y^3/3 + ... + y^9/9)`` for ``|y| <= 0.0323``.

    ``log1p(x) = 2 atanh(x / (2 + x))``; with ``|x| <= 1/16`` the first omitted term is
    below ``1.2e-16`` relative, i.e. at rounding level.
    """
    y2 = y * y
    return 2.0 * y * (1.0 + y2 * (1.0 / 3.0 + y2 * (0.2 + y2 * (1.0 / 7.0 + y2 * (1.0 / 9.0)))))


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def asymmetric_range_ticks_prepared(
    reservation_price,
    delta_bid,
    delta_ask,
    inventory,
    inv_inventory_bound,
    skew,
    tick_spacing,
    inv_tick_spacing,
    wmin,
    wmax,
    lo_usable,
    hi_usable,
):
    """:func:`asymmetric_range_ticks` with its loop invariants computed by the caller.

    ``inv_inventory_bound = 1 / q_max``, ``inv_tick_spacing = 1 / spacing``,
    ``(wmin, wmax) = aligned_width_limits(...)`` and
    ``(lo_usable, hi_usable) = usable_tick_bounds(spacing)``.  Loops (the ``_1d`` form, a
    backtest) call this to keep integer divisions and reciprocals out of the per-element
    path; the result is identical to :func:`asymmetric_range_ticks`.
    """
    s = tick_spacing
    t_r = math.log(reservation_price) * _INV_LN_TICK_BASE
    t_r = min(max(t_r, float(MIN_TICK)), float(MAX_TICK))

    # distances in ticks below and above r: ln(1 + x) / ln(1.0001)
    inv_r = 1.0 / reservation_price
    x_b = delta_bid * inv_r
    x_a = delta_ask * inv_r
    if x_b <= 0.0625 and x_a <= 0.0625:
        # usual case (quotes within 6% of r): log1p(x) = 2 atanh(x / (2 + x)) by a short
        # series, one division shared by both sides
        inv = 1.0 / ((2.0 + x_a) * (2.0 - x_b))
        d_hi = _two_atanh_series(x_a * (2.0 - x_b) * inv) * _INV_LN_TICK_BASE
        d_lo = _two_atanh_series(x_b * (2.0 + x_a) * inv) * _INV_LN_TICK_BASE
    else:
        d_hi = min(math.log1p(x_a) * _INV_LN_TICK_BASE, _FAR_TICKS)
        if x_b < 1.0:
            d_lo = min(-math.log1p(-x_b) * _INV_LN_TICK_BASE, _FAR_TICKS)
        else:
            d_lo = _FAR_TICKS

    # inventory skew: the upper share f = d_hi / W moves to f + k+ (1 - f) - k- f, written
    # as tick distances so that no division (and no branch on the sign of k, which follows
    # the inventory and would be mispredicted half of the time) is needed
    u = min(max(inventory * inv_inventory_bound, -1.0), 1.0)
    k = min(max(skew * u, -1.0), 1.0)
    k_pos = max(k, 0.0)
    k_neg = -min(k, 0.0)
    below = d_lo - k_pos * d_lo + k_neg * d_hi
    above = d_hi + k_pos * d_lo - k_neg * d_hi
    width = d_lo + d_hi
    if width < wmin or width > wmax:
        # clamp the width, keeping the skewed split
        f_up = above / width if width > 0.0 else 0.5 + 0.5 * k
        width = min(max(width, float(wmin)), float(wmax))
        above = f_up * width
        below = width - above

    lower = int(math.floor((t_r - below) * inv_tick_spacing)) * s
    upper = int(math.ceil((t_r + above) * inv_tick_spacing)) * s

    w = upper - lower
    if w > wmax or w < wmin:
        # alignment pushed the width past a limit: whole spacings off (or on) both sides
        f_up = above / (above + below) if above + below > 0.0 else 0.5
        if w > wmax:
            n = (w - wmax) // s
            n_hi = int(math.floor(n * f_up + 0.5))
            upper -= n_hi * s
            lower += (n - n_hi) * s
        else:
            n = (wmin - w) // s
            n_hi = int(math.floor(n * f_up + 0.5))
            upper += n_hi * s
            lower -= (n - n_hi) * s

    # shift (not cut) into the usable domain so the width limits still hold
    if lower < lo_usable:
        upper += lo_usable - lower
        lower = lo_usable
    if upper > hi_usable:
        lower -= upper - hi_usable
        upper = hi_usable
    return lower, upper


@njit(cache=True)
def asymmetric_range_ticks(
    reservation_price,
    delta_bid,
    delta_ask,
    inventory,
    inventory_bound,
    skew,
    tick_spacing,
    min_width_ticks,
    max_width_ticks,
):
    """Asymmetric ``(tick_lower, tick_upper)`` from a quote and the inventory.

    Parameters
    ----------
    reservation_price : float
        ``r`` in token1 per token0 (raw), > 0.
    delta_bid, delta_ask : float
        Bid and ask distances from ``r`` in price units, >= 0.  ``delta_bid >= r`` means
        "bid down to zero" and maps to the far end of the tick domain.
    inventory : float
        Signed token0 inventory relative to target (long > 0).
    inventory_bound : float
        ``q_max`` > 0; ``|q| >= q_max`` gives the full skew.
    skew : float
        Skew strength in [0, 1]: the fraction of the width moved to the shedding side at
        full inventory.
    tick_spacing, min_width_ticks, max_width_ticks : int
        Pool spacing and width limits in ticks (see the module docstring for alignment).

    Returns
    -------
    (int, int)
        ``tick_lower < tick_upper``, both multiples of ``tick_spacing``.
    """
    lo_usable, hi_usable = usable_tick_bounds(tick_spacing)
    wmin, wmax = aligned_width_limits(tick_spacing, min_width_ticks, max_width_ticks)
    return asymmetric_range_ticks_prepared(
        reservation_price, delta_bid, delta_ask, inventory, 1.0 / inventory_bound, skew,
        tick_spacing, 1.0 / tick_spacing, wmin, wmax, lo_usable, hi_usable,
    )


@njit(cache=True)
def asymmetric_range_ticks_1d(
    reservation_price,
    delta_bid,
    delta_ask,
    inventory,
    inventory_bound,
    skew,
    tick_spacing,
    min_width_ticks,
    max_width_ticks,
    out_lower,
    out_upper,
):
    """:func:`asymmetric_range_ticks` over arrays; fills ``out_lower``/``out_upper`` (int64).

    Returns the number of elements written (``len(reservation_price)``).
    """
    n = reservation_price.shape[0]
    lo_usable, hi_usable = usable_tick_bounds(tick_spacing)
    wmin, wmax = aligned_width_limits(tick_spacing, min_width_ticks, max_width_ticks)
    inv_qb = 1.0 / inventory_bound
    inv_s = 1.0 / tick_spacing
    for i in range(n):
        lo, hi = asymmetric_range_ticks_prepared(
            reservation_price[i], delta_bid[i], delta_ask[i], inventory[i], inv_qb, skew,
            tick_spacing, inv_s, wmin, wmax, lo_usable, hi_usable,
        )
        out_lower[i] = lo
        out_upper[i] = hi
    return n


@njit(cache=True)
def position_amounts(liquidity, sqrt_price, sqrt_lower, sqrt_upper):
    """Token amounts (amount0, amount1) held by ``liquidity`` at a float sqrt price.

    Below the range all token0: ``L (1/sa - 1/sb)``; above all token1: ``L (sb - sa)``;
    inside ``x = L (1/s - 1/sb)``, ``y = L (s - sa)``.  Float counterpart of
    LiquidityAmounts.getAmountsForLiquidity (no rounding).
    """
    if sqrt_price <= sqrt_lower:
        return liquidity * (1.0 / sqrt_lower - 1.0 / sqrt_upper), 0.0
    if sqrt_price >= sqrt_upper:
        return 0.0, liquidity * (sqrt_upper - sqrt_lower)
    return (
        liquidity * (1.0 / sqrt_price - 1.0 / sqrt_upper),
        liquidity * (sqrt_price - sqrt_lower),
    )


@njit(cache=True)
def position_value(liquidity, sqrt_price, sqrt_lower, sqrt_upper):
    """Value of the position in token1 at the price ``sqrt_price**2``: ``x * P + y``."""
    x, y = position_amounts(liquidity, sqrt_price, sqrt_lower, sqrt_upper)
    return x * sqrt_price * sqrt_price + y


@njit(cache=True)
def liquidity_for_budget(budget1, sqrt_price, sqrt_lower, sqrt_upper):
    """Liquidity and amounts that a budget (token1 at the current price) buys in a range.

    ``L = budget / v`` with ``v = x(1) * P + y(1)`` the value of one unit of liquidity.
    Returns ``(liquidity, amount0, amount1)`` as floats; ``amount0 * P + amount1 == budget``
    up to rounding.  Research tier: execution uses the exact-tier
    :func:`asymlp_core.ranges.api.liquidity_for_budget_exact`.
    """
    v = position_value(1.0, sqrt_price, sqrt_lower, sqrt_upper)
    liq = budget1 / v
    x, y = position_amounts(liq, sqrt_price, sqrt_lower, sqrt_upper)
    return liq, x, y
