"""Result records of :mod:`asymlp_core.models` (NamedTuples: cheap, immutable, Numba-friendly)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

# Sides of our book a trade reaches (the ``sides`` arrays of the calibration functions).
SIDE_BID = -1
"""A seller-initiated trade (below the mid): it fills resting bids."""
SIDE_ASK = 1
"""A buyer-initiated trade (at or above the mid): it fills resting asks."""


class VolatilityEstimate(NamedTuple):
    """Realised volatility per square root of ``time_unit``.

    ``sigma`` is in price units (``log_returns=False``) or in relative units
    (``log_returns=True``); ``stderr`` is the asymptotic standard error
    ``sigma / sqrt(2 n)`` of Gaussian increments; ``n`` counts increments.
    """

    sigma: float
    stderr: float
    n: int
    time_unit: float


class IntensityFit(NamedTuple):
    """Fill intensity lambda(delta) = A exp(-k delta) fitted by OLS of ln(lambda) on delta.

    ``A`` is per unit of the ``times`` axis, ``k`` per unit of depth. ``ln_A_stderr`` and
    ``k_stderr`` are the OLS standard errors of the intercept and (minus) the slope;
    ``A_stderr = A * ln_A_stderr`` (delta method). The OLS errors treat the levels as
    independent, but the counts are cumulative (a window that reaches a deep level
    reaches every shallower one), so they are strongly correlated and the OLS errors
    are too small when the fit is tight. ``ln_A_stderr_counts``/``k_stderr_counts``
    propagate the binomial covariance of the counts (windows independent,
    ``Cov(p_i, p_j) = p_j (1 - p_i) / N`` for ``delta_i <= delta_j``) through the same
    OLS estimator (delta method); use the larger of the two as the uncertainty.
    ``depths``/``intensity``/``counts`` are the levels used in the regression.
    """

    A: float
    k: float
    ln_A: float
    ln_A_stderr: float
    k_stderr: float
    A_stderr: float
    ln_A_stderr_counts: float
    k_stderr_counts: float
    r_squared: float
    n_windows: int
    n_trades: int
    n_levels: int
    depths: np.ndarray
    intensity: np.ndarray
    counts: np.ndarray


class ASSimulationResult(NamedTuple):
    """Per-path outcomes of :func:`asymlp_core.models.simulate_as_2008`."""

    profit: np.ndarray
    final_inventory: np.ndarray
    mean_spread: np.ndarray


class ASSimulationSummary(NamedTuple):
    """Table row in the form of Avellaneda & Stoikov (2008), with Monte Carlo errors."""

    average_spread: float
    profit_mean: float
    profit_mean_stderr: float
    profit_std: float
    profit_std_stderr: float
    final_q_mean: float
    final_q_mean_stderr: float
    final_q_std: float
    final_q_std_stderr: float
    n_paths: int
