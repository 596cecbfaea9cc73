"""Fee tier: decomposition, monotone properties, time in range, LVR against a simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, special

from asymlp_core.fee_tier import (
    FEE_TIERS,
    choose_fee_tier,
    evaluate_fee_tier,
    exit_probability,
    lvr_rate,
    time_in_range_fraction,
)
from asymlp_core.hedge.nb import lp_delta, lp_value

BASE = dict(budget1=1e10, price=3e-9, sigma=0.04, horizon=1.0, review_period=1.0,
            width_ticks=2000, gas_per_rebalance=5e6)
VOL = {500: 5e14, 3000: 3e14, 10000: 1e13}
ACT = {500: 1e19, 3000: 5e18, 10000: 1e18}


def one(fee=3000, **kw):
    args = dict(BASE, fee_pips=fee, tick_spacing=dict(FEE_TIERS)[fee], volume_rate=VOL[fee],
                active_liquidity=ACT[fee])
    args.update(kw)
    return evaluate_fee_tier(**args)


tier_inputs = st.fixed_dictionaries(dict(
    budget1=st.floats(1e3, 1e25),
    price=st.floats(1e-12, 1e12),
    sigma=st.floats(0.0, 3.0),
    horizon=st.floats(0.01, 100.0),
    review_period=st.floats(0.001, 10.0),
    width_ticks=st.integers(1, 200_000),
    volume_rate=st.floats(0.0, 1e20),
    active_liquidity=st.floats(0.0, 1e25),
    gas_per_rebalance=st.floats(0.0, 1e12),
    fee=st.sampled_from([500, 3000, 10000]),
))


@given(tier_inputs)
def test_decomposition_parts_sum_to_total(kw):
    d = one(**kw)
    assert d.total == pytest.approx(d.fees - d.lvr - d.gas - d.rebalance, rel=1e-12, abs=1e-9)
    assert d.fees >= 0 and d.lvr >= 0 and d.gas >= 0 and d.rebalance >= 0


@given(tier_inputs, st.floats(1.01, 100.0))
def test_more_volume_more_fees_and_total(kw, factor):
    a = one(**kw)
    b = one(**dict(kw, volume_rate=kw["volume_rate"] * factor + 1.0))
    assert b.fees >= a.fees and b.total >= a.total
    assert (b.lvr, b.gas, b.rebalance) == (a.lvr, a.gas, a.rebalance)


@given(tier_inputs, st.floats(1.01, 100.0))
def test_more_competing_liquidity_fewer_fees(kw, factor):
    a = one(**kw)
    b = one(**dict(kw, active_liquidity=kw["active_liquidity"] * factor + 1.0))
    assert b.fees <= a.fees and b.total <= a.total


@given(tier_inputs, st.floats(1.01, 10.0))
def test_higher_volatility_more_lvr(kw, factor):
    # d/dsigma [sigma^2 f(a / (sigma sqrt(2 tau)))] = 2 sigma erf(z) >= 0
    a = one(**kw)
    b = one(**dict(kw, sigma=kw["sigma"] * factor + 1e-3))
    assert b.lvr >= a.lvr * (1 - 1e-12)
    assert b.rebalance >= a.rebalance * (1 - 1e-12) and b.gas >= a.gas * (1 - 1e-12)


@given(tier_inputs, st.integers(1, 100_000))
def test_wider_range_fewer_rebalances(kw, extra):
    a = one(**kw)
    b = one(**dict(kw, width_ticks=kw["width_ticks"] + extra))
    assert b.gas <= a.gas * (1 + 1e-12) and b.rebalance <= a.rebalance * (1 + 1e-12)


@given(tier_inputs, st.floats(1.0, 1e12))
def test_higher_gas_lower_total(kw, gas):
    a = one(**kw)
    b = one(**dict(kw, gas_per_rebalance=kw["gas_per_rebalance"] + gas))
    assert b.total <= a.total


@given(st.floats(1.0, 1e4), st.sampled_from([500, 3000, 10000]))
def test_raising_volume_of_best_tier_keeps_it_best(factor, fee):
    vol = dict(VOL)
    first = choose_fee_tier(**BASE, volume_rate=vol, active_liquidity=ACT)
    vol[first.fee_pips] *= factor
    again = choose_fee_tier(**BASE, volume_rate=vol, active_liquidity=ACT)
    assert again.fee_pips == first.fee_pips
    # and enough volume in any tier makes it the best
    vol = dict(VOL)
    vol[fee] *= 1e6
    assert choose_fee_tier(**BASE, volume_rate=vol, active_liquidity=ACT).fee_pips == fee


def test_best_tier_has_largest_total():
    c = choose_fee_tier(**BASE, volume_rate=VOL, active_liquidity=ACT)
    best = max(c.decompositions, key=lambda f: c.decompositions[f].total)
    assert c.fee_pips == best and c.tick_spacing == dict(FEE_TIERS)[best]
    assert c.decompositions[3000] == one(3000)


def test_no_volume_means_only_costs():
    d = one(volume_rate=0.0)
    assert d.fees == 0.0 and d.total == pytest.approx(-(d.lvr + d.gas + d.rebalance))


@pytest.mark.parametrize(("a", "sigma", "tau"), [(0.01, 0.05, 1.0), (0.1, 0.05, 1.0),
                                                 (0.2, 1.0, 0.5), (1.0, 0.3, 2.0)])
def test_time_in_range_matches_numerical_integral(a, sigma, tau):
    def inside(t):
        return special.erf(a / (sigma * math.sqrt(2 * t))) if t > 0 else 1.0

    ref = integrate.quad(inside, 0.0, tau, limit=200)[0] / tau
    assert time_in_range_fraction(a, sigma, tau) == pytest.approx(ref, rel=1e-7)


def test_time_in_range_and_exit_probability_match_brownian_simulation():
    rng = np.random.default_rng(5)
    a, sigma, tau, n, m = 0.05, 0.1, 1.0, 500, 4000
    w = np.cumsum(rng.normal(0.0, sigma * math.sqrt(tau / n), (m, n)), axis=1)
    frac = np.mean(np.abs(w) < a)
    out = np.mean(np.abs(w[:, -1]) > a)
    assert frac == pytest.approx(time_in_range_fraction(a, sigma, tau), abs=0.01)
    assert out == pytest.approx(exit_probability(a, sigma, tau), abs=4 * math.sqrt(out * (1 - out) / m))


def test_full_range_lvr_is_sigma_squared_over_eight_of_value():
    # Milionis et al. (2022), constant product: l(sigma, P) = sigma^2 / 8 * V(P)
    liq, sigma = 1e18, 0.7
    sa, sb = math.sqrt(1e-30), math.sqrt(1e30)
    for p in (1e-6, 1.0, 3e-9, 2500.0):
        v = lp_value(liq, math.sqrt(p), sa, sb)
        assert lvr_rate(liq, sigma, math.sqrt(p), sa, sb) / v == pytest.approx(sigma**2 / 8, rel=1e-12)


def test_lvr_is_zero_outside_range():
    assert lvr_rate(1.0, 0.5, 0.5, 0.9, 1.1) == 0.0
    assert lvr_rate(1.0, 0.5, 2.0, 0.9, 1.1) == 0.0


def _simulate_lvr(sigma, lo, hi, n_steps, n_paths, seed):
    """Arbitrage the pool to a GBM price at every step; return per-path (loss, formula).

    loss = sum of x(P_{k-1}) (P_k - P_{k-1}) - (V(P_k) - V(P_{k-1})): the rebalancing
    portfolio holds the pool's risky amount of the previous step at the market price;
    formula = sum of l(sigma, P_{k-1}) dt along the same path.
    """
    rng = np.random.default_rng(seed)
    dt = 1.0 / n_steps
    liq = 1.0
    sa, sb = math.sqrt(lo), math.sqrt(hi)
    p = np.ones(n_paths)
    loss = np.zeros(n_paths)
    formula = np.zeros(n_paths)
    vec_value = np.vectorize(lambda s: lp_value(liq, s, sa, sb))
    vec_delta = np.vectorize(lambda s: lp_delta(liq, s, sa, sb))
    s = np.sqrt(p)
    v = vec_value(s)
    x = vec_delta(s)
    for _ in range(n_steps):
        inside = (s >= sa) & (s <= sb)
        formula += np.where(inside, 0.25 * sigma**2 * liq * s, 0.0) * dt
        p_new = p * np.exp(-0.5 * sigma**2 * dt + sigma * math.sqrt(dt) * rng.standard_normal(n_paths))
        s_new = np.sqrt(p_new)
        v_new = vec_value(s_new)
        loss += x * (p_new - p) - (v_new - v)
        p, s, v, x = p_new, s_new, v_new, vec_delta(s_new)
    return loss, formula


@pytest.mark.parametrize(("sigma", "lo", "hi"), [(0.8, 1e-12, 1e12), (0.3, math.exp(-0.4), math.exp(0.4))])
def test_lvr_formula_matches_arbitrage_simulation(sigma, lo, hi):
    loss, formula = _simulate_lvr(sigma, lo, hi, n_steps=400, n_paths=1000, seed=2022)
    assert np.all(loss >= -1e-12)  # concave value: the LP never gains against the rebalancer
    diff = loss - formula
    se = diff.std(ddof=1) / math.sqrt(diff.size)
    # Monte Carlo error (paired) plus the O(dt) discretisation of the per-step arbitrage
    assert abs(diff.mean()) <= 4 * se + 0.01 * formula.mean()
    assert loss.mean() / formula.mean() == pytest.approx(1.0, abs=0.03)
    if lo < 1e-6:  # full range: expectation in closed form, E sqrt(P_t) = exp(-sigma^2 t / 8)
        expected = 0.25 * sigma**2 * (8 / sigma**2) * (1 - math.exp(-sigma**2 / 8))
        assert loss.mean() == pytest.approx(expected, rel=0.03)


@pytest.mark.parametrize(("kw", "name"), [
    (dict(sigma=float("nan")), "sigma"),
    (dict(budget1=0.0), "budget1"),
    (dict(review_period=0.0), "review_period"),
    (dict(width_ticks=0), "width_ticks"),
    (dict(volume_rate={500: 1.0, 3000: 1.0}), "volume_rate"),
    (dict(active_liquidity=[1.0, -1.0, 1.0]), "active_liquidity"),
])
def test_bad_argument_raises_naming_it(kw, name):
    args = dict(BASE, volume_rate=VOL, active_liquidity=ACT)
    args.update(kw)
    with pytest.raises(ValueError, match=name):
        choose_fee_tier(**args)
