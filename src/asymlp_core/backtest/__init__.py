"""Backtesters: the event-driven market-making backtester (``mm``); the LP backtester and exact
replay build on the same record conventions (see ``enums``)."""

from .enums import (
    BOOK_TOP_EVENT,
    BUY_EVENT,
    EVENT_DTYPE,
    FILL_DTYPE,
    MODEL_AS,
    MODEL_GLFT,
    SELL_EVENT,
    STATE_DTYPE,
    TRADE_EVENT,
    HEDGE_TRADE_DTYPE,
    LP_BAR_DTYPE,
    LP_CORE_DTYPE,
    REBALANCE_DTYPE,
    PNL_PARTS,
    LPBacktestConfig,
    MMConfig,
)
from .lp import LazyBars, LPResult, expand_bars, pnl_decomposition, run_lp_backtest, summarize_lp
from .sweep import RESULT_FIELDS, sweep_lp_backtest
from .sweep_nb import SWEEP_FIELDS
from .mm import MMResult, check_events, run_mm_backtest, summarize_mm

__all__ = [
    "BOOK_TOP_EVENT", "BUY_EVENT", "EVENT_DTYPE", "FILL_DTYPE", "MODEL_AS", "MODEL_GLFT", "SELL_EVENT",
    "STATE_DTYPE", "TRADE_EVENT", "HEDGE_TRADE_DTYPE", "LP_BAR_DTYPE", "LP_CORE_DTYPE", "REBALANCE_DTYPE", "expand_bars", "LazyBars", "PNL_PARTS", "LPBacktestConfig", "LPResult",
    "MMConfig", "pnl_decomposition", "run_lp_backtest", "summarize_lp", "RESULT_FIELDS", "SWEEP_FIELDS", "sweep_lp_backtest", "MMResult", "check_events", "run_mm_backtest", "summarize_mm",
]
