"""LiquidityMath.addDelta (Python-int reference of ``v3-core/contracts/libraries/LiquidityMath.sol``)."""

from __future__ import annotations

from ._types import MAX_UINT128, require_int, require_uint
from .errors import V3Error


def add_delta(x: int, y: int) -> int:
    """``x + y`` for uint128 ``x`` and int128 ``y``.

    Reverts with 'LS' (liquidity sub) when the result would go below zero and 'LA'
    (liquidity add) when it would exceed ``2**128 - 1``.
    """
    require_uint(x, 128, "x")
    require_int(y, 128, "y")
    if y < 0:
        z = (x + y) & MAX_UINT128
        if not z < x:
            raise V3Error("LS", f"liquidity {x} minus {-y} underflows")
        return z
    z = (x + y) & MAX_UINT128
    if not z >= x:
        raise V3Error("LA", f"liquidity {x} plus {y} overflows uint128")
    return z
