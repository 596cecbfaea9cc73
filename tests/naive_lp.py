"""A slow, obviously correct LP + hedge backtester in plain Python (the reference of the kernel).

It calls the same decision functions as the kernel (``lp_decide``, ``hedge_decide``: the
strategy is tested on its own) and redoes all the accounting the plain way, bar by bar,
with the position's token amounts from the textbook formulas.
"""

from __future__ import annotations

import math

from asymlp_core.strategy import LPStrategyState, hedge_decide, lp_decide


def amounts(liq: float, price: float, p_lower: float, p_upper: float) -> tuple[float, float]:
    """Token amounts of liquidity ``liq`` at ``price`` in ``[p_lower, p_upper]`` (Uniswap V3 whitepaper 6.29-6.30)."""
    p = min(max(price, p_lower), p_upper)
    x = liq * (1 / math.sqrt(p) - 1 / math.sqrt(p_upper))
    y = liq * (math.sqrt(p) - math.sqrt(p_lower))
    return x, y


def naive_lp_backtest(price, volume1, funding, pool_liquidity, params, cfg):
    rows = []
    state = LPStrategyState(0, 0, 0, 0.0, 0.0, 0)
    liq = 0.0
    p_lo = p_hi = 1.0
    x = y = 0.0
    x_open = 0.0
    value = cfg.budget
    fee_cash = hedge_cash = 0.0
    h = 0.0
    var = cfg.sigma0**2
    for i, p in enumerate(price):
        p = float(p)
        p_prev = float(price[i - 1]) if i else p
        if i and cfg.ewma_lambda > 0:
            ret = math.log(p / p_prev)
            var = cfg.ewma_lambda * var + (1 - cfg.ewma_lambda) * ret * ret
        sigma = math.sqrt(var)
        fees = hodl = il = lvr = 0.0
        if state.is_open:
            x_prev = x
            x, y = amounts(liq, p, p_lo, p_hi)
            new_value = x * p + y
            hodl = x_open * (p - p_prev)
            il = new_value - value - hodl
            lvr = x_prev * (p - p_prev) - (new_value - value)
            value = new_value
            # share of the bar's log-price path inside the range
            a, b = sorted((math.log(p_prev), math.log(p)))
            lo, hi = math.log(p_lo), math.log(p_hi)
            if b > a:
                inside = max(0.0, min(b, hi) - max(a, lo)) / (b - a)
            else:
                inside = 1.0 if lo <= a < hi else 0.0
            fees = cfg.fee * volume1[i] * liq / (liq + pool_liquidity) * inside
            fee_cash += fees
        hedge_pnl = h * (p - p_prev)
        fund = -h * p_prev * funding if i else 0.0
        hedge_cash += hedge_pnl + fund

        state, reason, _ = lp_decide(state, float(i), p, sigma, x, y, h, params)
        gas = swap_cost = 0.0
        if reason:
            budget = value + (fee_cash if cfg.compound_fees else 0.0)
            if cfg.compound_fees:
                fee_cash = 0.0
            p_lo = 1.0001**state.tick_lower / params.raw_per_human
            p_hi = 1.0001**state.tick_upper / params.raw_per_human
            ux, uy = amounts(1.0, p, p_lo, p_hi)
            x_target = budget / (ux * p + uy) * ux
            gas = cfg.gas_cost
            swap_cost = cfg.swap_fee * abs(x_target - x) * p
            budget -= gas + swap_cost
            liq = budget / (ux * p + uy)
            x, y = amounts(liq, p, p_lo, p_hi)
            value = x * p + y
            x_open = x
        order = hedge_decide(x, h, params)
        hedge_cost = abs(order) * p * cfg.hedge_fee
        h += order
        hedge_cash -= hedge_cost
        rows.append({
            "tick_lower": state.tick_lower, "tick_upper": state.tick_upper, "reason": reason,
            "liquidity": liq, "amount0": x, "amount1": y, "lp_value": value, "fees": fees, "hodl": hodl,
            "il": il, "lvr": lvr, "gas": gas, "swap_cost": swap_cost, "hedge_position": h,
            "hedge_pnl": hedge_pnl, "funding": fund, "hedge_cost": hedge_cost, "sigma": sigma,
            "equity": value + fee_cash + hedge_cash,
        })
    return rows
