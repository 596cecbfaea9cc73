"""GRVT through ``ccxt.pro.grvt``."""

from asymlp_runtime.venues.grvt.spec import GrvtSpec

__all__ = ["GrvtSpec"]
