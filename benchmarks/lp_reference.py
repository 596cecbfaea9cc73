"""In-run references of the LP backtest benchmarks (not a test module)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def bare_daily_recentred_range_1d(price, volume1, pool_liquidity, fee, budget, half_width, bars_per_day, out):
    """Bare Numba loop: fees and impermanent loss of a range re-centred once a day.

    The yardstick the LP backtester is compared with: no model, no triggers, no hedge, one
    output row of (value, fees, il) per bar.
    """
    n = price.shape[0]
    liq = 0.0
    sa = 1.0
    sb = 1.0
    x0 = 0.0
    y0 = 0.0
    fees = 0.0
    for i in range(n):
        p = price[i]
        s = math.sqrt(p)
        if i % bars_per_day == 0:
            value = budget + fees
            sa = s * (1.0 - half_width)
            sb = s / (1.0 - half_width)
            unit = (1.0 / s - 1.0 / sb) * p + (s - sa)
            liq = value / unit
            x0 = liq * (1.0 / s - 1.0 / sb)
            y0 = liq * (s - sa)
        if s <= sa:
            x = liq * (1.0 / sa - 1.0 / sb)
            y = 0.0
            inside = 0.0
        elif s >= sb:
            x = 0.0
            y = liq * (sb - sa)
            inside = 0.0
        else:
            x = liq * (1.0 / s - 1.0 / sb)
            y = liq * (s - sa)
            inside = 1.0
        fees += fee * volume1[i] * liq / (liq + pool_liquidity) * inside
        v = x * p + y
        out[i, 0] = v
        out[i, 1] = fees
        out[i, 2] = v - (x0 * p + y0)
    return n


def naive_python_lp(price, volume1, pool_liquidity, fee, budget, half_width, bars_per_day):
    """The same computation in plain Python: the pure-Python reference for the speed ratio."""
    n = len(price)
    out = []
    liq = sa = sb = x0 = y0 = fees = 0.0
    for i in range(n):
        p = float(price[i])
        s = math.sqrt(p)
        if i % bars_per_day == 0:
            value = budget + fees
            sa, sb = s * (1.0 - half_width), s / (1.0 - half_width)
            liq = value / ((1.0 / s - 1.0 / sb) * p + (s - sa))
            x0, y0 = liq * (1.0 / s - 1.0 / sb), liq * (s - sa)
        if s <= sa:
            x, y, inside = liq * (1.0 / sa - 1.0 / sb), 0.0, 0.0
        elif s >= sb:
            x, y, inside = 0.0, liq * (sb - sa), 0.0
        else:
            x, y, inside = liq * (1.0 / s - 1.0 / sb), liq * (s - sa), 1.0
        fees += fee * float(volume1[i]) * liq / (liq + pool_liquidity) * inside
        v = x * p + y
        out.append((v, fees, v - (x0 * p + y0)))
    return np.array(out)
