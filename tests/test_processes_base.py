"""ProcessBase: heartbeats, health, commands, bad frames, registry."""

from __future__ import annotations

import asyncio
import json

import msgspec
import pytest

from asymlp_runtime import messages as m
from asymlp_runtime.bus import Publisher, Subscriber
from asymlp_runtime.processes.base import (
    PROCESS_KINDS,
    ProcessBase,
    process_class,
    process_kind,
    stream_type,
)
from process_helpers import config_from_text, free_ports, run_async, wait_until

pytestmark = pytest.mark.timeout(60)


class _Echo(ProcessBase):
    kind = "echo"

    def __init__(self, config, **kw):
        super().__init__(config, **kw)
        self.seen: list[m.Message] = []
        self.stopped_cleanly = False

    async def on_message(self, stream, delivery):
        if isinstance(delivery.message, m.Quote) and delivery.message.symbol == "BOOM":
            raise RuntimeError("handler bug")
        self.seen.append(delivery.message)

    async def on_stop(self):
        self.stopped_cleanly = True


def _config(tmp_path, ctl, cmd, md):
    return config_from_text(
        f"""
[GLOBAL]
process_name = "echo_1"
log_dir = "{{tmp}}/logs"
heartbeat_interval_s = 0.05
journal_path = "{{tmp}}/echo.sqlite"
[PUBLISHERS]
control = "tcp://127.0.0.1:{ctl}"
[SUBSCRIBERS.supervisor]
endpoint = "tcp://127.0.0.1:{cmd}"
topics = ["cmd.all", "cmd.echo_1"]
[SUBSCRIBERS.market_data]
endpoint = "tcp://127.0.0.1:{md}"
topics = ["quote."]
""",
        tmp_path,
    )


def test_process_heartbeats_health_and_shutdown_command_stop_cleanly(tmp_path):
    run_async(_heartbeats_scenario(tmp_path))


async def _heartbeats_scenario(tmp_path):
    ctl, cmd, md = free_ports(3)
    proc = _Echo(_config(tmp_path, ctl, cmd, md))
    sup = Publisher(f"tcp://127.0.0.1:{cmd}", sender="supervisor")
    mdpub = Publisher(f"tcp://127.0.0.1:{md}", sender="qs")
    watch = Subscriber(f"tcp://127.0.0.1:{ctl}", ["hb.", "health."], m.Control)
    task = asyncio.create_task(proc.run())
    try:
        assert await wait_until(proc.started.is_set)
        got = {}
        for _ in range(40):
            d = await watch.recv(timeout_s=1.0)
            if d is not None:
                got[type(d.message).__name__] = d.message
            if len(got) == 2:
                break
        assert got["Heartbeat"].process == "echo_1"
        assert got["Health"].status == "ok"
        proc.set_condition("feed", "degraded", "stale for 3 s")
        assert proc.health()["status"] == "degraded"
        # bad frames on the stream: counted, never crash
        raw = mdpub._sock  # noqa: SLF001 - raw frames for the test
        good = m.Quote(venue="binance", symbol="ETHUSDT", bid=1.0, ask=2.0, bid_size=1.0, ask_size=1.0)
        for _ in range(20):
            await mdpub.publish("quote.binance.ETHUSDT", good)
            await raw.send_multipart([b"quote.x", b"\xc1garbage"])
            await raw.send_multipart([b"quote.x", msgspec.msgpack.encode({"kind": "quote", "version": 99})])
            await mdpub.publish("quote.binance.BOOM", msgspec.structs.replace(good, symbol="BOOM"))
            if proc.subscribers["market_data"].counters["unknown_version"] >= 1 and proc.seen:
                break
            await asyncio.sleep(0.05)
        counters = proc.subscribers["market_data"].counters
        assert counters["malformed"] >= 1 and counters["unknown_version"] >= 1
        assert proc.seen and not task.done()
        # a command for another process is ignored, ours stops the process
        for _ in range(50):
            await sup.publish("cmd.all", m.Command(command_id="c0", command="pause"))
            if proc.paused:
                break
            await asyncio.sleep(0.02)
        assert proc.paused
        await sup.publish("cmd.other", m.Command(command_id="c1", command="shutdown", target="other"))
        await asyncio.sleep(0.1)
        assert not task.done()
        await sup.publish("cmd.echo_1", m.Command(command_id="c2", command="shutdown", target="echo_1"))
        assert await asyncio.wait_for(task, 5.0) == 0
        assert proc.stopped_cleanly and proc.health()["status"] == "stopped"
        lines = [json.loads(x) for x in (tmp_path / "logs" / "echo_1.log").read_text().splitlines()]
        assert any(x["msg"] == "stopped" for x in lines)
        assert any("handler for market_data failed" in x["msg"] for x in lines)
    finally:
        proc.request_stop("test end")
        await asyncio.wait_for(task, 5.0)
        sup.close()
        mdpub.close()
        watch.close()


def test_registry_kinds_and_stream_types_resolve():
    assert process_kind("trading_engine_binance") == "trading_engine"
    assert process_kind("trader") == "trader"
    with pytest.raises(KeyError):
        process_kind("nothing")
    with pytest.raises(KeyError):
        process_class("nothing")
    assert set(PROCESS_KINDS) >= {"quote_server", "trading_engine", "position_server", "trader"}
    assert stream_type("market_data") is m.MarketData
    assert stream_type("control_trader") is m.Control
    assert stream_type("trader_commands") is m.Control
