"""Data loaders for the formats users have (Binance public data, Uniswap V3 Swap events, Parquet)."""

from .loaders import (
    DataFormatError,
    load_binance_agg_trades,
    load_binance_book_ticker,
    load_binance_klines,
    load_parquet,
    load_uniswap_swaps,
    swaps_from_web3_logs,
)

__all__ = [
    "DataFormatError",
    "load_binance_agg_trades",
    "load_binance_book_ticker",
    "load_binance_klines",
    "load_parquet",
    "load_uniswap_swaps",
    "swaps_from_web3_logs",
]
