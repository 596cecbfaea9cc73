"""ccxt adapters driven through ccxt's real classes against local exchange stand-ins (no internet).

The stubs (``tests/exchange_stubs.py``) bind 127.0.0.1 on a free port, answer in the exchanges'
documented JSON shapes and verify what ccxt sends: binance's HMAC-SHA256 query signature and
``X-MBX-APIKEY`` header, deribit's ``deri-hmac-sha256`` Authorization header, grvt's session
cookie and account header after a wallet login; and the client-order-id parameter of each.
"""

from __future__ import annotations

import asyncio
import logging
import random

import pytest

from asymlp_runtime.ops.resilience import (
    BackoffPolicy,
    BreakerState,
    CircuitBreaker,
    CircuitOpenError,
    ManualClock,
)
from asymlp_runtime.venues import errors as verr
from asymlp_runtime.venues.base import (
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    VenueOrderRequest,
    make_client_order_id,
)
from asymlp_runtime.venues.binance import BinanceUsdmSpec
from asymlp_runtime.venues.ccxt_adapter import (
    CcxtVenue,
    VenueCredentials,
    credentials_from_env,
)
from asymlp_runtime.venues.deribit import DeribitSpec
from asymlp_runtime.venues.grvt import GrvtSpec
from exchange_stubs import FAKE_KEY, FAKE_SECRET, BinanceStub, DeribitStub, GrvtStub

pytestmark = pytest.mark.timeout(60)

BINANCE_SYM = "ETH/USDT:USDT"
DERIBIT_SYM = "ETH/USD:ETH"
GRVT_SYM = "ETH/USDT:USDT"
GRVT_PRIVATE_KEY = "0x" + "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=45))


async def with_venue(stub, make, body):
    await stub.start()
    venue = make(stub.base_url)
    try:
        return await body(venue, stub)
    finally:
        await venue.close()
        await stub.stop()


def binance(url, *, secret=FAKE_SECRET, timeout_s=5.0, **kw):
    clock = kw.pop("clock", None) or ManualClock()
    kw.setdefault("backoff", BackoffPolicy(base_delay_s=0.01, max_delay_s=0.05, max_attempts=4))
    return CcxtVenue(
        BinanceUsdmSpec(),
        VenueCredentials(api_key=FAKE_KEY, secret=secret),
        base_url=url,
        timeout_s=timeout_s,
        rng=random.Random(0),
        sleep=clock.sleep,
        **kw,
    )


def limit_buy(venue_name="binance", key=1, qty=0.01, price=2990.0, **kw):
    return VenueOrderRequest(
        client_order_id=make_client_order_id("hedger", key, venue=venue_name),
        symbol={"binance": BINANCE_SYM, "deribit": DERIBIT_SYM, "grvt": GRVT_SYM}[venue_name],
        side=Side.BUY,
        type=OrderType.LIMIT,
        qty=qty,
        price=price,
        **kw,
    )


# ---------------------------------------------------------------------------------------------
# binance USD-M
# ---------------------------------------------------------------------------------------------
def test_binance_markets_rules_from_exchange_info():
    async def body(v, stub):
        rules = await v.load_markets()
        r = rules[BINANCE_SYM]
        assert (r.venue_symbol, r.min_qty, r.qty_step, r.price_tick, r.min_notional) == (
            "ETHUSDT",
            0.001,
            0.001,
            0.01,
            20.0,
        )
        assert not r.inverse and r.settle == "USDT"
        assert v.spec.hedge_symbol("ETH") == BINANCE_SYM
        top = await v.fetch_book_top(BINANCE_SYM)
        assert (top.bid_price, top.bid_qty, top.ask_price, top.ask_qty) == (3000.10, 12.345, 3000.11, 7.89)

    run(with_venue(BinanceStub(), binance, body))


def test_binance_order_signed_with_key_header_and_client_order_id():
    async def body(v, stub):
        await v.load_markets()
        req = limit_buy(time_in_force=TimeInForce.IOC)
        order = await v.create_order(req)
        assert stub.state.auth_failures == []  # signature and X-MBX-APIKEY verified server-side
        (sent,) = stub.state.sent_params
        assert sent["newClientOrderId"] == req.client_order_id
        assert (sent["symbol"], sent["side"], sent["type"], sent["quantity"], sent["price"]) == (
            "ETHUSDT",
            "BUY",
            "LIMIT",
            "0.01",
            "2990",
        )
        assert sent["timeInForce"] == "IOC"
        assert order.client_order_id == req.client_order_id
        assert order.status is OrderStatus.OPEN and order.venue_order_id == "8389765500000000000"
        fetched = await v.fetch_order(req.client_order_id, BINANCE_SYM)
        assert fetched.venue_order_id == order.venue_order_id
        assert [o.client_order_id for o in await v.fetch_open_orders(BINANCE_SYM)] == [req.client_order_id]
        cancelled = await v.cancel_order(req.client_order_id, BINANCE_SYM)
        assert cancelled.status is OrderStatus.CANCELED
        assert stub.state.auth_failures == []

    run(with_venue(BinanceStub(), binance, body))


def test_binance_post_only_sent_as_gtx():
    async def body(v, stub):
        await v.load_markets()
        await v.create_order(limit_buy(post_only=True))
        assert stub.state.sent_params[0]["timeInForce"] == "GTX"

    run(with_venue(BinanceStub(), binance, body))


def test_binance_wrong_secret_is_authentication_error_not_retried():
    async def body(v, stub):
        await v.load_markets()
        with pytest.raises(verr.AuthenticationError) as info:
            await v.create_order(limit_buy())
        assert stub.state.count("POST", "/fapi/v1/order") == 1
        assert stub.state.auth_failures == ["bad signature"]
        assert info.value.code == "-1022"
        assert v.breaker.state is BreakerState.CLOSED

    run(with_venue(BinanceStub(), lambda url: binance(url, secret="notTheRightSecret0000"), body))


def test_binance_timeout_then_retry_places_exactly_one_order():
    async def body(v, stub):
        await v.load_markets()
        stub.state.order_delay_s.append(1.5)  # order recorded, answer arrives after the client gave up
        req = limit_buy(key=42)
        order = await v.create_order(req)
        assert stub.state.placements == 1
        assert stub.state.count("POST", "/fapi/v1/order") == 1  # the retry looked it up instead
        assert stub.state.count("GET", "/fapi/v1/order") == 1
        assert order.client_order_id == req.client_order_id

    run(with_venue(BinanceStub(), lambda url: binance(url, timeout_s=0.5), body))


def test_binance_duplicate_client_order_id_returns_existing_order():
    async def body(v, stub):
        await v.load_markets()
        req = limit_buy(key=7)
        first = await v.create_order(req)
        again = await v.create_order(req)  # e.g. re-sent after a restart
        assert stub.state.count("POST", "/fapi/v1/order") == 2  # the venue said -4116 the second time
        assert stub.state.placements == 1
        assert again.venue_order_id == first.venue_order_id

    run(with_venue(BinanceStub(), binance, body))


@pytest.mark.parametrize(
    ("code", "msg", "cls"),
    [
        (-2019, "Margin is insufficient.", verr.InsufficientFunds),
        (
            -4164,
            "Order's notional must be no smaller than 20 (unless you choose reduce only).",
            verr.InvalidOrder,
        ),
        (-1121, "Invalid symbol.", verr.BadSymbol),
    ],
)
def test_binance_rejections_mapped_and_not_retried(code, msg, cls):
    async def body(v, stub):
        await v.load_markets()
        stub.state.respond_next.append((400, {"code": code, "msg": msg}))
        with pytest.raises(cls) as info:
            await v.create_order(limit_buy())
        assert not info.value.retryable and info.value.code == str(code)
        assert stub.state.count("POST", "/fapi/v1/order") == 1

    run(with_venue(BinanceStub(), binance, body))


def test_binance_rate_limit_and_5xx_retried_then_succeed():
    async def body(v, stub):
        await v.load_markets()
        stub.state.respond_next.append((429, {"code": -1003, "msg": "Too many requests."}))
        stub.state.fail_next.extend([503])
        order = await v.create_order(limit_buy(key=9))
        assert order.status is OrderStatus.OPEN
        assert stub.state.placements == 1

    run(with_venue(BinanceStub(), binance, body))


def test_binance_breaker_opens_on_503s_rejects_then_recovers_after_cooldown():
    clock = ManualClock()

    def make(url):
        return binance(
            url,
            clock=clock,
            backoff=BackoffPolicy(base_delay_s=0.01, max_delay_s=0.01, max_attempts=2),
            breaker=CircuitBreaker("binance", failure_threshold=3, cooldown_s=30.0, clock=clock),
        )

    async def body(v, stub):
        await v.load_markets()
        stub.state.fail_next.extend([503] * 3)
        with pytest.raises(verr.ExchangeUnavailable):
            await v.fetch_book_top(BINANCE_SYM)  # two attempts, two failures
        with pytest.raises(CircuitOpenError):
            await v.fetch_book_top(BINANCE_SYM)  # third failure opens it mid-retry
        assert v.breaker.state is BreakerState.OPEN
        served = len(stub.state.requests)
        with pytest.raises(CircuitOpenError):
            await v.fetch_book_top(BINANCE_SYM)
        assert len(stub.state.requests) == served  # rejected without a request
        clock.advance(30.0)
        assert v.breaker.state is BreakerState.HALF_OPEN
        top = await v.fetch_book_top(BINANCE_SYM)  # the venue is back: the probe closes it
        assert top.bid_price == 3000.10
        assert v.breaker.state is BreakerState.CLOSED

    run(with_venue(BinanceStub(), make, body))


def test_binance_positions_and_balance_parsed():
    async def body(v, stub):
        await v.load_markets()
        (pos,) = await v.fetch_positions()
        assert (pos.symbol, pos.qty, pos.entry_price, pos.unrealized_pnl) == (
            BINANCE_SYM,
            -1.25,
            3010.5,
            13.0,
        )
        bal = {b.currency: b for b in await v.fetch_balance()}
        assert bal["USDT"].free == 9625.0
        assert stub.state.auth_failures == []

    run(with_venue(BinanceStub(), binance, body))


def test_no_key_or_secret_in_logs_or_exceptions(caplog):
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []

    async def body(v, stub):
        await v.load_markets()
        texts.append(repr(v))
        texts.append(repr(v._credentials))
        stub.state.order_delay_s.append(1.5)
        stub.state.fail_next.extend([503, 503])
        await v.create_order(limit_buy(key=77))
        stub.state.respond_next.append((401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions."}))
        try:
            await v.create_order(limit_buy(key=78))
        except verr.VenueError as exc:
            texts.extend([str(exc), repr(exc)])
        stub.state.fail_next.extend([503] * 10)
        try:
            await v.fetch_book_top(BINANCE_SYM)
        except Exception as exc:
            texts.extend([str(exc), repr(exc)])

    run(with_venue(BinanceStub(), lambda url: binance(url, timeout_s=0.5), body))
    texts.append(caplog.text)
    assert any("retrying" in r.getMessage() for r in caplog.records)
    blob = "\n".join(texts)
    assert FAKE_KEY not in blob and FAKE_SECRET not in blob


def test_credentials_from_env_and_hidden_repr():
    env = {"ASYMLP_BINANCE_API_KEY": FAKE_KEY, "ASYMLP_BINANCE_API_SECRET": FAKE_SECRET}
    creds = credentials_from_env("binance", env)
    assert creds.is_set and creds.api_key == FAKE_KEY
    assert FAKE_KEY not in repr(creds) and FAKE_SECRET not in str(creds)
    assert not credentials_from_env("deribit", env).is_set


# ---------------------------------------------------------------------------------------------
# deribit
# ---------------------------------------------------------------------------------------------
def deribit(url, timeout_s=5.0):
    clock = ManualClock()
    return CcxtVenue(
        DeribitSpec(),
        VenueCredentials(api_key=FAKE_KEY, secret=FAKE_SECRET),
        base_url=url,
        timeout_s=timeout_s,
        backoff=BackoffPolicy(base_delay_s=0.01, max_delay_s=0.05, max_attempts=4),
        sleep=clock.sleep,
    )


def test_deribit_inverse_perpetual_rules_and_ticker():
    async def body(v, stub):
        r = (await v.load_markets())[DERIBIT_SYM]
        assert (r.venue_symbol, r.min_qty, r.qty_step, r.price_tick, r.inverse, r.settle) == (
            "ETH-PERPETUAL",
            1.0,
            1.0,
            0.05,
            True,
            "ETH",
        )
        top = await v.fetch_book_top(DERIBIT_SYM)
        assert (top.bid_price, top.ask_price, top.bid_qty) == (3000.05, 3000.1, 25000.0)

    run(with_venue(DeribitStub(), deribit, body))


def test_deribit_order_authenticated_with_label_and_time_in_force():
    async def body(v, stub):
        await v.load_markets()
        req = limit_buy("deribit", qty=10, price=2990.0, time_in_force=TimeInForce.IOC, post_only=False)
        order = await v.create_order(req)
        assert stub.state.auth_failures == []  # deri-hmac-sha256 verified server-side
        (sent,) = stub.state.sent_params
        assert sent["label"] == req.client_order_id
        assert (sent["instrument_name"], sent["amount"], sent["type"], sent["price"]) == (
            "ETH-PERPETUAL",
            "10",
            "limit",
            "2990",
        )
        assert sent["time_in_force"] == "immediate_or_cancel"
        assert order.client_order_id == req.client_order_id and order.venue_order_id == "ETH-1000"
        found = await v.fetch_order(req.client_order_id, DERIBIT_SYM)
        assert found.venue_order_id == "ETH-1000"
        assert (await v.cancel_order(req.client_order_id, DERIBIT_SYM)).status is OrderStatus.CANCELED

    run(with_venue(DeribitStub(), deribit, body))


def test_deribit_timeout_then_retry_finds_order_by_label_and_places_one():
    async def body(v, stub):
        await v.load_markets()
        stub.state.order_delay_s.append(1.5)
        req = limit_buy("deribit", key=5, qty=10)
        order = await v.create_order(req)
        # deribit accepts a repeated label, so only the look-up keeps this at one order
        assert stub.state.placements == 1
        assert stub.state.count("GET", "/api/v2/private/get_order_state_by_label") == 1
        assert order.venue_order_id == "ETH-1000"

    run(with_venue(DeribitStub(), lambda url: deribit(url, timeout_s=0.5), body))


def test_deribit_short_position_negative_and_insufficient_funds_mapped():
    async def body(v, stub):
        await v.load_markets()
        (pos,) = await v.fetch_positions()
        assert (pos.qty, pos.entry_price) == (-1500.0, 3010.0)
        bal = {b.currency: b for b in await v.fetch_balance()}
        assert bal["ETH"].total == pytest.approx(2.5012)
        stub.state.respond_next.append(
            (400, {"jsonrpc": "2.0", "error": {"message": "not_enough_funds", "code": 10009}})
        )
        with pytest.raises(verr.InsufficientFunds):
            await v.create_order(limit_buy("deribit", key=6, qty=10))
        assert stub.state.auth_failures == []

    run(with_venue(DeribitStub(), deribit, body))


# ---------------------------------------------------------------------------------------------
# grvt
# ---------------------------------------------------------------------------------------------
def grvt(url, timeout_s=5.0):
    clock = ManualClock()
    return CcxtVenue(
        GrvtSpec(main_account_id=GrvtStub.ACCOUNT_ID),
        VenueCredentials(private_key=GRVT_PRIVATE_KEY, account_id="2147050003876484"),
        base_url=url,
        timeout_s=timeout_s,
        backoff=BackoffPolicy(base_delay_s=0.01, max_delay_s=0.05, max_attempts=4),
        sleep=clock.sleep,
    )


def test_grvt_instrument_mapping_and_rules():
    async def body(v, stub):
        r = (await v.load_markets())[GRVT_SYM]
        assert (r.venue_symbol, r.min_qty, r.qty_step, r.price_tick, r.min_notional, r.inverse) == (
            "ETH_USDT_Perp",
            0.01,
            0.01,
            0.01,
            20.0,
            False,
        )

    run(with_venue(GrvtStub(), grvt, body))


def test_grvt_signed_order_with_session_and_numeric_client_order_id():
    from eth_account import Account

    address = Account.from_key(GRVT_PRIVATE_KEY).address.lower()

    async def body(v, stub):
        await v.load_markets()
        req = limit_buy("grvt", key=3, qty=0.05, price=2990.0, time_in_force=TimeInForce.IOC)
        order = await v.create_order(req)
        assert stub.state.auth_failures == []  # session cookie and X-Grvt-Account-Id checked
        assert stub.logins and stub.logins[0]["address"].lower() == address
        (sent,) = stub.state.sent_params
        assert sent["metadata"]["client_order_id"] == req.client_order_id
        assert 2**63 <= int(req.client_order_id) < 2**64
        assert sent["sub_account_id"] == "2147050003876484"
        assert sent["legs"] == [
            {"instrument": "ETH_USDT_Perp", "size": "0.05", "limit_price": "2990", "is_buying_asset": True}
        ]
        assert sent["time_in_force"] == "IMMEDIATE_OR_CANCEL"
        sig = sent["signature"]
        assert sig["signer"].lower() == address and sig["v"] in (27, 28)
        assert len(sig["r"]) == 66 and len(sig["s"]) == 66
        assert order.client_order_id == req.client_order_id and order.status is OrderStatus.OPEN

    run(with_venue(GrvtStub(), grvt, body))


def test_grvt_timeout_then_retry_places_exactly_one_order():
    async def body(v, stub):
        await v.load_markets()
        stub.state.order_delay_s.append(1.5)
        req = limit_buy("grvt", key=4, qty=0.05)
        order = await v.create_order(req)
        assert stub.state.placements == 1
        assert stub.state.count("POST", "/privateTrading/full/v1/create_order") == 1
        assert order.client_order_id == req.client_order_id

    run(with_venue(GrvtStub(), lambda url: grvt(url, timeout_s=0.5), body))


def test_binance_fetch_fills_signed_with_trade_id_fee_and_client_order_id():
    async def body(v, stub):
        await v.load_markets()
        assert await v.fetch_fills() == []  # nothing traded: nothing asked
        assert stub.state.count("GET", "/fapi/v1/userTrades") == 0
        req = VenueOrderRequest(
            client_order_id=make_client_order_id("hedger", 21, venue="binance"),
            symbol=BINANCE_SYM,
            side=Side.SELL,
            type=OrderType.MARKET,
            qty=0.02,
        )
        await v.create_order(req)
        (fill,) = await v.fetch_fills()
        assert (fill.fill_id, fill.client_order_id, fill.symbol, fill.side) == (
            "5000001",
            req.client_order_id,
            BINANCE_SYM,
            Side.SELL,
        )
        assert (fill.qty, fill.price, fill.fee_currency, str(fill.liquidity)) == (0.02, 3000.11, "USDT", "taker")
        assert fill.fee == pytest.approx(0.02 * 3000.11 * 0.0005, rel=1e-6)
        assert fill.ts_exchange_ns > 0
        assert stub.state.count("GET", "/fapi/v1/userTrades") == 1
        assert stub.state.auth_failures == []

    run(with_venue(BinanceStub(), binance, body))
