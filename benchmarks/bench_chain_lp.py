"""The on-chain LP manager against anvil: trigger-to-ready-transaction latency and pool reads.

Run: ``pytest benchmarks/bench_chain_lp.py --benchmark-only -s``.

1. **Trigger -> signed, simulated transaction ready to send** (p50/p99): a fresh block-pinned
   snapshot (slot0, liquidity, fee growth, the position's ticks, ``observe`` for the TWAP, the
   wallet's balances), the TWAP guard, the exact-tier mint plan with the v3-sdk slippage minima,
   and :meth:`TxSender.prepare` (``eth_call`` + ``eth_estimateGas`` + headers in one batch, then
   EIP-1559 pricing and signing). Nothing is sent.
2. **Pool-state reads per second**: :meth:`PoolReader.snapshot` (two round trips: the header,
   then one batch) against the in-run reference of the same fields read one ``eth_call`` per
   field over the same kept-alive connection; ``extra_info`` records both rates and the ratio.
"""

from __future__ import annotations

import time

import pytest

from asymlp_runtime.chain.amounts import plan_mint
from asymlp_runtime.chain.devnet import Devnet, DevnetConfig, position_key
from asymlp_runtime.chain.endpoint import RpcEndpoint
from asymlp_runtime.chain.keys import Wallet
from asymlp_runtime.chain.lp import ChainLpConfig, ChainLpManager
from asymlp_runtime.journal import Journal

pytestmark = pytest.mark.chain

FEE, SPACING = 3000, 60
N_TRIGGERS = 300
N_READS = 300


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def test_trigger_to_ready_transaction_and_pool_reads(benchmark) -> None:
    net = Devnet.start(DevnetConfig(fee_tiers=(FEE,)))
    journal = Journal(":memory:")
    try:
        wallet = Wallet.from_key("0x" + "be" * 32)
        net.rpc.request("anvil_setBalance", [wallet.address, hex(10**22)])
        for token in (net.token0, net.token1):
            net.mint_tokens(token, wallet.address, 10**30)
        here = (net.slot0(FEE).tick // SPACING) * SPACING
        net.mint(FEE, here - 6000, here + 6000, 10**22, 10**22)
        config = ChainLpConfig(pool=net.pools[FEE].address, npm=net.npm.address, router=net.router.address,
                               quoter=net.quoter.address, twap_window_s=60, approve_unlimited=True)  # fmt: skip
        manager = ChainLpManager(RpcEndpoint(net.node.rpc_url), wallet, config, journal)
        manager.ensure_observation_cardinality()
        net.rpc.request("anvil_mine", [hex(90)])  # observation history for the TWAP guard
        lo, hi = here - 600, here + 600
        manager.open_position(lo, hi, 10**18, 3000 * 10**6)  # approvals (unlimited) + a position
        net.rpc.request("anvil_mine", [hex(90)])
        erc = manager.abis.erc20

        def trigger_to_ready() -> object:
            snap = manager.snapshot()
            manager.check_price(snap.tick, snap.twap_tick, snap.twap_error)
            plan = plan_mint(snap.sqrt_price_x96, snap.tick, lo, hi, 10**17, 300 * 10**6, config.slippage_bps)
            params = (manager.pool.token0, manager.pool.token1, FEE, lo, hi, 10**17, 300 * 10**6,
                      plan.amount0_min, plan.amount1_min, wallet.address, snap.block_timestamp + 120)  # fmt: skip
            return manager.tx.prepare(manager.npm, manager.abis.npm.encode_call("mint", params), label="mint")

        trigger_to_ready()
        latencies = []
        for _ in range(N_TRIGGERS):
            t0 = time.perf_counter()
            trigger_to_ready()
            latencies.append(time.perf_counter() - t0)

        token_id = manager.token_id
        reader = manager.reader

        def batched() -> object:
            return reader.snapshot(ticks=(lo, hi), twap_window_s=60, token_id=token_id, tick_range=(lo, hi))

        pool, npm = manager.pool.address, manager.npm
        a, n = manager.abis.pool, manager.abis.npm
        single_calls = [(pool, a.encode_call(f)) for f in ("slot0", "liquidity", "feeGrowthGlobal0X128",
                                                           "feeGrowthGlobal1X128")]  # fmt: skip
        single_calls += [(pool, a.encode_call("ticks", t)) for t in (lo, hi)]
        single_calls += [(pool, a.encode_call("observe", [60, 0]))]
        single_calls += [(t, erc.encode_call("balanceOf", wallet.address)) for t in (manager.pool.token0,
                                                                                     manager.pool.token1)]  # fmt: skip
        single_calls += [(npm, n.encode_call("positions", token_id)),
                         (pool, a.encode_call("positions", position_key(npm, lo, hi)))]  # fmt: skip
        rpc = manager.rpc

        def one_call_per_field() -> object:
            block = rpc.request("eth_blockNumber", [])
            return [rpc.request("eth_call", [{"to": to, "data": data}, block]) for to, data in single_calls]

        def rate(fn) -> float:
            fn()
            t0 = time.perf_counter()
            for _ in range(N_READS):
                fn()
            return N_READS / (time.perf_counter() - t0)

        batched_rate = rate(batched)
        single_rate = rate(one_call_per_field)
        benchmark.pedantic(trigger_to_ready, rounds=50, iterations=1, warmup_rounds=2)
        info = {
            "trigger_to_ready_p50_ms": _percentile(latencies, 0.5) * 1e3,
            "trigger_to_ready_p99_ms": _percentile(latencies, 0.99) * 1e3,
            "snapshot_reads_per_s_batched": batched_rate,
            "snapshot_reads_per_s_one_call_per_field": single_rate,
            "ratio_batched_over_single": batched_rate / single_rate,
            "fields_per_snapshot": len(single_calls) + 2,
        }
        benchmark.extra_info.update(info)
        print(
            f"\nchain LP: trigger -> signed simulated tx p50 {info['trigger_to_ready_p50_ms']:.2f} ms, "
            f"p99 {info['trigger_to_ready_p99_ms']:.2f} ms; pool snapshots/s batched {batched_rate:.0f}, "
            f"one call per field {single_rate:.0f}, ratio {info['ratio_batched_over_single']:.2f}x"
        )
    finally:
        journal.close()
        net.close()
