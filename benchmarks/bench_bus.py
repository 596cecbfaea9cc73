"""One ZMQ hop on loopback: encode, send, receive, decode (target p99 < 200 us).

Measured path: ``Publisher.publish`` (stamp sender/seq/time, validate, msgpack encode, PUB send)
to ``Subscriber.recv`` (SUB receive, typed union decode, version/validate/sequence/staleness
checks) for a :class:`~asymlp_runtime.messages.Quote`, one message in flight at a time, over
``tcp://127.0.0.1``.

In-run reference: the same PUB/SUB hop over zmq.asyncio with pre-encoded bytes and no msgspec
(no stamping, encoding, decoding or checks). The two paths run in alternating blocks so machine
load hits both alike; the ratio ``bus / raw`` is the regression figure, not the microseconds.

Run::

    .venv/bin/python -m pytest benchmarks/bench_bus.py --benchmark-only -s
    .venv/bin/python benchmarks/bench_bus.py          # prints the same table
"""

from __future__ import annotations

import asyncio
import pathlib
import sys
import time

import numpy as np
import pytest
import zmq
import zmq.asyncio

from asymlp_runtime import messages as m
from asymlp_runtime.bus import Publisher, Subscriber

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import _zmq_harness as harness  # noqa: E402

N_MESSAGES = 20_000
BLOCK = 1_000
WARMUP = 500
TOPIC = "quote.binance.ETHUSDT"
TARGET_P99_US = 200.0


def _quote(i: int) -> m.Quote:
    return m.Quote(
        venue="binance",
        symbol="ETHUSDT",
        bid=2000.0 + (i % 100) * 0.01,
        ask=2000.5 + (i % 100) * 0.01,
        bid_size=1.5,
        ask_size=2.5,
        ts_exchange_ns=time.time_ns(),
        ts_recv_ns=time.time_ns(),
    )


async def _bus_block(pub: Publisher, sub: Subscriber, msgs: list[m.Quote], out: list[int]) -> None:
    perf = time.perf_counter_ns
    for msg in msgs:
        t0 = perf()
        await pub.publish(TOPIC, msg)
        delivery = await sub.recv()
        out.append(perf() - t0)
        assert delivery is not None


async def _raw_block(
    pub: zmq.asyncio.Socket, sub: zmq.asyncio.Socket, payload: bytes, n: int, out: list[int], spin_ns: int = 0
) -> None:
    perf = time.perf_counter_ns
    topic = TOPIC.encode()
    frames = (topic, payload)
    sync = zmq.Socket.shadow(sub.underlying)
    for _ in range(n):
        t0 = perf()
        await pub.send_multipart(frames)
        got = None
        if spin_ns:  # the same spin-then-block wait as the bus subscriber
            deadline = perf() + spin_ns
            while got is None and perf() < deadline:
                try:
                    got = sync.recv_multipart(flags=zmq.NOBLOCK)
                except zmq.Again:
                    pass
        if got is None:
            got = await sub.recv_multipart()
        out.append(perf() - t0)
        assert len(got) == 2


async def _join(send, recv, timeout_s: float = 5.0) -> None:
    """Send until the subscription is live (ZMQ slow joiner), then drain."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        await send()
        if await recv(0.02):
            break
    else:
        raise RuntimeError("subscription never became live")
    while await recv(0.02):
        pass


async def measure(n_messages: int = N_MESSAGES, block: int = BLOCK, spin_us: float = 0.0) -> dict[str, float]:
    """Latencies of the bus hop and the raw reference hop, in microseconds (both waiting the
    same way: on the event loop, or spin-then-block for ``spin_us``)."""
    ctx = zmq.asyncio.Context()
    pub = Publisher("tcp://127.0.0.1:*", sender="bench", ctx=ctx)
    sub = Subscriber(pub.endpoint, ["quote."], m.MarketData, ctx=ctx, max_age_s=5.0, spin_us=spin_us)
    raw_pub, raw_endpoint = harness.bind_loopback(ctx, zmq.PUB)
    raw_sub = ctx.socket(zmq.SUB)
    raw_sub.setsockopt(zmq.LINGER, 0)
    raw_sub.setsockopt(zmq.SUBSCRIBE, b"quote.")
    raw_sub.connect(raw_endpoint)
    payload = m.encode(pub.stamp(TOPIC, _quote(0)))
    try:

        async def bus_recv(timeout_s: float) -> bool:
            return await sub.recv(timeout_s) is not None

        async def raw_recv(timeout_s: float) -> bool:
            if await raw_sub.poll(int(timeout_s * 1000)):
                await raw_sub.recv_multipart()
                return True
            return False

        await _join(lambda: pub.publish(TOPIC, _quote(0)), bus_recv)
        await _join(lambda: raw_pub.send_multipart((TOPIC.encode(), payload)), raw_recv)
        msgs = [_quote(i) for i in range(block)]
        scratch: list[int] = []
        await _bus_block(pub, sub, msgs[: min(WARMUP, block)], scratch)
        await _raw_block(raw_pub, raw_sub, payload, WARMUP, scratch, int(spin_us * 1000))

        bus: list[int] = []
        raw: list[int] = []
        for _ in range(max(1, n_messages // block)):
            await _bus_block(pub, sub, msgs, bus)
            await _raw_block(raw_pub, raw_sub, payload, block, raw, int(spin_us * 1000))
        # codec alone (stamp + validate + encode + decode + validate), no socket
        decoder = m.decoder_for(m.MarketData)
        codec: list[int] = []
        perf = time.perf_counter_ns
        for msg in msgs:
            t0 = perf()
            stamped = pub.stamp(TOPIC, msg)
            stamped.validate()
            decoder.decode(m.encode(stamped)).validate()
            codec.append(perf() - t0)
        counters = dict(sub.counters)
    finally:
        pub.close()
        sub.close()
        raw_pub.close(linger=0)
        raw_sub.close(linger=0)
        ctx.destroy(linger=0)

    if counters["gap"] or counters["stale"] or counters["malformed"]:
        raise RuntimeError(f"bus dropped or flagged messages during the run: {counters}")
    b, r, c = harness.microseconds(bus), harness.microseconds(raw), harness.microseconds(codec)
    result = {
        "spin_us": float(spin_us),
        "n_messages": float(b.size),
        **harness.percentile_keys("bus", b, (50, 99, 99.9)),
        **harness.percentile_keys("raw", r),
        "bus_fraction_under_target": float(np.mean(b < TARGET_P99_US)),
        "raw_fraction_under_target": float(np.mean(r < TARGET_P99_US)),
        **harness.percentile_keys("codec", c, (50,)),
        "payload_bytes": float(len(payload)),
    }
    ratios = {"ratio_p50": ("bus_p50_us", "raw_p50_us"), "ratio_p99": ("bus_p99_us", "raw_p99_us")}
    return harness.add_ratios_and_target(result, ratios, "bus_p99_us", TARGET_P99_US)


def report(result: dict[str, float]) -> str:
    return (
        f"ZMQ hop over loopback, {int(result['n_messages'])} Quote messages"
        f" ({int(result['payload_bytes'])} B), "
        + (f"spin-then-block {result['spin_us']:.0f} us" if result["spin_us"] else "waiting on the event loop")
        + "\n"
        f"  bus (msgspec + checks): p50 {result['bus_p50_us']:7.1f} us   p99 {result['bus_p99_us']:7.1f} us"
        f"   p99.9 {result['bus_p999_us']:7.1f} us\n"
        f"  raw bytes (reference):  p50 {result['raw_p50_us']:7.1f} us   p99 {result['raw_p99_us']:7.1f} us\n"
        f"  share under {TARGET_P99_US:.0f} us:     bus {result['bus_fraction_under_target']:.4f}"
        f"   raw {result['raw_fraction_under_target']:.4f}\n"
        f"  ratio bus/raw:          p50 {result['ratio_p50']:7.2f}      p99 {result['ratio_p99']:7.2f}\n"
        f"  codec alone (stamp, validate, encode, decode, validate): p50 {result['codec_p50_us']:.2f} us\n"
        f"  target p99 < {TARGET_P99_US:.0f} us: {harness.verdict(result)}"
    )


SPIN_US = 200.0


@pytest.mark.parametrize("spin_us", [0.0, SPIN_US], ids=["event-loop", "spin"])
def test_bus_hop_latency_against_raw_zmq(benchmark, spin_us):
    harness.run_once(benchmark, lambda: measure(spin_us=spin_us), report)


if __name__ == "__main__":
    print(report(asyncio.run(measure())))
    print(report(asyncio.run(measure(spin_us=SPIN_US))))
