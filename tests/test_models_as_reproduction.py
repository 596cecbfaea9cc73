"""Avellaneda & Stoikov (2008) section 4: the paper's table within Monte Carlo error.

Seeded, 500 paths per row (the example runs 1000). A difference is judged against the
combined Monte Carlo error of our estimate and of the paper's own 1000-path figure:
z = (ours - paper) / sqrt(se_ours^2 + se_paper^2), |z| < 4.

The inventory strategy's mean profit for gamma = 0.5 (33.92 in the paper) is not
reproduced by either spread convention (about 21 with the reported spread 1.15, about 47
with the closed-form spread): that check is an expected failure, kept strict so that it
is noticed if a change ever makes it pass.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from asymlp_core.models import AS_2008_TABLE, simulate_as_2008, summarize_as_simulation

N_PATHS = 500
PAPER_PATHS = 1000
ROWS = sorted(AS_2008_TABLE)


def _summary(gamma: float, strategy: str):
    seed = 7_000 + int(gamma * 1000) + (strategy == "symmetric")
    res = simulate_as_2008(gamma, symmetric=strategy == "symmetric", n_paths=N_PATHS, seed=seed)
    return summarize_as_simulation(res)


def _z(ours: float, se: float, paper: float, se_paper: float) -> float:
    return (ours - paper) / math.hypot(se, se_paper)


@pytest.mark.parametrize(("gamma", "strategy"), ROWS)
def test_average_spread_equals_the_papers(gamma, strategy):
    s = _summary(gamma, strategy)
    assert s.average_spread == pytest.approx(AS_2008_TABLE[(gamma, strategy)][0], abs=0.006)


@pytest.mark.parametrize(("gamma", "strategy"), ROWS)
def test_dispersion_and_final_inventory_within_monte_carlo_error(gamma, strategy):
    s = _summary(gamma, strategy)
    _, _, p_std, p_q, p_qstd = AS_2008_TABLE[(gamma, strategy)]
    assert abs(_z(s.profit_std, s.profit_std_stderr, p_std,
                  p_std / math.sqrt(2 * (PAPER_PATHS - 1)))) < 4
    assert abs(_z(s.final_q_mean, s.final_q_mean_stderr, p_q,
                  p_qstd / math.sqrt(PAPER_PATHS))) < 4
    assert abs(_z(s.final_q_std, s.final_q_std_stderr, p_qstd,
                  p_qstd / math.sqrt(2 * (PAPER_PATHS - 1)))) < 4


@pytest.mark.parametrize(
    ("gamma", "strategy"),
    [
        pytest.param(
            g, st,
            marks=pytest.mark.xfail(
                strict=True, reason="paper's 33.92 not reproduced (about 21 here)"
            ),
        )
        if (g, st) == (0.5, "inventory")
        else (g, st)
        for g, st in ROWS
    ],
)
def test_mean_profit_within_monte_carlo_error(gamma, strategy):
    s = _summary(gamma, strategy)
    _, p_mean, p_std, _, _ = AS_2008_TABLE[(gamma, strategy)]
    assert abs(_z(s.profit_mean, s.profit_mean_stderr, p_mean, p_std / math.sqrt(PAPER_PATHS))) < 4


@pytest.mark.parametrize("gamma", [0.1, 0.01, 0.5])
def test_inventory_strategy_has_smaller_dispersion_than_symmetric(gamma):
    inv = _summary(gamma, "inventory")
    sym = _summary(gamma, "symmetric")
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
