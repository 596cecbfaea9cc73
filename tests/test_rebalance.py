"""Edge-triggered rebalance: every trigger fires with its reason, hysteresis, min interval."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from asymlp_core.rebalance import (
    REASON_ALL,
    REASON_INVENTORY,
    REASON_PRICE_BAND,
    REASON_RESERVATION,
    REASON_STALE,
    RebalanceReason,
    nb,
    rebalance_decide,
    rebalance_decide_1d,
    rebalance_inputs,
    rebalance_params,
    rebalance_state,
    relative_tolerance_to_ticks,
)

LO, HI = -1000, 1000  # range of width 2000 ticks


def params(**kw):
    base = dict(band=0.1, band_rearm=0.2, inventory_threshold=0.10, inventory_rearm=0.05,
                reservation_tolerance_ticks=100.0, reservation_rearm_ticks=50.0,
                max_age=10_000.0, min_interval=10.0)
    base.update(kw)
    return rebalance_params(**base)


def step(state, t, price_tick=0.0, ratio=0.5, r_tick=0.0, par=None, lo=LO, hi=HI):
    return rebalance_decide(state, rebalance_inputs(t, price_tick, lo, hi, ratio, r_tick), par or params())


def test_quiet_market_holds():
    s = rebalance_state(0.0, 0.0)
    for t in range(1, 200):
        s, reason = step(s, float(t))
        assert reason == RebalanceReason.NONE


def test_price_leaving_inner_band_fires_price_reason():
    s = rebalance_state(0.0, 0.0)
    s, reason = step(s, 20.0, price_tick=790.0)  # depth 0.105 > band
    assert reason == RebalanceReason.NONE
    s, reason = step(s, 21.0, price_tick=810.0)  # depth 0.095 < band 0.1
    assert reason == RebalanceReason.PRICE_BAND
    assert s.last_rebalance_time == 21.0


def test_price_outside_range_fires_price_reason():
    s = rebalance_state(0.0, 0.0)
    _, reason = step(s, 20.0, price_tick=-1500.0)
    assert reason == RebalanceReason.PRICE_BAND


def test_inventory_crossing_threshold_fires_inventory_reason():
    s = rebalance_state(0.0, 0.0)
    s, reason = step(s, 20.0, ratio=0.59)
    assert reason == RebalanceReason.NONE
    s, reason = step(s, 21.0, ratio=0.61)
    assert reason == RebalanceReason.INVENTORY
    s2 = rebalance_state(0.0, 0.0)
    _, reason = step(s2, 20.0, ratio=0.39)
    assert reason == RebalanceReason.INVENTORY


def test_reservation_drift_fires_reservation_reason_and_resets_reference():
    s = rebalance_state(0.0, 0.0)
    s, reason = step(s, 20.0, r_tick=99.0)
    assert reason == RebalanceReason.NONE
    s, reason = step(s, 21.0, r_tick=-101.0)
    assert reason == RebalanceReason.RESERVATION
    assert s.reservation_ref_tick == -101.0
    s, reason = step(s, 40.0, r_tick=-101.0)
    assert reason == RebalanceReason.NONE


def test_stale_range_fires_stale_reason():
    s = rebalance_state(0.0, 0.0)
    s, reason = step(s, 9_999.0)
    assert reason == RebalanceReason.NONE
    s, reason = step(s, 10_000.0)
    assert reason == RebalanceReason.STALE
    s, reason = step(s, 10_001.0)
    assert reason == RebalanceReason.NONE


def test_simultaneous_triggers_report_all_bits():
    s = rebalance_state(0.0, 0.0)
    _, reason = step(s, 20_000.0, price_tick=2000.0, ratio=0.9, r_tick=500.0)
    assert int(reason) == REASON_ALL
    assert reason == (RebalanceReason.PRICE_BAND | RebalanceReason.INVENTORY
                      | RebalanceReason.RESERVATION | RebalanceReason.STALE)


def test_disabled_trigger_never_fires():
    par = params(enabled=REASON_ALL & ~REASON_INVENTORY)
    s = rebalance_state(0.0, 0.0)
    _, reason = step(s, 20.0, ratio=1.0, par=par)
    assert reason == RebalanceReason.NONE


def test_min_interval_defers_trigger_until_allowed():
    par = params(min_interval=60.0)
    s = rebalance_state(0.0, 0.0)
    s, reason = step(s, 30.0, ratio=0.8, par=par)
    assert reason == RebalanceReason.NONE  # pending: too soon after opening
    s, reason = step(s, 59.9, ratio=0.8, par=par)
    assert reason == RebalanceReason.NONE
    s, reason = step(s, 60.0, ratio=0.8, par=par)
    assert reason == RebalanceReason.INVENTORY


def test_pending_trigger_that_clears_does_not_fire():
    par = params(min_interval=60.0)
    s = rebalance_state(0.0, 0.0)
    s, _ = step(s, 30.0, ratio=0.8, par=par)
    s, reason = step(s, 61.0, ratio=0.55, par=par)
    assert reason == RebalanceReason.NONE


def test_inventory_not_fixed_by_rebalance_does_not_refire_until_rearmed():
    s = rebalance_state(0.0, 0.0)
    s, reason = step(s, 20.0, ratio=0.7)
    assert reason == RebalanceReason.INVENTORY
    for t in range(21, 200):  # inventory stays off target; no churn
        s, reason = step(s, float(t), ratio=0.7)
        assert reason == RebalanceReason.NONE
    s, reason = step(s, 200.0, ratio=0.56)  # back inside the threshold but not re-armed
    s, reason = step(s, 201.0, ratio=0.7)
    assert reason == RebalanceReason.NONE
    s, reason = step(s, 202.0, ratio=0.54)  # past the re-arm level 0.05
    assert reason == RebalanceReason.NONE
    s, reason = step(s, 203.0, ratio=0.7)
    assert reason == RebalanceReason.INVENTORY


@given(
    st.lists(st.floats(-0.02, 0.02), min_size=2, max_size=300),
    st.floats(0.051, 0.2),
)
def test_inventory_walk_inside_hysteresis_band_fires_at_most_once(steps, start):
    # deviation starts anywhere above the re-arm level 0.05 and walks without going back
    # past it: crossings of the 0.10 threshold may come and go, one rebalance at most
    par = params(min_interval=0.0, enabled=REASON_INVENTORY)
    s = rebalance_state(0.0, 0.0)
    dev = start
    fired = 0
    for i, d in enumerate(steps):
        dev = min(max(dev + d, 0.0501), 0.5)
        s, reason = step(s, float(i + 1), ratio=0.5 + dev, par=par)
        fired += reason != RebalanceReason.NONE
    assert fired <= 1


@given(st.lists(st.floats(-30.0, 30.0), min_size=2, max_size=300), st.floats(0.0, 0.199))
def test_price_walk_inside_hysteresis_band_fires_at_most_once(steps, depth0):
    # price depth walks in [-0.2, 0.2) (never back to the re-arm depth 0.2) with a fixed range
    par = params(min_interval=0.0, enabled=REASON_PRICE_BAND)
    s = rebalance_state(0.0, 0.0)
    depth = depth0
    fired = 0
    for i, d in enumerate(steps):
        depth = min(max(depth + d / 2000.0, -0.2), 0.1999)
        p = HI - depth * (HI - LO)
        s, reason = step(s, float(i + 1), price_tick=p, par=par)
        fired += reason != RebalanceReason.NONE
    assert fired <= 1


@given(st.lists(st.tuples(st.floats(0.0, 5.0), st.floats(0.0, 1.0)), min_size=1, max_size=200),
       st.floats(0.0, 30.0))
def test_rebalances_never_closer_than_min_interval(events, min_interval):
    par = params(min_interval=min_interval)
    s = rebalance_state(0.0, 0.0)
    t = 0.0
    last = 0.0
    for dt, ratio in events:
        t += dt
        s, reason = step(s, t, ratio=ratio, price_tick=(ratio - 0.5) * 2400.0, r_tick=ratio * 300,
                         par=par)
        if reason != RebalanceReason.NONE:
            assert t - last >= min_interval
            last = t


def test_replay_matches_step_by_step():
    rng = np.random.default_rng(3)
    n = 500
    t = np.arange(n, dtype=np.float64) * 5.0
    p = np.cumsum(rng.normal(0, 40, n))
    lo = np.full(n, LO, dtype=np.int64)
    hi = np.full(n, HI, dtype=np.int64)
    q = np.clip(0.5 + np.cumsum(rng.normal(0, 0.02, n)), 0, 1)
    r = np.cumsum(rng.normal(0, 10, n))
    s0 = rebalance_state(0.0, 0.0)
    reasons, final = rebalance_decide_1d(t, p, lo, hi, q, r, s0, params())
    s = s0
    for i in range(n):
        s, reason = step(s, t[i], p[i], q[i], r[i])
        assert int(reason) == reasons[i]
    assert s == final
    assert np.any(reasons != 0)


def test_kernel_callable_from_another_kernel():
    from numba import njit

    @njit
    def count_fires(state, inputs, params, n):
        k = 0
        for _ in range(n):
            state, reason = nb.rebalance_decide(state, inputs, params)
            if reason != 0:
                k += 1
        return k

    inp = rebalance_inputs(100.0, 5000.0, LO, HI, 0.5, 0.0)
    assert count_fires(rebalance_state(0.0, 0.0), inp, params(), 10) == 1


def test_relative_tolerance_converts_to_ticks():
    assert relative_tolerance_to_ticks(0.01) == pytest.approx(99.5, abs=0.01)


@pytest.mark.parametrize(
    ("kw", "name"),
    [
        (dict(band=0.3, band_rearm=0.2), "band_rearm"),
        (dict(inventory_threshold=0.1, inventory_rearm=0.1), "inventory_rearm"),
        (dict(reservation_tolerance_ticks=float("nan")), "reservation_tolerance_ticks"),
        (dict(max_age=float("inf")), "max_age"),
        (dict(min_interval=-1.0), "min_interval"),
    ],
)
def test_bad_params_raise_naming_them(kw, name):
    with pytest.raises(ValueError, match=name):
        params(**kw)


def test_bad_inputs_raise_naming_them():
    with pytest.raises(ValueError, match="inventory_ratio"):
        rebalance_inputs(0.0, 0.0, LO, HI, 1.5, 0.0)
    with pytest.raises(ValueError, match="price_tick"):
        rebalance_inputs(0.0, float("nan"), LO, HI, 0.5, 0.0)
    with pytest.raises(ValueError, match="tick_lower"):
        rebalance_inputs(0.0, 0.0, HI, LO, 0.5, 0.0)
    with pytest.raises(ValueError, match="inputs.time"):
        step(rebalance_state(10.0, 0.0), 5.0)


def test_reason_bits_are_distinct_flags():
    bits = [REASON_PRICE_BAND, REASON_INVENTORY, REASON_RESERVATION, REASON_STALE]
    assert sum(bits) == REASON_ALL and all(b & (b - 1) == 0 for b in bits)
