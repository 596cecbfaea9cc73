"""Journal append throughput and latency: synchronous=FULL vs NORMAL, and the asyncio writer thread.

Absolute numbers depend on the disk (FULL costs one fsync per commit), so every figure is
reported next to its in-run reference:

- ``full_over_normal``: mean append time with ``synchronous=FULL`` / with ``NORMAL`` (cost of the
  per-commit fsync, i.e. of power-loss durability; both modes survive ``kill -9``);
- ``journal_over_bare``: a journal ``append_fill`` (validation, encoding, duplicate handling) /
  a bare ``sqlite3`` INSERT of the same row into the same table, both NORMAL;
- the asyncio wrapper: one awaited append at a time (thread hop + commit) and many concurrent
  appends (group commit: one fsync for every batch queued behind a commit).

Run with ``pytest benchmarks/bench_journal.py --benchmark-only`` (add ``--benchmark-autosave`` /
``--benchmark-compare`` for regression runs; compare the ratios in ``extra_info``), or
``python benchmarks/bench_journal.py`` for a printed table.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from asymlp_runtime.journal import TABLES, AsyncJournal, FillRecord, Journal, _encode

N_SYNC = 2000
N_ASYNC = 1000

_ids = itertools.count()


def _fill() -> FillRecord:
    i = next(_ids)
    return FillRecord(venue="paper", fill_id=f"f{i}", symbol="ETHUSDT", side="buy" if i % 2 else "sell",
                      qty=0.01, price=3000.0 + i % 7, fee=0.001, fee_currency="USDT", client_order_id=f"o{i}",
                      ts_ns=time.time_ns())


def _summary(latencies_ns: list[int], elapsed_s: float) -> dict[str, float]:
    ordered = sorted(latencies_ns)
    return {
        "appends_per_s": len(ordered) / elapsed_s,
        "mean_us": statistics.fmean(ordered) / 1e3,
        "p50_us": ordered[len(ordered) // 2] / 1e3,
        "p99_us": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1e3,
        "max_us": ordered[-1] / 1e3,
    }


def measure_sync(path: Path, synchronous: str, n: int = N_SYNC) -> dict[str, float]:
    """``n`` committed ``append_fill`` calls, each timed."""
    with Journal(path, synchronous=synchronous) as journal:
        for _ in range(50):  # warm up (page cache, statement cache)
            journal.append_fill(_fill())
        records = [_fill() for _ in range(n)]
        latencies = []
        start = time.perf_counter()
        for record in records:
            t0 = time.perf_counter_ns()
            journal.append_fill(record)
            latencies.append(time.perf_counter_ns() - t0)
        elapsed = time.perf_counter() - start
    return _summary(latencies, elapsed)


def measure_bare_sqlite(path: Path, synchronous: str, n: int = N_SYNC) -> dict[str, float]:
    """Reference: the same rows with a plain autocommit INSERT on a WAL connection."""
    Journal(path, synchronous=synchronous).close()  # create the schema
    spec = TABLES["fills"]
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    cols = ", ".join(spec.columns)
    sql = f"INSERT INTO fills ({cols}) VALUES ({', '.join('?' * len(spec.columns))})"
    rows = [_encode(spec, _fill()) for _ in range(n)]
    latencies = []
    start = time.perf_counter()
    for row in rows:
        t0 = time.perf_counter_ns()
        conn.execute(sql, row)
        latencies.append(time.perf_counter_ns() - t0)
    elapsed = time.perf_counter() - start
    conn.close()
    return _summary(latencies, elapsed)


def measure_async(path: Path, synchronous: str, n: int = N_ASYNC) -> dict[str, float]:
    """Awaited one at a time (latency) and all at once (group-commit throughput)."""

    async def main() -> dict[str, float]:
        journal = AsyncJournal.open(path, synchronous=synchronous)
        for _ in range(20):
            await journal.append(_fill())
        latencies = []
        start = time.perf_counter()
        for _ in range(n):
            record = _fill()
            t0 = time.perf_counter_ns()
            await journal.append(record)
            latencies.append(time.perf_counter_ns() - t0)
        serial = _summary(latencies, time.perf_counter() - start)
        batches_before = journal.batches
        records = [_fill() for _ in range(n)]
        start = time.perf_counter()
        await asyncio.gather(*(journal.append(r) for r in records))
        concurrent_elapsed = time.perf_counter() - start
        batches = journal.batches - batches_before
        await journal.close()
        return {
            "serial_appends_per_s": serial["appends_per_s"],
            "serial_p50_us": serial["p50_us"],
            "serial_p99_us": serial["p99_us"],
            "concurrent_appends_per_s": n / concurrent_elapsed,
            "records_per_commit": n / max(batches, 1),
        }

    return asyncio.run(main())


def run_all(folder: Path) -> dict[str, dict[str, float]]:
    """Every measurement in one run, each on a fresh database in ``folder``."""
    results = {
        "sync_full": measure_sync(folder / "full.db", "FULL"),
        "sync_normal": measure_sync(folder / "normal.db", "NORMAL"),
        "bare_normal": measure_bare_sqlite(folder / "bare.db", "NORMAL"),
        "async_full": measure_async(folder / "async_full.db", "FULL"),
        "async_normal": measure_async(folder / "async_normal.db", "NORMAL"),
    }
    results["ratios"] = {
        "full_over_normal": results["sync_full"]["mean_us"] / results["sync_normal"]["mean_us"],
        "journal_over_bare": results["sync_normal"]["mean_us"] / results["bare_normal"]["mean_us"],
        "async_group_commit_over_sync_full": results["async_full"]["concurrent_appends_per_s"]
        / results["sync_full"]["appends_per_s"],
    }
    return results


def test_journal_append_fill_full(benchmark, tmp_path):
    """pytest-benchmark timing of one FULL append; the in-run figures and ratios go to extra_info."""
    results = run_all(tmp_path)
    for group, values in results.items():
        for key, value in values.items():
            benchmark.extra_info[f"{group}.{key}"] = round(value, 3)
    with Journal(tmp_path / "bench.db", synchronous="FULL") as journal:
        benchmark.pedantic(lambda: journal.append_fill(_fill()), rounds=300, iterations=1, warmup_rounds=20)
    print()
    _print(results)


def test_journal_append_fill_normal(benchmark, tmp_path):
    """pytest-benchmark timing of one NORMAL append (the reference for the FULL benchmark)."""
    with Journal(tmp_path / "bench.db", synchronous="NORMAL") as journal:
        benchmark.pedantic(lambda: journal.append_fill(_fill()), rounds=300, iterations=1, warmup_rounds=20)


def _print(results: dict[str, dict[str, float]]) -> None:
    for group, values in results.items():
        print(f"{group:14s} " + "  ".join(f"{k}={v:,.2f}" for k, v in values.items()))


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        _print(run_all(Path(folder)))
