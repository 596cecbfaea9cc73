"""Calibration: volatility and fill intensity recovered from data generated with known values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from asymlp_core.models import (
    depths_from_sqrt_prices,
    ewma_volatility,
    fit_fill_intensity,
    fit_fill_intensity_from_trades,
    realized_volatility,
    simulate_poisson_trades,
    swap_depths,
    swap_sqrt_price_after,
    trade_depths,
    window_max_depths,
)

# --- volatility ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_realized_volatility_from_trades_recovers_sigma_within_three_stderr(seed):
    t, _, mids = simulate_poisson_trades(5.0, 2.0, 1.7, 5_000.0, seed=seed)
    est = realized_volatility(mids, times=t)
    assert abs(est.sigma - 1.7) < 3 * est.stderr
    assert abs(est.sigma / 1.7 - 1) < 0.01
    assert est.n == mids.size - 1


@pytest.mark.parametrize("seed", [4, 5])
def test_realized_volatility_from_bars_recovers_sigma_and_scales_with_time_unit(seed):
    rng = np.random.default_rng(seed)
    dt = 60.0  # one-minute bars, times in seconds
    sigma_per_sqrt_s = 0.01
    prices = 100 + np.cumsum(sigma_per_sqrt_s * math.sqrt(dt) * rng.standard_normal(20_000))
    per_s = realized_volatility(prices, dt=dt)
    per_day = realized_volatility(prices, dt=dt, time_unit=86_400.0)
    assert abs(per_s.sigma - sigma_per_sqrt_s) < 3 * per_s.stderr
    assert per_day.sigma == pytest.approx(per_s.sigma * math.sqrt(86_400.0), rel=1e-12)
    assert per_day.time_unit == 86_400.0


def test_realized_volatility_of_log_returns_recovers_relative_sigma():
    rng = np.random.default_rng(7)
    dt = 1.0 / 1440
    sig = 0.8  # per sqrt(day)
    logp = np.cumsum(sig * math.sqrt(dt) * rng.standard_normal(50_000) - 0.5 * sig**2 * dt)
    est = realized_volatility(3000.0 * np.exp(logp), dt=dt, log_returns=True)
    assert abs(est.sigma - sig) < 3 * est.stderr


def _ewma_reference(prices, times, halflife):
    num = den = 0.0
    out = [math.nan]
    for i in range(1, len(prices)):
        step = times[i] - times[i - 1]
        d = 0.5 ** (step / halflife)
        r = prices[i] - prices[i - 1]
        num = d * num + r * r
        den = d * den + step
        out.append(math.sqrt(num / den) if den > 0 else math.nan)
    return np.array(out)


@given(st.lists(st.tuples(st.floats(0.0, 5.0), st.floats(-3.0, 3.0)), min_size=2, max_size=60),
       st.floats(0.1, 100.0))
def test_ewma_volatility_matches_the_recursion(rows, halflife):
    steps = np.array([r[0] for r in rows])
    steps[1] = max(steps[1], 0.5)  # a positive first span
    times = np.cumsum(steps)
    prices = 100 + np.cumsum([r[1] for r in rows])
    got = ewma_volatility(prices, times=times, halflife=halflife)
    ref = _ewma_reference(prices, times, halflife)
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)


def test_ewma_volatility_tracks_a_volatility_change():
    rng = np.random.default_rng(11)
    r = np.concatenate([rng.standard_normal(5_000) * 1.0, rng.standard_normal(5_000) * 3.0])
    sig = ewma_volatility(100 + np.cumsum(r), dt=1.0, halflife=200.0)
    assert math.isnan(sig[0])
    assert sig[4_999] == pytest.approx(1.0, rel=0.15)
    assert sig[-1] == pytest.approx(3.0, rel=0.15)


# --- fill intensity -----------------------------------------------------------------------

GRID = np.linspace(0.0, 3.0, 16)


@pytest.mark.parametrize(("A", "k", "seed"), [(20.0, 1.5, 1), (140.0, 1.5, 2), (5.0, 4.0, 3)])
def test_fill_intensity_recovers_A_and_k_within_three_stderr(A, k, seed):
    t, prices, mids = simulate_poisson_trades(A, k, 1.0, 400.0 * 20.0 / A, seed=seed)
    window = 1.0 / A  # about one order beyond the mid per side and window
    grid = np.linspace(0.0, 4.5 / k, 16)
    fit = fit_fill_intensity_from_trades(t, prices, mids, window=window, depth_grid=grid)
    se_k = max(fit.k_stderr, fit.k_stderr_counts)
    se_lna = max(fit.ln_A_stderr, fit.ln_A_stderr_counts)
    assert abs(fit.k - k) < 3 * se_k
    assert abs(fit.ln_A - math.log(A)) < 3 * se_lna
    assert fit.k == pytest.approx(k, rel=0.05)
    assert fit.A == pytest.approx(A, rel=0.1)
    assert fit.r_squared > 0.99
    assert fit.n_levels == 16 and fit.n_windows > 1000


def test_count_stderr_is_calibrated_across_seeds_and_ols_stderr_is_too_small():
    z_counts, z_ols = [], []
    for seed in range(12):
        t, p, m = simulate_poisson_trades(20.0, 1.5, 1.0, 500.0, seed=100 + seed)
        fit = fit_fill_intensity_from_trades(t, p, m, window=0.05, depth_grid=GRID)
        z_counts.append((fit.k - 1.5) / fit.k_stderr_counts)
        z_ols.append((fit.k - 1.5) / fit.k_stderr)
    # z-scores under the count-based error look standard normal (loose bounds for 12 draws)
    assert 0.4 < np.std(z_counts) < 1.8
    assert np.max(np.abs(z_counts)) < 3.5
    # the OLS error ignores the correlation of the cumulative counts
    assert np.std(z_ols) > np.std(z_counts)


@pytest.mark.parametrize("side", ["bid", "ask"])
def test_fill_intensity_one_side_recovers_k(side):
    t, p, m = simulate_poisson_trades(20.0, 1.5, 1.0, 2_000.0, seed=21)
    fit = fit_fill_intensity_from_trades(t, p, m, window=0.05, depth_grid=GRID, side=side)
    assert abs(fit.k - 1.5) < 3 * max(fit.k_stderr, fit.k_stderr_counts)


def test_uncorrected_estimator_is_biased_when_windows_saturate_and_fine_when_sparse():
    t, p, m = simulate_poisson_trades(20.0, 1.5, 1.0, 2_000.0, seed=31)
    # lambda*W = 2 at the mid: most windows are filled, p/W underestimates lambda there
    sat = fit_fill_intensity_from_trades(t, p, m, window=0.1, depth_grid=GRID,
                                         saturation_correction=False)
    assert sat.k < 0.9 * 1.5
    # lambda*W = 0.1 at the mid: p/W ~ lambda, both estimators agree with the truth
    sparse = fit_fill_intensity_from_trades(t, p, m, window=0.005, depth_grid=GRID,
                                            saturation_correction=False)
    assert sparse.k == pytest.approx(1.5, rel=0.1)


def test_default_grid_is_used_when_none_given():
    t, p, m = simulate_poisson_trades(20.0, 1.5, 1.0, 500.0, seed=41)
    fit = fit_fill_intensity_from_trades(t, p, m, window=0.05)
    assert fit.k == pytest.approx(1.5, rel=0.1)
    assert fit.depths[0] == 0.0


def test_integer_nanosecond_times_give_the_same_fit():
    t, p, m = simulate_poisson_trades(20.0, 1.5, 1.0, 200.0, seed=42)
    t_ns = (t * 1e9).astype(np.int64) + 1_700_000_000 * 10**9
    a = fit_fill_intensity_from_trades(t, p, m, window=0.05, depth_grid=GRID)
    b = fit_fill_intensity_from_trades(t_ns, p, m, window=0.05e9, depth_grid=GRID)
    assert b.k == pytest.approx(a.k, rel=1e-3)
    assert b.A * 1e9 == pytest.approx(a.A, rel=1e-2)


def test_window_max_depths_counts_empty_windows_and_skips_outside_trades():
    times = np.array([0.5, 0.7, 2.5, 9.0])
    depths = np.array([1.0, 3.0, 2.0, 5.0])
    sides = np.array([1, 1, -1, 1])
    bid, ask, used = window_max_depths(times, depths, sides, window=1.0, t_start=0.0,
                                       t_end=4.0)
    np.testing.assert_equal(ask, [3.0, -np.inf, -np.inf, -np.inf])
    np.testing.assert_equal(bid, [-np.inf, -np.inf, 2.0, -np.inf])
    assert used == 3


def test_trade_depths_sides_follow_the_mid():
    d, s = trade_depths([101.0, 99.5, 100.0], [100.0, 100.0, 100.0])
    np.testing.assert_equal(d, [1.0, 0.5, 0.0])
    np.testing.assert_equal(s, [1, -1, 1])


def test_too_few_trades_raises_saying_trades():
    t = np.arange(5.0)  # the trade at t_end (the last time) is outside the half-open windows
    with pytest.raises(ValueError, match=r"^too few trades: 4 trades"):
        fit_fill_intensity(t, np.ones(5), np.ones(5, dtype=int), window=0.1, depth_grid=GRID)


def test_too_few_windows_raises_saying_windows():
    t = np.linspace(0, 1, 100)
    with pytest.raises(ValueError, match=r"^too few windows: 4 windows"):
        fit_fill_intensity(t, np.ones(100), np.ones(100, dtype=int), window=0.25,
                           depth_grid=GRID)


def test_too_few_depth_levels_raises_saying_levels():
    t = np.linspace(0, 100, 1000)
    depths = np.full(1000, 0.05)  # every trade reaches level 0 only
    with pytest.raises(ValueError, match=r"^too few depth levels with positive counts: 1 of 16"):
        fit_fill_intensity(t, depths, np.ones(1000, dtype=int), window=1.0, depth_grid=GRID,
                           saturation_correction=False)


def test_saturated_levels_are_reported():
    t = np.linspace(0, 100, 10_000)
    depths = np.full(10_000, 0.25)  # every window reaches levels 0 and 0.2
    with pytest.raises(ValueError, match=r"saturated"):
        fit_fill_intensity(t, depths, np.ones(10_000, dtype=int), window=1.0, depth_grid=GRID,
                           side="ask")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"window": 0.0}, r"^window must be"),
        ({"window": math.nan}, r"^window must be"),
        ({"window": 1.0, "depth_grid": [0.0, 1.0]}, r"^depth_grid must have at least 3"),
        ({"window": 1.0, "depth_grid": [0.0, 2.0, 1.0]}, r"^depth_grid must be strictly"),
        ({"window": 1.0, "depth_grid": [-1.0, 0.0, 1.0]}, r"^depth_grid must be"),
        ({"window": 1.0, "side": "up"}, r"^side must be"),
    ],
)
def test_invalid_fit_arguments_raise_naming_them(kwargs, message):
    t = np.linspace(0, 100, 1000)
    with pytest.raises(ValueError, match=message):
        fit_fill_intensity(t, np.ones(1000), np.ones(1000, dtype=int), **kwargs)


def test_invalid_data_arrays_raise_naming_them():
    t = np.linspace(0, 100, 10)
    with pytest.raises(ValueError, match=r"^depths must be finite"):
        fit_fill_intensity(t, np.r_[np.ones(9), np.nan], np.ones(10, dtype=int), window=1.0)
    with pytest.raises(ValueError, match=r"^sides must hold only"):
        fit_fill_intensity(t, np.ones(10), np.zeros(10, dtype=int), window=1.0)
    with pytest.raises(ValueError, match=r"^times must be non-decreasing"):
        realized_volatility(np.arange(1.0, 11.0), times=t[::-1])
    with pytest.raises(ValueError, match=r"^prices must be finite and > 0"):
        realized_volatility([1.0, -1.0, 2.0], dt=1.0, log_returns=True)
    with pytest.raises(ValueError, match=r"give exactly one of times"):
        realized_volatility([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"^halflife must be"):
        ewma_volatility([1.0, 2.0, 3.0], dt=1.0, halflife=0.0)


# --- Uniswap V3 swaps as fills ------------------------------------------------------------


@given(
    st.integers(10**12, 10**24),  # liquidity
    st.integers(2**80, 2**112),  # sqrt price X96 (price ~ 1e-10 .. 1e9)
    st.floats(1e-6, 0.2),  # fraction of the way to the range edge spent
    st.booleans(),
)
def test_float_swap_price_matches_the_exact_tier(liquidity, sqrt_x96, frac, zero_for_one):
    import asymlp_core.v3 as v3
    sp = sqrt_x96 / 2**96
    # amount that moves the price by a fraction of itself, within one range
    if zero_for_one:
        amount = int(liquidity * frac / sp)
    else:
        amount = int(liquidity * frac * sp)
    if amount == 0:
        return
    exact = v3.get_next_sqrt_price_from_input(sqrt_x96, liquidity, amount, zero_for_one)
    got = swap_sqrt_price_after(float(amount), float(liquidity), sp, zero_for_one)
    assert got == pytest.approx(exact / 2**96, rel=1e-9)


def test_pool_swaps_recover_A_and_k_in_ticks():
    # Swaps on a pool with constant L: on each side Poisson(A) arrivals whose price impact
    # is Exp(k) ticks; the amounts are built from the impact, the estimator sees amounts.
    rng = np.random.default_rng(5)
    A, k, duration, fee = 2.0, 0.08, 20_000.0, 3000
    n = rng.poisson(2 * A * duration)
    times = np.sort(rng.uniform(0, duration, n))
    ticks = rng.exponential(1 / k, n)
    zero_for_one = rng.random(n) < 0.5
    L = 5e21
    sp = np.full(n, 1.0)
    sp_after = np.where(zero_for_one, sp * 1.0001 ** (-ticks / 2), sp * 1.0001 ** (ticks / 2))
    gross = np.where(zero_for_one, L * (1 / sp_after - 1 / sp), L * (sp_after - sp))
    amount_in = gross / (1 - fee / 1e6)
    depths, sides = swap_depths(amount_in, L, sp, zero_for_one, fee_pips=fee, unit="ticks")
    np.testing.assert_allclose(depths, ticks, rtol=1e-6, atol=1e-6)
    np.testing.assert_equal(sides, np.where(zero_for_one, -1, 1))
    fit = fit_fill_intensity(times, depths, sides, window=0.5, depth_grid=np.linspace(0, 50, 11))
    assert abs(fit.k - k) < 3 * max(fit.k_stderr, fit.k_stderr_counts)
    assert fit.k == pytest.approx(k, rel=0.1)
    assert fit.A == pytest.approx(A, rel=0.15)


def test_depths_from_sqrt_prices_units():
    d, s = depths_from_sqrt_prices([1.0, 2.0], [1.0001**0.5, 2.0 / 1.0001**5], unit="ticks")
    np.testing.assert_allclose(d, [1.0, 10.0], rtol=1e-9)
    np.testing.assert_equal(s, [1, -1])
    d, _ = depths_from_sqrt_prices([2.0], [3.0], unit="price")
    assert d[0] == pytest.approx(5.0)
    d, _ = depths_from_sqrt_prices([2.0], [3.0], unit="relative")
    assert d[0] == pytest.approx(1.25)
    with pytest.raises(ValueError, match=r"^unit must be"):
        depths_from_sqrt_prices([2.0], [3.0], unit="bps")
    with pytest.raises(ValueError, match=r"^liquidity must be"):
        swap_sqrt_price_after(1.0, 0.0, 1.0, True)
