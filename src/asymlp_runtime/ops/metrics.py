"""Prometheus metrics of one process.

Each process owns a :class:`ProcessMetrics` with its own ``CollectorRegistry`` (never the
global default, so several instances can live in one test process) and serves it on
``127.0.0.1:<GLOBAL.metrics_port>``; port 0 disables the endpoint.

Metrics (all carry the ``process`` label):

=======================================  =========  =============================================
name                                     kind       labels
=======================================  =========  =============================================
``asymlp_messages_total``                counter    ``socket``, ``direction`` (in/out), ``kind``
``asymlp_message_latency_seconds``       histogram  ``socket`` (``now - ts_sent_ns`` on receive)
``asymlp_bus_events_total``              counter    ``socket``, ``event`` (gap, stale, malformed...)
``asymlp_orders_total``                  counter    ``venue``, ``status``
``asymlp_order_latency_seconds``         histogram  ``venue`` (request to acknowledgement)
``asymlp_errors_total``                  counter    ``component``, ``kind``
``asymlp_connection_up``                 gauge      ``target`` (1 connected, 0 not)
``asymlp_heartbeat_timestamp_seconds``   gauge      (last heartbeat sent)
=======================================  =========  =============================================
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.exposition import generate_latest

__all__ = ["LATENCY_BUCKETS_S", "ProcessMetrics"]

LATENCY_BUCKETS_S: Final[tuple[float, ...]] = (
    10e-6,
    25e-6,
    50e-6,
    100e-6,
    200e-6,
    500e-6,
    1e-3,
    2.5e-3,
    5e-3,
    10e-3,
    25e-3,
    50e-3,
    100e-3,
    250e-3,
    1.0,
    float("inf"),
)
"""Histogram buckets (seconds): the bus target is p99 < 200 us, venue round trips are ms."""


class ProcessMetrics:
    """Metrics of one process, in a registry of its own.

    Parameters
    ----------
    process : str
        Process name (value of the ``process`` label).
    registry : CollectorRegistry or None
        Registry to use (a new one by default).
    """

    def __init__(self, process: str, registry: CollectorRegistry | None = None) -> None:
        self.process = process
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        r = self.registry
        self.messages = Counter(
            "asymlp_messages",
            "Messages sent or received",
            ["process", "socket", "direction", "kind"],
            registry=r,
        )
        self.message_latency = Histogram(
            "asymlp_message_latency_seconds",
            "Age of a message when received (now - ts_sent_ns)",
            ["process", "socket"],
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self.bus_events = Counter(
            "asymlp_bus_events",
            "Stream checks: gaps, stale, malformed, ...",
            ["process", "socket", "event"],
            registry=r,
        )
        self.orders = Counter(
            "asymlp_orders", "Order status transitions", ["process", "venue", "status"], registry=r
        )
        self.order_latency = Histogram(
            "asymlp_order_latency_seconds",
            "Order request to acknowledgement",
            ["process", "venue"],
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self.errors = Counter(
            "asymlp_errors", "Errors by component", ["process", "component", "kind"], registry=r
        )
        self.connection_up = Gauge(
            "asymlp_connection_up", "1 when connected", ["process", "target"], registry=r
        )
        self.heartbeat_ts = Gauge(
            "asymlp_heartbeat_timestamp_seconds", "Unix time of the last heartbeat", ["process"], registry=r
        )
        self._seen_counters: dict[tuple[str, str], int] = {}
        self._server: Any = None
        self._thread: Any = None

    # ---------------------------------------------------------------- recording
    def message_sent(self, socket: str, kind: str) -> None:
        """Count one message sent on ``socket``."""
        self.messages.labels(self.process, socket, "out", kind).inc()

    def message_received(
        self, socket: str, kind: str, ts_sent_ns: int = 0, now_ns: int | None = None
    ) -> None:
        """Count one message received on ``socket`` and observe its age when ``ts_sent_ns`` is set."""
        self.messages.labels(self.process, socket, "in", kind).inc()
        if ts_sent_ns:
            now_ns = time.time_ns() if now_ns is None else now_ns
            self.message_latency.labels(self.process, socket).observe(max(0, now_ns - ts_sent_ns) * 1e-9)

    def order_status(self, venue: str, status: str) -> None:
        """Count an order status transition (``new``, ``filled``, ``rejected``, ...)."""
        self.orders.labels(self.process, venue, status).inc()

    def order_acknowledged(self, venue: str, latency_s: float) -> None:
        """Observe the request-to-acknowledgement time of an order."""
        self.order_latency.labels(self.process, venue).observe(latency_s)

    def error(self, component: str, kind: str) -> None:
        """Count an error (``kind`` is a short code or an exception type name, never its text)."""
        self.errors.labels(self.process, component, kind).inc()

    def set_connection(self, target: str, up: bool) -> None:
        """Set the connection state of ``target`` (a venue, the RPC node, a socket)."""
        self.connection_up.labels(self.process, target).set(1.0 if up else 0.0)

    def heartbeat(self, now_s: float | None = None) -> None:
        """Record the time of the heartbeat just sent."""
        self.heartbeat_ts.labels(self.process).set(time.time() if now_s is None else now_s)

    def sync_bus_counters(self, socket: str, counters: Mapping[str, int]) -> None:
        """Add the increase of a bus ``counters`` dict since the last call to ``asymlp_bus_events_total``."""
        for event, value in counters.items():
            key = (socket, event)
            delta = value - self._seen_counters.get(key, 0)
            if delta > 0:
                self.bus_events.labels(self.process, socket, event).inc(delta)
            self._seen_counters[key] = value

    # ---------------------------------------------------------------- exposition
    def render(self) -> bytes:
        """The registry in the Prometheus text format."""
        return generate_latest(self.registry)

    def serve(self, port: int, addr: str = "127.0.0.1") -> int:
        """Serve ``/metrics`` on ``addr:port`` in a daemon thread; port 0 disables.

        Returns
        -------
        int
            The port served, or 0 when disabled.
        """
        if port == 0:
            return 0
        if self._server is not None:
            raise RuntimeError("metrics endpoint already running")
        self._server, self._thread = start_http_server(port, addr=addr, registry=self.registry)
        return int(self._server.server_address[1])

    def close(self) -> None:
        """Stop the endpoint if it runs."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5.0)
            self._server = None
            self._thread = None
