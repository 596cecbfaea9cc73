"""Throughput of the float64 V3 kernels (``asymlp_core.v3.float_math``) over 1e6-element arrays.

Run: ``pytest benchmarks/bench_v3_float.py --benchmark-only -s`` (add ``--benchmark-autosave``
/ ``--benchmark-compare`` for regression runs). Each benchmark times the ``_1d`` kernel with
pytest-benchmark and, in the same run, a plain NumPy vectorised expression of the same formula
(the in-run reference); both are also timed best-of-N by the same helper so the ratio compares
like with like. The kernels write into caller-allocated outputs reused across calls (their
intended use); the NumPy expressions allocate their results as NumPy does.
``benchmark.extra_info`` records evaluations per second of both and the ratio kernel / NumPy
(above 1 = the kernel is faster); a regression guard compares the ratio, never seconds.
Results are checked for parity with the NumPy expression before timing.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from asymlp_core.v3 import float_math as fm

N = 1_000_000
REPEATS = 7


def _best_seconds(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    fn()  # warm up (compilation, page faults)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _record(benchmark, name: str, kernel: Callable[[], object], reference: Callable[[], object]) -> None:
    t_kernel = _best_seconds(kernel)
    t_numpy = _best_seconds(reference)
    benchmark.pedantic(kernel, rounds=REPEATS, iterations=1, warmup_rounds=1)
    info = {
        "n": N,
        "kernel_evals_per_s": N / t_kernel,
        "numpy_evals_per_s": N / t_numpy,
        "ratio_kernel_over_numpy": t_numpy / t_kernel,
    }
    benchmark.extra_info.update(info)
    print(
        f"\n{name}: kernel {info['kernel_evals_per_s'] / 1e6:.1f} M evals/s, "
        f"numpy {info['numpy_evals_per_s'] / 1e6:.1f} M evals/s, ratio {info['ratio_kernel_over_numpy']:.2f}x"
    )


def test_bench_tick_to_price(benchmark) -> None:
    rng = np.random.default_rng(0)
    ticks = rng.integers(fm.MIN_TICK, fm.MAX_TICK + 1, N).astype(np.int64)
    tf = ticks.astype(np.float64)

    def reference() -> np.ndarray:
        return np.exp(tf * fm.LN_1_0001_HEAD) * np.exp(tf * fm.LN_1_0001_TAIL)

    out = np.empty(N)
    np.testing.assert_allclose(fm.tick_to_price_1d(ticks, out), reference(), rtol=1e-15)
    _record(benchmark, "tick_to_price_1d", lambda: fm.tick_to_price_1d(ticks, out), reference)


def test_bench_amounts_for_liquidity(benchmark) -> None:
    rng = np.random.default_rng(1)
    lo, hi, liquidity = 0.9, 1.1, 1e21
    sqrt_prices = rng.uniform(0.85, 1.15, N)

    def reference() -> tuple[np.ndarray, np.ndarray]:
        s = np.clip(sqrt_prices, lo, hi)
        return liquidity * (hi - s) / hi / s, liquidity * (s - lo)

    out0, out1 = np.empty(N), np.empty(N)
    got0, got1 = fm.amounts_for_liquidity_1d(sqrt_prices, lo, hi, liquidity, out0, out1)
    ref0, ref1 = reference()
    np.testing.assert_allclose(got0, ref0, rtol=1e-14, atol=1e21 * 1e-15)
    np.testing.assert_allclose(got1, ref1, rtol=1e-14, atol=1e21 * 1e-15)
    _record(
        benchmark,
        "amounts_for_liquidity_1d",
        lambda: fm.amounts_for_liquidity_1d(sqrt_prices, lo, hi, liquidity, out0, out1),
        reference,
    )


def test_bench_swap_exact_input_within_range(benchmark) -> None:
    rng = np.random.default_rng(2)
    sqrt_prices = rng.uniform(0.5, 2.0, N)
    liquidity = rng.uniform(1e18, 1e22, N)
    amount_in = liquidity * rng.uniform(1e-6, 1e-2, N)
    fee = 3000.0

    def reference() -> tuple[np.ndarray, np.ndarray]:
        a = amount_in * (1.0 - fee / 1e6)
        denom = liquidity + a * sqrt_prices
        return liquidity * sqrt_prices / denom, liquidity * a * sqrt_prices * sqrt_prices / denom

    out_price, out_amount = np.empty(N), np.empty(N)
    got = fm.swap_exact_input_within_range_1d(
        sqrt_prices, liquidity, amount_in, fee, True, out_price, out_amount
    )
    ref = reference()
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-15)
    np.testing.assert_allclose(got[1], ref[1], rtol=1e-15)
    _record(
        benchmark,
        "swap_exact_input_within_range_1d",
        lambda: fm.swap_exact_input_within_range_1d(
            sqrt_prices, liquidity, amount_in, fee, True, out_price, out_amount
        ),
        reference,
    )
