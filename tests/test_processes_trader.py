"""trader against a real trading engine on a paper venue (loopback): hedging to the band, kill
switch on stale quotes and on a venue that times out, recovery."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from asymlp_runtime import messages as m
from asymlp_runtime.bus import Publisher, Subscriber
from asymlp_runtime.journal import CheckpointRecord, Journal
from asymlp_runtime.ops.resilience import CircuitBreaker
from asymlp_runtime.processes.paper import PaperSettings, make_paper_venue
from asymlp_runtime.processes.trader import Trader
from asymlp_runtime.processes.trading_engine import TradingEngine
from process_helpers import (
    config_from_text,
    engine_config_text,
    free_ports,
    run_async,
    trader_config_text,
    wait_until,
)

pytestmark = pytest.mark.timeout(120)
SYM = "ETH/USDT:USDT"
NAMES = (
    "reports",
    "control",
    "orders",
    "risk",
    "trader_control",
    "market_data",
    "account",
    "lp",
    "supervisor",
)


class FlakyVenue:
    """A paper venue whose order calls hang while ``hang`` is set (a venue that times out)."""

    def __init__(self, inner):
        self.inner = inner
        self.hang = False

    def __getattr__(self, name):
        return getattr(self.inner, name)

    async def _maybe_hang(self):
        if self.hang:
            await asyncio.sleep(30.0)

    async def create_order(self, req):
        await self._maybe_hang()
        return await self.inner.create_order(req)

    async def fetch_order(self, cid, symbol):
        await self._maybe_hang()
        return await self.inner.fetch_order(cid, symbol)


def inventory(delta0: float, price: float = 3000.0) -> m.InventoryDelta:
    amount0 = max(delta0, 0.0)
    return m.InventoryDelta(
        pool_id="devnet",
        block_number=1,
        amount0_raw=str(int(amount0 * 1e18)),
        amount1_raw="0",
        amount0=amount0,
        amount1=0.0,
        delta0=delta0,
        price=price,
    )


class Stack:
    def __init__(self, tmp_path, **trader_kw):
        self.p = dict(zip(NAMES, free_ports(len(NAMES)), strict=True))
        settings = PaperSettings(directory=str(tmp_path / "paper"), step_s=0.05)
        self.paper = make_paper_venue("binance", [SYM], settings)
        self.paper.set_mid(SYM, 3000.0)
        self.venue = FlakyVenue(self.paper)
        self.engine = TradingEngine(
            config_from_text(engine_config_text(self.p), tmp_path),
            venue=self.venue,
            paper=settings,
            configure_logging=False,
            order_timeout_s=0.1,
            breaker=CircuitBreaker("binance", failure_threshold=3, cooldown_s=0.3),
        )
        self.trader = Trader(
            config_from_text(trader_config_text(self.p, **trader_kw), tmp_path),
            configure_logging=False,
            breaker_cooldown_s=0.4,
            flatten_retry_s=0.2,
        )
        self.quotes_on = True
        self.tasks = []

    async def __aenter__(self):
        p = self.p
        self.md = Publisher(f"tcp://127.0.0.1:{p['market_data']}", sender="quote_server_binance")
        self.lp = Publisher(f"tcp://127.0.0.1:{p['lp']}", sender="lp_manager")
        self.cmds = Subscriber(f"tcp://127.0.0.1:{p['trader_control']}", ["cmd.lp_manager", "hb."], m.Control)
        self.risk = Subscriber(f"tcp://127.0.0.1:{p['risk']}", ["risk.trader"], m.RiskStream)
        self.tasks = [
            asyncio.create_task(self.engine.run()),
            asyncio.create_task(self.trader.run()),
            asyncio.create_task(self._quotes()),
        ]
        assert await wait_until(lambda: self.engine.started.is_set() and self.trader.started.is_set(), 10)
        assert await wait_until(lambda: self.trader.mid == self.trader.mid, 5)
        hb = await self.cmds.recv(timeout_s=5.0)  # the command stream is connected (no slow joiner)
        assert hb is not None
        return self

    async def _quotes(self):
        while True:
            if self.quotes_on:
                top = await self.paper.fetch_book_top(SYM)
                await self.md.publish(
                    "quote.binance.ETHUSDT",
                    m.Quote(
                        venue="binance",
                        symbol=SYM,
                        bid=top.bid_price,
                        ask=top.ask_price,
                        bid_size=1.0,
                        ask_size=1.0,
                    ),
                )
            await asyncio.sleep(0.05)

    async def publish_inventory(self, delta0):
        await self.lp.publish("inventory.devnet", inventory(delta0))

    async def venue_position(self):
        positions = await self.paper.fetch_positions()
        return sum(p.qty for p in positions if p.symbol == SYM)

    async def __aexit__(self, *exc):
        self.trader.request_stop("test")
        self.engine.request_stop("test")
        for t in self.tasks:
            if t.done():
                continue
            if t is self.tasks[2]:
                t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(t, 10)
        for s in (self.md, self.lp, self.cmds, self.risk):
            s.close()


def hedged(stack, delta0):
    """The trader saw ``delta0`` and its residual is inside the band with nothing in flight."""
    t = stack.trader
    return t.lp_delta == delta0 and abs(t.residual) <= 0.05 and not t.in_flight


async def _lp_command(stack, timeout_s=3.0):
    """The next command the trader sent to lp_manager (``None`` if none came)."""
    for _ in range(200):
        d = await stack.cmds.recv(timeout_s=timeout_s)
        if d is None:
            return None
        if isinstance(d.message, m.Command) and d.message.target == "lp_manager":
            return d.message.command
    return None


async def _pull_liquidity(stack, timeout_s=3.0):
    return await _lp_command(stack, timeout_s) == "pull_liquidity"


def test_inventory_delta_hedged_to_within_band(tmp_path):
    async def scenario():
        async with Stack(tmp_path) as s:
            for delta in (1.234, 0.5, 2.0):
                await s.publish_inventory(delta)
                assert await wait_until(
                    lambda d=delta: (
                        s.trader.lp_delta == d
                        and abs(d + s.trader.hedge_position) <= 0.05
                        and not s.trader.in_flight
                    ),
                    5,
                )
                assert abs(delta + await s.venue_position()) <= 0.05
            risk = None
            for _ in range(20):
                d = await s.risk.recv(timeout_s=1.0)
                if d is not None and abs(d.message.residual) <= 0.05 and d.message.lp_delta == 2.0:
                    risk = d.message
                    break
            assert risk is not None and risk.kill_flags == 0
            assert risk.hedge_position == pytest.approx(-2.0, abs=0.05)
        with Journal(tmp_path / "journal" / "trader.sqlite") as j:
            decisions = [c for c in j.read(CheckpointRecord) if c.name == "hedge_decision"]
        assert [c.seq for c in decisions] == list(range(1, len(decisions) + 1)) and len(decisions) >= 3

    run_async(scenario())


def test_stale_quotes_trip_kill_switch_flatten_and_pull_liquidity(tmp_path):
    async def scenario():
        async with Stack(tmp_path, stale_s=0.3) as s:
            await s.publish_inventory(1.0)
            assert await wait_until(lambda: hedged(s, 1.0), 5)
            s.quotes_on = False
            assert await wait_until(lambda: s.trader.kill_flags & m.KILL_STALE_DATA, 3)
            assert await _pull_liquidity(s)
            assert await wait_until(lambda: s.trader.hedge_position == 0.0, 5)
            assert await s.venue_position() == pytest.approx(0.0, abs=1e-12)
            assert s.trader.health()["status"] == "degraded"
            s.quotes_on = True  # fresh quotes: the flag clears, the LP is resumed, hedging resumes
            assert await wait_until(lambda: s.trader.kill_flags == 0, 3)
            assert await _lp_command(s) == "resume"
            assert await wait_until(lambda: hedged(s, 1.0), 5)

    run_async(scenario())


def test_venue_timeouts_open_breaker_then_recover(tmp_path):
    async def scenario():
        async with Stack(tmp_path) as s:
            s.venue.hang = True
            await s.publish_inventory(1.0)
            assert await wait_until(lambda: s.trader.kill_flags & m.KILL_VENUE_DOWN, 8)
            assert await _pull_liquidity(s)
            assert s.engine.health()["status"] in ("degraded", "down")
            assert await s.venue_position() == 0.0
            s.venue.hang = False
            assert await wait_until(lambda: s.trader.kill_flags == 0 and hedged(s, 1.0), 10)
            assert await s.venue_position() == pytest.approx(-1.0, abs=0.05)
            assert s.paper.placed_count == 1  # the retried decision was placed once
            assert await wait_until(lambda: s.engine.health()["status"] == "ok", 3)

    run_async(scenario())


def test_malformed_out_of_order_unknown_version_counted_never_crash(tmp_path):
    async def scenario():
        import msgspec
        import zmq
        import zmq.asyncio

        async with Stack(tmp_path) as s:
            good = m.Quote(venue="binance", symbol=SYM, bid=2999.0, ask=3001.0, bid_size=1.0, ask_size=1.0)
            old = msgspec.structs.replace(good, sender="quote_server_binance", seq=0, ts_sent_ns=1)
            future = msgspec.structs.replace(good, version=2, sender="x", seq=1)
            topic = b"quote.binance.ETHUSDT"
            for raw in (s.md, s.lp):
                await raw.send_raw(
                    b"quote.binance.ETHUSDT" if raw is s.md else b"inventory.devnet", b"\x00junk"
                )
            await s.md.send_raw(topic, m.encode(old))  # seq 0 after >= 1: out of order
            await s.md.send_raw(topic, m.encode(future))
            await s.md.send_raw(topic, m.encode(msgspec.structs.replace(good, bid=float("nan"), seq=10**9)))
            dealer = zmq.asyncio.Context.instance().socket(zmq.DEALER)
            dealer.connect(f"tcp://127.0.0.1:{s.p['orders']}")
            await dealer.send(b"\x92not a request")
            counters = s.trader.subscribers["market_data"].counters
            assert await wait_until(
                lambda: (
                    counters["malformed"] >= 1
                    and counters["unknown_version"] >= 1
                    and counters["invalid"] >= 1
                    and counters["out_of_order"] >= 1
                ),
                5,
            )
            assert await wait_until(lambda: s.trader.subscribers["lp"].counters["malformed"] >= 1, 5)
            assert await wait_until(lambda: s.engine.servers["orders"].counters["malformed"] >= 1, 5)
            dealer.close(linger=0)
            await s.publish_inventory(0.7)
            assert await wait_until(lambda: hedged(s, 0.7), 5)
            assert all(not t.done() for t in s.tasks)

    run_async(scenario())


def test_restart_reuses_the_id_of_an_unresolved_decision(tmp_path):
    async def scenario():
        p = dict(zip(NAMES, free_ports(len(NAMES)), strict=True))
        (tmp_path / "journal").mkdir()
        with Journal(tmp_path / "journal" / "trader.sqlite") as j:
            for seq in (1, 2, 3):
                j.append(
                    CheckpointRecord(
                        process="trader", name="hedge_decision", seq=seq, payload="{}", ts_ns=seq
                    )
                )
            j.append(
                CheckpointRecord(process="trader", name="hedge_resolved", seq=2, payload="accepted", ts_ns=9)
            )
        expected = {}
        for resolved_last in (False, True):
            if resolved_last:
                with Journal(tmp_path / "journal" / "trader.sqlite") as j:
                    j.append(
                        CheckpointRecord(
                            process="trader", name="hedge_resolved", seq=3, payload="accepted", ts_ns=10
                        )
                    )
            trader = Trader(config_from_text(trader_config_text(p), tmp_path), configure_logging=False)
            task = asyncio.create_task(trader.run())
            assert await wait_until(trader.started.is_set, 5)
            expected[resolved_last] = trader.seq + 1  # the seq of the next decision
            trader.request_stop("test")
            assert await asyncio.wait_for(task, 10) == 0
        assert expected == {False: 3, True: 4}

    run_async(scenario())


def test_max_loss_latches_kill_switch_and_flattens(tmp_path):
    async def scenario():
        async with Stack(tmp_path, max_loss=1.0) as s:  # the taker fee of one hedge already loses more
            await s.publish_inventory(1.0)
            assert await wait_until(lambda: s.trader.kill_flags & m.KILL_MAX_LOSS, 5)
            assert await _pull_liquidity(s)
            assert await wait_until(lambda: s.trader.hedge_position == 0.0 and not s.trader.in_flight, 5)
            assert await s.venue_position() == pytest.approx(0.0, abs=1e-12)
            await asyncio.sleep(0.3)
            assert s.trader.kill_flags & m.KILL_MAX_LOSS  # latched: no re-hedge while the loss stands
            assert s.trader.hedge_position == 0.0

    run_async(scenario())


def test_restarted_trader_keeps_its_hedge_and_does_not_hedge_twice(tmp_path):
    async def scenario():
        async with Stack(tmp_path) as s:
            await s.publish_inventory(1.0)
            assert await wait_until(lambda: hedged(s, 1.0), 5)
            hedge = s.trader.hedge_position
            s.trader.request_stop("restart")
            assert await asyncio.wait_for(s.tasks[1], 10) == 0
            s.trader = Trader(
                config_from_text(trader_config_text(s.p), tmp_path),
                configure_logging=False,
                position_wait_s=0.3,
            )
            s.tasks[1] = asyncio.create_task(s.trader.run())
            assert await wait_until(s.trader.started.is_set, 5)
            assert s.trader.hedge_position == hedge and not s.trader.position_known
            assert s.trader.lp_delta == 1.0  # restored: no unwinding before the LP speaks again
            await asyncio.sleep(0.6)
            assert s.trader.orders_sent == 0
            for _ in range(3):
                await s.publish_inventory(1.0)
                await asyncio.sleep(0.2)
            assert s.trader.position_known and s.trader.orders_sent == 0
            assert await s.venue_position() == pytest.approx(hedge)
            assert abs(s.trader.pnl) < 5.0  # restored cash matches the restored hedge

    run_async(scenario())


def test_flatten_command_latches_until_resume(tmp_path):
    async def scenario():
        async with Stack(tmp_path) as s:
            sup = Publisher(f"tcp://127.0.0.1:{s.p['supervisor']}", sender="supervisor")
            try:
                await s.publish_inventory(1.0)
                assert await wait_until(lambda: hedged(s, 1.0), 5)
                for i in range(50):  # until the subscriber has joined
                    await sup.publish(
                        "cmd.trader", m.Command(command_id=f"f{i}", command="flatten", target="trader")
                    )
                    if await wait_until(lambda: s.trader.kill_flags & m.KILL_MANUAL, 0.1):
                        break
                assert await wait_until(lambda: s.trader.hedge_position == 0.0 and not s.trader.in_flight, 5)
                assert await _pull_liquidity(s)
                await asyncio.sleep(0.3)
                assert s.trader.kill_flags & m.KILL_MANUAL and s.trader.hedge_position == 0.0
                await sup.publish("cmd.all", m.Command(command_id="r1", command="resume"))
                assert await wait_until(lambda: s.trader.kill_flags == 0, 3)
                assert await _lp_command(s) == "resume"
                assert await wait_until(lambda: hedged(s, 1.0), 5)
            finally:
                sup.close()

    run_async(scenario())
