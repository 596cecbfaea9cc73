"""Event-driven market-making backtester: typed API over :func:`mm_nb.run_mm_1d`."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .enums import EVENT_DTYPE, FILL_DTYPE, MODEL_AS, MODEL_GLFT, STATE_DTYPE, MMConfig
from .mm_nb import run_mm_1d


class MMResult(NamedTuple):
    fills: np.ndarray  # FILL_DTYPE
    states: np.ndarray  # STATE_DTYPE, one per quoting decision
    summary: dict


def _check_config(cfg: MMConfig) -> MMConfig:
    if cfg.model not in (MODEL_AS, MODEL_GLFT):
        raise ValueError(f"model must be MODEL_AS (0) or MODEL_GLFT (1), got {cfg.model}")
    positive = ("gamma", "k", "A", "order_qty", "q_max", "tick_size", "time_unit_ns")
    non_negative = ("sigma", "tau", "xi", "lot_size", "requote_interval_ns", "entry_latency_ns",
                    "response_latency_ns")
    for name in positive + non_negative:
        v = float(getattr(cfg, name))
        if not math.isfinite(v) or v < 0 or (v == 0 and name in positive):
            kind = "positive" if name in positive else "non-negative"
            raise ValueError(f"MMConfig.{name} must be finite and {kind}, got {getattr(cfg, name)}")
    for name in ("mu", "maker_fee", "taker_fee"):
        if not math.isfinite(float(getattr(cfg, name))):
            raise ValueError(f"MMConfig.{name} must be finite")
    # normalise types so that one compiled signature serves every call
    return MMConfig(
        int(cfg.model), float(cfg.gamma), float(cfg.sigma), float(cfg.k), float(cfg.A), float(cfg.tau),
        float(cfg.xi), float(cfg.mu), float(cfg.order_qty), float(cfg.q_max), float(cfg.tick_size),
        float(cfg.lot_size), int(cfg.requote_interval_ns), int(cfg.entry_latency_ns),
        int(cfg.response_latency_ns), float(cfg.maker_fee), float(cfg.taker_fee), int(cfg.post_only),
        int(cfg.time_unit_ns),
    )


def check_events(events: np.ndarray) -> np.ndarray:
    """Validate an event array: dtype, clocks sorted, local clock not before the exchange's."""
    if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE:
        raise ValueError("events must be a numpy array of asymlp_core.backtest.EVENT_DTYPE")
    if events.size == 0:
        raise ValueError("events is empty")
    if np.any(np.diff(events["exch_ts"]) < 0):
        i = int(np.flatnonzero(np.diff(events["exch_ts"]) < 0)[0]) + 1
        raise ValueError(f"events.exch_ts is not sorted at row {i}")
    if np.any(np.diff(events["local_ts"]) < 0):
        i = int(np.flatnonzero(np.diff(events["local_ts"]) < 0)[0]) + 1
        raise ValueError(f"events.local_ts is not sorted at row {i}")
    if np.any(events["local_ts"] < events["exch_ts"]):
        i = int(np.flatnonzero(events["local_ts"] < events["exch_ts"])[0])
        raise ValueError(f"events.local_ts before exch_ts at row {i}")
    return events


def run_mm_backtest(
    events: np.ndarray,
    config: MMConfig | None = None,
    target_ts: np.ndarray | None = None,
    target_qty: np.ndarray | None = None,
) -> MMResult:
    """Quote with AS or GLFT against ``events`` with queue position and latencies.

    ``target_ts``/``target_qty`` (optional) give a step function of target inventory;
    the model quotes on ``position - target``, which makes the same engine a passive,
    queue-aware hedger of an external exposure (e.g. an LP position's delta).
    """
    cfg = _check_config(config or MMConfig())
    check_events(events)
    if target_ts is None:
        t_ts, t_qty = np.zeros(1, np.int64), np.zeros(1, np.float64)
    else:
        t_ts = np.ascontiguousarray(target_ts, dtype=np.int64)
        t_qty = np.ascontiguousarray(target_qty, dtype=np.float64)
        if t_ts.shape != t_qty.shape or t_ts.ndim != 1 or t_ts.size == 0:
            raise ValueError("target_ts and target_qty must be non-empty 1-d arrays of one length")
        if np.any(np.diff(t_ts) < 0) or not np.all(np.isfinite(t_qty)):
            raise ValueError("target_ts must be sorted and target_qty finite")
    n_dec = int((events["local_ts"][-1] - events["local_ts"][0]) // max(cfg.requote_interval_ns, 1)) + 2
    fills = np.empty(max(1024, events.size // 8), dtype=FILL_DTYPE)
    states = np.empty(min(n_dec, events.size) + 1, dtype=STATE_DTYPE)
    while True:
        n_fills, n_states = run_mm_1d(events, t_ts, t_qty, cfg, fills, states)
        if n_fills <= fills.size and n_states <= states.size:
            break
        fills = np.empty(max(n_fills, fills.size), dtype=FILL_DTYPE)
        states = np.empty(max(n_states, states.size), dtype=STATE_DTYPE)
    fills, states = fills[:n_fills], states[:n_states]
    return MMResult(fills, states, summarize_mm(fills, states))


def summarize_mm(fills: np.ndarray, states: np.ndarray) -> dict:
    """PnL, inventory and activity figures of a market-making run."""
    if states.size == 0:
        return {"n_fills": int(fills.size), "pnl": 0.0}
    eq = states["equity"]
    pos = states["position"]
    return {
        "n_fills": int(fills.size),
        "n_maker": int(fills["maker"].sum()),
        "volume": float((fills["qty"] * fills["px"]).sum()),
        "fees": float(fills["fee"].sum()),
        "pnl": float(eq[-1]),
        "final_position": float(pos[-1]),
        "max_abs_position": float(np.abs(pos).max()),
        "pnl_std_per_decision": float(np.diff(eq).std()) if eq.size > 1 else 0.0,
        "max_drawdown": float((np.maximum.accumulate(eq) - eq).max()),
    }
