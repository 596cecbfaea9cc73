"""Solidity integer widths and the checks the contracts perform on them (Python ints)."""

from __future__ import annotations

from .errors import V3Error

MAX_UINT128 = (1 << 128) - 1
MAX_UINT160 = (1 << 160) - 1
MAX_UINT256 = (1 << 256) - 1
MIN_INT128 = -(1 << 127)
MAX_INT128 = (1 << 127) - 1
MIN_INT256 = -(1 << 255)
MAX_INT256 = (1 << 255) - 1


def require_uint(value: int, bits: int, name: str) -> int:
    """Check that ``value`` is a Python int in the range of a ``uint<bits>`` argument.

    A caller passing an out-of-domain value is a programming error, not a revert, so
    this raises ``ValueError`` (the contract could never receive such a value).
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int (uint{bits}), got {type(value).__name__}")
    if value < 0 or value >> bits:
        raise ValueError(f"{name}={value} is outside uint{bits}")
    return value


def require_int(value: int, bits: int, name: str) -> int:
    """Check that ``value`` is a Python int in the range of an ``int<bits>`` argument."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int (int{bits}), got {type(value).__name__}")
    half = 1 << (bits - 1)
    if value < -half or value >= half:
        raise ValueError(f"{name}={value} is outside int{bits}")
    return value


def to_uint160(value: int) -> int:
    """SafeCast.toUint160: bare revert when the value does not fit."""
    if value > MAX_UINT160:
        raise V3Error("", "SafeCast.toUint160 overflow")
    return value


def to_uint128(value: int) -> int:
    """LiquidityAmounts.toUint128: bare revert when the value does not fit."""
    if value > MAX_UINT128:
        raise V3Error("", "toUint128 overflow")
    return value


def to_int128(value: int) -> int:
    """SafeCast.toInt128: bare revert when the value does not fit."""
    if value < MIN_INT128 or value > MAX_INT128:
        raise V3Error("", "SafeCast.toInt128 overflow")
    return value


def to_int256(value: int) -> int:
    """SafeCast.toInt256 (from uint256): bare revert when ``value >= 2**255``."""
    if value > MAX_INT256:
        raise V3Error("", "SafeCast.toInt256 overflow")
    return value


def int256_add(x: int, y: int) -> int:
    """LowGasSafeMath.add(int256, int256): bare revert on signed overflow."""
    z = x + y
    if z < MIN_INT256 or z > MAX_INT256:
        raise V3Error("", "LowGasSafeMath int256 add overflow")
    return z


def int256_sub(x: int, y: int) -> int:
    """LowGasSafeMath.sub(int256, int256): bare revert on signed overflow."""
    z = x - y
    if z < MIN_INT256 or z > MAX_INT256:
        raise V3Error("", "LowGasSafeMath int256 sub overflow")
    return z
