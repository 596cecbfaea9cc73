"""Monte Carlo of Avellaneda & Stoikov, section 4 (published) / 3.2 (preprint): inventory
strategy against the symmetric strategy.

The kernel is :func:`asymlp_core.models.nb.as_simulate_paths_nb`; this module validates,
allocates and summarises. Parameters: ``s0=100, T=1, sigma=2, dt=0.005, q0=0, A=140,
k=1.5``, 1000 paths; fills with probability ``A exp(-k delta) dt`` per step and side.

The paper exists in two versions whose simulations differ, and each version's tables are
reproduced by its own convention (``convention=``):

- ``"journal"``: M. Avellaneda, S. Stoikov, Quantitative Finance 8(3), 217-224 (2008),
  tables 1-3 for gamma = 0.1, 0.01, 1. The inventory strategy quotes the closed-form spread
  ``gamma sigma^2 (T-t) + (2/gamma) ln(1+gamma/k)`` around ``r = s - q gamma sigma^2 (T-t)``;
  the symmetric strategy quotes the inventory strategy's *average* spread around the mid;
  quotes are computed at ``t`` and filled at those prices during ``[t, t+dt]`` while the mid
  moves by ``+/- sigma sqrt(dt)`` (the fill is drawn against the mid at ``t``).
- ``"preprint"``: the 2006 preprint of the same title (April 24, 2006), tables 1-3 for
  gamma = 0.1, 0.01, 0.5. Both strategies quote the fixed spread ``(2/gamma) ln(1+gamma/k)``
  (its eqs. 3.10-3.12), around ``r`` or the mid; the fills are drawn against the mid after
  the step's move.

The figures below were read from the text of both versions.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from asymlp_core.models import nb
from asymlp_core.models._validate import check_scalar
from asymlp_core.models.enums import ASSimulationResult, ASSimulationSummary

__all__ = [
    "AS_2006_PREPRINT_TABLE",
    "AS_2008_TABLE",
    "simulate_as_2008",
    "summarize_as_simulation",
]

# (gamma, strategy): (average spread, profit mean, std(profit), final q mean, std(final q))
AS_2008_TABLE: dict[tuple[float, str], tuple[float, float, float, float, float]] = {
    (0.1, "inventory"): (1.49, 65.0, 6.6, 0.08, 2.9),
    (0.1, "symmetric"): (1.49, 68.4, 12.7, 0.26, 8.4),
    (0.01, "inventory"): (1.35, 68.6, 8.7, 0.12, 5.1),
    (0.01, "symmetric"): (1.35, 68.8, 12.8, 0.09, 8.7),
    (1.0, "inventory"): (3.02, 31.4, 5.0, 0.02, 1.7),
    (1.0, "symmetric"): (3.02, 44.0, 11.0, 0.00, 5.1),
}
"""Tables 1-3 of the published paper (Quantitative Finance, 2008), 1000 paths each."""

AS_2006_PREPRINT_TABLE: dict[tuple[float, str], tuple[float, float, float, float, float]] = {
    (0.1, "inventory"): (1.29, 62.94, 5.89, 0.10, 2.80),
    (0.1, "symmetric"): (1.29, 67.21, 13.43, -0.018, 8.66),
    (0.01, "inventory"): (1.33, 66.78, 8.76, -0.02, 4.70),
    (0.01, "symmetric"): (1.33, 67.36, 13.40, -0.31, 8.65),
    (0.5, "inventory"): (1.15, 33.92, 4.72, -0.02, 1.88),
    (0.5, "symmetric"): (1.15, 66.20, 14.53, 0.25, 9.06),
}
"""Tables 1-3 of the 2006 preprint, 1000 paths each."""

_CONVENTIONS = {
    # convention: (spread_inventory_term, fill_after_move, symmetric_average_spread)
    "journal": (True, False, True),
    "preprint": (False, True, False),
}


def simulate_as_2008(
    gamma: float,
    *,
    symmetric: bool = False,
    convention: Literal["journal", "preprint"] = "journal",
    n_paths: int = 1000,
    seed: int = 0,
    s0: float = 100.0,
    T: float = 1.0,
    sigma: float = 2.0,
    dt: float = 0.005,
    A: float = 140.0,
    k: float = 1.5,
) -> ASSimulationResult:
    """Simulate ``n_paths`` paths of the inventory (or symmetric) strategy.

    Defaults are the paper's parameters; ``convention`` selects the published or the
    preprint simulation (module docstring). Deterministic for a given ``seed``.
    """
    if convention not in _CONVENTIONS:
        raise ValueError(f"convention must be 'journal' or 'preprint', got {convention!r}")
    g = check_scalar("gamma", gamma, lower=0.0, strict=True)
    if int(n_paths) != n_paths or n_paths < 1:
        raise ValueError(f"n_paths must be a positive integer, got {n_paths!r}")
    T_ = check_scalar("T", T, lower=0.0, strict=True)
    dt_ = check_scalar("dt", dt, lower=0.0, strict=True)
    n_steps = int(round(T_ / dt_))
    if n_steps < 1 or not math.isclose(n_steps * dt_, T_, rel_tol=1e-9):
        raise ValueError(f"T must be a whole number of steps dt, got T={T_!r}, dt={dt_!r}")
    term, after_move, average = _CONVENTIONS[convention]
    profit = np.empty(int(n_paths))
    q = np.empty(int(n_paths))
    spread = np.empty(int(n_paths))
    nb.as_simulate_paths_nb(
        int(n_paths), n_steps,
        check_scalar("s0", s0, lower=0.0, strict=True),
        check_scalar("sigma", sigma, lower=0.0),
        dt_,
        check_scalar("A", A, lower=0.0, strict=True),
        check_scalar("k", k, lower=0.0, strict=True),
        g, bool(symmetric), term, after_move, average,
        int(seed), profit, q, spread,
    )
    return ASSimulationResult(profit=profit, final_inventory=q, mean_spread=spread)


def summarize_as_simulation(result: ASSimulationResult) -> ASSimulationSummary:
    """Row of the paper's table with Monte Carlo standard errors.

    Standard errors: ``std/sqrt(n)`` for means and ``std/sqrt(2(n-1))`` for standard
    deviations (normal approximation).
    """
    n = result.profit.shape[0]
    if n < 2:
        raise ValueError(f"result must hold at least 2 paths, got {n}")
    ps = float(np.std(result.profit, ddof=1))
    qs = float(np.std(result.final_inventory, ddof=1))
    return ASSimulationSummary(
        average_spread=float(np.mean(result.mean_spread)),
        profit_mean=float(np.mean(result.profit)),
        profit_mean_stderr=ps / math.sqrt(n),
        profit_std=ps,
        profit_std_stderr=ps / math.sqrt(2.0 * (n - 1)),
        final_q_mean=float(np.mean(result.final_inventory)),
        final_q_mean_stderr=qs / math.sqrt(n),
        final_q_std=qs,
        final_q_std_stderr=qs / math.sqrt(2.0 * (n - 1)),
        n_paths=n,
    )
