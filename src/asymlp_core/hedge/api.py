"""Typed Python API over :mod:`asymlp_core.hedge.nb` (validation, conversions)."""

from __future__ import annotations

import math

import numpy as np

from asymlp_core.hedge import nb
from asymlp_core.hedge.enums import EwmaBetaState, LpGreeks
from asymlp_core.ranges import checks
from asymlp_core.ranges.api import MAX_PRICE, MIN_PRICE
from asymlp_core.ranges.nb import MAX_TICK, MIN_TICK, tick_to_sqrt_price


def _range_sqrt(tick_lower: int, tick_upper: int) -> tuple[float, float]:
    lo = checks.integer("tick_lower", tick_lower, MIN_TICK, MAX_TICK)
    hi = checks.integer("tick_upper", tick_upper, MIN_TICK, MAX_TICK)
    if not lo < hi:
        raise ValueError(f"tick_lower must be < tick_upper, got {lo} >= {hi}")
    return tick_to_sqrt_price(float(lo)), tick_to_sqrt_price(float(hi))


def lp_greeks(liquidity: float, price: float, tick_lower: int, tick_upper: int) -> LpGreeks:
    """Value, delta and gamma of ``liquidity`` in ``[tick_lower, tick_upper]`` at ``price``.

    ``price`` in token1 per token0 (raw).  See :mod:`asymlp_core.hedge.nb` for the formulas.
    """
    liq = checks.non_negative("liquidity", liquidity)
    p = checks.in_closed("price", price, MIN_PRICE, MAX_PRICE)
    sa, sb = _range_sqrt(tick_lower, tick_upper)
    v, d, g = nb.lp_greeks(liq, math.sqrt(p), sa, sb)
    return LpGreeks(float(v), float(d), float(g))


def residual_inventory(
    lp_token0: float, hedge_position: float, *, spot_token0: float = 0.0, target: float = 0.0
) -> float:
    """Token0 exposure left after the hedge: ``lp_token0 + spot_token0 + hedge_position - target``."""
    return float(
        nb.residual_inventory(
            checks.finite("lp_token0", lp_token0),
            checks.finite("spot_token0", spot_token0),
            checks.finite("hedge_position", hedge_position),
            checks.finite("target", target),
        )
    )


def hedge_order_size(
    residual: float,
    *,
    band: float,
    min_size: float = 0.0,
    step: float = 0.0,
    to_band_edge: bool = False,
) -> float:
    """Signed hedge order in token0 (> 0 buys) for a residual exposure; 0 inside the band.

    ``to_band_edge=False`` trades the residual to zero, ``True`` only back to the band edge.
    The size is rounded to ``step`` towards reducing exposure without overshooting zero,
    raised to ``min_size`` when that does not overshoot, else 0.
    """
    r = checks.finite("residual", residual)
    b = checks.non_negative("band", band)
    m = checks.non_negative("min_size", min_size)
    s = checks.non_negative("step", step)
    return float(nb.hedge_order_size(r, b, 1 if to_band_edge else 0, m, s))


def _pair(y: object, x: object) -> tuple[np.ndarray, np.ndarray]:
    ya = checks.finite_array("y", y)
    xa = checks.finite_array("x", x)
    if ya.shape != xa.shape:
        raise ValueError(f"y and x must have the same length, got {ya.shape[0]} and {xa.shape[0]}")
    return ya, xa


def rolling_ols_beta(y: object, x: object, window: int) -> np.ndarray:
    """Rolling OLS beta of returns ``y`` (the hedged asset) on ``x`` (the instrument)."""
    ya, xa = _pair(y, x)
    w = checks.integer("window", window, 2)
    out = np.empty(ya.shape[0], dtype=np.float64)
    nb.rolling_ols_beta_1d(ya, xa, w, out)
    return out


def ewma_beta(
    y: object, x: object, *, alpha: float | None = None, halflife: float | None = None
) -> np.ndarray:
    """EWMA beta of ``y`` on ``x``; give ``alpha`` in (0, 1) or a ``halflife`` in observations."""
    ya, xa = _pair(y, x)
    if (alpha is None) == (halflife is None):
        raise ValueError("alpha: give exactly one of alpha and halflife")
    if alpha is None:
        hl = checks.positive("halflife", halflife)
        a = -math.expm1(-math.log(2.0) / hl)
    else:
        a = checks.finite("alpha", alpha)
        if not 0.0 < a < 1.0:
            raise ValueError(f"alpha must be in (0, 1), got {a!r}")
    out = np.empty(ya.shape[0], dtype=np.float64)
    nb.ewma_beta_1d(ya, xa, a, out)
    return out


def cross_hedge_notional(exposure_value: float, beta: float) -> float:
    """Instrument notional (token1) hedging an asset exposure of ``exposure_value`` (token1)."""
    return float(
        nb.cross_hedge_notional(
            checks.finite("exposure_value", exposure_value), checks.finite("beta", beta)
        )
    )


__all__ = [
    "EwmaBetaState",
    "LpGreeks",
    "cross_hedge_notional",
    "ewma_beta",
    "hedge_order_size",
    "lp_greeks",
    "residual_inventory",
    "rolling_ols_beta",
]
