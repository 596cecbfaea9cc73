"""quote_server, trading_engine and position_server of one exchange on one paper venue: quotes
are decodable and follow the shared reference price, fills are at those prices, positions match."""

from __future__ import annotations

import asyncio

import pytest

from asymlp_runtime import messages as m
from asymlp_runtime.bus import RequestClient, Subscriber
from asymlp_runtime.journal import Journal, PositionSnapshot
from asymlp_runtime.processes.paper import PaperAccountStore, PaperSettings, paper_markets
from asymlp_runtime.processes.position_server import PositionServer
from asymlp_runtime.processes.quote_server import QuoteServer
from asymlp_runtime.processes.trading_engine import TradingEngine
from asymlp_runtime.venues.base import Side
from asymlp_runtime.venues.paper.price import ReferencePath, brownian_at, reference_mid
from process_helpers import config_from_text, engine_config_text, free_ports, run_async, wait_until

pytestmark = pytest.mark.timeout(90)
SYM = "ETH/USDT:USDT"


def _qs_text(p):
    return f"""
[GLOBAL]
process_name = "quote_server_binance"
log_dir = "{{tmp}}/logs"
heartbeat_interval_s = 0.1
[PUBLISHERS]
market_data = "tcp://127.0.0.1:{p["market_data"]}"
control = "tcp://127.0.0.1:{p["qs_control"]}"
[HTTP_API]
exchange_id = "binanceusdm"
[MARKET_DATA]
symbols = ["ETH/USDT:USDT"]
stale_after_s = 0.5
"""


def _ps_text(p):
    return f"""
[GLOBAL]
process_name = "position_server_binance"
log_dir = "{{tmp}}/logs"
heartbeat_interval_s = 0.1
journal_path = "{{tmp}}/journal/position_server_binance.sqlite"
[PUBLISHERS]
account = "tcp://127.0.0.1:{p["account"]}"
control = "tcp://127.0.0.1:{p["ps_control"]}"
[SUBSCRIBERS.reports]
endpoint = "tcp://127.0.0.1:{p["reports"]}"
topics = ["fill.binance."]
[HTTP_API]
exchange_id = "binanceusdm"
[MARKET_DATA]
symbols = ["ETH/USDT:USDT"]
"""


def _expected_top(settings, ts_ns):
    rules = paper_markets([SYM])[0]
    mid = settings.path(SYM)(ts_ns)
    half = 0.5 * 2.0 * 1e-4 * mid
    return rules.round_price(mid - half, Side.BUY), rules.round_price(mid + half, Side.SELL)


def test_reference_mid_is_a_pure_function_of_seed_and_time():
    t = 1_790_000_000 * 10**9
    a = ReferencePath(3, SYM)
    assert a(t) == ReferencePath(3, SYM)(t) == reference_mid(t, 3, SYM)
    assert a(t) == a(t + 999_999_999 - t % 10**9)  # constant within a step
    assert a(t) != ReferencePath(4, SYM)(t)
    assert brownian_at(b"k", 0) == 0.0
    steps = [ReferencePath(5, SYM, sigma_per_step=1e-3).mid_at_step(k) for k in range(-200, 200)]
    assert all(x > 0 for x in steps) and len(set(steps)) == len(steps)


def test_paper_stack_quotes_fills_and_positions_agree(tmp_path):
    async def scenario():
        names = ("market_data", "qs_control", "reports", "control", "orders", "account", "ps_control")
        p = dict(zip(names, free_ports(len(names)), strict=True))
        settings = PaperSettings(directory=str(tmp_path / "paper"), step_s=0.2, seed=11)
        qs = QuoteServer(config_from_text(_qs_text(p), tmp_path), paper=settings, configure_logging=False)
        te = TradingEngine(
            config_from_text(engine_config_text(p), tmp_path), paper=settings, configure_logging=False
        )
        ps = PositionServer(
            config_from_text(_ps_text(p), tmp_path),
            paper=settings,
            poll_interval_s=0.1,
            configure_logging=False,
        )
        quotes = Subscriber(f"tcp://127.0.0.1:{p['market_data']}", ["quote.binance.ETHUSDT"], m.MarketData)
        fills = Subscriber(f"tcp://127.0.0.1:{p['reports']}", ["fill.binance."], m.Reports)
        account = Subscriber(f"tcp://127.0.0.1:{p['account']}", ["position.binance."], m.Account)
        tasks = [asyncio.create_task(x.run()) for x in (qs, te, ps)]
        try:
            assert await wait_until(lambda: all(x.started.is_set() for x in (qs, te, ps)), 10)
            seen = []
            for _ in range(200):
                d = await quotes.recv(timeout_s=2.0)
                assert d is not None
                q = d.message
                assert isinstance(q, m.Quote) and q.ts_exchange_ns > 0 and q.ts_recv_ns > 0
                # the step's mid is drawn a moment before the top is stamped (a loaded machine may
                # put a step boundary in between): the top is the one of this step or the last
                step_ns = 200_000_000
                tops = {_expected_top(settings, q.ts_exchange_ns - k * step_ns) for k in (0, 1)}
                assert (q.bid, q.ask) in tops
                seen.append(q)
                if len(seen) >= 5:
                    break
            client = RequestClient(
                f"tcp://127.0.0.1:{p['orders']}", m.Reports, sender="trader", timeout_s=2.0
            )
            try:
                ack = await client.request(
                    m.OrderRequest(client_order_id="ps-1", venue="binance", symbol=SYM, side="buy", qty=0.25)
                )
                assert ack.accepted, ack.reason
            finally:
                await client.close()
            fill = (await fills.recv(timeout_s=5.0)).message
            asks = {_expected_top(settings, fill.ts_exchange_ns - k * 200_000_000)[1] for k in (0, 1, 2)}
            assert fill.price in asks  # the engine's book is the quote server's book
            pos = None
            for _ in range(100):
                d = await account.recv(timeout_s=1.0)
                if d is not None and d.message.qty != 0.0:
                    pos = d.message
                    break
            assert pos is not None and pos.qty == pytest.approx(0.25) and pos.entry_price == fill.price
            stored = PaperAccountStore(settings.account_path("binance")).load("binance")
            assert [x.qty for x in stored.positions] == [pytest.approx(0.25)]
            assert qs.health()["status"] == "ok" and ps.health()["status"] == "ok"
        finally:
            for x in (qs, te, ps):
                x.request_stop("test")
            for t in tasks:
                assert await asyncio.wait_for(t, 10) == 0
            for s in (quotes, fills, account):
                s.close()
        with Journal(tmp_path / "journal" / "position_server_binance.sqlite") as j:
            assert any(s.qty == pytest.approx(0.25) for s in j.read(PositionSnapshot))

    run_async(scenario())


def test_quote_server_stale_feed_degrades_health(tmp_path):
    async def scenario():
        p = dict(zip(("market_data", "qs_control"), free_ports(2), strict=True))
        settings = PaperSettings(directory=str(tmp_path / "paper"), step_s=0.05)
        from asymlp_runtime.processes.paper import make_paper_venue

        venue = make_paper_venue("binance", [SYM], settings)  # injected and never stepped: no updates
        qs = QuoteServer(
            config_from_text(_qs_text(p), tmp_path), venue=venue, paper=settings, configure_logging=False
        )
        health = Subscriber(f"tcp://127.0.0.1:{p['qs_control']}", ["health."], m.Control)
        task = asyncio.create_task(qs.run())
        try:
            got = None
            for _ in range(50):
                d = await health.recv(timeout_s=1.0)
                if d is not None and d.message.status == "degraded":
                    got = d.message
                    break
            assert got is not None and "feed" in got.detail
            await venue.step()
            assert await wait_until(lambda: qs.published >= 1, 3)
        finally:
            qs.request_stop("test")
            assert await asyncio.wait_for(task, 10) == 0
            health.close()

    run_async(scenario())


class _FlakyFeed:
    """A venue whose book stream fails ``failures`` times before it streams."""

    def __init__(self, inner, failures):
        self.inner, self.failures, self.opened = inner, failures, 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    async def watch_book_top(self, symbol):
        self.opened += 1
        if self.opened <= self.failures:
            raise ConnectionError("stream dropped")
        async for top in self.inner.watch_book_top(symbol):
            yield top


def test_quote_server_reconnects_with_backoff_after_stream_failures(tmp_path):
    async def scenario():
        from asymlp_runtime.processes.paper import make_paper_venue

        p = dict(zip(("market_data", "qs_control"), free_ports(2), strict=True))
        text = (
            _qs_text(p) + "[WEBSOCKET]\nreconnect_backoff_initial_s = 0.01\nreconnect_backoff_max_s = 0.05\n"
        )
        settings = PaperSettings(directory=str(tmp_path / "paper"), step_s=0.05)
        inner = make_paper_venue("binance", [SYM], settings)
        venue = _FlakyFeed(inner, failures=3)
        qs = QuoteServer(
            config_from_text(text, tmp_path), venue=venue, paper=settings, configure_logging=False
        )
        quotes = Subscriber(f"tcp://127.0.0.1:{p['market_data']}", ["quote."], m.MarketData)
        task = asyncio.create_task(qs.run())
        try:
            assert await wait_until(lambda: venue.opened >= 4, 5)
            got = None
            for _ in range(100):
                await inner.step()
                got = await quotes.recv(timeout_s=0.1)
                if got is not None:
                    break
            assert got is not None and qs.reconnects == 3 and qs.connected[SYM]
            assert (
                b'asymlp_connection_up{process="quote_server_binance",target="binance.ETH/USDT:USDT"} 1.0'
                in (qs.metrics.render())
            )
        finally:
            qs.request_stop("test")
            assert await asyncio.wait_for(task, 10) == 0
            quotes.close()

    run_async(scenario())
