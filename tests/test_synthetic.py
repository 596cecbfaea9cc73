"""Synthetic generators: statistical properties within stated confidence, determinism, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from asymlp_core.synthetic import (
    MINUTES_PER_YEAR,
    default_market,
    gbm_jump_regime,
    hawkes_arrivals,
    swap_flow,
)


def test_gbm_single_regime_recovers_sigma_and_drift_within_confidence():
    n, dt, sigma = 200_000, 1.0 / MINUTES_PER_YEAR, 0.8
    price, regime = gbm_jump_regime(n, 100.0, dt, mu=0.0, sigma=sigma, seed=3)
    r = np.diff(np.log(price))
    est = r.std(ddof=1) / math.sqrt(dt)
    # standard error of a sample sd is sigma / sqrt(2(n-1)); allow 4 of them
    assert abs(est - sigma) < 4 * sigma / math.sqrt(2 * (n - 1))
    # log drift mean is -sigma^2/2 per unit time; its se is sigma*sqrt(dt)/sqrt(n) per step
    assert abs(r.mean() - (-0.5 * sigma**2 * dt)) < 4 * sigma * math.sqrt(dt) / math.sqrt(n - 1)
    assert np.all(regime == 0)


def test_gbm_regimes_have_their_own_volatility_and_stationary_share():
    switch = np.array([[0.999, 0.001], [0.004, 0.996]])
    price, regime = gbm_jump_regime(
        400_000, 100.0, 1e-5, mu=np.array([0.0, 0.0]), sigma=np.array([0.5, 2.0]), switch_prob=switch, seed=5
    )
    r = np.diff(np.log(price))
    calm, stress = r[regime[:-1] == 0], r[regime[:-1] == 1]
    assert calm.std() / math.sqrt(1e-5) == pytest.approx(0.5, rel=0.03)
    assert stress.std() / math.sqrt(1e-5) == pytest.approx(2.0, rel=0.03)
    # stationary share of the stressed regime: p01 / (p01 + p10) = 0.2; regimes are sticky, so loose
    assert 0.12 < (regime == 1).mean() < 0.28


def test_gbm_jumps_add_the_expected_variance():
    dt, lam, jstd = 1e-4, 200.0, 0.02
    price, _ = gbm_jump_regime(300_000, 100.0, dt, sigma=0.0, jump_intensity=lam, jump_std=jstd, seed=11)
    r = np.diff(np.log(price))
    # variance per step = lam*dt*jstd^2 (compound Poisson with zero-mean normal jumps)
    assert r.var() == pytest.approx(lam * dt * jstd**2, rel=0.08)


def test_hawkes_mean_rate_matches_branching_formula():
    mu, alpha, beta, t_end = 2.0, 1.2, 2.0, 20_000.0
    times = hawkes_arrivals(mu, alpha, beta, t_end, seed=1)
    assert np.all(np.diff(times) > 0) and times[0] >= 0 and times[-1] < t_end
    rate = len(times) / t_end
    assert rate == pytest.approx(mu / (1 - alpha / beta), rel=0.06)


def test_hawkes_rejects_explosive_parameters():
    with pytest.raises(ValueError, match="branching ratio"):
        hawkes_arrivals(1.0, 2.0, 1.0, 10.0)


def test_swap_flow_keeps_pool_inside_the_no_arbitrage_band():
    ref, _ = gbm_jump_regime(50_000, 2000.0, 1.0 / MINUTES_PER_YEAR, sigma=0.9, seed=2)
    fee = 0.0005
    flow = swap_flow(ref, liquidity=3e5, fee=fee, noise_rate=2.0, noise_size_mean1=2000.0, seed=4)
    ratio = flow.pool_price / ref
    assert np.all(ratio <= 1 + fee + 1e-12) and np.all(ratio >= 1 / (1 + fee) - 1e-12)
    assert np.all(flow.noise_volume1 >= 0) and np.all(flow.arb_volume1 >= 0)
    assert flow.arb_volume1.sum() > 0 and flow.noise_volume1.sum() > 0


def test_default_market_is_deterministic_and_sane():
    a = default_market(20_000, seed=9)
    b = default_market(20_000, seed=9)
    c = default_market(20_000, seed=10)
    assert np.array_equal(a.price, b.price) and np.array_equal(a.volume1, b.volume1)
    assert not np.array_equal(a.price, c.price)
    assert np.all(np.diff(a.ts_ns) == 60_000_000_000)
    assert np.all(np.isfinite(a.price)) and np.all(a.price > 0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n": 0, "s0": 1.0, "dt": 1.0}, "n must be positive"),
        ({"n": 5, "s0": -1.0, "dt": 1.0}, "s0"),
        ({"n": 5, "s0": 1.0, "dt": 1.0, "sigma": float("nan")}, "sigma"),
        ({"n": 5, "s0": 1.0, "dt": 1.0, "mu": np.zeros(2), "sigma": np.ones(2),
          "switch_prob": np.ones((2, 2))}, "row-stochastic"),
    ],
)
def test_gbm_rejects_bad_input_naming_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gbm_jump_regime(**kwargs)
