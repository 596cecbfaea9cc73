"""Venues behind one interface: the paper venue and ccxt adapters (binance USD-M, deribit, grvt).

Submodules are imported on demand: ``asymlp_runtime.venues.base`` (interface and edge types),
``.errors``, ``.paper``, ``.ccxt_adapter`` (imports ccxt).
"""
