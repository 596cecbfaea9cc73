"""Argument checks shared by the decision-layer APIs (ranges, rebalance, hedge, fee_tier).

Each check raises :class:`ValueError` whose message starts with the argument's name, so a
caller sees which input was NaN, infinite or out of its domain.  Kernels never call these:
they trust their inputs, and the Python wrappers validate once before entering them.
"""

from __future__ import annotations

import math

import numpy as np


def finite(name: str, value: float) -> float:
    """Return ``value`` as a float, rejecting NaN and +-inf."""
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a real number, got {value!r}") from exc
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v!r}")
    return v


def positive(name: str, value: float) -> float:
    """Finite and strictly greater than zero."""
    v = finite(name, value)
    if not v > 0.0:
        raise ValueError(f"{name} must be > 0, got {v!r}")
    return v


def non_negative(name: str, value: float) -> float:
    """Finite and >= 0."""
    v = finite(name, value)
    if v < 0.0:
        raise ValueError(f"{name} must be >= 0, got {v!r}")
    return v


def in_closed(name: str, value: float, lo: float, hi: float) -> float:
    """Finite and within ``[lo, hi]``."""
    v = finite(name, value)
    if not lo <= v <= hi:
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {v!r}")
    return v


def integer(name: str, value: int, lo: int | None = None, hi: int | None = None) -> int:
    """An integral value (Python or NumPy int, or a float with no fractional part) in bounds."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, (int, np.integer)):
        v = int(value)
    else:
        f = finite(name, value)
        if f != math.floor(f):
            raise ValueError(f"{name} must be an integer, got {value!r}")
        v = int(f)
    if lo is not None and v < lo:
        raise ValueError(f"{name} must be >= {lo}, got {v}")
    if hi is not None and v > hi:
        raise ValueError(f"{name} must be <= {hi}, got {v}")
    return v


def finite_array(name: str, values: object, ndim: int = 1) -> np.ndarray:
    """A contiguous float64 array of the given rank with no NaN or inf."""
    a = np.ascontiguousarray(values, dtype=np.float64)
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        bad = int(np.flatnonzero(~np.isfinite(a.ravel()))[0])
        raise ValueError(f"{name} must be finite, found {a.ravel()[bad]!r} at index {bad}")
    return a
