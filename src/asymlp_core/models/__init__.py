"""Quote models and their calibration.

- Avellaneda-Stoikov (2008): :func:`as_reservation_price`, :func:`as_optimal_spread`,
  :func:`as_quotes` (finite horizon), :func:`as_stationary_quotes` (infinite horizon
  with discount omega), and the paper's simulation :func:`simulate_as_2008`.
- GLFT (Gueant-Lehalle-Fernandez-Tapia 2013, Gueant 2017): :func:`glft_coefficients`,
  :func:`glft_half_spread`, :func:`glft_skew`, :func:`glft_drift_shift`,
  :func:`glft_quotes`, :func:`glft_quotes_ticks`.
- Calibration: :func:`realized_volatility`, :func:`ewma_volatility`,
  :func:`fit_fill_intensity` (lambda(delta) = A exp(-k delta) from trades or pool swaps),
  :func:`swap_depths`.

Kernels live in :mod:`asymlp_core.models.nb`; the functions here validate their input
(``ValueError`` naming the argument) and accept floats or NumPy arrays (broadcasting).
A side that is not quoted (inventory bound) is ``NaN``.
"""

from asymlp_core.models.as_simulation import (
    AS_2006_PREPRINT_TABLE,
    AS_2008_TABLE,
    simulate_as_2008,
    summarize_as_simulation,
)
from asymlp_core.models.avellaneda_stoikov import (
    as_optimal_spread,
    as_quotes,
    as_reservation_price,
    as_stationary_omega,
    as_stationary_quotes,
    as_stationary_reservation_prices,
)
from asymlp_core.models.calibration import (
    depths_from_sqrt_prices,
    ewma_volatility,
    fit_fill_intensity,
    fit_fill_intensity_from_trades,
    realized_volatility,
    simulate_poisson_trades,
    swap_depths,
    swap_sqrt_price_after,
    trade_depths,
    window_max_depths,
)
from asymlp_core.models.enums import (
    SIDE_ASK,
    SIDE_BID,
    ASSimulationResult,
    ASSimulationSummary,
    IntensityFit,
    VolatilityEstimate,
)
from asymlp_core.models.glft import (
    glft_coefficients,
    glft_drift_shift,
    glft_half_spread,
    glft_quotes,
    glft_quotes_ticks,
    glft_skew,
)

__all__ = [
    "AS_2006_PREPRINT_TABLE",
    "AS_2008_TABLE",
    "ASSimulationResult",
    "ASSimulationSummary",
    "IntensityFit",
    "SIDE_ASK",
    "SIDE_BID",
    "VolatilityEstimate",
    "as_optimal_spread",
    "as_quotes",
    "as_reservation_price",
    "as_stationary_omega",
    "as_stationary_quotes",
    "as_stationary_reservation_prices",
    "depths_from_sqrt_prices",
    "ewma_volatility",
    "fit_fill_intensity",
    "fit_fill_intensity_from_trades",
    "glft_coefficients",
    "glft_drift_shift",
    "glft_half_spread",
    "glft_quotes",
    "glft_quotes_ticks",
    "glft_skew",
    "realized_volatility",
    "simulate_as_2008",
    "simulate_poisson_trades",
    "summarize_as_simulation",
    "swap_depths",
    "swap_sqrt_price_after",
    "trade_depths",
    "window_max_depths",
]
