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
    MMConfig,
)
from .mm import MMResult, check_events, run_mm_backtest, summarize_mm

__all__ = [
    "BOOK_TOP_EVENT", "BUY_EVENT", "EVENT_DTYPE", "FILL_DTYPE", "MODEL_AS", "MODEL_GLFT", "SELL_EVENT",
    "STATE_DTYPE", "TRADE_EVENT", "MMConfig", "MMResult", "check_events", "run_mm_backtest", "summarize_mm",
]
