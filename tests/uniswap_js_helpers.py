"""Integer-exact Python equivalents of the helpers used by the Uniswap V3 TypeScript test suites.

The official tests (v3-core ``test/shared/utilities.ts``, v3-periphery
``test/shared/encodePriceSqrt.ts``) write their inputs as expressions such as
``encodePriceSqrt(1, 1)`` or ``getMinTick(60)``. These functions return the literal
integers those expressions produce, so the transcribed vectors in ``tests/data`` hold
plain decimal strings.
"""

from __future__ import annotations

import math
from fractions import Fraction

MAX_UINT128 = 2**128 - 1
MAX_UINT256 = 2**256 - 1
MAX_INT256 = 2**255 - 1
MIN_SQRT_RATIO = 4295128739
MAX_SQRT_RATIO = 1461446703485210103287273052203988822378723970342

# bignumber.js configuration used by the suites: DECIMAL_PLACES = 40, default
# ROUNDING_MODE = ROUND_HALF_UP; integerValue(3) is ROUND_FLOOR.
_BN_DECIMAL_PLACES = 40

FEE_LOW, FEE_MEDIUM, FEE_HIGH = 500, 3000, 10000
TICK_SPACINGS = {FEE_LOW: 10, FEE_MEDIUM: 60, FEE_HIGH: 200}


def _round_half_up(value: Fraction) -> int:
    """Nearest integer to a non-negative rational, ties away from zero."""
    floor = value.numerator // value.denominator
    return floor + 1 if value - floor >= Fraction(1, 2) else floor


def encode_price_sqrt(reserve1: int, reserve0: int) -> int:
    """``encodePriceSqrt(reserve1, reserve0)`` of the official tests, bit for bit.

    bignumber.js computes ``reserve1 / reserve0`` rounded half-up to 40 decimal places,
    takes the correctly rounded square root (again half-up to 40 decimal places),
    multiplies exactly by 2**96 and floors. Every step is reproduced here with integers.
    """
    if reserve0 <= 0 or reserve1 < 0:
        raise ValueError("reserves must be positive")
    scale = 10**_BN_DECIMAL_PLACES
    quotient_scaled = _round_half_up(Fraction(reserve1 * scale, reserve0))  # q * 10**40
    # sqrt(q) * 10**40 = sqrt(q * 10**80) = sqrt(quotient_scaled * 10**40)
    radicand = quotient_scaled * scale
    root = math.isqrt(radicand)
    # sqrt(radicand) >= root + 1/2  <=>  radicand >= root**2 + root + 1 (integers; never a tie)
    if radicand - root * root > root:
        root += 1
    return (root << 96) // scale


def expand_to_18_decimals(n: int) -> int:
    """``expandTo18Decimals(n)``."""
    return n * 10**18


def get_min_tick(tick_spacing: int) -> int:
    """``getMinTick(tickSpacing)``: ceil(-887272 / spacing) * spacing."""
    return -((887272 // tick_spacing) * tick_spacing)


def get_max_tick(tick_spacing: int) -> int:
    """``getMaxTick(tickSpacing)``: floor(887272 / spacing) * spacing."""
    return (887272 // tick_spacing) * tick_spacing


def get_max_liquidity_per_tick(tick_spacing: int) -> int:
    """``getMaxLiquidityPerTick(tickSpacing)``."""
    span = (get_max_tick(tick_spacing) - get_min_tick(tick_spacing)) // tick_spacing + 1
    return MAX_UINT128 // span


# decimal.js defaults used by the suites: precision 20 significant digits, ROUND_HALF_UP;
# the tests set toExpNeg = -500 and toExpPos = 500.
_DJS_PRECISION = 20


def _djs_context():
    from decimal import ROUND_HALF_UP, Context

    return Context(prec=_DJS_PRECISION, rounding=ROUND_HALF_UP, Emax=10**6, Emin=-(10**6))


def to_precision(d, sd: int) -> str:
    """decimal.js ``Decimal.toPrecision(sd)`` (ROUND_HALF_UP; exponential when sd <= exponent)."""
    from decimal import ROUND_HALF_UP, Decimal, localcontext

    if d.is_nan():
        return "NaN"
    if d.is_infinite():
        return "-Infinity" if d < 0 else "Infinity"
    if d == 0:
        return "0." + "0" * (sd - 1) if sd > 1 else "0"
    with localcontext() as ctx:
        ctx.prec = 400
        exp = d.adjusted()
        q = d.quantize(Decimal(1).scaleb(exp - sd + 1), rounding=ROUND_HALF_UP)
        if q.adjusted() != exp:  # the rounding carried into a new leading digit
            exp = q.adjusted()
            q = d.quantize(Decimal(1).scaleb(exp - sd + 1), rounding=ROUND_HALF_UP)
        if exp >= sd:
            sign = "-" if q < 0 else ""
            digits = "".join(map(str, q.as_tuple().digits))[:sd]
            mantissa = digits[0] + ("." + digits[1:] if sd > 1 else "")
            return f"{sign}{mantissa}e+{exp}"
        return f"{q:f}"


def format_token_amount(n: int) -> str:
    """``formatTokenAmount(n)`` of ``test/shared/format.ts``: (n / 10**18).toPrecision(5)."""
    from decimal import Decimal

    ctx = _djs_context()
    return to_precision(ctx.divide(Decimal(n), ctx.power(Decimal(10), 18)), 5)


def format_price(sqrt_price_x96: int) -> str:
    """``formatPrice`` of ``test/shared/format.ts``: ((sqrtPriceX96 / 2**96) ** 2).toPrecision(5).

    Each decimal.js operation rounds to 20 significant digits (2**96 itself included).
    """
    from decimal import Decimal

    ctx = _djs_context()
    q = ctx.divide(Decimal(sqrt_price_x96), ctx.power(Decimal(2), 96))
    return to_precision(ctx.multiply(q, q), 5)


def format_execution_price(amount0_delta: int, amount1_delta: int) -> str:
    """``new Decimal(amount1Delta).div(amount0Delta).mul(-1).toPrecision(5)`` (x/0 = ±Infinity, 0/0 = NaN)."""
    from decimal import Decimal

    if amount0_delta == 0:
        if amount1_delta == 0:
            return "NaN"
        return "-Infinity" if amount1_delta > 0 else "Infinity"
    ctx = _djs_context()
    q = ctx.divide(Decimal(amount1_delta), Decimal(amount0_delta))
    return to_precision(ctx.multiply(q, Decimal(-1)), 5)
