"""LP + hedge backtest: typed API over :func:`lp_nb.run_lp_1d` and the PnL decomposition."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..rebalance.enums import RebalanceParams
from ..strategy.enums import QUOTE_AS, QUOTE_GLFT, LPStrategyParams
from .enums import (
    HEDGE_TRADE_DTYPE,
    LP_BAR_DTYPE,
    LP_CORE_DTYPE,
    PNL_PARTS,
    REBALANCE_DTYPE,
    LPBacktestConfig,
)
from .lp_nb import N_STATS, expand_bars_range_1d, pnl_parts_1d, run_lp_1d


class LPResult(NamedTuple):
    """``bars``: ``LP_BAR_DTYPE``, one row per input bar (``None`` when run with
    ``full=False``); ``core``: what the kernel wrote per bar (``LP_CORE_DTYPE``);
    ``rebalances`` and ``hedge_trades``: the event logs; ``sigma``: the volatility used at
    each bar; ``summary``: figures of the run."""

    bars: np.ndarray | None
    summary: dict
    core: np.ndarray
    rebalances: np.ndarray
    hedge_trades: np.ndarray
    sigma: np.ndarray


def _finite_positive(name: str, a: np.ndarray, allow_zero: bool) -> None:
    bad = ~np.isfinite(a) | ((a < 0) if allow_zero else (a <= 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        kind = "finite and non-negative" if allow_zero else "finite and positive"
        raise ValueError(f"{name}[{i}] = {a[i]!r}: must be {kind}")


def check_strategy_params(p: LPStrategyParams) -> LPStrategyParams:
    """Validate and normalise field types (one compiled signature for every call)."""
    if p.model not in (QUOTE_AS, QUOTE_GLFT):
        raise ValueError(f"LPStrategyParams.model must be QUOTE_AS (0) or QUOTE_GLFT (1), got {p.model}")
    for name in ("gamma", "k", "A", "tau", "range_scale", "q_max", "raw_per_human"):
        v = float(getattr(p, name))
        if not math.isfinite(v) or v <= 0:
            raise ValueError(f"LPStrategyParams.{name} must be finite and positive, got {v}")
    for name in ("xi", "skew", "hedge_band", "hedge_min_size", "hedge_step"):
        v = float(getattr(p, name))
        if not math.isfinite(v) or v < 0:
            raise ValueError(f"LPStrategyParams.{name} must be finite and non-negative, got {v}")
    if not 0.0 <= p.inventory_target <= 1.0:
        raise ValueError(f"LPStrategyParams.inventory_target must be in [0, 1], got {p.inventory_target}")
    if p.tick_spacing <= 0 or p.min_width_ticks <= 0 or p.max_width_ticks < p.min_width_ticks:
        raise ValueError("LPStrategyParams needs tick_spacing > 0 and 0 < min_width_ticks <= max_width_ticks")
    rb = p.rebalance
    rb = RebalanceParams(*(float(v) for v in rb[:-1]), int(rb.enabled))
    return LPStrategyParams(
        int(p.model), float(p.gamma), float(p.k), float(p.A), float(p.xi), float(p.tau), float(p.range_scale),
        float(p.skew), float(p.q_max), float(p.inventory_target), int(p.tick_spacing), int(p.min_width_ticks),
        int(p.max_width_ticks), float(p.raw_per_human), int(p.hedge), float(p.hedge_band),
        int(p.hedge_to_band_edge), float(p.hedge_min_size), float(p.hedge_step), rb,
    )


def check_backtest_config(c: LPBacktestConfig) -> LPBacktestConfig:
    for name in ("fee", "budget", "sigma0"):
        v = float(getattr(c, name))
        if not math.isfinite(v) or v <= 0:
            raise ValueError(f"LPBacktestConfig.{name} must be finite and positive, got {v}")
    for name in ("gas_cost", "swap_fee", "hedge_fee"):
        v = float(getattr(c, name))
        if not math.isfinite(v) or v < 0:
            raise ValueError(f"LPBacktestConfig.{name} must be finite and non-negative, got {v}")
    if not 0.0 <= c.ewma_lambda < 1.0:
        raise ValueError(f"LPBacktestConfig.ewma_lambda must be in [0, 1), got {c.ewma_lambda}")
    if int(c.bars_per_day) < 1:
        raise ValueError(f"LPBacktestConfig.bars_per_day must be >= 1, got {c.bars_per_day}")
    return LPBacktestConfig(
        float(c.fee), float(c.budget), float(c.sigma0), float(c.ewma_lambda), float(c.gas_cost),
        float(c.swap_fee), float(c.hedge_fee), int(c.compound_fees), int(c.bars_per_day),
    )


def _as_array(name: str, a, n: int | None, allow_zero: bool, positive: bool = True) -> np.ndarray:
    arr = np.ascontiguousarray(np.atleast_1d(np.asarray(a, dtype=np.float64)))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a scalar or a non-empty 1-d array")
    if n is not None and arr.size not in (1, n):
        raise ValueError(f"{name} has {arr.size} values; expected 1 or one per bar ({n})")
    if positive:
        _finite_positive(name, arr, allow_zero)
    elif not np.all(np.isfinite(arr)):
        i = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"{name}[{i}] = {arr[i]!r}: must be finite")
    return arr


def run_lp_backtest(
    price,
    volume1,
    pool_liquidity,
    params: LPStrategyParams | None = None,
    config: LPBacktestConfig | None = None,
    funding=0.0,
    out: np.ndarray | None = None,
    full: bool = True,
) -> LPResult:
    """Backtest the hedged asymmetric LP strategy over price bars.

    Parameters
    ----------
    price : array
        Pool (reference) price per bar, token1 per token0 with decimals applied.
    volume1 : array
        Token1 volume traded on the pool per bar.
    pool_liquidity : float or array
        The pool's other active liquidity, in the same human units as our liquidity
        (``L_raw / 10**((decimals0 + decimals1) / 2)`` for an on-chain ``liquidity`` reading).
    funding : float or array
        Perpetual funding rate per bar (a fraction; positive: longs pay shorts).
    out : array, optional
        A reusable ``LP_CORE_DTYPE`` buffer of at least ``len(price)`` rows.
    full : bool
        Materialise ``bars`` (every per-bar part of the PnL) and the summary; ``False``
        returns only what the kernel wrote (for sweeps and benchmarks).
    """
    p = _as_array("price", price, None, allow_zero=False)
    n = p.size
    v = _as_array("volume1", volume1, n, allow_zero=True)
    if v.size != n:
        raise ValueError(f"volume1 has {v.size} values; expected one per bar ({n})")
    pl = _as_array("pool_liquidity", pool_liquidity, n, allow_zero=True)
    fr = _as_array("funding", funding, n, allow_zero=True, positive=False)
    params = check_strategy_params(params or LPStrategyParams())
    config = check_backtest_config(config or LPBacktestConfig())
    if out is None:
        out = np.empty(n, dtype=LP_CORE_DTYPE)
    elif out.dtype != LP_CORE_DTYPE or out.size < n:
        raise ValueError("out must be an LP_CORE_DTYPE array with at least one row per bar")
    sigma = np.empty(n)
    cap = max(64, n // 32)
    rebalances = np.empty(cap, dtype=REBALANCE_DTYPE)
    hedges = np.empty(cap, dtype=HEDGE_TRADE_DTYPE)
    stats = np.zeros(N_STATS)
    while True:
        _, n_rb, n_h = run_lp_1d(p, v, fr, pl, params, config, out, sigma, rebalances, hedges, stats)
        if n_rb <= rebalances.size and n_h <= hedges.size:
            break
        rebalances = np.empty(max(n_rb, rebalances.size), dtype=REBALANCE_DTYPE)
        hedges = np.empty(max(n_h, hedges.size), dtype=HEDGE_TRADE_DTYPE)
    core = out[:n]
    rebalances, hedges = rebalances[:n_rb], hedges[:n_h]
    bars = expand_bars(core, rebalances, hedges, sigma, p, fr) if full else None
    summary = stats_summary(stats, config)
    return LPResult(bars, summary, core, rebalances, hedges, sigma)


def expand_bars(
    core: np.ndarray,
    rebalances: np.ndarray,
    hedges: np.ndarray,
    sigma: np.ndarray,
    price: np.ndarray,
    funding: np.ndarray,
    start: int = 0,
    stop: int | None = None,
) -> np.ndarray:
    """The full per-bar record (``LP_BAR_DTYPE``) of bars ``start:stop`` from the kernel's
    compact rows and event logs (see :func:`asymlp_core.backtest.lp_nb.expand_bars_range_1d`)."""
    stop = core.size if stop is None else min(stop, core.size)
    if not 0 <= start <= stop:
        raise ValueError(f"bad bar range {start}:{stop} of {core.size} bars")
    bars = np.empty(stop - start, dtype=LP_BAR_DTYPE)
    fund = np.atleast_1d(np.ascontiguousarray(funding, dtype=np.float64))
    expand_bars_range_1d(core, rebalances, hedges, sigma, price, fund, start, bars)
    return bars


class LazyBars:
    """The per-bar record of a run without materialising it: ``bars[name]`` gives one column
    (the kernel's own rows for its fields, the others expanded a chunk at a time and cached),
    ``chunks(rows)`` yields ``LP_BAR_DTYPE`` blocks.  A year of minutes as a full record takes
    84 MB; a column 4 MB."""

    dtype = LP_BAR_DTYPE

    def __init__(self, result: LPResult, price: np.ndarray, funding, chunk: int = 65_536) -> None:
        self._r = result
        self._price = np.ascontiguousarray(price, dtype=np.float64)
        self._funding = np.atleast_1d(np.ascontiguousarray(funding, dtype=np.float64))
        self._chunk = chunk
        self._cache: dict[str, np.ndarray] = {}

    @property
    def size(self) -> int:
        return int(self._r.core.size)

    def __len__(self) -> int:
        return self.size

    def chunks(self, rows: int | None = None):
        rows = rows or self._chunk
        for start in range(0, self.size, rows):
            yield start, expand_bars(self._r.core, self._r.rebalances, self._r.hedge_trades, self._r.sigma,
                                     self._price, self._funding, start, start + rows)

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in LP_BAR_DTYPE.names:
            raise KeyError(name)
        if name in LP_CORE_DTYPE.names:
            return self._r.core[name]
        if name == "sigma":
            return self._r.sigma
        if name not in self._cache:
            col = np.empty(self.size, dtype=LP_BAR_DTYPE[name])
            for start, block in self.chunks():
                col[start:start + block.size] = block[name]
            self._cache[name] = col
        return self._cache[name]


def pnl_decomposition(bars: np.ndarray) -> dict:
    """Cumulative parts of the PnL (costs as negative contributions) and their total."""
    parts = pnl_parts_1d(bars)
    out = {name: float(v) for (name, _), v in zip(PNL_PARTS, parts, strict=True)}
    out["total"] = float(parts.sum())
    return out


def stats_summary(stats: np.ndarray, config: LPBacktestConfig) -> dict:
    """Figures of a run from the kernel's running statistics (no per-bar rows needed)."""
    from . import lp_nb as k

    parts = {
        "fees": stats[k.STAT_FEES], "hodl": stats[k.STAT_HODL], "il": stats[k.STAT_IL],
        "gas": -stats[k.STAT_GAS], "swap_cost": -stats[k.STAT_SWAP_COST], "hedge_pnl": stats[k.STAT_HEDGE_PNL],
        "funding": stats[k.STAT_FUNDING], "hedge_cost": -stats[k.STAT_HEDGE_COST],
    }
    decomposition = {name: float(v) for name, v in parts.items()}
    decomposition["total"] = float(sum(parts.values()))
    d_n = stats[k.STAT_DAILY_N]
    sharpe = 0.0
    if d_n > 1:
        mean = stats[k.STAT_DAILY_RET_SUM] / d_n
        var = max(stats[k.STAT_DAILY_RET_SQ] / d_n - mean * mean, 0.0)
        sharpe = float(mean / math.sqrt(var) * math.sqrt(365.0 * 1440.0 / config.bars_per_day)) if var > 0 else 0.0
    final = float(stats[k.STAT_FINAL_EQUITY])
    return {
        "final_equity": final,
        "total_pnl": final - config.budget,
        "return": final / config.budget - 1.0,
        "sharpe_daily_annualised": sharpe,
        "max_drawdown": float(stats[k.STAT_MAX_DRAWDOWN]),
        "max_drawdown_frac": float(stats[k.STAT_MAX_DRAWDOWN_FRAC]),
        "rebalances": int(stats[k.STAT_REBALANCES]) - 1,  # the opening is not a rebalance
        "hedge_trades": int(stats[k.STAT_HEDGE_TRADES]),
        "hedge_turnover": float(stats[k.STAT_HEDGE_TURNOVER]),
        "lvr": float(stats[k.STAT_LVR]),
        "bars_in_range": int(stats[k.STAT_BARS_IN_RANGE]),
        "decomposition": decomposition,
    }
