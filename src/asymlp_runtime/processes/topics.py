"""Topic names of the bus (one place, so publishers and subscribers agree).

Topics are dot-separated and matched by byte prefix (``quote.binance.`` gets every quote of
binance). The symbol part is the *topic symbol*: the unified symbol without separators and
settle suffix (``ETH/USDT:USDT`` -> ``ETHUSDT``), see :func:`topic_symbol`.

==========================  ===================================  ===============================
topic                       message                              publisher (socket name)
==========================  ===================================  ===============================
``quote.<venue>.<SYM>``     :class:`~asymlp_runtime.messages.Quote`     quote_server (market_data)
``book.<venue>.<SYM>``      :class:`~asymlp_runtime.messages.BookTop`   quote_server (market_data)
``trade.<venue>.<SYM>``     :class:`~asymlp_runtime.messages.Trade`     quote_server (market_data)
``order.<venue>.<SYM>``     :class:`~asymlp_runtime.messages.OrderEvent` trading_engine (reports)
``fill.<venue>.<SYM>``      :class:`~asymlp_runtime.messages.Fill`      trading_engine (reports)
``position.<venue>.<SYM>``  :class:`~asymlp_runtime.messages.Position`  position_server (account)
``balance.<venue>.<CCY>``   :class:`~asymlp_runtime.messages.Balance`   position_server (account)
``inventory.<pool>``        :class:`~asymlp_runtime.messages.InventoryDelta` lp_manager (lp)
``lp_action.<pool>``        :class:`~asymlp_runtime.messages.LpAction`  lp_manager (lp)
``risk.trader``             :class:`~asymlp_runtime.messages.RiskState` trader (risk)
``hb.<process>``            :class:`~asymlp_runtime.messages.Heartbeat` every process (control)
``health.<process>``        :class:`~asymlp_runtime.messages.Health`    every process (control)
``cmd.<process>``/``cmd.all`` :class:`~asymlp_runtime.messages.Command` supervisor, trader (control)
==========================  ===================================  ===============================
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "RISK_TOPIC",
    "VENUE_OF_EXCHANGE_ID",
    "balance_topic",
    "book_topic",
    "command_topic",
    "fill_topic",
    "health_topic",
    "heartbeat_topic",
    "inventory_topic",
    "lp_action_topic",
    "order_topic",
    "position_topic",
    "quote_topic",
    "topic_symbol",
    "trade_topic",
    "venue_name",
]

RISK_TOPIC: Final[str] = "risk.trader"

#: ccxt exchange id (``HTTP_API.exchange_id``) -> venue name used in topics and messages.
VENUE_OF_EXCHANGE_ID: Final[dict[str, str]] = {
    "binanceusdm": "binance",
    "binance": "binance",
    "deribit": "deribit",
    "grvt": "grvt",
    "paper": "paper",
}


def venue_name(exchange_id: str) -> str:
    """Venue name of a ccxt exchange id (``binanceusdm`` -> ``binance``); unknown ids map to themselves."""
    return VENUE_OF_EXCHANGE_ID.get(exchange_id, exchange_id)


def topic_symbol(symbol: str) -> str:
    """``ETH/USDT:USDT`` -> ``ETHUSDT``; ``ETH-PERPETUAL`` -> ``ETHPERPETUAL``; upper case."""
    return symbol.split(":", 1)[0].replace("/", "").replace("-", "").replace("_", "").upper()


def quote_topic(venue: str, symbol: str) -> str:
    """``quote.<venue>.<SYM>``."""
    return f"quote.{venue}.{topic_symbol(symbol)}"


def book_topic(venue: str, symbol: str) -> str:
    """``book.<venue>.<SYM>``."""
    return f"book.{venue}.{topic_symbol(symbol)}"


def trade_topic(venue: str, symbol: str) -> str:
    """``trade.<venue>.<SYM>``."""
    return f"trade.{venue}.{topic_symbol(symbol)}"


def order_topic(venue: str, symbol: str) -> str:
    """``order.<venue>.<SYM>``."""
    return f"order.{venue}.{topic_symbol(symbol)}"


def fill_topic(venue: str, symbol: str) -> str:
    """``fill.<venue>.<SYM>``."""
    return f"fill.{venue}.{topic_symbol(symbol)}"


def position_topic(venue: str, symbol: str) -> str:
    """``position.<venue>.<SYM>``."""
    return f"position.{venue}.{topic_symbol(symbol)}"


def balance_topic(venue: str, currency: str) -> str:
    """``balance.<venue>.<CCY>``."""
    return f"balance.{venue}.{currency.upper()}"


def inventory_topic(pool_id: str) -> str:
    """``inventory.<pool>``."""
    return f"inventory.{pool_id}"


def lp_action_topic(pool_id: str) -> str:
    """``lp_action.<pool>``."""
    return f"lp_action.{pool_id}"


def heartbeat_topic(process: str) -> str:
    """``hb.<process>``."""
    return f"hb.{process}"


def health_topic(process: str) -> str:
    """``health.<process>``."""
    return f"health.{process}"


def command_topic(target: str) -> str:
    """``cmd.<target>`` (``cmd.all`` for a broadcast)."""
    return f"cmd.{target}"
