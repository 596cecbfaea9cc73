"""Invariants of the pool state machine under random operation sequences (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asymlp_core.v3 import (
    FEE_TIER_TICK_SPACING,
    MAX_SQRT_RATIO,
    MIN_SQRT_RATIO,
    Pool,
    V3Error,
    get_amounts_for_liquidity,
    get_sqrt_ratio_at_tick,
)

OWNERS = ("alice", "bob", "carol")


def _check_invariants(pool: Pool) -> None:
    # price and tick agree: the tick is the floor, or one below after crossing down exactly
    assert get_sqrt_ratio_at_tick(pool.tick) <= pool.sqrt_price_x96 <= get_sqrt_ratio_at_tick(pool.tick + 1)
    # active liquidity is the sum of positions in range
    active = sum(
        info.liquidity
        for (_, lo, hi), info in pool.positions().items()
        if lo <= pool.tick < hi
    )
    assert pool.liquidity == active
    # the net liquidity of ticks at or below the current tick also sums to it
    assert sum(pool.tick_info(t).liquidity_net for t in pool.initialized_ticks() if t <= pool.tick) == active
    # solvency: the pool holds what it owes (principal at current price + tokens owed)
    owe0 = owe1 = 0
    for (_, lo, hi), info in pool.positions().items():
        a0, a1 = get_amounts_for_liquidity(
            pool.sqrt_price_x96, get_sqrt_ratio_at_tick(lo), get_sqrt_ratio_at_tick(hi), info.liquidity
        )
        owe0 += a0 + info.tokens_owed0
        owe1 += a1 + info.tokens_owed1
    assert pool.balance0 >= owe0 and pool.balance1 >= owe1
    # bitmap bits are exactly the initialized ticks
    bits = sorted(
        (w * 256 + b) * pool.tick_spacing
        for w, word in pool.tick_bitmap.items()
        for b in range(256)
        if word >> b & 1
    )
    assert bits == pool.initialized_ticks()


op = st.one_of(
    st.tuples(st.just("mint"), st.sampled_from(OWNERS), st.integers(-60, 60), st.integers(1, 40),
              st.integers(1, 10**20)),
    st.tuples(st.just("burn"), st.sampled_from(OWNERS), st.integers(0, 10), st.floats(0, 1)),
    st.tuples(st.just("collect"), st.sampled_from(OWNERS), st.integers(0, 10), st.integers(0, 10**18)),
    st.tuples(st.just("swap"), st.booleans(), st.integers(-(10**20), 10**20), st.floats(0, 1)),
)


@pytest.mark.parametrize("fee", sorted(FEE_TIER_TICK_SPACING))
@settings(max_examples=200)
@given(ops=st.lists(op, min_size=1, max_size=30), start_tick=st.integers(-2000, 2000))
def test_random_sequences_keep_invariants_and_reverts_change_nothing(fee, ops, start_tick):
    spacing = FEE_TIER_TICK_SPACING[fee]
    pool = Pool(fee, spacing)
    pool.initialize(get_sqrt_ratio_at_tick(start_tick))
    ranges: list[tuple[str, int, int]] = []
    for o in ops:
        before = pool.copy()
        try:
            if o[0] == "mint":
                _, owner, centre, half, amount = o
                lo = (start_tick // spacing + centre - half) * spacing
                hi = (start_tick // spacing + centre + half) * spacing
                pool.mint(owner, lo, hi, amount)
                ranges.append((owner, lo, hi))
            elif o[0] == "burn" and ranges:
                owner, lo, hi = ranges[o[2] % len(ranges)]
                liq = pool.position(owner, lo, hi).liquidity
                pool.burn(owner, lo, hi, int(liq * o[3]))
            elif o[0] == "collect" and ranges:
                owner, lo, hi = ranges[o[2] % len(ranges)]
                pool.collect(owner, lo, hi, o[3], o[3])
            elif o[0] == "swap":
                _, zfo, amount, frac = o
                if zfo:
                    limit = MIN_SQRT_RATIO + 1 + int((pool.sqrt_price_x96 - MIN_SQRT_RATIO - 1) * frac)
                else:
                    limit = pool.sqrt_price_x96 + 1 + int((MAX_SQRT_RATIO - 2 - pool.sqrt_price_x96) * frac)
                d0, d1 = pool.swap(zfo, amount, limit)
                # the trader never receives both tokens
                assert not (d0 < 0 and d1 < 0)
        except V3Error:
            after = pool
            assert vars(after).keys() == vars(before).keys()
            assert (after.sqrt_price_x96, after.tick, after.liquidity, after.balance0, after.balance1) == (
                before.sqrt_price_x96, before.tick, before.liquidity, before.balance0, before.balance1)
            assert after.positions() == before.positions()
            assert [after.tick_info(t) for t in after.initialized_ticks()] == [
                before.tick_info(t) for t in before.initialized_ticks()]
        _check_invariants(pool)


def test_full_exit_returns_everything_but_rounding_dust():
    pool = Pool(3000, 60)
    pool.initialize(get_sqrt_ratio_at_tick(0))
    pool.mint("a", -1200, 1200, 10**20)
    pool.mint("b", -120, 600, 5 * 10**19)
    for i in range(20):
        pool.swap(i % 2 == 0, 10**18 * (1 + i % 3), MIN_SQRT_RATIO + 1 if i % 2 == 0 else MAX_SQRT_RATIO - 1)
    for owner, lo, hi in (("a", -1200, 1200), ("b", -120, 600)):
        pool.burn(owner, lo, hi, pool.position(owner, lo, hi).liquidity)
        pool.collect(owner, lo, hi, 2**128 - 1, 2**128 - 1)
    assert pool.liquidity == 0 and pool.initialized_ticks() == []
    # dust left by rounding in the pool's favour: a few wei per operation, never negative
    assert 0 <= pool.balance0 < 100 and 0 <= pool.balance1 < 100


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        (lambda p: p.mint("x", 60, 60, 1), "TLU"),
        (lambda p: p.mint("x", -887280, 0, 1), "TLM"),
        (lambda p: p.mint("x", 0, 887280, 1), "TUM"),
        (lambda p: p.mint("x", -887272, 60, 1), ""),  # not a multiple of the spacing
        (lambda p: p.swap(True, 0, MIN_SQRT_RATIO + 1), "AS"),
        (lambda p: p.swap(True, 1, MAX_SQRT_RATIO - 1), "SPL"),
        (lambda p: p.swap(False, 1, MIN_SQRT_RATIO + 1), "SPL"),
        (lambda p: p.burn("nobody", -60, 60, 0), "NP"),
        (lambda p: p.burn("x", -60, 60, 1), "LS"),
        (lambda p: p.initialize(2**96), "AI"),
        (lambda p: p.mint("x", -60, 60, p.max_liquidity_per_tick + 1), "LO"),
    ],
)
def test_invalid_operations_revert_with_contract_reason(call, reason):
    pool = Pool(3000, 60)
    pool.initialize(2**96)
    with pytest.raises(V3Error) as err:
        call(pool)
    assert err.value.reason == reason


def test_uninitialized_pool_is_locked():
    pool = Pool(500, 10)
    with pytest.raises(V3Error) as err:
        pool.mint("x", -10, 10, 1)
    assert err.value.reason == "LOK"
    with pytest.raises(V3Error) as err:
        pool.swap(True, 1, MIN_SQRT_RATIO + 1)
    assert err.value.reason == "LOK"
