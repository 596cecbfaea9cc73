"""Prometheus metrics: a registry per process, bus counter sync, loopback endpoint."""

from __future__ import annotations

import socket
import urllib.request

from asymlp_runtime.ops.metrics import ProcessMetrics


def sample(metrics: ProcessMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, {"process": metrics.process, **labels})


def test_two_processes_in_one_interpreter_have_separate_registries():
    a, b = ProcessMetrics("trader"), ProcessMetrics("lp_manager")
    a.message_sent("risk", "risk_state")
    assert sample(a, "asymlp_messages_total", socket="risk", direction="out", kind="risk_state") == 1.0
    assert (
        b.registry.get_sample_value(
            "asymlp_messages_total",
            {"process": "trader", "socket": "risk", "direction": "out", "kind": "risk_state"},
        )
        is None
    )


def test_received_message_age_lands_in_the_latency_histogram():
    mtr = ProcessMetrics("trader")
    mtr.message_received("md", "quote", ts_sent_ns=1_000_000_000, now_ns=1_000_150_000)  # 150 us
    assert sample(mtr, "asymlp_message_latency_seconds_bucket", socket="md", le="0.0002") == 1.0
    assert sample(mtr, "asymlp_message_latency_seconds_bucket", socket="md", le="0.0001") == 0.0


def test_bus_counters_are_added_as_increments():
    mtr = ProcessMetrics("trader")
    counters = {"gap": 1, "stale": 0}
    mtr.sync_bus_counters("md", counters)
    counters["gap"] = 4
    mtr.sync_bus_counters("md", counters)
    mtr.sync_bus_counters("md", counters)
    assert sample(mtr, "asymlp_bus_events_total", socket="md", event="gap") == 4.0
    assert sample(mtr, "asymlp_bus_events_total", socket="md", event="stale") is None


def test_orders_errors_and_connection_state_are_recorded():
    mtr = ProcessMetrics("trading_engine_binance")
    mtr.order_status("binance", "filled")
    mtr.error("venue", "NetworkError")
    mtr.set_connection("binance", True)
    mtr.set_connection("binance", False)
    assert sample(mtr, "asymlp_orders_total", venue="binance", status="filled") == 1.0
    assert sample(mtr, "asymlp_errors_total", component="venue", kind="NetworkError") == 1.0
    assert sample(mtr, "asymlp_connection_up", target="binance") == 0.0


def test_port_zero_disables_the_endpoint():
    assert ProcessMetrics("x").serve(0) == 0


def test_endpoint_serves_the_registry_on_loopback():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mtr = ProcessMetrics("supervisor")
    mtr.heartbeat(now_s=123.0)
    assert mtr.serve(port) == port
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    finally:
        mtr.close()
    assert 'asymlp_heartbeat_timestamp_seconds{process="supervisor"} 123.0' in body
