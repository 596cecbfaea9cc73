"""Slow, obviously-correct references for asymlp_core.models (pure Python floats).

Each function transcribes the formula as written in the papers, with no shared code
with the kernels, so the tests compare two independent writings.
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext


def as_reservation_price(s, q, gamma, sigma, tau):
    return s - q * gamma * sigma**2 * tau


def as_optimal_spread(gamma, sigma, tau, k):
    return gamma * sigma**2 * tau + (2.0 / gamma) * math.log(1.0 + gamma / k)


def as_optimal_spread_dgamma(gamma, sigma, tau, k):
    """d/dgamma of the total AS spread (analytic)."""
    return (
        sigma**2 * tau
        - 2.0 / gamma**2 * math.log(1.0 + gamma / k)
        + 2.0 / (gamma * (gamma + k))
    )


def as_quotes(s, q, gamma, sigma, tau, k, q_max=math.inf):
    r = as_reservation_price(s, q, gamma, sigma, tau)
    half = as_optimal_spread(gamma, sigma, tau, k) / 2.0
    bid = r - half if q < q_max else math.nan
    ask = r + half if q > -q_max else math.nan
    return bid, ask


def as_stationary_log_neg_value(x, s, q, gamma, sigma, omega):
    """ln(-v(x, s, q)) of the discounted infinite-horizon objective, where
    v = -exp(-gamma (x + q s)) / (omega - gamma^2 sigma^2 q^2 / 2) (log: no overflow)."""
    return -gamma * (x + q * s) - math.log(omega - 0.5 * gamma**2 * sigma**2 * q**2)


def glft_c1(xi, delta, k):
    """c1 in 50-digit decimal arithmetic (reference for the float kernel)."""
    with localcontext() as ctx:
        ctx.prec = 50
        x = Decimal(xi) * Decimal(delta)
        return float((1 + x / Decimal(k)).ln() / x)


def glft_c2(xi, gamma, delta, A, k):
    """c2 in 50-digit decimal arithmetic (reference for the float kernel)."""
    with localcontext() as ctx:
        ctx.prec = 50
        x = Decimal(xi) * Decimal(delta)
        kk = Decimal(k)
        power = ((kk / x + 1) * (1 + x / kk).ln()).exp()
        return float((Decimal(gamma) / (2 * Decimal(A) * Decimal(delta) * kk) * power).sqrt())


def glft_depths(q, sigma, xi, gamma, delta, A, k, mu=0.0):
    """(bid depth, ask depth) of Gueant (2017) eqs. (4.6)-(4.7), drift as in GLFT (2013)."""
    root = math.sqrt(
        gamma * sigma**2 / (2.0 * A * delta * k)
        * (1.0 + xi * delta / k) ** (k / (xi * delta) + 1.0)
    )
    c1 = 1.0 / (xi * delta) * math.log(1.0 + xi * delta / k)
    drift = mu / (gamma * sigma**2) if mu else 0.0
    bid_depth = c1 + (-drift + (2.0 * q + delta) / 2.0) * root
    ask_depth = c1 + (drift - (2.0 * q - delta) / 2.0) * root
    return bid_depth, ask_depth
