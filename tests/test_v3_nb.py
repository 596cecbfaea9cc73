"""The compiled limb kernels of asymlp_core.v3.nb equal the Python-int reference bit for bit.

Every wrapper (``nb_*``) runs its Numba kernel; each property compares the result, or
the revert reason, with the reference in ``asymlp_core.v3`` over the whole argument
domain.  Integers are drawn from random bit lengths so that tiny and huge magnitudes
are both frequent, mixed with the boundary values of each width.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from numba import config, njit

from asymlp_core import v3
from asymlp_core.v3 import _u256, nb

MAX256 = (1 << 256) - 1
MAX160 = (1 << 160) - 1
MAX128 = (1 << 128) - 1
MIN_TICK, MAX_TICK = v3.MIN_TICK, v3.MAX_TICK
MIN_SQRT, MAX_SQRT = v3.MIN_SQRT_RATIO, v3.MAX_SQRT_RATIO

EDGES = [0, 1, 2, (1 << 32) - 1, 1 << 32, (1 << 64) - 1, 1 << 64, (1 << 96), MAX128, 1 << 128,
         MAX160, 1 << 160, (1 << 255) - 1, 1 << 255, MAX256, MIN_SQRT, MAX_SQRT, MAX_SQRT - 1]  # fmt: skip


def uints(bits: int) -> st.SearchStrategy[int]:
    """uint<bits>: random bit length then a uniform value of that length, plus the edges."""
    by_length = st.integers(0, bits).flatmap(lambda b: st.integers(0, (1 << b) - 1))
    edges = st.sampled_from([e for e in EDGES if e < (1 << bits)] + [(1 << bits) - 1])
    return st.one_of(by_length, edges)


def ints(bits: int) -> st.SearchStrategy[int]:
    """int<bits> with the same magnitude spread, both signs, and the extremes."""
    half = 1 << (bits - 1)
    return st.one_of(
        st.tuples(uints(bits - 1), st.booleans()).map(lambda t: -t[0] if t[1] else t[0]),
        st.sampled_from([-half, half - 1, -1, 0, 1]),
    )


sqrt_prices = st.one_of(uints(160), st.integers(MIN_SQRT, MAX_SQRT))
fees = st.one_of(st.sampled_from([0, 1, 100, 500, 3000, 10000, 999_999]), st.integers(0, 999_999))


def outcome(fn, *args):
    """The value, or ('revert', reason) for a V3Error; other exceptions propagate."""
    try:
        return fn(*args)
    except v3.V3Error as exc:
        return ("revert", exc.reason)


def same(ref, kernel, *args):
    expected = outcome(ref, *args)
    got = outcome(kernel, *args)
    assert got == expected, f"{ref.__name__}{args}: kernel {got!r} != reference {expected!r}"


# ----------------------------------------------------------------------------- limbs


@given(uints(256))
@example(0)
@example(MAX256)
def test_words_round_trip_is_identity(x):
    assert _u256.from_words(_u256.to_words(x)) == x
    assert nb.limbs_to_ints(nb.ints_to_limbs([x])) == [x]


@given(ints(256))
@example(-(1 << 255))
@example(-1)
def test_signed_words_round_trip_is_identity(x):
    assert _u256.from_words_signed(_u256.to_words(x)) == x
    assert nb.limbs_to_ints(nb.ints_to_limbs([x]), signed=True) == [x]


# ----------------------------------------------------------------------------- limb division

SPECIAL_WORDS = [0, 1, 2, (1 << 32) - 1, 1 << 32, (1 << 63) - 1, 1 << 63, (1 << 63) + 1,
                 (1 << 64) - 2, (1 << 64) - 1]  # fmt: skip
words = st.one_of(st.sampled_from(SPECIAL_WORDS), st.integers(0, (1 << 64) - 1))


def structured(n_words: int) -> st.SearchStrategy[int]:
    """Values made of special words (all ones, top bit only, ...): the rare division branches."""
    return st.lists(words, min_size=n_words, max_size=n_words).map(
        lambda ws: sum(w << (64 * i) for i, w in enumerate(ws))
    )


@given(st.integers(1, 4).flatmap(structured), structured(4), structured(4), st.booleans())
def test_mul_div_on_structured_words_matches_reference(d, q, r_seed, exact_boundary):
    """Numerators ``q * d + r`` just below ``d * 2**256``: digit estimates off by one or two."""
    if d == 0:
        return
    r = d - 1 if exact_boundary else r_seed % d
    product = q * d + r
    if product >> 256 >= d:
        return
    # split the product into two uint256 factors (a power of two times the rest)
    k = max(product.bit_length() - 256, 0)
    a, b = product >> k, 1 << k
    if a * b != product or b > MAX256:
        a, b = product, 1
        if a > MAX256:
            return
    same(v3.mul_div, nb.nb_mul_div, a, b, d)
    same(v3.mul_div_rounding_up, nb.nb_mul_div_rounding_up, a, b, d)


@given(st.lists(st.integers(1 << 63, (1 << 64) - 1), min_size=1, max_size=50))
@example([1 << 63, (1 << 63) + 1, (1 << 64) - 1, (1 << 64) - 2])
def test_reciprocal_word_equals_exact_formula(ds):
    out = np.empty(len(ds), dtype=np.uint64)
    with nb._quiet():
        _reciprocals(np.array(ds, dtype=np.uint64), out)
    assert out.tolist() == [((1 << 128) - 1) // d - (1 << 64) for d in ds]


@given(words, words)
@example((1 << 64) - 1, (1 << 64) - 1)
def test_mul64_from_halves_is_exact(a, b):
    with nb._quiet():
        lo, hi = _u256.mul64(np.uint64(a), np.uint64(b))
    assert int(lo) + (int(hi) << 64) == a * b


@njit(cache=True)
def _reciprocals(ds, out):
    for i in range(ds.shape[0]):
        out[i] = _u256.reciprocal_word(ds[i])


# ----------------------------------------------------------------------------- FullMath


@given(uints(256), uints(256), uints(256))
@example(0, 0, 0)
@example(1, 1, 0)
@example(MAX256, MAX256, MAX256)
@example(MAX256, MAX256, MAX256 - 1)
@example(MAX256, 2, 1)
@example(1 << 128, 1 << 128, 1)
@example((1 << 128) - 1, 1 << 128, 1)
@example(MAX256, MAX256, 1 << 255)
@example(MAX256, (1 << 64) - 1, (1 << 64) - 1)
@example(1 << 200, (1 << 64) + 1, (1 << 64) - 1)
@example(535006138814359, 432862656469423142931042426214547535783388063929571229938474969, 2)
def test_mul_div_matches_reference(a, b, d):
    same(v3.mul_div, nb.nb_mul_div, a, b, d)
    same(v3.mul_div_rounding_up, nb.nb_mul_div_rounding_up, a, b, d)


@given(uints(256), uints(256))
@example(MAX256, 0)
@example(MAX256, 1)
@example(MAX256, MAX256)
@example(MAX256 - 1, MAX256)
def test_div_rounding_up_matches_reference(x, y):
    same(v3.div_rounding_up, nb.nb_div_rounding_up, x, y)


@given(uints(256), uints(256), uints(256))
def test_mul_div_rounding_up_is_ceiling_of_exact_ratio(a, b, d):
    """Against the bare mathematical definition, not only the reference."""
    if d == 0 or (a * b) // d > MAX256:
        with pytest.raises(v3.V3Error):
            nb.nb_mul_div(a, b, d)
        return
    assert nb.nb_mul_div(a, b, d) == (a * b) // d
    ceil = -(-(a * b) // d)
    if ceil > MAX256:
        with pytest.raises(v3.V3Error):
            nb.nb_mul_div_rounding_up(a, b, d)
    else:
        assert nb.nb_mul_div_rounding_up(a, b, d) == ceil


# ----------------------------------------------------------------------------- TickMath


@given(st.one_of(st.integers(MIN_TICK - 10, MAX_TICK + 10), st.integers(-(1 << 23), (1 << 23) - 1)))
@example(0)
@example(1)
@example(-1)
@example(MIN_TICK)
@example(MAX_TICK)
@example(MIN_TICK - 1)
@example(MAX_TICK + 1)
@example(-(1 << 23))
@example((1 << 23) - 1)
@example(524287)
@example(-524288)
def test_sqrt_ratio_at_tick_matches_reference(tick):
    same(v3.get_sqrt_ratio_at_tick, nb.nb_get_sqrt_ratio_at_tick, tick)


@given(sqrt_prices)
@example(MIN_SQRT)
@example(MIN_SQRT - 1)
@example(MIN_SQRT + 1)
@example(MAX_SQRT)
@example(MAX_SQRT - 1)
@example(0)
@example(MAX160)
@example(1 << 96)
@example((1 << 96) - 1)
def test_tick_at_sqrt_ratio_matches_reference(sqrt_price):
    same(v3.get_tick_at_sqrt_ratio, nb.nb_get_tick_at_sqrt_ratio, sqrt_price)


@given(st.integers(MIN_TICK + 1, MAX_TICK - 1), st.integers(-3, 3))
@example(MIN_TICK + 1, -1)
@example(MAX_TICK - 1, 1)
@example(0, -1)
def test_tick_at_sqrt_ratio_near_tick_boundaries_matches_reference(tick, offset):
    """Prices within a few units of a tick's sqrt ratio: where a float estimate is weakest."""
    sqrt_price = v3.get_sqrt_ratio_at_tick(tick) + offset
    same(v3.get_tick_at_sqrt_ratio, nb.nb_get_tick_at_sqrt_ratio, sqrt_price)


# ----------------------------------------------------------------------------- SqrtPriceMath


@given(sqrt_prices, sqrt_prices, uints(128), st.booleans())
@example(0, 0, 0, True)
@example(0, 1, 1, False)
@example(MIN_SQRT, MAX_SQRT, MAX128, True)
@example(MIN_SQRT, MAX_SQRT, MAX128, False)
@example(1, MAX160, MAX128, True)
@example(1 << 96, (1 << 96) + 1, MAX128, True)
def test_amount_deltas_match_reference(sqrt_a, sqrt_b, liquidity, round_up):
    same(v3.get_amount0_delta, nb.nb_get_amount0_delta, sqrt_a, sqrt_b, liquidity, round_up)
    same(v3.get_amount1_delta, nb.nb_get_amount1_delta, sqrt_a, sqrt_b, liquidity, round_up)


@given(sqrt_prices, sqrt_prices, ints(128))
@example(1, MAX160, -(1 << 127))
@example(1, MAX160, (1 << 127) - 1)
@example(MIN_SQRT, MAX_SQRT, -(1 << 127))
@example(0, 5, 3)
def test_signed_amount_deltas_match_reference(sqrt_a, sqrt_b, liquidity):
    same(v3.get_amount0_delta_signed, nb.nb_get_amount0_delta_signed, sqrt_a, sqrt_b, liquidity)
    same(v3.get_amount1_delta_signed, nb.nb_get_amount1_delta_signed, sqrt_a, sqrt_b, liquidity)


@given(sqrt_prices, uints(128), uints(256), st.booleans())
@example(0, 1, 1, True)
@example(1, 0, 1, False)
@example(1 << 96, 1, MAX256, True)
@example(1 << 96, 1, MAX256, False)
@example(MAX160, MAX128, MAX256, True)
@example(MAX160, MAX128, MAX160, False)
@example(MAX160, MAX128, MAX160 + 1, False)
@example(MIN_SQRT, 1, 1 << 200, True)
@example(1, MAX128, MAX256, True)
@example(1 << 96, 1 << 64, 1 << 160, False)
def test_next_sqrt_price_from_amounts_match_reference(sqrt_price, liquidity, amount, zero_for_one):
    same(v3.get_next_sqrt_price_from_input, nb.nb_get_next_sqrt_price_from_input,
         sqrt_price, liquidity, amount, zero_for_one)  # fmt: skip
    same(v3.get_next_sqrt_price_from_output, nb.nb_get_next_sqrt_price_from_output,
         sqrt_price, liquidity, amount, zero_for_one)  # fmt: skip


@given(sqrt_prices, uints(128).filter(bool), uints(256), st.booleans())
@example(1, 1, MAX256, True)
@example(MAX160, 1, 1, True)
@example(MAX160, MAX128, MAX160, True)
@example(MAX160, 1, MAX160 + 1, True)
def test_next_sqrt_price_rounding_helpers_match_reference(sqrt_price, liquidity, amount, add):
    """The two rounding helpers directly (liquidity > 0: the reference divides by it)."""
    args = (sqrt_price, liquidity, amount, add)
    same(v3.get_next_sqrt_price_from_amount0_rounding_up,
         nb.nb_get_next_sqrt_price_from_amount0_rounding_up, *args)  # fmt: skip
    same(v3.get_next_sqrt_price_from_amount1_rounding_down,
         nb.nb_get_next_sqrt_price_from_amount1_rounding_down, *args)  # fmt: skip


# ----------------------------------------------------------------------------- SwapMath


@given(sqrt_prices, sqrt_prices, uints(128), ints(256), fees)
@example(1 << 96, (1 << 96) * 101 // 100, 10**18, 10**18, 600)
@example(MAX_SQRT - 1, MIN_SQRT, MAX128, (1 << 255) - 1, 3000)
@example(MAX_SQRT - 1, MIN_SQRT, MAX128, -(1 << 255), 3000)
@example(MIN_SQRT, MAX_SQRT - 1, MAX128, -(1 << 255), 999_999)
@example(MIN_SQRT, MAX_SQRT - 1, 1, (1 << 255) - 1, 0)
@example(1, MAX160, 1, -1, 0)
@example(0, 0, 0, 1, 0)
@example(1 << 96, 1 << 96, 0, 0, 3000)
@example(2413, 79887613182836312, 1985041575832132834610021537970, 10, 1872)
def test_compute_swap_step_matches_reference(current, target, liquidity, remaining, fee):
    same(v3.compute_swap_step, nb.nb_compute_swap_step, current, target, liquidity, remaining, fee)


def test_compute_swap_step_rejects_fee_of_one_million_like_reference():
    with pytest.raises(ValueError):
        nb.nb_compute_swap_step(1 << 96, 1 << 95, 1, 1, 1_000_000)


@given(uints(128), ints(128))
@example(0, -1)
@example(MAX128, 1)
@example(MAX128, -(1 << 127))
@example(0, -(1 << 127))
@example(1 << 127, -(1 << 127))
@example(0, 0)
def test_add_delta_matches_reference(x, y):
    same(v3.add_delta, nb.nb_add_delta, x, y)


# ----------------------------------------------------------------------------- TickBitmap


@st.composite
def bitmaps(draw):
    spacing = draw(st.sampled_from([1, 10, 60, 200]))
    lo, hi = -(MAX_TICK // spacing), MAX_TICK // spacing
    near = draw(st.integers(lo, hi))
    compressed = draw(st.lists(st.one_of(st.integers(lo, hi), st.integers(near - 600, near + 600)
                                         .map(lambda c: min(max(c, lo), hi))), max_size=40))  # fmt: skip
    ticks = sorted({c * spacing for c in compressed})
    tick = draw(st.one_of(st.integers(MIN_TICK, MAX_TICK), st.integers(near * spacing - 3000,
                                                                       near * spacing + 3000)))  # fmt: skip
    return ticks, tick, spacing


@given(bitmaps(), st.booleans())
def test_next_initialized_tick_from_sorted_array_equals_bitmap_walk(case, lte):
    ticks, tick, spacing = case
    bitmap: dict[int, int] = {}
    for t in ticks:
        v3.flip_tick(bitmap, t, spacing)
    expected = v3.next_initialized_tick_within_one_word(bitmap, tick, spacing, lte)
    assert nb.nb_next_initialized_tick_within_one_word(ticks, tick, spacing, lte) == expected


# ----------------------------------------------------------------------------- compilation


KERNELS = [
    nb.mul_div_u256, nb.mul_div_rounding_up_u256, nb.div_rounding_up_u256, nb.sqrt_ratio_at_tick,
    nb.tick_at_sqrt_ratio, nb.amount0_delta, nb.amount1_delta, nb.amount0_delta_signed,
    nb.amount1_delta_signed, nb.next_sqrt_price_from_amount0_rounding_up,
    nb.next_sqrt_price_from_amount1_rounding_down, nb.next_sqrt_price_from_input,
    nb.next_sqrt_price_from_output, nb.compute_swap_step, nb.add_delta,
    nb.next_initialized_tick_sorted,
]  # fmt: skip


@pytest.mark.skipif(config.DISABLE_JIT, reason="no compiled overloads without the JIT")
def test_kernels_compile_in_nopython_mode_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nb.nb_mul_div(3, 5, 7)
        nb.nb_mul_div_rounding_up(3, 5, 7)
        nb.nb_div_rounding_up(3, 5)
        nb.nb_get_tick_at_sqrt_ratio(nb.nb_get_sqrt_ratio_at_tick(5))
        nb.nb_get_amount0_delta(1 << 96, 2 << 96, 1, True)
        nb.nb_get_amount1_delta(1 << 96, 2 << 96, 1, True)
        nb.nb_get_amount0_delta_signed(1 << 96, 2 << 96, -1)
        nb.nb_get_amount1_delta_signed(1 << 96, 2 << 96, -1)
        nb.nb_get_next_sqrt_price_from_amount0_rounding_up(1 << 96, 1, 1, True)
        nb.nb_get_next_sqrt_price_from_amount1_rounding_down(1 << 96, 1, 1, True)
        nb.nb_get_next_sqrt_price_from_input(1 << 96, 1, 1, True)
        nb.nb_get_next_sqrt_price_from_output(1 << 96, 10**9, 1, True)
        nb.nb_compute_swap_step(1 << 96, 1 << 95, 10**18, 10**9, 3000)
        nb.nb_add_delta(1, 1)
        nb.nb_next_initialized_tick_within_one_word([0, 60], 30, 60, True)
    for kernel in KERNELS:
        assert kernel.nopython_signatures, kernel.__name__
        # compiled as nopython: no object-mode fallback exists in numba >= 0.59
        for sig in kernel.nopython_signatures:
            assert "pyobject" not in str(sig), (kernel.__name__, sig)


@pytest.mark.skipif(config.DISABLE_JIT, reason="no compiled overloads without the JIT")
def test_array_kernels_compile_in_nopython_mode():
    n = 3
    ticks = np.array([0, 1, -1], dtype=np.int64)
    out = np.empty((n, 4), np.uint64)
    err = np.empty(n, np.int64)
    assert nb.sqrt_ratio_at_tick_1d(ticks, out, err) == n
    back = np.empty(n, np.int64)
    assert nb.tick_at_sqrt_ratio_1d(out, back, err) == n
    assert back.tolist() == [0, 1, -1]
    for kernel in (nb.sqrt_ratio_at_tick_1d, nb.tick_at_sqrt_ratio_1d):
        assert kernel.nopython_signatures
