"""One backtest from a decoded config: core inputs, the kernel run, a flat summary."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from asymlp_core.backtest import LazyBars, run_lp_backtest

from .config import METRICS, BacktestFileConfig, CoreInputs, to_core
from .data import MarketBars

__all__ = ["BacktestRun", "METRICS", "flat_metrics", "run_backtest", "summarize"]


class BacktestRun(NamedTuple):
    bars: LazyBars  # the LP_BAR_DTYPE columns, expanded on demand (a year of rows is never copied whole)
    summary: dict[str, Any]
    inputs: CoreInputs


def summarize(
    bars: LazyBars | np.ndarray, market: MarketBars, inputs: CoreInputs, core: dict[str, Any]
) -> dict[str, Any]:
    """The core's summary of a run (``run_lp_backtest(...).summary``) plus figures for reports."""
    n = int(bars.size)
    weeks = n * market.bar_seconds / (7 * 86_400.0)
    width = (bars["tick_upper"] - bars["tick_lower"]).astype(np.float64)
    return {
        "source": market.source,
        "bars": n,
        "bar_seconds": market.bar_seconds,
        "days": n * market.bar_seconds / 86_400.0,
        "budget": inputs.config.budget,
        "fee": inputs.config.fee,
        "volume_scale": inputs.volume_scale,
        "pool_liquidity": inputs.pool_liquidity,
        "final_equity": core["final_equity"],
        "total_pnl": core["total_pnl"],
        "return": core["return"],
        "sharpe": core["sharpe_daily_annualised"],
        "max_drawdown": core["max_drawdown"],
        "max_drawdown_frac": core["max_drawdown_frac"],
        "rebalances": core["rebalances"],
        "rebalances_per_week": core["rebalances"] / weeks if weeks > 0 else 0.0,
        "hedge_trades": core["hedge_trades"],
        "time_in_range": core["bars_in_range"] / n,
        "lvr": core["lvr"],
        "hedge_turnover": core["hedge_turnover"],
        "median_width_ticks": float(np.median(width)),
        "median_width_pct": float((1.0001 ** np.median(width) - 1.0) * 100.0),
        "decomposition": core["decomposition"],
    }


def flat_metrics(summary: dict[str, Any]) -> dict[str, float]:
    """The :data:`METRICS` of a summary as one flat row."""
    row = {k: summary[k] for k in METRICS if k in summary and k != "decomposition"}
    for k in ("fees", "hodl", "il", "gas", "swap_cost", "hedge_pnl", "funding", "hedge_cost"):
        row[k] = summary["decomposition"][k]
    return row


def tier_volume(volume1: np.ndarray, volume_scale: float) -> np.ndarray:
    """The data's volume as the chosen fee tier trades it (``pool.tiers.<fee>.volume_scale``)."""
    return volume1 if volume_scale == 1.0 else volume1 * volume_scale


def run_backtest(cfg: BacktestFileConfig, market: MarketBars, file: str = "<config>") -> BacktestRun:
    """Run the LP + hedge backtest of ``cfg`` over ``market``; per-bar columns are expanded on demand."""
    inputs = to_core(cfg, file, bar_seconds=market.bar_seconds)
    res = run_lp_backtest(
        market.price,
        tier_volume(market.volume1, inputs.volume_scale),
        inputs.pool_liquidity,
        inputs.params,
        inputs.config,
        funding=inputs.funding_per_bar,
        full=False,
    )
    bars = LazyBars(res, market.price, inputs.funding_per_bar)
    return BacktestRun(bars, summarize(bars, market, inputs, core=res.summary), inputs)
