"""Asymmetric ranges: exact cases, a naive reference, validity properties, budget allocation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from asymlp_core import v3
from asymlp_core.ranges import (
    MAX_TICK,
    aligned_width_limits,
    asymmetric_range,
    asymmetric_range_1d,
    asymmetric_range_ticks,
    liquidity_for_budget,
    liquidity_for_budget_exact,
    position_value,
    tick_to_sqrt_price,
    usable_tick_bounds,
)

LN = math.log(1.0001)


def naive_range(r, db, da, q, qb, skew, s, wmin_raw, wmax_raw):
    """Slow, obviously-correct transcription of the documented rules (Python floats/ints)."""
    hi_usable = (MAX_TICK // s) * s
    lo_usable = -hi_usable
    span = hi_usable - lo_usable
    wmin = min(max(-(-wmin_raw // s) * s, s), span)
    wmax = max(min((wmax_raw // s) * s, span), wmin)
    t_r = min(max(math.log(r) / LN, -MAX_TICK), MAX_TICK)
    d_lo = -math.log1p(-db / r) / LN if db < r else 2.0 * MAX_TICK
    d_hi = math.log1p(da / r) / LN
    d_lo, d_hi = min(max(d_lo, 0.0), 2.0 * MAX_TICK), min(max(d_hi, 0.0), 2.0 * MAX_TICK)
    width = d_lo + d_hi
    f = d_hi / width if width > 0 else 0.5
    k = max(-1.0, min(1.0, skew * max(-1.0, min(1.0, q / qb))))
    f = f + k * (1 - f) if k > 0 else f + k * f
    width = min(max(width, wmin), wmax)
    lower = math.floor((t_r - (1 - f) * width) / s) * s
    upper = math.ceil((t_r + f * width) / s) * s
    w = upper - lower
    if w > wmax:
        n = (w - wmax) // s
        nh = math.floor(n * f + 0.5)
        upper, lower = upper - nh * s, lower + (n - nh) * s
    elif w < wmin:
        n = (wmin - w) // s
        nh = math.floor(n * f + 0.5)
        upper, lower = upper + nh * s, lower - (n - nh) * s
    if lower < lo_usable:
        upper, lower = upper + lo_usable - lower, lo_usable
    if upper > hi_usable:
        lower, upper = lower - (upper - hi_usable), hi_usable
    return lower, upper, wmin, wmax


spacings = st.sampled_from([1, 10, 60, 200])
ticks_r = st.floats(-880_000, 880_000)
rel = st.floats(0.0, 2.0)
inv = st.floats(-5.0, 5.0)


@st.composite
def range_case(draw):
    s = draw(spacings)
    t = draw(ticks_r)
    r = math.exp(t * LN)
    db = draw(rel) * r
    da = draw(rel) * r
    q = draw(inv)
    qb = draw(st.floats(0.01, 10.0))
    skew = draw(st.floats(0.0, 1.0))
    wmin = draw(st.integers(0, 20_000))
    wmax = draw(st.integers(max(wmin, 1), 2_000_000))
    assume((wmax // s) * s >= max(-(-wmin // s) * s, s))
    return r, db, da, q, qb, skew, s, wmin, wmax


@given(range_case())
def test_random_quotes_always_valid_range(case):
    r, db, da, q, qb, skew, s, wmin_raw, wmax_raw = case
    lo, hi = asymmetric_range_ticks(r, db, da, q, qb, skew, s, wmin_raw, wmax_raw)
    wmin, wmax = aligned_width_limits(s, wmin_raw, wmax_raw)
    lo_u, hi_u = usable_tick_bounds(s)
    assert lo < hi
    assert lo % s == 0 and hi % s == 0
    assert lo_u <= lo and hi <= hi_u
    assert wmin <= hi - lo <= wmax
    assert wmin_raw <= hi - lo or wmin_raw > hi_u - lo_u


@given(range_case())
def test_kernel_matches_naive_reference(case):
    r, db, da, q, qb, skew, s, wmin, wmax = case
    lo, hi = asymmetric_range_ticks(r, db, da, q, qb, skew, s, wmin, wmax)
    nlo, nhi, _, _ = naive_range(r, db, da, q, qb, skew, s, wmin, wmax)
    # float evaluation order may move a bound sitting on a spacing multiple by one spacing
    assert abs(lo - nlo) <= s and abs(hi - nhi) <= s


@given(range_case(), st.floats(0.01, 5.0))
def test_long_inventory_never_moves_range_down(case, extra):
    r, db, da, q, qb, skew, s, wmin, wmax = case
    lo0, hi0 = asymmetric_range_ticks(r, db, da, q, qb, skew, s, wmin, wmax)
    lo1, hi1 = asymmetric_range_ticks(r, db, da, q + extra, qb, skew, s, wmin, wmax)
    # more token0 -> the share of the width above r can only grow (up to one spacing of
    # rounding when the alignment trims or pads a side)
    assert hi1 >= hi0 - s and lo1 >= lo0 - s


def test_flat_inventory_symmetric_quote_brackets_quote():
    r, d = 3000e-12, 30e-12  # WETH/USDC raw: 3000 USDC (6 dp) per WETH (18 dp)
    lo, hi = asymmetric_range(r, d, d, 0.0, inventory_bound=1.0, tick_spacing=60,
                              min_width_ticks=60, max_width_ticks=100_000)
    assert lo <= math.log(r - d) / LN and hi >= math.log(r + d) / LN
    assert (lo, hi) == (-196380, -196140)


def test_long_inventory_puts_more_range_above_reservation():
    r, d = 3000e-12, 30e-12
    kw = dict(inventory_bound=1.0, tick_spacing=60, min_width_ticks=60, max_width_ticks=100_000)
    t_r = math.log(r) / LN
    flat = asymmetric_range(r, d, d, 0.0, **kw)
    long_ = asymmetric_range(r, d, d, 1.0, **kw)
    short = asymmetric_range(r, d, d, -1.0, **kw)
    above = lambda rg: rg.tick_upper - t_r  # noqa: E731
    below = lambda rg: t_r - rg.tick_lower  # noqa: E731
    assert above(long_) > above(flat) > above(short)
    assert below(short) > below(flat) > below(long_)
    assert above(long_) > below(long_) and below(short) > above(short)


def test_full_skew_puts_whole_range_on_one_side():
    r, d = 1.0, 0.01
    kw = dict(inventory_bound=1.0, tick_spacing=10, min_width_ticks=10, max_width_ticks=10_000)
    lo, hi = asymmetric_range(r, d, d, 2.0, skew=1.0, **kw)
    assert lo == 0 and hi > 0
    lo, hi = asymmetric_range(r, d, d, -2.0, skew=1.0, **kw)
    assert hi == 0 and lo < 0


def test_width_clamped_to_limits():
    r = 1.0
    kw = dict(inventory_bound=1.0, tick_spacing=60)
    lo, hi = asymmetric_range(r, 1e-9, 1e-9, 0.0, min_width_ticks=500, max_width_ticks=5000, **kw)
    # 500 rounded up to the spacing is 540; centred on tick 0 the floor/ceil alignment
    # adds up to a spacing per side, which stays within the limits
    assert 540 <= hi - lo <= 600 and (lo, hi) == (-300, 300)
    lo, hi = asymmetric_range(r, 0.9, 9.0, 0.0, min_width_ticks=500, max_width_ticks=5000, **kw)
    assert hi - lo == 4980  # 5000 rounded down to the spacing


def test_range_at_domain_edge_shifted_inside():
    kw = dict(inventory_bound=1.0, tick_spacing=200, min_width_ticks=4000, max_width_ticks=4000)
    lo, hi = asymmetric_range(3.3e38, 1e36, 1e36, 0.0, **kw)
    assert hi == 887200 and hi - lo == 4000
    lo, hi = asymmetric_range(3e-39, 1e-41, 1e-41, 0.0, **kw)
    assert lo == -887200 and hi - lo == 4000


def test_vectorised_matches_scalar_kernel():
    rng = np.random.default_rng(7)
    n = 2000
    r = np.exp(rng.uniform(-20, 20, n))
    db = r * rng.uniform(0, 0.5, n)
    da = r * rng.uniform(0, 0.5, n)
    q = rng.normal(0, 1, n)
    lo, hi = asymmetric_range_1d(r, db, da, q, inventory_bound=1.5, skew=0.7, tick_spacing=60,
                                 min_width_ticks=120, max_width_ticks=30_000)
    for i in range(0, n, 97):
        assert (lo[i], hi[i]) == asymmetric_range_ticks(r[i], db[i], da[i], q[i], 1.5, 0.7, 60, 120, 30_000)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        (dict(reservation_price=float("nan")), "reservation_price"),
        (dict(reservation_price=0.0), "reservation_price"),
        (dict(delta_bid=-1.0), "delta_bid"),
        (dict(delta_ask=float("inf")), "delta_ask"),
        (dict(inventory=float("nan")), "inventory"),
        (dict(inventory_bound=0.0), "inventory_bound"),
        (dict(skew=1.5), "skew"),
        (dict(tick_spacing=0), "tick_spacing"),
        (dict(min_width_ticks=100, max_width_ticks=50), "max_width_ticks"),
    ],
)
def test_bad_argument_raises_naming_it(kwargs, name):
    args = dict(reservation_price=1.0, delta_bid=0.01, delta_ask=0.01, inventory=0.0,
                inventory_bound=1.0, tick_spacing=10, min_width_ticks=10, max_width_ticks=1000)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        asymmetric_range(**args)


def test_vectorised_nan_raises_naming_array():
    a = np.ones(3)
    with pytest.raises(ValueError, match="delta_ask"):
        asymmetric_range_1d(a, a * 0.01, np.array([0.01, np.nan, 0.01]), a, inventory_bound=1.0,
                            tick_spacing=10, min_width_ticks=10, max_width_ticks=100)


# --- liquidity for a budget -------------------------------------------------------------


@given(st.integers(-880_000, 880_000), st.integers(-4000, 4000), st.integers(1, 4000),
       st.floats(1.0, 1e30))
def test_float_budget_allocation_spends_budget(t, off, w, budget):
    lo, hi = t + off - w, t + off + w
    assume(-887272 <= lo and hi <= 887272)
    p = math.exp(t * LN)
    liq, x, y = liquidity_for_budget(budget, p, lo, hi)
    assert liq > 0 and x >= 0 and y >= 0
    assert math.isclose(x * p + y, budget, rel_tol=1e-9)


def _sqrt_x96(p: float) -> int:
    return int(math.sqrt(p) * 2**96)


@st.composite
def exact_case(draw):
    s = draw(spacings)
    t = draw(st.integers(-400_000, 400_000))
    frac = draw(st.integers(0, 2**40))
    sp = v3.get_sqrt_ratio_at_tick(t)
    sp = min(sp + (v3.get_sqrt_ratio_at_tick(t + 1) - sp) * frac // 2**40, v3.MAX_SQRT_RATIO - 1)
    c = (t // s) * s + draw(st.integers(-50, 50)) * s
    lo = c - draw(st.integers(1, 200)) * s
    hi = c + draw(st.integers(1, 200)) * s
    budget = draw(st.integers(0, 10**30))
    return sp, lo, hi, budget


@given(exact_case())
def test_exact_allocation_never_exceeds_budget_and_is_maximal(case):
    sp, lo, hi, budget = case
    a = liquidity_for_budget_exact(sp, lo, hi, budget)
    assert a.value1 <= budget
    assert a.amount0 >= 0 and a.amount1 >= 0
    # recompute the valuation independently
    assert a.value1 == a.amount1 + -(-a.amount0 * sp * sp // 2**192)
    # one more unit of liquidity no longer fits
    b = liquidity_for_budget_exact(sp, lo, hi, a.value1)
    assert b.liquidity == a.liquidity
    # the withdrawable amounts (rounded down) never exceed what the mint takes (rounded up)
    d0, d1 = v3.get_amounts_for_liquidity(sp, v3.get_sqrt_ratio_at_tick(lo),
                                          v3.get_sqrt_ratio_at_tick(hi), a.liquidity)
    assert d0 <= a.amount0 and d1 <= a.amount1


@given(exact_case())
def test_exact_allocation_plus_one_liquidity_exceeds_budget(case):
    sp, lo, hi, budget = case
    a = liquidity_for_budget_exact(sp, lo, hi, budget)
    sa, sb = v3.get_sqrt_ratio_at_tick(lo), v3.get_sqrt_ratio_at_tick(hi)
    tick = v3.get_tick_at_sqrt_ratio(sp)
    liq = a.liquidity + 1
    if tick < lo:
        a0, a1 = v3.get_amount0_delta(sa, sb, liq, True), 0
    elif tick < hi:
        a0, a1 = v3.get_amount0_delta(sp, sb, liq, True), v3.get_amount1_delta(sa, sp, liq, True)
    else:
        a0, a1 = 0, v3.get_amount1_delta(sa, sb, liq, True)
    assert a1 + -(-a0 * sp * sp // 2**192) > budget


@given(exact_case())
def test_exact_allocation_close_to_float_tier(case):
    sp, lo, hi, budget = case
    a = liquidity_for_budget_exact(sp, lo, hi, budget)
    assume(0 < a.liquidity < 2**128 - 1)  # the uint128 cap is checked separately
    s = sp / 2**96
    liq_f = budget / position_value(1.0, s, tick_to_sqrt_price(lo), tick_to_sqrt_price(hi))
    # the exact tier loses at most about one raw unit of each amount (mint rounds up) and
    # of the valuation; relative to liquidity that is 1/amount
    tol = 1e-9 + 2.0 / budget
    tol += 2.0 / a.amount0 if a.amount0 else 0.0
    tol += 2.0 / a.amount1 if a.amount1 else 0.0
    assert a.liquidity <= liq_f * (1 + 1e-9) + 1
    assert a.liquidity == pytest.approx(liq_f, rel=tol, abs=2.0)


def test_exact_allocation_matches_pool_mint():
    sp = _sqrt_x96(3000e-12) + 987654321
    pool = v3.Pool(3000, 60)
    pool.initialize(sp)
    for lo, hi in [(-200040, -190020), (-195000, -190020), (-210000, -197940)]:
        a = liquidity_for_budget_exact(sp, lo, hi, 10_000 * 10**6)
        assert 0 < a.value1 <= 10_000 * 10**6
        amounts = pool.mint("lp", lo, hi, a.liquidity)
        assert amounts == (a.amount0, a.amount1)


def test_exact_allocation_caps_liquidity_at_uint128():
    a = liquidity_for_budget_exact(v3.get_sqrt_ratio_at_tick(0), -2, 2, 10**60)
    assert a.liquidity == 2**128 - 1 and a.value1 <= 10**60


def test_exact_bad_argument_raises_naming_it():
    with pytest.raises(ValueError, match="budget1"):
        liquidity_for_budget_exact(2**96, -60, 60, -1)
    with pytest.raises(ValueError, match="sqrt_price_x96"):
        liquidity_for_budget_exact(1, -60, 60, 10)
    with pytest.raises(ValueError, match="tick_lower"):
        liquidity_for_budget_exact(2**96, 60, 60, 10)
