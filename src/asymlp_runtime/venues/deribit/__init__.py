"""Deribit through ``ccxt.pro.deribit``."""

from asymlp_runtime.venues.deribit.spec import DeribitSpec

__all__ = ["DeribitSpec"]
