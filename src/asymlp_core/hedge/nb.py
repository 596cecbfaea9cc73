"""Numba kernels for hedging an LP position on a perpetual.

Contract: ``@njit(cache=True)``, scalars (and 1-d float64 arrays with caller-allocated
outputs for the ``_1d`` forms) in and out, no allocation.

Units: price ``P`` is token1 per token0 in raw units (``P = 1.0001**tick``), ``s = sqrt(P)``;
liquidity ``L`` in the pool's raw units.  Values are in token1, deltas in token0, gammas in
token0 per (token1/token0).  token0 is the risky asset (WETH) in examples.

LP Greeks (closed form).  With ``s_a = sqrt(P_a)``, ``s_b = sqrt(P_b)``:

* below the range (``P <= P_a``): ``x = L (1/s_a - 1/s_b)``, ``y = 0``,
  ``V = x P``, ``dV/dP = x``, ``d2V/dP2 = 0``;
* inside: ``x = L (1/s - 1/s_b)``, ``y = L (s - s_a)``,
  ``V = x P + y = L (2 s - P / s_b - s_a)``, ``dV/dP = L (1/s - 1/s_b) = x``,
  ``d2V/dP2 = -L / (2 s^3) = -L / (2 P^(3/2)) < 0``;
* above (``P >= P_b``): ``x = 0``, ``y = L (s_b - s_a)``, ``dV/dP = 0``, ``d2V/dP2 = 0``.

So the position's delta in token0 is exactly its token0 holdings (the token1 leg moves
with ``dy = -P dx``), and its gamma is the concave kink of a short option: negative inside,
zero outside (the second derivative jumps at the bounds).

Hedge sizing: ``residual = lp_token0 + spot_token0 + hedge_position - target`` (all token0;
a short perp is a negative ``hedge_position``).  No trade while ``|residual| <= band``;
otherwise trade ``-sign(residual) * size`` where the wanted size brings the residual to zero
(``to_band_edge = 0``) or only to the band edge, ``|residual| - band`` (``to_band_edge = 1``).
Venue rounding: the size is a multiple of ``step`` rounded *up* (towards reducing exposure)
but capped at the largest multiple not above ``|residual|`` (never overshoots the target);
if that is below ``min_size``, it is raised to ``min_size`` (rounded up to the step) when that
still does not overshoot, and otherwise the order is 0.

Hedge ratio: betas of the asset's returns ``y`` on the instrument's returns ``x`` (OLS with
intercept), over a rolling window or exponentially weighted; a token1-value exposure ``E`` in
the asset is hedged with ``-beta * E`` of the instrument.
"""

from __future__ import annotations

import math

from numba import njit

from asymlp_core.hedge.enums import EwmaBetaState

# relative slack on step division so that 0.3 / 0.1 counts as 3 steps, not 2.9999999999999996
_STEP_EPS = 1e-9


@njit(cache=True)
def lp_value(liquidity, sqrt_price, sqrt_lower, sqrt_upper):
    """Position value in token1 at the float price ``sqrt_price**2``."""
    p = sqrt_price * sqrt_price
    if sqrt_price <= sqrt_lower:
        return liquidity * (1.0 / sqrt_lower - 1.0 / sqrt_upper) * p
    if sqrt_price >= sqrt_upper:
        return liquidity * (sqrt_upper - sqrt_lower)
    return liquidity * (2.0 * sqrt_price - p / sqrt_upper - sqrt_lower)


@njit(cache=True)
def lp_delta(liquidity, sqrt_price, sqrt_lower, sqrt_upper):
    """``dV/dP`` in token0: the position's token0 holdings (closed form, see module doc)."""
    if sqrt_price <= sqrt_lower:
        return liquidity * (1.0 / sqrt_lower - 1.0 / sqrt_upper)
    if sqrt_price >= sqrt_upper:
        return 0.0
    return liquidity * (1.0 / sqrt_price - 1.0 / sqrt_upper)


@njit(cache=True)
def lp_gamma(liquidity, sqrt_price, sqrt_lower, sqrt_upper):
    """``d2V/dP2``: ``-L / (2 P^(3/2))`` strictly inside the range, 0 outside and on the bounds."""
    if sqrt_price <= sqrt_lower or sqrt_price >= sqrt_upper:
        return 0.0
    return -0.5 * liquidity / (sqrt_price * sqrt_price * sqrt_price)


@njit(cache=True)
def lp_greeks(liquidity, sqrt_price, sqrt_lower, sqrt_upper):
    """``(value, delta, gamma)`` of the position in one call."""
    return (
        lp_value(liquidity, sqrt_price, sqrt_lower, sqrt_upper),
        lp_delta(liquidity, sqrt_price, sqrt_lower, sqrt_upper),
        lp_gamma(liquidity, sqrt_price, sqrt_lower, sqrt_upper),
    )


@njit(cache=True)
def residual_inventory(lp_token0, spot_token0, hedge_position, target):
    """Token0 exposure left after the hedge: ``lp + spot + hedge - target``."""
    return lp_token0 + spot_token0 + hedge_position - target


@njit(cache=True, inline="always")
def hedge_order_size(residual, band, to_band_edge, min_size, step):
    """Signed order (token0; > 0 buys) that reduces ``residual``; 0 inside the band.

    Parameters
    ----------
    residual : float
        Current residual exposure in token0.
    band : float
        No-trade half-width (>= 0): nothing is traded while ``|residual| <= band``.
    to_band_edge : int
        0: trade the residual to zero; 1: trade it only back to the band edge.
    min_size : float
        Venue minimum order size (>= 0).
    step : float
        Venue size increment (> 0), or 0 for no rounding.

    Rounding rule in the module docstring: up to the step, never past zero, raised to
    ``min_size`` when that does not overshoot, else 0.
    """
    a = abs(residual)
    if a <= band or a == 0.0:
        return 0.0
    want = a - band if to_band_edge != 0 else a
    if step > 0.0:
        n_cap = math.floor(a / step + _STEP_EPS)
        n_want = math.ceil(want / step - _STEP_EPS)
        cap = n_cap * step
        size = min(n_want, n_cap) * step
    else:
        cap = a
        size = want
    if size < min_size:
        m = math.ceil(min_size / step - _STEP_EPS) * step if step > 0.0 else min_size
        size = m if m <= cap else 0.0
    if size <= 0.0:
        return 0.0
    return -size if residual > 0.0 else size


@njit(cache=True)
def cross_hedge_notional(exposure_value, beta):
    """Instrument notional (token1) that hedges an asset exposure ``exposure_value``: ``-beta E``."""
    return -beta * exposure_value


@njit(cache=True)
def rolling_ols_beta_1d(y, x, window, out):
    """Rolling OLS slope of ``y`` on ``x`` (with intercept) over ``window`` observations.

    ``out[i]`` uses ``y[i-window+1 : i+1]``; NaN while fewer than ``window`` points are in
    or when ``x`` has zero variance in the window.  O(n) running sums; the sums are rebuilt
    from scratch every ``window`` steps to stop round-off from drifting.  Returns ``n``.
    """
    n = y.shape[0]
    sx = 0.0
    sy = 0.0
    sxx = 0.0
    sxy = 0.0
    w = float(window)
    for i in range(n):
        if i >= window and i % window == 0:
            sx = 0.0
            sy = 0.0
            sxx = 0.0
            sxy = 0.0
            for j in range(i - window + 1, i + 1):
                sx += x[j]
                sy += y[j]
                sxx += x[j] * x[j]
                sxy += x[j] * y[j]
        else:
            sx += x[i]
            sy += y[i]
            sxx += x[i] * x[i]
            sxy += x[i] * y[i]
            if i >= window:
                k = i - window
                sx -= x[k]
                sy -= y[k]
                sxx -= x[k] * x[k]
                sxy -= x[k] * y[k]
        if i < window - 1:
            out[i] = math.nan
            continue
        var = sxx - sx * sx / w
        cov = sxy - sx * sy / w
        if var > 1e-300 and var > 1e-14 * sxx:
            out[i] = cov / var
        else:
            out[i] = math.nan
    return n


@njit(cache=True)
def ewma_beta_init():
    """Empty EWMA beta state (no observation yet)."""
    return EwmaBetaState(0.0, 0.0, 0.0, 0.0, 0)


@njit(cache=True)
def ewma_beta_update(state, y, x, alpha):
    """Add one return pair; returns ``(new_state, beta)`` (NaN until ``x`` has varied).

    Exponentially weighted mean, variance and covariance with weight ``alpha`` in (0, 1]
    on the newest point (``alpha = 1 - exp(-ln 2 / halflife)``):
    ``d = x - m_x; m_x += alpha d; var = (1 - alpha)(var + alpha d^2)``, likewise the
    covariance with ``e = y - m_y``.  The first point only sets the means.
    """
    if state.count == 0:
        return EwmaBetaState(x, y, 0.0, 0.0, 1), math.nan
    dx = x - state.mean_x
    dy = y - state.mean_y
    mx = state.mean_x + alpha * dx
    my = state.mean_y + alpha * dy
    var = (1.0 - alpha) * (state.var_x + alpha * dx * dx)
    cov = (1.0 - alpha) * (state.cov_xy + alpha * dx * dy)
    new = EwmaBetaState(mx, my, var, cov, state.count + 1)
    if var > 1e-300:
        return new, cov / var
    return new, math.nan


@njit(cache=True)
def ewma_beta_1d(y, x, alpha, out):
    """:func:`ewma_beta_update` along arrays; fills ``out`` and returns the final state."""
    st = ewma_beta_init()
    for i in range(y.shape[0]):
        st, b = ewma_beta_update(st, y[i], x[i], alpha)
        out[i] = b
    return st
