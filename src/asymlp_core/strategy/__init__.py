"""The hedged asymmetric LP strategy: one decision function for backtests and live trading.

- :func:`lp_decide` (kernel in :mod:`.nb`): quote model -> reservation price and depths ->
  edge-triggered rebalance -> asymmetric range.
- :func:`hedge_decide`: the perpetual hedge order for the LP's residual token0.
"""

from .enums import QUOTE_AS, QUOTE_GLFT, LPPrepared, LPStrategyParams, LPStrategyState
from .nb import REASON_OPEN, exposure_fraction, hedge_decide, lp_decide, lp_decide_prepared, lp_prepare, model_distances

__all__ = [
    "QUOTE_AS", "QUOTE_GLFT", "REASON_OPEN", "LPPrepared", "LPStrategyParams", "LPStrategyState", "exposure_fraction",
    "hedge_decide", "lp_decide", "lp_decide_prepared", "lp_prepare", "model_distances",
]
