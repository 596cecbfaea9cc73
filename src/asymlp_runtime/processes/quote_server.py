"""``quote_server``: one exchange's public market data on the bus.

For each symbol of ``MARKET_DATA.symbols`` it streams the venue's best bid/ask
(``watch_book_top``; polling ``fetch_book_top`` every ``poll_interval_s`` when the venue has no
stream) and its public trades, and publishes on the ``market_data`` publisher:

- :class:`~asymlp_runtime.messages.Quote` on ``quote.<venue>.<SYM>``,
- :class:`~asymlp_runtime.messages.BookTop` on ``book.<venue>.<SYM>``,
- :class:`~asymlp_runtime.messages.Trade` on ``trade.<venue>.<SYM>``,

each with the exchange time (``ts_exchange_ns``) and the receive time (``ts_recv_ns``).

A stream that fails is reopened after a full-jitter exponential backoff
(``WEBSOCKET.reconnect_backoff_initial_s`` .. ``reconnect_backoff_max_s``); the state is in the
``asymlp_connection_up{target="<venue>.<SYM>"}`` gauge and reconnects are counted in
``asymlp_errors_total{component="feed"}``. Health is ``degraded`` while a symbol has had no update
for ``MARKET_DATA.stale_after_s`` (``feed`` condition) or its stream is down.

Paper mode (no API key): the venue is the shared paper venue stepped at each boundary of the
reference path (:mod:`asymlp_runtime.processes.paper`), so the quotes equal the trading engine's
paper book. The paper venue prints trades only for its own taker fills, so a paper quote server
publishes quotes and book tops and no trades.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import msgspec

from asymlp_runtime.config import ProcessConfig
from asymlp_runtime.ops.resilience import BackoffPolicy
from asymlp_runtime.processes.base import ProcessBase
from asymlp_runtime.processes.exchange import (
    book_message,
    is_paper,
    open_live_venue,
    quote_message,
    symbols_of,
    trade_message,
    venue_of,
)
from asymlp_runtime.processes.paper import PaperSettings, make_paper_venue, run_paper_clock
from asymlp_runtime.processes.topics import book_topic, quote_topic, trade_topic
from asymlp_runtime.venues.base import Venue

__all__ = ["PROCESS_CLASS", "QuoteServer"]


class QuoteServer(ProcessBase):
    """Public market data of one exchange (see the module docstring).

    Parameters
    ----------
    config : ProcessConfig
        Needs a ``market_data`` publisher and ``[MARKET_DATA]``.
    venue : Venue or None
        Use this venue instead of opening one (tests).
    paper : PaperSettings or None
        Paper settings (default from the environment).
    poll_interval_s : float
        Polling period when the venue has no book stream.
    """

    kind = "quote_server"

    def __init__(
        self,
        config: ProcessConfig,
        *,
        venue: Venue | None = None,
        paper: PaperSettings | None = None,
        poll_interval_s: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(config, **kwargs)
        self.venue_name = venue_of(config)
        self.symbols = symbols_of(config)
        self.paper_settings = paper or PaperSettings.from_env()
        self.venue: Venue | None = venue
        self._own_venue = venue is None
        self.poll_interval_s = poll_interval_s
        self.stale_after_s = config.market_data.stale_after_s if config.market_data else 5.0
        ws = config.websocket
        self.backoff = BackoffPolicy(
            base_delay_s=ws.reconnect_backoff_initial_s if ws else 0.5,
            max_delay_s=ws.reconnect_backoff_max_s if ws else 30.0,
            max_attempts=1_000_000,
        )
        self._rng = random.Random()
        self.last_update: dict[str, float] = {}
        self.connected: dict[str, bool] = {}
        self.reconnects = 0
        self.published = 0

    async def on_start(self) -> None:
        if self.venue is None:
            if is_paper(self.config):
                self.venue = make_paper_venue(self.venue_name, self.symbols, self.paper_settings)
            else:
                self.venue = open_live_venue(self.config)
        await self.venue.load_markets()
        for symbol in self.symbols:
            self.spawn(self._book_loop(symbol), f"book.{symbol}")
            self.spawn(self._trade_loop(symbol), f"trades.{symbol}")
        if self._own_venue and is_paper(self.config):
            self.spawn(run_paper_clock(self.venue, self.paper_settings), "paper_clock")  # type: ignore[arg-type]

    async def on_stop(self) -> None:
        if self._own_venue and self.venue is not None:
            await self.venue.close()

    def _set_connected(self, symbol: str, up: bool) -> None:
        self.connected[symbol] = up
        self.metrics.set_connection(f"{self.venue_name}.{symbol}", up)

    async def _book_loop(self, symbol: str) -> None:
        venue = self.venue
        assert venue is not None
        failures = 0
        poll = False
        while True:
            try:
                if poll:
                    while True:
                        top = await venue.fetch_book_top(symbol)
                        self._set_connected(symbol, True)
                        failures = 0
                        await self._publish_top(top)
                        await asyncio.sleep(self.poll_interval_s)
                async for top in venue.watch_book_top(symbol):
                    if not self.connected.get(symbol):
                        self._set_connected(symbol, True)
                    failures = 0
                    await self._publish_top(top)
                raise ConnectionError("book stream ended")
            except asyncio.CancelledError:
                raise
            except NotImplementedError:
                poll = True
                continue
            except Exception as exc:
                self._set_connected(symbol, False)
                self.metrics.error("feed", type(exc).__name__)
                self.reconnects += 1
                delay = self.backoff.delay_s(min(failures, 60), self._rng)
                failures += 1
                self.log.warning(
                    "book stream of %s failed (%s), reconnecting in %.2f s", symbol, type(exc).__name__, delay
                )
                await asyncio.sleep(delay)

    async def _publish_top(self, top: Any) -> None:
        if not top.ts_recv_ns:
            top = msgspec.structs.replace(top, ts_recv_ns=time.time_ns())
        self.last_update[top.symbol] = time.monotonic()
        if top.bid_price >= top.ask_price or top.bid_price <= 0:
            self.metrics.error("feed", "crossed_book")
            return
        await self.publish(
            "market_data", quote_topic(self.venue_name, top.symbol), quote_message(self.venue_name, top)
        )
        await self.publish(
            "market_data", book_topic(self.venue_name, top.symbol), book_message(self.venue_name, top)
        )
        self.published += 1

    async def _trade_loop(self, symbol: str) -> None:
        venue = self.venue
        assert venue is not None
        failures = 0
        while True:
            try:
                async for t in venue.watch_trades(symbol):
                    failures = 0
                    await self.publish(
                        "market_data", trade_topic(self.venue_name, symbol), trade_message(self.venue_name, t)
                    )
                return  # the venue closed the stream (paper venue at stop)
            except asyncio.CancelledError:
                raise
            except NotImplementedError:
                return
            except Exception as exc:
                self.metrics.error("trades", type(exc).__name__)
                delay = self.backoff.delay_s(min(failures, 60), self._rng)
                failures += 1
                await asyncio.sleep(delay)

    def check_health(self) -> None:
        now = time.monotonic()
        stale = []
        for symbol in self.symbols:
            last = self.last_update.get(symbol)
            age = (now - last) if last is not None else self.uptime_s
            if age > self.stale_after_s or self.connected.get(symbol) is False:
                stale.append(f"{symbol} {age:.1f} s")
        if stale:
            self.set_condition("feed", "degraded", "no update: " + ", ".join(stale))
        else:
            self.clear_condition("feed")


PROCESS_CLASS = QuoteServer
