"""Backtest the hedged asymmetric LP strategy on synthetic minute bars, then sweep a grid.

Run: .venv/bin/python examples/lp_backtest_and_sweep.py [days]
"""

from __future__ import annotations

import sys

import numpy as np

from asymlp_core.backtest import LPBacktestConfig, run_lp_backtest, sweep_lp_backtest
from asymlp_core.rebalance import rebalance_params
from asymlp_core.strategy import QUOTE_AS, QUOTE_GLFT, LPStrategyParams
from asymlp_core.synthetic import DEFAULT_POOL_LIQUIDITY, default_market


def main(days: int = 30) -> None:
    m = default_market(n_bars=days * 1440, seed=7)
    # WETH (18 decimals) / USDC (6): a raw price is the human price times 1e-12
    rb = rebalance_params(band=0.1, band_rearm=0.2, inventory_threshold=0.4, inventory_rearm=0.3,
                          reservation_tolerance_ticks=450.0, reservation_rearm_ticks=225.0,
                          max_age=10_080.0, min_interval=60.0)
    base = LPStrategyParams(raw_per_human=1e-12, k=20.0, hedge_band=25.0, hedge_step=0.01, hedge_min_size=0.01,
                            rebalance=rb)
    cfg = LPBacktestConfig(budget=1_000_000.0)
    funding = 0.0001 / 480  # 1 bp per 8 h, per minute bar
    for name, params in (("AS", base._replace(model=QUOTE_AS)), ("GLFT", base._replace(model=QUOTE_GLFT, A=50.0))):
        res = run_lp_backtest(m.price, m.volume1, DEFAULT_POOL_LIQUIDITY, params, cfg, funding=funding)
        s = res.summary
        print(f"{name}: {days} days, PnL {s['total_pnl']:,.0f} ({s['return']:+.2%}), rebalances {s['rebalances']}, "
              f"max drawdown {s['max_drawdown_frac']:.2%}")
        for part, value in s["decomposition"].items():
            print(f"    {part:<10} {value:>14,.2f}")
    grid = {"k": [10.0, 20.0, 40.0], "reservation_tolerance_ticks": [300.0, 450.0, 600.0],
            "fee,tick_spacing": [(0.0005, 10), (0.003, 60), (0.01, 200)]}
    rows = sweep_lp_backtest(m.price, m.volume1, DEFAULT_POOL_LIQUIDITY, grid, base, cfg, funding=funding)
    order = np.argsort(-rows["sharpe"])
    print(f"\nsweep: {rows.size} parameter sets, best five by Sharpe")
    print(f"{'k':>6} {'tolerance':>9} {'fee':>7} {'sharpe':>8} {'return':>9} {'rebalances':>10}")
    for r in rows[order[:5]]:
        print(f"{r['k']:>6.0f} {r['reservation_tolerance_ticks']:>9.0f} {r['fee']:>7.4f} {r['sharpe']:>8.2f} "
              f"{r['return']:>9.2%} {r['rebalances']:>10.0f}")
    print("(the volume is the same in every tier here, which favours the highest fee: `asymlp sweep` gives each\n"
          " tier its own volume and liquidity with [pool.tiers.<fee>], see config/backtest.toml)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
