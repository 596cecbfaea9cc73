"""FullMath: multiply then divide with a 512-bit intermediate (Python-int reference).

Mirrors ``v3-core/contracts/libraries/FullMath.sol``.  All values are uint256.
"""

from __future__ import annotations

from ._types import MAX_UINT256, require_uint
from .errors import V3Error


def mul_div(a: int, b: int, denominator: int) -> int:
    """floor(a * b / denominator) with full precision.

    Reverts (bare ``require``) when ``denominator == 0`` or the result overflows uint256.
    """
    require_uint(a, 256, "a")
    require_uint(b, 256, "b")
    require_uint(denominator, 256, "denominator")
    if denominator == 0:
        raise V3Error("", "FullMath.mulDiv: denominator is 0")
    result = (a * b) // denominator
    if result > MAX_UINT256:
        raise V3Error("", "FullMath.mulDiv: result overflows uint256")
    return result


def mul_div_rounding_up(a: int, b: int, denominator: int) -> int:
    """ceil(a * b / denominator) with full precision.

    Reverts like :func:`mul_div`, and when rounding up would reach ``2**256``.
    """
    result = mul_div(a, b, denominator)
    if (a * b) % denominator:
        if result >= MAX_UINT256:
            raise V3Error("", "FullMath.mulDivRoundingUp: result overflows uint256")
        result += 1
    return result


def div_rounding_up(x: int, y: int) -> int:
    """UnsafeMath.divRoundingUp: ceil(x / y); division by zero returns 0 as the EVM does."""
    if y == 0:
        return 0
    return -(-x // y)
