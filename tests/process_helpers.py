"""Helpers of the process tests: free loopback ports, configs from text, bounded waits."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from asymlp_runtime.config import ProcessConfig, load_config_text


def free_ports(n: int) -> list[int]:
    """``n`` distinct free TCP ports on 127.0.0.1 (bound and released at once)."""
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def config_from_text(text: str, tmp_path: Path) -> ProcessConfig:
    """A config from TOML text with ``{tmp}`` replaced by ``tmp_path`` (logs, journals)."""
    return load_config_text(text.replace("{tmp}", str(tmp_path)), "<test>", env={})


async def wait_until(predicate: Callable[[], bool], timeout_s: float = 5.0, step_s: float = 0.01) -> bool:
    """Poll ``predicate`` until true or ``timeout_s`` passes; returns its last value."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(step_s)
    return predicate()


def run_async(coro, timeout_s: float = 45.0):  # noqa: ANN001, ANN201
    """Run a test coroutine in a fresh event loop, bounded by ``timeout_s``."""

    async def main():  # noqa: ANN202
        return await asyncio.wait_for(coro, timeout_s)

    return asyncio.run(main())


def engine_config_text(ports: dict[str, int], name: str = "trading_engine_binance") -> str:
    """A trading engine config on the given ports (``reports``, ``control``, ``orders``)."""
    return f"""
[GLOBAL]
process_name = "{name}"
log_dir = "{{tmp}}/logs"
heartbeat_interval_s = 0.1
journal_path = "{{tmp}}/journal/{name}.sqlite"
[PUBLISHERS]
reports = "tcp://127.0.0.1:{ports["reports"]}"
control = "tcp://127.0.0.1:{ports["control"]}"
[SERVERS]
orders = "tcp://127.0.0.1:{ports["orders"]}"
[HTTP_API]
exchange_id = "binanceusdm"
[MARKET_DATA]
symbols = ["ETH/USDT:USDT"]
"""


def trader_config_text(
    ports: dict[str, int],
    *,
    timeout_s: float = 0.3,
    stale_s: float = 1.0,
    band: float = 0.05,
    max_position: float = 50.0,
    max_loss: float = 5000.0,
) -> str:
    """A trader config: subscribers ``market_data``, ``reports``, ``account``, ``lp``, ``supervisor``."""
    return f"""
[GLOBAL]
process_name = "trader"
log_dir = "{{tmp}}/logs"
heartbeat_interval_s = 0.1
journal_path = "{{tmp}}/journal/trader.sqlite"
[PUBLISHERS]
risk = "tcp://127.0.0.1:{ports["risk"]}"
control = "tcp://127.0.0.1:{ports["trader_control"]}"
[SUBSCRIBERS.market_data]
endpoint = "tcp://127.0.0.1:{ports["market_data"]}"
topics = ["quote.binance.ETHUSDT"]
[SUBSCRIBERS.reports]
endpoint = "tcp://127.0.0.1:{ports["reports"]}"
topics = ["order.binance.", "fill.binance."]
[SUBSCRIBERS.account]
endpoint = "tcp://127.0.0.1:{ports["account"]}"
topics = ["position.binance."]
[SUBSCRIBERS.lp]
endpoint = "tcp://127.0.0.1:{ports["lp"]}"
topics = ["inventory."]
[SUBSCRIBERS.supervisor]
endpoint = "tcp://127.0.0.1:{ports["supervisor"]}"
topics = ["cmd.all", "cmd.trader"]
[CLIENTS.orders_binance]
endpoint = "tcp://127.0.0.1:{ports["orders"]}"
timeout_s = {timeout_s}
retries = 0
[TRADER]
hedge_venue = "binance"
hedge_symbol = "ETH/USDT:USDT"
hedge_band = {band}
max_position = {max_position}
max_loss = {max_loss}
stale_quote_age_s = {stale_s}
min_order_qty = 0.001
"""


class StreamObserver:
    """Subscribes to bus streams in a thread of its own and hands each message to ``handle``.

    ``endpoints``: name -> (endpoint, topic prefixes, the socket's message union).
    """

    def __init__(self, endpoints: dict, handle, poll_s: float = 0.01) -> None:  # noqa: ANN001
        self.endpoints = endpoints
        self._handle = handle
        self._poll_s = poll_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    async def _main(self) -> None:
        from asymlp_runtime.bus import Subscriber

        subs = {k: Subscriber(ep, topics, tp) for k, (ep, topics, tp) in self.endpoints.items()}
        try:
            while not self._stop.is_set():
                for sub in subs.values():
                    delivery = await sub.recv(timeout_s=self._poll_s)
                    if delivery is not None:
                        self._handle(delivery.message)
        finally:
            for sub in subs.values():
                sub.close()
