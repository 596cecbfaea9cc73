"""The official Uniswap V3 test vectors against the exact tier (``asymlp_core.v3``).

The vectors in ``tests/data/v3_official_*.json`` are transcribed from the v3-core and
v3-periphery TypeScript suites (source commit in each file's header; regenerate with
``tests/data/build_v3_official.py``). Every transcribed case runs here:

* library cases: exact outputs, expected reverts (with the contract's reason where the
  official test names one) and the official relational assertions ('checks');
* TickMath's high-precision properties (relative error of the sqrt ratio against
  ``sqrt(1.0001**tick)``, tick within one of the decimal logarithm);
* pool swaps: each of the 15 pool fixtures of ``UniswapV3Pool.swaps.spec.ts`` is rebuilt
  with :class:`asymlp_core.v3.Pool` and each of its 16 swaps is compared with the snapshot:
  amount0Before/amount1Before (what the mints cost), amount0Delta/amount1Delta,
  feeGrowthGlobal0X128Delta/feeGrowthGlobal1X128Delta and tickBefore/tickAfter exactly;
  poolPriceBefore/poolPriceAfter and executionPrice as the strings decimal.js formats
  (reproduced bit for bit in ``tests/uniswap_js_helpers.py``); reverts by reason ('SPL').
  As the official test's afterEach, every position is then burned and collected.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal, localcontext
from pathlib import Path

import pytest

from asymlp_core import v3
from uniswap_js_helpers import (
    MAX_SQRT_RATIO,
    MIN_SQRT_RATIO,
    encode_price_sqrt,
    format_execution_price,
    format_price,
    format_token_amount,
    get_max_liquidity_per_tick,
    get_max_tick,
    get_min_tick,
)

DATA = Path(__file__).resolve().parent / "data"

RESULT_FIELDS = {
    "compute_swap_step": ("sqrt_price_next_x96", "amount_in", "amount_out", "fee_amount"),
    "get_amounts_for_liquidity": ("amount0", "amount1"),
    "next_initialized_tick_within_one_word": ("next", "initialized"),
}


def _load(name: str) -> dict:
    return json.loads((DATA / f"v3_official_{name}.json").read_text())


def _arg(a):
    return a if isinstance(a, bool) else int(a)


def _call(function: str, args: list, bitmap: dict | None = None, tick_spacing: int = 1):
    if function == "is_initialized":  # TickBitmapTest.isInitialized
        (tick,) = (_arg(a) for a in args)
        nxt, initialized = v3.next_initialized_tick_within_one_word(bitmap, tick, tick_spacing, True)
        return {"result": initialized if nxt == tick else False}
    if function == "next_initialized_tick_within_one_word":
        tick, lte = (_arg(a) for a in args)
        out = v3.next_initialized_tick_within_one_word(bitmap, tick, tick_spacing, lte)
    else:
        out = getattr(v3, function)(*(_arg(a) for a in args))
    if function in RESULT_FIELDS:
        return dict(zip(RESULT_FIELDS[function], out, strict=True))
    return {"result": out}


def _term(term: dict, result: dict) -> int:
    if "field" in term:
        return result[term["field"]]
    if "value" in term:
        return int(term["value"])
    if "sum" in term:
        return sum(_term(t, result) for t in term["sum"])
    if "call" in term:
        return _call(term["call"], term["args"])["result"]
    raise ValueError(f"unknown term {term}")


_OPS = {
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "eq": lambda a, b: a == b,
    "gt": lambda a, b: a > b,
}


def _run_case(c: dict, bitmap: dict | None = None, tick_spacing: int = 1) -> None:
    if "revert" in c:
        with pytest.raises(v3.V3Error) as info:
            _call(c["function"], c["args"], bitmap, tick_spacing)
        if c["revert"]["reason"] is not None:
            assert info.value.reason == c["revert"]["reason"]
        return
    result = _call(c["function"], c["args"], bitmap, tick_spacing)
    expected = c.get("expected")
    if isinstance(expected, str):
        assert result["result"] == int(expected)
    elif isinstance(expected, dict):
        got = {k: result[k] for k in expected}
        want = {k: (v if isinstance(v, bool) else int(v)) for k, v in expected.items()}
        assert got == want
    for chk in c.get("checks", []):
        lhs, rhs = _term(chk["lhs"], result), _term(chk["rhs"], result)
        assert _OPS[chk["op"]](lhs, rhs), (chk, lhs, rhs)


def _cases(name: str) -> list:
    return [pytest.param(c, id=c["name"]) for c in _load(name)["cases"]]


# ----------------------------------------------------------------------------- helpers
def test_encode_price_sqrt_one_to_one_is_q96() -> None:
    assert encode_price_sqrt(1, 1) == 2**96


@pytest.mark.parametrize(
    ("reserve1", "reserve0", "expected"),
    [  # the ratios named in the TickMath snapshot keys, which the suite built with encodePriceSqrt
        (10**12, 1, 79228162514264337593543950336000000),
        (10**6, 1, 79228162514264337593543950336000),
        (1, 64, 9903520314283042199192993792),
        (1, 8, 28011385487393069959365969113),
        (1, 2, 56022770974786139918731938227),
        (2, 1, 112045541949572279837463876454),
        (8, 1, 224091083899144559674927752909),
        (64, 1, 633825300114114700748351602688),
        (1, 10**6, 79228162514264337593543950),
        (1, 10**12, 79228162514264337593543),
    ],
)
def test_encode_price_sqrt_snapshot_ratios_match(reserve1: int, reserve0: int, expected: int) -> None:
    assert encode_price_sqrt(reserve1, reserve0) == expected


def test_tick_helpers_match_the_contract_constants() -> None:
    assert get_min_tick(1) == v3.MIN_TICK and get_max_tick(1) == v3.MAX_TICK
    assert MIN_SQRT_RATIO == v3.MIN_SQRT_RATIO and MAX_SQRT_RATIO == v3.MAX_SQRT_RATIO
    for spacing in (1, 10, 60, 200):
        assert get_max_liquidity_per_tick(spacing) == v3.tick_spacing_to_max_liquidity_per_tick(spacing)


def test_format_helpers_known_strings_match() -> None:
    assert format_token_amount(1000) == "0.0000000000000010000"
    assert format_token_amount(10**18) == "1.0000"
    assert format_price(encode_price_sqrt(1, 2)) == "0.50000"
    assert format_price(encode_price_sqrt(2**127, 1)) == "1.7014e+38"
    assert format_execution_price(0, 1000) == "-Infinity"
    assert format_execution_price(0, 0) == "NaN"


# ----------------------------------------------------------------------------- libraries
@pytest.mark.parametrize("c", _cases("tick_math"))
def test_tick_math_official_case_matches(c: dict) -> None:
    _run_case(c)


@pytest.mark.parametrize(
    "tick",
    [
        int(t)
        for t in _load("tick_math")["properties"]["sqrt_ratio_within_relative_error_of_decimal"]["ticks"]
    ],
)
def test_tick_math_sqrt_ratio_within_one_hundredth_bip_of_decimal(tick: int) -> None:
    with localcontext() as ctx:
        ctx.prec = 80
        exact = (Decimal("1.0001") ** tick).sqrt() * (Decimal(2) ** 96)
        rel = abs(Decimal(v3.get_sqrt_ratio_at_tick(tick)) - exact) / exact
    assert rel < Decimal("0.000001")


@pytest.mark.parametrize(
    "ratio", [int(r) for r in _load("tick_math")["properties"]["tick_within_one_of_decimal_log"]["ratios"]]
)
def test_tick_math_tick_within_one_of_decimal_log(ratio: int) -> None:
    with localcontext() as ctx:
        ctx.prec = 80
        price = (Decimal(ratio) / Decimal(2) ** 96) ** 2
        js_tick = math.floor(price.ln() / Decimal("1.0001").ln())
    assert abs(v3.get_tick_at_sqrt_ratio(ratio) - js_tick) <= 1


@pytest.mark.parametrize("c", _cases("sqrt_price_math"))
def test_sqrt_price_math_official_case_matches(c: dict) -> None:
    _run_case(c)


@pytest.mark.parametrize("c", _cases("swap_math"))
def test_swap_math_official_case_matches(c: dict) -> None:
    _run_case(c)


@pytest.mark.parametrize("c", _cases("full_math"))
def test_full_math_official_case_matches(c: dict) -> None:
    _run_case(c)


@pytest.mark.parametrize("c", _cases("liquidity_math"))
def test_liquidity_math_official_case_matches(c: dict) -> None:
    _run_case(c)


@pytest.mark.parametrize("c", _cases("tick_bitmap"))
def test_tick_bitmap_official_case_matches(c: dict) -> None:
    bitmap: dict[int, int] = {}
    for tick in c["flips"]:
        v3.flip_tick(bitmap, tick, c["tick_spacing"])
    _run_case(c, bitmap, c["tick_spacing"])


@pytest.mark.parametrize("c", _cases("liquidity_amounts"))
def test_liquidity_amounts_official_case_matches(c: dict) -> None:
    _run_case(c)


# ----------------------------------------------------------------------------- pool swaps
OWNER = "wallet"


def _pool_swap_params() -> list:
    out = []
    for pool in _load("pool_swaps")["pools"]:
        for swap in pool["swaps"]:
            out.append(pytest.param(pool, swap, id=f"{pool['description']} | {swap['description']}"))
    return out


def _callee_pays(amount0: int, amount1: int) -> None:
    """TestUniswapV3Callee's swap callback: pay the positive delta, else assert both are 0."""
    if amount0 > 0 or amount1 > 0:
        return
    if not (amount0 == 0 and amount1 == 0):
        raise AssertionError("callback assert: no input owed but a nonzero output")


@pytest.mark.parametrize(("pool_case", "swap"), _pool_swap_params())
def test_pool_swap_snapshot_matches(pool_case: dict, swap: dict) -> None:
    pool = v3.Pool(pool_case["fee"], pool_case["tick_spacing"])
    pool.initialize(int(pool_case["sqrt_price_x96"]))
    balance0 = balance1 = 0
    for p in pool_case["positions"]:
        a0, a1 = pool.mint(OWNER, p["tick_lower"], p["tick_upper"], int(p["liquidity"]))
        balance0 += a0
        balance1 += a1
    tick_before, sqrt_before = pool.tick, pool.sqrt_price_x96
    snap = swap["snapshot"]

    if "swapError" in snap:
        reason = snap["swapError"].rsplit("revert ", 1)[1]
        with pytest.raises(v3.V3Error) as info:
            pool.swap(swap["zero_for_one"], int(swap["amount_specified"]), int(swap["sqrt_price_limit_x96"]))
        got = {
            "reason": info.value.reason,
            "poolBalance0": str(balance0),
            "poolBalance1": str(balance1),
            "poolPriceBefore": format_price(sqrt_before),
            "tickBefore": tick_before,
        }
        want = {k: snap[k] for k in ("poolBalance0", "poolBalance1", "poolPriceBefore", "tickBefore")}
        want["reason"] = reason
        assert got == want
    else:
        amount0, amount1 = pool.swap(
            swap["zero_for_one"], int(swap["amount_specified"]), int(swap["sqrt_price_limit_x96"])
        )
        _callee_pays(amount0, amount1)
        got = {
            "amount0Before": str(balance0),
            "amount1Before": str(balance1),
            "amount0Delta": str(amount0),
            "amount1Delta": str(amount1),
            "feeGrowthGlobal0X128Delta": str(pool.fee_growth_global0_x128),
            "feeGrowthGlobal1X128Delta": str(pool.fee_growth_global1_x128),
            "tickBefore": tick_before,
            "poolPriceBefore": format_price(sqrt_before),
            "tickAfter": pool.tick,
            "poolPriceAfter": format_price(pool.sqrt_price_x96),
            "executionPrice": format_execution_price(amount0, amount1),
        }
        assert got == snap

    # afterEach 'check can burn positions'
    for p in pool_case["positions"]:
        pool.burn(OWNER, p["tick_lower"], p["tick_upper"], int(p["liquidity"]))
        pool.collect(OWNER, p["tick_lower"], p["tick_upper"], 2**128 - 1, 2**128 - 1)


# ----------------------------------------------------------------------------- compiled kernels (v3.nb)
# The same vectors through the Numba limb kernels' Python wrappers (``nb_<reference name>``)
# and, for the pool swaps, through ``replay_swaps`` on the pool state after the mints.

NB_LIBRARIES = ("tick_math", "sqrt_price_math", "swap_math", "full_math", "liquidity_math")


def _nb_cases() -> list:
    out = []
    for lib in NB_LIBRARIES:
        for c in _load(lib)["cases"]:
            out.append(pytest.param(c, id=f"{lib}: {c['name']}"))
    return out


@pytest.mark.parametrize("c", _nb_cases())
def test_nb_library_official_case_matches(c: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    from asymlp_core.v3 import nb

    # route every reference function named by the case (and its checks) to the compiled wrapper
    for name in v3.__all__:
        wrapped = getattr(nb, f"nb_{name}", None)
        if wrapped is not None:
            monkeypatch.setattr(v3, name, wrapped)
    assert getattr(v3, c["function"]) is getattr(nb, f"nb_{c['function']}")
    _run_case(c)


@pytest.mark.parametrize(
    "c",
    [
        pytest.param(c, id=c["name"])
        for c in _load("tick_bitmap")["cases"]
        if c["function"] != "is_initialized"
    ],
)
def test_nb_tick_bitmap_official_case_matches(c: dict) -> None:
    from asymlp_core.v3 import nb

    initialized: set[int] = set()
    for tick in c["flips"]:
        initialized ^= {tick}
    tick, lte = (_arg(a) for a in c["args"])
    nxt, init = nb.nb_next_initialized_tick_within_one_word(sorted(initialized), tick, c["tick_spacing"], lte)
    assert {"next": str(nxt), "initialized": init} == c["expected"]


@pytest.mark.parametrize(("pool_case", "swap"), _pool_swap_params())
def test_nb_replay_swaps_pool_snapshot_matches(pool_case: dict, swap: dict) -> None:
    from asymlp_core.v3 import nb

    pool = v3.Pool(pool_case["fee"], pool_case["tick_spacing"])
    pool.initialize(int(pool_case["sqrt_price_x96"]))
    for p in pool_case["positions"]:
        pool.mint(OWNER, p["tick_lower"], p["tick_upper"], int(p["liquidity"]))
    out = nb.replay_swaps(
        pool, [swap["zero_for_one"]], [int(swap["amount_specified"])], [int(swap["sqrt_price_limit_x96"])]
    )
    snap = swap["snapshot"]
    reason = nb.error_reason(int(out["error"][0]))
    if "swapError" in snap:
        assert reason == snap["swapError"].rsplit("revert ", 1)[1]
        return
    assert reason is None
    amount0 = nb.limbs_to_ints(out["amount0"], signed=True)[0]
    amount1 = nb.limbs_to_ints(out["amount1"], signed=True)[0]
    sqrt_after = nb.limbs_to_ints(out["sqrt_price_x96"])[0]
    got = {
        "amount0Delta": str(amount0),
        "amount1Delta": str(amount1),
        "feeGrowthGlobal0X128Delta": str(nb.limbs_to_ints(out["fee_growth_global0_x128"])[0]),
        "feeGrowthGlobal1X128Delta": str(nb.limbs_to_ints(out["fee_growth_global1_x128"])[0]),
        "tickAfter": int(out["tick"][0]),
        "poolPriceAfter": format_price(sqrt_after),
        "executionPrice": format_execution_price(amount0, amount1),
    }
    assert got == {k: snap[k] for k in got}
