"""Record dtypes, flags and configuration tuples of the backtesters.

Events follow the convention of established tick backtesters: one aligned structured
record per market event, int64 nanosecond timestamps on the exchange clock
(``exch_ts``) and on the local clock (``local_ts`` = when our process would see it, i.e.
``exch_ts`` + feed latency), and the kind and side as documented bit flags in ``ev``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

#: Event is a trade print: ``px``/``qty`` are the trade, the side flag is the aggressor's.
TRADE_EVENT = np.uint64(1 << 0)
#: Event is a top-of-book update: ``bid_px``/``bid_qty``/``ask_px``/``ask_qty`` are the new top.
BOOK_TOP_EVENT = np.uint64(1 << 1)
#: Aggressor bought (lifted the ask).
BUY_EVENT = np.uint64(1 << 29)
#: Aggressor sold (hit the bid).
SELL_EVENT = np.uint64(1 << 28)

EVENT_DTYPE = np.dtype(
    [
        ("ev", "u8"),
        ("exch_ts", "i8"),
        ("local_ts", "i8"),
        ("px", "f8"),
        ("qty", "f8"),
        ("bid_px", "f8"),
        ("bid_qty", "f8"),
        ("ask_px", "f8"),
        ("ask_qty", "f8"),
    ],
    align=True,
)

#: One fill of our orders. ``side`` +1 bought, -1 sold; ``maker`` 1 for passive fills.
FILL_DTYPE = np.dtype(
    [("exch_ts", "i8"), ("side", "i8"), ("px", "f8"), ("qty", "f8"), ("fee", "f8"), ("maker", "i8")],
    align=True,
)

#: A snapshot of the strategy at each quoting decision (local clock).
STATE_DTYPE = np.dtype(
    [
        ("local_ts", "i8"),
        ("mid", "f8"),
        ("bid", "f8"),
        ("ask", "f8"),
        ("position", "f8"),
        ("cash", "f8"),
        ("equity", "f8"),
    ],
    align=True,
)

#: Quote models of the market-making backtester.
MODEL_AS = 0
MODEL_GLFT = 1


class MMConfig(NamedTuple):
    """Parameters of the event-driven market-making backtester (all floats or ints).

    Units: prices in quote currency; ``sigma`` per square root of ``time_unit_ns``; ``k``
    (AS, GLFT) per price unit; ``A`` fills per ``time_unit_ns``; quantities in base units.
    """

    model: int = MODEL_AS
    gamma: float = 0.1
    sigma: float = 1.0
    k: float = 1.5
    A: float = 140.0
    tau: float = 1.0  # AS: horizon T - t held constant (stationary use of the finite-horizon form)
    xi: float = 0.1  # GLFT
    mu: float = 0.0  # GLFT drift
    order_qty: float = 1.0
    q_max: float = 10.0  # in units of order_qty
    tick_size: float = 0.01
    lot_size: float = 0.001
    requote_interval_ns: int = 100_000_000
    entry_latency_ns: int = 1_000_000
    response_latency_ns: int = 1_000_000
    maker_fee: float = 0.0002  # fraction of notional; negative for a rebate
    taker_fee: float = 0.0005
    post_only: int = 1
    time_unit_ns: int = 1_000_000_000


#: One bar of the LP backtest.  Parts of the PnL are per-bar increments (token1, human units);
#: costs are positive numbers; ``equity`` is the running total (budget + PnL).
LP_BAR_DTYPE = np.dtype(
    [
        ("tick_lower", "i4"),
        ("tick_upper", "i4"),
        ("reason", "i8"),
        ("liquidity", "f8"),
        ("amount0", "f8"),
        ("amount1", "f8"),
        ("lp_value", "f8"),
        ("fees", "f8"),
        ("hodl", "f8"),
        ("il", "f8"),
        ("lvr", "f8"),
        ("gas", "f8"),
        ("swap_cost", "f8"),
        ("hedge_position", "f8"),
        ("hedge_pnl", "f8"),
        ("funding", "f8"),
        ("hedge_cost", "f8"),
        ("sigma", "f8"),
        ("equity", "f8"),
    ],
    align=True,
)

#: What the LP kernel writes per bar (the rest of ``LP_BAR_DTYPE`` is derived from it and the
#: event logs).
LP_CORE_DTYPE = np.dtype(
    [
        ("tick_lower", "i4"),
        ("tick_upper", "i4"),
        ("amount0", "f8"),
        ("amount1", "f8"),
        ("lp_value", "f8"),
        ("fees", "f8"),
        ("il", "f8"),
        ("hedge_position", "f8"),
        ("equity", "f8"),
    ],
    align=True,
)

#: One rebalance (or the opening) of the LP backtest.
REBALANCE_DTYPE = np.dtype(
    [
        ("bar", "i8"),
        ("reason", "i8"),
        ("tick_lower", "i8"),
        ("tick_upper", "i8"),
        ("liquidity", "f8"),
        ("value_before", "f8"),
        ("fees_compounded", "f8"),
        ("gas", "f8"),
        ("swap_cost", "f8"),
    ],
    align=True,
)

#: One hedge trade of the LP backtest (``qty`` > 0 buys token0 on the perpetual).
HEDGE_TRADE_DTYPE = np.dtype([("bar", "i8"), ("qty", "f8"), ("price", "f8"), ("cost", "f8")], align=True)

#: The parts of the PnL decomposition and their signs: total = sum(sign * part).
PNL_PARTS = (
    ("fees", 1.0), ("hodl", 1.0), ("il", 1.0), ("gas", -1.0), ("swap_cost", -1.0),
    ("hedge_pnl", 1.0), ("funding", 1.0), ("hedge_cost", -1.0),
)


class LPBacktestConfig(NamedTuple):
    """Market and cost parameters of the LP backtest (the strategy's are LPStrategyParams).

    ``fee``: the pool's fee as a fraction (0.003 for the 0.30% tier); ``budget`` in token1;
    ``sigma0``: initial per-bar volatility of log price; ``ewma_lambda``: its EWMA decay
    (0 keeps ``sigma0``); ``gas_cost`` token1 per rebalance; ``swap_fee``: cost fraction of the
    token swap of a rebalance (pool fee + slippage); ``hedge_fee``: taker fee of hedge trades;
    ``compound_fees``: add collected fees to the new position at each rebalance;
    ``bars_per_day``: for the daily returns of the Sharpe ratio.
    """

    fee: float = 0.003
    budget: float = 100_000.0
    sigma0: float = 0.0008
    ewma_lambda: float = 0.999
    gas_cost: float = 5.0
    swap_fee: float = 0.0035
    hedge_fee: float = 0.0004
    compound_fees: int = 1
    bars_per_day: int = 1440
