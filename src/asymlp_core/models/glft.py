"""GLFT closed-form approximations of the optimal quotes (stationary, infinite horizon).

References: O. Gueant, C.-A. Lehalle, J. Fernandez-Tapia, "Dealing with the inventory
risk: a solution to the market making problem", Mathematics and Financial Economics 7,
477-507, 2013 (closed-form asymptotics, and their extension to a drift); O. Gueant, "Optimal market
making", Applied Mathematical Finance 24(2), 112-154, 2017, eqs. (4.6)-(4.7) with the
general ``xi`` (``xi = gamma``: CARA objective, ``xi = 0``: risk-adjusted expectation)
and order size ``delta``; notation as in the hftbacktest GLFT tutorial.

With ``c1 = ln(1 + xi*delta/k) / (xi*delta)`` and
``c2 = sqrt(gamma/(2*A*delta*k) * (1 + xi*delta/k)**(k/(xi*delta) + 1))``:

- bid depth ``delta_b(q) = c1 + (2q + delta)/2 * sigma*c2 = half_spread + skew*q``
- ask depth ``delta_a(q) = c1 - (2q - delta)/2 * sigma*c2 = half_spread - skew*q``

with ``half_spread = c1 + delta/2*sigma*c2`` and ``skew = sigma*c2``, so
``bid = mid - (half_spread + skew*q)`` and ``ask = mid + (half_spread - skew*q)``: a long
inventory (``q > 0``) lowers both quotes. A drift ``mu`` (price units per time unit)
replaces ``q`` by ``q - mu/(gamma*sigma**2)``, i.e. raises both quotes by
``mu*c2/(gamma*sigma)`` (:func:`glft_drift_shift`).

Units: ``A`` per time unit, ``k`` per price unit, ``sigma`` in price units per
sqrt(time unit), ``gamma``/``xi`` per price unit per unit of inventory, ``delta`` and
``q`` in units of the asset. Inventory bounds: no bid (NaN) when ``q + delta > q_max``,
no ask (NaN) when ``q - delta < -q_max`` (a fill would leave ``[-q_max, q_max]``).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from asymlp_core.models import nb
from asymlp_core.models._validate import broadcast_1d, check_array, check_scalar, is_scalar

FloatOrArray = float | np.ndarray

__all__ = [
    "glft_coefficients",
    "glft_drift_shift",
    "glft_half_spread",
    "glft_quotes",
    "glft_quotes_ticks",
    "glft_skew",
]


def glft_coefficients(
    xi: float, gamma: float, delta: float, A: float, k: float
) -> tuple[float, float]:
    """``(c1, c2)`` of the GLFT approximation.

    ``c1 = ln(1 + xi*delta/k)/(xi*delta)`` (``1/k`` at ``xi = 0``),
    ``c2 = sqrt(gamma/(2*A*delta*k) * (1 + xi*delta/k)**(k/(xi*delta) + 1))``
    (the power tends to ``e`` at ``xi = 0``).

    Parameters
    ----------
    xi : >= 0. gamma : risk aversion, > 0. delta : order size, > 0.
    A : intensity at zero depth, > 0 (per time unit). k : intensity decay, > 0.
    """
    x = check_scalar("xi", xi, lower=0.0)
    g = check_scalar("gamma", gamma, lower=0.0, strict=True)
    d = check_scalar("delta", delta, lower=0.0, strict=True)
    a = check_scalar("A", A, lower=0.0, strict=True)
    kk = check_scalar("k", k, lower=0.0, strict=True)
    return float(nb.glft_c1_nb(x, d, kk)), float(nb.glft_c2_nb(x, g, d, a, kk))


def glft_half_spread(c1: float, c2: float, sigma: ArrayLike, delta: float) -> FloatOrArray:
    """Half spread ``c1 + delta/2 * sigma * c2`` (quote depth at zero inventory)."""
    c1 = check_scalar("c1", c1, lower=0.0)
    c2 = check_scalar("c2", c2, lower=0.0)
    d = check_scalar("delta", delta, lower=0.0, strict=True)
    if is_scalar(sigma):
        return float(nb.glft_half_spread_nb(c1, c2, check_scalar("sigma", sigma, lower=0.0), d))
    return c1 + 0.5 * d * check_array("sigma", sigma, lower=0.0) * c2


def glft_skew(c2: float, sigma: ArrayLike) -> FloatOrArray:
    """Skew ``sigma * c2``: the shift of both quotes per unit of inventory."""
    c2 = check_scalar("c2", c2, lower=0.0)
    if is_scalar(sigma):
        return float(nb.glft_skew_nb(c2, check_scalar("sigma", sigma, lower=0.0)))
    return check_array("sigma", sigma, lower=0.0) * c2


def glft_drift_shift(mu: float, gamma: float, sigma: float, c2: float) -> float:
    """Shift of both quotes for a drift ``mu``: ``mu*c2/(gamma*sigma)`` (0 when ``mu == 0``).

    From the drift extension of GLFT (2013), written there for ``delta = 1, xi = gamma``:
    the approximations hold with ``q`` replaced by ``q - mu/(gamma*sigma**2)``; here the
    same shift is applied in the general ``(xi, delta)`` form. Times the skew
    ``sigma*c2`` it moves both quotes up by ``mu*c2/(gamma*sigma)`` for ``mu > 0`` (buy
    more, sell higher).
    ``sigma`` must be > 0 when ``mu != 0``.
    """
    m = check_scalar("mu", mu)
    g = check_scalar("gamma", gamma, lower=0.0, strict=True)
    c2 = check_scalar("c2", c2, lower=0.0)
    s = check_scalar("sigma", sigma, lower=0.0, strict=m != 0.0)
    return float(nb.glft_drift_shift_nb(m, g, s, c2))


def _glft_arrays(mid, inventory, sigma, xi, gamma, delta, A, k, mu, q_max, hs_scale, sk_scale):
    mu_arr = check_array("mu", mu)
    sigma_strict = bool(np.any(mu_arr != 0.0))
    names = (
        "mid", "inventory", "sigma", "xi", "gamma", "delta", "A", "k", "mu", "q_max",
        "half_spread_scale", "skew_scale",
    )
    arrays = (
        check_array("mid", mid, lower=0.0, strict=True),
        check_array("inventory", inventory),
        check_array("sigma", sigma, lower=0.0, strict=sigma_strict),
        check_array("xi", xi, lower=0.0),
        check_array("gamma", gamma, lower=0.0, strict=True),
        check_array("delta", delta, lower=0.0, strict=True),
        check_array("A", A, lower=0.0, strict=True),
        check_array("k", k, lower=0.0, strict=True),
        mu_arr,
        check_array("q_max", q_max, lower=0.0, strict=True, allow_inf=True),
        check_array("half_spread_scale", hs_scale, lower=0.0),
        check_array("skew_scale", sk_scale, lower=0.0),
    )
    shape, flat = broadcast_1d(names, arrays)
    n = math.prod(shape)
    bid = np.empty(n)
    ask = np.empty(n)
    nb.glft_quotes_1d(*flat, bid, ask)
    return shape, bid, ask


def glft_quotes(
    mid: ArrayLike,
    inventory: ArrayLike,
    sigma: ArrayLike,
    xi: ArrayLike,
    gamma: ArrayLike,
    delta: ArrayLike,
    A: ArrayLike,
    k: ArrayLike,
    *,
    mu: ArrayLike = 0.0,
    q_max: ArrayLike = math.inf,
    half_spread_scale: ArrayLike = 1.0,
    skew_scale: ArrayLike = 1.0,
) -> tuple[FloatOrArray, FloatOrArray]:
    """GLFT quotes in price units: ``bid = mid - (hs + skew*q) + shift``,
    ``ask = mid + (hs - skew*q) + shift``.

    ``hs = half_spread_scale * glft_half_spread``, ``skew = skew_scale * glft_skew``,
    ``shift = skew_scale * glft_drift_shift`` (0 without drift). The two scales are the
    empirical adjustment factors of the hftbacktest tutorial (1 = the model). Inventory
    bound: NaN bid when ``inventory + delta > q_max``, NaN ask when
    ``inventory - delta < -q_max``.
    """
    if is_scalar(mid, inventory, sigma, xi, gamma, delta, A, k, mu, q_max,
                 half_spread_scale, skew_scale):
        m = check_scalar("mu", mu)
        c1, c2 = glft_coefficients(xi, gamma, delta, A, k)
        bid, ask = nb.glft_quotes_nb(
            check_scalar("mid", mid, lower=0.0, strict=True),
            check_scalar("inventory", inventory),
            check_scalar("sigma", sigma, lower=0.0, strict=m != 0.0),
            c1, c2, float(delta), m, float(gamma),
            check_scalar("q_max", q_max, lower=0.0, strict=True, allow_inf=True),
            check_scalar("half_spread_scale", half_spread_scale, lower=0.0),
            check_scalar("skew_scale", skew_scale, lower=0.0),
        )
        return float(bid), float(ask)
    shape, bid, ask = _glft_arrays(mid, inventory, sigma, xi, gamma, delta, A, k, mu, q_max,
                                   half_spread_scale, skew_scale)
    return bid.reshape(shape), ask.reshape(shape)


def glft_quotes_ticks(
    mid: ArrayLike,
    inventory: ArrayLike,
    sigma: ArrayLike,
    xi: ArrayLike,
    gamma: ArrayLike,
    delta: ArrayLike,
    A: ArrayLike,
    k: ArrayLike,
    *,
    tick_size: float,
    mu: ArrayLike = 0.0,
    q_max: ArrayLike = math.inf,
    half_spread_scale: ArrayLike = 1.0,
    skew_scale: ArrayLike = 1.0,
) -> tuple[FloatOrArray, FloatOrArray]:
    """:func:`glft_quotes` on the tick grid: ``(floor(bid/tick_size), ceil(ask/tick_size))``.

    Returned as integral floats (``NaN`` where a side is not quoted); rounding outward
    never quotes more aggressively than the model (a price within 1e-9 relative of a tick
    counts as on it), and ``bid_tick <= ask_tick``.
    The model's inputs stay in price units; multiply ticks by ``tick_size`` for prices.
    """
    t = check_scalar("tick_size", tick_size, lower=0.0, strict=True)
    bid, ask = glft_quotes(mid, inventory, sigma, xi, gamma, delta, A, k, mu=mu, q_max=q_max,
                           half_spread_scale=half_spread_scale, skew_scale=skew_scale)
    scalar = isinstance(bid, float)
    bid = np.atleast_1d(np.asarray(bid, dtype=np.float64))
    ask = np.atleast_1d(np.asarray(ask, dtype=np.float64))
    shape = bid.shape
    bid_t = np.empty(bid.size)
    ask_t = np.empty(ask.size)
    nb.prices_to_ticks_1d(bid.reshape(-1), ask.reshape(-1), t, bid_t, ask_t)
    if scalar:
        return float(bid_t[0]), float(ask_t[0])
    return bid_t.reshape(shape), ask_t.reshape(shape)
