"""Parameter sweeps of the LP backtest in one process: ``prange`` over parameter sets.

Contract: the market pass (ticks, square roots, volatility) is computed once and shared; each
parameter set runs :func:`asymlp_core.backtest.lp_nb.run_lp_core` without per-bar rows (a
zero-length row buffer) into its own row of ``out_stats``; event logs are per set and
thread-local (allocated once per set, outside the bar loop).  Parallel across sets only.

Overridable fields are listed in :data:`SWEEP_FIELDS` (strategy fields, rebalance thresholds
and cost fields); a set overrides the base parameters on the fields of ``field_ids``.
``sigma0``/``ewma_lambda`` are not sweepable here (the market pass is shared).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..rebalance.enums import RebalanceParams
from ..strategy.enums import LPStrategyParams
from .enums import HEDGE_TRADE_DTYPE, LP_CORE_DTYPE, REBALANCE_DTYPE, LPBacktestConfig
from .lp_nb import N_STATS, run_lp_core

#: Sweepable fields, by id (the index in this tuple).
SWEEP_FIELDS = (
    "model", "gamma", "k", "A", "xi", "tau", "range_scale", "skew", "q_max", "inventory_target",
    "tick_spacing", "min_width_ticks", "max_width_ticks", "hedge", "hedge_band", "hedge_to_band_edge",
    "hedge_min_size", "hedge_step",
    "band", "band_rearm", "inventory_threshold", "inventory_rearm", "reservation_tolerance_ticks",
    "reservation_rearm_ticks", "max_age", "min_interval", "enabled",
    "fee", "budget", "gas_cost", "swap_fee", "hedge_fee", "compound_fees",
)


def base_vector(params: LPStrategyParams, cfg: LPBacktestConfig) -> np.ndarray:
    """The values of :data:`SWEEP_FIELDS` in a parameter set (the base of a sweep)."""
    rb = params.rebalance
    values = {**params._asdict(), **rb._asdict(), **cfg._asdict()}
    return np.array([float(values[name]) for name in SWEEP_FIELDS])


@njit(cache=True)
def params_from_vector(v, raw_per_human, inventory_target_rb, sigma0, ewma_lambda, bars_per_day):
    """(LPStrategyParams, LPBacktestConfig) from a vector of :data:`SWEEP_FIELDS` values."""
    rb = RebalanceParams(v[18], v[19], inventory_target_rb, v[20], v[21], v[22], v[23], v[24], v[25], int(v[26]))
    params = LPStrategyParams(
        int(v[0]), v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], int(v[10]), int(v[11]), int(v[12]),
        raw_per_human, int(v[13]), v[14], int(v[15]), v[16], v[17], rb,
    )
    cfg = LPBacktestConfig(v[27], v[28], sigma0, ewma_lambda, v[29], v[30], v[31], int(v[32]), bars_per_day)
    return params, cfg


@njit(cache=True)
def _run_set(price, volume1, funding, pool_liquidity, ticks, sqrts, inv_sqrts, sigmas, v, raw_per_human,
             inventory_target_rb, sigma0, ewma_lambda, bars_per_day, stats):
    params, cfg = params_from_vector(v, raw_per_human, inventory_target_rb, sigma0, ewma_lambda, bars_per_day)
    no_rows = np.empty(0, dtype=LP_CORE_DTYPE)
    rebalances = np.empty(0, dtype=REBALANCE_DTYPE)
    hedges = np.empty(0, dtype=HEDGE_TRADE_DTYPE)
    run_lp_core(price, volume1, funding, pool_liquidity, ticks, sqrts, inv_sqrts, sigmas, params, cfg,
                no_rows, rebalances, hedges, stats)


@njit(cache=True, parallel=True)
def sweep_lp_nb(price, volume1, funding, pool_liquidity, ticks, sqrts, inv_sqrts, sigmas, base, raw_per_human,
                inventory_target_rb, sigma0, ewma_lambda, bars_per_day, field_ids, values, out_stats):
    """Run every parameter set (``base`` with ``values[s]`` on ``field_ids``) into ``out_stats[s]``."""
    n_sets = values.shape[0]
    for s in prange(n_sets):
        v = base.copy()
        for j in range(field_ids.shape[0]):
            v[field_ids[j]] = values[s, j]
        stats = np.empty(N_STATS)
        _run_set(price, volume1, funding, pool_liquidity, ticks, sqrts, inv_sqrts, sigmas, v, raw_per_human,
                 inventory_target_rb, sigma0, ewma_lambda, bars_per_day, stats)
        for j in range(N_STATS):
            out_stats[s, j] = stats[j]
    return n_sets
