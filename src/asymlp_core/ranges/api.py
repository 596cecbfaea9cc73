"""Typed Python API over :mod:`asymlp_core.ranges.nb`, plus the exact-tier budget allocation.

The wrappers validate every argument (NaN, inf or out-of-domain -> ``ValueError`` naming the
argument) and call the kernels.  Conventions (price = token1 per token0 in raw units,
``price = 1.0001**tick``) are in the package docstring.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from asymlp_core.ranges import checks, nb

#: Largest tick spacing the factory accepts (``tickSpacing < 16384`` in UniswapV3Factory).
MAX_TICK_SPACING = 16383
#: Price domain of the pool: ``1.0001**MIN_TICK`` .. ``1.0001**MAX_TICK``.
MIN_PRICE = math.exp(nb.MIN_TICK * nb.LN_TICK_BASE)
MAX_PRICE = math.exp(nb.MAX_TICK * nb.LN_TICK_BASE)
_UINT128_MAX = (1 << 128) - 1


class TickRange(NamedTuple):
    """A position's bounds in ticks (``tick_lower < tick_upper``, both spacing-aligned)."""

    tick_lower: int
    tick_upper: int


class FloatAllocation(NamedTuple):
    """Float-tier liquidity for a budget: liquidity and the token amounts it needs (raw)."""

    liquidity: float
    amount0: float
    amount1: float


class ExactAllocation(NamedTuple):
    """Exact-tier liquidity for a budget.

    ``amount0``/``amount1`` are what ``UniswapV3Pool.mint`` pulls for ``liquidity`` (rounded
    up, as the pool rounds in its own favour); ``value1`` is their value in raw token1 at
    the current price, rounded up, and is never above the budget.
    """

    liquidity: int
    amount0: int
    amount1: int
    value1: int


def _range_params(
    inventory_bound: float,
    skew: float,
    tick_spacing: int,
    min_width_ticks: int,
    max_width_ticks: int,
) -> tuple[float, float, int, int, int]:
    qb = checks.positive("inventory_bound", inventory_bound)
    sk = checks.in_closed("skew", skew, 0.0, 1.0)
    ts = checks.integer("tick_spacing", tick_spacing, 1, MAX_TICK_SPACING)
    wmin = checks.integer("min_width_ticks", min_width_ticks, 0, 2 * nb.MAX_TICK)
    wmax = checks.integer("max_width_ticks", max_width_ticks, 1, 1 << 40)
    if wmax < wmin:
        raise ValueError(f"max_width_ticks must be >= min_width_ticks, got {wmax} < {wmin}")
    if (wmax // ts) * ts < max(((wmin + ts - 1) // ts) * ts, ts):
        raise ValueError(
            f"max_width_ticks={wmax} holds no multiple of tick_spacing={ts} that is >= "
            f"min_width_ticks={wmin} and >= one spacing"
        )
    return qb, sk, ts, wmin, wmax


def asymmetric_range(
    reservation_price: float,
    delta_bid: float,
    delta_ask: float,
    inventory: float,
    *,
    inventory_bound: float,
    tick_spacing: int,
    min_width_ticks: int,
    max_width_ticks: int,
    skew: float = 0.5,
) -> TickRange:
    """Asymmetric, spacing-aligned range from a quote (r, delta_bid, delta_ask) and inventory.

    ``r - delta_bid`` maps to the lower bound (the bid ladder), ``r + delta_ask`` to the upper
    bound (the ask ladder); the inventory skew then moves width to the side that sheds the
    excess (long token0 -> above).  See :mod:`asymlp_core.ranges.nb` for the exact rules.

    Raises
    ------
    ValueError
        If any argument is NaN, infinite or out of its domain, naming the argument.
    """
    r = checks.in_closed("reservation_price", reservation_price, MIN_PRICE, MAX_PRICE)
    if r <= 0.0:
        raise ValueError(f"reservation_price must be > 0, got {r!r}")
    db = checks.non_negative("delta_bid", delta_bid)
    da = checks.non_negative("delta_ask", delta_ask)
    q = checks.finite("inventory", inventory)
    qb, sk, ts, wmin, wmax = _range_params(
        inventory_bound, skew, tick_spacing, min_width_ticks, max_width_ticks
    )
    lo, hi = nb.asymmetric_range_ticks(r, db, da, q, qb, sk, ts, wmin, wmax)
    return TickRange(int(lo), int(hi))


def asymmetric_range_1d(
    reservation_price: np.ndarray,
    delta_bid: np.ndarray,
    delta_ask: np.ndarray,
    inventory: np.ndarray,
    *,
    inventory_bound: float,
    tick_spacing: int,
    min_width_ticks: int,
    max_width_ticks: int,
    skew: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`asymmetric_range`: equal-length arrays in, int64 (lower, upper) out."""
    r = checks.finite_array("reservation_price", reservation_price)
    db = checks.finite_array("delta_bid", delta_bid)
    da = checks.finite_array("delta_ask", delta_ask)
    q = checks.finite_array("inventory", inventory)
    n = r.shape[0]
    for name, a in (("delta_bid", db), ("delta_ask", da), ("inventory", q)):
        if a.shape[0] != n:
            raise ValueError(f"{name} must have the length of reservation_price ({n}), got {a.shape[0]}")
    if n and not (np.all(r >= MIN_PRICE) and np.all(r <= MAX_PRICE)):
        raise ValueError(f"reservation_price must lie in [{MIN_PRICE}, {MAX_PRICE}]")
    if n and (np.any(db < 0.0) or np.any(da < 0.0)):
        raise ValueError("delta_bid and delta_ask must be >= 0")
    qb, sk, ts, wmin, wmax = _range_params(
        inventory_bound, skew, tick_spacing, min_width_ticks, max_width_ticks
    )
    out_lo = np.empty(n, dtype=np.int64)
    out_hi = np.empty(n, dtype=np.int64)
    nb.asymmetric_range_ticks_1d(r, db, da, q, qb, sk, ts, wmin, wmax, out_lo, out_hi)
    return out_lo, out_hi


def _ticks(tick_lower: int, tick_upper: int) -> tuple[int, int]:
    lo = checks.integer("tick_lower", tick_lower, nb.MIN_TICK, nb.MAX_TICK)
    hi = checks.integer("tick_upper", tick_upper, nb.MIN_TICK, nb.MAX_TICK)
    if not lo < hi:
        raise ValueError(f"tick_lower must be < tick_upper, got {lo} >= {hi}")
    return lo, hi


def liquidity_for_budget(
    budget1: float, price: float, tick_lower: int, tick_upper: int
) -> FloatAllocation:
    """Float-tier liquidity and amounts for a budget in raw token1 at ``price``.

    Research tier (no rounding); use :func:`liquidity_for_budget_exact` for execution.
    """
    b = checks.positive("budget1", budget1)
    p = checks.in_closed("price", price, MIN_PRICE, MAX_PRICE)
    lo, hi = _ticks(tick_lower, tick_upper)
    liq, x, y = nb.liquidity_for_budget(
        b, math.sqrt(p), nb.tick_to_sqrt_price(float(lo)), nb.tick_to_sqrt_price(float(hi))
    )
    return FloatAllocation(float(liq), float(x), float(y))


def _mint_amounts(
    v3: object, liquidity: int, sqrt_price_x96: int, tick: int, lo: int, hi: int,
    sqrt_a: int, sqrt_b: int,
) -> tuple[int, int]:
    """Amounts ``UniswapV3Pool._modifyPosition`` takes for a positive liquidity delta."""
    if liquidity == 0:
        return 0, 0
    if tick < lo:
        return v3.get_amount0_delta(sqrt_a, sqrt_b, liquidity, True), 0
    if tick < hi:
        return (
            v3.get_amount0_delta(sqrt_price_x96, sqrt_b, liquidity, True),
            v3.get_amount1_delta(sqrt_a, sqrt_price_x96, liquidity, True),
        )
    return 0, v3.get_amount1_delta(sqrt_a, sqrt_b, liquidity, True)


def liquidity_for_budget_exact(
    sqrt_price_x96: int,
    tick_lower: int,
    tick_upper: int,
    budget1: int,
    *,
    current_tick: int | None = None,
) -> ExactAllocation:
    """Exact-tier (Python int) liquidity for a budget of raw token1 valued at the pool price.

    Returns the largest ``liquidity`` whose mint amounts, valued at the current price
    ``P = sqrt_price_x96**2 / 2**192`` and rounded up
    (``amount1 + ceil(amount0 * P)``), do not exceed ``budget1``.  The first guess is the
    periphery's ``get_liquidity_for_amounts`` applied to the float split of the budget;
    it is then corrected by bisection against the exact mint amounts
    (``SqrtPriceMath.getAmount{0,1}Delta`` rounded up, in ``_modifyPosition``'s
    below/inside/above cases decided on ``current_tick`` as the pool does).

    Parameters
    ----------
    sqrt_price_x96 : int
        The pool's ``slot0.sqrtPriceX96`` (Q64.96).
    tick_lower, tick_upper : int
        Range bounds.
    budget1 : int
        Budget in raw token1 units (>= 0).
    current_tick : int, optional
        The pool's ``slot0.tick``; defaults to ``get_tick_at_sqrt_ratio(sqrt_price_x96)``
        (they differ only just after a swap that stopped exactly on a tick going down).
    """
    from asymlp_core import v3

    sp = checks.integer("sqrt_price_x96", sqrt_price_x96, v3.MIN_SQRT_RATIO, v3.MAX_SQRT_RATIO - 1)
    lo, hi = _ticks(tick_lower, tick_upper)
    budget = checks.integer("budget1", budget1, 0)
    tick = (
        v3.get_tick_at_sqrt_ratio(sp)
        if current_tick is None
        else checks.integer("current_tick", current_tick, nb.MIN_TICK, nb.MAX_TICK)
    )
    sa = v3.get_sqrt_ratio_at_tick(lo)
    sb = v3.get_sqrt_ratio_at_tick(hi)
    q192 = 1 << 192
    sp2 = sp * sp

    def cost(liquidity: int) -> tuple[int, int, int]:
        a0, a1 = _mint_amounts(v3, liquidity, sp, tick, lo, hi, sa, sb)
        return a0, a1, a1 + (-(-a0 * sp2 // q192))

    # first guess: split the budget as the float tier would and ask the periphery
    s_f = sp / 2.0**96
    v_unit = nb.position_value(1.0, s_f, sa / 2.0**96, sb / 2.0**96)
    guess = 0
    if budget > 0 and v_unit > 0.0:
        l_f = budget / v_unit
        if l_f < 2.0**126:
            x_f, y_f = nb.position_amounts(l_f, s_f, sa / 2.0**96, sb / 2.0**96)
            try:
                guess = v3.get_liquidity_for_amounts(sp, sa, sb, int(x_f), int(y_f))
            except (v3.V3Error, ArithmeticError, ValueError):
                guess = int(l_f)
        else:
            guess = _UINT128_MAX
    guess = min(guess, _UINT128_MAX)

    # bracket [ok, bad): cost(ok) <= budget < cost(bad)
    if cost(guess)[2] <= budget:
        ok, step = guess, max(guess >> 20, 1)
        bad = ok + step
        while bad <= _UINT128_MAX and cost(bad)[2] <= budget:
            ok, step = bad, step * 2
            bad = ok + step
        bad = min(bad, _UINT128_MAX + 1)
    else:
        bad, step = guess, max(guess >> 20, 1)
        ok = max(bad - step, 0)
        while ok > 0 and cost(ok)[2] > budget:
            bad, step = ok, step * 2
            ok = max(bad - step, 0)
    while bad - ok > 1:
        mid = (ok + bad) // 2
        if cost(mid)[2] <= budget:
            ok = mid
        else:
            bad = mid
    a0, a1, value = cost(ok)
    return ExactAllocation(ok, a0, a1, value)
