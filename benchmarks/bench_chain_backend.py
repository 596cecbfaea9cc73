"""The on-chain pool backend's overhead over the blocking manager, on the devnet.

Run: ``pytest benchmarks/bench_chain_backend.py --benchmark-only -s``.

What ``lp_manager`` does at every tick on the chain backend: ``pool_state()`` then ``position()``
(each a worker-thread hop and a block-pinned batch; the flipped token order on the devnet adds
a sqrt inversion and a tick lookup). The in-run reference is the same two reads made directly on
:class:`~asymlp_runtime.chain.lp.ChainLpManager` in the calling thread; ``extra_info`` records
both rates and the ratio (backend / direct).
"""

from __future__ import annotations

import asyncio
import time

import pytest

from asymlp_runtime.chain.endpoint import RpcEndpoint
from asymlp_runtime.chain.lp import ChainLpConfig, ChainLpManager
from asymlp_runtime.journal import Journal
from asymlp_runtime.lp.backend import TokenInfo
from asymlp_runtime.lp.chain_backend import ChainPoolBackend, start_devnet_world

pytestmark = pytest.mark.chain

FEE = 3000
N_READS = 200


def test_backend_tick_reads_vs_direct_manager_reads(benchmark) -> None:
    world = start_devnet_world(fee=FEE, initial_price=3000.0, budget1=60_000.0,
                               background=((0.5, 20_000_000.0), (0.05, 10_000_000.0)))  # fmt: skip
    journal = Journal(":memory:")
    try:
        net = world.net
        cfg = ChainLpConfig(pool=net.pools[FEE].address, npm=net.npm.address, router=net.router.address,
                            quoter=net.quoter.address, pool_id="bench#chain")  # fmt: skip
        manager = ChainLpManager(RpcEndpoint(net.node.rpc_url), world.wallet, cfg, journal)
        backend = ChainPoolBackend(
            manager, base_is_token0=net.token0.address == net.base.address,
            base=TokenInfo("dWETH", 18), quote=TokenInfo("dUSDC", 6), pool_id="bench",
        )  # fmt: skip
        backend.start()

        async def tick_reads() -> None:
            await backend.pool_state()
            await backend.position()

        def direct_reads() -> None:
            manager.reader.snapshot(balances=False)
            manager.position()

        async def many(n: int) -> float:
            t0 = time.perf_counter()
            for _ in range(n):
                await tick_reads()
            return time.perf_counter() - t0

        direct_reads()
        t0 = time.perf_counter()
        for _ in range(N_READS):
            direct_reads()
        direct_s = time.perf_counter() - t0
        backend_s = asyncio.run(many(N_READS))
        benchmark.pedantic(lambda: asyncio.run(tick_reads()), rounds=20, iterations=1)
        ratio = backend_s / direct_s
        benchmark.extra_info.update({
            "backend_ticks_per_s": N_READS / backend_s,
            "direct_ticks_per_s": N_READS / direct_s,
            "ratio_backend_over_direct": ratio,
        })  # fmt: skip
        print(f"\nchain backend tick reads: {N_READS / backend_s:.0f}/s, direct {N_READS / direct_s:.0f}/s, "
              f"ratio {ratio:.2f}")  # fmt: skip
    finally:
        journal.close()
        world.close()
