"""The LP strategy's decision as Numba kernels: one function shared by the backtester and the
live ``lp_manager`` (live/backtest parity).

Contract: ``@njit(cache=True)``; NamedTuples and scalars in, a NamedTuple and scalars out; no
allocation.  ``lp_decide(state, time, price, sigma, lp_token0, lp_token1, hedge_position,
params) -> (state, reason, reservation_price)``: when ``reason != 0`` (or the position is not
open) the caller closes the position and opens ``[state.tick_lower, state.tick_upper]``.
``hedge_decide`` sizes the hedge order for the residual.
"""

from __future__ import annotations

import math

from numba import njit

from ..hedge.nb import hedge_order_size
from ..models.nb import glft_c1_nb, glft_c2_nb
from ..ranges.nb import (
    LN_TICK_BASE,
    aligned_width_limits,
    asymmetric_range_ticks_prepared,
    usable_tick_bounds,
)
from ..rebalance.enums import RebalanceInputs, RebalanceState
from ..rebalance.nb import rebalance_decide
from .enums import QUOTE_AS, LPPrepared, LPStrategyState

_INV_LN = 1.0 / LN_TICK_BASE
#: Reason code when the strategy opens its first position.
REASON_OPEN = 16


@njit(cache=True, inline="always")
def lp_prepare(params):
    """Constants of a parameter set, computed once per run (the decision's loop invariants)."""
    g = params.gamma
    if params.model == QUOTE_AS:
        c1 = 2.0 / g * math.log1p(g / params.k)  # AS arrival part of the total spread
        c2 = 0.0
    else:
        c1 = glft_c1_nb(params.xi, 1.0, params.k)
        c2 = glft_c2_nb(params.xi, g, 1.0, params.A, params.k)
    sp = params.tick_spacing
    lo_u, hi_u = usable_tick_bounds(sp)
    wmin, wmax = aligned_width_limits(sp, params.min_width_ticks, params.max_width_ticks)
    raw_tick_offset = math.log(params.raw_per_human) * _INV_LN
    return LPPrepared(c1, c2, lo_u, hi_u, wmin, wmax, raw_tick_offset)


@njit(cache=True, inline="always")
def model_distances(q, sigma, params, prep):
    """(reservation offset, bid depth, ask depth), all relative to the mid (mid = 1).

    ``q`` is the exposure as a fraction of the budget value; depths are >= 0 and already
    multiplied by ``params.range_scale``.
    """
    if params.model == QUOTE_AS:
        g = params.gamma
        var_tau = sigma * sigma * params.tau
        r_off = -q * g * var_tau
        half = 0.5 * (g * var_tau + prep.c1)
        d_b = half
        d_a = half
    else:
        half = prep.c1 + 0.5 * sigma * prep.c2
        skew = sigma * prep.c2 * q
        r_off = 0.0
        d_b = half + skew
        d_a = half - skew
    s = params.range_scale
    return r_off, max(d_b, 0.0) * s, max(d_a, 0.0) * s


@njit(cache=True, inline="always")
def exposure_fraction(price, lp_token0, lp_token1, hedge_position, params):
    """Token0 exposure beyond the target, as a fraction of the LP value (the models' ``q``).

    Hedged: the target is no exposure; unhedged: ``inventory_target`` of the value in token0.
    """
    value = lp_token0 * price + lp_token1
    if value <= 0.0:
        return 0.0
    if params.hedge != 0:
        return (lp_token0 + hedge_position) * price / value
    return lp_token0 * price / value - params.inventory_target


@njit(cache=True, inline="always")
def lp_decide(state, time, price, sigma, lp_token0, lp_token1, hedge_position, params):
    """One decision of the LP strategy at a new price.

    Returns ``(new_state, reason, reservation_price)``; ``reason`` is 0 (hold), the OR of the
    rebalance triggers that fired, or ``REASON_OPEN`` when there was no position.  On a
    non-zero reason the new state's ticks are the range to open now.
    """
    prep = lp_prepare(params)
    price_tick = math.log(price) * _INV_LN + prep.raw_tick_offset
    return lp_decide_prepared(
        state, time, price, price_tick, sigma, lp_token0, lp_token1, hedge_position, params, prep
    )


@njit(cache=True, inline="always")
def lp_decide_prepared(
    state, time, price, price_tick, sigma, lp_token0, lp_token1, hedge_position, params, prep
):
    """:func:`lp_decide` with the loop invariants (``lp_prepare``) and the raw fractional
    price tick (``ln(price * raw_per_human) / ln(1.0001)``) supplied by the caller."""
    value = lp_token0 * price + lp_token1
    inv_value = 1.0 / value if value > 0.0 else 0.0
    if params.hedge != 0:
        q = (lp_token0 + hedge_position) * price * inv_value
    else:
        q = lp_token0 * price * inv_value - params.inventory_target
    # reservation offset of the model (AS: -q gamma sigma^2 tau; GLFT quotes around the mid)
    if params.model == QUOTE_AS:
        r_off = -q * params.gamma * sigma * sigma * params.tau
    else:
        r_off = 0.0
    # ln(1 + r_off) to third order: |r_off| < 1e-2 in any sane setting, error < r_off^4 / 4
    r_tick = price_tick + r_off * (1.0 - r_off * (0.5 - r_off / 3.0)) * _INV_LN
    reason = 0
    rb = RebalanceState(state.last_rebalance_time, state.reservation_ref_tick, state.armed)
    if state.is_open == 0:
        reason = REASON_OPEN
        rb = RebalanceState(time, r_tick, params.rebalance.enabled)
    else:
        ratio = lp_token0 * price * inv_value if value > 0.0 else 0.5
        inputs = RebalanceInputs(time, price_tick, state.tick_lower, state.tick_upper, ratio, r_tick)
        rb, reason = rebalance_decide(rb, inputs, params.rebalance)
    lower = state.tick_lower
    upper = state.tick_upper
    r = price * (1.0 + r_off)
    if reason != 0:
        # the quote's depths are needed only to build a new range
        r_off, d_b, d_a = model_distances(q, sigma, params, prep)
        sp = params.tick_spacing
        r_raw = r * params.raw_per_human
        lower, upper = asymmetric_range_ticks_prepared(
            r_raw, d_b * r_raw, d_a * r_raw, q, 1.0 / params.q_max, params.skew, sp, 1.0 / sp,
            prep.wmin, prep.wmax, prep.lo_usable, prep.hi_usable,
        )
    new_state = LPStrategyState(1, lower, upper, rb.last_rebalance_time, rb.reservation_ref_tick, rb.armed)
    return new_state, reason, r


@njit(cache=True, inline="always")
def hedge_decide(lp_token0, hedge_position, params):
    """Signed hedge order (token0, > 0 buys) for the residual ``lp_token0 + hedge_position``."""
    if params.hedge == 0:
        return 0.0
    return hedge_order_size(
        lp_token0 + hedge_position, params.hedge_band, params.hedge_to_band_edge,
        params.hedge_min_size, params.hedge_step,
    )
