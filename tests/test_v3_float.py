"""The float64 tier (``asymlp_core.v3.float_math``) against the exact tier and the real values.

Each property checks the error bound stated in the kernel's docstring: the float tier's own
error (a multiple of EPS = 2**-52, times the range conditioning where a difference of sqrt
prices is taken) plus, when the comparison is with the exact tier, that tier's integer
quantisation (Q64.96 prices rounded by up to one unit, amounts floored). The stated bounds
carry a margin over what was measured: tick -> sqrt price was measured at 1.2 EPS against the
real value (stated 4 EPS); the other kernels are checked at their stated bound.
"""

from __future__ import annotations

from decimal import Decimal, localcontext

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from asymlp_core import v3
from asymlp_core.v3 import float_math as fm

EPS = 2.0**-52
Q96 = 2**96
MAX_U128 = 2**128 - 1

ticks = st.integers(v3.MIN_TICK, v3.MAX_TICK)


def _log_uniform_int(lo_bits: int, hi_bits: int) -> st.SearchStrategy[int]:
    """Integers whose bit length is uniform in [lo_bits, hi_bits]: every magnitude gets tried."""
    return st.integers(lo_bits, hi_bits).flatmap(
        lambda b: st.integers(1 << (b - 1), (1 << b) - 1) if b > 0 else st.just(0)
    )


liquidities = _log_uniform_int(1, 128)  # 1 .. 2**128 - 1
amounts = _log_uniform_int(0, 129).map(lambda a: min(a, 2**128))  # 0 .. 2**128


def _f(x96: int) -> float:
    return fm.sqrt_price_x96_to_float(x96)


def _rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


def _true_sqrt_price(tick: int) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 60
        return (Decimal("1.0001").ln() * tick / 2).exp()


# ----------------------------------------------------------------------------- ticks and prices
@given(ticks)
def test_tick_to_sqrt_price_within_4_eps_of_real_value(tick: int) -> None:
    got = Decimal(fm.tick_to_sqrt_price(tick))
    true = _true_sqrt_price(tick)
    assert abs(got - true) / true <= Decimal(4 * EPS)


@given(ticks)
def test_tick_to_price_within_4_eps_of_real_value(tick: int) -> None:
    got = Decimal(fm.tick_to_price(tick))
    with localcontext() as ctx:
        ctx.prec = 60
        true = (Decimal("1.0001").ln() * tick).exp()
        assert abs(got - true) / true <= Decimal(4 * EPS)


@given(ticks)
def test_tick_to_sqrt_price_matches_exact_tier_within_bound(tick: int) -> None:
    x96 = v3.get_sqrt_ratio_at_tick(tick)
    assert _rel(fm.tick_to_sqrt_price(tick), _f(x96)) <= 4 * EPS + 1.001 / x96


@given(ticks)
def test_tick_to_price_matches_exact_tier_within_bound(tick: int) -> None:
    x96 = v3.get_sqrt_ratio_at_tick(tick)
    exact_price = _f(x96) ** 2  # a float square adds 1 EPS relative: counted in the 5 EPS below
    assert _rel(fm.tick_to_price(tick), exact_price) <= 5 * EPS + 2.002 / x96


@pytest.mark.parametrize("tick", [v3.MIN_TICK, -345_000, -1, 0, 1, 345_000, v3.MAX_TICK])
def test_tick_to_price_measured_points_within_bound(tick: int) -> None:
    x96 = v3.get_sqrt_ratio_at_tick(tick)
    assert _rel(fm.tick_to_sqrt_price(tick), _f(x96)) <= 4 * EPS + 1.001 / x96


def test_tick_outside_range_raises() -> None:
    with pytest.raises(ValueError):
        fm.tick_to_price(v3.MAX_TICK + 1)
    with pytest.raises(ValueError):
        fm.tick_to_sqrt_price(v3.MIN_TICK - 1)


def test_price_to_tick_round_trip_every_tick_exact() -> None:
    all_ticks = np.arange(v3.MIN_TICK, v3.MAX_TICK + 1, dtype=np.int64)
    n = all_ticks.shape[0]
    prices = fm.tick_to_price_1d(all_ticks, np.empty(n))
    assert np.array_equal(fm.price_to_tick_1d(prices, np.empty(n, np.int64)), all_ticks)
    sqrt_prices = fm.tick_to_sqrt_price_1d(all_ticks, np.empty(n))
    assert np.array_equal(fm.sqrt_price_to_tick_1d(sqrt_prices, np.empty(n, np.int64)), all_ticks)


def test_price_to_tick_just_below_a_boundary_floors() -> None:
    all_ticks = np.arange(-5000, 5000, dtype=np.int64)
    below = np.nextafter(fm.tick_to_price_1d(all_ticks, np.empty(all_ticks.shape[0])), 0.0)
    assert np.array_equal(fm.price_to_tick_1d(below, np.empty(below.shape[0], np.int64)), all_ticks - 1)


def test_price_to_tick_invalid_price_raises() -> None:
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            fm.price_to_tick(bad)


def _check_tick_against_exact(x96: int) -> None:
    exact = v3.get_tick_at_sqrt_ratio(x96)
    got = fm.sqrt_price_to_tick(_f(x96))
    if got != exact:
        # only inside the error band of the boundary between the two ticks
        assert abs(got - exact) == 1
        boundary = v3.get_sqrt_ratio_at_tick(max(got, exact))
        assert _rel(_f(x96), _f(boundary)) <= 4 * EPS + 1.001 / boundary + 1.0 / x96


@given(st.integers(v3.MIN_SQRT_RATIO, v3.MAX_SQRT_RATIO - 1))
def test_sqrt_price_to_tick_matches_exact_tier_off_boundaries(x96: int) -> None:
    _check_tick_against_exact(x96)


@given(st.integers(v3.MIN_TICK + 1, v3.MAX_TICK - 1), st.integers(-3, 3))
def test_sqrt_price_to_tick_near_boundaries_differs_only_within_band(tick: int, delta: int) -> None:
    _check_tick_against_exact(v3.get_sqrt_ratio_at_tick(tick) + delta)


@given(st.floats(1e-30, 1e30))
def test_sqrt_price_price_conversions_round_trip(price: float) -> None:
    assert _rel(fm.sqrt_price_to_price(fm.price_to_sqrt_price(price)), price) <= 2 * EPS


def test_q96_helpers_round_trip_exact() -> None:
    for x96 in (v3.MIN_SQRT_RATIO, Q96, v3.MAX_SQRT_RATIO - 1, 2**53 + 1):
        f = fm.sqrt_price_x96_to_float(x96)
        assert f == x96 / Q96
        back = fm.float_to_sqrt_price_x96(f)
        assert abs(back - x96) <= x96 * EPS
    assert fm.q128_to_float(2**128) == 1.0


def test_price_human_helpers_invert_each_other() -> None:
    # USDC (6 decimals) as token0, WETH (18) as token1 at 2000 USDC per WETH
    human = 1 / 2000
    raw = fm.price_from_human(human, 6, 18)
    assert raw == pytest.approx(5e8, rel=1e-15)
    assert fm.price_to_human(raw, 6, 18) == pytest.approx(human, rel=1e-15)
    arr = np.array([1.0, 2.0])
    assert np.allclose(fm.price_to_human(arr, 18, 6), arr * 1e12)


# ----------------------------------------------------------------------------- liquidity for amounts
@st.composite
def ranges_and_price(draw):
    a = draw(ticks)
    b = draw(ticks.filter(lambda t: t != a))
    lower, upper = min(a, b), max(a, b)
    sa, sb = v3.get_sqrt_ratio_at_tick(lower), v3.get_sqrt_ratio_at_tick(upper)
    where = draw(st.sampled_from(["below", "lower", "inside", "upper", "above", "any"]))
    if where == "below":
        s = draw(st.integers(v3.MIN_SQRT_RATIO, sa))
    elif where == "lower":
        s = sa
    elif where == "inside":
        s = draw(st.integers(sa, sb))
    elif where == "upper":
        s = sb
    elif where == "above":
        s = draw(st.integers(sb, v3.MAX_SQRT_RATIO))
    else:
        s = draw(st.integers(v3.MIN_SQRT_RATIO, v3.MAX_SQRT_RATIO - 1))
    return s, sa, sb


def _liquidity0_tolerance(lo96: int, hi96: int, amount0: int) -> float:
    lo, hi = _f(lo96), _f(hi96)
    true = amount0 * lo * hi / (hi - lo)
    kappa = (hi + lo) / (hi - lo)
    return EPS * (4 + kappa) * true + 1 + amount0 / (hi96 - lo96)


def _liquidity1_tolerance(lo96: int, hi96: int, amount1: int) -> float:
    lo, hi = _f(lo96), _f(hi96)
    kappa = (hi + lo) / (hi - lo)
    return EPS * (2 + kappa) * amount1 / (hi - lo) + 1


@given(ranges_and_price(), amounts, amounts)
def test_liquidity_for_amounts_matches_exact_tier_within_bound(rp, amount0: int, amount1: int) -> None:
    s, sa, sb = rp
    try:
        exact = v3.get_liquidity_for_amounts(s, sa, sb, amount0, amount1)
    except v3.V3Error:
        return  # the exact tier reverts when the liquidity does not fit in uint128
    got = fm.liquidity_for_amounts(_f(s), _f(sa), _f(sb), float(amount0), float(amount1))
    if s <= sa:
        tol = _liquidity0_tolerance(sa, sb, amount0)
    elif s < sb:
        # a sub-range that collapses to a point in float has infinite liquidity in both tiers'
        # formulas and is never the minimum: only the other side counts
        tols = []
        if _f(s) != _f(sb):
            tols.append(_liquidity0_tolerance(s, sb, amount0))
        if _f(s) != _f(sa):
            tols.append(_liquidity1_tolerance(sa, s, amount1))
        tol = max(tols)
    else:
        tol = _liquidity1_tolerance(sa, sb, amount1)
    assert abs(got - exact) <= tol


@given(ticks, ticks, amounts)
def test_liquidity_for_single_amounts_match_exact_tier(a: int, b: int, amount: int) -> None:
    if a == b:
        return
    sa, sb = v3.get_sqrt_ratio_at_tick(min(a, b)), v3.get_sqrt_ratio_at_tick(max(a, b))
    try:
        exact0 = v3.get_liquidity_for_amount0(sa, sb, amount)
        got0 = fm.liquidity_for_amount0(_f(sb), _f(sa), float(amount))  # either order
        assert abs(got0 - exact0) <= _liquidity0_tolerance(sa, sb, amount)
    except v3.V3Error:
        pass
    try:
        exact1 = v3.get_liquidity_for_amount1(sa, sb, amount)
        got1 = fm.liquidity_for_amount1(_f(sa), _f(sb), float(amount))
        assert abs(got1 - exact1) <= _liquidity1_tolerance(sa, sb, amount)
    except v3.V3Error:
        pass


# ----------------------------------------------------------------------------- amounts for liquidity
def _amount0_tolerance(lo96: int, hi96: int, liquidity: int) -> float:
    return 4 * EPS * liquidity * (1 / _f(lo96) + 1 / _f(hi96)) + 2


def _amount1_tolerance(lo96: int, hi96: int, liquidity: int) -> float:
    return 3 * EPS * liquidity * (_f(lo96) + _f(hi96)) + 1


@given(ranges_and_price(), liquidities)
def test_amounts_for_liquidity_match_exact_tier_within_bound(rp, liquidity: int) -> None:
    s, sa, sb = rp
    exact0, exact1 = v3.get_amounts_for_liquidity(s, sa, sb, liquidity)
    got0, got1 = fm.amounts_for_liquidity(_f(s), _f(sa), _f(sb), float(liquidity))
    if s <= sa:
        tol0, tol1 = _amount0_tolerance(sa, sb, liquidity), 0.0
    elif s < sb:
        tol0, tol1 = _amount0_tolerance(s, sb, liquidity), _amount1_tolerance(sa, s, liquidity)
    else:
        tol0, tol1 = 0.0, _amount1_tolerance(sa, sb, liquidity)
    assert abs(got0 - exact0) <= tol0
    assert abs(got1 - exact1) <= tol1


@given(ranges_and_price(), liquidities)
def test_exact_tier_amounts_never_exceed_real_value_float_may(rp, liquidity: int) -> None:
    """The directional bias: the exact tier floors what a position is worth; the float tier is nearest."""
    s, sa, sb = rp
    exact0, exact1 = v3.get_amounts_for_liquidity(s, sa, sb, liquidity)
    with localcontext() as ctx:
        ctx.prec = 120
        lo, hi = Decimal(sa), Decimal(sb)
        cur = min(max(Decimal(s), lo), hi)
        true0 = Decimal(liquidity) * Decimal(Q96) * (hi - cur) / hi / cur
        true1 = Decimal(liquidity) * (cur - lo) / Decimal(Q96)
    assert exact0 <= true0 and exact1 <= true1


# ----------------------------------------------------------------------------- swap within one range
@st.composite
def swaps_within_range(draw):
    tick = draw(st.integers(v3.MIN_TICK + 1, v3.MAX_TICK - 1))
    s96 = v3.get_sqrt_ratio_at_tick(tick) + draw(st.integers(0, 1000))
    liquidity = draw(liquidities)
    zero_for_one = draw(st.booleans())
    fee = draw(st.sampled_from([0, 100, 500, 3000, 10000]))
    # move the price by a relative fraction 2**-e: amounts scaled to the pool's depth
    frac = 2.0 ** -draw(st.integers(-3, 60))
    s = _f(s96)
    depth = liquidity / s if zero_for_one else liquidity * s
    amount_in = max(1, min(2**128, int(depth * frac)))
    return s96, liquidity, amount_in, fee, zero_for_one


@given(swaps_within_range())
def test_swap_exact_input_within_range_matches_exact_tier(case) -> None:
    s96, liquidity, amount_in, fee, zero_for_one = case
    less_fee = v3.mul_div(amount_in, 1_000_000 - fee, 1_000_000)
    try:
        next96 = v3.get_next_sqrt_price_from_input(s96, liquidity, less_fee, zero_for_one)
    except v3.V3Error:
        return  # the price leaves uint160
    if not v3.MIN_SQRT_RATIO <= next96 <= v3.MAX_SQRT_RATIO:
        return  # outside the pool's price domain: a pool never gets there
    if zero_for_one:
        exact_out = v3.get_amount1_delta(next96, s96, liquidity, False)
    else:
        exact_out = v3.get_amount0_delta(s96, next96, liquidity, False)
    got_next, got_out = fm.swap_exact_input_within_range(
        _f(s96), float(liquidity), float(amount_in), float(fee), zero_for_one
    )

    s_next = _f(next96)
    if zero_for_one:
        price_tol = 8 * EPS + 1 / next96 + 2 * s_next / liquidity
        d_out_d_price_unit = liquidity / Q96  # token1 out per Q64.96 unit of price
        d_out_d_amount = s_next**2
    else:
        price_tol = 8 * EPS + 1 / next96 + 1 / (liquidity * s_next)
        d_out_d_price_unit = liquidity / s_next**2 / Q96
        d_out_d_amount = 1 / s_next**2
    assert _rel(got_next, s_next) <= price_tol
    out_tol = 8 * EPS * exact_out + 2 + 2 * d_out_d_price_unit + d_out_d_amount
    assert abs(got_out - exact_out) <= out_tol


def test_swap_official_swap_math_case_within_bound() -> None:
    # SwapMath 'exact amount in that is fully spent in one for zero': price 1, L = 2e18, 1e18 in, fee 600
    got_next, got_out = fm.swap_exact_input_within_range(1.0, 2e18, 1e18, 600.0, False)
    assert got_out == pytest.approx(666399946655997866, rel=8 * EPS, abs=2)
    exact_next = v3.get_next_sqrt_price_from_input(Q96, 2 * 10**18, 10**18 - 600 * 10**12, False)
    assert _rel(got_next, _f(exact_next)) <= 8 * EPS + 1 / exact_next


# ----------------------------------------------------------------------------- 1-d forms
def test_1d_forms_equal_scalar_kernels() -> None:
    rng = np.random.default_rng(7)
    n = 64
    t = rng.integers(v3.MIN_TICK, v3.MAX_TICK + 1, n)
    assert np.array_equal(fm.tick_to_price_1d(t, np.empty(n)), [fm.tick_to_price(int(x)) for x in t])
    s = fm.tick_to_sqrt_price_1d(t, np.empty(n))
    assert np.array_equal(s, [fm.tick_to_sqrt_price(int(x)) for x in t])
    assert np.array_equal(fm.sqrt_price_to_tick_1d(s, np.empty(n, np.int64)), t)
    sa, sb = np.full(n, 0.9), np.full(n, 1.1)
    a0, a1 = rng.uniform(0, 1e20, n), rng.uniform(0, 1e20, n)
    sp = rng.uniform(0.8, 1.2, n)
    liq = fm.liquidity_for_amounts_1d(sp, sa, sb, a0, a1, np.empty(n))
    assert np.array_equal(liq, [fm.liquidity_for_amounts(sp[i], 0.9, 1.1, a0[i], a1[i]) for i in range(n)])
    o0, o1 = fm.amounts_for_liquidity_1d(sp, 0.9, 1.1, 1e18, np.empty(n), np.empty(n))
    assert np.array_equal(np.stack([o0, o1], 1), [fm.amounts_for_liquidity(x, 0.9, 1.1, 1e18) for x in sp])
    nxt, out = fm.swap_exact_input_within_range_1d(sp, a0 + 1, a1, 3000.0, True, np.empty(n), np.empty(n))
    ref = [fm.swap_exact_input_within_range(sp[i], a0[i] + 1, a1[i], 3000.0, True) for i in range(n)]
    assert np.array_equal(np.stack([nxt, out], 1), ref)


def test_1d_tick_outside_range_raises() -> None:
    with pytest.raises(ValueError):
        fm.tick_to_price_1d(np.array([0, v3.MAX_TICK + 1]), np.empty(2))


# ----------------------------------------------------------------------------- against real values
@st.composite
def float_ranges(draw):
    a = draw(ticks)
    b = draw(st.one_of(ticks, st.integers(-20, 20).map(lambda d: a + d)).filter(lambda t: t != a))
    b = min(max(b, v3.MIN_TICK), v3.MAX_TICK)
    lo, hi = min(a, b), max(a, b)
    if lo == hi:
        hi = lo + 1 if lo < v3.MAX_TICK else lo
        lo = hi - 1
    return _f(v3.get_sqrt_ratio_at_tick(lo)), _f(v3.get_sqrt_ratio_at_tick(hi))


@given(float_ranges(), amounts.map(float), liquidities.map(float))
def test_liquidity_and_amount_kernels_within_stated_bound_of_real_value(
    rng_, amount: float, liquidity: float
) -> None:
    from fractions import Fraction as Fr

    lo, hi = rng_
    k = (hi + lo) / (hi - lo)
    if amount > 0:
        true = Fr(amount) * Fr(lo) * Fr(hi) / (Fr(hi) - Fr(lo))
        assert abs(Fr(fm.liquidity_for_amount0(lo, hi, amount)) - true) <= Fr(EPS * (4 + k)) * true
        true = Fr(amount) / (Fr(hi) - Fr(lo))
        assert abs(Fr(fm.liquidity_for_amount1(lo, hi, amount)) - true) <= Fr(EPS * (2 + k)) * true
    true0 = Fr(liquidity) * (Fr(hi) - Fr(lo)) / (Fr(lo) * Fr(hi))
    bound0 = Fr(4 * EPS) * Fr(liquidity) * (1 / Fr(lo) + 1 / Fr(hi))
    assert abs(Fr(fm.amount0_for_liquidity(lo, hi, liquidity)) - true0) <= bound0
    true1 = Fr(liquidity) * (Fr(hi) - Fr(lo))
    assert abs(Fr(fm.amount1_for_liquidity(lo, hi, liquidity)) - true1) <= Fr(3 * EPS) * Fr(liquidity) * (
        Fr(lo) + Fr(hi)
    )


@given(swaps_within_range())
def test_swap_within_range_within_8_eps_of_real_value(case) -> None:
    from fractions import Fraction as Fr

    s96, liquidity, amount_in, fee, zero_for_one = case
    s, big_l, amt = _f(s96), float(liquidity), float(amount_in)
    got_next, got_out = fm.swap_exact_input_within_range(s, big_l, amt, float(fee), zero_for_one)
    a = Fr(amt) * (1 - Fr(fee, 1_000_000))
    S, L = Fr(s), Fr(big_l)
    if zero_for_one:
        true_next = L * S / (L + a * S)
        true_out = L * (S - true_next)
    else:
        true_next = S + a / L
        true_out = L * (1 / S - 1 / true_next)
    assert abs(Fr(got_next) - true_next) <= Fr(8 * EPS) * true_next
    assert abs(Fr(got_out) - true_out) <= Fr(8 * EPS) * true_out
