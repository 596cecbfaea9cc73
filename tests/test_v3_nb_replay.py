"""The compiled swap replay (asymlp_core.v3.nb.swap_replay) equals the reference Pool.

Random pools for each fee tier (several mints at random spacing-aligned ranges: narrow,
spanning many bitmap words, and touching the usable MIN/MAX ticks) and random swap
sequences (both directions, exact input and exact output, amounts from a few wei to
beyond the pool's reserves, price limits near and far).  After every swap the kernel's
sqrt price, tick, liquidity, amounts, fee growth globals and revert reason must equal
the reference, and at the end so must every crossed tick's fee growth outside.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from asymlp_core import v3
from asymlp_core.v3 import nb

MIN_TICK, MAX_TICK = v3.MIN_TICK, v3.MAX_TICK
TIERS = [(500, 10), (3000, 60), (10000, 200)]


@st.composite
def pools(draw, fee_protocol=False):
    fee, spacing = draw(st.sampled_from(TIERS))
    lo_usable = -(MAX_TICK // spacing) * spacing
    hi_usable = (MAX_TICK // spacing) * spacing
    pool = v3.Pool(fee, spacing)
    start_tick = draw(st.one_of(st.integers(-50_000, 50_000), st.integers(MIN_TICK + 1, MAX_TICK - 1)))
    pool.initialize(v3.get_sqrt_ratio_at_tick(start_tick) + draw(st.integers(0, 1000)))
    if fee_protocol:
        pool.set_fee_protocol(draw(st.sampled_from([0, 4, 7, 10])), draw(st.sampled_from([0, 5, 10])))
    centre = pool.tick // spacing
    n_mints = draw(st.integers(1, 8))
    for i in range(n_mints):
        kind = draw(st.sampled_from(["narrow", "words", "full", "edge"]))
        if kind == "narrow":
            a = centre + draw(st.integers(-40, 40))
            b = a + draw(st.integers(1, 20))
            lower, upper = a * spacing, b * spacing
        elif kind == "words":  # spans several 256-spacing bitmap words
            a = centre + draw(st.integers(-3000, 3000))
            b = a + draw(st.integers(256, 3000))
            lower, upper = a * spacing, b * spacing
        elif kind == "full":
            lower, upper = lo_usable, hi_usable
        else:  # one end at a usable extreme
            if draw(st.booleans()):
                lower = lo_usable
                upper = lower + spacing * draw(st.integers(1, 600))
            else:
                upper = hi_usable
                lower = upper - spacing * draw(st.integers(1, 600))
        lower = max(lower, lo_usable)
        upper = min(upper, hi_usable)
        if lower >= upper:
            continue
        amount = draw(st.integers(0, 80).flatmap(lambda b: st.integers(1, (1 << max(b, 1)))))
        try:
            pool.mint(i % 3, lower, upper, amount)
        except v3.V3Error:
            pass  # e.g. 'LO' above the max liquidity per tick: the pool is unchanged
    return pool


@st.composite
def swap_lists(draw, max_size=12):
    swaps = []
    for _ in range(draw(st.integers(1, max_size))):
        zero_for_one = draw(st.booleans())
        magnitude = draw(st.integers(0, 130).flatmap(lambda b: st.integers(1, 1 << max(b, 1))))
        amount = magnitude if draw(st.booleans()) else -magnitude
        limit_kind = draw(st.sampled_from(["extreme", "ticks", "raw"]))
        if limit_kind == "extreme":
            limit = v3.MIN_SQRT_RATIO + 1 if zero_for_one else v3.MAX_SQRT_RATIO - 1
        elif limit_kind == "ticks":
            limit = ("ticks", draw(st.integers(0, 20_000)))
        else:
            limit = draw(st.integers(v3.MIN_SQRT_RATIO - 5, v3.MAX_SQRT_RATIO + 5))
        if draw(st.integers(0, 30)) == 0:
            amount = 0  # 'AS'
        swaps.append((zero_for_one, amount, limit))
    return swaps


def run_reference(pool, swaps):
    """Run the swaps on the reference (a copy); resolve relative limits as they are met."""
    pool = pool.copy()
    rows, resolved = [], []
    for zero_for_one, amount, limit in swaps:
        if isinstance(limit, tuple):  # a limit some ticks away from the current price
            dt = limit[1]
            t = pool.tick - dt if zero_for_one else pool.tick + dt
            limit = v3.get_sqrt_ratio_at_tick(min(max(t, MIN_TICK), MAX_TICK))
        resolved.append((zero_for_one, amount, limit))
        try:
            a0, a1 = pool.swap(zero_for_one, amount, limit)
            reason = None
        except v3.V3Error as exc:
            a0 = a1 = 0
            reason = exc.reason
        rows.append((pool.sqrt_price_x96, pool.tick, pool.liquidity, a0, a1,
                     pool.fee_growth_global0_x128, pool.fee_growth_global1_x128, reason))  # fmt: skip
    return pool, rows, resolved


def check_replay(pool, swaps):
    final_pool, rows, resolved = run_reference(pool, swaps)
    before = (pool.sqrt_price_x96, pool.tick, pool.liquidity,
              [pool.tick_info(t) for t in pool.initialized_ticks()])  # fmt: skip
    out = nb.replay_swaps(
        pool,
        [z for z, _, _ in resolved],
        [a for _, a, _ in resolved],
        [lim for _, _, lim in resolved],
    )
    # the reference pool handed in is only read
    assert before == (pool.sqrt_price_x96, pool.tick, pool.liquidity,
                      [pool.tick_info(t) for t in pool.initialized_ticks()])  # fmt: skip
    sqrt = nb.limbs_to_ints(out["sqrt_price_x96"])
    liq = nb.limbs_to_ints(out["liquidity"])
    a0 = nb.limbs_to_ints(out["amount0"], signed=True)
    a1 = nb.limbs_to_ints(out["amount1"], signed=True)
    g0 = nb.limbs_to_ints(out["fee_growth_global0_x128"])
    g1 = nb.limbs_to_ints(out["fee_growth_global1_x128"])
    for k, row in enumerate(rows):
        got = (sqrt[k], int(out["tick"][k]), liq[k], a0[k], a1[k], g0[k], g1[k],
               nb.error_reason(int(out["error"][k])))  # fmt: skip
        assert got == row, f"swap {k} {resolved[k]}: kernel {got} != reference {row}"
    final = out["final"]
    assert final["sqrt_price_x96"] == final_pool.sqrt_price_x96
    assert final["tick"] == final_pool.tick
    assert final["liquidity"] == final_pool.liquidity
    assert final["protocol_fees0"] == final_pool.protocol_fees0
    assert final["protocol_fees1"] == final_pool.protocol_fees1
    outside0 = nb.limbs_to_ints(out["fee_growth_outside0_x128"])
    outside1 = nb.limbs_to_ints(out["fee_growth_outside1_x128"])
    for i, t in enumerate(out["ticks"].tolist()):
        info = final_pool.tick_info(t)
        assert (outside0[i], outside1[i]) == (
            info.fee_growth_outside0_x128,
            info.fee_growth_outside1_x128,
        ), f"tick {t}"
    return out


@given(pools(), swap_lists())
@settings(max_examples=60)
def test_replay_equals_reference_pool_after_every_swap(pool, swaps):
    check_replay(pool, swaps)


@given(pools(fee_protocol=True), swap_lists(max_size=6))
@settings(max_examples=25)
def test_replay_with_protocol_fee_equals_reference_pool(pool, swaps):
    check_replay(pool, swaps)


def test_replay_full_range_round_trip_crosses_words_like_reference():
    """A narrow-spacing pool swept from near MIN to near MAX: hundreds of word-boundary steps."""
    pool = v3.Pool(500, 10)
    pool.initialize(1 << 96)
    pool.mint("a", -887270, 887270, 10**20)
    pool.mint("b", -100, 100, 10**22)
    pool.mint("c", -887270, -880000, 10**18)
    pool.mint("d", 880000, 887270, 10**18)
    swaps = [
        (True, 1 << 200, v3.MIN_SQRT_RATIO + 1),
        (False, 1 << 200, v3.MAX_SQRT_RATIO - 1),
        (True, -(10**18), v3.MIN_SQRT_RATIO + 1),
        (True, 10**30, v3.get_sqrt_ratio_at_tick(-50)),
        (False, -(10**15), v3.get_sqrt_ratio_at_tick(150)),
        (False, 0, v3.MAX_SQRT_RATIO - 1),
        (True, 10, v3.MAX_SQRT_RATIO - 1),
    ]
    out = check_replay(pool, swaps)
    errors = [nb.error_reason(int(e)) for e in out["error"]]
    assert errors[5] == "AS" and errors[6] == "SPL"


def test_replay_of_uninitialized_pool_reports_lok():
    pool = v3.Pool(3000, 60)
    out = nb.replay_swaps(pool, [True], [10], [v3.MIN_SQRT_RATIO + 1])
    assert nb.error_reason(int(out["error"][0])) == "LOK"
    assert np.all(out["amount0"] == 0)


def test_replay_revert_mid_swap_rolls_back_crossed_ticks_like_reference():
    """A crossing that fails LiquidityMath ('LS') after earlier crossings: nothing sticks."""
    pool = v3.Pool(3000, 60)
    pool.initialize(v3.get_sqrt_ratio_at_tick(0))
    pool.mint("a", -600, 600, 10**18)
    pool.mint("b", -1200, -60, 10**18)
    pool.swap(True, 10**15, v3.MIN_SQRT_RATIO + 1)  # some fee growth, so crossings matter
    pool.swap(False, 10**15, v3.MAX_SQRT_RATIO - 1)
    # corrupt a far tick so that crossing it downwards subtracts more than the liquidity
    pool._ticks[-1200].liquidity_net = 1 << 126
    swaps = [(True, 10**30, v3.MIN_SQRT_RATIO + 1), (True, 10**12, v3.MIN_SQRT_RATIO + 1)]
    out = check_replay(pool, swaps)
    assert nb.error_reason(int(out["error"][0])) == "LS"
    assert nb.error_reason(int(out["error"][1])) is None
