"""Market bars for the research commands: the synthetic default year or a file via the loaders.

pandas (and the loaders) are imported only for files: the synthetic year needs NumPy alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ..data.errors import DataFormatError
from .config import DataSection

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MarketBars", "load_market"]


class MarketBars(NamedTuple):
    """Bars fed to the LP backtester (prices human: token1 per token0 with decimals applied).

    ``volume1`` is the pool's token1 volume per bar; ``bar_seconds`` the bar length (the
    median spacing of ``ts_ns``), used for annualisation and the funding rate per bar.
    """

    ts_ns: np.ndarray
    price: np.ndarray
    volume1: np.ndarray
    bar_seconds: float
    source: str

    @property
    def bars_per_year(self) -> float:
        return 365.0 * 86_400.0 / self.bar_seconds


def _spacing(ts_ns: np.ndarray, default: float) -> float:
    if ts_ns.size < 2:
        return default
    d = float(np.median(np.diff(ts_ns))) / 1e9
    return d if d > 0 else default


def load_market(data: DataSection) -> MarketBars:
    """Load the bars a ``[data]`` section describes (see :class:`DataSection`).

    Raises
    ------
    DataFormatError
        A malformed or too-short file (naming the file, the line and the field).
    """
    if data.source == "synthetic":
        from asymlp_core.synthetic import default_market

        m = default_market(n_bars=data.n_bars, seed=data.seed, s0=data.s0)
        # the pool trades at its own price (reference + arbitrage band)
        return MarketBars(
            m.ts_ns, m.pool_price, m.volume1, 60.0, f"synthetic(n_bars={data.n_bars}, seed={data.seed})"
        )
    assert data.path is not None
    if data.source == "klines":
        import pandas as pd

        from ..data.loaders import load_binance_klines

        df = load_binance_klines(data.path)
        ts = pd.DatetimeIndex(df["open_time"]).as_unit("ns").asi8
        price = df["close"].to_numpy(np.float64)
        volume1 = df["quote_volume"].to_numpy(np.float64) * data.volume_scale
        bars = MarketBars(ts, price, volume1, _spacing(ts, 60.0), f"klines({data.path})")
    else:
        bars = _swap_bars(data)
    if bars.price.size < 2:
        raise DataFormatError(data.path, None, None, f"too few bars for a backtest: {bars.price.size}")
    return bars


def swap_times_ns(df: pd.DataFrame, path: str) -> np.ndarray:
    """Epoch nanoseconds of swaps from a ``timestamp`` column: epoch seconds (numbers, as block
    timestamps are) or date-time strings."""
    import pandas as pd

    col = df["timestamp"]
    num = pd.to_numeric(col, errors="coerce")
    if num.notna().all():
        return (num.to_numpy(np.float64) * 1e9).astype(np.int64)
    try:
        return pd.DatetimeIndex(pd.to_datetime(col, utc=True)).as_unit("ns").asi8
    except (ValueError, TypeError):
        i = int(np.flatnonzero(num.isna().to_numpy())[0])
        raise DataFormatError(
            path, i + 2, "timestamp", f"expected epoch seconds or a date-time, got {col.iloc[i]!r}"
        ) from None


def _swap_bars(data: DataSection) -> MarketBars:
    import pandas as pd

    from ..data.loaders import load_uniswap_swaps

    df = load_uniswap_swaps(data.path)
    if df.empty:
        raise DataFormatError(data.path, None, None, "no swap events")
    human = 10.0 ** (data.decimals0 - data.decimals1)
    price = df["price"].to_numpy(np.float64) * human
    vol1 = np.array([abs(int(a)) for a in df["amount1"]], dtype=np.float64) / 10.0**data.decimals1
    vol1 *= data.volume_scale
    if "timestamp" not in df.columns:
        ts = np.arange(price.size, dtype=np.int64) * int(data.bar_seconds * 1e9)
        return MarketBars(ts, price, vol1, data.bar_seconds, f"swaps({data.path}, one bar per swap)")
    t = pd.to_datetime(swap_times_ns(df, data.path), utc=True)
    frame = pd.DataFrame({"price": price, "volume1": vol1}, index=t)
    rule = f"{int(data.bar_seconds * 1000)}ms"
    agg = frame.resample(rule).agg({"price": "last", "volume1": "sum"})
    agg["price"] = agg["price"].ffill()
    ts = pd.DatetimeIndex(agg.index).as_unit("ns").asi8
    return MarketBars(
        ts,
        agg["price"].to_numpy(np.float64),
        agg["volume1"].to_numpy(np.float64),
        data.bar_seconds,
        f"swaps({data.path}, {data.bar_seconds:g} s bars)",
    )
