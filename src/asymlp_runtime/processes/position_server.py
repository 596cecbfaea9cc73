"""``position_server``: one exchange's balances and positions on the bus.

It polls the venue's account (``fetch_positions``, ``fetch_balance``) every ``poll_interval_s``
and at once after every :class:`~asymlp_runtime.messages.Fill` it receives from the trading
engine (``reports`` subscriber, topic ``fill.<venue>.``: the private stream that tells it the
account moved). Each poll publishes on the ``account`` publisher:

- one :class:`~asymlp_runtime.messages.Position` per symbol of ``MARKET_DATA.symbols`` (flat
  symbols with ``qty = 0``, so a subscriber always knows the hedge) on ``position.<venue>.<SYM>``;
- one :class:`~asymlp_runtime.messages.Balance` per currency on ``balance.<venue>.<CCY>``.

Snapshots go to the journal (:class:`~asymlp_runtime.journal.PositionSnapshot`,
:class:`~asymlp_runtime.journal.BalanceSnapshot`, ``source="venue"``) when a quantity changes and
at least every ``snapshot_every_s``.

Paper mode reads the paper account file the trading engine writes
(:class:`~asymlp_runtime.processes.paper.PaperAccountReader`). Health: ``account`` condition
``degraded`` after a failed poll, ``down`` when no poll has succeeded for ``5 * poll_interval_s``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from asymlp_runtime import messages as m
from asymlp_runtime.config import ProcessConfig
from asymlp_runtime.journal import BalanceSnapshot, PositionSnapshot
from asymlp_runtime.processes.base import ProcessBase
from asymlp_runtime.processes.exchange import is_paper, open_live_venue, symbols_of, venue_of
from asymlp_runtime.processes.paper import PaperAccountReader, PaperSettings
from asymlp_runtime.processes.topics import balance_topic, position_topic

__all__ = ["PROCESS_CLASS", "PositionServer"]


class PositionServer(ProcessBase):
    """Balances and positions of one exchange (see the module docstring).

    Parameters
    ----------
    config : ProcessConfig
        Needs an ``account`` publisher.
    venue : object or None
        Anything with ``fetch_positions`` and ``fetch_balance`` (tests); otherwise the paper
        account reader or the ccxt adapter.
    paper : PaperSettings or None
        Paper settings (default from the environment).
    poll_interval_s, snapshot_every_s, request_timeout_s : float
        Poll period, longest time between journal snapshots, bound on each venue call.
    """

    kind = "position_server"

    def __init__(
        self,
        config: ProcessConfig,
        *,
        venue: Any = None,
        paper: PaperSettings | None = None,
        poll_interval_s: float = 1.0,
        snapshot_every_s: float = 60.0,
        request_timeout_s: float = 5.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(config, **kwargs)
        self.venue_name = venue_of(config)
        self.symbols = symbols_of(config)
        self.paper_settings = paper or PaperSettings.from_env()
        self.venue = venue
        self._own_venue = venue is None
        self.poll_interval_s = poll_interval_s
        self.snapshot_every_s = snapshot_every_s
        self.request_timeout_s = request_timeout_s
        self.positions: dict[str, m.Position] = {}
        self.balances: dict[str, m.Balance] = {}
        self.polls = 0
        self.poll_failures = 0
        self._last_ok = time.monotonic()
        self._last_journaled: dict[str, tuple[float, float]] = {}
        self._wake = asyncio.Event()

    async def on_start(self) -> None:
        if self.venue is None:
            if is_paper(self.config):
                self.venue = PaperAccountReader(self.venue_name, self.symbols, self.paper_settings)
            else:
                self.venue = open_live_venue(self.config)
                await self.venue.load_markets()
        self.spawn(self._poll_loop(), "poll")

    async def on_stop(self) -> None:
        if self._own_venue and self.venue is not None:
            await self.venue.close()

    async def on_message(self, stream: str, delivery: Any) -> None:
        if isinstance(delivery.message, m.Fill):
            self._wake.set()

    async def _poll_loop(self) -> None:
        while True:
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.poll_failures += 1
                self.metrics.error("account", type(exc).__name__)
                self.set_condition("account", "degraded", f"poll failed: {type(exc).__name__}")
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_interval_s)
            except TimeoutError:
                pass

    async def poll_once(self) -> None:
        """Fetch positions and balances once, publish them, journal what changed."""
        venue = self.venue
        positions = await asyncio.wait_for(venue.fetch_positions(), self.request_timeout_s)
        balances = await asyncio.wait_for(venue.fetch_balance(), self.request_timeout_s)
        now = time.time_ns()
        by_symbol = {p.symbol: p for p in positions}
        for symbol in dict.fromkeys((*self.symbols, *by_symbol)):
            p = by_symbol.get(symbol)
            msg = m.Position(
                venue=self.venue_name,
                symbol=symbol,
                qty=p.qty if p else 0.0,
                entry_price=p.entry_price if p and p.entry_price > 0 else None,
                mark_price=p.mark_price if p and p.mark_price and p.mark_price > 0 else None,
                unrealized_pnl=p.unrealized_pnl if p else 0.0,
                ts_exchange_ns=p.ts_exchange_ns if p else 0,
                ts_recv_ns=now,
            )
            self.positions[symbol] = msg
            await self.publish("account", position_topic(self.venue_name, symbol), msg)
            await self._journal_position(msg, now)
        for b in balances:
            msg_b = m.Balance(
                venue=self.venue_name,
                currency=b.currency,
                total=b.total,
                free=b.free,
                used=max(0.0, b.used),
                ts_exchange_ns=b.ts_exchange_ns,
                ts_recv_ns=now,
            )
            self.balances[b.currency] = msg_b
            await self.publish("account", balance_topic(self.venue_name, b.currency), msg_b)
            await self._journal_balance(msg_b, now)
        self.polls += 1
        self._last_ok = time.monotonic()
        self.clear_condition("account")

    def _due(self, key: str, value: float, now: int) -> bool:
        last = self._last_journaled.get(key)
        if last is not None and last[1] == value and (now - last[0]) * 1e-9 < self.snapshot_every_s:
            return False
        self._last_journaled[key] = (now, value)
        return True

    async def _journal_position(self, p: m.Position, now: int) -> None:
        if self.journal is None or not self._due(f"p:{p.symbol}", p.qty, now):
            return
        await self.journal.append(
            PositionSnapshot(
                venue=self.venue_name,
                symbol=p.symbol,
                qty=p.qty,
                avg_entry_price=p.entry_price,
                unrealised_pnl=p.unrealized_pnl,
                source="venue",
                ts_ns=now,
            )
        )

    async def _journal_balance(self, b: m.Balance, now: int) -> None:
        if self.journal is None or not self._due(f"b:{b.currency}", b.total, now):
            return
        await self.journal.append(
            BalanceSnapshot(
                venue=self.venue_name,
                asset=b.currency,
                total=b.total,
                free=b.free,
                used=b.used,
                ts_ns=now,
            )
        )

    def check_health(self) -> None:
        age = time.monotonic() - self._last_ok
        if age > 5 * self.poll_interval_s:
            self.set_condition("account", "down", f"no successful poll for {age:.1f} s")


PROCESS_CLASS = PositionServer
