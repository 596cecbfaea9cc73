"""Numba kernels of :mod:`asymlp_core.models` (kernels only, no validation).

Contract
--------
- Every kernel is ``@njit(cache=True)``: float64 scalars and 1-d float64/int64 arrays
  in, scalars out or a caller-allocated output buffer filled in place.
- Kernels never validate: the typed API in the sibling modules checks finiteness,
  signs and shapes and raises ``ValueError`` naming the argument.
- ``_1d`` kernels take parameter arrays of length ``n`` or of length 1 (a length-1
  array is broadcast, so the Python layer never materialises repeated scalars); all
  outputs have length ``n``.
- A side that must not be quoted (inventory bound reached, or a log argument of the
  stationary Avellaneda-Stoikov form that is not positive) is returned as ``NaN``.
- ``error_model="numpy"``: a float division by zero gives ``inf``/``NaN`` instead of
  raising, so the loops stay branch-free and vectorisable. ``fastmath`` stays off in
  this module because NaN is a signal here (fast-math may assume no NaN).

Units: prices, depths and ``sigma`` share one price unit; ``sigma`` is per square
root of the time unit in which ``tau``/``A`` (per time unit) are expressed.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------
# Avellaneda-Stoikov (2008), finite horizon
# ---------------------------------------------------------------------------


@njit(cache=True, error_model="numpy")
def as_reservation_price_nb(mid, inventory, gamma, sigma, tau):
    """Indifference (reservation) price r = s - q*gamma*sigma^2*tau."""
    return mid - inventory * gamma * sigma * sigma * tau


@njit(cache=True, error_model="numpy")
def as_arrival_spread_nb(gamma, k):
    """Order-arrival part of the total spread: (2/gamma)*ln(1 + gamma/k).

    Written with ``log1p`` so that small ``gamma/k`` keeps full precision; the
    ``gamma -> 0`` limit is 2/k.
    """
    if gamma == 0.0:
        return 2.0 / k
    return 2.0 / gamma * math.log1p(gamma / k)


@njit(cache=True, error_model="numpy")
def as_optimal_spread_nb(gamma, sigma, tau, k):
    """Total bid-ask spread: gamma*sigma^2*tau + (2/gamma)*ln(1 + gamma/k)."""
    return gamma * sigma * sigma * tau + as_arrival_spread_nb(gamma, k)


@njit(cache=True, error_model="numpy")
def as_quotes_nb(mid, inventory, gamma, sigma, tau, k, q_max):
    """(bid, ask) = r -/+ spread/2; NaN bid when q >= q_max, NaN ask when q <= -q_max."""
    r = as_reservation_price_nb(mid, inventory, gamma, sigma, tau)
    half = 0.5 * as_optimal_spread_nb(gamma, sigma, tau, k)
    bid = r - half
    ask = r + half
    if inventory >= q_max:
        bid = np.nan
    if inventory <= -q_max:
        ask = np.nan
    return bid, ask


@njit(cache=True, error_model="numpy")
def as_reservation_price_1d(mid, inventory, gamma, sigma, tau, out):
    n = out.shape[0]
    s0 = 1 if mid.shape[0] > 1 else 0
    s1 = 1 if inventory.shape[0] > 1 else 0
    s2 = 1 if gamma.shape[0] > 1 else 0
    s3 = 1 if sigma.shape[0] > 1 else 0
    s4 = 1 if tau.shape[0] > 1 else 0
    for i in range(n):
        g = gamma[i * s2]
        sg = sigma[i * s3]
        out[i] = mid[i * s0] - inventory[i * s1] * g * sg * sg * tau[i * s4]
    return n


@njit(cache=True, error_model="numpy")
def as_optimal_spread_1d(gamma, sigma, tau, k, out):
    n = out.shape[0]
    s0 = 1 if gamma.shape[0] > 1 else 0
    s1 = 1 if sigma.shape[0] > 1 else 0
    s2 = 1 if tau.shape[0] > 1 else 0
    s3 = 1 if k.shape[0] > 1 else 0
    for i in range(n):
        out[i] = as_optimal_spread_nb(gamma[i * s0], sigma[i * s1], tau[i * s2], k[i * s3])
    return n


@njit(cache=True, error_model="numpy")
def as_quotes_1d(mid, inventory, gamma, sigma, tau, k, q_max, bid_out, ask_out):
    n = bid_out.shape[0]
    s0 = 1 if mid.shape[0] > 1 else 0
    s1 = 1 if inventory.shape[0] > 1 else 0
    s2 = 1 if gamma.shape[0] > 1 else 0
    s3 = 1 if sigma.shape[0] > 1 else 0
    s4 = 1 if tau.shape[0] > 1 else 0
    s5 = 1 if k.shape[0] > 1 else 0
    s6 = 1 if q_max.shape[0] > 1 else 0
    if s2 == 0 and s5 == 0:
        # Common case: one (gamma, k) for the whole array, so the log is hoisted. The
        # arithmetic is written in the scalar kernel's order so both agree to the bit.
        arrival = as_arrival_spread_nb(gamma[0], k[0])
        g = gamma[0]
        for i in range(n):
            sg = sigma[i * s3]
            t = tau[i * s4]
            q = inventory[i * s1]
            r = mid[i * s0] - q * g * sg * sg * t
            half = 0.5 * (g * sg * sg * t + arrival)
            qm = q_max[i * s6]
            bid_out[i] = r - half if q < qm else np.nan
            ask_out[i] = r + half if q > -qm else np.nan
        return n
    for i in range(n):
        b, a = as_quotes_nb(
            mid[i * s0], inventory[i * s1], gamma[i * s2], sigma[i * s3], tau[i * s4],
            k[i * s5], q_max[i * s6],
        )
        bid_out[i] = b
        ask_out[i] = a
    return n


# ---------------------------------------------------------------------------
# Avellaneda-Stoikov (2008), infinite horizon with discount omega
# ---------------------------------------------------------------------------


@njit(cache=True, error_model="numpy")
def as_stationary_reservation_prices_nb(mid, inventory, gamma, sigma, omega):
    """Reservation bid and ask prices of the infinite-horizon (discounted) objective.

    The value function v(x, s, q) = -exp(-gamma (x + q s)) / (omega - gamma^2 sigma^2 q^2 / 2)
    and the indifference conditions v(x - r_b, s, q + 1) = v(x, s, q),
    v(x + r_a, s, q - 1) = v(x, s, q) give, with g = gamma^2 sigma^2:

    r_b = s + (1/gamma) ln((2 omega - g (q+1)^2) / (2 omega - g q^2))
    r_a = s + (1/gamma) ln((2 omega - g q^2) / (2 omega - g (q-1)^2))

    A side whose ratio is not positive and finite (the discounted objective is not
    defined there) is returned as NaN (no quote on that side).
    """
    g2s2 = gamma * gamma * sigma * sigma
    den = 2.0 * omega - g2s2 * inventory * inventory
    num_b = 2.0 * omega - g2s2 * (inventory + 1.0) * (inventory + 1.0)
    num_a = 2.0 * omega - g2s2 * (inventory - 1.0) * (inventory - 1.0)
    r_b = np.nan
    r_a = np.nan
    if den > 0.0:
        if num_b > 0.0:
            r_b = mid + math.log(num_b / den) / gamma
        if num_a > 0.0:
            r_a = mid + math.log(den / num_a) / gamma
    return r_b, r_a


@njit(cache=True, error_model="numpy")
def as_stationary_quotes_nb(mid, inventory, gamma, sigma, k, omega, q_max):
    """(bid, ask) = (r_b - ln(1+gamma/k)/gamma, r_a + ln(1+gamma/k)/gamma), bounded by q_max."""
    r_b, r_a = as_stationary_reservation_prices_nb(mid, inventory, gamma, sigma, omega)
    half_arrival = 0.5 * as_arrival_spread_nb(gamma, k)
    bid = r_b - half_arrival
    ask = r_a + half_arrival
    if inventory >= q_max:
        bid = np.nan
    if inventory <= -q_max:
        ask = np.nan
    return bid, ask


@njit(cache=True, error_model="numpy")
def as_stationary_quotes_1d(mid, inventory, gamma, sigma, k, omega, q_max, bid_out, ask_out):
    n = bid_out.shape[0]
    s0 = 1 if mid.shape[0] > 1 else 0
    s1 = 1 if inventory.shape[0] > 1 else 0
    s2 = 1 if gamma.shape[0] > 1 else 0
    s3 = 1 if sigma.shape[0] > 1 else 0
    s4 = 1 if k.shape[0] > 1 else 0
    s5 = 1 if omega.shape[0] > 1 else 0
    s6 = 1 if q_max.shape[0] > 1 else 0
    for i in range(n):
        b, a = as_stationary_quotes_nb(
            mid[i * s0], inventory[i * s1], gamma[i * s2], sigma[i * s3], k[i * s4],
            omega[i * s5], q_max[i * s6],
        )
        bid_out[i] = b
        ask_out[i] = a
    return n


# ---------------------------------------------------------------------------
# GLFT closed-form approximations (Gueant-Lehalle-Fernandez-Tapia 2013, Gueant 2017)
# ---------------------------------------------------------------------------


@njit(cache=True, error_model="numpy")
def glft_c1_nb(xi, delta, k):
    """c1 = ln(1 + xi*delta/k) / (xi*delta); the xi -> 0 limit is 1/k."""
    x = xi * delta
    if x == 0.0:
        return 1.0 / k
    return math.log1p(x / k) / x


@njit(cache=True, error_model="numpy")
def glft_c2_nb(xi, gamma, delta, a, k):
    """c2 = sqrt(gamma/(2*A*delta*k) * (1 + xi*delta/k)^(k/(xi*delta) + 1)).

    The power is evaluated as exp((k/x + 1)*log1p(x/k)); its xi -> 0 limit is e.
    """
    x = xi * delta
    if x == 0.0:
        power = math.e
    else:
        power = math.exp((k / x + 1.0) * math.log1p(x / k))
    return math.sqrt(gamma / (2.0 * a * delta * k) * power)


@njit(cache=True, error_model="numpy")
def glft_half_spread_nb(c1, c2, sigma, delta):
    """half spread = c1 + (delta/2)*sigma*c2 (depth of each quote at zero inventory)."""
    return c1 + 0.5 * delta * sigma * c2


@njit(cache=True, error_model="numpy")
def glft_skew_nb(c2, sigma):
    """skew = sigma*c2: price shift of both quotes per unit of inventory."""
    return sigma * c2


@njit(cache=True, error_model="numpy")
def glft_drift_shift_nb(mu, gamma, sigma, c2):
    """Shift of both quotes for a drift mu: mu*c2/(gamma*sigma) (0 when mu == 0).

    The drift enters the approximations as inventory q replaced by q - mu/(gamma*sigma^2),
    so both quotes move by skew * mu/(gamma*sigma^2) = mu*c2/(gamma*sigma) (up when mu > 0).
    """
    if mu == 0.0:
        return 0.0
    return mu * c2 / (gamma * sigma)


@njit(cache=True, error_model="numpy")
def glft_quotes_nb(mid, inventory, sigma, c1, c2, delta, mu, gamma, q_max,
                   half_spread_scale, skew_scale):
    """(bid, ask) of the GLFT approximation.

    bid = mid - (hs + skew*q) + shift, ask = mid + (hs - skew*q) + shift with
    hs = half_spread_scale*(c1 + delta/2*sigma*c2), skew = skew_scale*sigma*c2 and
    shift = skew_scale*mu*c2/(gamma*sigma). No bid when inventory + delta > q_max,
    no ask when inventory - delta < -q_max (a fill would leave the bounds).
    """
    hs = half_spread_scale * glft_half_spread_nb(c1, c2, sigma, delta)
    skew = skew_scale * glft_skew_nb(c2, sigma)
    shift = skew_scale * glft_drift_shift_nb(mu, gamma, sigma, c2)
    bid = mid - (hs + skew * inventory) + shift
    ask = mid + (hs - skew * inventory) + shift
    if inventory + delta > q_max:
        bid = np.nan
    if inventory - delta < -q_max:
        ask = np.nan
    return bid, ask


@njit(cache=True, error_model="numpy")
def glft_quotes_1d(mid, inventory, sigma, xi, gamma, delta, a, k, mu, q_max,
                   half_spread_scale, skew_scale, bid_out, ask_out):
    n = bid_out.shape[0]
    s0 = 1 if mid.shape[0] > 1 else 0
    s1 = 1 if inventory.shape[0] > 1 else 0
    s2 = 1 if sigma.shape[0] > 1 else 0
    s3 = 1 if xi.shape[0] > 1 else 0
    s4 = 1 if gamma.shape[0] > 1 else 0
    s5 = 1 if delta.shape[0] > 1 else 0
    s6 = 1 if a.shape[0] > 1 else 0
    s7 = 1 if k.shape[0] > 1 else 0
    s8 = 1 if mu.shape[0] > 1 else 0
    s9 = 1 if q_max.shape[0] > 1 else 0
    s10 = 1 if half_spread_scale.shape[0] > 1 else 0
    s11 = 1 if skew_scale.shape[0] > 1 else 0
    if s3 == 0 and s4 == 0 and s5 == 0 and s6 == 0 and s7 == 0:
        # Common case: one set of model parameters, so c1 and c2 are computed once.
        c1 = glft_c1_nb(xi[0], delta[0], k[0])
        c2 = glft_c2_nb(xi[0], gamma[0], delta[0], a[0], k[0])
        g = gamma[0]
        dl = delta[0]
        for i in range(n):
            sg = sigma[i * s2]
            ss = skew_scale[i * s11]
            hs = half_spread_scale[i * s10] * (c1 + 0.5 * dl * sg * c2)
            skew = ss * (sg * c2)
            m = mu[i * s8]
            shift = ss * (m * c2 / (g * sg)) if m != 0.0 else 0.0
            q = inventory[i * s1]
            qm = q_max[i * s9]
            x = mid[i * s0]
            bid_out[i] = x - (hs + skew * q) + shift if q + dl <= qm else np.nan
            ask_out[i] = x + (hs - skew * q) + shift if q - dl >= -qm else np.nan
        return n
    for i in range(n):
        x = xi[i * s3]
        g = gamma[i * s4]
        dl = delta[i * s5]
        kk = k[i * s7]
        c1 = glft_c1_nb(x, dl, kk)
        c2 = glft_c2_nb(x, g, dl, a[i * s6], kk)
        b, aa = glft_quotes_nb(
            mid[i * s0], inventory[i * s1], sigma[i * s2], c1, c2, dl, mu[i * s8], g,
            q_max[i * s9], half_spread_scale[i * s10], skew_scale[i * s11],
        )
        bid_out[i] = b
        ask_out[i] = aa
    return n


@njit(cache=True, error_model="numpy")
def prices_to_ticks_1d(bid, ask, tick_size, bid_tick_out, ask_tick_out):
    """Round quotes away from the mid onto the tick grid: floor(bid/t), ceil(ask/t).

    Rounding outward never makes a quote more aggressive than the model's; NaN stays NaN.
    A price within 1e-9 (relative) of a tick counts as on it, so 99.9/0.1 is tick 999,
    not 998. Because ask > bid, the rounded ticks satisfy bid_tick <= ask_tick.
    """
    n = bid.shape[0]
    for i in range(n):
        bid_tick_out[i] = _floor_tick(bid[i] / tick_size)
        ask_tick_out[i] = -_floor_tick(-ask[i] / tick_size)
    return n


@njit(cache=True)
def _floor_tick(x):
    if x != x:
        return np.nan
    r = math.floor(x + 0.5)
    if abs(x - r) <= 1e-9 * max(1.0, abs(x)):
        return r
    return math.floor(x)


# ---------------------------------------------------------------------------
# Input checks used by the typed layer (one pass, no temporaries)
# ---------------------------------------------------------------------------


@njit(cache=True)
def count_invalid_1d(x, lower, strict, allow_inf):
    """Number of invalid elements (same rule as :func:`first_invalid_1d`).

    Branch-free loops (one per rule) so that LLVM vectorises them; NaN fails every
    comparison, so ``v >= lower`` (or ``v > lower``) also rejects NaN.
    """
    n = x.shape[0]
    bad = 0
    hi = np.inf
    if strict:
        if allow_inf:
            for i in range(n):
                bad += not (x[i] > lower)
        else:
            for i in range(n):
                v = x[i]
                bad += not ((v > lower) & (v < hi))
    else:
        if allow_inf:
            for i in range(n):
                bad += not (x[i] >= lower)
        else:
            for i in range(n):
                v = x[i]
                bad += not ((v >= lower) & (v < hi) & (v > -hi))
    return bad


@njit(cache=True)
def first_invalid_1d(x, lower, strict, allow_inf):
    """Index of the first element that is NaN, infinite (unless ``allow_inf``), or below
    ``lower`` (``<= lower`` when ``strict``); -1 when every element is valid."""
    for i in range(x.shape[0]):
        v = x[i]
        if v != v:
            return i
        if not allow_inf and (v == np.inf or v == -np.inf):
            return i
        if strict:
            if v <= lower:
                return i
        elif v < lower:
            return i
    return -1


# ---------------------------------------------------------------------------
# Calibration: volatility
# ---------------------------------------------------------------------------


@njit(cache=True)
def realized_variance_1d(prices, times, dt, log_returns):
    """Sum of squared increments and the time they span.

    ``times`` of length 0 means regular bars of spacing ``dt``. Returns
    ``(sum_sq, span, n_increments)``; the realised variance rate is ``sum_sq/span``.
    """
    n = prices.shape[0]
    ss = 0.0
    for i in range(1, n):
        if log_returns:
            r = math.log(prices[i] / prices[i - 1])
        else:
            r = prices[i] - prices[i - 1]
        ss += r * r
    if times.shape[0] == 0:
        span = dt * (n - 1)
    else:
        span = times[n - 1] - times[0]
    return ss, span, n - 1


@njit(cache=True)
def ewma_variance_1d(prices, times, dt, halflife, log_returns, out):
    """EWMA of the variance rate, as a ratio of two time-decayed sums.

    N_i = d_i N_{i-1} + r_i^2, D_i = d_i D_{i-1} + dt_i, d_i = 2^(-dt_i/halflife),
    out[i] = N_i / D_i (variance per time unit; out[0] = NaN). For regular bars this is
    the usual normalised EWMA with lambda = 2^(-dt/halflife); for trades with equal
    timestamps (dt_i = 0) the return is added without decaying the past.
    """
    n = prices.shape[0]
    num = 0.0
    den = 0.0
    ln2 = math.log(2.0)
    if n > 0:
        out[0] = np.nan
    for i in range(1, n):
        if times.shape[0] == 0:
            step = dt
        else:
            step = times[i] - times[i - 1]
        if log_returns:
            r = math.log(prices[i] / prices[i - 1])
        else:
            r = prices[i] - prices[i - 1]
        d = math.exp(-step * ln2 / halflife)
        num = d * num + r * r
        den = d * den + step
        out[i] = num / den if den > 0.0 else np.nan
    return n


# ---------------------------------------------------------------------------
# Calibration: fill intensity lambda(delta) = A exp(-k delta)
# ---------------------------------------------------------------------------


@njit(cache=True)
def trade_depths_1d(prices, mids, depth_out, side_out):
    """Depth of each trade from the mid and the side of our book it would fill.

    side +1: trade at or above the mid (buyer-initiated, reaches our asks),
    side -1: trade below the mid (seller-initiated, reaches our bids).
    """
    n = prices.shape[0]
    for i in range(n):
        d = prices[i] - mids[i]
        if d >= 0.0:
            depth_out[i] = d
            side_out[i] = 1
        else:
            depth_out[i] = -d
            side_out[i] = -1
    return n


@njit(cache=True)
def window_max_depths_1d(times, depths, sides, t_start, window, bid_max_out, ask_max_out):
    """Deepest trade reached on each side in each window [t_start + j*window, +window).

    The caller allocates ``bid_max_out``/``ask_max_out`` (one entry per window) and this
    kernel fills them (-inf where no trade reached that side in the window). Trades
    outside the windows are skipped. Returns the number of trades used.
    """
    n_windows = bid_max_out.shape[0]
    for j in range(n_windows):
        bid_max_out[j] = -np.inf
        ask_max_out[j] = -np.inf
    used = 0
    for i in range(times.shape[0]):
        u = (times[i] - t_start) / window
        if u < 0.0:
            continue
        j = int(u)
        if j >= n_windows:
            continue
        used += 1
        d = depths[i]
        if sides[i] > 0:
            if d > ask_max_out[j]:
                ask_max_out[j] = d
        else:
            if d > bid_max_out[j]:
                bid_max_out[j] = d
    return used


@njit(cache=True)
def exceedance_counts_1d(maxima, grid, counts_out):
    """counts_out[i] += number of ``maxima`` strictly beyond ``grid[i]`` (grid ascending).

    A quote resting at depth grid[i] is filled in a window when a trade goes through it,
    i.e. the window's maximum depth on that side is strictly greater than grid[i].
    Accumulates, so both sides can be added into one buffer.
    """
    g = grid.shape[0]
    hist = np.zeros(g + 1, dtype=np.int64)
    for m in maxima:
        # number of grid levels strictly below m: first index with grid[idx] >= m
        lo = 0
        hi = g
        while lo < hi:
            mid = (lo + hi) >> 1
            if grid[mid] < m:
                lo = mid + 1
            else:
                hi = mid
        hist[lo] += 1
    run = 0
    for i in range(g, 0, -1):
        run += hist[i]
        counts_out[i - 1] += run
    return g


@njit(cache=True)
def ols_1d(x, y):
    """Ordinary least squares y = b0 + b1 x.

    Returns (b0, b1, se_b0, se_b1, r_squared) with the classical homoscedastic standard
    errors (residual variance with n - 2 degrees of freedom). Needs n >= 3.
    """
    n = x.shape[0]
    mx = 0.0
    my = 0.0
    for i in range(n):
        mx += x[i]
        my += y[i]
    mx /= n
    my /= n
    sxx = 0.0
    sxy = 0.0
    syy = 0.0
    for i in range(n):
        dx = x[i] - mx
        dy = y[i] - my
        sxx += dx * dx
        sxy += dx * dy
        syy += dy * dy
    b1 = sxy / sxx
    b0 = my - b1 * mx
    sse = 0.0
    for i in range(n):
        e = y[i] - b0 - b1 * x[i]
        sse += e * e
    s2 = sse / (n - 2)
    se_b1 = math.sqrt(s2 / sxx)
    se_b0 = math.sqrt(s2 * (1.0 / n + mx * mx / sxx))
    r2 = 1.0 - sse / syy if syy > 0.0 else 1.0
    return b0, b1, se_b0, se_b1, r2


# ---------------------------------------------------------------------------
# Uniswap V3 swaps as fills: price impact within one range (float tier)
# ---------------------------------------------------------------------------


@njit(cache=True)
def swap_sqrt_price_after_1d(amount_in, liquidity, sqrt_price, zero_for_one, fee_fraction,
                             out):
    """Float sqrt price after an exact-input swap that stays within one range.

    Constant liquidity L between the prices touched: with x the input net of fee,
    token0 in (zero_for_one, price falls): sqrtP' = L*sqrtP / (L + x*sqrtP);
    token1 in (price rises):              sqrtP' = sqrtP + x/L.
    """
    n = out.shape[0]
    s1 = 1 if liquidity.shape[0] > 1 else 0
    s2 = 1 if sqrt_price.shape[0] > 1 else 0
    s3 = 1 if zero_for_one.shape[0] > 1 else 0
    s4 = 1 if fee_fraction.shape[0] > 1 else 0
    for i in range(n):
        x = amount_in[i] * (1.0 - fee_fraction[i * s4])
        liq = liquidity[i * s1]
        sp = sqrt_price[i * s2]
        if zero_for_one[i * s3]:
            out[i] = liq * sp / (liq + x * sp)
        else:
            out[i] = sp + x / liq
    return n


# ---------------------------------------------------------------------------
# Avellaneda-Stoikov (2008) section 4 simulation
# ---------------------------------------------------------------------------


@njit(cache=True)
def as_simulate_paths_nb(n_paths, n_steps, s0, sigma, dt, a, k, gamma, symmetric,
                         spread_inventory_term, fill_after_move, symmetric_average_spread,
                         seed, profit_out, q_out, spread_out):
    """Monte Carlo of the market maker of Avellaneda & Stoikov (2008, section 4).

    Per step of length dt at time t = i*dt (horizon T = n_steps*dt): quotes are set
    from the current (s, q, t); the mid moves by +/- sigma*sqrt(dt) with probability
    1/2; the bid is filled with probability A*exp(-k*delta_b)*dt and the ask with
    A*exp(-k*delta_a)*dt (independent uniforms; a probability above 1 is a sure fill),
    the depths delta measured from the mid after the move when ``fill_after_move``
    (orders posted at the start of the step are hit during it), else from the mid
    before the move (and the move comes after the fills).
    Inventory strategy: quotes r -/+ spread/2 around the reservation price
    r = s - q*gamma*sigma^2*(T-t). Symmetric strategy: the same spread centred on s, or,
    with ``symmetric_average_spread``, the inventory strategy's spread averaged over the
    steps (constant). The spread is gamma*sigma^2*(T-t) + (2/gamma)*ln(1+gamma/k) when
    ``spread_inventory_term`` else (2/gamma)*ln(1+gamma/k) only.
    Fills are one unit each. Outputs per path: profit = cash + q*s_T, final q and the
    time-average quoted spread. Seeded (Numba's own generator): same seed, same paths.
    """
    np.random.seed(seed)
    arrival = as_arrival_spread_nb(gamma, k)
    sq = sigma * math.sqrt(dt)
    t_end = n_steps * dt
    # mean of T - i*dt over i = 0 .. n_steps-1
    mean_tau = t_end - 0.5 * dt * (n_steps - 1)
    for p in range(n_paths):
        s = s0
        q = 0.0
        cash = 0.0
        spread_sum = 0.0
        for i in range(n_steps):
            tau = t_end - i * dt
            spread = arrival
            if spread_inventory_term:
                if symmetric and symmetric_average_spread:
                    spread += gamma * sigma * sigma * mean_tau
                else:
                    spread += gamma * sigma * sigma * tau
            if symmetric:
                centre = s
            else:
                centre = s - q * gamma * sigma * sigma * tau
            bid = centre - 0.5 * spread
            ask = centre + 0.5 * spread
            spread_sum += spread
            if fill_after_move:
                if np.random.random() < 0.5:
                    s += sq
                else:
                    s -= sq
            p_bid = a * math.exp(-k * (s - bid)) * dt
            p_ask = a * math.exp(-k * (ask - s)) * dt
            u_bid = np.random.random()
            u_ask = np.random.random()
            if u_bid < p_bid:
                q += 1.0
                cash -= bid
            if u_ask < p_ask:
                q -= 1.0
                cash += ask
            if not fill_after_move:
                if np.random.random() < 0.5:
                    s += sq
                else:
                    s -= sq
        profit_out[p] = cash + q * s
        q_out[p] = q
        spread_out[p] = spread_sum / n_steps
    return n_paths
