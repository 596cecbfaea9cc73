"""Data loaders for the formats users have (Binance public data, Uniswap V3 Swap events, Parquet).

The loaders (and pandas) are imported on first use of one of them, so that code that only
catches :class:`DataFormatError` stays light.
"""

from __future__ import annotations

from typing import Any

from .errors import DataFormatError

__all__ = [
    "DataFormatError",
    "load_binance_agg_trades",
    "load_binance_book_ticker",
    "load_binance_klines",
    "load_parquet",
    "load_uniswap_swaps",
    "swaps_from_web3_logs",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import loaders

        return getattr(loaders, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
