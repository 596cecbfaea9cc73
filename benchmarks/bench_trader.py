"""Trader hot path: market update -> hedge decision -> OrderRequest on the wire (target p99 < 1 ms).

Measured paths, one update in flight at a time, alternating a ``Quote`` and an ``InventoryDelta``
that leave the residual outside the band, so every update produces one hedge order:

- ``decision``: from :meth:`Trader.on_message` being handed the decoded message to the order
  dispatched (risk flags, ``hedge_order_size``, deterministic client order id, decision queued to
  the journal's writer thread, request task created) -- :attr:`Trader.decision_ns`;
- ``to wire``: from the same start to the ``OrderRequest`` received by a ROUTER socket on
  loopback in this process (adds the event-loop turn that runs the send task, the request
  stamping, validation, encoding and the ZMQ hop). The ROUTER answers with a ``duplicate``
  acknowledgement, which clears the in-flight order without moving the hedge.

In-run reference: the bare call of the core kernel :func:`asymlp_core.hedge.nb.hedge_order_size`
(from Python, same arguments), timed the same way; the ratios ``decision / bare`` and
``wire / bare`` are the regression figures, not the microseconds.

Run::

    .venv/bin/python -m pytest benchmarks/bench_trader.py --benchmark-only -s
    .venv/bin/python benchmarks/bench_trader.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

import zmq
import zmq.asyncio

from asymlp_core.hedge.nb import hedge_order_size
from asymlp_runtime import messages as m
from asymlp_runtime.bus import Delivery, RequestClient
from asymlp_runtime.config import load_config_text
from asymlp_runtime.journal import AsyncJournal
from asymlp_runtime.processes.trader import Trader

sys.path.insert(0, str(Path(__file__).parent))
import _zmq_harness as harness  # noqa: E402

N_UPDATES = 4_000
WARMUP = 200
TARGET_P99_US = 1_000.0
SYM = "ETH/USDT:USDT"

CONFIG = """
[GLOBAL]
process_name = "trader"
log_dir = "{tmp}/logs"
[CLIENTS.orders_binance]
endpoint = "tcp://127.0.0.1:1"
[TRADER]
hedge_venue = "binance"
hedge_symbol = "ETH/USDT:USDT"
hedge_band = 0.05
max_position = 1000.0
max_loss = 1e12
stale_quote_age_s = 60.0
min_order_qty = 0.001
"""


def _inventory(delta0: float) -> m.InventoryDelta:
    return m.InventoryDelta(
        pool_id="devnet",
        block_number=1,
        amount0_raw=str(int(delta0 * 1e18)),
        amount1_raw="0",
        amount0=delta0,
        amount1=0.0,
        delta0=delta0,
        price=3000.0,
    )


async def measure(n_updates: int = N_UPDATES) -> dict[str, float]:
    ctx = zmq.asyncio.Context()
    tmp = tempfile.mkdtemp(prefix="bench_trader_")
    router, endpoint = harness.bind_loopback(ctx, zmq.ROUTER)
    trader = Trader(
        load_config_text(CONFIG.replace("{tmp}", tmp), "<bench>", env={}), configure_logging=False
    )
    trader.journal = AsyncJournal.open(Path(tmp) / "trader.sqlite", synchronous="NORMAL")
    trader._order_client = RequestClient(
        endpoint, m.Reports, sender="trader", timeout_s=5.0, retries=0, ctx=ctx
    )
    trader.quote_mono = time.monotonic()
    decoder = m.decoder_for(m.OrderChannel)
    perf = time.perf_counter_ns
    wire: list[int] = []
    quote_topic, lp_topic = "quote.binance.ETHUSDT", "inventory.devnet"
    try:
        await trader.on_message(
            "market_data",
            Delivery(
                quote_topic,
                m.Quote(venue="binance", symbol=SYM, bid=2999.9, ask=3000.1, bid_size=1.0, ask_size=1.0),
            ),
        )
        for i in range(n_updates + WARMUP):
            if i % 2 == 0:
                msg = _inventory(1.0 + 0.001 * (i % 500))
                delivery = Delivery(lp_topic, msg)
                stream = "lp"
            else:
                mid = 3000.0 + 0.01 * (i % 100)
                delivery = Delivery(
                    quote_topic,
                    m.Quote(
                        venue="binance", symbol=SYM, bid=mid - 0.1, ask=mid + 0.1, bid_size=1.0, ask_size=1.0
                    ),
                )
                stream = "market_data"
            t0 = perf()
            await trader.on_message(stream, delivery)
            identity, payload = await router.recv_multipart()
            t1 = perf()
            if i >= WARMUP:
                wire.append(t1 - t0)
            req = decoder.decode(payload)
            ack = m.OrderAck(
                request_id=req.request_id,
                client_order_id=req.client_order_id,
                accepted=True,
                reason="duplicate",
            )
            await router.send_multipart([identity, m.encode(ack)])
            deadline = time.monotonic() + 5.0
            while trader.in_flight and time.monotonic() < deadline:
                await asyncio.sleep(0 if time.monotonic() < deadline - 4.9 else 1e-4)
        decision = list(trader.decision_ns)[WARMUP:]
        # in-run reference: the bare kernel call from Python
        bare: list[int] = []
        for i in range(len(decision)):
            r = 1.0 + 0.001 * (i % 500)
            t0 = perf()
            hedge_order_size(r, 0.05, 0, 0.007, 0.001)
            bare.append(perf() - t0)
        sent = trader.orders_sent
    finally:
        await trader._order_client.close()
        for task in list(trader._tasks):
            task.cancel()
        await asyncio.sleep(0)
        await trader.journal.close()
        router.close(linger=0)
        ctx.destroy(linger=0)
    if sent < n_updates + WARMUP:
        raise RuntimeError(f"only {sent} orders for {n_updates + WARMUP} updates")
    d, w, b = harness.microseconds(decision), harness.microseconds(wire), harness.microseconds(bare)
    result = {
        "n_updates": float(d.size),
        **harness.percentile_keys("decision", d),
        **harness.percentile_keys("wire", w, (50, 99, 99.9)),
        **harness.percentile_keys("bare", b),
    }
    ratios = {
        "ratio_decision_p50": ("decision_p50_us", "bare_p50_us"),
        "ratio_wire_p50": ("wire_p50_us", "bare_p50_us"),
        "ratio_wire_p99": ("wire_p99_us", "bare_p99_us"),
    }
    return harness.add_ratios_and_target(result, ratios, "wire_p99_us", TARGET_P99_US)


def report(result: dict[str, float]) -> str:
    return (
        f"Trader: market update -> hedge OrderRequest, {int(result['n_updates'])} updates\n"
        f"  decision (on_message -> dispatched): p50 {result['decision_p50_us']:7.1f} us"
        f"   p99 {result['decision_p99_us']:7.1f} us\n"
        f"  to wire (-> ROUTER received):        p50 {result['wire_p50_us']:7.1f} us"
        f"   p99 {result['wire_p99_us']:7.1f} us   p99.9 {result['wire_p999_us']:7.1f} us\n"
        f"  bare hedge_order_size (reference):   p50 {result['bare_p50_us']:7.2f} us"
        f"   p99 {result['bare_p99_us']:7.2f} us\n"
        f"  ratios: decision/bare p50 {result['ratio_decision_p50']:.1f}   wire/bare p50"
        f" {result['ratio_wire_p50']:.1f}   p99 {result['ratio_wire_p99']:.1f}\n"
        f"  target p99 < {TARGET_P99_US:.0f} us (to wire): {harness.verdict(result)}"
    )


def test_trader_decision_latency_against_bare_kernel(benchmark):
    harness.run_once(benchmark, measure, report)


if __name__ == "__main__":
    print(report(asyncio.run(measure())))
