"""State, inputs, parameters and reason codes of the rebalance decision.

All three records are ``typing.NamedTuple`` s so that Numba kernels take and return them
directly (no jitclass).  Build them through :mod:`asymlp_core.rebalance.api`, which validates
and coerces the field types (a float where an int is expected would compile a second
specialisation, not fail).

Reason codes are bit flags: a decision reports every trigger that fired on that step, OR-ed.
"""

from __future__ import annotations

from enum import IntFlag
from typing import NamedTuple

#: No rebalance on this step.
REASON_NONE = 0
#: The price left the inner band of the range (or the range itself).
REASON_PRICE_BAND = 1
#: The value share of token0 moved away from its target by more than the threshold.
REASON_INVENTORY = 2
#: The reservation price moved away from the one the range was built on.
REASON_RESERVATION = 4
#: The range is older than ``max_age``.
REASON_STALE = 8
#: Every trigger.
REASON_ALL = REASON_PRICE_BAND | REASON_INVENTORY | REASON_RESERVATION | REASON_STALE


class RebalanceReason(IntFlag):
    """Python view of the reason bit flags returned by the kernels."""

    NONE = REASON_NONE
    PRICE_BAND = REASON_PRICE_BAND
    INVENTORY = REASON_INVENTORY
    RESERVATION = REASON_RESERVATION
    STALE = REASON_STALE


class RebalanceState(NamedTuple):
    """What the decision remembers between steps.

    Attributes
    ----------
    last_rebalance_time : float
        Time of the last rebalance (or of opening the position); the range's age is
        measured from it.
    reservation_ref_tick : float
        Reservation price (as a fractional tick) that the current range was built on.
    armed : int
        Bit set of the triggers that may fire (``REASON_*`` bits).  A trigger is disarmed
        when a rebalance happens while it is active, and re-armed once its measure comes
        back past its re-arm threshold.
    """

    last_rebalance_time: float
    reservation_ref_tick: float
    armed: int


class RebalanceInputs(NamedTuple):
    """Market and position facts at one step.

    Attributes
    ----------
    time : float
        Current time, in the unit of ``max_age``/``min_interval`` (seconds, bars, ...).
    price_tick : float
        Current price as a fractional tick, ``ln(price) / ln(1.0001)``.
    tick_lower, tick_upper : int
        The current range.
    inventory_ratio : float
        Value share of token0 in the whole inventory, ``x*P / (x*P + y)``, in [0, 1].
    reservation_tick : float
        Current reservation price as a fractional tick.
    """

    time: float
    price_tick: float
    tick_lower: int
    tick_upper: int
    inventory_ratio: float
    reservation_tick: float


class RebalanceParams(NamedTuple):
    """Trigger thresholds.  Each trigger fires at one threshold and re-arms at a laxer one.

    Attributes
    ----------
    band : float
        Inner-band margin as a fraction of the range width, on each side, in [0, 0.5).
        Fires when ``depth = min(p - lower, upper - p) / (upper - lower) < band``.
    band_rearm : float
        Re-arms when ``depth >= band_rearm`` (``band < band_rearm <= 0.5``).
    inventory_target : float
        Target value share of token0, in [0, 1].
    inventory_threshold : float
        Fires when ``|inventory_ratio - inventory_target| >= inventory_threshold``.
    inventory_rearm : float
        Re-arms when that deviation is ``<= inventory_rearm`` (``< inventory_threshold``).
    reservation_tolerance_ticks : float
        Fires when ``|reservation_tick - reservation_ref_tick| >= tolerance`` (ticks; a
        relative tolerance rho is ``ln(1 + rho) / ln(1.0001)`` ticks).
    reservation_rearm_ticks : float
        Re-arms when that move is ``<= reservation_rearm_ticks`` (``< tolerance``).
    max_age : float
        Fires when ``time - last_rebalance_time >= max_age``.
    min_interval : float
        No rebalance sooner than this after the previous one; a trigger that becomes
        active meanwhile stays pending and fires at the first allowed step if still active.
    enabled : int
        Bit set of the triggers in use (``REASON_*``).
    """

    band: float
    band_rearm: float
    inventory_target: float
    inventory_threshold: float
    inventory_rearm: float
    reservation_tolerance_ticks: float
    reservation_rearm_ticks: float
    max_age: float
    min_interval: float
    enabled: int
