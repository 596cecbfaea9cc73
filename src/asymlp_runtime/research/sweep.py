"""Parameter sweeps over the LP backtester: a grid from ``[sweep]``, batches of parameter sets
per task, local processes or a Dask cluster, one ranked table.

Workers receive the market arrays once (process pool: the pool initializer; Dask: one
``scatter(..., broadcast=True)``), then each task evaluates a batch of parameter sets in one
call of the core's sweep kernel (one market pass per batch, no per-bar rows), so the per-task
overhead is paid once per batch rather than per set.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, NamedTuple

import numba
import numpy as np
import pandas as pd

from asymlp_core.backtest import RESULT_FIELDS, SWEEP_FIELDS, sweep_lp_backtest
from asymlp_core.backtest.sweep_nb import base_vector

from .config import BacktestFileConfig, apply_overrides, to_core
from .data import MarketBars
from .runner import tier_volume

_ALL_FIELDS = ",".join(SWEEP_FIELDS)

__all__ = ["SweepResult", "evaluate_batch", "expand_grid", "rank", "run_sweep"]


class SweepResult(NamedTuple):
    table: pd.DataFrame  # one row per parameter set, ranked; ``set`` is the grid index
    seconds: float
    workers: int
    batches: int
    backend: str


def expand_grid(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's lists (the product, in declaration order)."""
    if not grid:
        return [{}]
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(grid[k] for k in keys))]


def evaluate_batch(
    cfg: BacktestFileConfig,
    market: MarketBars,
    batch: list[tuple[int, dict[str, Any]]],
    threads: int | None = None,
) -> list[dict]:
    """Backtest each ``(index, overrides)`` of ``batch``; returns one row per set.

    Every set is decoded and checked like a config file, then the sets that share the market
    pass (same ``sigma0``, ``ewma_lambda``, funding, pool liquidity) run in one call of the
    core's parallel sweep (:func:`asymlp_core.backtest.sweep_lp_backtest`; the same fee
    tier's volume scale too, see ``pool.tiers``), each set given in
    full as one paired grid entry over every sweepable field.  ``threads``: Numba threads of
    that call (1 in pool workers, so that processes x threads = cores).
    """
    if threads is not None:
        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    groups: dict[tuple, list[tuple[int, dict[str, Any], Any]]] = {}
    for index, overrides in batch:
        core = to_core(apply_overrides(cfg, overrides), bar_seconds=market.bar_seconds)
        c = core.config
        key = (c.sigma0, c.ewma_lambda, c.bars_per_day, core.funding_per_bar, core.pool_liquidity,
               core.volume_scale)
        groups.setdefault(key, []).append((index, overrides, core))
    weeks = market.price.size * market.bar_seconds / (7 * 86_400.0)
    rows = []
    for members in groups.values():
        first = members[0][2]
        values = [tuple(base_vector(m[2].params, m[2].config)) for m in members]
        res = sweep_lp_backtest(
            market.price,
            tier_volume(market.volume1, first.volume_scale),
            first.pool_liquidity,
            {_ALL_FIELDS: values},
            first.params,
            first.config,
            funding=first.funding_per_bar,
        )
        for (index, overrides, _), r in zip(members, res, strict=True):
            metrics = {name: float(r[name]) for name in RESULT_FIELDS}
            metrics["rebalances"] = int(metrics["rebalances"])
            metrics["hedge_trades"] = int(metrics["hedge_trades"])
            metrics["rebalances_per_week"] = metrics["rebalances"] / weeks if weeks > 0 else 0.0
            rows.append({"set": index, **overrides, **metrics})
    return rows


# --------------------------------------------------------------------------- local processes
_WORKER: dict[str, Any] = {}


def _init_worker(cfg: BacktestFileConfig, market: MarketBars) -> None:
    _WORKER["cfg"] = cfg
    _WORKER["market"] = market


def _worker_batch(batch: list[tuple[int, dict[str, Any]]]) -> list[dict]:
    return evaluate_batch(_WORKER["cfg"], _WORKER["market"], batch, threads=1)


def _batches(sets: list[dict[str, Any]], batch_size: int) -> list[list[tuple[int, dict[str, Any]]]]:
    indexed = list(enumerate(sets))
    return [indexed[i : i + batch_size] for i in range(0, len(indexed), batch_size)]


def rank(table: pd.DataFrame, by: str, ascending: bool = False) -> pd.DataFrame:
    """Rows sorted by ``by`` (ties: grid order), with a 1-based ``rank`` column first."""
    t = table.sort_values([by, "set"], ascending=[ascending, True], kind="mergesort").reset_index(drop=True)
    t.insert(0, "rank", np.arange(1, len(t) + 1))
    return t


def run_sweep(
    cfg: BacktestFileConfig,
    market: MarketBars,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
    batch_size: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> SweepResult:
    """Evaluate the grid of ``cfg.sweep`` and rank it by ``cfg.sweep.rank_by``.

    Parameters
    ----------
    workers : local worker processes, one Numba thread each (default: the CPUs available);
        1 runs in this process with the kernel's own threads.
    scheduler : address of a Dask distributed scheduler (``tcp://host:8786``); or pass a
        connected ``client`` (``distributed.Client``).
    batch_size : parameter sets per task (default: ``sweep.batch_size`` or about four tasks
        per worker).
    progress : called with the number of sets finished by each completed batch.
    """
    sets = expand_grid(cfg.sweep.grid)
    t0 = time.perf_counter()
    if client is not None or scheduler is not None:
        rows, n_workers, n_batches, backend = _run_dask(
            cfg, market, sets, scheduler, client, batch_size, progress
        )
    else:
        n_workers = max(1, workers or len(os.sched_getaffinity(0)))
        n_workers = min(n_workers, len(sets))
        size = batch_size or cfg.sweep.batch_size or max(1, math.ceil(len(sets) / (4 * n_workers)))
        batches = _batches(sets, size)
        n_batches = len(batches)
        rows = []
        if n_workers == 1:
            backend = "in-process"
            for b in batches:
                rows += evaluate_batch(cfg, market, b)
                if progress:
                    progress(len(b))
        else:
            backend = f"{n_workers} local processes"
            # forkserver: a fork of a process whose Numba kernels already ran threads (OpenMP) is unsafe
            ctx = multiprocessing.get_context("forkserver")
            with ProcessPoolExecutor(
                n_workers, mp_context=ctx, initializer=_init_worker, initargs=(cfg, market)
            ) as pool:
                futures = {pool.submit(_worker_batch, b): len(b) for b in batches}
                for f in as_completed(futures):
                    rows += f.result()
                    if progress:
                        progress(futures[f])
    seconds = time.perf_counter() - t0
    table = rank(pd.DataFrame(rows), cfg.sweep.rank_by, cfg.sweep.ascending)
    return SweepResult(table, seconds, n_workers, n_batches, backend)


def _run_dask(cfg, market, sets, scheduler, client, batch_size, progress):
    from distributed import Client
    from distributed import as_completed as dask_as_completed

    own = client is None
    if own:
        client = Client(scheduler)
    try:
        n_workers = max(1, sum(client.nthreads().values()))
        size = batch_size or cfg.sweep.batch_size or max(1, math.ceil(len(sets) / (4 * n_workers)))
        batches = _batches(sets, size)
        market_f = client.scatter(market, broadcast=True)
        cfg_f = client.scatter(cfg, broadcast=True)
        futures = [client.submit(evaluate_batch, cfg_f, market_f, b, 1, pure=False) for b in batches]
        sizes = {f.key: len(b) for f, b in zip(futures, batches, strict=True)}
        rows: list[dict] = []
        for f in dask_as_completed(futures):
            rows += f.result()
            if progress:
                progress(sizes[f.key])
        address = client.scheduler.address if hasattr(client, "scheduler") else scheduler
        return rows, n_workers, len(batches), f"dask {address} ({n_workers} threads)"
    finally:
        if own:
            client.close()
