"""Numba kernels of the edge-triggered rebalance decision.

Contract: ``@njit(cache=True)``, NamedTuples and scalars in, NamedTuples and scalars out, no
allocation.  ``rebalance_decide(state, inputs, params) -> (new_state, reason)`` is a pure
state transition; ``reason`` is a bit set of ``REASON_*`` flags (0 = hold).

Triggers (each with its own measure ``m``, a fire threshold and a re-arm threshold):

==============  ===================================================  =====================
trigger         active when                                          re-armed when
==============  ===================================================  =====================
price band      ``depth < band``                                     ``depth >= band_rearm``
inventory       ``|ratio - target| >= inventory_threshold``          ``<= inventory_rearm``
reservation     ``|r_tick - r_ref| >= reservation_tolerance_ticks``  ``<= reservation_rearm_ticks``
stale           ``time - last >= max_age``                           ``time - last < max_age``
==============  ===================================================  =====================

with ``depth = min(p - lower, upper - p) / (upper - lower)`` (negative outside the range).

Hysteresis: a trigger fires only while *armed*.  When a rebalance happens, every trigger
that is active at that step is disarmed; it is re-armed only once its measure has come
back past the re-arm threshold, which lies strictly on the quiet side of the fire
threshold.  A measure wandering around the fire threshold therefore fires once, not on
every crossing: it must first retreat past the re-arm level.  The price-band and stale
measures reset by themselves after a rebalance (new range, age 0); the inventory measure
does not if the rebalance did not trade the inventory back, and hysteresis is what keeps it
from firing again at once.

Edge trigger and minimum interval: the decision fires when some trigger is both active and
armed and at least ``min_interval`` has passed since the last rebalance.  An active, armed
trigger inside the interval stays armed (pending) and fires at the first allowed step if it
is still active.  On firing, ``last_rebalance_time`` becomes ``time`` and
``reservation_ref_tick`` the current reservation tick: the caller is expected to rebuild
the range from the current quote at that step.
"""

from __future__ import annotations

from numba import njit

from asymlp_core.rebalance.enums import (
    REASON_INVENTORY,
    REASON_PRICE_BAND,
    REASON_RESERVATION,
    REASON_STALE,
    RebalanceInputs,
    RebalanceState,
)


@njit(cache=True, inline="always")
def range_depth(price_tick, tick_lower, tick_upper):
    """Distance from the price to the nearest range edge as a fraction of the width.

    0.5 at the centre, 0 on an edge, negative outside the range.
    """
    width = float(tick_upper - tick_lower)
    return min(price_tick - tick_lower, tick_upper - price_tick) / width


@njit(cache=True, inline="always")
def active_triggers(state, inputs, params):
    """Bit set of the triggers whose measure is past its fire threshold (armed or not)."""
    en = params.enabled
    act = 0
    if en & REASON_PRICE_BAND:
        if range_depth(inputs.price_tick, inputs.tick_lower, inputs.tick_upper) < params.band:
            act |= REASON_PRICE_BAND
    if en & REASON_INVENTORY:
        if abs(inputs.inventory_ratio - params.inventory_target) >= params.inventory_threshold:
            act |= REASON_INVENTORY
    if en & REASON_RESERVATION:
        move = abs(inputs.reservation_tick - state.reservation_ref_tick)
        if move >= params.reservation_tolerance_ticks:
            act |= REASON_RESERVATION
    if en & REASON_STALE:
        if inputs.time - state.last_rebalance_time >= params.max_age:
            act |= REASON_STALE
    return act


@njit(cache=True, inline="always")
def rearmed_triggers(state, inputs, params):
    """Bit set of the triggers whose measure is back past its re-arm threshold."""
    re = 0
    if range_depth(inputs.price_tick, inputs.tick_lower, inputs.tick_upper) >= params.band_rearm:
        re |= REASON_PRICE_BAND
    if abs(inputs.inventory_ratio - params.inventory_target) <= params.inventory_rearm:
        re |= REASON_INVENTORY
    if abs(inputs.reservation_tick - state.reservation_ref_tick) <= params.reservation_rearm_ticks:
        re |= REASON_RESERVATION
    if inputs.time - state.last_rebalance_time < params.max_age:
        re |= REASON_STALE
    return re


@njit(cache=True, inline="always")
def rebalance_decide(state, inputs, params):
    """One step of the edge-triggered decision: ``(state, inputs, params) -> (state, reason)``.

    ``reason`` is 0 (hold) or the OR of the ``REASON_*`` bits that fired.
    """
    armed = state.armed | rearmed_triggers(state, inputs, params)
    act = active_triggers(state, inputs, params)
    fire = act & armed
    if fire != 0 and inputs.time - state.last_rebalance_time >= params.min_interval:
        new_state = RebalanceState(inputs.time, inputs.reservation_tick, armed & ~act)
        return new_state, fire
    return RebalanceState(state.last_rebalance_time, state.reservation_ref_tick, armed), 0


@njit(cache=True)
def rebalance_decide_1d(
    time, price_tick, tick_lower, tick_upper, inventory_ratio, reservation_tick,
    state, params, out_reason,
):
    """Run :func:`rebalance_decide` along arrays (one element per step), ranges given.

    Fills ``out_reason`` (int64) and returns the final state.  The ranges are inputs here,
    so this replays a recorded path; a backtest that rebuilds the range on each fire calls
    :func:`rebalance_decide` from its own loop instead.
    """
    for i in range(time.shape[0]):
        inp = RebalanceInputs(
            time[i], price_tick[i], tick_lower[i], tick_upper[i],
            inventory_ratio[i], reservation_tick[i],
        )
        state, reason = rebalance_decide(state, inp, params)
        out_reason[i] = reason
    return state
