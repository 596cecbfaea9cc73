# ruff: noqa: E501  (transcribed test names and notes are kept on one line each)
"""Write the Uniswap V3 official test vectors in ``tests/data/v3_official_*.json``.

The library cases below are transcribed by hand from the official TypeScript test files
(named in each file's header); the helper expressions those files use are evaluated with
``tests/uniswap_js_helpers.py`` so that the JSON holds literal decimal strings only.

The pool swap cases are parsed from v3-core ``test/__snapshots__/UniswapV3Pool.swaps.spec.ts.snap``;
the pool fixtures and swap cases from ``test/UniswapV3Pool.swaps.spec.ts`` are transcribed here.
Regenerate with::

    python tests/data/build_v3_official.py /path/to/v3-core/test/__snapshots__/UniswapV3Pool.swaps.spec.ts.snap

Without the path the swap file is left as it is.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from uniswap_js_helpers import (  # noqa: E402
    FEE_HIGH,
    FEE_LOW,
    FEE_MEDIUM,
    MAX_INT256,
    MAX_SQRT_RATIO,
    MAX_UINT128,
    MAX_UINT256,
    MIN_SQRT_RATIO,
    TICK_SPACINGS,
    encode_price_sqrt,
    expand_to_18_decimals,
    format_price,
    format_token_amount,
    get_max_liquidity_per_tick,
    get_max_tick,
    get_min_tick,
)

CORE_REPO = "https://github.com/Uniswap/v3-core"
CORE_COMMIT = "d8b1c635c275d2a9450bd6a78f3fa2484fef73eb"
CORE_RELEASE_NOTE = (
    "npm @uniswap/v3-core 1.0.1 was cut at commit ed88be38ab2032d82bf10ac6f8d03aa631889d48; "
    "between that commit and the commit read here, contracts/ and test/ differ only in LICENSE "
    "files, and contracts/libraries/*.sol equal node_modules/@uniswap/v3-core@1.0.1 byte for byte."
)
PERIPHERY_REPO = "https://github.com/Uniswap/v3-periphery"
PERIPHERY_COMMIT = "0682387198a24c7cd63566a2c58398533860a5d1"
PERIPHERY_RELEASE_NOTE = (
    "npm @uniswap/v3-periphery 1.4.4 was cut at commit 697c2474757ea89fec12a4e6db16a574fe259610; "
    "LiquidityAmounts.sol and its tests are unchanged since, and the library equals "
    "node_modules/@uniswap/v3-periphery@1.4.4."
)
FORMAT_NOTE = (
    "Integers are decimal strings; booleans are JSON booleans. 'expected' holds exact outputs; "
    "'revert' holds the expected revert: reason is the contract's revert string, '' for a revert "
    "without a reason, null where the official test only asserts that the call reverts. "
    "'checks' are the official test's relational assertions: each term is {field}, {value}, "
    "{sum: [terms]} or {call: function, args: [...]} of the reference API."
)

Q128 = 2**128
S = str  # decimal-string shorthand


def header(repo: str, commit: str, files: list[str], note: str) -> dict:
    return {"repository": repo, "commit": commit, "files": files, "release": note, "format": FORMAT_NOTE}


ANY_REASON = object()  # the official test asserts only that the call reverts


def case(name: str, function: str, args: list, expected=None, revert=None, checks=None) -> dict:
    out: dict = {
        "name": name,
        "function": function,
        "args": [a if isinstance(a, bool) else S(a) for a in args],
    }
    if expected is not None:
        out["expected"] = expected if isinstance(expected, dict) else S(expected)
    if revert is not None:
        out["revert"] = {"reason": None if revert is ANY_REASON else revert}
    if checks:
        out["checks"] = checks
    return out


def field(name: str) -> dict:
    return {"field": name}


def value(v: int) -> dict:
    return {"value": S(v)}


def call(function: str, *args) -> dict:
    return {"call": function, "args": [a if isinstance(a, bool) else S(a) for a in args]}


def check(lhs: dict, op: str, rhs: dict, note: str = "") -> dict:
    out = {"lhs": lhs, "op": op, "rhs": rhs}
    if note:
        out["note"] = note
    return out


# --------------------------------------------------------------------------- TickMath
def tick_math() -> dict:
    MIN_TICK, MAX_TICK = -887272, 887272
    cases = [
        case("getSqrtRatioAtTick throws for too low", "get_sqrt_ratio_at_tick", [MIN_TICK - 1], revert="T"),
        case("getSqrtRatioAtTick throws for too high", "get_sqrt_ratio_at_tick", [MAX_TICK + 1], revert="T"),
        case("getSqrtRatioAtTick min tick", "get_sqrt_ratio_at_tick", [MIN_TICK], 4295128739),
        case("getSqrtRatioAtTick min tick +1", "get_sqrt_ratio_at_tick", [MIN_TICK + 1], 4295343490),
        case(
            "getSqrtRatioAtTick max tick - 1",
            "get_sqrt_ratio_at_tick",
            [MAX_TICK - 1],
            1461373636630004318706518188784493106690254656249,
        ),
        case(
            "getSqrtRatioAtTick max tick",
            "get_sqrt_ratio_at_tick",
            [MAX_TICK],
            1461446703485210103287273052203988822378723970342,
        ),
        case(
            "getSqrtRatioAtTick min tick ratio is less than js implementation",
            "get_sqrt_ratio_at_tick",
            [MIN_TICK],
            checks=[check(field("result"), "lt", value(encode_price_sqrt(1, 2**127)))],
            expected=4295128739,
        ),
        case(
            "getSqrtRatioAtTick max tick ratio is greater than js implementation",
            "get_sqrt_ratio_at_tick",
            [MAX_TICK],
            checks=[check(field("result"), "gt", value(encode_price_sqrt(2**127, 1)))],
            expected=MAX_SQRT_RATIO,
        ),
        case(
            "MIN_SQRT_RATIO equals getSqrtRatioAtTick(MIN_TICK)",
            "get_sqrt_ratio_at_tick",
            [MIN_TICK],
            MIN_SQRT_RATIO,
        ),
        case(
            "MAX_SQRT_RATIO equals getSqrtRatioAtTick(MAX_TICK)",
            "get_sqrt_ratio_at_tick",
            [MAX_TICK],
            MAX_SQRT_RATIO,
        ),
    ]
    # snapshot `TickMath #getSqrtRatioAtTick tick N result 1`
    sqrt_snap = {
        -50: 79030349367926598376800521322,
        -100: 78833030112140176575862854579,
        -250: 78244023372248365697264290337,
        -500: 77272108795590369356373805297,
        -1000: 75364347830767020784054125655,
        -2500: 69919044979842180277688105136,
        -3000: 68192822843687888778582228483,
        -4000: 64867181785621769311890333195,
        -5000: 61703726247759831737814779831,
        -50000: 6504256538020985011912221507,
        -150000: 43836292794701720435367485,
        -250000: 295440463448801648376846,
        -500000: 1101692437043807371,
        -738203: 7409801140451,
        50: 79426470787362580746886972461,
        100: 79625275426524748796330556128,
        250: 80224679980005306637834519095,
        500: 81233731461783161732293370115,
        1000: 83290069058676223003182343270,
        2500: 89776708723587163891445672585,
        3000: 92049301871182272007977902845,
        4000: 96768528593268422080558758223,
        5000: 101729702841318637793976746270,
        50000: 965075977353221155028623082916,
        150000: 143194173941309278083010301478497,
        250000: 21246587762933397357449903968194344,
        500000: 5697689776495288729098254600827762987878,
        738203: 847134979253254120489401328389043031315994541,
    }
    for tick, expected in sqrt_snap.items():
        cases.append(
            case(
                f"getSqrtRatioAtTick tick {tick} result (snapshot)",
                "get_sqrt_ratio_at_tick",
                [tick],
                expected,
            )
        )

    cases += [
        case(
            "getTickAtSqrtRatio throws for too low",
            "get_tick_at_sqrt_ratio",
            [MIN_SQRT_RATIO - 1],
            revert="R",
        ),
        case(
            "getTickAtSqrtRatio throws for too high", "get_tick_at_sqrt_ratio", [MAX_SQRT_RATIO], revert="R"
        ),
        case("getTickAtSqrtRatio ratio of min tick", "get_tick_at_sqrt_ratio", [MIN_SQRT_RATIO], MIN_TICK),
        case(
            "getTickAtSqrtRatio ratio of min tick + 1", "get_tick_at_sqrt_ratio", [4295343490], MIN_TICK + 1
        ),
        case(
            "getTickAtSqrtRatio ratio of max tick - 1",
            "get_tick_at_sqrt_ratio",
            [1461373636630004318706518188784493106690254656249],
            MAX_TICK - 1,
        ),
        case(
            "getTickAtSqrtRatio ratio closest to max tick",
            "get_tick_at_sqrt_ratio",
            [MAX_SQRT_RATIO - 1],
            MAX_TICK - 1,
        ),
    ]
    ratios = [
        ("MIN_SQRT_RATIO", MIN_SQRT_RATIO, -887272),
        ("encodePriceSqrt(10**12, 1)", encode_price_sqrt(10**12, 1), 276324),
        ("encodePriceSqrt(10**6, 1)", encode_price_sqrt(10**6, 1), 138162),
        ("encodePriceSqrt(1, 64)", encode_price_sqrt(1, 64), -41591),
        ("encodePriceSqrt(1, 8)", encode_price_sqrt(1, 8), -20796),
        ("encodePriceSqrt(1, 2)", encode_price_sqrt(1, 2), -6932),
        ("encodePriceSqrt(1, 1)", encode_price_sqrt(1, 1), 0),
        ("encodePriceSqrt(2, 1)", encode_price_sqrt(2, 1), 6931),
        ("encodePriceSqrt(8, 1)", encode_price_sqrt(8, 1), 20795),
        ("encodePriceSqrt(64, 1)", encode_price_sqrt(64, 1), 41590),
        ("encodePriceSqrt(1, 10**6)", encode_price_sqrt(1, 10**6), -138163),
        ("encodePriceSqrt(1, 10**12)", encode_price_sqrt(1, 10**12), -276325),
        ("MAX_SQRT_RATIO - 1", MAX_SQRT_RATIO - 1, 887271),
    ]
    for label, ratio, expected in ratios:
        cases.append(
            case(
                f"getTickAtSqrtRatio ratio {ratio} [{label}] result (snapshot)",
                "get_tick_at_sqrt_ratio",
                [ratio],
                expected,
                checks=[
                    check(
                        call("get_sqrt_ratio_at_tick", expected),
                        "le",
                        value(ratio),
                        "ratio is between the tick and tick+1",
                    ),
                    check(
                        value(ratio),
                        "lt",
                        call("get_sqrt_ratio_at_tick", expected + 1),
                        "ratio is between the tick and tick+1",
                    ),
                ],
            )
        )
    properties = {
        "sqrt_ratio_within_relative_error_of_decimal": {
            "note": "'is at most off by 1/100th of a bips': |result - sqrt(1.0001**tick) * 2**96| / exact < 0.000001",
            "ticks": sorted(sqrt_snap),
            "max_relative_error": "0.000001",
        },
        "tick_within_one_of_decimal_log": {
            "note": "'is at most off by 1': |result - floor(log_1.0001((ratio / 2**96)**2))| <= 1",
            "ratios": [S(r) for _, r, _ in ratios],
        },
    }
    return {
        "source": header(
            CORE_REPO,
            CORE_COMMIT,
            ["test/TickMath.spec.ts", "test/__snapshots__/TickMath.spec.ts.snap"],
            CORE_RELEASE_NOTE,
        ),
        "cases": cases,
        "properties": properties,
    }


# --------------------------------------------------------------------------- SqrtPriceMath
def sqrt_price_math() -> dict:
    p11 = encode_price_sqrt(1, 1)
    e18 = expand_to_18_decimals(1)
    tenth = e18 // 10
    virt = 20282409603651670423947251286016
    max_amount_no_overflow = MAX_UINT256 - ((MAX_UINT128 << 96) // (2**160 - 1))
    fi, fo = "get_next_sqrt_price_from_input", "get_next_sqrt_price_from_output"
    a0, a1 = "get_amount0_delta", "get_amount1_delta"
    cases = [
        case("getNextSqrtPriceFromInput fails if price is zero", fi, [0, 0, tenth, False]),
        case("getNextSqrtPriceFromInput fails if liquidity is zero", fi, [1, 0, tenth, True]),
        case(
            "getNextSqrtPriceFromInput fails if input amount overflows the price",
            fi,
            [2**160 - 1, 1024, 1024, False],
        ),
        case(
            "getNextSqrtPriceFromInput any input amount cannot underflow the price",
            fi,
            [1, 1, 2**255, True],
            1,
        ),
        case(
            "getNextSqrtPriceFromInput returns input price if amount in is zero and zeroForOne = true",
            fi,
            [p11, tenth, 0, True],
            p11,
        ),
        case(
            "getNextSqrtPriceFromInput returns input price if amount in is zero and zeroForOne = false",
            fi,
            [p11, tenth, 0, False],
            p11,
        ),
        case(
            "getNextSqrtPriceFromInput returns the minimum price for max inputs",
            fi,
            [2**160 - 1, MAX_UINT128, max_amount_no_overflow, True],
            1,
        ),
        case(
            "getNextSqrtPriceFromInput input amount of 0.1 token1",
            fi,
            [p11, e18, tenth, False],
            87150978765690771352898345369,
        ),
        case(
            "getNextSqrtPriceFromInput input amount of 0.1 token0",
            fi,
            [p11, e18, tenth, True],
            72025602285694852357767227579,
        ),
        case(
            "getNextSqrtPriceFromInput amountIn > type(uint96).max and zeroForOne = true",
            fi,
            [p11, expand_to_18_decimals(10), 2**100, True],
            624999999995069620,
        ),
        case(
            "getNextSqrtPriceFromInput can return 1 with enough amountIn and zeroForOne = true",
            fi,
            [p11, 1, MAX_UINT256 // 2, True],
            1,
        ),
        case("getNextSqrtPriceFromOutput fails if price is zero", fo, [0, 0, tenth, False]),
        case("getNextSqrtPriceFromOutput fails if liquidity is zero", fo, [1, 0, tenth, True]),
        case(
            "getNextSqrtPriceFromOutput fails if output amount is exactly the virtual reserves of token0",
            fo,
            [virt, 1024, 4, False],
        ),
        case(
            "getNextSqrtPriceFromOutput fails if output amount is greater than virtual reserves of token0",
            fo,
            [virt, 1024, 5, False],
        ),
        case(
            "getNextSqrtPriceFromOutput fails if output amount is greater than virtual reserves of token1",
            fo,
            [virt, 1024, 262145, True],
        ),
        case(
            "getNextSqrtPriceFromOutput fails if output amount is exactly the virtual reserves of token1",
            fo,
            [virt, 1024, 262144, True],
        ),
        case(
            "getNextSqrtPriceFromOutput succeeds if output amount is just less than the virtual reserves of token1",
            fo,
            [virt, 1024, 262143, True],
            77371252455336267181195264,
        ),
        case("getNextSqrtPriceFromOutput puzzling echidna test", fo, [virt, 1024, 4, False]),
        case(
            "getNextSqrtPriceFromOutput returns input price if amount in is zero and zeroForOne = true",
            fo,
            [p11, tenth, 0, True],
            p11,
        ),
        case(
            "getNextSqrtPriceFromOutput returns input price if amount in is zero and zeroForOne = false",
            fo,
            [p11, tenth, 0, False],
            p11,
        ),
        case(
            "getNextSqrtPriceFromOutput output amount of 0.1 token1 (zeroForOne = false)",
            fo,
            [p11, e18, tenth, False],
            88031291682515930659493278152,
        ),
        case(
            "getNextSqrtPriceFromOutput output amount of 0.1 token1 (zeroForOne = true)",
            fo,
            [p11, e18, tenth, True],
            71305346262837903834189555302,
        ),
        case(
            "getNextSqrtPriceFromOutput reverts if amountOut is impossible in zero for one direction",
            fo,
            [p11, 1, MAX_UINT256, True],
        ),
        case(
            "getNextSqrtPriceFromOutput reverts if amountOut is impossible in one for zero direction",
            fo,
            [p11, 1, MAX_UINT256, False],
        ),
        case("getAmount0Delta returns 0 if liquidity is 0", a0, [p11, encode_price_sqrt(2, 1), 0, True], 0),
        case("getAmount0Delta returns 0 if prices are equal", a0, [p11, p11, 0, True], 0),
        case(
            "getAmount0Delta returns 0.1 amount1 for price of 1 to 1.21 (round up)",
            a0,
            [p11, encode_price_sqrt(121, 100), e18, True],
            90909090909090910,
        ),
        case(
            "getAmount0Delta returns 0.1 amount1 for price of 1 to 1.21 (round down)",
            a0,
            [p11, encode_price_sqrt(121, 100), e18, False],
            90909090909090909,
        ),
        case(
            "getAmount0Delta works for prices that overflow",
            a0,
            [encode_price_sqrt(2**90, 1), encode_price_sqrt(2**96, 1), e18, True],
            checks=[
                check(
                    field("result"),
                    "eq",
                    {
                        "sum": [
                            call(a0, encode_price_sqrt(2**90, 1), encode_price_sqrt(2**96, 1), e18, False),
                            value(1),
                        ]
                    },
                    "amount0Up == amount0Down + 1",
                )
            ],
        ),
        case("getAmount1Delta returns 0 if liquidity is 0", a1, [p11, encode_price_sqrt(2, 1), 0, True], 0),
        case(
            "getAmount1Delta returns 0 if prices are equal (calls getAmount0Delta)",
            a0,
            [p11, p11, 0, True],
            0,
        ),
        case(
            "getAmount1Delta returns 0.1 amount1 for price of 1 to 1.21 (round up)",
            a1,
            [p11, encode_price_sqrt(121, 100), e18, True],
            100000000000000000,
        ),
        case(
            "getAmount1Delta returns 0.1 amount1 for price of 1 to 1.21 (round down)",
            a1,
            [p11, encode_price_sqrt(121, 100), e18, False],
            99999999999999999,
        ),
        case(
            "swap computation sqrtP * sqrtQ overflows (next price)",
            fi,
            [
                1025574284609383690408304870162715216695788925244,
                50015962439936049619261659728067971248,
                406,
                True,
            ],
            1025574284609383582644711336373707553698163132913,
        ),
        case(
            "swap computation sqrtP * sqrtQ overflows (amount0Delta)",
            a0,
            [
                1025574284609383582644711336373707553698163132913,
                1025574284609383690408304870162715216695788925244,
                50015962439936049619261659728067971248,
                True,
            ],
            406,
        ),
    ]
    return {
        "source": header(
            CORE_REPO,
            CORE_COMMIT,
            ["test/SqrtPriceMath.spec.ts", "test/__snapshots__/SqrtPriceMath.spec.ts.snap"],
            CORE_RELEASE_NOTE,
        ),
        "cases": cases,
    }


# --------------------------------------------------------------------------- SwapMath
def swap_math() -> dict:
    p11 = encode_price_sqrt(1, 1)
    e18 = expand_to_18_decimals(1)
    e2 = expand_to_18_decimals(2)
    fn = "compute_swap_step"
    fi, fo = "get_next_sqrt_price_from_input", "get_next_sqrt_price_from_output"

    def out(sqrt_price_next, amount_in, amount_out, fee_amount) -> dict:
        d = {}
        for k, v in (
            ("sqrt_price_next_x96", sqrt_price_next),
            ("amount_in", amount_in),
            ("amount_out", amount_out),
            ("fee_amount", fee_amount),
        ):
            if v is not None:
                d[k] = S(v)
        return d

    in_plus_fee = {"sum": [field("amount_in"), field("fee_amount")]}
    virt = 20282409603651670423947251286016
    cases = [
        case(
            "exact amount in that gets capped at price target in one for zero",
            fn,
            [p11, encode_price_sqrt(101, 100), e2, e18, 600],
            out(encode_price_sqrt(101, 100), 9975124224178055, 9925619580021728, 5988667735148),
            checks=[
                check(in_plus_fee, "lt", value(e18), "entire amount is not used"),
                check(
                    field("sqrt_price_next_x96"),
                    "lt",
                    call(fi, p11, e2, e18, False),
                    "price is less than price after whole input amount",
                ),
            ],
        ),
        case(
            "exact amount out that gets capped at price target in one for zero",
            fn,
            [p11, encode_price_sqrt(101, 100), e2, -e18, 600],
            out(encode_price_sqrt(101, 100), 9975124224178055, 9925619580021728, 5988667735148),
            checks=[
                check(field("amount_out"), "lt", value(e18), "entire amount out is not returned"),
                check(
                    field("sqrt_price_next_x96"),
                    "lt",
                    call(fo, p11, e2, e18, False),
                    "price is less than price after whole output amount",
                ),
            ],
        ),
        case(
            "exact amount in that is fully spent in one for zero",
            fn,
            [p11, encode_price_sqrt(1000, 100), e2, e18, 600],
            out(None, 999400000000000000, 666399946655997866, 600000000000000),
            checks=[
                check(in_plus_fee, "eq", value(e18), "entire amount is used"),
                check(
                    field("sqrt_price_next_x96"),
                    "lt",
                    value(encode_price_sqrt(1000, 100)),
                    "price does not reach price target",
                ),
                check(
                    field("sqrt_price_next_x96"),
                    "eq",
                    call(fi, p11, e2, e18 - 600000000000000, False),
                    "price is equal to price after whole input amount",
                ),
            ],
        ),
        case(
            "exact amount out that is fully received in one for zero",
            fn,
            [p11, encode_price_sqrt(10000, 100), e2, -e18, 600],
            out(None, 2000000000000000000, e18, 1200720432259356),
            checks=[
                check(
                    field("sqrt_price_next_x96"),
                    "lt",
                    value(encode_price_sqrt(10000, 100)),
                    "price does not reach price target",
                ),
                check(
                    field("sqrt_price_next_x96"),
                    "eq",
                    call(fo, p11, e2, e18, False),
                    "price is equal to price after whole output amount",
                ),
            ],
        ),
        case(
            "amount out is capped at the desired amount out",
            fn,
            [
                417332158212080721273783715441582,
                1452870262520218020823638996,
                159344665391607089467575320103,
                -1,
                1,
            ],
            out(417332158212080721273783715441581, 1, 1, 1),
        ),
        case(
            "target price of 1 uses partial input amount",
            fn,
            [2, 1, 1, 3915081100057732413702495386755767, 1],
            out(1, 39614081257132168796771975168, 0, 39614120871253040049813),
            checks=[check(in_plus_fee, "le", value(3915081100057732413702495386755767))],
        ),
        case(
            "entire input amount taken as fee",
            fn,
            [2413, 79887613182836312, 1985041575832132834610021537970, 10, 1872],
            out(2413, 0, 0, 10),
        ),
        case(
            "handles intermediate insufficient liquidity in zero for one exact output case",
            fn,
            [virt, virt * 11 // 10, 1024, -4, 3000],
            out(virt * 11 // 10, 26215, 0, 79),
        ),
        case(
            "handles intermediate insufficient liquidity in one for zero exact output case",
            fn,
            [virt, virt * 9 // 10, 1024, -263000, 3000],
            out(virt * 9 // 10, 1, 26214, 1),
        ),
    ]
    return {
        "source": header(
            CORE_REPO,
            CORE_COMMIT,
            ["test/SwapMath.spec.ts", "test/__snapshots__/SwapMath.spec.ts.snap"],
            CORE_RELEASE_NOTE,
        ),
        "cases": cases,
    }


# --------------------------------------------------------------------------- FullMath
def full_math() -> dict:
    md, mu = "mul_div", "mul_div_rounding_up"
    half, three_half = 50 * Q128 // 100, 150 * Q128 // 100
    cases = []
    for fn in (md, mu):
        label = "mulDiv" if fn == md else "mulDivRoundingUp"
        cases += [
            case(f"{label} reverts if denominator is 0", fn, [Q128, 5, 0]),
            case(f"{label} reverts if denominator is 0 and numerator overflows", fn, [Q128, Q128, 0]),
            case(f"{label} reverts if output overflows uint256", fn, [Q128, Q128, 1]),
            case(
                f"{label} reverts on overflow with all max inputs",
                fn,
                [MAX_UINT256, MAX_UINT256, MAX_UINT256 - 1],
            ),
            case(f"{label} all max inputs", fn, [MAX_UINT256, MAX_UINT256, MAX_UINT256], MAX_UINT256),
            case(
                f"{label} accurate without phantom overflow",
                fn,
                [Q128, half, three_half],
                Q128 // 3 + (1 if fn == mu else 0),
            ),
            case(
                f"{label} accurate with phantom overflow",
                fn,
                [Q128, 35 * Q128, 8 * Q128],
                4375 * Q128 // 1000,
            ),
            case(
                f"{label} accurate with phantom overflow and repeating decimal",
                fn,
                [Q128, 1000 * Q128, 3000 * Q128],
                Q128 // 3 + (1 if fn == mu else 0),
            ),
        ]
    cases += [
        case(
            "mulDivRoundingUp reverts if mulDiv overflows 256 bits after rounding up",
            mu,
            [535006138814359, 432862656469423142931042426214547535783388063929571229938474969, 2],
        ),
        case(
            "mulDivRoundingUp reverts if mulDiv overflows 256 bits after rounding up case 2",
            mu,
            [
                115792089237316195423570985008687907853269984659341747863450311749907997002549,
                115792089237316195423570985008687907853269984659341747863450311749907997002550,
                115792089237316195423570985008687907853269984653042931687443039491902864365164,
            ],
        ),
    ]
    return {
        "source": header(CORE_REPO, CORE_COMMIT, ["test/FullMath.spec.ts"], CORE_RELEASE_NOTE),
        "cases": cases,
    }


# --------------------------------------------------------------------------- LiquidityMath
def liquidity_math() -> dict:
    fn = "add_delta"
    cases = [
        case("1 + 0", fn, [1, 0], 1),
        case("1 + -1", fn, [1, -1], 0),
        case("1 + 1", fn, [1, 1], 2),
        case("2**128-15 + 15 overflows", fn, [2**128 - 15, 15], revert="LA"),
        case("0 + -1 underflows", fn, [0, -1], revert="LS"),
        case("3 + -4 underflows", fn, [3, -4], revert="LS"),
    ]
    return {
        "source": header(
            CORE_REPO,
            CORE_COMMIT,
            ["test/LiquidityMath.spec.ts", "test/__snapshots__/LiquidityMath.spec.ts.snap"],
            CORE_RELEASE_NOTE,
        ),
        "cases": cases,
    }


# --------------------------------------------------------------------------- TickBitmap
def tick_bitmap() -> dict:
    """Cases carry the ticks flipped before the query (TickBitmapTest uses tick spacing 1)."""
    base = [-200, -55, -4, 70, 78, 84, 139, 240, 535]
    nx = "next_initialized_tick_within_one_word"
    ii = "is_initialized"

    def bm(name, flips, function, args, expected):
        c = case(name, function, args, expected)
        c["flips"] = flips
        c["tick_spacing"] = 1
        return c

    def nxt(n, i):
        return {"next": S(n), "initialized": i}

    cases = [
        bm("isInitialized is false at first", [], ii, [1], {"result": False}),
        bm("isInitialized is flipped by #flipTick", [1], ii, [1], {"result": True}),
        bm("isInitialized is flipped back by #flipTick", [1, 1], ii, [1], {"result": False}),
        bm(
            "isInitialized is not changed by another flip to a different tick",
            [2],
            ii,
            [1],
            {"result": False},
        ),
        bm(
            "isInitialized is not changed by another flip to a different tick on another word (257)",
            [257],
            ii,
            [257],
            {"result": True},
        ),
        bm(
            "isInitialized is not changed by another flip to a different tick on another word (1)",
            [257],
            ii,
            [1],
            {"result": False},
        ),
    ]
    for t, exp in ((-230, True), (-231, False), (-229, False), (-230 + 256, False), (-230 - 256, False)):
        cases.append(bm(f"flipTick flips only the specified tick ({t})", [-230], ii, [t], {"result": exp}))
    for t in (-230, -231, -229, -230 + 256, -230 - 256):
        cases.append(
            bm(
                f"flipTick flips only the specified tick, flipped back ({t})",
                [-230, -230],
                ii,
                [t],
                {"result": False},
            )
        )
    reverts_only_itself = [-230, -259, -229, 500, -259, -229, -259]
    cases.append(bm("flipTick reverts only itself (-259)", reverts_only_itself, ii, [-259], {"result": True}))
    cases.append(
        bm("flipTick reverts only itself (-229)", reverts_only_itself, ii, [-229], {"result": False})
    )
    lte_false = [
        ("returns tick to right if at initialized tick", [], 78, 84, True),
        ("returns tick to right if at initialized tick", [], -55, -4, True),
        ("returns the tick directly to the right", [], 77, 78, True),
        ("returns the tick directly to the right", [], -56, -55, True),
        ("returns the next words initialized tick if on the right boundary", [], 255, 511, False),
        ("returns the next words initialized tick if on the right boundary", [], -257, -200, True),
        ("returns the next initialized tick from the next word", [340], 328, 340, True),
        ("does not exceed boundary", [], 508, 511, False),
        ("skips entire word", [], 255, 511, False),
        ("skips half word", [], 383, 511, False),
    ]
    for name, extra, tick, n, i in lte_false:
        cases.append(
            bm(
                f"nextInitializedTickWithinOneWord lte = false {name} ({tick})",
                base + extra,
                nx,
                [tick, False],
                nxt(n, i),
            )
        )
    lte_true = [
        ("returns same tick if initialized", [], 78, 78, True),
        ("returns tick directly to the left of input tick if not initialized", [], 79, 78, True),
        ("will not exceed the word boundary", [], 258, 256, False),
        ("at the word boundary", [], 256, 256, False),
        ("word boundary less 1 (next initialized tick in next word)", [], 72, 70, True),
        ("word boundary", [], -257, -512, False),
        ("entire empty word", [], 1023, 768, False),
        ("halfway through empty word", [], 900, 768, False),
        ("boundary is initialized", [329], 456, 329, True),
    ]
    for name, extra, tick, n, i in lte_true:
        cases.append(
            bm(
                f"nextInitializedTickWithinOneWord lte = true {name} ({tick})",
                base + extra,
                nx,
                [tick, True],
                nxt(n, i),
            )
        )
    return {
        "source": header(
            CORE_REPO,
            CORE_COMMIT,
            ["test/TickBitmap.spec.ts", "contracts/test/TickBitmapTest.sol"],
            CORE_RELEASE_NOTE,
        ),
        "note": (
            "Each case starts from an empty bitmap and flips 'flips' in order (flipTick with tick spacing 1). "
            "is_initialized(tick) is TickBitmapTest.isInitialized: next_initialized_tick_within_one_word(tick, 1, lte=True) "
            "returns (tick, True)."
        ),
        "cases": cases,
    }


# --------------------------------------------------------------------------- LiquidityAmounts
def liquidity_amounts() -> dict:
    a, b = encode_price_sqrt(100, 110), encode_price_sqrt(110, 100)
    lf, af = "get_liquidity_for_amounts", "get_amounts_for_liquidity"
    inside, below, above = encode_price_sqrt(1, 1), encode_price_sqrt(99, 110), encode_price_sqrt(111, 100)

    def amounts(x, y):
        return {"amount0": S(x), "amount1": S(y)}

    cases = [
        case("getLiquidityForAmounts amounts for price inside", lf, [inside, a, b, 100, 200], 2148),
        case("getLiquidityForAmounts amounts for price below", lf, [below, a, b, 100, 200], 1048),
        case("getLiquidityForAmounts amounts for price above", lf, [above, a, b, 100, 200], 2097),
        case(
            "getLiquidityForAmounts amounts for price equal to lower boundary", lf, [a, a, b, 100, 200], 1048
        ),
        case(
            "getLiquidityForAmounts amounts for price equal to upper boundary", lf, [b, a, b, 100, 200], 2097
        ),
        case("getAmountsForLiquidity amounts for price inside", af, [inside, a, b, 2148], amounts(99, 99)),
        case("getAmountsForLiquidity amounts for price below", af, [below, a, b, 1048], amounts(99, 0)),
        case("getAmountsForLiquidity amounts for price above", af, [above, a, b, 2097], amounts(0, 199)),
        case(
            "getAmountsForLiquidity amounts for price on lower boundary", af, [a, a, b, 1048], amounts(99, 0)
        ),
        case(
            "getAmountsForLiquidity amounts for price on upper boundary", af, [b, a, b, 2097], amounts(0, 199)
        ),
    ]
    return {
        "source": header(
            PERIPHERY_REPO,
            PERIPHERY_COMMIT,
            [
                "test/LiquidityAmounts.spec.ts",
                "test/__snapshots__/LiquidityAmounts.spec.ts.snap",
                "test/shared/encodePriceSqrt.ts",
            ],
            PERIPHERY_RELEASE_NOTE,
        ),
        "cases": cases,
    }


# --------------------------------------------------------------------------- pool swaps
POOL_SWAP_CASES = [
    # (zero_for_one, exact_out or None for 'to price', amount or None, sqrt price limit or None)
    (True, False, expand_to_18_decimals(1), None),
    (False, False, expand_to_18_decimals(1), None),
    (True, True, expand_to_18_decimals(1), None),
    (False, True, expand_to_18_decimals(1), None),
    (True, False, expand_to_18_decimals(1), encode_price_sqrt(50, 100)),
    (False, False, expand_to_18_decimals(1), encode_price_sqrt(200, 100)),
    (True, True, expand_to_18_decimals(1), encode_price_sqrt(50, 100)),
    (False, True, expand_to_18_decimals(1), encode_price_sqrt(200, 100)),
    (True, False, 1000, None),
    (False, False, 1000, None),
    (True, True, 1000, None),
    (False, True, 1000, None),
    (False, None, None, encode_price_sqrt(5, 2)),
    (True, None, None, encode_price_sqrt(2, 5)),
    (True, None, None, encode_price_sqrt(5, 2)),
    (False, None, None, encode_price_sqrt(2, 5)),
]


def _swap_description(zero_for_one, exact_out, amount, limit) -> str:
    price_clause = f" to price {format_price(limit)}" if limit is not None else ""
    if exact_out is None:
        return ("swap token0 for token1" if zero_for_one else "swap token1 for token0") + price_clause
    amt = format_token_amount(amount)
    if exact_out:
        if zero_for_one:
            return f"swap token0 for exactly {amt} token1{price_clause}"
        return f"swap token1 for exactly {amt} token0{price_clause}"
    if zero_for_one:
        return f"swap exactly {amt} token0 for token1{price_clause}"
    return f"swap exactly {amt} token1 for token0{price_clause}"


def _pool_fixtures() -> list[dict]:
    lo, med, hi = FEE_LOW, FEE_MEDIUM, FEE_HIGH
    ts = TICK_SPACINGS
    two = expand_to_18_decimals(2)

    def full(fee, liq=two):
        return {"tick_lower": get_min_tick(ts[fee]), "tick_upper": get_max_tick(ts[fee]), "liquidity": liq}

    def pos(lower, upper, liq=two):
        return {"tick_lower": lower, "tick_upper": upper, "liquidity": liq}

    p11 = encode_price_sqrt(1, 1)
    m = ts[med]
    fixtures = [
        ("low fee, 1:1 price, 2e18 max range liquidity", lo, p11, [full(lo)]),
        ("medium fee, 1:1 price, 2e18 max range liquidity", med, p11, [full(med)]),
        ("high fee, 1:1 price, 2e18 max range liquidity", hi, p11, [full(hi)]),
        ("medium fee, 10:1 price, 2e18 max range liquidity", med, encode_price_sqrt(10, 1), [full(med)]),
        ("medium fee, 1:10 price, 2e18 max range liquidity", med, encode_price_sqrt(1, 10), [full(med)]),
        (
            "medium fee, 1:1 price, 0 liquidity, all liquidity around current price",
            med,
            p11,
            [pos(get_min_tick(m), -m), pos(m, get_max_tick(m))],
        ),
        (
            "medium fee, 1:1 price, additional liquidity around current price",
            med,
            p11,
            [full(med), pos(get_min_tick(m), -m), pos(m, get_max_tick(m))],
        ),
        ("low fee, large liquidity around current price (stable swap)", lo, p11, [pos(-ts[lo], ts[lo])]),
        ("medium fee, token0 liquidity only", med, p11, [pos(0, 2000 * m)]),
        ("medium fee, token1 liquidity only", med, p11, [pos(-2000 * m, 0)]),
        ("close to max price", med, encode_price_sqrt(2**127, 1), [full(med)]),
        ("close to min price", med, encode_price_sqrt(1, 2**127), [full(med)]),
        (
            "max full range liquidity at 1:1 price with default fee",
            med,
            p11,
            [full(med, get_max_liquidity_per_tick(m))],
        ),
        ("initialized at the max ratio", med, MAX_SQRT_RATIO - 1, [full(med)]),
        ("initialized at the min ratio", med, MIN_SQRT_RATIO, [full(med)]),
    ]
    out = []
    for description, fee, start, positions in fixtures:
        out.append(
            {
                "description": description,
                "fee": fee,
                "tick_spacing": ts[fee],
                "sqrt_price_x96": S(start),
                "positions": [
                    {
                        "tick_lower": p["tick_lower"],
                        "tick_upper": p["tick_upper"],
                        "liquidity": S(p["liquidity"]),
                    }
                    for p in positions
                ],
            }
        )
    return out


_SNAP_ENTRY = re.compile(r"exports\[`(?P<key>[^`]*)`\] = `\nObject \{\n(?P<body>.*?)\n\}\n`;", re.S)
_SNAP_FIELD = re.compile(r'^\s*"(?P<k>\w+)": (?P<v>.*?),?$')


def _parse_snapshot(path: Path) -> dict[str, dict]:
    entries = {}
    for m in _SNAP_ENTRY.finditer(path.read_text()):
        fields = {}
        for line in m.group("body").splitlines():
            fm = _SNAP_FIELD.match(line)
            if not fm:
                raise ValueError(f"unparsed snapshot line: {line!r}")
            v = fm.group("v")
            fields[fm.group("k")] = json.loads(v) if v.startswith('"') else int(v)
        entries[m.group("key")] = fields
    return entries


def pool_swaps(snap_path: Path) -> dict:
    snap = _parse_snapshot(snap_path)
    prefix = "UniswapV3Pool swap tests "
    pools = _pool_fixtures()
    used = set()
    for pool in pools:
        swaps = []
        for zero_for_one, exact_out, amount, limit in POOL_SWAP_CASES:
            description = _swap_description(zero_for_one, exact_out, amount, limit)
            key = f"{prefix}{pool['description']} {description} 1"
            entry = snap[key]
            used.add(key)
            if exact_out is None:
                amount_specified = MAX_INT256
            else:
                amount_specified = -amount if exact_out else amount
            if limit is None:
                limit_used = MIN_SQRT_RATIO + 1 if zero_for_one else MAX_SQRT_RATIO - 1
            else:
                limit_used = limit
            expected = {
                k: (S(v) if isinstance(v, int) and not k.startswith("tick") else v) for k, v in entry.items()
            }
            swaps.append(
                {
                    "description": description,
                    "zero_for_one": zero_for_one,
                    "amount_specified": S(amount_specified),
                    "sqrt_price_limit_x96": S(limit_used),
                    "snapshot": expected,
                }
            )
        pool["swaps"] = swaps
    unused = sorted(set(snap) - used)
    if unused:
        raise ValueError(f"snapshot entries not matched to a case: {unused[:3]}")
    return {
        "source": header(
            CORE_REPO,
            CORE_COMMIT,
            [
                "test/UniswapV3Pool.swaps.spec.ts",
                "test/__snapshots__/UniswapV3Pool.swaps.spec.ts.snap",
                "test/shared/utilities.ts",
                "contracts/test/TestUniswapV3Callee.sol",
            ],
            CORE_RELEASE_NOTE,
        ),
        "note": (
            "Each pool starts fresh: initialize(sqrt_price_x96), then mint the positions in order (owner = the wallet). "
            "Each swap is pool.swap(recipient, zero_for_one, amount_specified, sqrt_price_limit_x96) as TestUniswapV3Callee "
            "calls it (exact output is a negative amount; 'swap to price' uses amount type(int256).max; without a limit "
            "the tests pass MIN_SQRT_RATIO + 1 or MAX_SQRT_RATIO - 1). The swap callback pays amount0Delta if > 0, else "
            "amount1Delta if > 0, else asserts both are 0 (so a swap with a zero input and a nonzero output reverts). "
            "'snapshot' is the official snapshot entry verbatim: amount0Before/amount1Before are the pool balances after "
            "the mints, amount*Delta the balance changes (= the swap's returned amounts), feeGrowthGlobal*X128Delta the "
            "fee growth after the swap (it is 0 before), poolPrice* = ((sqrtPriceX96 / 2**96) ** 2).toPrecision(5), "
            "executionPrice = (-amount1Delta / amount0Delta).toPrecision(5) with decimal.js; swapError entries are reverts."
        ),
        "pools": pools,
    }


def main() -> None:
    outputs = {
        "v3_official_tick_math.json": tick_math(),
        "v3_official_sqrt_price_math.json": sqrt_price_math(),
        "v3_official_swap_math.json": swap_math(),
        "v3_official_full_math.json": full_math(),
        "v3_official_liquidity_math.json": liquidity_math(),
        "v3_official_tick_bitmap.json": tick_bitmap(),
        "v3_official_liquidity_amounts.json": liquidity_amounts(),
    }
    if len(sys.argv) > 1:
        outputs["v3_official_pool_swaps.json"] = pool_swaps(Path(sys.argv[1]))
    for name, data in outputs.items():
        for c in data.get("cases", []):
            # a case with neither an expected output nor checks is one where the test asserts a revert only
            if "expected" not in c and "checks" not in c and "revert" not in c:
                c["revert"] = {"reason": None}
        (HERE / name).write_text(json.dumps(data, indent=1) + "\n")
        n = len(data.get("cases", [])) or sum(len(p["swaps"]) for p in data.get("pools", []))
        print(f"{name}: {n} cases")


if __name__ == "__main__":
    main()
