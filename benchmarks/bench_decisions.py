"""Throughput of the decision kernels (ranges, rebalance, hedge, fee tier).

Run: ``pytest benchmarks/bench_decisions.py --benchmark-only -s`` (add ``--benchmark-autosave``
/ ``--benchmark-compare`` for regression runs).

* ``as_quote_and_range``: Avellaneda-Stoikov quote (``asymlp_core.models``) plus the
  asymmetric range kernel, fused in one loop over ``N`` bars; target >= 50 M evaluations per
  second (docs/DESIGN.md section 5).  In-run reference: the same formula written as NumPy
  array expressions.
* ``range_1d``: :func:`asymlp_core.ranges.nb.asymmetric_range_ticks_1d` on given quotes,
  against the same NumPy reference.
* ``per_bar_decisions``: one year of one-minute bars (525,600) through the per-bar decision
  path a backtest runs (rebalance decision, range rebuilt on a fire, LP delta, hedge order),
  against a bare Numba loop over the same arrays (one pass computing their sum), the floor
  the backtester's 5x budget is measured against.

Each records evaluations per second of both sides and the ratio in ``benchmark.extra_info``
and prints them; outputs are checked against the reference before timing.  A regression
guard compares the ratios, never seconds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
from numba import njit

from asymlp_core.hedge import nb as hedge_nb
from asymlp_core.models import nb as models_nb
from asymlp_core.ranges import nb as ranges_nb
from asymlp_core.rebalance import nb as rebalance_nb
from asymlp_core.rebalance.enums import REASON_ALL, RebalanceInputs, RebalanceParams, RebalanceState

N = 4_000_000
YEAR = 525_600
REPEATS = 7

# Quote model and pool parameters of the benchmark (WETH/USDC-like raw price, 30 bps tier).
MID0 = 3000e-12
GAMMA = 0.1 / MID0  # risk aversion scaled to the raw price unit
SIGMA = 0.02 * MID0
TAU = 1.0
K = 400.0 / MID0  # arrival half spread about 0.25% of the price
Q_MAX = 1.0
SKEW = 0.5
SPACING = 60
W_MIN, W_MAX = 120, 20_000


def _best_seconds(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    """Best of ``repeats`` calls in CPU time of this process.

    The kernels are single-threaded, so CPU time equals wall time on an idle core; on a
    shared machine it leaves out the time the process waited for a core.
    """
    fn()  # warm up (compilation, page faults)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def _record(benchmark, name: str, n: int, kernel: Callable[[], object],
            reference: Callable[[], object], ref_name: str) -> dict:
    t_kernel = _best_seconds(kernel)
    t_ref = _best_seconds(reference)
    benchmark.pedantic(kernel, rounds=REPEATS, iterations=1, warmup_rounds=1)
    info = {
        "n": n,
        "kernel_evals_per_s": n / t_kernel,
        f"{ref_name}_evals_per_s": n / t_ref,
        f"ratio_kernel_over_{ref_name}": t_ref / t_kernel,
        "kernel_seconds": t_kernel,
    }
    benchmark.extra_info.update(info)
    print(
        f"\n{name}: kernel {n / t_kernel / 1e6:.1f} M evals/s ({t_kernel * 1e3:.2f} ms), "
        f"{ref_name} {n / t_ref / 1e6:.1f} M evals/s, ratio {t_ref / t_kernel:.2f}x"
    )
    return info


def _market(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    mid = MID0 * np.exp(np.cumsum(rng.normal(0.0, 1e-3, n)))
    q = np.clip(np.cumsum(rng.normal(0.0, 0.02, n)) % 2.0 - 1.0, -0.99, 0.99)
    return mid, q


@njit(cache=True)
def as_quote_and_range_1d(mid, inventory, gamma, sigma, tau, k, q_max, skew, spacing,
                          w_min, w_max, out_lower, out_upper):
    """AS reservation price and half spread, then the range, per element (loop invariants hoisted)."""
    half = 0.5 * models_nb.as_optimal_spread_nb(gamma, sigma, tau, k)
    lo_u, hi_u = ranges_nb.usable_tick_bounds(spacing)
    wmin, wmax = ranges_nb.aligned_width_limits(spacing, w_min, w_max)
    inv_q = 1.0 / q_max
    inv_s = 1.0 / spacing
    # as_reservation_price_nb(mid, q, gamma, sigma, tau) = mid - q * gamma * sigma^2 * tau,
    # with the inventory-independent factor hoisted out of the loop
    skew_per_unit = gamma * sigma * sigma * tau
    for i in range(mid.shape[0]):
        q = inventory[i]
        r = mid[i] - q * skew_per_unit
        lo, hi = ranges_nb.asymmetric_range_ticks_prepared(
            r, half, half, q, inv_q, skew, spacing, inv_s, wmin, wmax, lo_u, hi_u
        )
        out_lower[i] = lo
        out_upper[i] = hi
    return mid.shape[0]


def numpy_range(r, db, da, q, q_max, skew, s, w_min, w_max):
    """The documented range rules as NumPy array expressions (the in-run reference)."""
    ln = math.log(1.0001)
    hi_u = (887272 // s) * s
    lo_u = -hi_u
    wmin, wmax = ranges_nb.aligned_width_limits(s, w_min, w_max)
    far = 2.0 * 887272
    t_r = np.clip(np.log(r) / ln, -887272.0, 887272.0)
    x_b = db / r
    d_lo = np.where(x_b < 1.0, -np.log1p(-np.where(x_b < 1.0, x_b, 0.0)) / ln, far)
    d_hi = np.log1p(da / r) / ln
    d_lo = np.clip(d_lo, 0.0, far)
    d_hi = np.clip(d_hi, 0.0, far)
    width = d_lo + d_hi
    f = np.where(width > 0.0, d_hi / np.where(width > 0.0, width, 1.0), 0.5)
    kk = np.clip(skew * np.clip(q / q_max, -1.0, 1.0), -1.0, 1.0)
    f = np.clip(np.where(kk > 0.0, f + kk * (1.0 - f), f + kk * f), 0.0, 1.0)
    width = np.clip(width, wmin, wmax)
    lower = np.floor((t_r - (1.0 - f) * width) / s).astype(np.int64) * s
    upper = np.ceil((t_r + f * width) / s).astype(np.int64) * s
    w = upper - lower
    n_cut = np.where(w > wmax, (w - wmax) // s, 0)
    n_add = np.where(w < wmin, (wmin - w) // s, 0)
    cut_hi = np.floor(n_cut * f + 0.5).astype(np.int64)
    add_hi = np.floor(n_add * f + 0.5).astype(np.int64)
    upper = upper - cut_hi * s + add_hi * s
    lower = lower + (n_cut - cut_hi) * s - (n_add - add_hi) * s
    shift_up = np.maximum(lo_u - lower, 0)
    lower, upper = lower + shift_up, upper + shift_up
    shift_dn = np.maximum(upper - hi_u, 0)
    return lower - shift_dn, upper - shift_dn


def numpy_as_quote_and_range(mid, q):
    r = mid - q * GAMMA * SIGMA * SIGMA * TAU
    half = 0.5 * (GAMMA * SIGMA * SIGMA * TAU + 2.0 / GAMMA * math.log1p(GAMMA / K))
    h = np.full_like(r, half)
    return numpy_range(r, h, h, q, Q_MAX, SKEW, SPACING, W_MIN, W_MAX)


def _assert_parity(lo, hi, ref_lo, ref_hi) -> None:
    # the kernel's series log1p and NumPy's log1p may differ by an ulp, which can move a
    # bound lying exactly on a spacing multiple by one spacing; nothing else may differ
    diff = (lo != ref_lo) | (hi != ref_hi)
    assert diff.mean() < 1e-4, f"{diff.sum()} of {lo.size} ranges differ"
    assert np.all(np.abs(lo - ref_lo) <= SPACING) and np.all(np.abs(hi - ref_hi) <= SPACING)


def test_bench_as_quote_and_range(benchmark) -> None:
    mid, q = _market(N, 0)
    lo = np.empty(N, dtype=np.int64)
    hi = np.empty(N, dtype=np.int64)

    def kernel():
        return as_quote_and_range_1d(mid, q, GAMMA, SIGMA, TAU, K, Q_MAX, SKEW, SPACING,
                                     W_MIN, W_MAX, lo, hi)

    kernel()
    ref_lo, ref_hi = numpy_as_quote_and_range(mid, q)
    _assert_parity(lo, hi, ref_lo, ref_hi)
    info = _record(benchmark, "AS quote + range", N, kernel,
                   lambda: numpy_as_quote_and_range(mid, q), "numpy")
    benchmark.extra_info["target_evals_per_s"] = 50e6
    benchmark.extra_info["meets_target"] = info["kernel_evals_per_s"] >= 50e6


def test_bench_range_1d(benchmark) -> None:
    mid, q = _market(N, 1)
    rng = np.random.default_rng(2)
    r = mid - q * GAMMA * SIGMA * SIGMA * TAU
    db = r * rng.uniform(0.001, 0.03, N)
    da = r * rng.uniform(0.001, 0.03, N)
    lo = np.empty(N, dtype=np.int64)
    hi = np.empty(N, dtype=np.int64)

    def kernel():
        return ranges_nb.asymmetric_range_ticks_1d(r, db, da, q, Q_MAX, SKEW, SPACING,
                                                   W_MIN, W_MAX, lo, hi)

    kernel()
    ref_lo, ref_hi = numpy_range(r, db, da, q, Q_MAX, SKEW, SPACING, W_MIN, W_MAX)
    _assert_parity(lo, hi, ref_lo, ref_hi)
    _record(benchmark, "asymmetric_range_ticks_1d", N, kernel,
            lambda: numpy_range(r, db, da, q, Q_MAX, SKEW, SPACING, W_MIN, W_MAX), "numpy")


@njit(cache=True)
def per_bar_decisions(mid, inventory_ratio, q, params, liquidity, out_hedge):
    """Per-bar decision path of an LP + hedge backtest over given market arrays."""
    ln = math.log(1.0001)
    half = 0.5 * models_nb.as_optimal_spread_nb(GAMMA, SIGMA, TAU, K)
    r0 = models_nb.as_reservation_price_nb(mid[0], q[0], GAMMA, SIGMA, TAU)
    lo, hi = ranges_nb.asymmetric_range_ticks(r0, half, half, q[0], Q_MAX, SKEW, SPACING,
                                              W_MIN, W_MAX)
    state = RebalanceState(0.0, math.log(r0) / ln, REASON_ALL)
    sa = math.exp(0.5 * lo * ln)
    sb = math.exp(0.5 * hi * ln)
    hedge = 0.0
    fires = 0
    for i in range(mid.shape[0]):
        r = models_nb.as_reservation_price_nb(mid[i], q[i], GAMMA, SIGMA, TAU)
        inp = RebalanceInputs(float(i), math.log(mid[i]) / ln, lo, hi, inventory_ratio[i],
                              math.log(r) / ln)
        state, reason = rebalance_nb.rebalance_decide(state, inp, params)
        if reason != 0:
            fires += 1
            lo, hi = ranges_nb.asymmetric_range_ticks(r, half, half, q[i], Q_MAX, SKEW,
                                                      SPACING, W_MIN, W_MAX)
            sa = math.exp(0.5 * lo * ln)
            sb = math.exp(0.5 * hi * ln)
        delta = hedge_nb.lp_delta(liquidity, math.sqrt(mid[i]), sa, sb)
        residual = hedge_nb.residual_inventory(delta, 0.0, hedge, 0.0)
        order = hedge_nb.hedge_order_size(residual, 0.05 * liquidity * 1e-12, 0, 1e-3, 1e-3)
        hedge += order
        out_hedge[i] = hedge
    return fires


@njit(cache=True)
def bare_loop(mid, inventory_ratio, q, out):
    acc = 0.0
    for i in range(mid.shape[0]):
        acc += mid[i] + inventory_ratio[i] + q[i]
        out[i] = acc
    return acc


def test_bench_per_bar_decisions_year(benchmark) -> None:
    mid, q = _market(YEAR, 3)
    ratio = np.clip(0.5 + 0.3 * q, 0.0, 1.0)
    params = RebalanceParams(0.1, 0.2, 0.5, 0.10, 0.05, 100.0, 50.0, 1440.0, 5.0, REASON_ALL)
    out = np.empty(YEAR)
    fires = per_bar_decisions(mid, ratio, q, params, 1e15, out)
    assert 0 < fires < YEAR and np.all(np.isfinite(out))
    info = _record(benchmark, "per-bar decisions (1 year of minutes)", YEAR,
                   lambda: per_bar_decisions(mid, ratio, q, params, 1e15, out),
                   lambda: bare_loop(mid, ratio, q, out), "bare_loop")
    benchmark.extra_info["rebalances"] = int(fires)
    print(f"  {fires} rebalances, {info['kernel_seconds'] * 1e3:.2f} ms for the year")
