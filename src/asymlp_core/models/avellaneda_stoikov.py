"""Avellaneda & Stoikov (2008) optimal quotes: finite horizon and the discounted stationary form.

Reference: M. Avellaneda and S. Stoikov, "High-frequency trading in a limit order book",
Quantitative Finance 8(3), 217-224, 2008.

Model: mid ``s`` an arithmetic Brownian motion of volatility ``sigma`` (price units per
square root of the time unit), market orders reaching depth ``delta`` at rate
``A exp(-k delta)`` per time unit, CARA utility with risk aversion ``gamma`` (per price
unit), inventory ``q`` in units of the asset, remaining horizon ``tau = T - t``.

Inventory limits: with ``q_max`` given, there is no bid when ``q >= q_max`` and no ask
when ``q <= -q_max``; a side that is not quoted is returned as ``NaN`` (a NaN price
never compares true, so ``bid < x`` style checks simply fail for that side).

Scalars in give floats out; any array in gives arrays out (NumPy broadcasting).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from asymlp_core.models import nb
from asymlp_core.models._validate import broadcast_1d, check_array, check_scalar, is_scalar

FloatOrArray = float | np.ndarray

__all__ = [
    "as_optimal_spread",
    "as_quotes",
    "as_reservation_price",
    "as_stationary_omega",
    "as_stationary_quotes",
    "as_stationary_reservation_prices",
]


def as_reservation_price(
    mid: ArrayLike, inventory: ArrayLike, gamma: ArrayLike, sigma: ArrayLike, tau: ArrayLike
) -> FloatOrArray:
    """Reservation (indifference) price ``r = s - q * gamma * sigma**2 * tau``.

    Parameters
    ----------
    mid : mid price ``s`` (> 0, price units).
    inventory : inventory ``q`` (units of the asset, any sign; long lowers ``r``).
    gamma : risk aversion (> 0, per price unit).
    sigma : volatility (>= 0, price units per sqrt(time unit)).
    tau : remaining horizon ``T - t`` (>= 0, time units).
    """
    if is_scalar(mid, inventory, gamma, sigma, tau):
        return float(
            nb.as_reservation_price_nb(
                check_scalar("mid", mid, lower=0.0, strict=True),
                check_scalar("inventory", inventory),
                check_scalar("gamma", gamma, lower=0.0, strict=True),
                check_scalar("sigma", sigma, lower=0.0),
                check_scalar("tau", tau, lower=0.0),
            )
        )
    names = ("mid", "inventory", "gamma", "sigma", "tau")
    arrays = (
        check_array("mid", mid, lower=0.0, strict=True),
        check_array("inventory", inventory),
        check_array("gamma", gamma, lower=0.0, strict=True),
        check_array("sigma", sigma, lower=0.0),
        check_array("tau", tau, lower=0.0),
    )
    shape, flat = broadcast_1d(names, arrays)
    out = np.empty(math.prod(shape))
    nb.as_reservation_price_1d(*flat, out)
    return out.reshape(shape)


def as_optimal_spread(
    gamma: ArrayLike, sigma: ArrayLike, tau: ArrayLike, k: ArrayLike
) -> FloatOrArray:
    """Total optimal bid-ask spread ``gamma*sigma**2*tau + (2/gamma)*ln(1 + gamma/k)``.

    This is ``delta_a + delta_b`` of the paper (eq. for the spread around the
    reservation price). It grows with ``sigma`` and ``tau``; in ``gamma`` its
    derivative ``sigma**2*tau - (2/gamma**2)*ln(1+gamma/k) + 2/(gamma*(gamma+k))`` can
    have either sign (the arrival term falls with ``gamma``), so it is not monotone.

    Parameters
    ----------
    gamma : risk aversion (> 0). sigma : volatility (>= 0). tau : horizon (>= 0).
    k : intensity decay (> 0, per price unit).
    """
    if is_scalar(gamma, sigma, tau, k):
        return float(
            nb.as_optimal_spread_nb(
                check_scalar("gamma", gamma, lower=0.0, strict=True),
                check_scalar("sigma", sigma, lower=0.0),
                check_scalar("tau", tau, lower=0.0),
                check_scalar("k", k, lower=0.0, strict=True),
            )
        )
    names = ("gamma", "sigma", "tau", "k")
    arrays = (
        check_array("gamma", gamma, lower=0.0, strict=True),
        check_array("sigma", sigma, lower=0.0),
        check_array("tau", tau, lower=0.0),
        check_array("k", k, lower=0.0, strict=True),
    )
    shape, flat = broadcast_1d(names, arrays)
    out = np.empty(math.prod(shape))
    nb.as_optimal_spread_1d(*flat, out)
    return out.reshape(shape)


def as_quotes(
    mid: ArrayLike,
    inventory: ArrayLike,
    gamma: ArrayLike,
    sigma: ArrayLike,
    tau: ArrayLike,
    k: ArrayLike,
    *,
    q_max: ArrayLike = math.inf,
) -> tuple[FloatOrArray, FloatOrArray]:
    """Finite-horizon quotes ``(bid, ask) = r -/+ spread/2``.

    ``r`` from :func:`as_reservation_price`, ``spread`` from :func:`as_optimal_spread`.
    At zero inventory the quotes are symmetric around ``mid``; a long inventory lowers
    both. ``q_max`` (> 0, ``inf`` = no limit): no bid (NaN) when ``inventory >= q_max``,
    no ask (NaN) when ``inventory <= -q_max``.
    """
    if is_scalar(mid, inventory, gamma, sigma, tau, k, q_max):
        bid, ask = nb.as_quotes_nb(
            check_scalar("mid", mid, lower=0.0, strict=True),
            check_scalar("inventory", inventory),
            check_scalar("gamma", gamma, lower=0.0, strict=True),
            check_scalar("sigma", sigma, lower=0.0),
            check_scalar("tau", tau, lower=0.0),
            check_scalar("k", k, lower=0.0, strict=True),
            check_scalar("q_max", q_max, lower=0.0, strict=True, allow_inf=True),
        )
        return float(bid), float(ask)
    names = ("mid", "inventory", "gamma", "sigma", "tau", "k", "q_max")
    arrays = (
        check_array("mid", mid, lower=0.0, strict=True),
        check_array("inventory", inventory),
        check_array("gamma", gamma, lower=0.0, strict=True),
        check_array("sigma", sigma, lower=0.0),
        check_array("tau", tau, lower=0.0),
        check_array("k", k, lower=0.0, strict=True),
        check_array("q_max", q_max, lower=0.0, strict=True, allow_inf=True),
    )
    shape, flat = broadcast_1d(names, arrays)
    n = math.prod(shape)
    bid = np.empty(n)
    ask = np.empty(n)
    nb.as_quotes_1d(*flat, bid, ask)
    return bid.reshape(shape), ask.reshape(shape)


def as_stationary_omega(gamma: float, sigma: float, q_max: float) -> float:
    """Discount ``omega = gamma**2 * sigma**2 * (q_max + 1)**2 / 2`` suggested by the paper.

    With this ``omega`` the stationary reservation prices are finite for
    ``|q| < q_max`` and the bid (ask) reservation price goes to -inf (+inf) exactly at
    ``q = q_max`` (``q = -q_max``): the inventory bound is built into the quotes.
    """
    g = check_scalar("gamma", gamma, lower=0.0, strict=True)
    s = check_scalar("sigma", sigma, lower=0.0, strict=True)
    qm = check_scalar("q_max", q_max, lower=0.0, strict=True)
    return 0.5 * g * g * s * s * (qm + 1.0) ** 2


def as_stationary_reservation_prices(
    mid: ArrayLike, inventory: ArrayLike, gamma: ArrayLike, sigma: ArrayLike, omega: ArrayLike
) -> tuple[FloatOrArray, FloatOrArray]:
    """Reservation bid and ask prices of the infinite-horizon objective (discount ``omega``).

    Avellaneda & Stoikov (2008), section 2, infinite-horizon objective
    ``v(x, s, q) = E[int_0^inf -exp(-omega t) exp(-gamma (x + q S_t)) dt]``
    ``= -exp(-gamma (x + q s)) / (omega - gamma^2 sigma^2 q^2 / 2)``; the indifference
    conditions ``v(x - r_b, s, q + 1) = v(x, s, q)`` and ``v(x + r_a, s, q - 1) = v(x, s, q)``
    give, with ``g = gamma**2 * sigma**2``:

    ``r_b = s + (1/gamma) ln(1 + (-1 - 2q) g / (2 omega - g q^2))``
    ``r_a = s + (1/gamma) ln(1 + ( 1 - 2q) g / (2 omega - g (q - 1)^2))``

    (some transcriptions of the paper print ``r_a`` with the denominator
    ``2 omega - g q^2``; that version is not symmetric at ``q = 0``. The form here is the
    one the value function gives: ``r_a(q) - s = s - r_b(-q)``). A side whose log
    argument is not positive is NaN. The horizon ``tau`` of the finite form is replaced
    by the discount ``omega`` (per time unit, > 0).
    """
    names = ("mid", "inventory", "gamma", "sigma", "omega")
    if is_scalar(mid, inventory, gamma, sigma, omega):
        r_b, r_a = nb.as_stationary_reservation_prices_nb(
            check_scalar("mid", mid, lower=0.0, strict=True),
            check_scalar("inventory", inventory),
            check_scalar("gamma", gamma, lower=0.0, strict=True),
            check_scalar("sigma", sigma, lower=0.0),
            check_scalar("omega", omega, lower=0.0, strict=True),
        )
        return float(r_b), float(r_a)
    # The array form reuses the quotes kernel with k = inf (no arrival term) and no limit.
    bid, ask = _stationary_1d(names, mid, inventory, gamma, sigma, math.inf, omega, math.inf)
    return bid, ask


def as_stationary_quotes(
    mid: ArrayLike,
    inventory: ArrayLike,
    gamma: ArrayLike,
    sigma: ArrayLike,
    k: ArrayLike,
    *,
    q_max: ArrayLike,
    omega: ArrayLike | None = None,
) -> tuple[FloatOrArray, FloatOrArray]:
    """Stationary (infinite-horizon) quotes: ``bid = r_b - ln(1+gamma/k)/gamma``,
    ``ask = r_a + ln(1+gamma/k)/gamma``.

    This is the form of Avellaneda & Stoikov (2008, section 2) in which the horizon is
    replaced by a discount ``omega`` (see :func:`as_stationary_reservation_prices`),
    with the same order-arrival term as the finite-horizon quotes. ``omega`` defaults
    to :func:`as_stationary_omega` ``(gamma, sigma, q_max)``, which makes the quotes
    finite exactly for ``-q_max < q < q_max``. Inventory limits as in :func:`as_quotes`
    (NaN side). For the asymptotic (``T -> inf``) closed form of Gueant, Lehalle and
    Fernandez-Tapia (2013) use :func:`asymlp_core.models.glft_quotes`.
    """
    if omega is None:
        if not is_scalar(gamma, sigma, q_max):
            raise ValueError("omega must be given when gamma, sigma or q_max are arrays")
        omega = as_stationary_omega(gamma, sigma, q_max)  # type: ignore[arg-type]
    names = ("mid", "inventory", "gamma", "sigma", "k", "omega", "q_max")
    if is_scalar(mid, inventory, gamma, sigma, k, omega, q_max):
        bid, ask = nb.as_stationary_quotes_nb(
            check_scalar("mid", mid, lower=0.0, strict=True),
            check_scalar("inventory", inventory),
            check_scalar("gamma", gamma, lower=0.0, strict=True),
            check_scalar("sigma", sigma, lower=0.0),
            check_scalar("k", k, lower=0.0, strict=True, allow_inf=True),
            check_scalar("omega", omega, lower=0.0, strict=True),
            check_scalar("q_max", q_max, lower=0.0, strict=True, allow_inf=True),
        )
        return float(bid), float(ask)
    return _stationary_1d(names, mid, inventory, gamma, sigma, k, omega, q_max)


def _stationary_1d(names, mid, inventory, gamma, sigma, k, omega, q_max):
    arrays = (
        check_array("mid", mid, lower=0.0, strict=True),
        check_array("inventory", inventory),
        check_array("gamma", gamma, lower=0.0, strict=True),
        check_array("sigma", sigma, lower=0.0),
        check_array("k", k, lower=0.0, strict=True, allow_inf=True),
        check_array("omega", omega, lower=0.0, strict=True),
        check_array("q_max", q_max, lower=0.0, strict=True, allow_inf=True),
    )
    shape, flat = broadcast_1d(
        ("mid", "inventory", "gamma", "sigma", "k", "omega", "q_max"), arrays
    )
    n = math.prod(shape)
    bid = np.empty(n)
    ask = np.empty(n)
    nb.as_stationary_quotes_1d(*flat, bid, ask)
    return bid.reshape(shape), ask.reshape(shape)
