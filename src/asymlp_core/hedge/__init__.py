"""Hedging an LP position on a perpetual: Greeks, residual, order sizing, hedge ratios.

Conventions: price = token1 per token0 in raw units as the pool defines it
(``price = 1.0001**tick``); token0 is the risky asset (WETH) in examples; deltas are in
token0, values in token1.  Formulas and the rounding rule are in :mod:`asymlp_core.hedge.nb`
(kernels, callable from other Numba kernels); the validated API is re-exported here.
"""

from asymlp_core.hedge.api import (
    cross_hedge_notional,
    ewma_beta,
    hedge_order_size,
    lp_greeks,
    residual_inventory,
    rolling_ols_beta,
)
from asymlp_core.hedge.enums import EwmaBetaState, LpGreeks

__all__ = [
    "EwmaBetaState",
    "LpGreeks",
    "cross_hedge_notional",
    "ewma_beta",
    "hedge_order_size",
    "lp_greeks",
    "residual_inventory",
    "rolling_ols_beta",
]
