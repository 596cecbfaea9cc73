"""Throughput of the exact (bit-for-bit) V3 kernels of ``asymlp_core.v3.nb``.

Run: ``pytest benchmarks/bench_v3_exact.py --benchmark-only -s`` (add
``--benchmark-autosave`` / ``--benchmark-compare`` for regression runs).

Each benchmark times a loop kernel over precomputed, varied inputs in one call and, in
the same run, the Python-int reference of ``asymlp_core.v3`` over a subset of the same
inputs (the reference is ~100x slower, so a subset keeps the run short; rates are per
item).  ``benchmark.extra_info`` records items per second of both and the ratio
kernel / reference; a regression guard compares the ratio, never seconds.  Every
benchmark first checks that the kernel's outputs equal the reference's on the subset.

Targets (docs/DESIGN.md section 5): >= 1,000,000 exact swap steps per second on one core
and >= 20x the Python reference; the replay kernel >= 1,000,000 swaps per second for
swaps that cross few ticks.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import numpy as np

from asymlp_core import v3
from asymlp_core.v3 import nb

N = 200_000
N_REF = 5_000
REPEATS = 5


def _best_seconds(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    fn()  # warm up (compilation, page faults)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _record(benchmark, name: str, unit: str, n_kernel: int, kernel: Callable[[], object],
            n_ref: int, reference: Callable[[], object]) -> dict:  # fmt: skip
    t_kernel = _best_seconds(kernel)
    t_ref = _best_seconds(reference, repeats=2)
    benchmark.pedantic(kernel, rounds=REPEATS, iterations=1, warmup_rounds=1)
    info = {
        "n_kernel": n_kernel,
        "n_reference": n_ref,
        f"kernel_{unit}_per_s": n_kernel / t_kernel,
        f"reference_{unit}_per_s": n_ref / t_ref,
        "ratio_kernel_over_reference": (n_kernel / t_kernel) / (n_ref / t_ref),
    }
    benchmark.extra_info.update(info)
    print(
        f"\n{name}: kernel {info[f'kernel_{unit}_per_s'] / 1e6:.2f} M {unit}/s, "
        f"python-int reference {info[f'reference_{unit}_per_s'] / 1e3:.1f} k {unit}/s, "
        f"ratio {info['ratio_kernel_over_reference']:.0f}x"
    )
    return info


# ----------------------------------------------------------------------------- swap steps


def _swap_step_inputs(n: int, seed: int = 0) -> list[tuple[int, int, int, int, int]]:
    """Steps as they occur in pools: prices near each other, both directions, in and out."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        tick = rng.randint(-400_000, 400_000)
        current = v3.get_sqrt_ratio_at_tick(tick) + rng.getrandbits(rng.randint(0, 60))
        target = v3.get_sqrt_ratio_at_tick(tick + rng.choice([-1, 1]) * rng.randint(1, 3000))
        liquidity = rng.getrandbits(rng.randint(40, 110)) + 1
        magnitude = rng.getrandbits(rng.randint(1, 100)) + 1
        amount = magnitude if rng.random() < 0.5 else -magnitude
        fee = rng.choice([100, 500, 3000, 10000])
        rows.append((current, target, liquidity, amount, fee))
    return rows


def test_bench_compute_swap_step(benchmark) -> None:
    base = _swap_step_inputs(N_REF)
    rows = (base * (N // N_REF + 1))[:N]
    cur = nb.ints_to_limbs([r[0] for r in rows])
    tgt = nb.ints_to_limbs([r[1] for r in rows])
    liq = nb.ints_to_limbs([r[2] for r in rows])
    rem = nb.ints_to_limbs([r[3] for r in rows])
    fee = np.array([r[4] for r in rows], dtype=np.int64)
    outs = [np.empty((N, 4), np.uint64) for _ in range(4)]
    err = np.empty(N, np.int64)

    def kernel() -> int:
        return nb.compute_swap_step_1d(cur, tgt, liq, rem, fee, *outs, err)

    def reference() -> list:
        return [v3.compute_swap_step(*r) for r in base]

    kernel()
    expected = reference()
    assert not err.any()
    got = list(zip(*(nb.limbs_to_ints(o[:N_REF]) for o in outs), strict=True))
    assert got == expected, "compute_swap_step_1d differs from the reference"
    _record(benchmark, "compute_swap_step_1d", "steps", N, kernel, N_REF, reference)


# ----------------------------------------------------------------------------- replay


def _replay_pool() -> v3.Pool:
    pool = v3.Pool(3000, 60)
    pool.initialize(v3.get_sqrt_ratio_at_tick(200_000) + 12345)
    rng = random.Random(1)
    for i in range(40):
        lower = 200_000 // 60 * 60 - 60 * rng.randint(1, 400)
        upper = 200_000 // 60 * 60 + 60 * rng.randint(1, 400)
        pool.mint(i, lower, upper, rng.randint(10**15, 10**18))
    return pool


def _replay_swaps(n: int, seed: int = 2) -> tuple[list[bool], list[int], list[int]]:
    """Alternating swaps, exact in and exact out, generous limits.

    Sizes are log-uniform around what moves this pool by ~60 ticks (1e12 token0 or 6e20
    token1), from 1% to 30x that: most swaps stay between initialized ticks, some cross
    one or a few.
    """
    rng = random.Random(seed)
    z, amounts, limits = [], [], []
    for i in range(n):
        zero_for_one = i % 2 == 0
        exact_in = rng.random() < 0.5
        token0 = zero_for_one == exact_in  # the specified amount is in token0
        scale = 1e12 if token0 else 6e20
        magnitude = int(scale * 10 ** rng.uniform(-2.0, 1.5))
        amounts.append(magnitude if exact_in else -magnitude)
        z.append(zero_for_one)
        limits.append(v3.MIN_SQRT_RATIO + 1 if zero_for_one else v3.MAX_SQRT_RATIO - 1)
    return z, amounts, limits


def test_bench_swap_replay(benchmark) -> None:
    pool = _replay_pool()
    z, amounts, limits = _replay_swaps(N)
    z_arr = np.array(z, dtype=np.bool_)
    a_arr = nb.ints_to_limbs(amounts)
    l_arr = nb.ints_to_limbs(limits)

    # parity on the first N_REF swaps, and the reference's own rate on them
    ref_pool = pool.copy()
    ref_rows = []
    for k in range(N_REF):
        ref_rows.append(ref_pool.swap(z[k], amounts[k], limits[k]) + (ref_pool.sqrt_price_x96, ref_pool.tick))
    out = nb.replay_swaps(pool, z_arr[:N_REF], a_arr[:N_REF], l_arr[:N_REF])
    got = list(
        zip(
            nb.limbs_to_ints(out["amount0"], signed=True),
            nb.limbs_to_ints(out["amount1"], signed=True),
            nb.limbs_to_ints(out["sqrt_price_x96"]),
            out["tick"].tolist(),
            strict=True,
        )
    )
    assert got == ref_rows, "swap_replay differs from the reference pool"
    liquidity = nb.limbs_to_ints(out["liquidity"])
    crossing = sum(1 for k in range(1, N_REF) if liquidity[k] != liquidity[k - 1])
    moved = sum(1 for k in range(1, N_REF) if ref_rows[k][3] != ref_rows[k - 1][3])
    print(f"\nreplay: of {N_REF} swaps, {moved} change the tick and {crossing} cross an "
          f"initialized tick; {len(pool.initialized_ticks())} initialized ticks")  # fmt: skip

    tick_list = pool.initialized_ticks()
    infos = [pool.tick_info(t) for t in tick_list]
    ticks = np.asarray(tick_list, dtype=np.int64)
    net = nb.ints_to_limbs([i.liquidity_net for i in infos])
    o0 = nb.ints_to_limbs([i.fee_growth_outside0_x128 for i in infos])
    o1 = nb.ints_to_limbs([i.fee_growth_outside1_x128 for i in infos])
    state0 = nb.ints_to_limbs([pool.sqrt_price_x96, pool.liquidity, 0, 0, 0, 0])
    ints0 = np.array([pool.tick, pool.fee, pool.tick_spacing, 0], dtype=np.int64)
    outs = [np.empty((N, 4), np.uint64) for _ in range(7)]
    out_tick = np.empty(N, np.int64)
    out_err = np.empty(N, np.int64)

    def kernel() -> int:
        sw, si, p0, p1 = state0.copy(), ints0.copy(), o0.copy(), o1.copy()
        return nb.swap_replay(sw, si, ticks, net, p0, p1, z_arr, a_arr, l_arr,
                              outs[0], out_tick, outs[1], outs[2], outs[3], outs[4], outs[5],
                              out_err)  # fmt: skip

    def reference() -> None:
        p = pool.copy()
        for k in range(N_REF // 5):
            p.swap(z[k], amounts[k], limits[k])

    kernel()
    assert not out_err.any()
    _record(benchmark, "swap_replay", "swaps", N, kernel, N_REF // 5, reference)


# ----------------------------------------------------------------------------- tick conversions


def test_bench_sqrt_ratio_at_tick(benchmark) -> None:
    rng = np.random.default_rng(3)
    ticks = rng.integers(v3.MIN_TICK, v3.MAX_TICK + 1, N).astype(np.int64)
    out = np.empty((N, 4), np.uint64)
    err = np.empty(N, np.int64)
    ref_ticks = ticks[:N_REF].tolist()

    def kernel() -> int:
        return nb.sqrt_ratio_at_tick_1d(ticks, out, err)

    def reference() -> list[int]:
        return [v3.get_sqrt_ratio_at_tick(t) for t in ref_ticks]

    kernel()
    assert nb.limbs_to_ints(out[:N_REF]) == reference()
    _record(benchmark, "sqrt_ratio_at_tick_1d", "ticks", N, kernel, N_REF, reference)


def test_bench_tick_at_sqrt_ratio(benchmark) -> None:
    rng = random.Random(4)
    prices = [rng.randint(v3.MIN_SQRT_RATIO, v3.MAX_SQRT_RATIO - 1) if i % 2 else
              v3.get_sqrt_ratio_at_tick(rng.randint(-400_000, 400_000)) + rng.randint(-2, 2)
              for i in range(N_REF)]  # fmt: skip
    words = nb.ints_to_limbs((prices * (N // N_REF + 1))[:N])
    out = np.empty(N, np.int64)
    err = np.empty(N, np.int64)

    def kernel() -> int:
        return nb.tick_at_sqrt_ratio_1d(words, out, err)

    def reference() -> list[int]:
        return [v3.get_tick_at_sqrt_ratio(p) for p in prices]

    kernel()
    assert out[:N_REF].tolist() == reference()
    _record(benchmark, "tick_at_sqrt_ratio_1d", "prices", N, kernel, N_REF, reference)
