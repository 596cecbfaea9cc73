"""ZMQ bus: stream checks (gap, order, staleness, version, malformed) and the acknowledged request path."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import pytest
import zmq
import zmq.asyncio

from asymlp_runtime import messages as m
from asymlp_runtime.bus import (
    Publisher,
    RequestClient,
    RequestServer,
    RequestTimeout,
    StreamChecker,
    Subscriber,
)

pytestmark = pytest.mark.timeout(60)

LOOPBACK = "tcp://127.0.0.1:*"
SEC = 1_000_000_000


def run(scenario: Callable[[zmq.asyncio.Context], Awaitable[Any]], timeout_s: float = 20.0) -> Any:
    """Run an async scenario with its own ZMQ context, bounded in time; the context is destroyed after."""

    async def main() -> Any:
        ctx = zmq.asyncio.Context()
        try:
            return await asyncio.wait_for(scenario(ctx), timeout_s)
        finally:
            ctx.destroy(linger=0)

    return asyncio.run(main())


def quote(seq: int = 1, sender: str = "qs", ts_sent_ns: int = 10 * SEC, **kw: Any) -> m.Quote:
    base: dict[str, Any] = dict(
        venue="binance", symbol="ETHUSDT", bid=2000.0, ask=2000.5, bid_size=1.0, ask_size=2.0
    )
    return m.Quote(sender=sender, seq=seq, ts_sent_ns=ts_sent_ns, **{**base, **kw})


def frames(msg: m.Message, topic: bytes = b"quote.binance.ETHUSDT") -> list[bytes]:
    return [topic, m.encode(msg)]


def checker(**kw: Any) -> StreamChecker:
    return StreamChecker(m.MarketData, clock_ns=lambda: 10 * SEC, **kw)


# --------------------------------------------------------------------------- stream checks (no socket)
def test_consecutive_sequence_is_accepted_without_flags():
    c = checker()
    out = [c.check(frames(quote(seq=s))) for s in (1, 2, 3)]
    assert [d.message.seq for d in out] == [1, 2, 3]
    assert all(d.gap == 0 for d in out)
    assert c.counters["accepted"] == 3 and c.counters["gap"] == 0


def test_sequence_jump_is_delivered_flagged_and_counted_as_gap():
    seen: list[tuple[str, str, int, int]] = []
    c = checker(on_gap=lambda *a: seen.append(a))
    c.check(frames(quote(seq=1)))
    d = c.check(frames(quote(seq=5)))
    assert d is not None and d.gap == 3
    assert c.counters["gap"] == 1 and c.counters["gap_messages"] == 3
    assert seen == [("qs", "quote.binance.ETHUSDT", 2, 5)]


def test_repeated_sequence_is_dropped_as_duplicate():
    c = checker()
    c.check(frames(quote(seq=1)))
    c.check(frames(quote(seq=2)))
    assert c.check(frames(quote(seq=2))) is None
    assert c.counters["duplicate"] == 1 and c.counters["accepted"] == 2


def test_lower_sequence_is_dropped_as_out_of_order():
    c = checker()
    for s in (1, 2, 3):
        c.check(frames(quote(seq=s)))
    assert c.check(frames(quote(seq=2))) is None
    assert c.counters["out_of_order"] == 1
    assert c.check(frames(quote(seq=4))).gap == 0  # state still at 3


def test_sequence_back_to_one_is_a_sender_restart_and_delivered():
    c = checker()
    for s in (1, 2, 3):
        c.check(frames(quote(seq=s)))
    assert c.check(frames(quote(seq=1))) is not None
    assert c.counters["sender_restart"] == 1
    assert c.check(frames(quote(seq=2))).gap == 0


def test_sequences_are_tracked_per_sender_and_per_topic():
    c = checker()
    c.check(frames(quote(seq=1, sender="a")))
    c.check(frames(quote(seq=1, sender="b")))
    c.check(frames(quote(seq=1, sender="a"), topic=b"quote.binance.BTCUSDT"))
    c.check(frames(quote(seq=2, sender="a")))
    assert c.counters["accepted"] == 4
    assert c.counters["duplicate"] == c.counters["gap"] == 0


def test_message_older_than_max_age_is_dropped_as_stale():
    c = checker(max_age_s=0.5)
    assert c.check(frames(quote(seq=1, ts_sent_ns=10 * SEC - SEC // 4))) is not None
    assert c.check(frames(quote(seq=2, ts_sent_ns=10 * SEC - SEC))) is None
    assert c.counters["stale"] == 1
    # the stale message still advanced the sequence: the next one is not a gap
    assert c.check(frames(quote(seq=3, ts_sent_ns=10 * SEC))).gap == 0


def test_old_exchange_time_is_dropped_as_stale_and_zero_exchange_time_is_ignored():
    c = checker(max_exchange_age_s=1.0)
    assert c.check(frames(quote(seq=1, ts_exchange_ns=5 * SEC))) is None
    assert c.check(frames(quote(seq=2, ts_exchange_ns=0))) is not None
    assert c.check(frames(quote(seq=3, ts_exchange_ns=9 * SEC + SEC // 2))) is not None
    assert c.counters["stale"] == 1


def test_unknown_version_is_dropped_and_counted():
    c = checker()
    assert c.check(frames(msgspec.structs.replace(quote(), version=2))) is None
    assert c.counters["unknown_version"] == 1


def test_future_schema_that_fails_to_decode_is_counted_as_unknown_version():
    future = {"kind": "quote", "version": 3, "sender": "qs", "seq": 1, "venue": "b", "px": "new layout"}
    c = checker()
    assert c.check([b"quote", msgspec.msgpack.encode(future)]) is None
    assert c.counters["unknown_version"] == 1 and c.counters["malformed"] == 0


@pytest.mark.parametrize(
    "bad",
    [
        [b"quote"],
        [b"quote", b"\x81", b"extra"],
        [b"quote", b"\xc1"],
        [b"quote", b""],
        [b"quote", msgspec.msgpack.encode({"kind": "quote", "bid": "x"})],
        [b"quote", msgspec.msgpack.encode({"kind": "nope"})],
        [b"quote", m.encode(m.Heartbeat(process="x"))],
    ],
    ids=["one_frame", "three_frames", "bad_msgpack", "empty", "wrong_type", "unknown_tag", "other_union"],
)
def test_malformed_input_is_counted_never_raised(bad):
    c = checker()
    assert c.check(bad) is None
    assert c.counters["malformed"] == 1 and c.counters["received"] == 1


def test_semantically_invalid_message_is_dropped_as_invalid():
    c = checker()
    assert c.check(frames(quote(bid=math.nan))) is None
    assert c.check(frames(quote(seq=2, bid=2001.0, ask=2000.0))) is None
    assert c.counters["invalid"] == 2
    assert "Quote.bid/ask" in c.last_error


# --------------------------------------------------------------------------- pub/sub over sockets
async def _connected(pub: Publisher, sub: Subscriber, topic: str = "quote.binance.ETHUSDT") -> None:
    """Publish probes until the subscription is live (ZMQ slow joiner), then reset the checker."""
    for _ in range(200):
        await pub.publish(topic, quote(ts_sent_ns=0))
        if await sub.recv(timeout_s=0.02) is not None:
            break
    else:
        raise AssertionError("subscriber never connected")
    while await sub.recv(timeout_s=0.02) is not None:
        pass
    sub.checker.reset()
    for key in sub.counters:
        sub.counters[key] = 0


def test_published_messages_arrive_stamped_in_order():
    async def scenario(ctx):
        async with (
            Publisher(LOOPBACK, sender="qs_bin", ctx=ctx) as pub,
            Subscriber(pub.endpoint, ["quote."], m.MarketData, ctx=ctx, max_age_s=5.0) as sub,
        ):
            await _connected(pub, sub)
            first_seq = pub.next_seq("quote.binance.ETHUSDT")
            for i in range(5):
                await pub.publish(
                    "quote.binance.ETHUSDT", quote(bid=2000.0 + i, ask=2001.0 + i, ts_sent_ns=0)
                )
            got = [await sub.recv(timeout_s=2.0) for _ in range(5)]
            return first_seq, got, dict(sub.counters)

    first_seq, got, counters = run(scenario)
    assert [d.message.seq for d in got] == list(range(first_seq, first_seq + 5))
    assert all(d.message.sender == "qs_bin" and d.message.ts_sent_ns > 0 for d in got)
    assert [d.message.bid for d in got] == [2000.0 + i for i in range(5)]
    assert all(d.topic == "quote.binance.ETHUSDT" for d in got)
    assert counters["accepted"] == 5 and counters["gap"] == 0


def test_topic_prefix_filters_other_topics():
    async def scenario(ctx):
        async with (
            Publisher(LOOPBACK, sender="qs", ctx=ctx) as pub,
            Subscriber(pub.endpoint, ["trade."], m.MarketData, ctx=ctx) as sub,
        ):
            trade = m.Trade(venue="b", symbol="s", price=1.0, qty=1.0, side="buy")
            for _ in range(200):
                await pub.publish("trade.b.s", trade)
                if await sub.recv(timeout_s=0.02) is not None:
                    break
            while await sub.recv(timeout_s=0.02) is not None:
                pass
            await pub.publish("quote.b.s", quote())
            await pub.publish("trade.b.s", trade)
            d = await sub.recv(timeout_s=2.0)
            return d, sub.counters["received"]

    d, _ = run(scenario)
    assert isinstance(d.message, m.Trade) and d.topic == "trade.b.s"


def test_skipped_sequence_over_the_wire_is_flagged_as_gap():
    async def scenario(ctx):
        async with (
            Publisher(LOOPBACK, sender="qs", ctx=ctx) as pub,
            Subscriber(pub.endpoint, [""], m.MarketData, ctx=ctx) as sub,
        ):
            await _connected(pub, sub)
            topic = "quote.binance.ETHUSDT"
            await pub.publish(topic, quote())
            pub.stamp(topic, quote())  # consumes a sequence number without sending: a lost message
            pub.stamp(topic, quote())
            await pub.publish(topic, quote())
            a = await sub.recv(timeout_s=2.0)
            b = await sub.recv(timeout_s=2.0)
            return a, b, dict(sub.counters)

    a, b, counters = run(scenario)
    assert a.gap == 0 and b.gap == 2
    assert counters["gap"] == 1 and counters["gap_messages"] == 2


def test_garbage_frames_on_the_wire_are_counted_and_the_stream_continues():
    async def scenario(ctx):
        async with (
            Publisher(LOOPBACK, sender="qs", ctx=ctx) as pub,
            Subscriber(pub.endpoint, [""], m.MarketData, ctx=ctx) as sub,
        ):
            await _connected(pub, sub)
            await pub.send_raw(b"quote.x", b"\xde\xad\xbe\xef")
            await pub.send_raw(b"quote.x", m.encode(msgspec.structs.replace(quote(), version=9)))
            await pub.publish("quote.x", quote())
            d = await sub.recv(timeout_s=2.0)
            return d, dict(sub.counters)

    d, counters = run(scenario)
    assert isinstance(d.message, m.Quote)
    assert counters["malformed"] == 1 and counters["unknown_version"] == 1 and counters["accepted"] == 1


def test_publishing_an_invalid_message_raises_and_sends_nothing():
    async def scenario(ctx):
        async with Publisher(LOOPBACK, sender="qs", ctx=ctx) as pub:
            with pytest.raises(m.MessageValidationError):
                await pub.publish("quote.x", quote(bid=math.inf))
            return pub.counters["sent"]

    assert run(scenario) == 0


def test_recv_with_timeout_and_no_publisher_returns_none():
    async def scenario(ctx):
        async with Subscriber("tcp://127.0.0.1:1", [""], m.MarketData, ctx=ctx) as sub:
            return await sub.recv(timeout_s=0.05)

    assert run(scenario) is None


# --------------------------------------------------------------------------- acknowledged requests
def order(coid: str = "hedge-1", **kw: Any) -> m.OrderRequest:
    base: dict[str, Any] = dict(venue="binance", symbol="ETHUSDT", side="sell", qty=0.5)
    return m.OrderRequest(client_order_id=coid, **{**base, **kw})


def accept(request: Any) -> m.OrderAck:
    return m.OrderAck(
        request_id=request.request_id,
        client_order_id=request.client_order_id,
        accepted=True,
        venue_order_id=f"v-{request.client_order_id}",
    )


def test_request_gets_its_ack():
    async def scenario(ctx):
        async def handler(req):
            return accept(req)

        async with RequestServer(LOOPBACK, m.OrderChannel, handler, sender="te", ctx=ctx) as server:
            async with RequestClient(
                server.endpoint, m.Reports, sender="trader", ctx=ctx, timeout_s=2.0
            ) as client:
                a = await client.request(order("c-1"))
                b = await client.request(
                    m.CancelRequest(client_order_id="c-1", venue="binance", symbol="ETHUSDT")
                )
                return a, b

    a, b = run(scenario)
    assert a.accepted and a.client_order_id == "c-1" and a.venue_order_id == "v-c-1" and a.sender == "te"
    assert b.request_id == "cancel:c-1"


def test_retry_while_slow_handler_runs_gets_the_same_ack_and_handler_runs_once():
    calls: list[str] = []

    async def scenario(ctx):
        async def handler(req):
            calls.append(req.client_order_id)
            if len(calls) == 1:
                await asyncio.sleep(0.35)  # slower than the client's timeout: the client retries
            return accept(req)

        async with RequestServer(LOOPBACK, m.OrderChannel, handler, sender="te", ctx=ctx) as server:
            async with RequestClient(server.endpoint, m.Reports, sender="trader", ctx=ctx) as client:
                ack = await client.request(order("slow-1"), timeout_s=0.1, retries=10)
                again = await client.request(order("slow-1"), timeout_s=1.0, retries=0)
                return ack, again, dict(client.counters), dict(server.counters)

    ack, again, client_counters, server_counters = run(scenario)
    assert calls == ["slow-1"]
    assert ack.accepted and ack.request_id == "slow-1"
    assert again == ack  # the cached reply, byte for byte (same seq and send time)
    assert client_counters["retries"] >= 1
    assert server_counters["handled"] == 1
    assert server_counters["duplicate_in_flight"] >= 1
    assert server_counters["duplicate_cached"] >= 1


def test_retry_from_a_restarted_client_is_answered_from_the_cache():
    calls: list[str] = []

    async def scenario(ctx):
        async def handler(req):
            calls.append(req.client_order_id)
            return accept(req)

        async with RequestServer(LOOPBACK, m.OrderChannel, handler, sender="te", ctx=ctx) as server:
            async with RequestClient(server.endpoint, m.Reports, sender="trader", ctx=ctx) as first:
                a = await first.request(order("c-9"))
            async with RequestClient(server.endpoint, m.Reports, sender="trader", ctx=ctx) as second:
                b = await second.request(order("c-9"))
            return a, b

    a, b = run(scenario)
    assert calls == ["c-9"]
    assert a == b


def test_handler_error_is_acked_as_rejection_naming_only_the_exception_type():
    async def scenario(ctx):
        async def handler(req):
            raise RuntimeError("venue said apiKey=SECRETVALUE")

        async with RequestServer(LOOPBACK, m.OrderChannel, handler, sender="te", ctx=ctx) as server:
            async with RequestClient(
                server.endpoint, m.Reports, sender="trader", ctx=ctx, timeout_s=2.0
            ) as client:
                return await client.request(order()), dict(server.counters)

    ack, counters = run(scenario)
    assert not ack.accepted and ack.reason == "handler_error: RuntimeError"
    assert "SECRET" not in ack.reason
    assert counters["handler_error"] == 1


def test_invalid_request_on_the_wire_is_rejected_with_the_validation_error():
    async def scenario(ctx):
        async def handler(req):
            raise AssertionError("must not run")

        async with RequestServer(LOOPBACK, m.OrderChannel, handler, sender="te", ctx=ctx) as server:
            raw = ctx.socket(zmq.DEALER)
            raw.setsockopt(zmq.LINGER, 0)
            raw.connect(server.endpoint)
            try:
                await raw.send(b"garbage")
                await raw.send(m.encode(order(qty=-1.0)))
                reply = await asyncio.wait_for(raw.recv(), 2.0)
            finally:
                raw.close(linger=0)
            return m.decoder_for(m.Reports).decode(reply), dict(server.counters)

    ack, counters = run(scenario)
    assert not ack.accepted and ack.reason.startswith("invalid: OrderRequest.qty")
    assert counters["malformed"] == 1 and counters["invalid"] == 1


def test_client_refuses_to_send_an_invalid_request():
    async def scenario(ctx):
        async with RequestClient("tcp://127.0.0.1:1", m.Reports, sender="trader", ctx=ctx) as client:
            with pytest.raises(m.MessageValidationError):
                await client.request(order(qty=math.nan))
            return client.counters["sent"]

    assert run(scenario) == 0


def test_no_server_raises_request_timeout_after_every_attempt():
    async def scenario(ctx):
        async with RequestClient("tcp://127.0.0.1:1", m.Reports, sender="trader", ctx=ctx) as client:
            with pytest.raises(RequestTimeout) as info:
                await client.request(order("lost"), timeout_s=0.03, retries=2)
            return info.value, dict(client.counters)

    exc, counters = run(scenario)
    assert exc.request_id == "lost" and exc.attempts == 3
    assert counters["sent"] == 3 and counters["retries"] == 2 and counters["timeouts"] == 1


def test_reply_cache_is_bounded_and_an_evicted_id_runs_again():
    calls: list[str] = []

    async def scenario(ctx):
        async def handler(req):
            calls.append(req.client_order_id)
            return accept(req)

        async with RequestServer(
            LOOPBACK, m.OrderChannel, handler, sender="te", ctx=ctx, cache_size=2
        ) as server:
            async with RequestClient(
                server.endpoint, m.Reports, sender="trader", ctx=ctx, timeout_s=2.0
            ) as client:
                for coid in ("a", "b", "c", "c", "a"):
                    await client.request(order(coid))

    run(scenario)
    assert calls == ["a", "b", "c", "a"]


def test_command_request_is_acked_with_command_ack():
    async def scenario(ctx):
        async def handler(cmd):
            return m.CommandAck(request_id=cmd.command_id, accepted=True, detail=cmd.command)

        async with RequestServer(LOOPBACK, m.ControlRequests, handler, sender="sup", ctx=ctx) as server:
            async with RequestClient(
                server.endpoint, m.ControlReplies, sender="cli", ctx=ctx, timeout_s=2.0
            ) as c:
                return await c.request(m.Command(command_id="k1", command="flatten", target="trader"))

    ack = run(scenario)
    assert ack.accepted and ack.request_id == "k1" and ack.detail == "flatten"


def test_sockets_build_from_the_example_trader_config():
    from pathlib import Path

    from asymlp_runtime.config import load_config

    cfg = load_config(Path(__file__).resolve().parents[1] / "config" / "trader.toml", env={})

    async def scenario(ctx):
        md = Subscriber.from_config(cfg.subscribers["market_data"], m.MarketData, ctx=ctx)
        client = RequestClient.from_config(
            cfg.clients["orders_binance"], m.Reports, sender=cfg.process_name, ctx=ctx
        )
        try:
            return md.topics, md.endpoints, client.timeout_s, client.retries
        finally:
            md.close()
            await client.close()

    topics, endpoints, timeout_s, retries = run(scenario)
    assert topics == ("quote.binance.ETHUSDT",) and endpoints == ("tcp://127.0.0.1:5551",)
    assert (timeout_s, retries) == (1.0, 2)


def test_lower_sequence_sent_later_is_a_restart_whose_first_messages_were_missed():
    c = checker()
    assert c.check(frames(quote(seq=7, ts_sent_ns=9 * SEC))) is not None
    # the restarted sender's seq 1 and 2 were lost (slow joiner); seq 3 arrives, sent later
    assert c.check(frames(quote(seq=3, ts_sent_ns=9 * SEC + 5))) is not None
    assert c.counters["sender_restart"] == 1
    # an old message (sent before the last one) is still out of order
    assert c.check(frames(quote(seq=2, ts_sent_ns=8 * SEC))) is None
    assert c.counters["out_of_order"] == 1


def test_spin_then_block_subscriber_delivers_in_order_and_honours_timeouts():
    async def scenario(ctx):
        async with (
            Publisher(LOOPBACK, sender="qs_bin", ctx=ctx) as pub,
            Subscriber(pub.endpoint, ["quote."], m.MarketData, ctx=ctx, max_age_s=5.0, spin_us=300.0) as sub,
        ):
            await _connected(pub, sub)
            for i in range(20):
                await pub.publish("quote.binance.ETHUSDT", quote(bid=2000.0 + i, ask=2001.0 + i, ts_sent_ns=0))
            got = [await sub.recv(timeout_s=2.0) for _ in range(20)]
            t0 = time.monotonic()
            nothing = await sub.recv(timeout_s=0.05)  # spins 300 us, then waits out the timeout
            waited = time.monotonic() - t0
            return got, nothing, waited, dict(sub.counters)

    got, nothing, waited, counters = run(scenario)
    assert [d.message.bid for d in got] == [2000.0 + i for i in range(20)]
    assert nothing is None and 0.04 < waited < 1.0
    assert counters["accepted"] == 20 and counters["out_of_order"] == 0


def test_spin_budget_must_not_be_negative():
    with pytest.raises(ValueError, match="spin_us"):
        Subscriber(LOOPBACK, ["quote."], m.MarketData, spin_us=-1.0)
