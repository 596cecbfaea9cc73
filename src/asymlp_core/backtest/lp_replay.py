"""The LP backtester's accounting along a given path with given actions (a live run's, say).

:func:`replay_lp_path` walks price bars like :func:`~asymlp_core.backtest.lp.run_lp_backtest`
and fills the same per-bar record (``LP_BAR_DTYPE``) with the same formulas, but the positions
and hedge trades are inputs instead of the strategy's decisions. Two uses:

- a live run: the bars a process observed (pool price, volume from the pool's fee growth,
  other LPs' liquidity) and the actions it took give the backtester's PnL decomposition of that
  run, to be set beside the decomposition of the run's own exact records;
- the backtester itself: replaying its own event logs reproduces its own bars (a test of both).
"""

from __future__ import annotations

import math

import numpy as np

from ..v3 import MAX_TICK
from .enums import HEDGE_TRADE_DTYPE, LP_BAR_DTYPE, REBALANCE_DTYPE
from .lp_nb import replay_actions_1d


def _float_array(name: str, a, n: int | None, *, positive: bool) -> np.ndarray:
    arr = np.ascontiguousarray(np.atleast_1d(np.asarray(a, dtype=np.float64)))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-d array")
    if n is not None and arr.size not in (1, n):
        raise ValueError(f"{name} has {arr.size} values; expected 1 or {n} (one per bar)")
    bad = ~np.isfinite(arr) | ((arr <= 0) if positive else (arr < 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        kind = "positive" if positive else "non-negative"
        raise ValueError(f"{name}[{i}] = {float(arr[i])!r}: must be finite and {kind}")
    return arr


def _events(name: str, events, dtype: np.dtype, n: int, fields: tuple[str, ...]) -> np.ndarray:
    if events is None:
        return np.zeros(0, dtype)
    ev = np.asarray(events)
    if ev.dtype != dtype:
        raise ValueError(f"{name} must be a {dtype.names} record array")
    ev = ev.copy()
    bars = ev["bar"]
    if ev.size and (bars.min() < 0 or bars.max() >= n):
        i = int(np.flatnonzero((bars < 0) | (bars >= n))[0])
        raise ValueError(f"{name}[{i}].bar = {int(bars[i])}: outside the {n} bars")
    if np.any(np.diff(bars) < 0):
        i = int(np.flatnonzero(np.diff(bars) < 0)[0]) + 1
        raise ValueError(f"{name}[{i}].bar = {int(bars[i])}: events must be in bar order")
    for field in fields:
        col = ev[field]
        bad = ~np.isfinite(col)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{name}[{i}].{field} = {float(col[i])!r}: must be finite")
    return ev


def replay_lp_path(
    price,
    volume1,
    pool_liquidity,
    *,
    fee: float,
    raw_per_human: float,
    actions=None,
    hedge_trades=None,
    funding=0.0,
    start_value: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-bar records of the given actions along a price path, with the backtester's formulas.

    Parameters
    ----------
    price : array of float
        Human price (token1 per token0) of each bar, > 0.
    volume1 : array of float
        Pool volume of each bar in token1 (>= 0), or one value for every bar.
    pool_liquidity : float or array of float
        Other LPs' active liquidity, human units (> 0), per bar or one value.
    fee : float
        Pool fee as a fraction (0.003 for the 0.30 % tier).
    raw_per_human : float
        ``10 ** (decimals1 - decimals0)``: raw price per human price (the strategy's field).
    actions : ``REBALANCE_DTYPE`` array, optional
        In bar order: ``bar``, ``reason``, ``tick_lower``/``tick_upper`` (raw ticks),
        ``liquidity`` (human; 0 closes), ``gas`` and ``swap_cost`` (token1, positive).
    hedge_trades : ``HEDGE_TRADE_DTYPE`` array, optional
        In bar order: ``bar``, ``qty`` (> 0 buys token0), ``price``, ``cost`` (token1).
    funding : float or array of float
        Funding rate per bar (positive: longs pay shorts).
    start_value : float
        Equity before the first bar.

    Returns
    -------
    (bars, actions) : the ``LP_BAR_DTYPE`` records and the actions with ``value_before`` filled.
    """
    p = _float_array("price", price, None, positive=True)
    n = p.size
    v = _float_array("volume1", volume1, n, positive=False)
    if v.size == 1 and n > 1:
        v = np.full(n, v[0])
    pl = _float_array("pool_liquidity", pool_liquidity, n, positive=True)
    fr = np.ascontiguousarray(np.atleast_1d(np.asarray(funding, dtype=np.float64)))
    if fr.size not in (1, n) or not np.all(np.isfinite(fr)):
        raise ValueError(f"funding must be finite, one value or one per bar ({n})")
    if not (math.isfinite(fee) and 0.0 <= fee < 1.0):
        raise ValueError(f"fee = {fee!r}: must be in [0, 1)")
    if not (math.isfinite(raw_per_human) and raw_per_human > 0.0):
        raise ValueError(f"raw_per_human = {raw_per_human!r}: must be finite and positive")
    acts = _events("actions", actions, REBALANCE_DTYPE, n, ("liquidity", "gas", "swap_cost"))
    if acts.size and (acts["liquidity"] < 0).any():
        i = int(np.flatnonzero(acts["liquidity"] < 0)[0])
        raise ValueError(f"actions[{i}].liquidity = {float(acts['liquidity'][i])!r}: must be >= 0")
    open_rows = acts["liquidity"] > 0
    bad = open_rows & ((acts["tick_lower"] >= acts["tick_upper"]) | (np.abs(acts["tick_lower"]) > MAX_TICK)
                       | (np.abs(acts["tick_upper"]) > MAX_TICK))  # fmt: skip
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"actions[{i}]: ticks must satisfy -{MAX_TICK} <= tick_lower < tick_upper <= {MAX_TICK}")
    hedges = _events("hedge_trades", hedge_trades, HEDGE_TRADE_DTYPE, n, ("qty", "price", "cost"))
    if hedges.size and (hedges["price"] <= 0).any():
        i = int(np.flatnonzero(hedges["price"] <= 0)[0])
        raise ValueError(f"hedge_trades[{i}].price = {float(hedges['price'][i])!r}: must be positive")
    out = np.zeros(n, LP_BAR_DTYPE)
    replay_actions_1d(p, v, pl, fr, float(fee), float(raw_per_human), acts, hedges, float(start_value), out)
    return out, acts
