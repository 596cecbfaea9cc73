"""Backtester benchmarks: each measures an in-run reference and records the ratio.

- LP year: the full-strategy kernel on one year of one-minute bars vs a bare Numba loop over
  the same arrays (fees and IL of a daily re-centred range) and vs the pure-Python reference
  (``tests/naive_lp.py`` with the strategy run as plain Python, extrapolated from 3,000 bars),
  with the bundled ``config/backtest.toml`` strategy and with the library's defaults (whose
  0.1-token0 hedge band trades on almost every bar);
- the end-to-end API call (validation, kernel, full per-bar rows, summary);
- a 1,000-set parameter sweep over the year on the local cores;
- the market-making backtester's events per second with queue and latency models on, vs a
  bare loop that reads the same events;
- exact replay swaps per second (price-following mode) vs the Python pool state machine.
"""

from __future__ import annotations

import math
import pathlib
import sys
import time

import numpy as np
import pytest
from numba import njit

from asymlp_core.backtest import (
    HEDGE_TRADE_DTYPE,
    LP_CORE_DTYPE,
    REBALANCE_DTYPE,
    LPBacktestConfig,
    MMConfig,
    run_lp_backtest,
    run_mm_backtest,
    sweep_lp_backtest,
)
from asymlp_core.backtest.lp import check_backtest_config, check_strategy_params
from asymlp_core.backtest.lp_nb import N_STATS, STAT_HEDGE_TRADES, STAT_REBALANCES, run_lp_1d
from asymlp_core.strategy import LPStrategyParams
from asymlp_core.synthetic import default_market, gbm_jump_regime, mm_events

sys.path.insert(0, str(pathlib.Path(__file__).parent))
sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / "tests"))
from lp_reference import bare_daily_recentred_range_1d  # noqa: E402

POOL_L = 4e7 / (2 * math.sqrt(3000.0))
FUNDING = 0.0001 / 480


_PURE_PYTHON = """
import sys, time, math
sys.path.insert(0, {bench!r})
sys.path.insert(0, {tests!r})
from asymlp_core.synthetic import default_market
from bench_backtest import strategy_inputs
from naive_lp import naive_lp_backtest
m = default_market(3000)
p, c, pool, funding = strategy_inputs({which!r})
t = time.perf_counter()
naive_lp_backtest(m.price, m.volume1, funding, pool, p, c)
print((time.perf_counter() - t) / 3000)
"""


def strategy_inputs(which: str):
    """(params, config, pool liquidity, funding per bar) of the benchmarked strategy: the bundled
    ``config/backtest.toml`` (what ``asymlp backtest`` runs) or the library's defaults."""
    if which == "bundled":
        from asymlp_runtime.research.config import load_backtest_config, to_core

        core = to_core(load_backtest_config(pathlib.Path(__file__).parents[1] / "config" / "backtest.toml"))
        return core.params, core.config, core.pool_liquidity, core.funding_per_bar
    params = check_strategy_params(LPStrategyParams(raw_per_human=1e-12))
    return params, check_backtest_config(LPBacktestConfig()), POOL_L, FUNDING


def _pure_python_seconds_per_bar(which: str) -> float:
    """The reference backtester with every function, the strategy's included, run as plain
    Python (``NUMBA_DISABLE_JIT=1`` in a child process), per bar."""
    import os
    import subprocess

    here = pathlib.Path(__file__).parent
    code = _PURE_PYTHON.format(bench=str(here), tests=str(here.parent / "tests"), which=which)
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def best_of(fn, repeat: int = 7) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


@pytest.fixture(scope="module")
def year():
    return default_market()


def _params():
    return check_strategy_params(LPStrategyParams(raw_per_human=1e-12)), check_backtest_config(LPBacktestConfig())


@pytest.mark.parametrize("which", ["bundled", "library_defaults"])
def test_lp_year_full_strategy_vs_bare_loop_and_python(benchmark, year, which):
    params, cfg, pool_l, funding = strategy_inputs(which)
    n = year.price.size
    out, sigma = np.empty(n, LP_CORE_DTYPE), np.empty(n)
    rb, hd, stats = np.empty(n // 4, REBALANCE_DTYPE), np.empty(n, HEDGE_TRADE_DTYPE), np.empty(N_STATS)
    fund, pl = np.array([funding]), np.array([pool_l])

    def kernel():
        return run_lp_1d(year.price, year.volume1, fund, pl, params, cfg, out, sigma, rb, hd, stats)

    ref_out = np.empty((n, 3))
    t_bare = best_of(lambda: bare_daily_recentred_range_1d(year.price, year.volume1, POOL_L, 0.003, 1e5, 0.03,
                                                             1440, ref_out))
    t_python = _pure_python_seconds_per_bar(which) * n
    t_api = best_of(lambda: run_lp_backtest(year.price, year.volume1, pool_l, params, cfg, funding=funding), 3)
    benchmark.pedantic(kernel, rounds=9, warmup_rounds=1)
    t_kernel = benchmark.stats.stats.min
    info = {
        "strategy": which,
        "bars": n,
        "rebalances": int(stats[STAT_REBALANCES]),
        "hedge_trades": int(stats[STAT_HEDGE_TRADES]),
        "kernel_ms": t_kernel * 1e3,
        "bare_loop_ms": t_bare * 1e3,
        "ratio_vs_bare_loop": t_kernel / t_bare,
        "python_reference_s_extrapolated": t_python,
        "speedup_vs_python": t_python / t_kernel,
        "api_end_to_end_ms": t_api * 1e3,
    }
    benchmark.extra_info.update(info)
    print("\nLP year:", {k: round(v, 3) if isinstance(v, float) else v for k, v in info.items()})


def test_lp_sweep_1000_sets_over_a_year(benchmark, year):
    params, cfg = _params()
    grid = {"k": list(np.linspace(10.0, 400.0, 50)), "band": list(np.linspace(0.02, 0.2, 20))}
    single = best_of(lambda: run_lp_backtest(year.price, year.volume1, POOL_L, params, cfg, funding=FUNDING,
                                             full=False), 3)
    rows = benchmark.pedantic(lambda: sweep_lp_backtest(year.price, year.volume1, POOL_L, grid, params, cfg,
                                                        funding=FUNDING), rounds=1, warmup_rounds=0)
    assert rows.size == 1000
    t = benchmark.stats.stats.min
    info = {"sets": 1000, "sweep_s": t, "single_run_ms": single * 1e3, "sets_per_s": 1000 / t,
            "parallel_speedup_vs_serial_runs": 1000 * single / t}
    benchmark.extra_info.update(info)
    print("\nLP sweep:", {k: round(v, 3) for k, v in info.items()})


@njit(cache=True)
def _bare_event_loop(events):
    s = 0.0
    for i in range(events.shape[0]):
        e = events[i]
        s += e.px * e.qty + e.bid_px
    return s


def test_mm_backtester_events_per_second(benchmark):
    mid, _ = gbm_jump_regime(200_000, 100.0, 0.1, sigma=0.002, seed=1)  # 20,000 s of 100 ms book updates
    events = mm_events(mid, rate_a=50.0, k=15.0, tick=0.01, half_spread=0.005, seed=2)
    cfg = MMConfig(gamma=0.1, sigma=0.2, k=15.0, A=50.0, tau=1.0, order_qty=1.0, q_max=5, tick_size=0.01,
                   requote_interval_ns=100_000_000, entry_latency_ns=2_000_000, response_latency_ns=2_000_000)
    t_bare = best_of(lambda: _bare_event_loop(events))
    benchmark.pedantic(lambda: run_mm_backtest(events, cfg), rounds=5, warmup_rounds=1)
    t = benchmark.stats.stats.min
    info = {"events": int(events.size), "events_per_s": events.size / t, "bare_read_events_per_s": events.size / t_bare,
            "ratio_vs_bare_read": t / t_bare}
    benchmark.extra_info.update(info)
    print("\nMM backtester:", {k: round(v, 3) for k, v in info.items()})


def test_exact_replay_swaps_per_second(benchmark):
    import random

    from asymlp_core.backtest.replay import exact_replay, swaps_from_events
    from asymlp_core.v3 import MAX_SQRT_RATIO, MIN_SQRT_RATIO, Pool, get_sqrt_ratio_at_tick

    rng = random.Random(7)
    pool = Pool(3000, 60)
    pool.initialize(get_sqrt_ratio_at_tick(-196200))
    for i in range(40):  # background liquidity over many words
        lo = -196200 - 60 * rng.randint(1, 2000)
        pool.mint(f"lp{i}", lo, lo + 60 * rng.randint(2, 4000), rng.randint(10**15, 10**18))
    hist = pool.copy()
    a0, a1, prices = [], [], []
    for _ in range(20_000):
        z = rng.random() < 0.5
        amount = rng.randint(10**15, 2 * 10**18) if z else rng.randint(10**6, 5 * 10**9)
        d0, d1 = hist.swap(z, amount, MIN_SQRT_RATIO + 1 if z else MAX_SQRT_RATIO - 1)
        a0.append(d0)
        a1.append(d1)
        prices.append(hist.sqrt_price_x96)
    n_python = 2_000
    ref = pool.copy()
    t0 = time.perf_counter()
    for z, amount in zip(a0[:n_python], a1[:n_python], strict=True):
        zfo = z > 0
        ref.swap(zfo, z if zfo else amount, MIN_SQRT_RATIO + 1 if zfo else MAX_SQRT_RATIO - 1)
    t_python = (time.perf_counter() - t0) / n_python
    swaps = swaps_from_events(a0, a1, prices, pool.sqrt_price_x96, "price")
    lo = pool.tick // 60 * 60
    benchmark.pedantic(lambda: exact_replay(pool, lo - 1200, lo + 1200, 10**17, swaps), rounds=5, warmup_rounds=1)
    t = benchmark.stats.stats.min / len(prices)
    info = {"swaps": len(prices), "swaps_per_s": 1 / t, "python_pool_swaps_per_s": 1 / t_python,
            "speedup_vs_python_pool": t_python / t}
    benchmark.extra_info.update(info)
    print("\nExact replay:", {k: round(v, 3) for k, v in info.items()})
