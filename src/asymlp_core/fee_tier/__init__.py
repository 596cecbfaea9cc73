"""Fee-tier choice: expected fees minus loss-versus-rebalancing minus gas and rebalance costs.

Conventions: price = token1 per token0 in raw units as the pool defines it
(``price = 1.0001**tick``); token0 is the risky asset (WETH) in examples; every amount is in
raw token1.  The model, its approximations and the LVR derivation
(``l = sigma^2 L sqrt(P) / 4`` inside a range, ``sigma^2 V / 8`` for the full range) are in
:mod:`asymlp_core.fee_tier.nb`.
"""

from asymlp_core.fee_tier.api import (
    FEE_TIERS,
    FeeTierChoice,
    FeeTierDecomposition,
    choose_fee_tier,
    evaluate_fee_tier,
)
from asymlp_core.fee_tier.nb import (
    exit_probability,
    lvr_rate,
    time_in_range_fraction,
)

__all__ = [
    "FEE_TIERS",
    "FeeTierChoice",
    "FeeTierDecomposition",
    "choose_fee_tier",
    "evaluate_fee_tier",
    "exit_probability",
    "lvr_rate",
    "time_in_range_fraction",
]
