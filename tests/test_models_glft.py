"""GLFT approximations: reference formulas, bounds, monotonicity, drift, ticks, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import naive_models as naive
from asymlp_core.models import (
    glft_coefficients,
    glft_drift_shift,
    glft_half_spread,
    glft_quotes,
    glft_quotes_ticks,
    glft_skew,
)

xis = st.floats(1e-3, 2.0)
gammas = st.floats(1e-3, 2.0)
deltas = st.floats(0.01, 5.0)
As = st.floats(0.1, 1e3)
ks = st.floats(0.05, 50.0)
sigmas = st.floats(1e-3, 10.0)
mids = st.floats(10.0, 1e5)
inventories = st.floats(-50.0, 50.0)


@given(xis, gammas, deltas, As, ks)
def test_coefficients_match_the_written_formulas(xi, g, d, A, k):
    c1, c2 = glft_coefficients(xi, g, d, A, k)
    assert c1 == pytest.approx(naive.glft_c1(xi, d, k), rel=1e-12)
    assert c2 == pytest.approx(naive.glft_c2(xi, g, d, A, k), rel=1e-9)


def test_coefficients_xi_zero_is_the_limit():
    c1, c2 = glft_coefficients(0.0, 0.1, 1.0, 140.0, 1.5)
    c1e, c2e = glft_coefficients(1e-9, 0.1, 1.0, 140.0, 1.5)
    assert c1 == pytest.approx(1.0 / 1.5, rel=1e-12)
    assert c2 == pytest.approx(math.sqrt(0.1 / (2 * 140.0 * 1.0 * 1.5) * math.e), rel=1e-12)
    assert (c1, c2) == pytest.approx((c1e, c2e), rel=1e-8)


@given(mids, inventories, sigmas, xis, gammas, deltas, As, ks, st.floats(-1.0, 1.0))
def test_quotes_are_the_papers_depths_from_the_mid(s, q, sg, xi, g, d, A, k, mu):
    bid, ask = glft_quotes(s, q, sg, xi, g, d, A, k, mu=mu)
    db, da = naive.glft_depths(q, sg, xi, g, d, A, k, mu=mu)
    scale = s + abs(db) + abs(da)
    assert s - bid == pytest.approx(db, abs=1e-9 * scale)
    assert ask - s == pytest.approx(da, abs=1e-9 * scale)


@given(mids, sigmas, xis, gammas, deltas, As, ks)
def test_zero_inventory_without_drift_is_symmetric(s, sg, xi, g, d, A, k):
    bid, ask = glft_quotes(s, 0.0, sg, xi, g, d, A, k)
    c1, c2 = glft_coefficients(xi, g, d, A, k)
    hs = glft_half_spread(c1, c2, sg, d)
    assert s - bid == pytest.approx(hs, rel=1e-9, abs=1e-9 * s)
    assert ask - s == pytest.approx(hs, rel=1e-9, abs=1e-9 * s)


@given(xis, gammas, deltas, As, ks, sigmas, sigmas)
def test_half_spread_increases_with_sigma(xi, g, d, A, k, s1, s2):
    assume(abs(s1 - s2) > 1e-6)
    c1, c2 = glft_coefficients(xi, g, d, A, k)
    lo, hi = sorted((s1, s2))
    assert glft_half_spread(c1, c2, hi, d) > glft_half_spread(c1, c2, lo, d)
    assert glft_skew(c2, hi) > glft_skew(c2, lo)


@given(mids, sigmas, xis, gammas, deltas, As, ks, inventories, inventories)
def test_skew_shift_grows_with_absolute_inventory(s, sg, xi, g, d, A, k, q1, q2):
    # The inventory shift of the quote centre, mid - (bid + ask)/2 = skew*q, grows in |q|
    # and has the sign of q (long lowers both quotes).
    assume(abs(abs(q1) - abs(q2)) > 1e-6)
    c1, c2 = glft_coefficients(xi, g, d, A, k)
    assume(sg * c2 * abs(abs(q1) - abs(q2)) > 1e-9 * s)
    small, large = sorted((q1, q2), key=abs)
    shifts = []
    for q in (small, large):
        bid, ask = glft_quotes(s, q, sg, xi, g, d, A, k)
        shifts.append(s - 0.5 * (bid + ask))
        if sg * c2 * abs(q) > 1e-9 * s:
            assert math.copysign(1.0, shifts[-1]) == math.copysign(1.0, q)
    assert abs(shifts[1]) > abs(shifts[0])


@given(mids, sigmas, xis, gammas, st.sampled_from([0.1, 0.5, 1.0, 2.0]), As, ks,
       st.integers(1, 20), st.integers(-25, 25))
def test_no_quote_lets_inventory_leave_the_bounds(s, sg, xi, g, d, A, k, n_lots, steps):
    q_max = n_lots * d
    q = steps * d
    bid, ask = glft_quotes(s, q, sg, xi, g, d, A, k, q_max=q_max)
    if not math.isnan(bid):
        assert q + d <= q_max * (1 + 1e-12)
    if not math.isnan(ask):
        assert q - d >= -q_max * (1 + 1e-12)
    # inside the bounds (one lot of room on each side) both sides are quoted
    if abs(q) + d <= q_max * (1 - 1e-12):
        assert not math.isnan(bid) and not math.isnan(ask)


@given(mids, inventories, st.floats(0.01, 10.0), xis, gammas, deltas, As, ks,
       st.floats(-1.0, 1.0))
def test_drift_moves_both_quotes_by_the_shift(s, q, sg, xi, g, d, A, k, mu):
    b0, a0 = glft_quotes(s, q, sg, xi, g, d, A, k)
    b1, a1 = glft_quotes(s, q, sg, xi, g, d, A, k, mu=mu)
    c1, c2 = glft_coefficients(xi, g, d, A, k)
    shift = glft_drift_shift(mu, g, sg, c2)
    tol = 1e-9 * (s + abs(shift) + abs(b0 - s) + abs(a0 - s))
    assert b1 - b0 == pytest.approx(shift, abs=tol)
    assert a1 - a0 == pytest.approx(shift, abs=tol)
    # the shift has the sign of the drift (it may underflow to 0 for a subnormal drift)
    assert shift >= 0 if mu > 0 else shift <= 0
    if mu > 1e-300:
        assert shift > 0


@given(
    st.lists(st.tuples(mids, inventories, st.floats(0.01, 10.0), xis, gammas, deltas, As, ks,
                       st.floats(-1.0, 1.0)), min_size=1, max_size=15),
    st.floats(1.0, 60.0),
)
def test_vectorised_quotes_equal_scalar(rows, q_max):
    arr = np.array(rows)
    cols = [arr[:, j] for j in range(9)]
    # per-element model parameters (general kernel path)
    bid, ask = glft_quotes(*cols[:8], mu=cols[8], q_max=q_max)
    # one parameter set for the whole array (hoisted-coefficient path)
    p = rows[0]
    bid1, ask1 = glft_quotes(cols[0], cols[1], cols[2], *p[3:8], mu=cols[8], q_max=q_max)
    for i, row in enumerate(rows):
        b, a = glft_quotes(*row[:8], mu=row[8], q_max=q_max)
        np.testing.assert_equal((bid[i], ask[i]), (b, a))
        b, a = glft_quotes(row[0], row[1], row[2], *p[3:8], mu=row[8], q_max=q_max)
        np.testing.assert_equal((bid1[i], ask1[i]), (b, a))


@given(mids, inventories, sigmas, xis, gammas, deltas, As, ks,
       st.sampled_from([1e-4, 0.01, 0.05, 0.1, 1.0]))
def test_ticks_round_outward_and_stay_ordered(s, q, sg, xi, g, d, A, k, tick):
    bid, ask = glft_quotes(s, q, sg, xi, g, d, A, k)
    bt, at = glft_quotes_ticks(s, q, sg, xi, g, d, A, k, tick_size=tick)
    assert bt == int(bt) and at == int(at)
    assert bt * tick <= bid * (1 + 1e-9) + 1e-12
    assert at * tick >= ask * (1 - 1e-9) - 1e-12
    assert bt * tick > bid - tick * (1 + 1e-6)
    assert at * tick < ask + tick * (1 + 1e-6)
    assert bt <= at
    bts, ats = glft_quotes_ticks(np.array([s, s]), np.array([q, q]), sg, xi, g, d, A, k,
                                 tick_size=tick)
    np.testing.assert_equal((bts[0], ats[0]), (bt, at))


def test_ticks_of_a_price_on_the_grid_are_exact():
    # mid 99.9 with a huge k makes the half spread ~0: 99.9/0.1 must be tick 999
    bt, at = glft_quotes_ticks(99.9, 0.0, 0.0, 1.0, 1.0, 1.0, 1e3, 1e12, tick_size=0.1)
    assert (bt, at) == (999.0, 999.0)


def test_tick_side_not_quoted_is_nan():
    bt, at = glft_quotes_ticks(100.0, 5.0, 2.0, 0.1, 0.1, 1.0, 140.0, 1.5, tick_size=0.01,
                               q_max=5.0)
    assert math.isnan(bt) and not math.isnan(at)


GOOD = dict(mid=100.0, inventory=1.0, sigma=2.0, xi=0.1, gamma=0.1, delta=1.0, A=140.0, k=1.5)
BAD = {
    "mid": [math.nan, -1.0, 0.0, math.inf],
    "inventory": [math.nan, math.inf],
    "sigma": [math.nan, -1.0, math.inf],
    "xi": [math.nan, -0.1],
    "gamma": [math.nan, 0.0, -0.1],
    "delta": [math.nan, 0.0, -1.0],
    "A": [math.nan, 0.0, -1.0, math.inf],
    "k": [math.nan, 0.0, -1.0],
}


@pytest.mark.parametrize(("name", "bad"), [(n, b) for n, v in BAD.items() for b in v])
@pytest.mark.parametrize("as_array", [False, True])
def test_invalid_input_raises_naming_the_argument(name, bad, as_array):
    args = dict(GOOD)
    args[name] = np.array([GOOD[name], bad]) if as_array else bad
    with pytest.raises(ValueError, match=rf"^{name} must be"):
        glft_quotes(**args)


def test_invalid_keyword_inputs_raise_naming_the_argument():
    with pytest.raises(ValueError, match=r"^q_max must be"):
        glft_quotes(**GOOD, q_max=-1.0)
    with pytest.raises(ValueError, match=r"^mu must be"):
        glft_quotes(**GOOD, mu=math.nan)
    with pytest.raises(ValueError, match=r"^sigma must be finite and > 0"):
        glft_quotes(**{**GOOD, "sigma": 0.0}, mu=0.1)
    with pytest.raises(ValueError, match=r"^tick_size must be"):
        glft_quotes_ticks(**GOOD, tick_size=0.0)
    with pytest.raises(ValueError, match=r"^half_spread_scale must be"):
        glft_quotes(**GOOD, half_spread_scale=-1.0)
    with pytest.raises(ValueError, match=r"^c2 must be"):
        glft_skew(math.nan, 1.0)
