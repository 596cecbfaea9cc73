"""Throughput of the quote models and of the fill-intensity calibration.

Run: ``pytest benchmarks/bench_models.py --benchmark-only -s`` (add ``--benchmark-autosave``
/ ``--benchmark-compare`` for regression runs).

- AS and GLFT quotes over ``N`` elements (mid, inventory and sigma vary per element, the
  model parameters are scalars): the ``_1d`` kernel writing into reused outputs, the public
  API (validation + allocation + kernel), and in the same run a NumPy expression of the same
  formula (the reference). Target: >= 50 M evaluations/s.
- Calibration of ``A, k`` on 1 million trades through the public API, against a pure-NumPy
  implementation of the same estimator (``np.maximum.at`` per window, ``searchsorted`` +
  ``bincount`` per level, ``np.polyfit``). Target: under 1 s.

Results are checked for parity with the reference before timing; ``benchmark.extra_info``
records evaluations per second of each and the ratios (above 1 = faster than NumPy); a
regression guard compares ratios, never seconds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from asymlp_core.models import (
    as_quotes,
    fit_fill_intensity_from_trades,
    glft_coefficients,
    glft_quotes,
    simulate_poisson_trades,
)
from asymlp_core.models import nb as mnb

N = 4_000_000
REPEATS = 5
GAMMA, TAU, K, Q_MAX = 0.1, 0.5, 1.5, 50.0
XI, DELTA, A = 0.1, 1.0, 140.0


def _best_seconds(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    fn()  # warm up (compilation, page faults)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _inputs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    mid = rng.uniform(90.0, 110.0, N)
    q = rng.integers(-60, 61, N).astype(np.float64)
    sigma = rng.uniform(0.5, 3.0, N)
    return mid, q, sigma


def _record_quotes(benchmark, name, kernel, api, reference) -> None:
    t_kernel = _best_seconds(kernel)
    t_api = _best_seconds(api)
    t_numpy = _best_seconds(reference)
    benchmark.pedantic(kernel, rounds=REPEATS, iterations=1, warmup_rounds=1)
    info = {
        "n": N,
        "kernel_evals_per_s": N / t_kernel,
        "api_evals_per_s": N / t_api,
        "numpy_evals_per_s": N / t_numpy,
        "ratio_kernel_over_numpy": t_numpy / t_kernel,
        "ratio_api_over_numpy": t_numpy / t_api,
    }
    benchmark.extra_info.update(info)
    print(
        f"\n{name}: kernel {info['kernel_evals_per_s'] / 1e6:.0f} M/s, "
        f"API {info['api_evals_per_s'] / 1e6:.0f} M/s, numpy {info['numpy_evals_per_s'] / 1e6:.0f} "
        f"M/s; kernel/numpy {info['ratio_kernel_over_numpy']:.1f}x, "
        f"API/numpy {info['ratio_api_over_numpy']:.1f}x"
    )


def test_bench_as_quotes(benchmark) -> None:
    mid, q, sigma = _inputs()

    def reference() -> tuple[np.ndarray, np.ndarray]:
        var_tau = GAMMA * sigma * sigma * TAU
        r = mid - q * var_tau
        half = 0.5 * (var_tau + 2.0 / GAMMA * math.log1p(GAMMA / K))
        bid = np.where(q < Q_MAX, r - half, np.nan)
        ask = np.where(q > -Q_MAX, r + half, np.nan)
        return bid, ask

    bid_out, ask_out = np.empty(N), np.empty(N)
    one = lambda v: np.array([v])  # noqa: E731
    g, t, k, qm = one(GAMMA), one(TAU), one(K), one(Q_MAX)

    def kernel() -> int:
        return mnb.as_quotes_1d(mid, q, g, sigma, t, k, qm, bid_out, ask_out)

    def api() -> object:
        return as_quotes(mid, q, GAMMA, sigma, TAU, K, q_max=Q_MAX)

    kernel()
    ref_bid, ref_ask = reference()
    np.testing.assert_allclose(bid_out, ref_bid, rtol=1e-13)
    np.testing.assert_allclose(ask_out, ref_ask, rtol=1e-13)
    _record_quotes(benchmark, "as_quotes", kernel, api, reference)


def test_bench_glft_quotes(benchmark) -> None:
    mid, q, sigma = _inputs()
    c1, c2 = glft_coefficients(XI, GAMMA, DELTA, A, K)

    def reference() -> tuple[np.ndarray, np.ndarray]:
        hs = c1 + 0.5 * DELTA * sigma * c2
        skew = sigma * c2
        bid = np.where(q + DELTA <= Q_MAX, mid - (hs + skew * q), np.nan)
        ask = np.where(q - DELTA >= -Q_MAX, mid + (hs - skew * q), np.nan)
        return bid, ask

    bid_out, ask_out = np.empty(N), np.empty(N)
    one = lambda v: np.array([v])  # noqa: E731
    params = (one(XI), one(GAMMA), one(DELTA), one(A), one(K), one(0.0), one(Q_MAX), one(1.0),
              one(1.0))

    def kernel() -> int:
        return mnb.glft_quotes_1d(mid, q, sigma, *params, bid_out, ask_out)

    def api() -> object:
        return glft_quotes(mid, q, sigma, XI, GAMMA, DELTA, A, K, q_max=Q_MAX)

    kernel()
    ref_bid, ref_ask = reference()
    np.testing.assert_allclose(bid_out, ref_bid, rtol=1e-13)
    np.testing.assert_allclose(ask_out, ref_ask, rtol=1e-13)
    _record_quotes(benchmark, "glft_quotes", kernel, api, reference)


def _numpy_fit(times, prices, mids, window, grid):
    """The same estimator (pooled sides, -ln(1-p)/W, OLS) in plain NumPy."""
    d = prices - mids
    side_ask = d >= 0
    depth = np.abs(d)
    t0 = times.min()
    n_windows = int(math.floor((times.max() - t0) / window))
    j = np.floor((times - t0) / window).astype(np.int64)
    inside = j < n_windows
    counts = np.zeros(grid.size, dtype=np.int64)
    for mask in (side_ask, ~side_ask):
        mx = np.full(n_windows, -np.inf)
        sel = inside & mask
        np.maximum.at(mx, j[sel], depth[sel])
        idx = np.searchsorted(grid, mx, side="left")  # levels strictly below the max
        counts += np.cumsum(np.bincount(idx, minlength=grid.size + 1)[::-1])[::-1][1:]
    n_obs = 2 * n_windows
    keep = (counts > 0) & (counts < n_obs)
    lam = -np.log1p(-counts[keep] / n_obs) / window
    slope, intercept = np.polyfit(grid[keep], np.log(lam), 1)
    return math.exp(intercept), -slope


def test_bench_fill_intensity_calibration_1m_trades(benchmark) -> None:
    times, prices, mids = simulate_poisson_trades(20.0, 1.5, 1.0, 25_000.0, seed=0)
    n = times.size
    grid = np.linspace(0.0, 3.0, 16)
    window = 0.05

    def api():
        return fit_fill_intensity_from_trades(times, prices, mids, window=window, depth_grid=grid)

    def reference():
        return _numpy_fit(times, prices, mids, window, grid)

    fit = api()
    a_ref, k_ref = reference()
    assert math.isclose(fit.k, k_ref, rel_tol=1e-9) and math.isclose(fit.A, a_ref, rel_tol=1e-9)
    t_api = _best_seconds(api, 3)
    t_numpy = _best_seconds(reference, 3)
    benchmark.pedantic(api, rounds=3, iterations=1, warmup_rounds=1)
    info = {
        "n_trades": n,
        "api_seconds": t_api,
        "numpy_seconds": t_numpy,
        "api_trades_per_s": n / t_api,
        "ratio_api_over_numpy": t_numpy / t_api,
    }
    benchmark.extra_info.update(info)
    print(
        f"\nfit_fill_intensity on {n:,} trades: API {t_api * 1e3:.0f} ms, "
        f"numpy {t_numpy * 1e3:.0f} ms, ratio {info['ratio_api_over_numpy']:.1f}x"
    )
