"""Throughput of the devnet harness (anvil + Uniswap V3) against web3.py's own path.

Run: ``pytest benchmarks/bench_devnet.py --benchmark-only -s`` (add ``--benchmark-autosave``
/ ``--benchmark-compare`` for regression runs).

The harness sends transactions and reads state over one kept-alive JSON-RPC connection with
precomputed ABI coders; the in-run reference is the same swap sent through web3.py
(``contract.functions.exactInputSingle(...).transact`` + ``get_transaction_receipt``).
``extra_info`` records operations per second of both and the ratio; a regression guard
compares the ratio, never seconds. Startup (anvil, deployment) is recorded as well.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from asymlp_runtime.chain.devnet import FAR_DEADLINE, Devnet

pytestmark = pytest.mark.chain

N_SWAPS = 100


def _rate(fn: Callable[[int], object], n: int) -> float:
    fn(0)  # warm up
    t0 = time.perf_counter()
    for i in range(n):
        fn(i)
    return n / (time.perf_counter() - t0)


def test_swap_round_trip_harness_vs_web3(benchmark) -> None:
    t0 = time.perf_counter()
    net = Devnet.start()
    start_s = time.perf_counter() - t0
    try:
        fee, spacing = 3000, 60
        here = (net.slot0(fee).tick // spacing) * spacing
        net.mint(fee, here - 600, here + 600, 10**11, 10**21)
        amounts = (10**8, 3 * 10**16)  # alternate directions: the price stays in the range

        def harness(i: int) -> object:
            return net.swap_exact_input_single(fee, i % 2 == 0, amounts[i % 2])

        def web3_path(i: int) -> object:
            zero_for_one = i % 2 == 0
            token_in, token_out = (net.token0, net.token1) if zero_for_one else (net.token1, net.token0)
            params = (token_in.address, token_out.address, fee, net.deployer, FAR_DEADLINE,
                      amounts[i % 2], 0, 0)  # fmt: skip
            tx_hash = net.router.functions.exactInputSingle(params).transact(
                {"from": net.deployer, "gas": net.config.tx_gas}
            )
            return net.w3.eth.get_transaction_receipt(tx_hash)

        harness_rate = _rate(harness, N_SWAPS)
        web3_rate = _rate(web3_path, N_SWAPS)
        counter = iter(range(10**9))
        benchmark.pedantic(lambda: harness(next(counter)), rounds=50, iterations=1, warmup_rounds=2)
        info = {
            "anvil_start_s": net.timings["anvil_start"],
            "deploy_s": net.timings["deploy"],
            "devnet_start_s": start_s,
            "harness_swaps_per_s": harness_rate,
            "web3_swaps_per_s": web3_rate,
            "ratio_harness_over_web3": harness_rate / web3_rate,
        }
        benchmark.extra_info.update(info)
        print(
            f"\ndevnet: start {start_s * 1e3:.0f} ms (anvil {info['anvil_start_s'] * 1e3:.0f} ms, "
            f"deploy {info['deploy_s'] * 1e3:.0f} ms); swaps/s harness {harness_rate:.0f}, "
            f"web3.py {web3_rate:.0f}, ratio {info['ratio_harness_over_web3']:.2f}x"
        )
    finally:
        net.close()
