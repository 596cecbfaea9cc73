"""Calibration of the quote models: volatility and fill intensity ``lambda(delta) = A exp(-k delta)``.

Units are explicit everywhere:

- ``times`` are in any unit (seconds, say) and ``time_unit`` says how many of them make
  the unit the result is expressed in: with times in seconds, ``time_unit=1`` gives
  sigma per sqrt(second), ``time_unit=86_400`` per sqrt(day) and
  ``time_unit=365*86_400`` the annualised figure (crypto calendar).
- ``sigma`` is in price units (``log_returns=False``: increments of the price, as the
  Avellaneda-Stoikov and GLFT models use) or relative (``log_returns=True``).
- ``A`` is per unit of the ``times`` axis and ``k`` per unit of depth.

Fill intensity (as in the hftbacktest GLFT tutorial): the time axis is cut into windows
of length ``window``; in each window the deepest trade on each side (distance from the
mid) is recorded; a quote resting at depth ``delta_i`` counts as filled in a window when
that maximum is strictly beyond ``delta_i``. The counts per level over the number of
windows give the fill frequency ``p_i``, and ``lambda_i = p_i / window`` (the tutorial's
estimator, ``saturation_correction=False``) or ``lambda_i = -ln(1 - p_i) / window``
(default: the exact inversion of ``P(filled in a window) = 1 - exp(-lambda W)`` for
Poisson arrivals, unbiased where fills are frequent). Then ``ln lambda`` is regressed on
``delta`` by OLS: ``ln A`` is the intercept, ``k`` minus the slope.

The same estimator runs on Uniswap V3 swaps: a swap moves the pool price from ``P0`` to
``P1``; a range order (or the edge of an LP's range) at distance ``delta`` from ``P0`` on
the side the price moves to is crossed when ``|P1 - P0| > delta``. :func:`swap_depths`
computes that depth from the pool's liquidity and sqrt price (float formulas of
constant liquidity within one initialized-tick interval), :func:`depths_from_sqrt_prices`
from the sqrt prices before and after (e.g. consecutive ``Swap`` events).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from asymlp_core.models import nb
from asymlp_core.models._validate import broadcast_1d, check_array, check_scalar
from asymlp_core.models.enums import IntensityFit, VolatilityEstimate

__all__ = [
    "depths_from_sqrt_prices",
    "ewma_volatility",
    "fit_fill_intensity",
    "fit_fill_intensity_from_trades",
    "realized_volatility",
    "simulate_poisson_trades",
    "swap_depths",
    "swap_sqrt_price_after",
    "trade_depths",
    "window_max_depths",
]

LN_TICK = math.log(1.0001)
"""ln(1.0001): one Uniswap V3 tick in log-price."""


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def _times_1d(
    name: str, times: ArrayLike, n: int | None = None
) -> tuple[np.ndarray, float]:
    """Float64 times relative to the first one (integer nanoseconds keep their precision)."""
    t = np.asarray(times)
    if t.ndim != 1:
        raise ValueError(f"{name} must be 1-d, got shape {t.shape}")
    if n is not None and t.shape[0] != n:
        raise ValueError(f"{name} must have length {n}, got {t.shape[0]}")
    if t.dtype.kind in "iu" and t.shape[0] > 0:
        return (t - t.min()).astype(np.float64), float(t.min())
    t = check_array(name, t)
    return t, 0.0


def _vector(name: str, x: ArrayLike, *, lower: float | None = None, strict: bool = False,
            n: int | None = None) -> np.ndarray:
    a = check_array(name, x, lower=lower, strict=strict)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-d, got shape {a.shape}")
    if n is not None and a.shape[0] != n:
        raise ValueError(f"{name} must have length {n}, got {a.shape[0]}")
    return np.ascontiguousarray(a)


def _check_non_decreasing(name: str, t: np.ndarray) -> None:
    if t.shape[0] > 1:
        d = np.diff(t)
        bad = np.flatnonzero(d < 0)
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"{name} must be non-decreasing, but {name}[{i + 1}] < {name}[{i}]")


# ---------------------------------------------------------------------------
# volatility
# ---------------------------------------------------------------------------


def realized_volatility(
    prices: ArrayLike,
    *,
    times: ArrayLike | None = None,
    dt: float | None = None,
    time_unit: float = 1.0,
    log_returns: bool = False,
) -> VolatilityEstimate:
    """Realised volatility ``sqrt(sum(r_i**2) / span * time_unit)`` per sqrt(time unit).

    ``r_i`` are price increments (``log_returns=False``, price units) or log returns.
    Give ``times`` (trades: irregular, non-decreasing) or ``dt`` (bars of fixed spacing,
    in the same unit as ``time_unit``), not both. The standard error is
    ``sigma/sqrt(2n)`` (Gaussian increments, n increments); microstructure noise is not
    modelled, so sample trades sparsely enough for the diffusive part to dominate.
    """
    p = _vector("prices", prices, lower=0.0 if log_returns else None, strict=log_returns)
    if p.shape[0] < 3:
        raise ValueError(f"prices must have at least 3 observations, got {p.shape[0]}")
    tu = check_scalar("time_unit", time_unit, lower=0.0, strict=True)
    if (times is None) == (dt is None):
        raise ValueError("give exactly one of times (irregular observations) or dt (bars)")
    if times is None:
        step = check_scalar("dt", dt, lower=0.0, strict=True)
        t = np.empty(0)
    else:
        step = 0.0
        t, _ = _times_1d("times", times, p.shape[0])
        _check_non_decreasing("times", t)
    ss, span, n = nb.realized_variance_1d(p, t, step, bool(log_returns))
    if not span > 0.0:
        raise ValueError("times must span a positive duration")
    sigma = math.sqrt(ss / span * tu)
    return VolatilityEstimate(sigma=sigma, stderr=sigma / math.sqrt(2.0 * n), n=int(n),
                              time_unit=tu)


def ewma_volatility(
    prices: ArrayLike,
    *,
    halflife: float,
    times: ArrayLike | None = None,
    dt: float | None = None,
    time_unit: float = 1.0,
    log_returns: bool = False,
) -> np.ndarray:
    """EWMA volatility per sqrt(time unit) after each observation (``out[0]`` is NaN).

    The variance rate is ``N_i/D_i`` with ``N_i = d_i N_{i-1} + r_i**2``,
    ``D_i = d_i D_{i-1} + dt_i`` and ``d_i = 2**(-dt_i/halflife)``: the RiskMetrics
    recursion for regular bars (``lambda = 2**(-dt/halflife)``), made time-aware for
    trades. ``halflife`` is in the unit of ``times``/``dt``.
    """
    p = _vector("prices", prices, lower=0.0 if log_returns else None, strict=log_returns)
    hl = check_scalar("halflife", halflife, lower=0.0, strict=True)
    tu = check_scalar("time_unit", time_unit, lower=0.0, strict=True)
    if (times is None) == (dt is None):
        raise ValueError("give exactly one of times (irregular observations) or dt (bars)")
    if times is None:
        step = check_scalar("dt", dt, lower=0.0, strict=True)
        t = np.empty(0)
    else:
        step = 0.0
        t, _ = _times_1d("times", times, p.shape[0])
        _check_non_decreasing("times", t)
    out = np.empty(p.shape[0])
    nb.ewma_variance_1d(p, t, step, hl, bool(log_returns), out)
    return np.sqrt(out * tu)


# ---------------------------------------------------------------------------
# fill intensity
# ---------------------------------------------------------------------------


def trade_depths(prices: ArrayLike, mids: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """``(depths, sides)`` of trades relative to the prevailing mid.

    ``depth = |price - mid|``; ``side = +1`` (:data:`SIDE_ASK`) for a trade at or above
    the mid (it reaches our asks), ``-1`` (:data:`SIDE_BID`) below it.
    """
    p = _vector("prices", prices)
    m = _vector("mids", mids, n=p.shape[0])
    depths = np.empty(p.shape[0])
    sides = np.empty(p.shape[0], dtype=np.int64)
    nb.trade_depths_1d(p, m, depths, sides)
    return depths, sides


def window_max_depths(
    times: ArrayLike,
    depths: ArrayLike,
    sides: ArrayLike,
    *,
    window: float,
    t_start: float | None = None,
    t_end: float | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Deepest trade per window and side: ``(bid_max, ask_max, n_trades_used)``.

    Windows are ``[t_start + j*window, t_start + (j+1)*window)`` for
    ``j < floor((t_end - t_start)/window)``; ``t_start``/``t_end`` default to the first
    and last trade time (in the units of ``times``). A window in which no trade reached a
    side has ``-inf`` there (it still counts as a window: nothing was filled).
    """
    t, origin = _times_1d("times", times)
    n = t.shape[0]
    d = _vector("depths", depths, n=n)
    s = np.ascontiguousarray(np.asarray(sides, dtype=np.int64))
    if s.shape != (n,):
        raise ValueError(f"sides must have shape ({n},), got {s.shape}")
    if np.any((s != 1) & (s != -1)):
        raise ValueError("sides must hold only +1 (ask side) and -1 (bid side)")
    w = check_scalar("window", window, lower=0.0, strict=True)
    if n == 0:
        raise ValueError("too few trades: 0 trades given")
    t0 = float(np.min(t)) if t_start is None else check_scalar("t_start", t_start) - origin
    t1 = float(np.max(t)) if t_end is None else check_scalar("t_end", t_end) - origin
    if not t1 > t0:
        raise ValueError(f"t_end must be after t_start, got {t1 + origin!r} <= {t0 + origin!r}")
    n_windows = int(math.floor((t1 - t0) / w))
    bid_max = np.empty(n_windows)
    ask_max = np.empty(n_windows)
    used = nb.window_max_depths_1d(t, d, s, t0, w, bid_max, ask_max)
    return bid_max, ask_max, int(used)


def fit_fill_intensity(
    times: ArrayLike,
    depths: ArrayLike,
    sides: ArrayLike,
    *,
    window: float,
    depth_grid: ArrayLike | None = None,
    t_start: float | None = None,
    t_end: float | None = None,
    side: Literal["both", "bid", "ask"] = "both",
    saturation_correction: bool = True,
    min_trades: int = 10,
    min_windows: int = 10,
) -> IntensityFit:
    """Fit ``lambda(delta) = A exp(-k delta)`` from trade depths (see the module docstring).

    Parameters
    ----------
    times, depths, sides : trade times, depths (>= 0, price units or ticks: ``k`` comes
        out per that unit) and sides (+1 ask side, -1 bid side).
    window : window length in the unit of ``times`` (> 0); ``A`` is per that unit.
    depth_grid : ascending depth levels (>= 0, at least 3); default 20 levels from 0 to
        the 90th percentile of the per-window maxima.
    side : ``"both"`` pools the two sides (each window gives two observations),
        ``"bid"``/``"ask"`` fits one side.
    saturation_correction : ``-ln(1-p)/window`` (default) or the tutorial's ``p/window``.
        Levels filled in every window carry no information under the correction and
        are left out.
    min_trades, min_windows : thresholds below which the data are too thin.

    Raises
    ------
    ValueError
        Too few trades, too few windows, or fewer than 3 depth levels with positive
        (and, with the correction, not saturated) counts; the message says which.
    """
    if side not in ("both", "bid", "ask"):
        raise ValueError(f"side must be 'both', 'bid' or 'ask', got {side!r}")
    w = check_scalar("window", window, lower=0.0, strict=True)
    bid_max, ask_max, used = window_max_depths(times, depths, sides, window=w,
                                               t_start=t_start, t_end=t_end)
    n_windows = bid_max.shape[0]
    if used < min_trades:
        raise ValueError(
            f"too few trades: {used} trades fall inside the windows (need at least "
            f"{min_trades})"
        )
    if n_windows < min_windows:
        raise ValueError(
            f"too few windows: {n_windows} windows of length {w:g} (need at least "
            f"{min_windows}); use a shorter window or a longer sample"
        )
    maxima = {"both": (bid_max, ask_max), "bid": (bid_max,), "ask": (ask_max,)}[side]
    n_obs = n_windows * len(maxima)
    if depth_grid is None:
        finite = np.concatenate([m[np.isfinite(m)] for m in maxima])
        top = float(np.quantile(finite, 0.9)) if finite.size else 0.0
        if not top > 0.0:
            raise ValueError(
                "too few depth levels with positive counts: the per-window maximum depths "
                "are all 0 (no trade beyond the mid); give depth_grid explicitly"
            )
        grid = np.linspace(0.0, top, 20)
    else:
        grid = _vector("depth_grid", depth_grid, lower=0.0)
        if grid.shape[0] < 3:
            raise ValueError(f"depth_grid must have at least 3 levels, got {grid.shape[0]}")
        if np.any(np.diff(grid) <= 0.0):
            raise ValueError("depth_grid must be strictly increasing")
    counts = np.zeros(grid.shape[0], dtype=np.int64)
    for m in maxima:
        nb.exceedance_counts_1d(m, grid, counts)
    p = counts / n_obs
    if saturation_correction:
        keep = (counts > 0) & (counts < n_obs)
        lam = np.full(grid.shape[0], np.nan)
        lam[keep] = -np.log1p(-p[keep]) / w
    else:
        keep = counts > 0
        lam = p / w
    n_levels = int(np.count_nonzero(keep))
    if n_levels < 3:
        positive = int(np.count_nonzero(counts > 0))
        saturated = int(np.count_nonzero(counts == n_obs))
        extra = (
            f", {saturated} of them filled in every window (saturated; shorten the window "
            f"or extend the grid deeper)"
            if saturation_correction and saturated
            else ""
        )
        raise ValueError(
            f"too few depth levels with positive counts: {positive} of {grid.shape[0]} "
            f"levels{extra}; need at least 3 usable levels"
        )
    x = np.ascontiguousarray(grid[keep])
    y = np.log(lam[keep])
    b0, b1, se0, se1, r2 = nb.ols_1d(x, y)
    k_hat = -b1
    if not k_hat > 0.0:
        raise ValueError(
            f"fitted k = {k_hat:.6g} is not positive: the fill intensity does not decay "
            f"with depth on this grid (R^2 = {r2:.3f})"
        )
    a_hat = math.exp(b0)
    se0_counts, se1_counts = _count_stderr(x, p[keep], n_obs, saturation_correction)
    return IntensityFit(
        A=a_hat, k=k_hat, ln_A=b0, ln_A_stderr=se0, k_stderr=se1, A_stderr=a_hat * se0,
        ln_A_stderr_counts=se0_counts, k_stderr_counts=se1_counts, r_squared=r2,
        n_windows=n_windows, n_trades=used, n_levels=n_levels,
        depths=x, intensity=lam[keep], counts=counts[keep],
    )


def _count_stderr(
    x: np.ndarray, p: np.ndarray, n_obs: int, corrected: bool
) -> tuple[float, float]:
    """Standard errors of (ln A, k) from the binomial covariance of the cumulative counts.

    Indicators I_i = [window max > delta_i] with delta ascending satisfy I_j <= I_i for
    j > i, so Cov(p_i, p_j) = (p_max(i,j) - p_i p_j) / N. The regression target is
    y_i = ln(-ln(1 - p_i)) (corrected) or ln(p_i) (minus ln W, a constant), with
    dy/dp = 1/((1-p) (-ln(1-p))) or 1/p; OLS is linear in y, so
    Cov(beta) = H D C D H^T with H = (X^T X)^-1 X^T.
    """
    # p is non-increasing in depth: the deeper of two levels has the smaller p
    p_deep = p[np.maximum.outer(np.arange(p.size), np.arange(p.size))]
    cov_p = (p_deep - np.outer(p, p)) / n_obs
    if corrected:
        grad = 1.0 / ((1.0 - p) * -np.log1p(-p))
    else:
        grad = 1.0 / p
    cov_y = cov_p * np.outer(grad, grad)
    X = np.column_stack([np.ones_like(x), x])
    H = np.linalg.solve(X.T @ X, X.T)
    cov_b = H @ cov_y @ H.T
    return float(math.sqrt(max(cov_b[0, 0], 0.0))), float(math.sqrt(max(cov_b[1, 1], 0.0)))


def fit_fill_intensity_from_trades(
    times: ArrayLike, prices: ArrayLike, mids: ArrayLike, **kwargs
) -> IntensityFit:
    """:func:`fit_fill_intensity` on trade prints and the mid prevailing at each print."""
    depths, sides = trade_depths(prices, mids)
    return fit_fill_intensity(times, depths, sides, **kwargs)


# ---------------------------------------------------------------------------
# Uniswap V3 swaps as fills (float tier, constant liquidity within a range)
# ---------------------------------------------------------------------------


def swap_sqrt_price_after(
    amount_in: ArrayLike,
    liquidity: ArrayLike,
    sqrt_price: ArrayLike,
    zero_for_one: ArrayLike,
    *,
    fee_pips: ArrayLike = 0,
) -> np.ndarray:
    """Float sqrt price (``sqrt(token1/token0)`` in raw units, i.e. ``sqrtPriceX96 / 2**96``)
    after an exact-input swap that does not cross an initialized tick.

    ``amount_in`` (raw token units, >= 0) net of the fee ``fee_pips/1e6``; token0 in
    (``zero_for_one``): ``L*sqrtP / (L + x*sqrtP)``; token1 in: ``sqrtP + x/L``. This is
    the float counterpart of ``SqrtPriceMath.getNextSqrtPriceFromInput``; for swaps that
    cross ticks replay them in the exact pool (:mod:`asymlp_core.v3`).
    """
    x = check_array("amount_in", amount_in, lower=0.0)
    arrays = (
        x,
        check_array("liquidity", liquidity, lower=0.0, strict=True),
        check_array("sqrt_price", sqrt_price, lower=0.0, strict=True),
        np.asarray(zero_for_one, dtype=np.float64),
        check_array("fee_pips", fee_pips, lower=0.0) / 1e6,
    )
    if np.any(arrays[4] >= 1.0):
        raise ValueError("fee_pips must be below 1_000_000")
    shape, flat = broadcast_1d(
        ("amount_in", "liquidity", "sqrt_price", "zero_for_one", "fee_pips"), arrays
    )
    amount = flat[0]
    if amount.shape[0] != math.prod(shape):
        amount = np.ascontiguousarray(np.broadcast_to(x, shape)).reshape(-1)
    out = np.empty(math.prod(shape))
    nb.swap_sqrt_price_after_1d(amount, flat[1], flat[2], flat[3] != 0.0, flat[4], out)
    return out.reshape(shape)


def depths_from_sqrt_prices(
    sqrt_price_before: ArrayLike,
    sqrt_price_after: ArrayLike,
    *,
    unit: Literal["price", "relative", "ticks"] = "price",
) -> tuple[np.ndarray, np.ndarray]:
    """``(depths, sides)`` of price moves, e.g. consecutive ``Swap`` events' sqrt prices.

    ``unit``: ``"price"`` -> ``|P1 - P0|`` with ``P = sqrtP**2``; ``"relative"`` ->
    ``|P1/P0 - 1|``; ``"ticks"`` -> ``|ln(P1/P0)| / ln(1.0001)``. Side +1 when the price
    rises (token1 in: the swap reaches liquidity above the price, our asks), -1 when it
    falls (token0 in: it reaches our bids).
    """
    s0 = _vector("sqrt_price_before", sqrt_price_before, lower=0.0, strict=True)
    s1 = _vector("sqrt_price_after", sqrt_price_after, lower=0.0, strict=True, n=s0.shape[0])
    if unit == "price":
        depths = np.abs(s1 * s1 - s0 * s0)
    elif unit == "relative":
        depths = np.abs((s1 / s0) ** 2 - 1.0)
    elif unit == "ticks":
        depths = np.abs(2.0 * np.log(s1 / s0)) / LN_TICK
    else:
        raise ValueError(f"unit must be 'price', 'relative' or 'ticks', got {unit!r}")
    sides = np.where(s1 >= s0, 1, -1).astype(np.int64)
    return depths, sides


def swap_depths(
    amount_in: ArrayLike,
    liquidity: ArrayLike,
    sqrt_price: ArrayLike,
    zero_for_one: ArrayLike,
    *,
    fee_pips: ArrayLike = 0,
    unit: Literal["price", "relative", "ticks"] = "price",
) -> tuple[np.ndarray, np.ndarray]:
    """Price-impact depth and side of each swap from the pool's ``L`` and sqrt price.

    Combines :func:`swap_sqrt_price_after` and :func:`depths_from_sqrt_prices`; feed the
    result with the swap times to :func:`fit_fill_intensity` to calibrate ``A, k`` from
    the pool itself.
    """
    after = swap_sqrt_price_after(amount_in, liquidity, sqrt_price, zero_for_one,
                                  fee_pips=fee_pips)
    before = np.broadcast_to(np.asarray(sqrt_price, dtype=np.float64), after.shape)
    return depths_from_sqrt_prices(before.reshape(-1), after.reshape(-1), unit=unit)


# ---------------------------------------------------------------------------
# synthetic data with known parameters (tests, examples, benchmarks)
# ---------------------------------------------------------------------------


def simulate_poisson_trades(
    A: float,
    k: float,
    sigma: float,
    duration: float,
    *,
    mid0: float = 100.0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Trades of the Avellaneda-Stoikov market: ``(times, prices, mids)``.

    On each side market orders arrive as a Poisson process of rate ``A`` (per time unit)
    with depths ``Exp(k)``, so orders reaching beyond ``delta`` arrive at rate
    ``A exp(-k delta)``; the mid is an arithmetic Brownian motion of volatility ``sigma``
    observed at the trade times. Deterministic for a given ``seed``.
    """
    a = check_scalar("A", A, lower=0.0, strict=True)
    kk = check_scalar("k", k, lower=0.0, strict=True)
    sg = check_scalar("sigma", sigma, lower=0.0)
    T = check_scalar("duration", duration, lower=0.0, strict=True)
    m0 = check_scalar("mid0", mid0)
    rng = np.random.default_rng(seed)
    n = int(rng.poisson(2.0 * a * T))
    times = np.sort(rng.uniform(0.0, T, n))
    sides = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    depths = rng.exponential(1.0 / kk, n)
    steps = np.diff(times, prepend=0.0)
    mids = m0 + np.cumsum(sg * np.sqrt(steps) * rng.standard_normal(n))
    return times, mids + sides * depths, mids
