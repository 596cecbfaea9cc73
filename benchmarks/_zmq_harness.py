"""What the loopback latency benchmarks share (``bench_bus.py``, ``bench_trader.py``).

A socket bound to a free loopback port, latency samples in nanoseconds turned into microsecond
percentiles under the result keys the benchmarks record, the in-run ratios and the target
verdict, and the one-round
pytest-benchmark run that stores the result in ``extra_info`` and prints the report. Not a
benchmark itself: the name does not match pytest's ``bench_*.py``, so it is never collected.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

import numpy as np
import zmq
import zmq.asyncio

Result = dict[str, float]


def bind_loopback(ctx: zmq.asyncio.Context, kind: int) -> tuple[zmq.asyncio.Socket, str]:
    """A ``kind`` socket (``zmq.PUB``, ``zmq.ROUTER``, ...) with no linger, bound to a free port
    on 127.0.0.1; returns it and its endpoint."""
    sock = ctx.socket(kind)
    sock.setsockopt(zmq.LINGER, 0)
    sock.bind("tcp://127.0.0.1:*")
    return sock, sock.getsockopt(zmq.LAST_ENDPOINT).decode()


def microseconds(samples_ns: Sequence[int]) -> np.ndarray:
    """Latency samples in nanoseconds as float64 microseconds."""
    return np.asarray(samples_ns, dtype=np.float64) / 1e3


def percentile_keys(name: str, samples_us: np.ndarray, percents: Sequence[float] = (50, 99)) -> Result:
    """``{"<name>_p50_us": ..., "<name>_p99_us": ..., "<name>_p999_us": ...}`` for ``percents``
    (99.9 is spelled ``p999``)."""
    return {f"{name}_p{q:g}_us".replace(".", ""): float(np.percentile(samples_us, q)) for q in percents}


def add_ratios_and_target(
    result: Result, ratios: Mapping[str, tuple[str, str]], p99_key: str, target_p99_us: float
) -> Result:
    """Add ``result[name] = result[numerator] / result[denominator]`` for each ``name ->
    (numerator, denominator)`` of ``ratios`` and ``meets_p99_target`` (1.0 when
    ``result[p99_key] < target_p99_us``, else 0.0); returns ``result``."""
    for name, (numerator, denominator) in ratios.items():
        result[name] = result[numerator] / result[denominator]
    result["meets_p99_target"] = float(result[p99_key] < target_p99_us)
    return result


def verdict(result: Result) -> str:
    """``met`` or ``NOT met`` from ``result["meets_p99_target"]``."""
    return "met" if result["meets_p99_target"] else "NOT met"


def run_once(
    benchmark: Any, measure: Callable[[], Coroutine[Any, Any, Result]], report: Callable[[Result], str]
) -> Result:
    """One pytest-benchmark round of ``asyncio.run(measure())``: the figures go to the saved
    ``extra_info`` (what ``--benchmark-compare`` reads) and the report is printed."""
    holder: dict[str, Result] = {}

    def run() -> None:
        holder["result"] = asyncio.run(measure())

    benchmark.pedantic(run, rounds=1, iterations=1)
    result = holder["result"]
    benchmark.extra_info.update(result)
    print("\n" + report(result))
    return result
