r"""Numba kernels: expected PnL of a range in each fee tier, and the best tier.

Contract: ``@njit(cache=True)``, scalars in and out (the ``best`` kernel fills a
caller-allocated ``(n_tiers, 5)`` array), no allocation.

Units: price ``P`` in token1 per token0 (raw), ``P = 1.0001**tick``; values, fees and costs
in raw token1; ``sigma`` is the volatility of ``ln P`` per square root of the time unit in
which ``horizon``, ``review_period`` and ``volume_rate`` are expressed.

Model (each approximation stated)
---------------------------------
Range.  A range of ``w`` ticks (rounded up to the tier's spacing) centred on ``P`` in log
space: half-width ``a = w ln(1.0001) / 2`` in ``ln P``, ``sqrt(P_b / P) = sqrt(P / P_a)
= e^{a/2}``.  A budget ``B`` (token1) buys ``L = B / (2 sqrt(P) (1 - e^{-a/2}))`` (value of
one unit of liquidity at the centre: ``2 s - P/s_b - s_a = 2 s (1 - e^{-a/2})``).

Time in range.  ``ln P`` is taken as a driftless Brownian motion with volatility ``sigma``
(the GBM drift ``-sigma^2/2`` is neglected over a review period).  The range is reviewed
every ``review_period = tau``; each review period is taken to start with the price at the
centre (exact when the range is re-centred at every review).  The expected fraction of a
period spent in range is, with ``z = a / (sigma sqrt(2 tau))``,

    f(z) = (1/tau) int_0^tau P(|sigma W_t| < a) dt = erf(z) + (2 z / sqrt(pi)) e^{-z^2}
           - 2 z^2 erfc(z),

(integrate ``erf(a / (sigma sqrt(2t)))`` by parts); ``f -> 1`` for wide ranges and
``f ~ 2z/sqrt(pi)`` for narrow ones.

Fees.  Our share of the volume traded while the price is in range is
``L / (L + L_active)`` (``L_active``: the pool's other active liquidity at the price), so
``fees = fee_rate * volume_rate * horizon * L / (L + L_active) * f``.

LVR (Milionis, Moallemi, Roughgarden, Zhang 2022).  For a pool holding ``x*(P)`` of the risky
asset the instantaneous loss-versus-rebalancing is ``l(sigma, P) = sigma^2 P^2 / 2 |x*'(P)|``.
Inside a V3 range ``x*(P) = L (1/sqrt(P) - 1/sqrt(P_b))``, ``x*'(P) = -L / (2 P^{3/2})``, so

    l(sigma, P) = sigma^2 L sqrt(P) / 4     (P in [P_a, P_b]; 0 outside).

Full-range check: ``V(P) = 2 L sqrt(P)`` there, so ``l = sigma^2 V / 8``, the paper's
constant-product result.  (Written per unit of *value*, the concentrated rate is
``l / V = sigma^2 sqrt(P) / (4 (2 sqrt(P) - P/sqrt(P_b) - sqrt(P_a)))``.)  Over the horizon
``LVR = sigma^2/4 * L * sqrt(P) * horizon * f`` (``sqrt(P)`` frozen at the centre).

Rebalances.  A review re-centres the range when the price is outside it; the probability
is ``P(|sigma W_tau| > a) = erfc(z)``, so ``n = horizon / tau * erfc(z)`` rebalances are
expected.  Each costs ``gas_per_rebalance`` (token1) plus ``rebalance_cost_fraction * B``
(swapping back to the target split: about half the value at the swap's fee and slippage).

Decomposition: ``total = fees - lvr - gas - rebalance`` exactly (the costs are reported as
positive numbers).
"""

from __future__ import annotations

import math

from numba import njit

LN_TICK_BASE = math.log(1.0001)
_SQRT_PI = math.sqrt(math.pi)


@njit(cache=True)
def time_in_range_fraction(half_width_log, sigma, period):
    """Expected fraction of ``period`` that a driftless BM(sigma) from 0 spends in ``(-a, a)``."""
    den = sigma * math.sqrt(2.0 * period)
    if den <= 0.0:
        return 1.0
    z = half_width_log / den
    if z > 30.0:  # every correction term is below 1e-300; avoids inf * 0 for z -> inf
        return 1.0
    return math.erf(z) + 2.0 * z / _SQRT_PI * math.exp(-z * z) - 2.0 * z * z * math.erfc(z)


@njit(cache=True)
def exit_probability(half_width_log, sigma, period):
    """``P(|sigma W_period| > a) = erfc(a / (sigma sqrt(2 period)))``: outside at review time."""
    den = sigma * math.sqrt(2.0 * period)
    if den <= 0.0:
        return 0.0
    return math.erfc(half_width_log / den)


@njit(cache=True)
def lvr_rate(liquidity, sigma, sqrt_price, sqrt_lower, sqrt_upper):
    """Instantaneous LVR (token1 per unit time): ``sigma^2 L sqrt(P) / 4`` inside, 0 outside."""
    if sqrt_price < sqrt_lower or sqrt_price > sqrt_upper:
        return 0.0
    return 0.25 * sigma * sigma * liquidity * sqrt_price


@njit(cache=True)
def aligned_width(width_ticks, tick_spacing):
    """Width rounded up to a multiple of the spacing, at least one spacing."""
    w = ((width_ticks + tick_spacing - 1) // tick_spacing) * tick_spacing
    return max(w, tick_spacing)


@njit(cache=True)
def centred_liquidity(budget1, price, width_ticks):
    """Liquidity a budget buys in a ``width_ticks`` range centred (in log) on ``price``."""
    a = 0.5 * width_ticks * LN_TICK_BASE
    return budget1 / (2.0 * math.sqrt(price) * (-math.expm1(-0.5 * a)))


@njit(cache=True)
def fee_tier_pnl(
    budget1,
    price,
    sigma,
    horizon,
    review_period,
    width_ticks,
    tick_spacing,
    fee_rate,
    volume_rate,
    active_liquidity,
    gas_per_rebalance,
    rebalance_cost_fraction,
):
    """Expected ``(fees, lvr, gas, rebalance, total)`` of a range in one tier over ``horizon``.

    ``fee_rate`` is the fraction (``fee_pips / 1e6``); ``volume_rate`` token1 per unit time
    in this tier; ``active_liquidity`` the pool's other in-range liquidity.  Model in the
    module docstring; ``total = fees - lvr - gas - rebalance``.
    """
    w = aligned_width(width_ticks, tick_spacing)
    a = 0.5 * w * LN_TICK_BASE
    liq = centred_liquidity(budget1, price, w)
    f = time_in_range_fraction(a, sigma, review_period)
    share = liq / (liq + active_liquidity)
    fees = fee_rate * volume_rate * horizon * share * f
    lvr = 0.25 * sigma * sigma * liq * math.sqrt(price) * horizon * f
    n_reb = horizon / review_period * exit_probability(a, sigma, review_period)
    gas = n_reb * gas_per_rebalance
    reb = n_reb * rebalance_cost_fraction * budget1
    total = fees - lvr - gas - reb
    return fees, lvr, gas, reb, total


@njit(cache=True)
def best_fee_tier(
    budget1,
    price,
    sigma,
    horizon,
    review_period,
    width_ticks,
    tick_spacings,
    fee_rates,
    volume_rates,
    active_liquidities,
    gas_per_rebalance,
    rebalance_cost_fractions,
    out,
):
    """Evaluate every tier (arrays indexed by tier) into ``out[k] = (fees, lvr, gas, reb, total)``.

    Returns the index of the largest total (the first one on ties).
    """
    best = 0
    best_total = -math.inf
    for k in range(tick_spacings.shape[0]):
        fees, lvr, gas, reb, total = fee_tier_pnl(
            budget1, price, sigma, horizon, review_period, width_ticks, tick_spacings[k],
            fee_rates[k], volume_rates[k], active_liquidities[k], gas_per_rebalance,
            rebalance_cost_fractions[k],
        )
        out[k, 0] = fees
        out[k, 1] = lvr
        out[k, 2] = gas
        out[k, 3] = reb
        out[k, 4] = total
        if total > best_total:
            best_total = total
            best = k
    return best
