"""Exact replay: the compiled replay of a swap history equals the pool state machine, to the wei."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asymlp_core.backtest.replay import REPLAY_OWNER, exact_replay, swaps_from_events
from asymlp_core.v3 import MAX_SQRT_RATIO, MIN_SQRT_RATIO, Pool, V3Error, get_sqrt_ratio_at_tick
from asymlp_core.v3.nb import limbs_to_ints


def _history(seed: int, n: int, fee: int = 3000, spacing: int = 60):
    rng = random.Random(seed)
    pool = Pool(fee, spacing)
    start = -196200 // spacing * spacing
    pool.initialize(get_sqrt_ratio_at_tick(start))
    pool.mint("bg", start - 30 * spacing, start + 30 * spacing, 10**18)
    pool.mint("bg2", start - 8 * spacing, start + 5 * spacing, 3 * 10**17)
    hist = pool.copy()
    a0, a1, prices = [], [], []
    for _ in range(n):
        z = rng.random() < 0.5
        amount = rng.randint(10**15, 3 * 10**18) if z else rng.randint(10**6, 9 * 10**9)
        try:
            d0, d1 = hist.swap(z, amount, MIN_SQRT_RATIO + 1 if z else MAX_SQRT_RATIO - 1)
        except V3Error:
            continue
        a0.append(d0)
        a1.append(d1)
        prices.append(hist.sqrt_price_x96)
    return pool, hist, a0, a1, prices


def _reference(pool, lower, upper, liquidity, swaps):
    ref = pool.copy()
    ref.mint(REPLAY_OWNER, lower, upper, liquidity)
    specified = limbs_to_ints(swaps.amount_specified, signed=True)
    limits = limbs_to_ints(swaps.sqrt_price_limit_x96)
    for z, s, lim in zip(swaps.zero_for_one, specified, limits, strict=True):
        try:
            ref.swap(bool(z), s, lim)
        except V3Error:
            pass
    ref.burn(REPLAY_OWNER, lower, upper, 0)
    return ref


@pytest.mark.parametrize("mode", ["price", "amount"])
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10**6), width=st.integers(1, 12), offset=st.integers(-6, 6),
       liquidity=st.integers(10**12, 10**19))
def test_replay_fees_equal_the_pool_state_machine(mode, seed, width, offset, liquidity):
    pool, _, a0, a1, prices = _history(seed, 150)
    spacing = pool.tick_spacing
    centre = pool.tick // spacing * spacing + offset * spacing
    lower, upper = centre - width * spacing, centre + width * spacing
    swaps = swaps_from_events(a0, a1, prices, pool.sqrt_price_x96, mode)
    got = exact_replay(pool, lower, upper, liquidity, swaps)
    ref = _reference(pool, lower, upper, liquidity, swaps)
    pos = ref.position(REPLAY_OWNER, lower, upper)
    assert (got.fees0, got.fees1) == (pos.tokens_owed0, pos.tokens_owed1)
    assert (got.final_sqrt_price_x96, got.final_tick) == (ref.sqrt_price_x96, ref.tick)


def test_price_mode_follows_the_historical_price_path():
    pool, hist, a0, a1, prices = _history(3, 200)
    swaps = swaps_from_events(a0, a1, prices, pool.sqrt_price_x96, "price")
    got = exact_replay(pool, pool.tick // 60 * 60 - 600, pool.tick // 60 * 60 + 600, 10**17, swaps)
    assert got.final_sqrt_price_x96 == hist.sqrt_price_x96
    assert got.fees0 > 0 and got.fees1 > 0


def test_amount_mode_without_our_liquidity_retraces_history():
    # a position far out of range does not change the path: exact-input history replays exactly
    pool, hist, a0, a1, prices = _history(5, 200)
    swaps = swaps_from_events(a0, a1, prices, pool.sqrt_price_x96, "amount")
    got = exact_replay(pool, 600000, 600060, 1, swaps)
    assert got.final_sqrt_price_x96 == hist.sqrt_price_x96 and got.n_reverted == 0
    assert (got.fees0, got.fees1) == (0, 0)


def test_events_with_bad_prices_are_refused():
    with pytest.raises(ValueError, match="event 0: sqrt_price_x96 1 outside"):
        swaps_from_events([1], [-1], [1], 2**96)
    with pytest.raises(ValueError, match="mode must be"):
        swaps_from_events([], [], [], 2**96, "both")
