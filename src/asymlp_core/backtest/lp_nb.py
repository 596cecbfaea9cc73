"""Vectorised LP + hedge backtest kernel (Numba; kernels only, no validation).

Contract: ``run_lp_1d(price, volume1, funding, pool_liquidity, params, cfg, out)`` walks the
bars once, calls the strategy's decision (:func:`asymlp_core.strategy.nb.lp_decide`, the same
function the live ``lp_manager`` calls) at every bar, and fills the caller-allocated ``out``
(``LP_BAR_DTYPE``) row by row; returns the number of bars.

Model, per bar ``i`` (prices human: token1 per token0 with decimals applied):
- The pool trades at ``price[i]`` (arbitrage keeps it within the fee of the reference).
- Fees: ``fee x volume1[i] x L / (L + pool_liquidity[i]) x f`` where ``f`` is the fraction of
  the bar's log-price path ``[ln P[i-1], ln P[i]]`` inside the range (a straight path).
- The position's value ``V = x P + y``; per bar ``dV = hodl + il`` with ``hodl = x_open dP``
  (holding the amounts the position opened with) and ``il`` the rest; ``lvr = x[i-1] dP - dV``
  >= 0 is loss-versus-rebalancing measured on the bar (a diagnostic, not a separate part).
- Rebalance: closing and re-opening pays ``gas`` and ``swap_fee x |x_new - x_old| P`` out of
  the position; collected fees are added to the new position when ``compound_fees``.
- Hedge: a perpetual position ``h`` (token0) marked to market (``h dP``), funding
  ``-h P[i-1] funding[i]`` (a positive rate: longs pay shorts), taker cost on each trade.
- Equity ``= V + fee_cash + hedge_cash``; ``total = equity - budget`` and, exactly up to
  floating-point rounding, ``total = fees + hodl + il - gas - swap_cost + hedge_pnl + funding
  - hedge_cost`` (cumulative sums of the per-bar parts).
"""

from __future__ import annotations

import math

from numba import njit

from ..ranges.nb import LN_TICK_BASE
from ..strategy.enums import LPStrategyState
from ..strategy.nb import hedge_decide, lp_decide_prepared, lp_prepare

_INV_LN = 1.0 / LN_TICK_BASE


@njit(cache=True, inline="always")
def _amounts(liq, s, sa, sb):
    if s <= sa:
        return liq * (1.0 / sa - 1.0 / sb), 0.0
    if s >= sb:
        return 0.0, liq * (sb - sa)
    return liq * (1.0 / s - 1.0 / sb), liq * (s - sa)


@njit(cache=True)
def run_lp_1d(price, volume1, funding, pool_liquidity, params, cfg, out):
    n = price.shape[0]
    nf = funding.shape[0]
    npl = pool_liquidity.shape[0]
    half_ln_raw = 0.5 * math.log(params.raw_per_human)
    prep = lp_prepare(params)
    state = LPStrategyState(0, 0, 0, 0.0, 0.0, 0)
    liq = 0.0
    sa = 1.0
    sb = 1.0
    t_lo = 0.0  # range bounds in human fractional ticks
    t_hi = 0.0
    x_open = 0.0
    x = 0.0
    y = 0.0
    value = cfg.budget
    fee_cash = 0.0
    hedge_cash = 0.0
    h = 0.0
    var = cfg.sigma0 * cfg.sigma0
    lam = cfg.ewma_lambda
    p_prev = price[0]
    t_prev = math.log(p_prev) * _INV_LN
    for i in range(n):
        p = price[i]
        t_now = math.log(p) * _INV_LN
        dp = p - p_prev
        s = math.sqrt(p)
        # volatility estimate before the decision (no look-ahead): EWMA of log returns
        if i > 0 and lam > 0.0:
            ret = (t_now - t_prev) * LN_TICK_BASE
            var = lam * var + (1.0 - lam) * ret * ret
        sigma = math.sqrt(var)

        fees = 0.0
        hodl = 0.0
        il = 0.0
        lvr = 0.0
        if state.is_open != 0:
            x_prev = x
            x, y = _amounts(liq, s, sa, sb)
            new_value = x * p + y
            dv = new_value - value
            hodl = x_open * dp
            il = dv - hodl
            lvr = x_prev * dp - dv
            value = new_value
            # fraction of the bar's log path inside the range
            lo_t = min(t_prev, t_now)
            hi_t = max(t_prev, t_now)
            if hi_t > lo_t:
                frac = (min(hi_t, t_hi) - max(lo_t, t_lo)) / (hi_t - lo_t)
                frac = min(max(frac, 0.0), 1.0)
            else:
                frac = 1.0 if t_lo <= t_now < t_hi else 0.0
            pl = pool_liquidity[i if npl > 1 else 0]
            fees = cfg.fee * volume1[i] * liq / (liq + pl) * frac
            fee_cash += fees
        hedge_pnl = h * dp
        fund = -h * p_prev * funding[i if nf > 1 else 0] if i > 0 else 0.0
        hedge_cash += hedge_pnl + fund

        # ---- the strategy's decision (shared with the live process)
        state, reason, r = lp_decide_prepared(
            state, float(i), p, t_now + prep.raw_tick_offset, sigma, x, y, h, params, prep
        )
        gas = 0.0
        swap_cost = 0.0
        if reason != 0:
            budget = value
            if cfg.compound_fees != 0:
                budget += fee_cash
                fee_cash = 0.0
            sa = math.exp(0.5 * state.tick_lower * LN_TICK_BASE - half_ln_raw)
            sb = math.exp(0.5 * state.tick_upper * LN_TICK_BASE - half_ln_raw)
            t_lo = 2.0 * math.log(sa) * _INV_LN
            t_hi = 2.0 * math.log(sb) * _INV_LN
            # value of one unit of liquidity at this price, then the amounts of the new range
            ux, uy = _amounts(1.0, s, sa, sb)
            unit = ux * p + uy
            x_target = budget / unit * ux
            gas = cfg.gas_cost
            swap_cost = cfg.swap_fee * abs(x_target - x) * p
            budget -= gas + swap_cost
            liq = budget / unit if budget > 0.0 else 0.0
            x, y = _amounts(liq, s, sa, sb)
            # the new position is worth the budget; value - (gas + swap) + compounded fees
            value = x * p + y
            x_open = x
        # ---- hedge
        order = hedge_decide(x, h, params)
        hedge_cost = abs(order) * p * cfg.hedge_fee
        h += order
        hedge_cash -= hedge_cost

        row = out[i]
        row.tick_lower = state.tick_lower
        row.tick_upper = state.tick_upper
        row.reason = reason
        row.liquidity = liq
        row.amount0 = x
        row.amount1 = y
        row.lp_value = value
        row.fees = fees
        row.hodl = hodl
        row.il = il
        row.lvr = lvr
        row.gas = gas
        row.swap_cost = swap_cost
        row.hedge_position = h
        row.hedge_pnl = hedge_pnl
        row.funding = fund
        row.hedge_cost = hedge_cost
        row.sigma = sigma
        row.equity = value + fee_cash + hedge_cash
        p_prev = p
        t_prev = t_now
    return n
