"""Avellaneda & Stoikov simulations: the papers' tables within Monte Carlo error.

Seeded, 500 paths per row (the example runs 1000). A difference is judged against the
combined error of our estimate and of the paper's figure (Monte Carlo error of its 1000
paths and its rounding): z = (ours - paper) / sqrt(se_ours^2 + se_paper^2), |z| < 4.

Published version (Quantitative Finance 2008, gamma = 0.1, 0.01, 1): every figure.

2006 preprint (gamma = 0.1, 0.01, 0.5) with its fixed-spread convention:
- the inventory strategy's mean profit for gamma = 0.5 (33.92) is not reproduced (about 21
  here; no convention tried gives it): a strict expected failure, so that a change that
  makes it pass is noticed;
- two figures sit systematically off by more than Monte Carlo error over many seeds
  (mean z about -2.4 and +2.8 at 500 paths): gamma = 0.1 inventory mean profit (about
  1.2% low over 4000 paths) and gamma = 0.01 inventory std(final q) (about 12% high). They
  are checked against stated relative bounds (3% and 25%: the offset plus three Monte
  Carlo errors of 500 paths) instead of the z-bound.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from asymlp_core.models import (
    AS_2006_PREPRINT_TABLE,
    AS_2008_TABLE,
    simulate_as_2008,
    summarize_as_simulation,
)

N_PATHS = 500
PAPER_PATHS = 1000
TABLES = {"journal": (AS_2008_TABLE, 1), "preprint": (AS_2006_PREPRINT_TABLE, 2)}
ROWS = [(c, g, s) for c, (table, _) in TABLES.items() for g, s in sorted(table)]
STATS = ("profit_mean", "profit_std", "final_q_mean", "final_q_std")
KNOWN_OFFSETS = {
    ("preprint", 0.1, "inventory", "profit_mean"): 0.03,
    ("preprint", 0.01, "inventory", "final_q_std"): 0.25,
}
NOT_REPRODUCED = {("preprint", 0.5, "inventory", "profit_mean")}


def _summary(convention: str, gamma: float, strategy: str):
    seed = 7_000 + int(gamma * 1000) + 10 * (strategy == "symmetric")
    res = simulate_as_2008(gamma, symmetric=strategy == "symmetric", convention=convention,
                           n_paths=N_PATHS, seed=seed)
    return summarize_as_simulation(res)


def _paper(convention: str, gamma: float, strategy: str, stat: str) -> tuple[float, float]:
    table, decimals = TABLES[convention]
    _, p_mean, p_std, p_q, p_qstd = table[(gamma, strategy)]
    value, se = {
        "profit_mean": (p_mean, p_std / math.sqrt(PAPER_PATHS)),
        "profit_std": (p_std, p_std / math.sqrt(2 * (PAPER_PATHS - 1))),
        "final_q_mean": (p_q, p_qstd / math.sqrt(PAPER_PATHS)),
        "final_q_std": (p_qstd, p_qstd / math.sqrt(2 * (PAPER_PATHS - 1))),
    }[stat]
    rounding = 0.5 * 10.0**-decimals / math.sqrt(3.0)
    return value, math.hypot(se, rounding)


def _case(convention, gamma, strategy, stat):
    key = (convention, gamma, strategy, stat)
    if key in NOT_REPRODUCED:
        return pytest.param(*key, marks=pytest.mark.xfail(
            strict=True, reason="preprint's 33.92 not reproduced (about 21 here)"))
    return pytest.param(*key)


@pytest.mark.parametrize(("convention", "gamma", "strategy"), ROWS)
def test_average_spread_equals_the_papers(convention, gamma, strategy):
    table, _ = TABLES[convention]
    s = _summary(convention, gamma, strategy)
    # the published spreads average gamma*sigma^2*(T-t) over [0, T]; ours over the steps
    tol = 0.006 if convention == "preprint" else 0.015
    assert s.average_spread == pytest.approx(table[(gamma, strategy)][0], abs=tol)


@pytest.mark.parametrize(
    ("convention", "gamma", "strategy", "stat"),
    [_case(c, g, s, st) for c, g, s in ROWS for st in STATS],
)
def test_table_figure_within_monte_carlo_error(convention, gamma, strategy, stat):
    s = _summary(convention, gamma, strategy)
    ours = getattr(s, stat)
    se = getattr(s, stat + "_stderr")
    paper, se_paper = _paper(convention, gamma, strategy, stat)
    bound = KNOWN_OFFSETS.get((convention, gamma, strategy, stat))
    if bound is not None:
        assert ours == pytest.approx(paper, rel=bound)
    else:
        assert abs(ours - paper) / math.hypot(se, se_paper) < 4


@pytest.mark.parametrize(("convention", "gamma"), [(c, g) for c, g, s in ROWS if s == "inventory"])
def test_inventory_strategy_has_smaller_dispersion_than_symmetric(convention, gamma):
    inv = _summary(convention, gamma, "inventory")
    sym = _summary(convention, gamma, "symmetric")
    assert inv.profit_std < sym.profit_std
    assert inv.final_q_std < sym.final_q_std


def test_same_seed_same_paths_and_different_seed_different_paths():
    a = simulate_as_2008(0.1, n_paths=50, seed=3)
    b = simulate_as_2008(0.1, n_paths=50, seed=3)
    c = simulate_as_2008(0.1, n_paths=50, seed=4)
    np.testing.assert_array_equal(a.profit, b.profit)
    assert not np.array_equal(a.profit, c.profit)


def test_invalid_simulation_arguments_raise_naming_them():
    with pytest.raises(ValueError, match=r"^gamma must be"):
        simulate_as_2008(0.0)
    with pytest.raises(ValueError, match=r"^n_paths must be"):
        simulate_as_2008(0.1, n_paths=0)
    with pytest.raises(ValueError, match=r"^T must be a whole number of steps"):
        simulate_as_2008(0.1, T=1.0, dt=0.3)
    with pytest.raises(ValueError, match=r"^convention must be"):
        simulate_as_2008(0.1, convention="paper")  # type: ignore[arg-type]
