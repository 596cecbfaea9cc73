"""Calibration of sigma, A and k from data files (``asymlp calibrate``).

- ``trades``: Binance aggTrades.  The files carry no book, so the mid at each trade is the
  centred rolling mean of ``mid_window`` trade prices (buys sit above the mid and sells below
  it by the same distribution, so their mean is the mid); the side is the aggressor's
  (``is_buyer_maker``: the aggressor sold, the trade reached the bids).  ``A`` and ``k`` come from
  :func:`asymlp_core.models.fit_fill_intensity` with depths relative to that mid.
- ``swaps``: Uniswap V3 ``Swap`` events; each swap moves the pool price from the previous
  event's sqrt price to its own, which is the depth a range edge at that distance would be
  crossed at (:func:`asymlp_core.models.depths_from_sqrt_prices`).  Times from the
  ``timestamp`` column, else ``block_number * block_seconds``.
- ``klines``: volatility only (bars carry no fills).

Volatility: realised and EWMA on the mid sampled every ``sigma_interval`` seconds, so that the
diffusion dominates the bid-ask bounce (for trades, corrected for the smoothing of the rolling
mid: a centred mean over ``w`` seconds leaves ``sigma^2 (dt - w/3)`` of a Brownian increment).
Units are printed with every figure; ``k`` is also given per unit of relative depth and ``A``
per minute, the units of ``[strategy]`` in a backtest config on minute bars.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd

from asymlp_core.models import (
    SIDE_ASK,
    SIDE_BID,
    depths_from_sqrt_prices,
    ewma_volatility,
    fit_fill_intensity,
    realized_volatility,
)

from ..data.loaders import load_binance_agg_trades, load_binance_klines, load_uniswap_swaps
from .data import swap_times_ns

__all__ = ["CalibrationError", "CalibrationRow", "calibrate_file", "format_calibration", "guess_kind"]

SECONDS_PER_YEAR = 365.0 * 86_400.0


class CalibrationError(ValueError):
    """The data cannot support the estimate (too few trades, windows, levels ...); names the file."""


class CalibrationRow(NamedTuple):
    name: str
    value: float
    stderr: float  # NaN when not available
    unit: str


def guess_kind(path: str | Path) -> Literal["trades", "klines", "swaps"]:
    name = Path(path).name.lower()
    if "aggtrade" in name or "trades" in name:
        return "trades"
    if "swap" in name or name.endswith(".parquet"):
        return "swaps"
    return "klines"


def _sample_every(times_s: np.ndarray, values: np.ndarray, interval: float) -> tuple[np.ndarray, np.ndarray]:
    """The last value at or before each multiple of ``interval`` after the first time."""
    grid = np.arange(times_s[0], times_s[-1] + 1e-12, interval)
    idx = np.searchsorted(times_s, grid, side="right") - 1
    return grid, values[idx]


def _sigma_rows(
    times_s: np.ndarray,
    prices: np.ndarray,
    interval: float,
    halflife: float,
    file: str,
    smoothing: float = 0.0,
) -> list[CalibrationRow]:
    """Volatility rows; ``smoothing`` is the span (seconds) of a centred moving average already
    applied to ``prices``: its increments over ``interval`` have variance ``sigma^2 (interval -
    smoothing / 3)`` for a Brownian price, which the estimates are corrected for."""
    if times_s.size < 2 or times_s[-1] - times_s[0] < 3 * interval:
        raise CalibrationError(
            f"{file}: too short for volatility: the data span {times_s[-1] - times_s[0]:.0f} s, "
            f"need at least "
            f"3 intervals of {interval:g} s (use --sigma-interval)"
        )
    t, p = _sample_every(times_s, prices, interval)
    try:
        rv_abs = realized_volatility(p, dt=interval, time_unit=1.0)
        rv_rel = realized_volatility(p, dt=interval, time_unit=SECONDS_PER_YEAR, log_returns=True)
        ew = ewma_volatility(p, dt=interval, halflife=halflife, time_unit=SECONDS_PER_YEAR, log_returns=True)
    except ValueError as exc:
        raise CalibrationError(f"{file}: {exc}") from None
    if smoothing > 0.0:
        if smoothing >= interval:
            raise CalibrationError(
                f"{file}: the rolling mid spans {smoothing:.0f} s, more than the sigma "
                f"interval {interval:g} s: use a larger --sigma-interval or a smaller --mid-window"
            )
        c = math.sqrt(interval / (interval - smoothing / 3.0))
        rv_abs = rv_abs._replace(sigma=rv_abs.sigma * c, stderr=rv_abs.stderr * c)
        rv_rel = rv_rel._replace(sigma=rv_rel.sigma * c, stderr=rv_rel.stderr * c)
        ew = ew * c
    per_minute = rv_rel.sigma / math.sqrt(SECONDS_PER_YEAR / 60.0)
    return [
        CalibrationRow("sigma (realised)", rv_abs.sigma, rv_abs.stderr, "price per sqrt(s)"),
        CalibrationRow("sigma (realised, relative)", rv_rel.sigma, rv_rel.stderr, "per sqrt(year)"),
        CalibrationRow(
            "sigma (realised, relative)",
            per_minute,
            rv_rel.stderr / rv_rel.sigma * per_minute,
            "per sqrt(minute): costs.sigma0",
        ),
        CalibrationRow(
            f"sigma (EWMA, half-life {halflife:g} s, last)", float(ew[-1]), math.nan, "per sqrt(year)"
        ),
    ]


def _intensity_rows(times_s, depths, sides, window, file, unit, rel_scale) -> list[CalibrationRow]:
    if window is None:
        n = max(depths.size, 1)
        window = 2.0 * (times_s[-1] - times_s[0]) / n if times_s.size > 1 else 1.0
    try:
        fit = fit_fill_intensity(times_s, depths, sides, window=window)
    except ValueError as exc:
        raise CalibrationError(f"{file}: {exc}") from None
    se_k = max(fit.k_stderr, fit.k_stderr_counts)
    se_ln_a = max(fit.ln_A_stderr, fit.ln_A_stderr_counts)
    rows = [
        CalibrationRow("A (fill intensity at depth 0)", fit.A, fit.A * se_ln_a, "per second"),
        CalibrationRow("k (decay with depth)", fit.k, se_k, f"per {unit}"),
    ]
    if rel_scale is not None:
        rows += [
            CalibrationRow(
                "k (relative depth)", fit.k * rel_scale, se_k * rel_scale, "per unit of depth/mid: strategy.k"
            ),
            CalibrationRow("A", fit.A * 60.0, fit.A * se_ln_a * 60.0, "per minute: strategy.A"),
        ]
    rows += [
        CalibrationRow("fit R^2", fit.r_squared, math.nan, f"{fit.n_levels} depth levels"),
        CalibrationRow("windows", float(fit.n_windows), math.nan, f"of {window:g} s, {fit.n_trades} fills"),
    ]
    return rows


def calibrate_file(
    path: str | Path,
    kind: Literal["trades", "klines", "swaps"] | None = None,
    *,
    window: float | None = None,
    mid_window: int = 50,
    sigma_interval: float = 60.0,
    halflife: float = 3600.0,
    decimals0: int = 18,
    decimals1: int = 6,
    block_seconds: float = 12.0,
) -> list[CalibrationRow]:
    """sigma (realised, EWMA) and, from trades or swaps, A and k with standard errors.

    Raises
    ------
    DataFormatError
        A malformed file (from the loaders).
    CalibrationError
        Too little data for an estimate (the message says which and why).
    """
    file = str(path)
    kind = kind or guess_kind(path)
    if kind == "klines":
        df = load_binance_klines(path)
        t = pd.DatetimeIndex(df["open_time"]).as_unit("ns").asi8
        if t.size < 4:
            raise CalibrationError(f"{file}: too few klines for volatility: {t.size} (need at least 4)")
        ts = (t - t[0]) / 1e9
        bar = float(np.median(np.diff(ts)))
        return _sigma_rows(ts, df["close"].to_numpy(np.float64), max(sigma_interval, bar), halflife, file)
    if kind == "trades":
        df = load_binance_agg_trades(path)
        if len(df) < 2 * mid_window:
            raise CalibrationError(
                f"{file}: too few trades: {len(df)} (need at least {2 * mid_window} for a rolling mid of "
                f"{mid_window} trades)"
            )
        t = pd.DatetimeIndex(df["transact_time"]).as_unit("ns").asi8
        ts = (t - t[0]) / 1e9
        prices = df["price"].to_numpy(np.float64)
        kernel = np.ones(mid_window) / mid_window
        mids = np.convolve(prices, kernel, mode="same")
        half = mid_window // 2
        mids[:half] = mids[half]
        mids[-half:] = mids[-half - 1]
        sides = np.where(df["is_buyer_maker"].to_numpy(), SIDE_BID, SIDE_ASK).astype(np.int64)
        depths = np.abs(prices - mids)
        span = mid_window * (ts[-1] - ts[0]) / max(ts.size - 1, 1)
        rows = _sigma_rows(ts, mids, sigma_interval, halflife, file, smoothing=span)
        rows += _intensity_rows(ts, depths, sides, window, file, "price unit", float(np.mean(mids)))
        return rows
    if kind == "swaps":
        df = load_uniswap_swaps(path)
        if len(df) < 3:
            raise CalibrationError(f"{file}: too few swaps: {len(df)} (need at least 3)")
        sq = np.array([int(s) / 2**96 for s in df["sqrt_price_x96"]], dtype=np.float64)
        if "timestamp" in df.columns:
            ts = swap_times_ns(df, file) / 1e9
        else:
            ts = df["block_number"].to_numpy(np.float64) * block_seconds
        ts = ts - ts[0]
        human = sq * sq * 10.0 ** (decimals0 - decimals1)
        depths, sides = depths_from_sqrt_prices(sq[:-1], sq[1:], unit="relative")
        rows = _sigma_rows(ts, human, sigma_interval, halflife, file)
        rows += _intensity_rows(ts[1:], depths, sides, window, file, "unit of relative depth", 1.0)
        return rows
    raise ValueError(f"kind must be 'trades', 'klines' or 'swaps', got {kind!r}")


def format_calibration(rows: list[CalibrationRow]) -> str:
    w = max(len(r.name) for r in rows)
    lines = [f"{'estimate':<{w}}  {'value':>14}  {'std. error':>12}  unit", "-" * (w + 50)]
    for r in rows:
        se = "" if math.isnan(r.stderr) else f"{r.stderr:.6g}"
        lines.append(f"{r.name:<{w}}  {r.value:>14.6g}  {se:>12}  {r.unit}")
    return "\n".join(lines)
