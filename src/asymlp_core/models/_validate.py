"""Input checks and broadcasting shared by the typed API of :mod:`asymlp_core.models`.

Every check raises ``ValueError`` whose message starts with the argument's name.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from asymlp_core.models.nb import count_invalid_1d, first_invalid_1d


def _describe(lower: float | None, strict: bool, allow_inf: bool) -> str:
    parts = ["not NaN"] if allow_inf else ["finite"]
    if lower is not None:
        parts.append(f"{'>' if strict else '>='} {lower:g}")
    return " and ".join(parts)


def check_scalar(
    name: str,
    value: Any,
    *,
    lower: float | None = None,
    strict: bool = False,
    allow_inf: bool = False,
) -> float:
    """Return ``value`` as a float after checking it (NaN never allowed)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    bad = math.isnan(v) or (not allow_inf and math.isinf(v))
    if lower is not None and not bad:
        bad = v <= lower if strict else v < lower
    if bad:
        raise ValueError(f"{name} must be {_describe(lower, strict, allow_inf)}, got {v!r}")
    return v


def check_array(
    name: str,
    value: Any,
    *,
    lower: float | None = None,
    strict: bool = False,
    allow_inf: bool = False,
) -> np.ndarray:
    """Return ``value`` as a float64 array (any shape) after checking every element."""
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be real numbers, got {type(value).__name__}") from None
    flat = a.reshape(-1) if a.flags.c_contiguous else np.ascontiguousarray(a).reshape(-1)
    lo = -np.inf if lower is None else float(lower)
    if count_invalid_1d(flat, lo, strict, allow_inf) > 0:
        idx = first_invalid_1d(flat, lo, strict, allow_inf)
        if a.ndim == 0:
            where = ""
        elif a.ndim == 1:
            where = f" at index {idx}"
        else:
            where = f" at index {tuple(int(i) for i in np.unravel_index(idx, a.shape))}"
        raise ValueError(
            f"{name} must be {_describe(lower, strict, allow_inf)}, "
            f"got {float(flat[idx])!r}{where}"
        )
    return a


def broadcast_1d(
    names: tuple[str, ...], arrays: tuple[np.ndarray, ...]
) -> tuple[tuple[int, ...], list[np.ndarray]]:
    """Common shape of ``arrays`` and 1-d views for the ``_1d`` kernels.

    An array of size 1 is passed as a length-1 array (the kernels broadcast it without
    copying); an array of the full shape is raveled; anything else is materialised.
    """
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        shapes = ", ".join(f"{n}{a.shape}" for n, a in zip(names, arrays, strict=True))
        raise ValueError(f"shapes do not broadcast: {shapes}") from None
    out = []
    for a in arrays:
        if a.size == 1:
            out.append(a.reshape(1))
        elif a.shape == shape:
            out.append(np.ascontiguousarray(a).reshape(-1))
        else:
            out.append(np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1))
    return shape, out


def is_scalar(*values: Any) -> bool:
    """True when every value is a 0-d (Python or NumPy) number."""
    return all(np.ndim(v) == 0 for v in values)
