"""TickMath: sqrt prices (Q64.96) at ticks and back (Python-int reference).

Mirrors ``v3-core/contracts/libraries/TickMath.sol``.  Prices are ``1.0001**tick`` of
token1 per token0 in raw units; the contracts store ``sqrt(price) * 2**96`` as a uint160.
"""

from __future__ import annotations

from ._types import MAX_UINT256, require_int, require_uint
from .errors import V3Error

#: The minimum tick that may be passed to :func:`get_sqrt_ratio_at_tick`:
#: log base 1.0001 of 2**-128, truncated toward zero.
MIN_TICK = -887272
#: The maximum tick: log base 1.0001 of 2**128, truncated toward zero.
MAX_TICK = -MIN_TICK
#: ``get_sqrt_ratio_at_tick(MIN_TICK)``: the smallest sqrt price a pool can hold.
MIN_SQRT_RATIO = 4295128739
#: ``get_sqrt_ratio_at_tick(MAX_TICK)``: one above the largest sqrt price a pool can hold.
MAX_SQRT_RATIO = 1461446703485210103287273052203988822378723970342

# ratio factors: 2**128 / sqrt(1.0001)**(2**i), as Q128.128, i = 0..19, from the contract.
_TICK_FACTORS = (
    0xFFFCB933BD6FAD37AA2D162D1A594001,
    0xFFF97272373D413259A46990580E213A,
    0xFFF2E50F5F656932EF12357CF3C7FDCC,
    0xFFE5CACA7E10E4E61C3624EAA0941CD0,
    0xFFCB9843D60F6159C9DB58835C926644,
    0xFF973B41FA98C081472E6896DFB254C0,
    0xFF2EA16466C96A3843EC78B326B52861,
    0xFE5DEE046A99A2A811C461F1969C3053,
    0xFCBE86C7900A88AEDCFFC83B479AA3A4,
    0xF987A7253AC413176F2B074CF7815E54,
    0xF3392B0822B70005940C7A398E4B70F3,
    0xE7159475A2C29B7443B29C7FA6E889D9,
    0xD097F3BDFD2022B8845AD8F792AA5825,
    0xA9F746462D870FDF8A65DC1F90E061E5,
    0x70D869A156D2A1B890BB3DF62BAF32F7,
    0x31BE135F97D08FD981231505542FCFA6,
    0x9AA508B5B7A84E1C677DE54F3E99BC9,
    0x5D6AF8DEDB81196699C329225EE604,
    0x2216E584F5FA1EA926041BEDFE98,
    0x48A170391F7DC42444E8FA2,
)

# log_2 of sqrt(1.0001) inverse as 128.128 and the error bounds of the log approximation,
# from the contract.
_LOG_SQRT10001_FACTOR = 255738958999603826347141
_TICK_LOW_OFFSET = 3402992956809132418596140100660247210
_TICK_HI_OFFSET = 291339464771989622907027621153398088495


def get_sqrt_ratio_at_tick(tick: int) -> int:
    """sqrt(1.0001**tick) * 2**96 as a Q64.96 uint160, rounded up (as the contract).

    Reverts with 'T' when ``|tick| > MAX_TICK``.
    """
    require_int(tick, 24, "tick")
    abs_tick = -tick if tick < 0 else tick
    if abs_tick > MAX_TICK:
        raise V3Error("T", f"tick {tick} outside [{MIN_TICK}, {MAX_TICK}]")
    ratio = _TICK_FACTORS[0] if abs_tick & 1 else 1 << 128
    for i in range(1, 20):
        if abs_tick & (1 << i):
            ratio = (ratio * _TICK_FACTORS[i]) >> 128
    if tick > 0:
        ratio = MAX_UINT256 // ratio
    # Q128.128 -> Q128.96, rounding up so that get_tick_at_sqrt_ratio(result) == tick.
    return (ratio >> 32) + (0 if ratio & 0xFFFFFFFF == 0 else 1)


def get_tick_at_sqrt_ratio(sqrt_price_x96: int) -> int:
    """The greatest tick with ``get_sqrt_ratio_at_tick(tick) <= sqrt_price_x96``.

    Follows the contract's log2 approximation step by step.  Reverts with 'R' unless
    ``MIN_SQRT_RATIO <= sqrt_price_x96 < MAX_SQRT_RATIO``.
    """
    require_uint(sqrt_price_x96, 160, "sqrt_price_x96")
    if not (MIN_SQRT_RATIO <= sqrt_price_x96 < MAX_SQRT_RATIO):
        raise V3Error("R", f"sqrt price {sqrt_price_x96} outside [MIN_SQRT_RATIO, MAX_SQRT_RATIO)")
    ratio = sqrt_price_x96 << 32
    msb = ratio.bit_length() - 1
    r = ratio >> (msb - 127) if msb >= 128 else ratio << (127 - msb)
    log_2 = (msb - 128) << 64
    for shift in range(63, 49, -1):
        r = (r * r) >> 127
        f = r >> 128
        log_2 |= f << shift
        r >>= f
    log_sqrt10001 = log_2 * _LOG_SQRT10001_FACTOR
    tick_low = (log_sqrt10001 - _TICK_LOW_OFFSET) >> 128
    tick_hi = (log_sqrt10001 + _TICK_HI_OFFSET) >> 128
    if tick_low == tick_hi:
        return tick_low
    return tick_hi if get_sqrt_ratio_at_tick(tick_hi) <= sqrt_price_x96 else tick_low
