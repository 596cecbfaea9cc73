"""The ccxt adapter's WebSocket paths through ``ccxt.pro.binanceusdm`` against a local USD-M stand-in.

``tests/exchange_ws_stubs.py`` serves binance USD-M's REST endpoints and its stream formats on
127.0.0.1: the diff depth stream synced on the ``/fapi/v1/depth`` snapshot, ``trade`` and
``aggTrade`` streams, and the user data stream behind ``POST /fapi/v1/listenKey`` with
``ORDER_TRADE_UPDATE`` events. Every test goes through :class:`CcxtVenue`; every wait is bounded
(``NEXT_S`` per stream item, ``run``'s overall deadline).
"""

from __future__ import annotations

import asyncio
import logging

import msgspec
import pytest

from asymlp_runtime.ops.resilience import (
    BackoffPolicy,
    BreakerState,
    CircuitBreaker,
    CircuitOpenError,
    ManualClock,
    RateLimiter,
)
from asymlp_runtime.venues import errors as verr
from asymlp_runtime.venues.base import Liquidity, OrderStatus, Side
from exchange_stubs import FAKE_KEY, FAKE_SECRET
from exchange_ws_stubs import MAKER_FEE, TAKER_FEE, BinanceWsStub, wait_until
from test_venue_ccxt import BINANCE_SYM, binance, limit_buy, run, with_venue

pytestmark = pytest.mark.timeout(60)

NEXT_S = 5.0  # bound on waiting for one stream item
DEPTH = "ethusdt@depth@100ms"


async def nxt(stream):
    return await asyncio.wait_for(anext(stream), NEXT_S)


def top_of(t):
    return (t.bid_price, t.bid_qty, t.ask_price, t.ask_qty)


# ---------------------------------------------------------------------------------------------
# order book
# ---------------------------------------------------------------------------------------------
def test_book_top_is_snapshot_then_each_depth_update_exactly():
    async def body(v, stub):
        await v.load_markets()
        book = v.watch_book_top(BINANCE_SYM)
        first = await nxt(book)
        assert top_of(first) == (3000.10, 12.345, 3000.11, 7.89)  # the REST snapshot
        assert stub.ws_received == [{"method": "SUBSCRIBE", "params": [DEPTH], "id": 1}]
        assert stub.state.count("GET", "/fapi/v1/depth") == 1

        await stub.push_depth(bids=[("3000.10", "0"), ("3000.05", "2.000")])  # best bid removed
        assert top_of(await nxt(book)) == (3000.05, 2.0, 3000.11, 7.89)
        await stub.push_depth(asks=[("3000.11", "1.250")], n_updates=3)  # one event, three ids
        assert top_of(await nxt(book)) == (3000.05, 2.0, 3000.11, 1.25)
        await stub.push_depth(bids=[("3000.07", "0.400")], asks=[("3000.09", "0.500")])
        top = await nxt(book)
        assert top_of(top) == (3000.07, 0.4, 3000.09, 0.5)
        assert top.symbol == BINANCE_SYM and top.ts_exchange_ns > 0 and top.ts_recv_ns > 0
        await book.aclose()

    run(with_venue(BinanceWsStub(), binance, body))


def test_depth_updates_during_snapshot_fetch_buffered_and_applied_on_it():
    async def body(v, stub):
        await v.load_markets()
        stub.depth_hold = asyncio.Event()
        book = v.watch_book_top(BINANCE_SYM)
        first = asyncio.ensure_future(nxt(book))
        await wait_until(lambda: stub.state.count("GET", "/fapi/v1/depth") == 1, what="snapshot request")
        # the snapshot is taken; these arrive before it does and carry later update ids
        await stub.push_depth(asks=[("3000.11", "0")])
        await stub.push_depth(bids=[("3000.10", "20.000")])
        pending = v.exchange.orderbooks[BINANCE_SYM]
        await wait_until(lambda: len(pending.cache) == 2, what="ccxt to buffer both updates")
        stub.depth_hold.set()
        assert top_of(await first) == (3000.10, 20.0, 3000.20, 3.5)
        await book.aclose()

    run(with_venue(BinanceWsStub(), binance, body))


async def lose_an_event(stub):
    stub.book_asks["3000.11"] = "9.999"  # the change carried by the lost event
    await stub.push_depth(bids=[("3000.10", "1.000")], gap=1)


async def drop_the_socket(stub):
    await stub.drop_connections()


@pytest.mark.parametrize(
    ("interrupt", "resynced", "sockets"),
    [
        # ccxt drops its book and raises ChecksumError (a NetworkError): retried, it subscribes
        # again on the same socket and syncs on a fresh snapshot
        (lose_an_event, (3000.10, 1.0, 3000.11, 9.999), 1),
        # the server closes the socket: retried, ccxt connects and subscribes again
        (drop_the_socket, (3000.10, 12.345, 3000.11, 7.89), 2),
    ],
)
def test_stream_interruption_retried_with_backoff_and_book_resynced(interrupt, resynced, sockets, caplog):
    caplog.set_level(logging.WARNING, logger="asymlp_runtime.venues.ccxt")
    clock = ManualClock()

    async def body(v, stub):
        await v.load_markets()
        book = v.watch_book_top(BINANCE_SYM)
        await nxt(book)
        pending = asyncio.ensure_future(nxt(book))
        await interrupt(stub)
        assert top_of(await pending) == resynced
        assert stub.state.count("GET", "/fapi/v1/depth") == 2
        assert len(stub.ws_paths) == sockets
        assert [(f["method"], f["params"]) for f in stub.ws_received] == [("SUBSCRIBE", [DEPTH])] * 2
        assert len(clock.sleeps) == 1 and 0 < clock.sleeps[0] <= 0.05  # one backoff wait
        assert v.breaker.state is BreakerState.CLOSED
        await stub.push_depth(bids=[("3000.10", "2.000")])  # and it follows the stream again
        assert top_of(await nxt(book))[:2] == (3000.10, 2.0)
        await book.aclose()

    run(with_venue(BinanceWsStub(), lambda url: binance(url, clock=clock), body))
    assert any("retrying" in r.getMessage() for r in caplog.records)


def test_refused_stream_handshakes_open_the_breaker():
    clock = ManualClock()
    backoff = BackoffPolicy(base_delay_s=0.01, max_delay_s=0.01, max_attempts=2)
    breaker = CircuitBreaker("binance", failure_threshold=2, cooldown_s=30.0, clock=clock)

    async def body(v, stub):
        await v.load_markets()
        stub.state.fail_next.extend([503] * 4)  # the WebSocket upgrade answered with 503
        with pytest.raises(verr.NetworkError):
            await nxt(v.watch_book_top(BINANCE_SYM))  # two attempts, two failures
        assert v.breaker.state is BreakerState.OPEN
        with pytest.raises(CircuitOpenError):
            await nxt(v.watch_book_top(BINANCE_SYM))  # rejected without a connection attempt
        assert stub.state.fail_next == [503] * 2
        clock.advance(30.0)
        stub.state.fail_next.clear()
        book = v.watch_book_top(BINANCE_SYM)
        assert top_of(await nxt(book)) == (3000.10, 12.345, 3000.11, 7.89)
        assert v.breaker.state is BreakerState.CLOSED
        await book.aclose()

    run(with_venue(BinanceWsStub(), lambda url: binance(url, clock=clock, backoff=backoff, breaker=breaker), body))


def test_stream_updates_do_not_spend_the_request_rate_budget():
    clock = ManualClock()

    def make(url):
        limiter = RateLimiter(1.0, 3.0, clock=clock, sleep=clock.sleep)  # three requests banked
        return binance(url, clock=clock, rate_limiter=limiter)

    async def body(v, stub):
        await v.load_markets()  # one request
        book = v.watch_book_top(BINANCE_SYM)
        await nxt(book)  # the subscription: one more
        for k in range(5):
            await stub.push_depth(bids=[("3000.10", f"{k + 1}.000")])
            assert (await nxt(book)).bid_qty == k + 1
        assert v.rate_limiter.tokens == pytest.approx(1.0)  # one left for an order, at once
        await v.create_order(limit_buy(key=15))
        assert clock.sleeps == []  # nothing waited for a token
        await book.aclose()

    run(with_venue(BinanceWsStub(), make, body))


# ---------------------------------------------------------------------------------------------
# public trades
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("options", "stream", "ids"),
    [
        (None, "ethusdt@trade", ["5000001", "5000002", "5000003"]),
        ({"watchTrades": {"name": "aggTrade"}}, "ethusdt@aggTrade", ["900001", "900002", "900003"]),
    ],
)
def test_trades_yield_id_price_qty_and_taker_side(options, stream, ids):
    async def body(v, stub):
        await v.load_markets()
        trades = v.watch_trades(BINANCE_SYM)
        first = asyncio.ensure_future(nxt(trades))
        await wait_until(lambda: stub.subscribed(stream), what=stream)
        await stub.push_trade("3000.11", "0.500", buyer_is_maker=False)  # a buyer took the ask
        await stub.push_trade("3000.10", "1.250", buyer_is_maker=True)  # a seller hit the bid
        await stub.push_trade("3000.10", "0.001", buyer_is_maker=True)
        got = [await first]
        while len(got) < 3:
            got.append(await nxt(trades))
        assert [(t.trade_id, t.price, t.qty, t.side) for t in got] == [
            (ids[0], 3000.11, 0.5, Side.BUY),
            (ids[1], 3000.10, 1.25, Side.SELL),
            (ids[2], 3000.10, 0.001, Side.SELL),
        ]
        assert all(t.symbol == BINANCE_SYM and t.ts_exchange_ns > 0 for t in got)
        await trades.aclose()

    run(with_venue(BinanceWsStub(), lambda url: binance(url, extra_options=options), body))


# ---------------------------------------------------------------------------------------------
# user data stream
# ---------------------------------------------------------------------------------------------
async def open_user_stream(v, stub, stream):
    """Start ``stream`` and wait until ccxt has its listen key and the socket is up."""
    first = asyncio.ensure_future(nxt(stream))
    await wait_until(lambda: stub.user, what="user data connection")
    return first


def test_orders_stream_new_partially_filled_filled_after_rest_order():
    async def body(v, stub):
        await v.load_markets()
        orders = v.watch_orders()
        first = await open_user_stream(v, stub, orders)
        assert stub.state.count("POST", "/fapi/v1/listenKey") == 1
        assert stub.ws_paths == [f"/ws-linear?listenKey={stub.listen_keys[0]}"]
        req = limit_buy(key=11, qty=0.01, price=2990.0)
        placed = await v.create_order(req)
        new = await first
        assert (new.client_order_id, new.venue_order_id, new.status, new.filled_qty) == (
            req.client_order_id,
            placed.venue_order_id,
            OrderStatus.OPEN,
            0.0,
        )
        assert (new.side, new.qty, new.price, new.symbol) == (Side.BUY, 0.01, 2990.0, BINANCE_SYM)
        await stub.fill(req.client_order_id, "0.004", "2990")
        part = await nxt(orders)
        assert (part.status, part.filled_qty, part.avg_fill_price) == (OrderStatus.PARTIALLY_FILLED, 0.004, 2990.0)
        await stub.fill(req.client_order_id, "0.006", "2989.5")
        done = await nxt(orders)
        assert (done.status, done.filled_qty, done.client_order_id) == (OrderStatus.FILLED, 0.01, req.client_order_id)
        assert done.avg_fill_price == pytest.approx((0.004 * 2990 + 0.006 * 2989.5) / 0.01)
        rest = await v.fetch_order(req.client_order_id, BINANCE_SYM)  # REST agrees with the stream
        assert (rest.status, rest.filled_qty) == (OrderStatus.FILLED, 0.01)
        assert stub.state.auth_failures == []
        await orders.aclose()

    run(with_venue(BinanceWsStub(), binance, body))


def test_fills_carry_client_order_id_qty_price_fee_and_liquidity():
    async def body(v, stub):
        await v.load_markets()
        fills = v.watch_fills()
        first = await open_user_stream(v, stub, fills)
        req = limit_buy(key=12, qty=0.01, price=2990.0)
        placed = await v.create_order(req)
        await stub.fill(req.client_order_id, "0.004", "2990", maker=True)
        f1 = await first
        await stub.fill(req.client_order_id, "0.006", "2991.5", maker=False)
        f2 = await nxt(fills)
        for f, qty, price, rate, liq in (
            (f1, 0.004, 2990.0, MAKER_FEE, Liquidity.MAKER),
            (f2, 0.006, 2991.5, TAKER_FEE, Liquidity.TAKER),
        ):
            assert (f.client_order_id, f.venue_order_id, f.symbol, f.side) == (
                req.client_order_id,
                placed.venue_order_id,
                BINANCE_SYM,
                Side.BUY,
            )
            assert (f.qty, f.price, f.liquidity, f.fee_currency) == (qty, price, liq, "USDT")
            assert f.fee == pytest.approx(qty * price * rate, rel=1e-9)
        assert (f1.fill_id, f2.fill_id) == ("5000001", "5000002")
        await fills.aclose()

    run(with_venue(BinanceWsStub(), binance, body))


def test_fill_arriving_while_consumer_handles_previous_is_delivered_without_another_event():
    async def body(v, stub):
        await v.load_markets()
        fills, orders = v.watch_fills(), v.watch_orders()
        first_fill = await open_user_stream(v, stub, fills)
        first_order = asyncio.ensure_future(nxt(orders))
        req = limit_buy(key=13, qty=0.01, price=2990.0)
        await v.create_order(req)
        assert (await first_order).status is OrderStatus.OPEN
        await stub.fill(req.client_order_id, "0.004", "2990")
        assert (await first_fill).qty == 0.004
        assert (await nxt(orders)).status is OrderStatus.PARTIALLY_FILLED
        # the consumer is busy (journal write); the last fill of the order arrives meanwhile
        await stub.fill(req.client_order_id, "0.006", "2990")
        await wait_until(lambda: len(v.exchange.myTrades) == 2, what="ccxt to take the second fill")
        await asyncio.sleep(0.05)
        # no further event comes: both must still be delivered
        assert (await nxt(fills)).qty == 0.006
        assert (await nxt(orders)).status is OrderStatus.FILLED
        await fills.aclose()
        await orders.aclose()

    run(with_venue(BinanceWsStub(), binance, body))


def test_user_stream_with_wrong_api_key_is_authentication_error_not_retried():
    async def body(v, stub):
        await v.load_markets()
        stub.api_key = "someOtherKey0000000000"
        with pytest.raises(verr.AuthenticationError):
            await nxt(v.watch_orders())
        assert stub.state.count("POST", "/fapi/v1/listenKey") == 1
        assert stub.user == [] and stub.state.auth_failures == ["api-key header"]

    run(with_venue(BinanceWsStub(), binance, body))


def test_no_key_or_secret_in_logs_while_streaming(caplog):
    caplog.set_level(logging.DEBUG)

    async def body(v, stub):
        await v.load_markets()
        book, trades, orders, fills = (
            v.watch_book_top(BINANCE_SYM),
            v.watch_trades(BINANCE_SYM),
            v.watch_orders(),
            v.watch_fills(),
        )
        await nxt(book)
        first_trade = asyncio.ensure_future(nxt(trades))
        first_fill = await open_user_stream(v, stub, fills)
        first_order = asyncio.ensure_future(nxt(orders))
        await wait_until(lambda: stub.subscribed("ethusdt@trade"), what="trade stream")
        await stub.push_trade("3000.11", "0.5", buyer_is_maker=False)
        await first_trade
        req = limit_buy(key=14)
        await v.create_order(req)
        await first_order
        await stub.fill(req.client_order_id, "0.01", "2990")
        await first_fill
        pending = asyncio.ensure_future(nxt(book))
        await stub.drop_connections()  # a retry: the warning path logs too
        await pending
        for s in (book, trades, orders, fills):
            await s.aclose()

    run(with_venue(BinanceWsStub(), binance, body))
    assert any("retrying" in r.getMessage() for r in caplog.records)
    assert FAKE_KEY not in caplog.text and FAKE_SECRET not in caplog.text


# ---------------------------------------------------------------------------------------------
# own executions over REST (fetch_fills) against the stream's
# ---------------------------------------------------------------------------------------------
def _without_recv_time(f):
    return msgspec.structs.replace(f, ts_recv_ns=0)


def test_fetch_fills_equal_the_stream_fills_of_the_same_executions():
    async def body(v, stub):
        await v.load_markets()
        req = limit_buy(key=16, qty=0.01, price=2990.0)
        await v.create_order(req)  # before the stream: only executions are awaited on it
        fills = v.watch_fills()
        first = await open_user_stream(v, stub, fills)
        await stub.fill(req.client_order_id, "0.004", "2990", maker=True)
        streamed = [await first]
        await asyncio.sleep(0.005)  # the second execution in a later millisecond (since_ns below)
        await stub.fill(req.client_order_id, "0.006", "2991.5", maker=False)
        streamed.append(await nxt(fills))
        await fills.aclose()
        assert [f.fill_id for f in streamed] == [str(t["id"]) for t in stub.trades]

        fetched = await v.fetch_fills()
        assert [_without_recv_time(f) for f in fetched] == [_without_recv_time(f) for f in streamed]
        assert stub.state.count("GET", "/fapi/v1/order") == 0  # client ids known from the order placed
        later = await v.fetch_fills(since_ns=streamed[1].ts_exchange_ns)
        assert [f.fill_id for f in later] == [streamed[1].fill_id]

        # a new instance knows nothing: the client order id comes from one order look-up
        fresh = binance(stub.base_url, symbols=[BINANCE_SYM])
        try:
            await fresh.load_markets()
            again = await fresh.fetch_fills()
            assert [_without_recv_time(f) for f in again] == [_without_recv_time(f) for f in streamed]
            assert stub.state.count("GET", "/fapi/v1/order") == 1
        finally:
            await fresh.close()
        assert stub.state.auth_failures == []

    run(with_venue(BinanceWsStub(), binance, body))
