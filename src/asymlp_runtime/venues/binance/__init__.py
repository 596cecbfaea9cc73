"""Binance USD-M futures through ``ccxt.pro.binanceusdm``."""

from asymlp_runtime.venues.binance.spec import BINANCE_ERROR_CODES, BinanceUsdmSpec

__all__ = ["BINANCE_ERROR_CODES", "BinanceUsdmSpec"]
