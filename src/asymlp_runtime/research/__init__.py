"""Research commands' machinery: backtest configs, the runner, reports, sweeps, calibration.

- :mod:`.config`: ``config/backtest.toml``-style files decoded into frozen msgspec Structs.
- :mod:`.data`: the bars (synthetic default year, Binance klines, Uniswap swaps).
- :mod:`.runner`: one backtest and its flat summary.
- :mod:`.report`: the report folder (Parquet, JSON, CSV, PNG plots, self-contained HTML).
- :mod:`.sweep`: parameter grids on local processes or a Dask cluster.
- :mod:`.calibrate`: sigma, A, k from trades, swaps or klines.
"""

from .config import BacktestFileConfig, ConfigError, load_backtest_config, to_core
from .data import MarketBars, load_market
from .runner import BacktestRun, run_backtest

__all__ = [
    "BacktestFileConfig",
    "BacktestRun",
    "ConfigError",
    "MarketBars",
    "load_backtest_config",
    "load_market",
    "run_backtest",
    "to_core",
]
