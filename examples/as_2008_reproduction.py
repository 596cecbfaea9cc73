"""Reproduce the simulations of Avellaneda & Stoikov, "High-frequency trading in a limit
order book": inventory strategy against the symmetric strategy.

Parameters: s0=100, T=1, sigma=2, dt=0.005, q0=0, A=140, k=1.5; fills with probability
A*exp(-k*delta)*dt per step and side; 1000 paths per row. Two tables are printed:

- the 2006 preprint's tables (gamma = 0.1, 0.01, 0.5), simulated with the preprint's
  fixed spread (2/gamma)ln(1+gamma/k);
- the published paper's tables (Quantitative Finance 8(3), 2008; gamma = 0.1, 0.01, 1),
  simulated with the closed-form spread gamma*sigma^2*(T-t) + (2/gamma)ln(1+gamma/k)
  (see asymlp_core.models.as_simulation for the two conventions).

Beside each of the paper's rows: ours (mean ± Monte Carlo standard error) and the z-score
z = (ours - paper) / sqrt(se_ours^2 + se_paper^2), where the paper's figure carries the
Monte Carlo error of its own 1000 paths and its rounding (half a unit of the last digit
printed, as a uniform error).

Run: .venv/bin/python examples/as_2008_reproduction.py [--paths 1000] [--seed 2008]
"""

from __future__ import annotations

import argparse
import math

from asymlp_core.models import (
    AS_2006_PREPRINT_TABLE,
    AS_2008_TABLE,
    simulate_as_2008,
    summarize_as_simulation,
)

PAPER_PATHS = 1000


def _paper_se(mc_se: float, decimals: int) -> float:
    return math.hypot(mc_se, 0.5 * 10.0**-decimals / math.sqrt(3.0))


def table(title, paper, convention, decimals, n_paths, seed) -> list[tuple[str, float]]:
    print(f"\n{title}")
    header = (
        f"{'gamma':>5} {'strategy':<9} {'':<5} {'spread':>6} {'profit':>15} "
        f"{'std(profit)':>14} {'final q':>14} {'std(final q)':>14}"
    )
    print(header)
    print("-" * len(header))
    zs_all = []
    for i, (gamma, strategy) in enumerate(paper):
        res = simulate_as_2008(gamma, symmetric=strategy == "symmetric", convention=convention,
                               n_paths=n_paths, seed=seed + i)
        s = summarize_as_simulation(res)
        p_spread, p_mean, p_std, p_q, p_qstd = paper[(gamma, strategy)]
        d = decimals
        zs = (
            (s.profit_mean - p_mean)
            / math.hypot(s.profit_mean_stderr, _paper_se(p_std / math.sqrt(PAPER_PATHS), d)),
            (s.profit_std - p_std)
            / math.hypot(s.profit_std_stderr,
                         _paper_se(p_std / math.sqrt(2 * (PAPER_PATHS - 1)), d)),
            (s.final_q_mean - p_q)
            / math.hypot(s.final_q_mean_stderr, _paper_se(p_qstd / math.sqrt(PAPER_PATHS), d)),
            (s.final_q_std - p_qstd)
            / math.hypot(s.final_q_std_stderr,
                         _paper_se(p_qstd / math.sqrt(2 * (PAPER_PATHS - 1)), d)),
        )
        label = f"gamma={gamma} {strategy}"
        zs_all += [(f"{label} {name}", z) for name, z in
                   zip(("profit", "std(profit)", "final q", "std(final q)"), zs, strict=True)]
        print(f"{gamma:>5} {strategy:<9} {'paper':<5} {p_spread:>6.2f} {p_mean:>15.{d}f} "
              f"{p_std:>14.{d}f} {p_q:>14.{max(d, 2)}f} {p_qstd:>14.{d}f}")
        print(f"{'':>5} {'':<9} {'ours':<5} {s.average_spread:>6.3f} "
              f"{s.profit_mean:>8.2f} ± {s.profit_mean_stderr:<4.2f} "
              f"{s.profit_std:>7.2f} ± {s.profit_std_stderr:<4.2f} "
              f"{s.final_q_mean:>7.3f} ± {s.final_q_mean_stderr:<4.2f} "
              f"{s.final_q_std:>7.2f} ± {s.final_q_std_stderr:<4.2f}")
        print(f"{'':>5} {'':<9} {'z':<5} {'':>6} {zs[0]:>15.1f} {zs[1]:>14.1f} "
              f"{zs[2]:>14.1f} {zs[3]:>14.1f}")
    return zs_all


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=2008)
    args = ap.parse_args()
    print(f"Avellaneda & Stoikov simulations, {args.paths} paths per row, seed {args.seed}")
    print("ours: mean ± standard error; z: (ours - paper) / combined Monte Carlo and rounding error")
    z_pre = table("2006 preprint, tables 1-3: fixed spread (2/gamma)ln(1+gamma/k), "
                  "fills against the mid after the step's move",
                  AS_2006_PREPRINT_TABLE, "preprint", 2, args.paths, args.seed)
    z_pub = table("Quantitative Finance 2008, tables 1-3: closed-form spread, symmetric at the "
                  "average spread, fills at the quotes set at t",
                  AS_2008_TABLE, "journal", 1, args.paths, args.seed + 100)
    for name, zs in (("preprint", z_pre), ("published", z_pub)):
        worst = sorted(zs, key=lambda x: -abs(x[1]))[:3]
        print(f"\nlargest |z| ({name}): " + ", ".join(f"{n}: {z:+.1f}" for n, z in worst))


if __name__ == "__main__":
    main()
