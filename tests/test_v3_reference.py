"""The Python-int exact tier against a high-precision reference and its invariants.

Three kinds of checks (official vectors and on-chain parity live in their own files):
- high precision: Decimal at 80 digits, with the contracts' rounding direction;
- invariants: monotonicity, round trips, bracketing of rounded-up and rounded-down results;
- reverts: the contract's reason for out-of-domain input.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, getcontext

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from asymlp_core.v3 import (
    MAX_SQRT_RATIO,
    MAX_TICK,
    MIN_SQRT_RATIO,
    MIN_TICK,
    Q96,
    V3Error,
    add_delta,
    compute_swap_step,
    get_amount0_delta,
    get_amount1_delta,
    get_amounts_for_liquidity,
    get_liquidity_for_amounts,
    get_next_sqrt_price_from_input,
    get_next_sqrt_price_from_output,
    get_sqrt_ratio_at_tick,
    get_tick_at_sqrt_ratio,
    mul_div,
    mul_div_rounding_up,
)

getcontext().prec = 100

ticks = st.integers(MIN_TICK, MAX_TICK)
sqrt_prices = st.integers(MIN_SQRT_RATIO, MAX_SQRT_RATIO - 1)
liquidities = st.integers(1, 2**128 - 1)


def uint(bits: int) -> st.SearchStrategy[int]:
    """Integers of every magnitude up to 2**bits - 1 (a uniform draw would only hit huge ones)."""
    return st.integers(0, bits).flatmap(lambda b: st.integers(0, 2**b - 1 if b else 0))


@given(ticks)
@example(MIN_TICK)
@example(MAX_TICK)
@example(0)
def test_sqrt_ratio_at_tick_matches_high_precision_within_one_part_in_1e18(tick):
    exact = Decimal("1.0001") ** tick
    expected = exact.sqrt() * Q96
    got = get_sqrt_ratio_at_tick(tick)
    assert abs(Decimal(got) - expected) / expected < Decimal("1e-18") or abs(Decimal(got) - expected) < 2


@given(ticks.filter(lambda t: t < MAX_TICK))
def test_tick_at_sqrt_ratio_round_trips_and_brackets(tick):
    sqrt_p = get_sqrt_ratio_at_tick(tick)
    assert get_tick_at_sqrt_ratio(sqrt_p) == tick
    assert get_tick_at_sqrt_ratio(get_sqrt_ratio_at_tick(tick + 1) - 1) == tick


@given(sqrt_prices)
@example(MIN_SQRT_RATIO)
@example(MAX_SQRT_RATIO - 1)
def test_tick_at_sqrt_ratio_is_greatest_tick_below(sqrt_p):
    tick = get_tick_at_sqrt_ratio(sqrt_p)
    assert get_sqrt_ratio_at_tick(tick) <= sqrt_p
    if tick < MAX_TICK:
        assert get_sqrt_ratio_at_tick(tick + 1) > sqrt_p


def test_tick_math_out_of_range_reverts_with_contract_reasons():
    for bad in (MIN_TICK - 1, MAX_TICK + 1):
        with pytest.raises(V3Error) as err:
            get_sqrt_ratio_at_tick(bad)
        assert err.value.reason == "T"
    for bad in (MIN_SQRT_RATIO - 1, MAX_SQRT_RATIO):
        with pytest.raises(V3Error) as err:
            get_tick_at_sqrt_ratio(bad)
        assert err.value.reason == "R"


@given(uint(256), uint(256), uint(256))
@example(2**256 - 1, 2**256 - 1, 2**256 - 1)
@example(2**256 - 1, 2**256 - 1, 2**256 - 2)
@example(0, 5, 0)
def test_mul_div_floors_and_ceils_or_reverts_on_overflow(a, b, d):
    if d == 0 or a * b // d >= 2**256:
        with pytest.raises(V3Error):
            mul_div(a, b, d)
        return
    floor = mul_div(a, b, d)
    assert floor * d <= a * b < (floor + 1) * d
    if -(-a * b // d) >= 2**256:
        with pytest.raises(V3Error):
            mul_div_rounding_up(a, b, d)
    else:
        up = mul_div_rounding_up(a, b, d)
        assert up - floor == (1 if (a * b) % d else 0)


@given(sqrt_prices, sqrt_prices, uint(128))
def test_amount_deltas_match_high_precision_and_round_in_pool_favour(sa, sb, liq):
    lo, hi = min(sa, sb), max(sa, sb)
    exact0 = Decimal(liq) * Q96 * (hi - lo) / (Decimal(hi) * lo)
    exact1 = Decimal(liq) * (hi - lo) / Q96
    down0, up0 = get_amount0_delta(sa, sb, liq, False), get_amount0_delta(sa, sb, liq, True)
    down1, up1 = get_amount1_delta(sa, sb, liq, False), get_amount1_delta(sa, sb, liq, True)
    assert down0 == int(exact0.to_integral_value(ROUND_FLOOR)) or abs(down0 - exact0) < 1
    assert up0 >= exact0 - Decimal("1e-30") and up0 - exact0 < 2  # two ceilings in the contract
    assert down1 == int(exact1.to_integral_value(ROUND_FLOOR))
    assert up1 == int(exact1.to_integral_value(ROUND_CEILING))
    assert 0 <= up0 - down0 <= 2 and 0 <= up1 - down1 <= 1


@given(sqrt_prices, liquidities, uint(200), st.booleans())
def test_next_sqrt_price_from_input_never_gives_trader_more(sqrt_p, liq, amount_in, zero_for_one):
    try:
        nxt = get_next_sqrt_price_from_input(sqrt_p, liq, amount_in, zero_for_one)
    except V3Error:
        return
    if zero_for_one:
        assert nxt <= sqrt_p
        # the amount0 needed to reach nxt never exceeds what came in
        assert nxt == sqrt_p or get_amount0_delta(nxt, sqrt_p, liq, True) <= amount_in
    else:
        assert nxt >= sqrt_p
        assert get_amount1_delta(sqrt_p, nxt, liq, True) <= amount_in


@given(sqrt_prices, liquidities, uint(200), st.booleans())
def test_next_sqrt_price_from_output_always_covers_the_output(sqrt_p, liq, amount_out, zero_for_one):
    try:
        nxt = get_next_sqrt_price_from_output(sqrt_p, liq, amount_out, zero_for_one)
    except V3Error:
        return
    assume(MIN_SQRT_RATIO <= nxt)
    if zero_for_one:
        assert nxt <= sqrt_p
        assert get_amount1_delta(nxt, sqrt_p, liq, False) >= amount_out
    else:
        assert nxt >= sqrt_p
        assert get_amount0_delta(sqrt_p, nxt, liq, False) >= amount_out


@given(sqrt_prices, sqrt_prices, liquidities, uint(250).map(lambda x: x) | uint(100), st.booleans(),
       st.sampled_from([100, 500, 3000, 10000, 999_999]))
def test_compute_swap_step_spends_at_most_what_is_given(cur, tgt, liq, amount, exact_in, fee):
    remaining = amount if exact_in else -amount
    assume(remaining != 0 or exact_in)
    nxt, amount_in, amount_out, fee_amount = compute_swap_step(cur, tgt, liq, remaining, fee)
    zero_for_one = cur >= tgt
    # never past the target
    assert (tgt <= nxt <= cur) if zero_for_one else (cur <= nxt <= tgt)
    if exact_in:
        assert amount_in + fee_amount <= amount
    else:
        assert amount_out <= amount
    if nxt != cur:
        # the input covers the price move, rounded up
        if zero_for_one:
            assert amount_in >= get_amount0_delta(nxt, cur, liq, True) - 0
        else:
            assert amount_in >= get_amount1_delta(cur, nxt, liq, True)


@given(uint(128), st.integers(-(2**127), 2**127 - 1))
@example(0, -1)
@example(2**128 - 1, 1)
def test_add_delta_reverts_ls_and_la_exactly_at_the_bounds(x, y):
    z = x + y
    if z < 0:
        with pytest.raises(V3Error) as err:
            add_delta(x, y)
        assert err.value.reason == "LS"
    elif z >= 2**128:
        with pytest.raises(V3Error) as err:
            add_delta(x, y)
        assert err.value.reason == "LA"
    else:
        assert add_delta(x, y) == z


@given(ticks, ticks, ticks, uint(100), uint(100))
def test_liquidity_for_amounts_never_needs_more_than_given(t_price, ta, tb, amount0, amount1):
    assume(ta != tb)
    sp, sa, sb = (get_sqrt_ratio_at_tick(t) for t in (t_price, ta, tb))
    try:
        liq = get_liquidity_for_amounts(sp, sa, sb, amount0, amount1)
    except V3Error:
        return  # liquidity beyond uint128
    held0, held1 = get_amounts_for_liquidity(sp, sa, sb, liq)
    assert held0 <= amount0 and held1 <= amount1
