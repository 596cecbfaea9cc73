"""Vectorised LP + hedge backtest kernel (Numba; kernels only, no validation).

Contract: ``run_lp_1d(price, volume1, funding, pool_liquidity, params, cfg, out, out_sigma,
out_rebalances, out_hedges)`` walks the bars once, calls the strategy's decision
(:func:`asymlp_core.strategy.nb.lp_decide`, the same function the live ``lp_manager`` calls)
at every bar, and fills the caller-allocated buffers: ``out`` (``LP_CORE_DTYPE``, one compact
row per bar), ``out_sigma`` (the volatility each decision used), ``out_rebalances``
(``REBALANCE_DTYPE``) and ``out_hedges`` (``HEDGE_TRADE_DTYPE``), the last two as event logs.
Returns ``(n_bars, n_rebalances, n_hedge_trades)``; an event count above its buffer's length
means the buffer was too small (nothing is written past it): allocate more and run again.
The per-bar parts that follow from these (HODL, LVR, hedge PnL, funding, costs) are
materialised by :func:`asymlp_core.backtest.lp.expand_bars` with NumPy, so that the kernel
writes 64 bytes per bar instead of 150.

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

import numpy as np
from numba import njit

from ..ranges.nb import LN_TICK_BASE
from ..strategy.enums import LPStrategyState
from ..strategy.nb import hedge_decide, lp_decide_prepared, lp_prepare

_INV_LN = 1.0 / LN_TICK_BASE


@njit(cache=True, inline="always")
def _amounts(liq, s, inv_s, sa, sb, inv_sa, inv_sb):
    """Token amounts of ``liq`` at sqrt price ``s`` in ``[sa, sb]`` (reciprocals given: no division)."""
    if s <= sa:
        return liq * (inv_sa - inv_sb), 0.0
    if s >= sb:
        return 0.0, liq * (sb - sa)
    return liq * (inv_s - inv_sb), liq * (s - sa)


@njit(cache=True, inline="always")
def _range_bounds(tick_lower, tick_upper, half_ln_raw):
    """Human sqrt prices of a raw tick range, their reciprocals and the human fractional ticks
    of its edges: ``(sa, sb, 1 / sa, 1 / sb, t_lo, t_hi)``."""
    sa = math.exp(0.5 * tick_lower * LN_TICK_BASE - half_ln_raw)
    sb = math.exp(0.5 * tick_upper * LN_TICK_BASE - half_ln_raw)
    return sa, sb, 1.0 / sa, 1.0 / sb, 2.0 * math.log(sa) * _INV_LN, 2.0 * math.log(sb) * _INV_LN


@njit(cache=True, inline="always")
def path_fraction_in_range(t_prev, t_now, t_lo, t_hi):
    """Fraction of a bar's straight log-price path ``[t_prev, t_now]`` (fractional ticks) inside
    the range ``[t_lo, t_hi)``; a bar without a move counts 1 when its price is inside."""
    lo_t = min(t_prev, t_now)
    hi_t = max(t_prev, t_now)
    if lo_t >= t_lo and hi_t < t_hi:
        return 1.0
    if hi_t <= t_lo or lo_t >= t_hi:
        return 0.0
    if hi_t > lo_t:
        return (min(hi_t, t_hi) - max(lo_t, t_lo)) / (hi_t - lo_t)
    return 1.0 if t_lo <= t_now < t_hi else 0.0


@njit(cache=True, inline="always")
def _market_block(price, start, stop, var, lam, out_tick, out_sqrt, out_inv_sqrt, out_sigma):
    """Market pass of bars ``start .. stop``: row ``i - start`` of ``out_tick``/``out_sqrt``/
    ``out_inv_sqrt``, row ``i`` of ``out_sigma``; ``var`` is the EWMA variance before bar
    ``start`` (returned after bar ``stop - 1``)."""
    t_prev = math.log(price[start - 1]) * _INV_LN if start > 0 else 0.0
    for i in range(start, stop):
        p = price[i]
        t = math.log(p) * _INV_LN
        out_tick[i - start] = t
        sq = math.sqrt(p)
        out_sqrt[i - start] = sq
        out_inv_sqrt[i - start] = 1.0 / sq
        if i > 0 and lam > 0.0:
            ret = (t - t_prev) * LN_TICK_BASE
            var = lam * var + (1.0 - lam) * ret * ret
        out_sigma[i] = math.sqrt(var)
        t_prev = t
    return var


@njit(cache=True)
def market_pass_1d(price, sigma0, lam, out_tick, out_sqrt, out_inv_sqrt, out_sigma):
    """First pass, independent per bar (so it pipelines): fractional tick of each price,
    its square root and reciprocal, and the EWMA volatility of log returns known before the
    bar's decision."""
    n = price.shape[0]
    _market_block(price, 0, n, sigma0 * sigma0, lam, out_tick, out_sqrt, out_inv_sqrt, out_sigma)
    return n


#: Bars per block of the market pass inside :func:`run_lp_1d` (three float64 buffers of this
#: length stay in the L2 cache, and are allocated once per run).
MARKET_BLOCK = 4096


@njit(cache=True)
def run_lp_1d(price, volume1, funding, pool_liquidity, params, cfg, out, out_sigma, out_rebalances, out_hedges,
              out_stats):
    no_market = np.empty(0)
    return run_lp_core(price, volume1, funding, pool_liquidity, no_market, no_market, no_market, out_sigma, params,
                       cfg, out, out_rebalances, out_hedges, out_stats)


#: Layout of ``out_stats`` (floats): the running sums and extremes a sweep ranks by.
STAT_FINAL_EQUITY = 0
STAT_FEES = 1
STAT_HODL = 2
STAT_IL = 3
STAT_GAS = 4
STAT_SWAP_COST = 5
STAT_HEDGE_PNL = 6
STAT_FUNDING = 7
STAT_HEDGE_COST = 8
STAT_LVR = 9
STAT_MAX_DRAWDOWN = 10
STAT_MAX_DRAWDOWN_FRAC = 11
STAT_REBALANCES = 12
STAT_HEDGE_TRADES = 13
STAT_BARS_IN_RANGE = 14
STAT_DAILY_RET_SUM = 15
STAT_DAILY_RET_SQ = 16
STAT_DAILY_N = 17
STAT_HEDGE_TURNOVER = 18
N_STATS = 19


@njit(cache=True)
def run_lp_core(price, volume1, funding, pool_liquidity, ticks, sqrts, inv_sqrts, sigmas, params, cfg, out,
                out_rebalances, out_hedges, out_stats):
    """The bar loop over precomputed market arrays (``market_pass_1d``), or, with an empty
    ``ticks``, computing them a block at a time and writing the volatility into ``sigmas``.

    Rows are written while ``out`` has room (a zero-length ``out`` runs without rows, as a
    sweep does); ``out_stats`` (``N_STATS`` floats) receives the running figures.
    """
    n = price.shape[0]
    n_out = out.shape[0]
    bars_per_day = cfg.bars_per_day
    day_left = bars_per_day
    day_eq = cfg.budget
    d_sum = 0.0
    d_sq = 0.0
    d_n = 0
    s_fees = 0.0
    s_hodl = 0.0
    s_il = 0.0
    s_gas = 0.0
    s_swap = 0.0
    s_hpnl = 0.0
    s_fund = 0.0
    s_hcost = 0.0
    s_turnover = 0.0
    s_lvr = 0.0
    peak = cfg.budget
    max_dd = 0.0
    max_ddf = 0.0
    in_range = 0
    cap_rb = out_rebalances.shape[0]
    cap_h = out_hedges.shape[0]
    n_rb = 0
    n_h = 0
    nf = funding.shape[0]
    npl = pool_liquidity.shape[0]
    half_ln_raw = 0.5 * math.log(params.raw_per_human)
    prep = lp_prepare(params)
    state = LPStrategyState(0, 0, 0, 0.0, 0.0, 0)
    liq = 0.0
    share = 0.0  # liq / (liq + pool_liquidity) when the pool's liquidity is one number
    sa = 1.0
    sb = 1.0
    inv_sa = 1.0
    inv_sb = 1.0
    t_lo = 0.0  # range bounds in human fractional ticks
    t_hi = 0.0
    x_open = 0.0
    x = 0.0
    y = 0.0
    value = cfg.budget
    fee_cash = 0.0
    hedge_cash = 0.0
    h = 0.0
    p_prev = price[0]
    # market arrays: given whole (a sweep shares one pass), or computed a block at a time here
    blocked = ticks.shape[0] == 0  # an empty ``ticks``: no market pass given
    if sigmas.shape[0] < n:
        raise ValueError("run_lp_core: sigmas needs one value per bar")
    if not blocked and (ticks.shape[0] != n or sqrts.shape[0] != n or inv_sqrts.shape[0] != n):
        raise ValueError("run_lp_core: ticks, sqrts and inv_sqrts need one value per bar (or ticks empty)")
    block = MARKET_BLOCK if blocked else max(n, 1)
    if blocked:
        ticks = np.empty(block)
        sqrts = np.empty(block)
        inv_sqrts = np.empty(block)
    var = cfg.sigma0 * cfg.sigma0
    t_prev = math.log(p_prev) * _INV_LN if blocked else ticks[0]
    for b0 in range(0, n, block):
        b1 = min(n, b0 + block)
        off = 0
        if blocked:
            var = _market_block(price, b0, b1, var, cfg.ewma_lambda, ticks, sqrts, inv_sqrts, sigmas)
            off = b0
        for i in range(b0, b1):
            p = price[i]
            t_now = ticks[i - off]
            dp = p - p_prev
            s = sqrts[i - off]
            inv_s = inv_sqrts[i - off]
            sigma = sigmas[i]

            fees = 0.0
            il = 0.0
            if state.is_open != 0:
                x_prev = x
                x, y = _amounts(liq, s, inv_s, sa, sb, inv_sa, inv_sb)
                new_value = x * p + y
                dv = new_value - value
                hodl = x_open * dp
                il = dv - hodl
                s_hodl += hodl
                s_il += il
                s_lvr += x_prev * dp - dv
                value = new_value
                frac = path_fraction_in_range(t_prev, t_now, t_lo, t_hi)
                if npl > 1:
                    share = liq / (liq + pool_liquidity[i])
                fees = cfg.fee * volume1[i] * share * frac
                fee_cash += fees
                s_fees += fees
                if frac > 0.0:
                    in_range += 1
            hedge_pnl = h * dp
            fund = -h * p_prev * funding[i if nf > 1 else 0] if i > 0 else 0.0
            hedge_cash += hedge_pnl + fund
            s_hpnl += hedge_pnl
            s_fund += fund

            # ---- the strategy's decision (shared with the live process)
            state, reason, r = lp_decide_prepared(
                state, float(i), p, t_now + prep.raw_tick_offset, sigma, x, y, h, params, prep
            )
            if reason != 0:
                value_before = value
                budget = value
                compounded = 0.0
                if cfg.compound_fees != 0:
                    compounded = fee_cash
                    budget += fee_cash
                    fee_cash = 0.0
                sa, sb, inv_sa, inv_sb, t_lo, t_hi = _range_bounds(state.tick_lower, state.tick_upper, half_ln_raw)
                # value of one unit of liquidity at this price, then the amounts of the new range
                ux, uy = _amounts(1.0, s, inv_s, sa, sb, inv_sa, inv_sb)
                unit = ux * p + uy
                x_target = budget / unit * ux
                gas = cfg.gas_cost
                swap_cost = cfg.swap_fee * abs(x_target - x) * p
                s_gas += gas
                s_swap += swap_cost
                budget -= gas + swap_cost
                liq = budget / unit if budget > 0.0 else 0.0
                share = liq / (liq + pool_liquidity[0])
                x, y = _amounts(liq, s, inv_s, sa, sb, inv_sa, inv_sb)
                # the new position is worth the budget; value - (gas + swap) + compounded fees
                value = x * p + y
                x_open = x
                if n_rb < cap_rb:
                    ev = out_rebalances[n_rb]
                    ev.bar = i
                    ev.reason = reason
                    ev.tick_lower = state.tick_lower
                    ev.tick_upper = state.tick_upper
                    ev.liquidity = liq
                    ev.value_before = value_before
                    ev.fees_compounded = compounded
                    ev.gas = gas
                    ev.swap_cost = swap_cost
                n_rb += 1
            # ---- hedge
            order = hedge_decide(x, h, params)
            if order != 0.0:
                hedge_cost = abs(order) * p * cfg.hedge_fee
                h += order
                hedge_cash -= hedge_cost
                s_hcost += hedge_cost
                s_turnover += abs(order)
                if n_h < cap_h:
                    hv = out_hedges[n_h]
                    hv.bar = i
                    hv.qty = order
                    hv.price = p
                    hv.cost = hedge_cost
                n_h += 1

            equity = value + fee_cash + hedge_cash
            if equity > peak:
                peak = equity
            elif peak - equity > max_dd:
                max_dd = peak - equity
                if max_dd / peak > max_ddf:
                    max_ddf = max_dd / peak
            day_left -= 1
            if day_left == 0:
                day_left = bars_per_day
                r = equity / day_eq - 1.0
                d_sum += r
                d_sq += r * r
                d_n += 1
                day_eq = equity
            if i < n_out:
                row = out[i]
                row.tick_lower = state.tick_lower
                row.tick_upper = state.tick_upper
                row.amount0 = x
                row.amount1 = y
                row.lp_value = value
                row.fees = fees
                row.il = il
                row.hedge_position = h
                row.equity = equity
            p_prev = p
            t_prev = t_now
    st = out_stats
    st[STAT_FINAL_EQUITY] = value + fee_cash + hedge_cash
    st[STAT_FEES] = s_fees
    st[STAT_HODL] = s_hodl
    st[STAT_IL] = s_il
    st[STAT_GAS] = s_gas
    st[STAT_SWAP_COST] = s_swap
    st[STAT_HEDGE_PNL] = s_hpnl
    st[STAT_FUNDING] = s_fund
    st[STAT_HEDGE_COST] = s_hcost
    st[STAT_LVR] = s_lvr
    st[STAT_MAX_DRAWDOWN] = max_dd
    st[STAT_MAX_DRAWDOWN_FRAC] = max_ddf
    st[STAT_REBALANCES] = n_rb
    st[STAT_HEDGE_TRADES] = n_h
    st[STAT_BARS_IN_RANGE] = in_range
    st[STAT_DAILY_RET_SUM] = d_sum
    st[STAT_DAILY_RET_SQ] = d_sq
    st[STAT_DAILY_N] = d_n
    st[STAT_HEDGE_TURNOVER] = s_turnover
    return n, n_rb, n_h


@njit(cache=True)
def expand_bars_range_1d(core, rebalances, hedges, sigma, price, funding, start, out):
    """Fill the full per-bar record (``LP_BAR_DTYPE``) of bars ``start .. start + len(out)``
    from the kernel's compact rows and logs (so a year can be expanded a chunk at a time).

    HODL, LVR, hedge PnL and funding follow from consecutive rows with the kernel's own
    formulas (``hodl = dV - il``, ``lvr = x[i-1] dP - dV`` with ``dV`` the value change before
    any rebalance, ``hedge_pnl = h[i-1] dP``, ``funding = -h[i-1] P[i-1] rate[i]``); costs and
    reasons come from the logs; liquidity is carried forward from the last rebalance.
    """
    n_out = out.shape[0]
    nf = funding.shape[0]
    n_rb = rebalances.shape[0]
    j = 0  # next rebalance at or after start
    while j < n_rb and rebalances[j].bar < start:
        j += 1
    k = 0  # next hedge trade at or after start
    while k < hedges.shape[0] and hedges[k].bar < start:
        k += 1
    liq = rebalances[j - 1].liquidity if j > 0 else 0.0
    opened = j > 0
    for r in range(n_out):
        i = start + r
        c = core[i]
        o = out[r]
        o.tick_lower = c.tick_lower
        o.tick_upper = c.tick_upper
        o.amount0 = c.amount0
        o.amount1 = c.amount1
        o.lp_value = c.lp_value
        o.fees = c.fees
        o.il = c.il
        o.hedge_position = c.hedge_position
        o.equity = c.equity
        o.sigma = sigma[i]
        value_pre = c.lp_value
        o.reason = 0
        o.gas = 0.0
        o.swap_cost = 0.0
        was_open = opened
        if j < n_rb and rebalances[j].bar == i:
            ev = rebalances[j]
            o.reason = ev.reason
            o.gas = ev.gas
            o.swap_cost = ev.swap_cost
            liq = ev.liquidity
            value_pre = ev.value_before
            opened = True
            j += 1
        o.liquidity = liq
        cost = 0.0
        while k < hedges.shape[0] and hedges[k].bar == i:
            cost += hedges[k].cost
            k += 1
        o.hedge_cost = cost
        if i > 0:
            prev = core[i - 1]
            dp = price[i] - price[i - 1]
            if was_open:
                dv = value_pre - prev.lp_value
                o.hodl = dv - c.il
                o.lvr = prev.amount0 * dp - dv
            else:
                o.hodl = 0.0
                o.lvr = 0.0
            o.hedge_pnl = prev.hedge_position * dp
            o.funding = -prev.hedge_position * price[i - 1] * funding[i if nf > 1 else 0]
        else:
            o.hodl = 0.0
            o.lvr = 0.0
            o.hedge_pnl = 0.0
            o.funding = 0.0
    return n_out


@njit(cache=True)
def pnl_parts_1d(bars):
    """Sums of the PnL parts of full bar records, in ``PNL_PARTS`` order (costs negative)."""
    parts = np.zeros(8)
    for i in range(bars.shape[0]):
        b = bars[i]
        parts[0] += b.fees
        parts[1] += b.hodl
        parts[2] += b.il
        parts[3] -= b.gas
        parts[4] -= b.swap_cost
        parts[5] += b.hedge_pnl
        parts[6] += b.funding
        parts[7] -= b.hedge_cost
    return parts


@njit(cache=True)
def replay_actions_1d(price, volume1, pool_liquidity, funding, fee, raw_per_human, actions, hedges, start_value,
                      out):
    """The backtester's per-bar accounting along a path with the actions given instead of decided.

    ``actions`` (``REBALANCE_DTYPE``, by bar): at its bar, after the bar's accounting, the
    position becomes ``liquidity`` (human units; 0 closes it) on ``[tick_lower, tick_upper]``
    (raw ticks, as the strategy's state), paying the given ``gas`` and ``swap_cost``;
    ``value_before`` is written. ``hedges`` (``HEDGE_TRADE_DTYPE``, by bar): trades at their own
    ``price`` with their ``cost``; a trade away from the bar's price adds ``qty (P - price)`` to
    that bar's hedge PnL (the kernel's trades are at the bar price, where that term is 0). Fees,
    HODL, IL, LVR, hedge PnL and funding use the formulas of :func:`run_lp_core`; ``equity`` is
    ``start_value`` plus the running sum of the parts. Fills ``out`` (``LP_BAR_DTYPE``, one row
    per bar; ``sigma`` is 0) and returns the number of actions applied.
    """
    n = price.shape[0]
    nf = funding.shape[0]
    npl = pool_liquidity.shape[0]
    half_ln_raw = 0.5 * math.log(raw_per_human)
    n_act = actions.shape[0]
    n_hed = hedges.shape[0]
    j = 0
    k = 0
    is_open = False
    liq = 0.0
    lower = 0
    upper = 0
    sa = 1.0
    sb = 1.0
    inv_sa = 1.0
    inv_sb = 1.0
    t_lo = 0.0
    t_hi = 0.0
    x = 0.0
    y = 0.0
    x_open = 0.0
    value = 0.0
    h = 0.0
    total = 0.0
    p_prev = price[0]
    t_prev = math.log(p_prev) * _INV_LN
    for i in range(n):
        p = price[i]
        t_now = math.log(p) * _INV_LN
        s = math.sqrt(p)
        inv_s = 1.0 / s
        dp = p - p_prev
        fees = 0.0
        hodl = 0.0
        il = 0.0
        lvr = 0.0
        if is_open:
            x_prev = x
            x, y = _amounts(liq, s, inv_s, sa, sb, inv_sa, inv_sb)
            new_value = x * p + y
            dv = new_value - value
            hodl = x_open * dp
            il = dv - hodl
            lvr = x_prev * dp - dv
            value = new_value
            frac = path_fraction_in_range(t_prev, t_now, t_lo, t_hi)
            share = liq / (liq + pool_liquidity[i if npl > 1 else 0])
            fees = fee * volume1[i] * share * frac
        hedge_pnl = h * dp
        fund = -h * p_prev * funding[i if nf > 1 else 0] if i > 0 else 0.0
        gas = 0.0
        swap_cost = 0.0
        reason = 0
        while j < n_act and actions[j].bar == i:
            a = actions[j]
            a.value_before = value
            a.fees_compounded = 0.0
            gas += a.gas
            swap_cost += a.swap_cost
            reason |= a.reason
            liq = a.liquidity
            lower = a.tick_lower
            upper = a.tick_upper
            if liq > 0.0:
                sa, sb, inv_sa, inv_sb, t_lo, t_hi = _range_bounds(lower, upper, half_ln_raw)
                x, y = _amounts(liq, s, inv_s, sa, sb, inv_sa, inv_sb)
                is_open = True
            else:
                liq = 0.0
                x = 0.0
                y = 0.0
                is_open = False
            value = x * p + y
            x_open = x
            j += 1
        hedge_cost = 0.0
        while k < n_hed and hedges[k].bar == i:
            q = hedges[k].qty
            hedge_pnl += q * (p - hedges[k].price)
            h += q
            hedge_cost += hedges[k].cost
            k += 1
        total += fees + hodl + il - gas - swap_cost + hedge_pnl + fund - hedge_cost
        o = out[i]
        o.tick_lower = lower
        o.tick_upper = upper
        o.reason = reason
        o.liquidity = liq
        o.amount0 = x
        o.amount1 = y
        o.lp_value = value
        o.fees = fees
        o.hodl = hodl
        o.il = il
        o.lvr = lvr
        o.gas = gas
        o.swap_cost = swap_cost
        o.hedge_position = h
        o.hedge_pnl = hedge_pnl
        o.funding = fund
        o.hedge_cost = hedge_cost
        o.sigma = 0.0
        o.equity = start_value + total
        p_prev = p
        t_prev = t_now
    return j
