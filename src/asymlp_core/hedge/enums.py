"""Records of the hedge kernels (NamedTuples, usable inside Numba kernels)."""

from __future__ import annotations

from typing import NamedTuple


class EwmaBetaState(NamedTuple):
    """Running state of the EWMA beta: means, variance of x, covariance, observation count."""

    mean_x: float
    mean_y: float
    var_x: float
    cov_xy: float
    count: int


class LpGreeks(NamedTuple):
    """Value (token1), delta (token0) and gamma (token0 per token1/token0) of a position."""

    value: float
    delta: float
    gamma: float
