"""Calibrate sigma, A, k from synthetic trades with known values, then quote with GLFT.

Trades: on each side Poisson arrivals of rate A (per second) whose distance from the mid
is Exp(k), so orders reaching beyond delta arrive at rate A*exp(-k*delta); the mid is an
arithmetic Brownian motion of volatility sigma (price units per sqrt(second)).

Run: .venv/bin/python examples/glft_calibrate_and_quote.py [--hours 2] [--seed 7]
"""

from __future__ import annotations

import argparse

import numpy as np

from asymlp_core.models import (
    fit_fill_intensity_from_trades,
    glft_coefficients,
    glft_half_spread,
    glft_quotes,
    glft_quotes_ticks,
    glft_skew,
    realized_volatility,
    simulate_poisson_trades,
)

TRUE_A = 8.0  # per second and side
TRUE_K = 4.0  # per price unit
TRUE_SIGMA = 0.05  # price units per sqrt(second)
TICK = 0.01


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    t, prices, mids = simulate_poisson_trades(
        TRUE_A, TRUE_K, TRUE_SIGMA, args.hours * 3600.0, mid0=2000.0, seed=args.seed
    )
    print(f"{t.size:,} synthetic trades over {args.hours:g} h "
          f"(true A={TRUE_A}/s, k={TRUE_K}/price unit, sigma={TRUE_SIGMA}/sqrt(s))\n")

    # Volatility from the mid at the trade times (price units per sqrt(second)).
    vol = realized_volatility(mids, times=t)
    # Fill intensity: windows of 0.1 s, depth grid in price units.
    fit = fit_fill_intensity_from_trades(
        t, prices, mids, window=0.1, depth_grid=np.linspace(0.0, 1.2, 13)
    )

    print("parameter        true    estimate   stderr (OLS)   stderr (counts)")
    print(f"sigma        {TRUE_SIGMA:>8.4f}  {vol.sigma:>10.5f}   {vol.stderr:>12.5f}")
    print(f"k            {TRUE_K:>8.4f}  {fit.k:>10.5f}   {fit.k_stderr:>12.5f}   "
          f"{fit.k_stderr_counts:>15.5f}")
    print(f"ln A         {np.log(TRUE_A):>8.4f}  {fit.ln_A:>10.5f}   {fit.ln_A_stderr:>12.5f}   "
          f"{fit.ln_A_stderr_counts:>15.5f}")
    print(f"A            {TRUE_A:>8.4f}  {fit.A:>10.5f}   {fit.A_stderr:>12.5f}   "
          f"{fit.A * fit.ln_A_stderr_counts:>15.5f}")
    print(f"R^2 = {fit.r_squared:.5f}, {fit.n_windows:,} windows, {fit.n_levels} depth levels, "
          f"{fit.n_trades:,} trades\n")

    gamma = xi = 0.05  # per price unit per unit of inventory
    delta = 1.0  # order size (units of the asset)
    q_max = 10.0
    c1, c2 = glft_coefficients(xi, gamma, delta, fit.A, fit.k)
    hs = glft_half_spread(c1, c2, vol.sigma, delta)
    skew = glft_skew(c2, vol.sigma)
    print(f"GLFT (xi = gamma = {gamma}, delta = {delta}, q_max = {q_max}): "
          f"c1 = {c1:.5f}, c2 = {c2:.5f}, half spread = {hs:.5f}, skew = {skew:.5f} per unit")

    mid = float(mids[-1])
    q = np.arange(-q_max, q_max + 1, 2.5)
    bid, ask = glft_quotes(mid, q, vol.sigma, xi, gamma, delta, fit.A, fit.k, q_max=q_max)
    bid_t, ask_t = glft_quotes_ticks(mid, q, vol.sigma, xi, gamma, delta, fit.A, fit.k,
                                     q_max=q_max, tick_size=TICK)
    bid_mu, ask_mu = glft_quotes(mid, q, vol.sigma, xi, gamma, delta, fit.A, fit.k,
                                 q_max=q_max, mu=0.001)
    print(f"\nquotes at mid {mid:.4f} (NaN: side not quoted at the inventory bound); "
          f"ticks of {TICK}; drift mu = 0.001/s")
    print(f"{'q':>6} {'bid':>11} {'ask':>11} {'bid tick':>9} {'ask tick':>9} "
          f"{'bid (mu)':>11} {'ask (mu)':>11}")
    for row in zip(q, bid, ask, bid_t, ask_t, bid_mu, ask_mu, strict=True):
        print(f"{row[0]:>6.1f} {row[1]:>11.4f} {row[2]:>11.4f} {row[3]:>9.0f} {row[4]:>9.0f} "
              f"{row[5]:>11.4f} {row[6]:>11.4f}")


if __name__ == "__main__":
    main()
