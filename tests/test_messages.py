"""Message schema: round trips, semantic validation, schema evolution."""

from __future__ import annotations

import math

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from asymlp_runtime import messages as m
from asymlp_runtime.bus import STREAM_COUNTERS, StreamChecker

UNION_OF: dict[type, object] = {
    m.Quote: m.MarketData,
    m.Trade: m.MarketData,
    m.BookTop: m.MarketData,
    m.OrderRequest: m.OrderChannel,
    m.CancelRequest: m.OrderChannel,
    m.OrderAck: m.Reports,
    m.OrderEvent: m.Reports,
    m.Fill: m.Reports,
    m.Position: m.Account,
    m.Balance: m.Account,
    m.InventoryDelta: m.LpStream,
    m.LpAction: m.LpStream,
    m.RiskState: m.RiskStream,
    m.Heartbeat: m.Control,
    m.Health: m.Control,
    m.Command: m.Control,
    m.CommandAck: m.ControlReplies,
}

# --------------------------------------------------------------------------- strategies
INT64 = st.integers(0, 2**63 - 1)
NAME = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12)
TEXT = st.text(max_size=20)
POS = st.floats(min_value=1e-9, max_value=1e9, allow_nan=False, allow_infinity=False)
NONNEG = st.floats(min_value=0.0, max_value=1e9, allow_nan=False, allow_infinity=False)
REAL = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)
SIDE = st.sampled_from(["buy", "sell"])
UINT256 = st.integers(0, 2**256 - 1).map(m.uint_to_wire)
UINT128 = st.integers(0, 2**128 - 1).map(lambda x: m.uint_to_wire(x, 128))
HEADER = {
    "sender": NAME,
    "seq": INT64,
    "ts_exchange_ns": INT64,
    "ts_recv_ns": INT64,
    "ts_sent_ns": INT64,
}


@st.composite
def quotes(draw: st.DrawFn) -> m.Quote:
    bid = draw(POS)
    ask = bid * (1.0 + draw(st.floats(1e-6, 1.0)))
    return m.Quote(
        **{k: draw(v) for k, v in HEADER.items()},
        venue=draw(NAME),
        symbol=draw(NAME),
        bid=bid,
        ask=ask,
        bid_size=draw(NONNEG),
        ask_size=draw(NONNEG),
    )


@st.composite
def book_tops(draw: st.DrawFn) -> m.BookTop:
    mid = draw(st.floats(1.0, 1e6))
    n_bid, n_ask = draw(st.integers(0, 5)), draw(st.integers(0, 5))
    bids = tuple((mid * (1 - 0.001 * (i + 1)), draw(POS)) for i in range(n_bid))
    asks = tuple((mid * (1 + 0.001 * (i + 1)), draw(POS)) for i in range(n_ask))
    return m.BookTop(
        **{k: draw(v) for k, v in HEADER.items()}, venue=draw(NAME), symbol=draw(NAME), bids=bids, asks=asks
    )


@st.composite
def order_requests(draw: st.DrawFn) -> m.OrderRequest:
    kind = draw(st.sampled_from(["market", "limit"]))
    tif = draw(st.sampled_from(["gtc", "ioc", "fok"] + (["post_only"] if kind == "limit" else [])))
    return m.OrderRequest(
        **{k: draw(v) for k, v in HEADER.items()},
        client_order_id=draw(NAME),
        venue=draw(NAME),
        symbol=draw(NAME),
        side=draw(SIDE),
        qty=draw(POS),
        price=draw(POS) if kind == "limit" else None,
        type=kind,
        time_in_force=tif,
        reduce_only=draw(st.booleans()),
        reason=draw(TEXT),
    )


@st.composite
def order_events(draw: st.DrawFn) -> m.OrderEvent:
    qty = draw(POS)
    status = draw(st.sampled_from(["new", "partially_filled", "filled", "canceled", "rejected", "expired"]))
    if status == "new":
        filled = 0.0
    elif status == "filled":
        filled = qty
    elif status == "partially_filled":
        filled = qty * draw(st.floats(0.01, 0.99))
    else:
        filled = draw(st.sampled_from([0.0, qty * 0.5]))
    return m.OrderEvent(
        **{k: draw(v) for k, v in HEADER.items()},
        client_order_id=draw(NAME),
        venue=draw(NAME),
        symbol=draw(NAME),
        side=draw(SIDE),
        status=status,
        qty=qty,
        filled_qty=filled,
        avg_price=draw(POS) if filled > 0 else None,
        venue_order_id=draw(st.none() | NAME),
        reason=draw(TEXT),
    )


@st.composite
def lp_actions(draw: st.DrawFn) -> m.LpAction:
    lower = draw(st.integers(m.MIN_TICK, m.MAX_TICK - 1))
    upper = draw(st.integers(lower + 1, m.MAX_TICK))
    return m.LpAction(
        **{k: draw(v) for k, v in HEADER.items()},
        action=draw(st.sampled_from(["open", "close", "rebalance", "collect"])),
        pool_id=draw(NAME),
        tick_lower=lower,
        tick_upper=upper,
        liquidity=draw(UINT128),
        amount0_raw=draw(UINT256),
        amount1_raw=draw(UINT256),
        reason=draw(NAME),
        tx_hash=draw(st.none() | st.binary(min_size=32, max_size=32).map(lambda b: "0x" + b.hex())),
        position_id=draw(st.none() | NAME),
        block_number=draw(INT64),
    )


def _b(cls: type, **fields: st.SearchStrategy) -> st.SearchStrategy:
    return st.builds(cls, **HEADER, **fields)


MESSAGES = st.one_of(
    quotes(),
    _b(m.Trade, venue=NAME, symbol=NAME, price=POS, qty=POS, side=SIDE, trade_id=TEXT),
    book_tops(),
    order_requests(),
    _b(m.CancelRequest, client_order_id=NAME, venue=NAME, symbol=NAME, reason=TEXT),
    _b(
        m.OrderAck,
        request_id=NAME,
        client_order_id=NAME,
        accepted=st.just(True),
        reason=TEXT,
        venue_order_id=st.none() | NAME,
    ),
    _b(m.OrderAck, request_id=NAME, client_order_id=NAME, accepted=st.just(False), reason=NAME),
    order_events(),
    _b(
        m.Fill,
        fill_id=NAME,
        client_order_id=NAME,
        venue=NAME,
        symbol=NAME,
        side=SIDE,
        qty=POS,
        price=POS,
        fee=REAL,
        fee_currency=TEXT,
        liquidity=st.sampled_from(["maker", "taker"]),
        venue_order_id=st.none() | NAME,
    ),
    _b(
        m.Position,
        venue=NAME,
        symbol=NAME,
        qty=REAL,
        entry_price=st.none() | POS,
        mark_price=st.none() | POS,
        unrealized_pnl=REAL,
        liquidation_price=st.none() | POS,
    ),
    _b(m.Balance, venue=NAME, currency=NAME, total=REAL, free=REAL, used=NONNEG),
    _b(
        m.InventoryDelta,
        pool_id=NAME,
        block_number=INT64,
        amount0_raw=UINT256,
        amount1_raw=UINT256,
        amount0=NONNEG,
        amount1=NONNEG,
        delta0=REAL,
        price=POS,
        tick=st.integers(m.MIN_TICK, m.MAX_TICK),
    ),
    lp_actions(),
    _b(
        m.RiskState,
        residual=REAL,
        hedge_position=REAL,
        lp_delta=REAL,
        pnl=REAL,
        kill_flags=st.integers(0, 31),
    ),
    _b(m.Heartbeat, process=NAME, pid=st.integers(0, 2**31), uptime_s=NONNEG),
    _b(
        m.Health,
        process=NAME,
        status=st.sampled_from(["starting", "ok", "degraded", "down", "stopped"]),
        detail=TEXT,
        last_heartbeat_ns=INT64,
    ),
    _b(
        m.Command,
        command_id=NAME,
        command=st.sampled_from(["flatten", "pull_liquidity", "shutdown", "pause", "resume"]),
        target=NAME,
        reason=TEXT,
    ),
    _b(m.CommandAck, request_id=NAME, accepted=st.booleans(), detail=TEXT),
)


# --------------------------------------------------------------------------- round trips
def example_messages() -> list[m.Message]:
    """One hand-written instance of every message type."""
    h = {"sender": "p", "seq": 7, "ts_exchange_ns": 1, "ts_recv_ns": 2, "ts_sent_ns": 3}
    return [
        m.Quote(**h, venue="binance", symbol="ETHUSDT", bid=2000.0, ask=2000.1, bid_size=3.0, ask_size=4.0),
        m.Trade(**h, venue="binance", symbol="ETHUSDT", price=2000.05, qty=0.5, side="buy", trade_id="t1"),
        m.BookTop(
            **h, venue="binance", symbol="ETHUSDT", bids=((2000.0, 1.0), (1999.9, 2.0)), asks=((2000.1, 1.5),)
        ),
        m.OrderRequest(
            **h,
            client_order_id="c1",
            venue="binance",
            symbol="ETHUSDT",
            side="sell",
            qty=0.25,
            price=2001.0,
            type="limit",
            time_in_force="post_only",
            reduce_only=True,
            reason="hedge",
        ),
        m.CancelRequest(**h, client_order_id="c1", venue="binance", symbol="ETHUSDT", reason="stale"),
        m.OrderAck(**h, request_id="c1", client_order_id="c1", accepted=True, venue_order_id="v1"),
        m.OrderEvent(
            **h,
            client_order_id="c1",
            venue="binance",
            symbol="ETHUSDT",
            side="sell",
            status="partially_filled",
            qty=0.25,
            filled_qty=0.1,
            avg_price=2001.0,
            venue_order_id="v1",
        ),
        m.Fill(
            **h,
            fill_id="f1",
            client_order_id="c1",
            venue="binance",
            symbol="ETHUSDT",
            side="sell",
            qty=0.1,
            price=2001.0,
            fee=-0.01,
            fee_currency="USDT",
            liquidity="maker",
            venue_order_id="v1",
        ),
        m.Position(
            **h,
            venue="binance",
            symbol="ETHUSDT",
            qty=-1.5,
            entry_price=1990.0,
            mark_price=2000.0,
            unrealized_pnl=-15.0,
        ),
        m.Balance(**h, venue="binance", currency="USDT", total=10_000.0, free=9_000.0, used=1_000.0),
        m.InventoryDelta(
            **h,
            pool_id="0xpool",
            block_number=123,
            amount0_raw=str(3 * 10**18 + 1),
            amount1_raw=str(2**255),
            amount0=3.0,
            amount1=5.0e58,
            delta0=3.0,
            price=2000.0,
            tick=-200000,
        ),
        m.LpAction(
            **h,
            action="rebalance",
            pool_id="0xpool",
            tick_lower=-887220,
            tick_upper=887220,
            liquidity=str(2**128 - 1),
            amount0_raw="0",
            amount1_raw=str(2**256 - 1),
            reason="price_left_band",
            tx_hash="0x" + "ab" * 32,
            position_id="42",
            block_number=124,
        ),
        m.RiskState(
            **h,
            residual=0.1,
            hedge_position=-2.9,
            lp_delta=3.0,
            pnl=12.5,
            kill_flags=m.KILL_STALE_DATA | m.KILL_MANUAL,
        ),
        m.Heartbeat(**h, process="trader", pid=1234, uptime_s=5.5),
        m.Health(**h, process="trader", status="degraded", detail="quotes stale", last_heartbeat_ns=99),
        m.Command(**h, command_id="cmd-1", command="flatten", target="trader", reason="operator"),
        m.CommandAck(**h, request_id="cmd-1", accepted=True, detail="flattening"),
    ]


def test_examples_cover_every_message_type_exactly():
    assert [type(x) for x in example_messages()] == list(m.ALL_MESSAGE_TYPES)
    assert set(UNION_OF) == set(m.ALL_MESSAGE_TYPES)


@pytest.mark.parametrize("msg", example_messages(), ids=lambda x: type(x).__name__)
def test_every_message_type_round_trips_through_its_socket_union(msg):
    msg.validate()
    payload = m.encode(msg)
    decoded = m.decoder_for(UNION_OF[type(msg)]).decode(payload)
    assert decoded == msg
    assert type(decoded) is type(msg)
    raw = msgspec.msgpack.decode(payload)
    assert raw["kind"] == type(msg).__struct_config__.tag
    assert raw["version"] == m.SCHEMA_VERSION


def test_decoder_for_returns_one_reused_decoder_per_union():
    assert m.decoder_for(m.MarketData) is m.decoder_for(m.MarketData)
    assert m.decoder_for(m.MarketData) is not m.decoder_for(m.Reports)


def test_message_of_another_socket_is_rejected_by_the_union_decoder():
    hb = m.Heartbeat(process="trader")
    with pytest.raises(msgspec.ValidationError):
        m.decoder_for(m.MarketData).decode(m.encode(hb))


@given(MESSAGES)
def test_any_valid_message_round_trips_and_still_validates(msg):
    msg.validate()
    decoded = m.decoder_for(UNION_OF[type(msg)]).decode(m.encode(msg))
    assert decoded == msg
    decoded.validate()


@given(MESSAGES, st.integers(0, 10_000), st.integers(0, 255))
def test_corrupted_payload_never_escapes_the_stream_checker(msg, position, byte):
    payload = bytearray(m.encode(msg))
    payload[position % len(payload)] = byte
    checker = StreamChecker(UNION_OF[type(msg)])
    result = checker.check([b"topic", bytes(payload)])
    dropped = sum(
        checker.counters[k]
        for k in STREAM_COUNTERS
        if k not in ("received", "accepted", "gap", "gap_messages", "sender_restart")
    )
    assert checker.counters["received"] == 1
    assert checker.counters["accepted"] + dropped == 1
    assert (result is None) == (checker.counters["accepted"] == 0)


@given(st.binary(max_size=300))
def test_random_bytes_are_counted_as_malformed_never_raised(data):
    checker = StreamChecker(m.MarketData)
    assert checker.check([b"quote.x", data]) is None
    assert checker.counters["received"] == 1
    assert checker.counters["malformed"] + checker.counters["unknown_version"] == 1


# --------------------------------------------------------------------------- semantic validation
def _quote(**kw):
    base = dict(venue="binance", symbol="ETHUSDT", bid=100.0, ask=100.5, bid_size=1.0, ask_size=1.0)
    return m.Quote(**{**base, **kw})


@pytest.mark.parametrize(
    ("msg", "field"),
    [
        (_quote(bid=math.nan), "bid"),
        (_quote(ask=math.inf), "ask"),
        (_quote(bid=-1.0), "bid"),
        (_quote(bid_size=-0.1), "bid_size"),
        (_quote(bid=101.0, ask=100.0), "bid/ask"),
        (_quote(bid=100.0, ask=100.0), "bid/ask"),
        (_quote(venue=""), "venue"),
        (_quote(seq=-1), "seq"),
        (m.Trade(venue="b", symbol="s", price=1.0, qty=-1.0, side="buy"), "qty"),
        (m.BookTop(venue="b", symbol="s", bids=((10.0, 1.0), (11.0, 1.0)), asks=()), "bids[1].price"),
        (m.BookTop(venue="b", symbol="s", bids=((10.0, 1.0),), asks=((9.0, 1.0),)), "bids/asks"),
        (m.BookTop(venue="b", symbol="s", bids=(), asks=((9.0, math.nan),)), "asks[0].size"),
        (
            m.OrderRequest(client_order_id="c", venue="b", symbol="s", side="buy", qty=1.0, price=10.0),
            "price",
        ),
        (
            m.OrderRequest(client_order_id="c", venue="b", symbol="s", side="buy", qty=1.0, type="limit"),
            "price",
        ),
        (m.OrderRequest(client_order_id="c", venue="b", symbol="s", side="buy", qty=math.nan), "qty"),
        (
            m.OrderRequest(
                client_order_id="c", venue="b", symbol="s", side="buy", qty=1.0, time_in_force="post_only"
            ),
            "time_in_force",
        ),
        (m.OrderRequest(client_order_id="", venue="b", symbol="s", side="buy", qty=1.0), "client_order_id"),
        (m.OrderAck(request_id="c", client_order_id="c", accepted=False), "reason"),
        (
            m.OrderEvent(
                client_order_id="c",
                venue="b",
                symbol="s",
                side="buy",
                status="filled",
                qty=1.0,
                filled_qty=2.0,
                avg_price=1.0,
            ),
            "filled_qty",
        ),
        (
            m.OrderEvent(
                client_order_id="c",
                venue="b",
                symbol="s",
                side="buy",
                status="filled",
                qty=1.0,
                filled_qty=1.0,
            ),
            "avg_price",
        ),
        (
            m.Fill(
                fill_id="f",
                client_order_id="c",
                venue="b",
                symbol="s",
                side="buy",
                qty=1.0,
                price=1.0,
                fee=math.inf,
            ),
            "fee",
        ),
        (m.Position(venue="b", symbol="s", qty=math.nan), "qty"),
        (
            m.InventoryDelta(
                pool_id="p",
                block_number=1,
                amount0_raw="-1",
                amount1_raw="0",
                amount0=0.0,
                amount1=0.0,
                delta0=0.0,
                price=1.0,
            ),
            "amount0_raw",
        ),
        (
            m.InventoryDelta(
                pool_id="p",
                block_number=1,
                amount0_raw="0",
                amount1_raw=str(2**256),
                amount0=0.0,
                amount1=0.0,
                delta0=0.0,
                price=1.0,
            ),
            "amount1_raw",
        ),
        (
            m.InventoryDelta(
                pool_id="p",
                block_number=1,
                amount0_raw="01",
                amount1_raw="0",
                amount0=0.0,
                amount1=0.0,
                delta0=0.0,
                price=1.0,
            ),
            "amount0_raw",
        ),
        (
            m.LpAction(
                action="open",
                pool_id="p",
                tick_lower=10,
                tick_upper=10,
                liquidity="1",
                amount0_raw="0",
                amount1_raw="0",
                reason="r",
            ),
            "tick_lower/tick_upper",
        ),
        (
            m.LpAction(
                action="open",
                pool_id="p",
                tick_lower=0,
                tick_upper=10,
                liquidity=str(2**128),
                amount0_raw="0",
                amount1_raw="0",
                reason="r",
            ),
            "liquidity",
        ),
        (
            m.LpAction(
                action="open",
                pool_id="p",
                tick_lower=0,
                tick_upper=10,
                liquidity="1",
                amount0_raw="0",
                amount1_raw="0",
                reason="r",
                tx_hash="0x12",
            ),
            "tx_hash",
        ),
        (m.RiskState(residual=math.nan, hedge_position=0.0, lp_delta=0.0, pnl=0.0), "residual"),
    ],
    ids=lambda x: x if isinstance(x, str) else type(x).__name__,
)
def test_semantic_error_raises_naming_type_and_field(msg, field):
    with pytest.raises(m.MessageValidationError) as info:
        msg.validate()
    assert info.value.field == field
    assert info.value.message_type == type(msg).__name__
    assert str(info.value).startswith(f"{type(msg).__name__}.{field}: ")


def test_nan_price_survives_the_codec_and_is_caught_by_validate():
    payload = m.encode(_quote(bid=math.nan))
    decoded = m.decoder_for(m.MarketData).decode(payload)  # msgspec accepts NaN floats
    with pytest.raises(m.MessageValidationError, match="Quote.bid"):
        decoded.validate()


def test_uint256_amounts_travel_exactly_as_decimal_strings():
    big = 2**256 - 1
    msg = m.InventoryDelta(
        pool_id="p",
        block_number=1,
        amount0_raw=m.uint_to_wire(big),
        amount1_raw=m.uint_to_wire(0),
        amount0=0.0,
        amount1=0.0,
        delta0=0.0,
        price=1.0,
    )
    decoded = m.decoder_for(m.LpStream).decode(m.encode(msg))
    assert decoded.amount0_int == big
    assert m.wire_to_int(decoded.amount0_raw) == big
    with pytest.raises(ValueError):
        m.uint_to_wire(2**256)
    with pytest.raises(ValueError):
        m.uint_to_wire(-1)
    with pytest.raises(ValueError):
        m.uint_to_wire(2**128, bits=128)
    with pytest.raises(ValueError):
        m.wire_to_int("1e18")


def test_request_ids_match_orders_cancels_and_commands():
    order = m.OrderRequest(client_order_id="c1", venue="b", symbol="s", side="buy", qty=1.0)
    cancel = m.CancelRequest(client_order_id="c1", venue="b", symbol="s")
    cmd = m.Command(command_id="k", command="shutdown")
    assert order.request_id == "c1"
    assert cancel.request_id == "cancel:c1"
    assert cmd.request_id == "k"
    ack = m.reject_for(cancel, "nope")
    assert isinstance(ack, m.OrderAck) and ack.request_id == "cancel:c1" and not ack.accepted
    ack.validate()
    assert isinstance(m.reject_for(cmd, "x"), m.CommandAck)
    assert m.reject_for(m.Heartbeat(process="x"), "x") is None


def test_kill_flags_make_the_kill_switch_active():
    calm = m.RiskState(residual=0.0, hedge_position=0.0, lp_delta=0.0, pnl=0.0)
    hot = msgspec.structs.replace(calm, kill_flags=m.KILL_MAX_LOSS)
    assert not calm.kill_switch
    assert hot.kill_switch


# --------------------------------------------------------------------------- schema evolution
class QuoteNext(m.Message, tag="quote", frozen=True, kw_only=True):
    """A later revision of Quote: one new field, last and with a default."""

    venue: str
    symbol: str
    bid: float
    ask: float
    bid_size: float
    ask_size: float
    mid_hint: float = 0.0


def test_newer_message_with_added_field_decodes_in_an_older_reader():
    newer = QuoteNext(venue="b", symbol="s", bid=1.0, ask=2.0, bid_size=1.0, ask_size=1.0, mid_hint=1.5)
    old = m.decoder_for(m.MarketData).decode(m.encode(newer))
    assert isinstance(old, m.Quote) and old.bid == 1.0


def test_older_message_decodes_in_a_newer_reader_with_the_default():
    old = _quote()
    newer = msgspec.msgpack.Decoder(QuoteNext).decode(m.encode(old))
    assert newer.mid_hint == 0.0 and newer.ask == old.ask


def test_messages_are_frozen():
    q = _quote()
    with pytest.raises(AttributeError):
        q.bid = 1.0  # type: ignore[misc]
