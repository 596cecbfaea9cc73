"""Typed Python API of the fee-tier choice (validation, tier table, named results)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

from asymlp_core.fee_tier import nb
from asymlp_core.ranges import checks
from asymlp_core.ranges.api import MAX_PRICE, MIN_PRICE

#: The three tiers considered: (fee in pips = 1e-6, tick spacing), as UniswapV3Factory enables.
FEE_TIERS: tuple[tuple[int, int], ...] = ((500, 10), (3000, 60), (10000, 200))


class FeeTierDecomposition(NamedTuple):
    """Expected PnL parts over the horizon (token1).  ``total = fees - lvr - gas - rebalance``."""

    fees: float
    lvr: float
    gas: float
    rebalance: float
    total: float


class FeeTierChoice(NamedTuple):
    """The best tier and every tier's decomposition, keyed by fee in pips."""

    fee_pips: int
    tick_spacing: int
    decompositions: dict[int, FeeTierDecomposition]


def _per_tier(name: str, values: Mapping[int, float] | Sequence[float], lo_zero: bool) -> list[float]:
    if isinstance(values, Mapping):
        missing = [fee for fee, _ in FEE_TIERS if fee not in values]
        if missing:
            raise ValueError(f"{name} lacks the tiers {missing}")
        seq = [values[fee] for fee, _ in FEE_TIERS]
    else:
        seq = list(values)
        if len(seq) != len(FEE_TIERS):
            raise ValueError(f"{name} must give {len(FEE_TIERS)} values, got {len(seq)}")
    check = checks.non_negative if lo_zero else checks.positive
    return [check(f"{name}[{fee}]", v) for (fee, _), v in zip(FEE_TIERS, seq, strict=True)]


def _scalars(budget1, price, sigma, horizon, review_period, width_ticks, gas_per_rebalance):
    return (
        checks.positive("budget1", budget1),
        checks.in_closed("price", price, MIN_PRICE, MAX_PRICE),
        checks.non_negative("sigma", sigma),
        checks.positive("horizon", horizon),
        checks.positive("review_period", review_period),
        checks.integer("width_ticks", width_ticks, 1, 1_774_544),
        checks.non_negative("gas_per_rebalance", gas_per_rebalance),
    )


def evaluate_fee_tier(
    *,
    fee_pips: int,
    tick_spacing: int,
    budget1: float,
    price: float,
    sigma: float,
    horizon: float,
    review_period: float,
    width_ticks: int,
    volume_rate: float,
    active_liquidity: float,
    gas_per_rebalance: float,
    rebalance_cost_fraction: float | None = None,
) -> FeeTierDecomposition:
    """Expected decomposition of one range in one tier (model in :mod:`asymlp_core.fee_tier.nb`).

    ``rebalance_cost_fraction`` defaults to half the position swapped at this tier's fee,
    ``0.5 * fee_pips / 1e6``.
    """
    fp = checks.integer("fee_pips", fee_pips, 1, 999_999)
    ts = checks.integer("tick_spacing", tick_spacing, 1, 16383)
    b, p, s, h, tau, w, gas = _scalars(
        budget1, price, sigma, horizon, review_period, width_ticks, gas_per_rebalance
    )
    vol = checks.non_negative("volume_rate", volume_rate)
    act = checks.non_negative("active_liquidity", active_liquidity)
    rc = (
        0.5 * fp / 1e6
        if rebalance_cost_fraction is None
        else checks.non_negative("rebalance_cost_fraction", rebalance_cost_fraction)
    )
    parts = nb.fee_tier_pnl(b, p, s, h, tau, w, ts, fp / 1e6, vol, act, gas, rc)
    return FeeTierDecomposition(*(float(v) for v in parts))


def choose_fee_tier(
    *,
    budget1: float,
    price: float,
    sigma: float,
    horizon: float,
    review_period: float,
    width_ticks: int,
    volume_rate: Mapping[int, float] | Sequence[float],
    active_liquidity: Mapping[int, float] | Sequence[float],
    gas_per_rebalance: float,
    rebalance_cost_fraction: Mapping[int, float] | Sequence[float] | None = None,
) -> FeeTierChoice:
    """Best of the 5/30/100 bps tiers for a range of ``width_ticks`` and its decompositions.

    Per-tier inputs are mappings keyed by fee pips (500, 3000, 10000) or sequences in that
    order: ``volume_rate`` (token1 per unit time) and ``active_liquidity`` (the pool's other
    in-range liquidity).
    """
    b, p, s, h, tau, w, gas = _scalars(
        budget1, price, sigma, horizon, review_period, width_ticks, gas_per_rebalance
    )
    vol = np.array(_per_tier("volume_rate", volume_rate, True))
    act = np.array(_per_tier("active_liquidity", active_liquidity, True))
    if rebalance_cost_fraction is None:
        rc = np.array([0.5 * fee / 1e6 for fee, _ in FEE_TIERS])
    else:
        rc = np.array(_per_tier("rebalance_cost_fraction", rebalance_cost_fraction, True))
    spacings = np.array([ts for _, ts in FEE_TIERS], dtype=np.int64)
    rates = np.array([fee / 1e6 for fee, _ in FEE_TIERS])
    out = np.empty((len(FEE_TIERS), 5), dtype=np.float64)
    k = nb.best_fee_tier(b, p, s, h, tau, w, spacings, rates, vol, act, gas, rc, out)
    decs = {
        fee: FeeTierDecomposition(*(float(v) for v in out[i]))
        for i, (fee, _) in enumerate(FEE_TIERS)
    }
    return FeeTierChoice(FEE_TIERS[k][0], FEE_TIERS[k][1], decs)
