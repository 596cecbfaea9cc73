"""Edge-triggered rebalance decision with hysteresis and a minimum interval.

``rebalance_decide(state, inputs, params) -> (new_state, reason)`` is a pure state
transition over NamedTuples; the kernel form in :mod:`asymlp_core.rebalance.nb` is callable
from other Numba kernels.  Reason codes are the bit flags ``REASON_*`` (Python view:
:class:`RebalanceReason`).  Prices are fractional ticks, ``ln(price)/ln(1.0001)`` with price
= token1 per token0 in raw units; the inventory ratio is the value share of token0 (the risky
asset in examples).  The hysteresis rule is documented in :mod:`asymlp_core.rebalance.nb`.
"""

from asymlp_core.rebalance.api import (
    rebalance_decide,
    rebalance_decide_1d,
    rebalance_inputs,
    rebalance_params,
    rebalance_state,
    relative_tolerance_to_ticks,
)
from asymlp_core.rebalance.enums import (
    REASON_ALL,
    REASON_INVENTORY,
    REASON_NONE,
    REASON_PRICE_BAND,
    REASON_RESERVATION,
    REASON_STALE,
    RebalanceInputs,
    RebalanceParams,
    RebalanceReason,
    RebalanceState,
)

__all__ = [
    "REASON_ALL",
    "REASON_INVENTORY",
    "REASON_NONE",
    "REASON_PRICE_BAND",
    "REASON_RESERVATION",
    "REASON_STALE",
    "RebalanceInputs",
    "RebalanceParams",
    "RebalanceReason",
    "RebalanceState",
    "rebalance_decide",
    "rebalance_decide_1d",
    "rebalance_inputs",
    "rebalance_params",
    "rebalance_state",
    "relative_tolerance_to_ticks",
]
