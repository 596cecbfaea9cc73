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
* the lower bound is floored and the upper bound ceiled to the tick spacing; if the
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
    s = tick_spacing
    lo_usable, hi_usable = usable_tick_bounds(s)
    wmin, wmax = aligned_width_limits(s, min_width_ticks, max_width_ticks)

    t_r = math.log(reservation_price) / LN_TICK_BASE
    if t_r < MIN_TICK:
        t_r = float(MIN_TICK)
    elif t_r > MAX_TICK:
        t_r = float(MAX_TICK)

    # distances in ticks below and above r
    x_b = delta_bid / reservation_price
    if x_b < 1.0:
        d_lo = -math.log1p(-x_b) / LN_TICK_BASE
    else:
        d_lo = _FAR_TICKS
    d_hi = math.log1p(delta_ask / reservation_price) / LN_TICK_BASE
    d_lo = min(max(d_lo, 0.0), _FAR_TICKS)
    d_hi = min(max(d_hi, 0.0), _FAR_TICKS)
    width = d_lo + d_hi
    f_up = d_hi / width if width > 0.0 else 0.5

    # inventory skew: move the upper share towards 1 (long) or 0 (short)
    u = inventory / inventory_bound
    k = skew * min(max(u, -1.0), 1.0)
    k = min(max(k, -1.0), 1.0)
    if k > 0.0:
        f_up = f_up + k * (1.0 - f_up)
    else:
        f_up = f_up + k * f_up
    f_up = min(max(f_up, 0.0), 1.0)

    width = min(max(width, float(wmin)), float(wmax))
    lower_f = t_r - (1.0 - f_up) * width
    upper_f = t_r + f_up * width
    lower = int(math.floor(lower_f / s)) * s
    upper = int(math.ceil(upper_f / s)) * s

    w = upper - lower
    if w > wmax:
        n = (w - wmax) // s
        n_hi = int(math.floor(n * f_up + 0.5))
        upper -= n_hi * s
        lower += (n - n_hi) * s
    elif w < wmin:
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
    for i in range(n):
        lo, hi = asymmetric_range_ticks(
            reservation_price[i],
            delta_bid[i],
            delta_ask[i],
            inventory[i],
            inventory_bound,
            skew,
            tick_spacing,
            min_width_ticks,
            max_width_ticks,
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
