"""Backtesters: the event-driven market-making backtester (``mm``); the LP backtester and exact
replay build on the same record conventions (see ``enums``)."""

from .enums import (
    BOOK_TOP_EVENT,
    BUY_EVENT,
    EVENT_DTYPE,
    FILL_DTYPE,
    HEDGE_TRADE_DTYPE,
    LP_BAR_DTYPE,
    LP_CORE_DTYPE,
    MODEL_AS,
    MODEL_GLFT,
    PNL_PARTS,
    REBALANCE_DTYPE,
    SELL_EVENT,
    STATE_DTYPE,
    TRADE_EVENT,
    LPBacktestConfig,
    MMConfig,
)
from .lp import LazyBars, LPResult, expand_bars, pnl_decomposition, run_lp_backtest
from .lp_replay import replay_lp_path
from .mm import MMResult, check_events, run_mm_backtest, summarize_mm
from .sweep import RESULT_FIELDS, sweep_lp_backtest
from .sweep_nb import SWEEP_FIELDS

__all__ = [
    "BOOK_TOP_EVENT",
    "BUY_EVENT",
    "EVENT_DTYPE",
    "FILL_DTYPE",
    "HEDGE_TRADE_DTYPE",
    "LPBacktestConfig",
    "LPResult",
    "LP_BAR_DTYPE",
    "LP_CORE_DTYPE",
    "LazyBars",
    "MMConfig",
    "MMResult",
    "MODEL_AS",
    "MODEL_GLFT",
    "PNL_PARTS",
    "REBALANCE_DTYPE",
    "RESULT_FIELDS",
    "SELL_EVENT",
    "STATE_DTYPE",
    "SWEEP_FIELDS",
    "TRADE_EVENT",
    "check_events",
    "expand_bars",
    "pnl_decomposition",
    "replay_lp_path",
    "run_lp_backtest",
    "run_mm_backtest",
    "summarize_mm",
    "sweep_lp_backtest",
]
