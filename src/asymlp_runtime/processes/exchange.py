"""Which venue a per-exchange process talks to, and conversions from venue types to messages.

A per-exchange process (quote server, trading engine, position server) uses the ccxt adapter
when its ``[HTTP_API]`` section has an API key and secret, and the shared paper venue
(:mod:`asymlp_runtime.processes.paper`) otherwise. The three example configs of one exchange read
the same ``${BINANCE_API_KEY:-}`` variables, so they switch together.
"""

from __future__ import annotations

import time
from typing import Any

from asymlp_runtime import messages as m
from asymlp_runtime.config import ProcessConfig
from asymlp_runtime.processes.topics import venue_name
from asymlp_runtime.venues.base import BookTop, TradePrint, Venue, VenueFill, VenueOrder

__all__ = [
    "book_message",
    "fill_message",
    "is_paper",
    "open_live_venue",
    "order_event_message",
    "quote_message",
    "symbols_of",
    "trade_message",
    "venue_of",
]

_STATUS = {
    "open": "new",
    "partially_filled": "partially_filled",
    "filled": "filled",
    "canceled": "canceled",
    "rejected": "rejected",
    "expired": "expired",
}


def venue_of(config: ProcessConfig) -> str:
    """Venue name of a per-exchange process (``HTTP_API.exchange_id`` mapped, e.g. ``binance``)."""
    if config.http_api is not None:
        return venue_name(config.http_api.exchange_id)
    return config.process_name.rsplit("_", 1)[-1]


def symbols_of(config: ProcessConfig) -> tuple[str, ...]:
    """``MARKET_DATA.symbols`` (``("ETH/USDT:USDT",)`` when the section is missing)."""
    return config.market_data.symbols if config.market_data is not None else ("ETH/USDT:USDT",)


def is_paper(config: ProcessConfig) -> bool:
    """True when no API key and secret are configured."""
    return config.http_api is None or not config.http_api.has_credentials


def open_live_venue(config: ProcessConfig) -> Venue:
    """The ccxt adapter of ``HTTP_API.exchange_id`` with the configured credentials."""
    from asymlp_runtime.venues.ccxt_adapter import CcxtVenue, VenueCredentials

    api = config.http_api
    assert api is not None
    if api.exchange_id in ("binanceusdm", "binance"):
        from asymlp_runtime.venues.binance import BinanceUsdmSpec as Spec
    elif api.exchange_id == "deribit":
        from asymlp_runtime.venues.deribit import DeribitSpec as Spec
    elif api.exchange_id == "grvt":
        from asymlp_runtime.venues.grvt import GrvtSpec as Spec
    else:
        raise ValueError(f"no adapter for exchange {api.exchange_id!r}")
    creds = VenueCredentials(
        api_key=api.api_key.reveal() if api.api_key else "",
        secret=api.api_secret.reveal() if api.api_secret else "",
    )
    return CcxtVenue(Spec(), creds, timeout_s=api.timeout_s, base_url=api.base_url)


# ---------------------------------------------------------------------- venue types -> messages
def quote_message(venue: str, top: BookTop) -> m.Quote:
    """A :class:`~asymlp_runtime.messages.Quote` from a venue book top."""
    return m.Quote(
        venue=venue,
        symbol=top.symbol,
        bid=top.bid_price,
        ask=top.ask_price,
        bid_size=top.bid_qty,
        ask_size=top.ask_qty,
        ts_exchange_ns=top.ts_exchange_ns,
        ts_recv_ns=top.ts_recv_ns or time.time_ns(),
    )


def book_message(venue: str, top: BookTop) -> m.BookTop:
    """A one-level :class:`~asymlp_runtime.messages.BookTop` from a venue book top."""
    return m.BookTop(
        venue=venue,
        symbol=top.symbol,
        bids=((top.bid_price, max(top.bid_qty, 1e-12)),),
        asks=((top.ask_price, max(top.ask_qty, 1e-12)),),
        ts_exchange_ns=top.ts_exchange_ns,
        ts_recv_ns=top.ts_recv_ns or time.time_ns(),
    )


def trade_message(venue: str, t: TradePrint) -> m.Trade:
    """A :class:`~asymlp_runtime.messages.Trade` from a venue trade print."""
    return m.Trade(
        venue=venue,
        symbol=t.symbol,
        price=t.price,
        qty=t.qty,
        side=str(t.side),
        trade_id=t.trade_id,
        ts_exchange_ns=t.ts_exchange_ns,
        ts_recv_ns=t.ts_recv_ns or time.time_ns(),
    )


def order_event_message(venue: str, o: VenueOrder, reason: str = "") -> m.OrderEvent:
    """An :class:`~asymlp_runtime.messages.OrderEvent` from a venue order."""
    status: Any = _STATUS.get(str(o.status), "new")
    filled = min(o.filled_qty, o.qty)
    return m.OrderEvent(
        client_order_id=o.client_order_id,
        venue=venue,
        symbol=o.symbol,
        side=str(o.side),
        status=status,
        qty=o.qty,
        filled_qty=filled,
        avg_price=o.avg_fill_price if filled > 0 else None,
        venue_order_id=o.venue_order_id or None,
        reason=reason or o.reject_reason,
        ts_exchange_ns=o.ts_exchange_ns,
        ts_recv_ns=o.ts_recv_ns or time.time_ns(),
    )


def fill_message(venue: str, f: VenueFill) -> m.Fill:
    """A :class:`~asymlp_runtime.messages.Fill` from a venue fill."""
    return m.Fill(
        fill_id=f.fill_id,
        client_order_id=f.client_order_id,
        venue=venue,
        symbol=f.symbol,
        side=str(f.side),
        qty=f.qty,
        price=f.price,
        fee=f.fee,
        fee_currency=f.fee_currency,
        liquidity=str(f.liquidity),
        venue_order_id=f.venue_order_id or None,
        ts_exchange_ns=f.ts_exchange_ns,
        ts_recv_ns=f.ts_recv_ns or time.time_ns(),
    )
