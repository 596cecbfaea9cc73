"""Avellaneda-Stoikov quotes: reference values, properties, vectorisation, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import naive_models as naive
from asymlp_core.models import (
    as_optimal_spread,
    as_quotes,
    as_reservation_price,
    as_stationary_omega,
    as_stationary_quotes,
    as_stationary_reservation_prices,
)

mids = st.floats(1.0, 1e5)
inventories = st.floats(-50.0, 50.0)
gammas = st.floats(1e-3, 5.0)
sigmas = st.floats(1e-3, 10.0)
taus = st.floats(0.0, 5.0)
ks = st.floats(0.05, 20.0)


def test_paper_parameters_spread_matches_hand_computation():
    # gamma=0.1, sigma=2, T-t=1, k=1.5: 0.1*4*1 + 20*ln(1 + 0.1/1.5)
    assert as_optimal_spread(0.1, 2.0, 1.0, 1.5) == pytest.approx(
        0.4 + 20.0 * math.log(1.0 + 0.1 / 1.5), rel=1e-14
    )
    bid, ask = as_quotes(100.0, 2.0, 0.1, 2.0, 0.5, 1.5)
    r = 100.0 - 2.0 * 0.1 * 4.0 * 0.5
    half = 0.5 * (0.1 * 4.0 * 0.5 + 20.0 * math.log(1.0 + 0.1 / 1.5))
    assert (bid, ask) == pytest.approx((r - half, r + half), rel=1e-14)


@given(mids, inventories, gammas, sigmas, taus, ks)
def test_quotes_match_naive_reference(s, q, g, sg, tau, k):
    bid, ask = as_quotes(s, q, g, sg, tau, k)
    ref_bid, ref_ask = naive.as_quotes(s, q, g, sg, tau, k)
    scale = s + abs(q) * g * sg**2 * tau + naive.as_optimal_spread(g, sg, tau, k)
    assert abs(bid - ref_bid) <= 1e-12 * scale
    assert abs(ask - ref_ask) <= 1e-12 * scale
    assert as_reservation_price(s, q, g, sg, tau) == pytest.approx(
        naive.as_reservation_price(s, q, g, sg, tau), rel=1e-12, abs=1e-12 * scale
    )


@given(mids, gammas, sigmas, taus, ks)
def test_zero_inventory_quotes_symmetric_around_mid(s, g, sg, tau, k):
    bid, ask = as_quotes(s, 0.0, g, sg, tau, k)
    assert (s - bid) == pytest.approx(ask - s, rel=1e-9, abs=1e-9 * s)
    assert bid < s < ask


@given(mids, inventories, inventories, gammas, sigmas, st.floats(1e-3, 5.0), ks)
def test_longer_inventory_lowers_both_quotes(s, q1, q2, g, sg, tau, k):
    assume(abs(q1 - q2) * g * sg * sg * tau > 1e-9 * s)
    lo, hi = min(q1, q2), max(q1, q2)
    bid_lo, ask_lo = as_quotes(s, lo, g, sg, tau, k)
    bid_hi, ask_hi = as_quotes(s, hi, g, sg, tau, k)
    assert bid_hi < bid_lo
    assert ask_hi < ask_lo
    # the skew moves the centre only: the spread does not depend on inventory
    assert ask_hi - bid_hi == pytest.approx(ask_lo - bid_lo, rel=1e-9)


@given(gammas, sigmas, sigmas, st.floats(1e-3, 5.0), ks)
def test_spread_increases_with_sigma(g, s1, s2, tau, k):
    assume(abs(s1 - s2) > 1e-6)
    lo, hi = min(s1, s2), max(s1, s2)
    assert as_optimal_spread(g, hi, tau, k) > as_optimal_spread(g, lo, tau, k)


@given(gammas, sigmas, taus, ks)
def test_spread_gamma_sensitivity_has_the_analytic_sign(g, sg, tau, k):
    # The total spread is not monotone in gamma: the inventory term grows, the arrival
    # term (2/gamma) ln(1+gamma/k) falls. Check the sign of a central difference against
    # the analytic derivative wherever the derivative is clearly away from zero.
    d = naive.as_optimal_spread_dgamma(g, sg, tau, k)
    h = 1e-5 * g
    fd = (as_optimal_spread(g + h, sg, tau, k) - as_optimal_spread(g - h, sg, tau, k)) / (2 * h)
    scale = sg * sg * tau + 2.0 / (g * (g + k)) + 2.0 / g**2 * math.log1p(g / k)
    assume(abs(d) > 1e-4 * scale)
    assert math.copysign(1.0, fd) == math.copysign(1.0, d)
    assert fd == pytest.approx(d, rel=1e-3, abs=1e-6 * scale)


def test_spread_falls_with_gamma_without_horizon_and_rises_with_long_horizon():
    # tau = 0: only the arrival term, strictly decreasing in gamma
    assert as_optimal_spread(0.5, 2.0, 0.0, 1.5) < as_optimal_spread(0.1, 2.0, 0.0, 1.5)
    # long horizon: the inventory term dominates, increasing in gamma
    assert as_optimal_spread(0.5, 2.0, 1.0, 1.5) > as_optimal_spread(0.1, 2.0, 1.0, 1.5)


@given(mids, st.floats(0.5, 20.0), gammas, sigmas, taus, ks)
def test_inventory_limits_remove_the_side_that_would_grow_the_position(s, qm, g, sg, tau, k):
    bid, ask = as_quotes(s, qm, g, sg, tau, k, q_max=qm)
    assert math.isnan(bid) and not math.isnan(ask)
    bid, ask = as_quotes(s, -qm, g, sg, tau, k, q_max=qm)
    assert math.isnan(ask) and not math.isnan(bid)
    bid, ask = as_quotes(s, 0.5 * qm, g, sg, tau, k, q_max=qm)
    assert not math.isnan(bid) and not math.isnan(ask)


@given(
    st.lists(st.tuples(mids, inventories, gammas, sigmas, taus, ks), min_size=1, max_size=20),
    st.floats(1.0, 30.0),
)
def test_vectorised_quotes_equal_scalar(rows, qm):
    arr = np.array(rows)
    cols = [arr[:, j] for j in range(6)]
    bid, ask = as_quotes(*cols, q_max=qm)
    spread = as_optimal_spread(cols[2], cols[3], cols[4], cols[5])
    r = as_reservation_price(*cols[:5])
    for i, row in enumerate(rows):
        b, a = as_quotes(*row, q_max=qm)
        np.testing.assert_equal(bid[i], b)
        np.testing.assert_equal(ask[i], a)
        assert spread[i] == as_optimal_spread(*row[2:])
        assert r[i] == as_reservation_price(*row[:5])


def test_vectorised_quotes_broadcast_over_a_grid():
    mid = np.linspace(90.0, 110.0, 5)[:, None]
    q = np.arange(-3.0, 4.0)[None, :]
    bid, ask = as_quotes(mid, q, 0.1, 2.0, 0.5, 1.5, q_max=3.0)
    assert bid.shape == ask.shape == (5, 7)
    for i in range(5):
        for j in range(7):
            b, a = as_quotes(float(mid[i, 0]), float(q[0, j]), 0.1, 2.0, 0.5, 1.5, q_max=3.0)
            np.testing.assert_equal((bid[i, j], ask[i, j]), (b, a))
    # varying gamma per element takes the general kernel path
    g = np.array([0.05, 0.1, 0.2])
    bid_g, ask_g = as_quotes(100.0, 1.0, g, 2.0, 0.5, 1.5)
    for i in range(3):
        assert (bid_g[i], ask_g[i]) == as_quotes(100.0, 1.0, float(g[i]), 2.0, 0.5, 1.5)


# --- stationary (discounted infinite-horizon) form -------------------------------------


@given(mids, st.integers(-9, 9), st.floats(0.01, 1.0), st.floats(0.1, 5.0), ks)
def test_stationary_reservation_prices_solve_the_indifference_conditions(s, q, g, sg, k):
    omega = as_stationary_omega(g, sg, 10.0)
    r_b, r_a = as_stationary_reservation_prices(s, q, g, sg, omega)
    lv = naive.as_stationary_log_neg_value(0.0, s, q, g, sg, omega)
    tol = 1e-12 * (1.0 + g * s * (abs(q) + 1.0))
    # buying one unit at r_b (cash -r_b) or selling one at r_a leaves the value unchanged
    lv_buy = naive.as_stationary_log_neg_value(-r_b, s, q + 1, g, sg, omega)
    lv_sell = naive.as_stationary_log_neg_value(r_a, s, q - 1, g, sg, omega)
    assert lv_buy == pytest.approx(lv, abs=tol)
    assert lv_sell == pytest.approx(lv, abs=tol)


@given(mids, st.floats(0.01, 1.0), st.floats(0.1, 5.0), ks, st.integers(1, 20))
def test_stationary_quotes_symmetric_at_zero_and_bounded_by_q_max(s, g, sg, k, qm):
    bid, ask = as_stationary_quotes(s, 0.0, g, sg, k, q_max=qm)
    assert (s - bid) == pytest.approx(ask - s, rel=1e-9)
    qs = np.arange(-qm, qm + 1, dtype=float)
    bids, asks = as_stationary_quotes(s, qs, g, sg, k, q_max=qm)
    assert math.isnan(bids[-1]) and math.isnan(asks[0])
    assert np.all(np.isfinite(bids[:-1])) and np.all(np.isfinite(asks[1:]))
    # long inventory lowers both quotes
    assert np.all(np.diff(bids[:-1]) < 0) and np.all(np.diff(asks[1:]) < 0)
    assert np.all(asks[1:-1] > bids[1:-1])


# --- validation -------------------------------------------------------------------------

BAD = {
    "mid": [math.nan, math.inf, -1.0, 0.0],
    "inventory": [math.nan, math.inf, -math.inf],
    "gamma": [math.nan, math.inf, -0.1, 0.0],
    "sigma": [math.nan, math.inf, -0.1],
    "tau": [math.nan, math.inf, -0.1],
    "k": [math.nan, math.inf, -1.0, 0.0],
}
GOOD = {"mid": 100.0, "inventory": 1.0, "gamma": 0.1, "sigma": 2.0, "tau": 0.5, "k": 1.5}
CASES = [(name, bad) for name, values in BAD.items() for bad in values]


@pytest.mark.parametrize(("name", "bad"), CASES)
@pytest.mark.parametrize("as_array", [False, True])
def test_invalid_input_raises_naming_the_argument(name, bad, as_array):
    args = dict(GOOD)
    args[name] = np.array([GOOD[name], bad]) if as_array else bad
    with pytest.raises(ValueError, match=rf"^{name} must be"):
        as_quotes(**args)
    if name in ("gamma", "sigma", "tau", "k"):
        with pytest.raises(ValueError, match=rf"^{name} must be"):
            as_optimal_spread(args["gamma"], args["sigma"], args["tau"], args["k"])
    if name != "k":
        with pytest.raises(ValueError, match=rf"^{name} must be"):
            as_reservation_price(
                args["mid"], args["inventory"], args["gamma"], args["sigma"], args["tau"]
            )


@pytest.mark.parametrize("bad", [math.nan, -1.0, 0.0])
def test_invalid_q_max_raises_naming_the_argument(bad):
    with pytest.raises(ValueError, match=r"^q_max must be"):
        as_quotes(100.0, 0.0, 0.1, 2.0, 0.5, 1.5, q_max=bad)
    with pytest.raises(ValueError, match=r"^q_max must be"):
        as_stationary_quotes(100.0, 0.0, 0.1, 2.0, 1.5, q_max=bad)


def test_array_error_reports_the_index():
    with pytest.raises(ValueError, match=r"^sigma must be finite and >= 0, got -2.0 at index 2"):
        as_quotes(100.0, 0.0, 0.1, np.array([1.0, 2.0, -2.0]), 0.5, 1.5)


def test_non_broadcastable_shapes_raise():
    with pytest.raises(ValueError, match="shapes do not broadcast"):
        as_quotes(np.ones(3) * 100, np.zeros(4), 0.1, 2.0, 0.5, 1.5)


@given(
    st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=40),
    st.sampled_from([None, 0.0, -1.0]),
    st.booleans(),
    st.booleans(),
)
def test_array_check_rejects_exactly_the_invalid_elements(values, lower, strict, allow_inf):
    from asymlp_core.models._validate import check_array

    x = np.array(values)
    lo = -np.inf if lower is None else lower
    ok = ~np.isnan(x) & (allow_inf | np.isfinite(x)) & ((x > lo) if strict else (x >= lo))
    if ok.all():
        np.testing.assert_array_equal(check_array("x", x, lower=lower, strict=strict,
                                                  allow_inf=allow_inf), x)
    else:
        first = int(np.flatnonzero(~ok)[0])
        with pytest.raises(ValueError, match=rf"^x must be .* at index {first}$"):
            check_array("x", x, lower=lower, strict=strict, allow_inf=allow_inf)
