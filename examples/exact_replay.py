"""What would a range have earned over a pool's swap history, to the wei?

Builds a pool with the exact state machine, generates a history of swaps (standing in for
Swap events read from the chain or a CSV export via asymlp_runtime.data.load_uniswap_swaps),
then replays it with a hypothetical position through the compiled exact kernel and checks
the fees against the pool state machine.

Run: .venv/bin/python examples/exact_replay.py
"""

from __future__ import annotations

import random
import time

from asymlp_core.backtest.replay import REPLAY_OWNER, exact_replay, swaps_from_events
from asymlp_core.v3 import MAX_SQRT_RATIO, MIN_SQRT_RATIO, Pool, get_sqrt_ratio_at_tick
from asymlp_core.v3.nb import limbs_to_ints


def main(n_swaps: int = 5_000) -> None:
    rng = random.Random(42)
    pool = Pool(3000, 60)
    start = -196200  # ~3,000 USDC per WETH in raw units (18/6 decimals)
    pool.initialize(get_sqrt_ratio_at_tick(start))
    for i in range(20):
        lo = start - 60 * rng.randint(5, 400)
        pool.mint(f"lp{i}", lo, lo + 60 * rng.randint(10, 800), rng.randint(10**16, 10**18))
    history = pool.copy()
    amount0, amount1, prices = [], [], []
    for _ in range(n_swaps):
        sell = rng.random() < 0.5
        size = rng.randint(10**16, 3 * 10**18) if sell else rng.randint(10**7, 9 * 10**9)
        d0, d1 = history.swap(sell, size, MIN_SQRT_RATIO + 1 if sell else MAX_SQRT_RATIO - 1)
        amount0.append(d0)
        amount1.append(d1)
        prices.append(history.sqrt_price_x96)

    lower, upper, liquidity = start - 600, start + 600, 5 * 10**16
    swaps = swaps_from_events(amount0, amount1, prices, pool.sqrt_price_x96, mode="price")
    exact_replay(pool, lower, upper, liquidity, swaps)  # the first call compiles (or loads) the kernel
    t = time.perf_counter()
    res = exact_replay(pool, lower, upper, liquidity, swaps)
    dt = time.perf_counter() - t
    print(f"replayed {res.n_swaps} swaps in {dt * 1e3:.1f} ms ({res.n_swaps / dt:,.0f} swaps/s)")
    print(f"range [{lower}, {upper}], liquidity {liquidity}")
    print(f"  minted with   {res.mint_amount0} wei WETH + {res.mint_amount1} USDC units")
    print(f"  holds now     {res.amount0} wei WETH + {res.amount1} USDC units")
    print(f"  fees earned   {res.fees0} wei WETH + {res.fees1} USDC units")

    # the same sequence through the pool state machine, swap by swap
    ref = pool.copy()
    ref.mint(REPLAY_OWNER, lower, upper, liquidity)
    for z, s, lim in zip(swaps.zero_for_one, limbs_to_ints(swaps.amount_specified, signed=True),
                         limbs_to_ints(swaps.sqrt_price_limit_x96), strict=True):
        ref.swap(bool(z), s, lim)
    ref.burn(REPLAY_OWNER, lower, upper, 0)
    pos = ref.position(REPLAY_OWNER, lower, upper)
    same = (pos.tokens_owed0, pos.tokens_owed1) == (res.fees0, res.fees1)
    print(f"  pool state machine: {pos.tokens_owed0} + {pos.tokens_owed1} -> {'identical' if same else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
