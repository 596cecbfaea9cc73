"""Parameter grids over the LP backtest: every combination in one call, parallel across sets."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np

from ..rebalance.enums import RebalanceParams
from ..strategy.enums import LPStrategyParams
from . import lp_nb
from .enums import LPBacktestConfig
from .lp import _as_array, check_backtest_config, check_strategy_params
from .lp_nb import N_STATS, market_pass_1d
from .sweep_nb import SWEEP_FIELDS, base_vector, sweep_lp_nb

_RB_FIELDS = set(RebalanceParams._fields) - {"inventory_target"}
_CFG_FIELDS = set(LPBacktestConfig._fields)

#: Result columns after the grid's own columns.
RESULT_FIELDS = (
    "final_equity", "total_pnl", "return", "sharpe", "max_drawdown", "max_drawdown_frac", "rebalances",
    "hedge_trades", "time_in_range", "fees", "hodl", "il", "gas", "swap_cost", "hedge_pnl", "funding",
    "hedge_cost", "lvr",
)


def _apply(params: LPStrategyParams, cfg: LPBacktestConfig, changes: Mapping[str, float]):
    p_changes = {k: v for k, v in changes.items() if k in LPStrategyParams._fields}
    rb_changes = {k: v for k, v in changes.items() if k in _RB_FIELDS}
    c_changes = {k: v for k, v in changes.items() if k in _CFG_FIELDS}
    params = params._replace(**p_changes, rebalance=params.rebalance._replace(**rb_changes))
    return check_strategy_params(params), check_backtest_config(cfg._replace(**c_changes))


def sweep_lp_backtest(
    price,
    volume1,
    pool_liquidity,
    grid: Mapping[str, Sequence[float]],
    params: LPStrategyParams | None = None,
    config: LPBacktestConfig | None = None,
    funding=0.0,
) -> np.ndarray:
    """Backtest every combination of ``grid`` (field -> values) and return one row per set.

    Fields are those of :data:`asymlp_core.backtest.sweep_nb.SWEEP_FIELDS` (strategy fields,
    rebalance thresholds, costs; a fee-tier sweep gives ``fee`` and ``tick_spacing`` paired
    values through two grid entries of equal length with ``paired=True`` semantics: pass
    them as one key ``"fee,tick_spacing"`` with tuples).  Every set is validated before the run.
    Returns a structured array: the grid's columns, then :data:`RESULT_FIELDS`.
    """
    params = check_strategy_params(params or LPStrategyParams())
    config = check_backtest_config(config or LPBacktestConfig())
    p = _as_array("price", price, None, allow_zero=False)
    n = p.size
    v = _as_array("volume1", volume1, n, allow_zero=True)
    pl = _as_array("pool_liquidity", pool_liquidity, n, allow_zero=True)
    fr = _as_array("funding", funding, n, allow_zero=True, positive=False)
    # expand keys (a "a,b" key carries tuples of paired values)
    columns: list[str] = []
    axes: list[list[tuple[float, ...]]] = []
    for key, values in grid.items():
        names = [k.strip() for k in key.split(",")]
        for name in names:
            if name not in SWEEP_FIELDS:
                raise ValueError(f"grid field {name!r} cannot be swept; choose from {', '.join(SWEEP_FIELDS)}")
        vals = [tuple(x) if len(names) > 1 else (x,) for x in values]
        if not vals or any(len(t) != len(names) for t in vals):
            raise ValueError(f"grid entry {key!r} needs a non-empty list of {len(names)}-tuples")
        columns.extend(names)
        axes.append(vals)
    if len(set(columns)) != len(columns):
        raise ValueError("a field appears twice in the grid")
    combos = [tuple(itertools.chain.from_iterable(c)) for c in itertools.product(*axes)]
    for combo in combos:
        _apply(params, config, dict(zip(columns, combo, strict=True)))  # validate each set
    values = np.array(combos, dtype=np.float64).reshape(len(combos), len(columns))
    field_ids = np.array([SWEEP_FIELDS.index(c) for c in columns], dtype=np.int64)
    ticks, sqrts, inv_sqrts, sigmas = (np.empty(n) for _ in range(4))
    market_pass_1d(p, config.sigma0, config.ewma_lambda, ticks, sqrts, inv_sqrts, sigmas)
    stats = np.empty((len(combos), N_STATS))
    sweep_lp_nb(p, v, fr, pl, ticks, sqrts, inv_sqrts, sigmas, base_vector(params, config), params.raw_per_human,
                params.rebalance.inventory_target, config.sigma0, config.ewma_lambda, config.bars_per_day,
                field_ids, values, stats)
    dtype = [(c, "f8") for c in columns] + [(r, "f8") for r in RESULT_FIELDS]
    out = np.zeros(len(combos), dtype=dtype)
    for j, c in enumerate(columns):
        out[c] = values[:, j]
    budget = values[:, columns.index("budget")] if "budget" in columns else np.full(len(combos), config.budget)
    out["final_equity"] = stats[:, lp_nb.STAT_FINAL_EQUITY]
    out["total_pnl"] = out["final_equity"] - budget
    out["return"] = out["total_pnl"] / budget
    d_n = stats[:, lp_nb.STAT_DAILY_N]
    mean = np.divide(stats[:, lp_nb.STAT_DAILY_RET_SUM], d_n, out=np.zeros(len(combos)), where=d_n > 0)
    var = np.divide(stats[:, lp_nb.STAT_DAILY_RET_SQ], d_n, out=np.zeros(len(combos)), where=d_n > 0) - mean**2
    scale = math.sqrt(365.0 * 1440.0 / config.bars_per_day)
    out["sharpe"] = np.divide(mean, np.sqrt(np.maximum(var, 0.0)), out=np.zeros(len(combos)), where=var > 0) * scale
    out["max_drawdown"] = stats[:, lp_nb.STAT_MAX_DRAWDOWN]
    out["max_drawdown_frac"] = stats[:, lp_nb.STAT_MAX_DRAWDOWN_FRAC]
    out["rebalances"] = stats[:, lp_nb.STAT_REBALANCES] - 1
    out["hedge_trades"] = stats[:, lp_nb.STAT_HEDGE_TRADES]
    out["time_in_range"] = stats[:, lp_nb.STAT_BARS_IN_RANGE] / n
    for name, stat, sign in (("fees", lp_nb.STAT_FEES, 1), ("hodl", lp_nb.STAT_HODL, 1), ("il", lp_nb.STAT_IL, 1),
                             ("gas", lp_nb.STAT_GAS, -1), ("swap_cost", lp_nb.STAT_SWAP_COST, -1),
                             ("hedge_pnl", lp_nb.STAT_HEDGE_PNL, 1), ("funding", lp_nb.STAT_FUNDING, 1),
                             ("hedge_cost", lp_nb.STAT_HEDGE_COST, -1), ("lvr", lp_nb.STAT_LVR, 1)):
        out[name] = sign * stats[:, stat]
    return out
