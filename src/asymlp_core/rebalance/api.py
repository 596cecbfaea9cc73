"""Typed Python API of the rebalance decision: validated constructors and a step function."""

from __future__ import annotations

import math

import numpy as np

from asymlp_core.ranges import checks
from asymlp_core.ranges.nb import LN_TICK_BASE, MAX_TICK, MIN_TICK
from asymlp_core.rebalance import nb
from asymlp_core.rebalance.enums import (
    REASON_ALL,
    RebalanceInputs,
    RebalanceParams,
    RebalanceReason,
    RebalanceState,
)


def relative_tolerance_to_ticks(relative: float) -> float:
    """Ticks equivalent to a relative price move ``rho``: ``ln(1 + rho) / ln(1.0001)``."""
    rho = checks.finite("relative", relative)
    if rho <= -1.0:
        raise ValueError(f"relative must be > -1, got {rho!r}")
    return math.log1p(rho) / LN_TICK_BASE


def rebalance_params(
    *,
    band: float = 0.1,
    band_rearm: float = 0.2,
    inventory_target: float = 0.5,
    inventory_threshold: float = 0.10,
    inventory_rearm: float = 0.05,
    reservation_tolerance_ticks: float = 100.0,
    reservation_rearm_ticks: float = 50.0,
    max_age: float = 86_400.0,
    min_interval: float = 300.0,
    enabled: int = REASON_ALL,
) -> RebalanceParams:
    """Validated :class:`RebalanceParams` (defaults: 10% band, 10% inventory threshold, ...).

    Every re-arm threshold must lie strictly on the quiet side of its fire threshold.
    Times are in the caller's unit (the defaults assume seconds).
    """
    b = checks.in_closed("band", band, 0.0, 0.5)
    br = checks.in_closed("band_rearm", band_rearm, 0.0, 0.5)
    if not br > b:
        raise ValueError(f"band_rearm must be > band, got {br} <= {b}")
    tgt = checks.in_closed("inventory_target", inventory_target, 0.0, 1.0)
    it = checks.positive("inventory_threshold", inventory_threshold)
    ir = checks.non_negative("inventory_rearm", inventory_rearm)
    if not ir < it:
        raise ValueError(f"inventory_rearm must be < inventory_threshold, got {ir} >= {it}")
    rt = checks.positive("reservation_tolerance_ticks", reservation_tolerance_ticks)
    rr = checks.non_negative("reservation_rearm_ticks", reservation_rearm_ticks)
    if not rr < rt:
        raise ValueError(
            f"reservation_rearm_ticks must be < reservation_tolerance_ticks, got {rr} >= {rt}"
        )
    age = checks.positive("max_age", max_age)
    mi = checks.non_negative("min_interval", min_interval)
    en = checks.integer("enabled", enabled, 0, REASON_ALL)
    return RebalanceParams(b, br, tgt, it, ir, rt, rr, age, mi, en)


def rebalance_state(time: float, reservation_tick: float, armed: int = REASON_ALL) -> RebalanceState:
    """Validated initial :class:`RebalanceState`: position opened at ``time``, all armed."""
    t = checks.finite("time", time)
    r = checks.in_closed("reservation_tick", reservation_tick, MIN_TICK, MAX_TICK)
    a = checks.integer("armed", armed, 0, REASON_ALL)
    return RebalanceState(t, r, a)


def rebalance_inputs(
    time: float,
    price_tick: float,
    tick_lower: int,
    tick_upper: int,
    inventory_ratio: float,
    reservation_tick: float,
) -> RebalanceInputs:
    """Validated :class:`RebalanceInputs` with the field types the kernels compile for."""
    t = checks.finite("time", time)
    p = checks.in_closed("price_tick", price_tick, MIN_TICK, MAX_TICK)
    lo = checks.integer("tick_lower", tick_lower, MIN_TICK, MAX_TICK)
    hi = checks.integer("tick_upper", tick_upper, MIN_TICK, MAX_TICK)
    if not lo < hi:
        raise ValueError(f"tick_lower must be < tick_upper, got {lo} >= {hi}")
    q = checks.in_closed("inventory_ratio", inventory_ratio, 0.0, 1.0)
    r = checks.in_closed("reservation_tick", reservation_tick, MIN_TICK, MAX_TICK)
    return RebalanceInputs(t, p, lo, hi, q, r)


def rebalance_decide(
    state: RebalanceState, inputs: RebalanceInputs, params: RebalanceParams
) -> tuple[RebalanceState, RebalanceReason]:
    """Validated step: ``(new_state, reason)``; ``reason`` is a :class:`RebalanceReason`.

    Re-validates the three records (cheaply) so that hand-built tuples with NaN or
    inconsistent thresholds are refused.
    """
    if not isinstance(state, RebalanceState):
        raise ValueError("state must be a RebalanceState")
    if not isinstance(inputs, RebalanceInputs):
        raise ValueError("inputs must be a RebalanceInputs")
    if not isinstance(params, RebalanceParams):
        raise ValueError("params must be a RebalanceParams")
    st = rebalance_state(*state)
    if st.last_rebalance_time > inputs.time:
        raise ValueError(
            f"inputs.time must be >= state.last_rebalance_time, got {inputs.time} < "
            f"{st.last_rebalance_time}"
        )
    inp = rebalance_inputs(*inputs)
    par = rebalance_params(**params._asdict())
    new_state, reason = nb.rebalance_decide(st, inp, par)
    return RebalanceState(*new_state), RebalanceReason(int(reason))


def rebalance_decide_1d(
    time: np.ndarray,
    price_tick: np.ndarray,
    tick_lower: np.ndarray,
    tick_upper: np.ndarray,
    inventory_ratio: np.ndarray,
    reservation_tick: np.ndarray,
    state: RebalanceState,
    params: RebalanceParams,
) -> tuple[np.ndarray, RebalanceState]:
    """Replay the decision along a recorded path; returns (reasons int64 array, final state)."""
    t = checks.finite_array("time", time)
    p = checks.finite_array("price_tick", price_tick)
    q = checks.finite_array("inventory_ratio", inventory_ratio)
    r = checks.finite_array("reservation_tick", reservation_tick)
    lo = np.ascontiguousarray(tick_lower, dtype=np.int64)
    hi = np.ascontiguousarray(tick_upper, dtype=np.int64)
    n = t.shape[0]
    for name, a in (("price_tick", p), ("tick_lower", lo), ("tick_upper", hi),
                    ("inventory_ratio", q), ("reservation_tick", r)):
        if a.ndim != 1 or a.shape[0] != n:
            raise ValueError(f"{name} must be 1-d with the length of time ({n})")
    if n > 1 and np.any(np.diff(t) < 0):
        raise ValueError("time must be non-decreasing")
    if np.any(lo >= hi):
        raise ValueError("tick_lower must be < tick_upper at every step")
    if np.any((q < 0.0) | (q > 1.0)):
        raise ValueError("inventory_ratio must lie in [0, 1]")
    st = rebalance_state(*state)
    par = rebalance_params(**params._asdict())
    out = np.zeros(n, dtype=np.int64)
    final = nb.rebalance_decide_1d(t, p, lo, hi, q, r, st, par, out)
    return out, RebalanceState(*final)
