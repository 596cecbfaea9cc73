"""LP + hedge backtester: accounting identities, the naive reference, the exact tier."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asymlp_core.backtest import LP_BAR_DTYPE, PNL_PARTS, LPBacktestConfig, pnl_decomposition, run_lp_backtest
from asymlp_core.rebalance.enums import RebalanceParams
from asymlp_core.strategy import QUOTE_GLFT, LPStrategyParams
from asymlp_core.synthetic import MINUTES_PER_YEAR, gbm_jump_regime
from asymlp_core.v3 import get_amounts_for_liquidity, get_sqrt_ratio_at_tick
from naive_lp import naive_lp_backtest

RAW = 1e-12  # WETH (18) / USDC (6): raw price = human price * 1e-12
POOL_L = 3.6e5
CFG = LPBacktestConfig(fee=0.003, budget=100_000.0, sigma0=0.0008, ewma_lambda=0.99, gas_cost=5.0,
                       swap_fee=0.0035, hedge_fee=0.0004, compound_fees=1)
ACTIVE = LPStrategyParams(raw_per_human=RAW, k=200.0, hedge_band=0.2,
                          rebalance=RebalanceParams(0.1, 0.2, 0.5, 0.1, 0.05, 30.0, 15.0, 720.0, 10.0, 15))
NO_REBALANCE = ACTIVE._replace(hedge=0, rebalance=ACTIVE.rebalance._replace(enabled=0))


def market(n: int, seed: int, sigma: float = 0.9):
    price, _ = gbm_jump_regime(n, 3000.0, 1.0 / MINUTES_PER_YEAR, sigma=sigma, seed=seed)
    rng = np.random.default_rng(seed)
    volume = rng.lognormal(math.log(8000.0), 1.0, n)
    return price, volume


def test_pnl_parts_sum_to_total():
    price, volume = market(20_000, 1)
    res = run_lp_backtest(price, volume, POOL_L, ACTIVE, CFG, funding=1e-6)
    b = res.bars
    total = b["equity"][-1] - CFG.budget
    dec = pnl_decomposition(b)
    assert dec["total"] == pytest.approx(total, rel=1e-12, abs=1e-6)
    # bar by bar too: equity increments equal the sum of that bar's parts
    step = np.diff(b["equity"])
    parts = sum(sign * b[name][1:] for name, sign in PNL_PARTS)
    np.testing.assert_allclose(step, parts, rtol=0, atol=1e-6)
    assert res.summary["rebalances"] > 5 and np.any(b["hedge_position"] != 0)
    turnover = np.abs(np.diff(b["hedge_position"], prepend=0.0)).sum()
    assert res.summary["hedge_turnover"] == pytest.approx(turnover, rel=1e-12)
    assert res.summary["hedge_trades"] == np.count_nonzero(np.diff(b["hedge_position"], prepend=0.0))
    # LVR is a loss: non-negative on every bar (V is concave in the price)
    assert b["lvr"].min() > -1e-6


@pytest.mark.parametrize("params", [ACTIVE, ACTIVE._replace(model=QUOTE_GLFT, k=200.0, A=50.0),
                                    ACTIVE._replace(hedge=0), NO_REBALANCE])
def test_kernel_matches_naive_python_reference(params):
    price, volume = market(5_000, 7)  # crosses a block of the kernel's market pass
    res = run_lp_backtest(price, volume, POOL_L, params, CFG, funding=2e-6)
    ref = naive_lp_backtest(price, volume, 2e-6, POOL_L, params, CFG)
    for name in LP_BAR_DTYPE.names:
        got = res.bars[name]
        want = np.array([r[name] for r in ref])
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-7, err_msg=name)


@pytest.mark.parametrize("n", [1, 4095, 4096, 2 * 4096 + 17])
def test_blocked_market_pass_equals_one_whole_pass_bit_for_bit(n):
    from asymlp_core.backtest import HEDGE_TRADE_DTYPE, LP_CORE_DTYPE, REBALANCE_DTYPE
    from asymlp_core.backtest.lp_nb import MARKET_BLOCK, N_STATS, market_pass_1d, run_lp_1d, run_lp_core

    assert MARKET_BLOCK == 4096
    with pytest.raises(ValueError, match="sigmas needs one value per bar"):
        z = np.zeros(0)
        run_lp_core(np.ones(3), np.ones(3), z + 1.0, z + 1.0, z, z, z, z, ACTIVE, CFG, np.zeros(3, LP_CORE_DTYPE),
                    np.zeros(3, REBALANCE_DTYPE), np.zeros(3, HEDGE_TRADE_DTYPE), np.zeros(N_STATS))
    price, volume = market(n, 11)
    fund, pl = np.array([2e-6]), np.array([POOL_L])
    runs = []
    for whole in (False, True):
        out, sigma = np.zeros(n, LP_CORE_DTYPE), np.zeros(n)
        rb, hd, stats = np.zeros(n, REBALANCE_DTYPE), np.zeros(n, HEDGE_TRADE_DTYPE), np.zeros(N_STATS)
        if whole:
            ticks, sq, isq = np.empty(n), np.empty(n), np.empty(n)
            market_pass_1d(price, CFG.sigma0, CFG.ewma_lambda, ticks, sq, isq, sigma)
            counts = run_lp_core(price, volume, fund, pl, ticks, sq, isq, sigma, ACTIVE, CFG, out, rb, hd, stats)
        else:
            counts = run_lp_1d(price, volume, fund, pl, ACTIVE, CFG, out, sigma, rb, hd, stats)
        runs.append((counts, out, sigma, rb, hd, stats))
    (c_a, *arrays_a), (c_b, *arrays_b) = runs
    assert c_a == c_b
    for a, b in zip(arrays_a, arrays_b, strict=True):
        assert a.tobytes() == b.tobytes()


def test_without_rebalance_or_hedge_the_value_is_the_exact_tier_position():
    price, volume = market(5_000, 3, sigma=0.5)
    res = run_lp_backtest(price, volume, POOL_L, NO_REBALANCE, CFG)
    b = res.bars
    assert np.count_nonzero(b["reason"]) == 1  # the opening only
    lower, upper = int(b["tick_lower"][0]), int(b["tick_upper"][0])
    # the position's liquidity in raw units, and the final price as a Q64.96 sqrt price
    liq_raw = int(b["liquidity"][0] * 1e12)  # L_raw = L_human * 10**((18 + 6) / 2)
    sqrt_p = int(math.sqrt(price[-1] * RAW) * 2**96)
    a0, a1 = get_amounts_for_liquidity(sqrt_p, get_sqrt_ratio_at_tick(lower), get_sqrt_ratio_at_tick(upper), liq_raw)
    exact_value = a0 / 1e18 * price[-1] + a1 / 1e6
    # float liquidity truncated to an int raw amount and the exact tier's floors: 1e-9 relative
    assert b["lp_value"][-1] == pytest.approx(exact_value, rel=1e-9)
    # with no costs after the opening, IL + HODL equals the value change
    v0 = b["lp_value"][0]
    assert b["il"].sum() + b["hodl"].sum() == pytest.approx(b["lp_value"][-1] - v0, rel=1e-12, abs=1e-6)


def test_fees_need_the_price_inside_the_range():
    # a flat price inside the range earns fees each bar; far outside earns nothing
    n = 100
    price = np.full(n, 3000.0)
    volume = np.full(n, 1e4)
    res = run_lp_backtest(price, volume, POOL_L, NO_REBALANCE, CFG)
    b = res.bars
    liq = b["liquidity"][0]
    assert b["fees"][1:] == pytest.approx(np.full(n - 1, 0.003 * 1e4 * liq / (liq + POOL_L)))
    jump = np.concatenate([price[:10], np.full(n - 10, 4500.0)])
    b2 = run_lp_backtest(jump, volume, POOL_L, NO_REBALANCE, CFG).bars
    assert np.all(b2["fees"][11:] == 0.0) and b2["amount0"][-1] == 0.0


def test_hedge_keeps_residual_within_band():
    price, volume = market(20_000, 5)
    res = run_lp_backtest(price, volume, POOL_L, ACTIVE, CFG)
    b = res.bars
    residual = b["amount0"] + b["hedge_position"]
    assert np.abs(residual).max() <= ACTIVE.hedge_band + ACTIVE.hedge_step + 1e-9


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), sigma=st.floats(0.1, 2.0), fund=st.floats(-1e-5, 1e-5),
       hedge=st.integers(0, 1), compound=st.integers(0, 1))
def test_decomposition_identity_holds_for_random_markets(seed, sigma, fund, hedge, compound):
    price, volume = market(2_000, seed, sigma)
    res = run_lp_backtest(price, volume, POOL_L, ACTIVE._replace(hedge=hedge), CFG._replace(compound_fees=compound),
                          funding=fund)
    b = res.bars
    assert pnl_decomposition(b)["total"] == pytest.approx(b["equity"][-1] - CFG.budget, rel=1e-11, abs=1e-6)
    assert np.all(b["tick_lower"] < b["tick_upper"])
    assert np.all(b["tick_lower"] % ACTIVE.tick_spacing == 0) and np.all(b["tick_upper"] % ACTIVE.tick_spacing == 0)


def test_bad_inputs_are_refused_with_the_field_named():
    price, volume = market(10, 1)
    bad = price.copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match=r"price\[3\]"):
        run_lp_backtest(bad, volume, POOL_L)
    with pytest.raises(ValueError, match="volume1 has 9 values"):
        run_lp_backtest(price, volume[:9], POOL_L)
    with pytest.raises(ValueError, match="LPStrategyParams.k"):
        run_lp_backtest(price, volume, POOL_L, ACTIVE._replace(k=-1.0))
    with pytest.raises(ValueError, match="LPBacktestConfig.ewma_lambda"):
        run_lp_backtest(price, volume, POOL_L, ACTIVE, CFG._replace(ewma_lambda=1.5))


def test_sweep_rows_equal_single_runs_and_fee_tier_pairs_work():
    from asymlp_core.backtest import sweep_lp_backtest

    price, volume = market(5_000, 11)
    grid = {"k": [100.0, 300.0], "band": [0.05, 0.12], "fee,tick_spacing": [(0.0005, 10), (0.003, 60), (0.01, 200)]}
    rows = sweep_lp_backtest(price, volume, POOL_L, grid, ACTIVE, CFG, funding=1e-6)
    assert rows.size == 12
    for row in rows[[0, 5, 11]]:
        params = ACTIVE._replace(k=row["k"], tick_spacing=int(row["tick_spacing"]),
                                 rebalance=ACTIVE.rebalance._replace(band=row["band"]))
        single = run_lp_backtest(price, volume, POOL_L, params, CFG._replace(fee=row["fee"]), funding=1e-6)
        assert row["final_equity"] == single.summary["final_equity"]
        assert row["rebalances"] == single.summary["rebalances"]
        dec = single.summary["decomposition"]
        assert row["fees"] == pytest.approx(dec["fees"]) and row["hedge_cost"] == pytest.approx(dec["hedge_cost"])


def test_sweep_rejects_unknown_fields_and_invalid_sets():
    from asymlp_core.backtest import sweep_lp_backtest

    price, volume = market(100, 1)
    with pytest.raises(ValueError, match="'sigma0' cannot be swept"):
        sweep_lp_backtest(price, volume, POOL_L, {"sigma0": [0.1]})
    with pytest.raises(ValueError, match="LPStrategyParams.k"):
        sweep_lp_backtest(price, volume, POOL_L, {"k": [10.0, -1.0]})


def test_lazy_bars_and_chunked_expansion_equal_the_full_record():
    from asymlp_core.backtest import LazyBars

    price, volume = market(10_000, 13)
    full = run_lp_backtest(price, volume, POOL_L, ACTIVE, CFG, funding=1e-6)
    lean = run_lp_backtest(price, volume, POOL_L, ACTIVE, CFG, funding=1e-6, full=False)
    lazy = LazyBars(lean, price, 1e-6, chunk=777)
    assert lazy.size == full.bars.size
    for name in full.bars.dtype.names:
        np.testing.assert_array_equal(lazy[name], full.bars[name], err_msg=name)
    blocks = [b for _, b in lazy.chunks(1_234)]
    np.testing.assert_array_equal(np.concatenate(blocks), full.bars)


@pytest.mark.parametrize("params", [ACTIVE, ACTIVE._replace(hedge=0), ACTIVE._replace(model=QUOTE_GLFT, A=50.0)])
def test_replaying_the_backtests_own_actions_gives_its_bars(params):
    from asymlp_core.backtest import replay_lp_path

    price, volume = market(6_000, 17)
    cfg = CFG._replace(compound_fees=0)
    res = run_lp_backtest(price, volume, POOL_L, params, cfg, funding=1e-6)
    assert res.rebalances.size > 3
    bars, acts = replay_lp_path(price, volume, POOL_L, fee=cfg.fee, raw_per_human=RAW, actions=res.rebalances,
                                hedge_trades=res.hedge_trades, funding=1e-6, start_value=cfg.budget)
    for name in ("tick_lower", "tick_upper", "reason", "liquidity", "amount0", "amount1", "lp_value", "fees", "hodl",
                 "il", "lvr", "gas", "swap_cost", "hedge_position", "hedge_pnl", "funding", "hedge_cost"):
        np.testing.assert_allclose(bars[name], res.bars[name], rtol=1e-12, atol=1e-9, err_msg=name)
    # the backtest's first open starts from the budget, the replay's from no position
    assert acts["value_before"][0] == 0.0 and res.rebalances["value_before"][0] == cfg.budget
    np.testing.assert_allclose(acts["value_before"][1:], res.rebalances["value_before"][1:], rtol=1e-12)
    # without compounding, cash never enters the position: equity is the budget plus the parts
    np.testing.assert_allclose(bars["equity"], res.bars["equity"], rtol=1e-12)
    assert pnl_decomposition(bars)["total"] == pytest.approx(pnl_decomposition(res.bars)["total"], rel=1e-12)


def test_replay_hedge_away_from_the_bar_price_and_a_close_are_accounted():
    from asymlp_core.backtest import HEDGE_TRADE_DTYPE, REBALANCE_DTYPE, replay_lp_path

    price = np.array([3000.0, 3010.0, 2990.0, 3005.0, 3020.0])
    acts = np.zeros(2, REBALANCE_DTYPE)
    lo = int(math.log(2900.0 * RAW) / math.log(1.0001)) // 60 * 60
    hi = int(math.log(3100.0 * RAW) / math.log(1.0001)) // 60 * 60
    acts[0] = (0, 16, lo, hi, 1000.0, 0.0, 0.0, 2.0, 1.5)
    acts[1] = (3, 1, lo, hi, 0.0, 0.0, 0.0, 2.5, 0.0)  # close at bar 3
    hedges = np.zeros(1, HEDGE_TRADE_DTYPE)
    hedges[0] = (1, -0.5, 3012.0, 0.6)  # sold 2 above the bar price
    bars, out_acts = replay_lp_path(price, 1e5, 1e6, fee=0.003, raw_per_human=RAW, actions=acts,
                                    hedge_trades=hedges, start_value=0.0)
    assert bars["hedge_pnl"][1] == pytest.approx(-0.5 * (3010.0 - 3012.0))
    assert bars["hedge_pnl"][2] == pytest.approx(-0.5 * (2990.0 - 3010.0))
    assert bars["lp_value"][4] == 0.0 and bars["fees"][4] == 0.0 and bars["fees"][1] > 0.0
    value_at_close = bars["lp_value"][2] + bars["hodl"][3] + bars["il"][3]  # marked at bar 3, then closed
    assert out_acts["value_before"][1] == pytest.approx(value_at_close, rel=1e-12)
    assert bars["lp_value"][3] == 0.0 and bars["amount0"][3] == 0.0
    dec = pnl_decomposition(bars)
    assert dec["gas"] == pytest.approx(-4.5) and dec["swap_cost"] == pytest.approx(-1.5)
    assert dec["total"] == pytest.approx(bars["equity"][-1], rel=1e-12)
    with pytest.raises(ValueError, match=r"actions\[0\].bar = 9: outside the 5 bars"):
        bad = acts.copy()
        bad["bar"][0] = 9
        replay_lp_path(price, 1.0, 1.0, fee=0.003, raw_per_human=RAW, actions=bad)
    with pytest.raises(ValueError, match=r"actions\[0\]: ticks must satisfy"):
        bad = acts.copy()
        bad["tick_upper"][0] = 10**7
        replay_lp_path(price, 1.0, 1.0, fee=0.003, raw_per_human=RAW, actions=bad)
    with pytest.raises(ValueError, match=r"hedge_trades\[0\].price = 0.0: must be positive"):
        bad_h = hedges.copy()
        bad_h["price"][0] = 0.0
        replay_lp_path(price, 1.0, 1.0, fee=0.003, raw_per_human=RAW, hedge_trades=bad_h)
    with pytest.raises(ValueError, match=r"price\[2\] = nan"):
        replay_lp_path([1.0, 2.0, float("nan")], 1.0, 1.0, fee=0.003, raw_per_human=RAW)
