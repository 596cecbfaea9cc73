"""Parameters and state of the hedged asymmetric LP strategy (NamedTuples, Numba-friendly)."""

from __future__ import annotations

from typing import NamedTuple

from ..rebalance.enums import RebalanceParams

#: Quote models of the LP strategy.
QUOTE_AS = 0
QUOTE_GLFT = 1


class LPStrategyParams(NamedTuple):
    """What the LP strategy needs to decide (scale-free: depths and sigma are relative).

    Quote model (on the normalised price ``P = 1``):
      - AS: ``r = 1 - q gamma sigma^2 tau``, half spread
        ``(gamma sigma^2 tau + (2/gamma) ln(1 + gamma/k)) / 2`` on both sides of ``r``;
      - GLFT: ``c1, c2`` from ``(xi, gamma, delta=1, A, k)``; bid depth
        ``c1 + sigma c2 / 2 + sigma c2 q``, ask depth ``c1 + sigma c2 / 2 - sigma c2 q``.
      ``q`` is the token0 exposure (LP + hedge - target) as a fraction of the budget value;
      ``sigma`` is per square root of the time unit of ``tau``; ``k`` and ``A`` are per unit
      of relative depth.  The range spans ``range_scale`` times the model's distances
      (the model quotes one fill; a range is a ladder over the rebalance horizon).
    Range: inventory skew ``skew`` at ``|q| = q_max`` (see :mod:`asymlp_core.ranges`),
    widths in ticks, the pool's tick spacing; ``raw_per_human`` converts a human price
    (token1 per token0 with decimals applied) to the pool's raw price, for tick alignment.
    Hedge: ``hedge`` 1 to hedge LP token0 on a perpetual with a no-trade band (token0), to
    zero or to the band edge, venue minimum size and step.
    """

    model: int = QUOTE_AS
    gamma: float = 1.0
    k: float = 50.0
    A: float = 1.0
    xi: float = 0.1
    tau: float = 1440.0
    range_scale: float = 1.0
    skew: float = 0.5
    q_max: float = 0.5
    inventory_target: float = 0.5
    tick_spacing: int = 60
    min_width_ticks: int = 120
    max_width_ticks: int = 20000
    raw_per_human: float = 1.0
    hedge: int = 1
    hedge_band: float = 0.1
    hedge_to_band_edge: int = 0
    hedge_min_size: float = 0.001
    hedge_step: float = 0.001
    rebalance: RebalanceParams = RebalanceParams(0.05, 0.15, 0.5, 0.10, 0.05, 200.0, 100.0, 1e18, 60.0, 15)


class LPStrategyState(NamedTuple):
    """What the strategy remembers: its range, the rebalance state and whether it is open."""

    is_open: int
    tick_lower: int
    tick_upper: int
    last_rebalance_time: float
    reservation_ref_tick: float
    armed: int


class LPPrepared(NamedTuple):
    """Loop invariants of a parameter set (see ``lp_prepare``)."""

    c1: float  # AS: arrival part of the spread; GLFT: c1
    c2: float  # GLFT: c2
    lo_usable: int
    hi_usable: int
    wmin: int
    wmax: int
    raw_tick_offset: float  # ln(raw_per_human) / ln(1.0001)
