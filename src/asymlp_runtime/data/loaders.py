"""Loaders with precise errors: a malformed file fails naming the file, the line and the field.

Binance public data (https://data.binance.vision layout): monthly/daily CSV files, zipped
or not, with or without a header row (futures files carry one since 2022, spot files
none), timestamps in milliseconds (microseconds in spot files from 2025 on; detected by
magnitude).  Uniswap V3 ``Swap`` events: CSV or Parquet exports with snake_case or the
event's camelCase column names, or decoded web3.py logs.  Token amounts, sqrt prices and
liquidity stay exact Python ints (object columns); float views are added for research.
"""

from __future__ import annotations

import io
import pathlib
import re
import zipfile
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from .errors import DataFormatError

KLINE_COLUMNS = (
    "open_time", "open", "high", "low", "close", "volume", "close_time", "quote_volume",
    "count", "taker_buy_volume", "taker_buy_quote_volume", "ignore",
)
AGG_TRADE_COLUMNS = (
    "agg_trade_id", "price", "quantity", "first_trade_id", "last_trade_id", "transact_time",
    "is_buyer_maker",
)
BOOK_TICKER_COLUMNS = (
    "update_id", "best_bid_price", "best_bid_qty", "best_ask_price", "best_ask_qty",
    "transaction_time", "event_time",
)
SWAP_COLUMNS = ("block_number", "log_index", "amount0", "amount1", "sqrt_price_x96", "liquidity", "tick")
_SWAP_ALIASES = {
    "blockNumber": "block_number", "logIndex": "log_index", "sqrtPriceX96": "sqrt_price_x96",
    "transactionHash": "tx_hash", "transaction_hash": "tx_hash", "block_timestamp": "timestamp",
}
_INT256 = 1 << 255


def _read_text(path: pathlib.Path) -> str:
    if not path.exists():
        raise DataFormatError(str(path), None, None, "file not found")
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.endswith(".csv")]
            if len(names) != 1:
                raise DataFormatError(str(path), None, None, f"expected one CSV in the zip, found {names}")
            return zf.read(names[0]).decode()
    return path.read_text()


def _pd_read_csv(path: str, text: str, **kwargs: Any) -> pd.DataFrame:
    try:
        return pd.read_csv(io.StringIO(text), **kwargs)
    except pd.errors.EmptyDataError:
        raise DataFormatError(path, 1, None, "empty file") from None
    except pd.errors.ParserError as exc:
        m = re.search(r"line (\d+)", str(exc))
        line = int(m.group(1)) if m else None
        raise DataFormatError(path, line, None, f"not a CSV table ({exc})") from None


def _read_csv(path: str | pathlib.Path, columns: tuple[str, ...], min_columns: int) -> tuple[pd.DataFrame, int]:
    """Read all fields as strings; returns the frame and the number of header lines (0 or 1)."""
    p = pathlib.Path(path)
    text = _read_text(p)
    first = text.split("\n", 1)[0].strip()
    if not first:
        raise DataFormatError(str(p), 1, None, "empty file")
    has_header = not first.split(",")[0].strip().lstrip("-").replace(".", "", 1).isdigit()
    raw = _pd_read_csv(str(p), text, header=None, dtype=str, skiprows=1 if has_header else 0,
                       keep_default_na=False, skip_blank_lines=True)
    header_lines = 1 if has_header else 0
    if raw.shape[1] < min_columns:
        raise DataFormatError(str(p), header_lines + 1, None,
                              f"expected at least {min_columns} columns ({', '.join(columns[:min_columns])}), "
                              f"found {raw.shape[1]}")
    if raw.shape[1] > len(columns) + 1:
        raise DataFormatError(str(p), header_lines + 1, None,
                              f"expected at most {len(columns) + 1} columns, found {raw.shape[1]}")
    names = list(columns[: raw.shape[1]]) + ["extra"] * max(0, raw.shape[1] - len(columns))
    raw.columns = names
    return raw, header_lines


def _numeric(raw: pd.DataFrame, field: str, path: str, header_lines: int, kind: str) -> pd.Series:
    col = raw[field]
    num = pd.to_numeric(col, errors="coerce")
    bad = num.isna() | ~np.isfinite(num.astype("float64"))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataFormatError(path, header_lines + i + 1, field, f"expected {kind}, got {col.iloc[i]!r}")
    if kind == "an integer":
        if not (num == np.floor(num)).all():
            i = int(np.flatnonzero((num != np.floor(num)).to_numpy())[0])
            raise DataFormatError(path, header_lines + i + 1, field, f"expected an integer, got {col.iloc[i]!r}")
        return num.astype("int64")
    return num.astype("float64")


def _timestamps(ints: pd.Series) -> pd.Series:
    """ms or µs epoch integers -> UTC datetimes (µs when above 1e14, i.e. after 1973 in µs)."""
    values = ints.to_numpy()
    ns = np.where(values > 10**14, values * 1_000, values * 1_000_000)
    return pd.Series(pd.to_datetime(ns, utc=True), index=ints.index)


def _check_positive(df: pd.DataFrame, fields: Iterable[str], path: str, header_lines: int, strict: bool) -> None:
    for f in fields:
        bad = df[f] <= 0 if strict else df[f] < 0
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataFormatError(path, header_lines + i + 1, f,
                                  f"expected a {'positive' if strict else 'non-negative'} value, got {df[f].iloc[i]}")


def load_binance_klines(path: str | pathlib.Path) -> pd.DataFrame:
    """Binance klines CSV (spot or futures, 1m or any interval), zipped or not.

    Returns columns open_time (UTC), open, high, low, close, volume, close_time,
    quote_volume, count, taker_buy_volume, taker_buy_quote_volume, in file order;
    rejects non-numeric fields, non-positive prices, ``high < low`` and unsorted times.
    """
    path = str(path)
    raw, hl = _read_csv(path, KLINE_COLUMNS, 11)
    out = pd.DataFrame()
    for f in ("open_time", "close_time", "count"):
        out[f] = _numeric(raw, f, path, hl, "an integer")
    for f in ("open", "high", "low", "close", "volume", "quote_volume", "taker_buy_volume", "taker_buy_quote_volume"):
        out[f] = _numeric(raw, f, path, hl, "a number")
    _check_positive(out, ("open", "high", "low", "close"), path, hl, strict=True)
    _check_positive(out, ("volume", "quote_volume"), path, hl, strict=False)
    bad = (out["high"] < out["low"]) | (out["high"] < out[["open", "close"]].max(axis=1)) | (
        out["low"] > out[["open", "close"]].min(axis=1))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataFormatError(path, hl + i + 1, "high", "high/low do not bracket open and close")
    if (np.diff(out["open_time"].to_numpy()) <= 0).any():
        i = int(np.flatnonzero(np.diff(out["open_time"].to_numpy()) <= 0)[0]) + 1
        raise DataFormatError(path, hl + i + 1, "open_time", "timestamps are not strictly increasing")
    out["open_time"] = _timestamps(out["open_time"])
    out["close_time"] = _timestamps(out["close_time"])
    return out[list(KLINE_COLUMNS[:11])]


def _parse_bool(raw: pd.DataFrame, field: str, path: str, hl: int) -> pd.Series:
    s = raw[field].str.strip().str.lower()
    ok = s.isin(["true", "false", "1", "0"])
    if not ok.all():
        i = int(np.flatnonzero(~ok.to_numpy())[0])
        raise DataFormatError(path, hl + i + 1, field, f"expected true/false, got {raw[field].iloc[i]!r}")
    return s.isin(["true", "1"])


def load_binance_agg_trades(path: str | pathlib.Path) -> pd.DataFrame:
    """Binance aggTrades CSV: agg_trade_id, price, quantity, first/last trade id, time (UTC),
    is_buyer_maker (True: the aggressor sold)."""
    path = str(path)
    raw, hl = _read_csv(path, AGG_TRADE_COLUMNS, 7)
    out = pd.DataFrame()
    for f in ("agg_trade_id", "first_trade_id", "last_trade_id", "transact_time"):
        out[f] = _numeric(raw, f, path, hl, "an integer")
    for f in ("price", "quantity"):
        out[f] = _numeric(raw, f, path, hl, "a number")
    _check_positive(out, ("price", "quantity"), path, hl, strict=True)
    out["is_buyer_maker"] = _parse_bool(raw, "is_buyer_maker", path, hl)
    out["transact_time"] = _timestamps(out["transact_time"])
    return out[list(AGG_TRADE_COLUMNS)]


def load_binance_book_ticker(path: str | pathlib.Path) -> pd.DataFrame:
    """Binance futures bookTicker CSV; rejects a crossed book (bid > ask)."""
    path = str(path)
    raw, hl = _read_csv(path, BOOK_TICKER_COLUMNS, 7)
    out = pd.DataFrame()
    for f in ("update_id", "transaction_time", "event_time"):
        out[f] = _numeric(raw, f, path, hl, "an integer")
    for f in ("best_bid_price", "best_bid_qty", "best_ask_price", "best_ask_qty"):
        out[f] = _numeric(raw, f, path, hl, "a number")
    _check_positive(out, ("best_bid_price", "best_ask_price"), path, hl, strict=True)
    _check_positive(out, ("best_bid_qty", "best_ask_qty"), path, hl, strict=False)
    crossed = out["best_bid_price"] > out["best_ask_price"]
    if crossed.any():
        i = int(np.flatnonzero(crossed.to_numpy())[0])
        raise DataFormatError(path, hl + i + 1, "best_bid_price", "crossed book: bid above ask")
    out["transaction_time"] = _timestamps(out["transaction_time"])
    out["event_time"] = _timestamps(out["event_time"])
    return out[list(BOOK_TICKER_COLUMNS)]


def _exact_int(value: Any, path: str, line: int, field: str, lo: int, hi: int) -> int:
    try:
        if isinstance(value, bytes | bytearray):
            v = int.from_bytes(value, "big")
        elif isinstance(value, int | np.integer):
            v = int(value)
        elif isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            v = int(value)
        else:
            text = str(value).strip()
            v = int(text, 16) if text.lower().startswith("0x") else int(text)
    except (TypeError, ValueError):
        raise DataFormatError(path, line, field, f"expected an integer, got {value!r}") from None
    if not lo <= v < hi:
        raise DataFormatError(path, line, field, f"value {v} outside [{lo}, {hi})")
    return v


_SWAP_RANGES = {
    "block_number": (0, 1 << 64), "log_index": (0, 1 << 32), "amount0": (-_INT256, _INT256),
    "amount1": (-_INT256, _INT256), "sqrt_price_x96": (1, 1 << 160), "liquidity": (0, 1 << 128),
    "tick": (-887272, 887273),
}


def _swaps_frame(records: pd.DataFrame, path: str, line_offset: int) -> pd.DataFrame:
    records = records.rename(columns=_SWAP_ALIASES)
    missing = [c for c in SWAP_COLUMNS if c not in records.columns]
    if missing:
        raise DataFormatError(path, None, missing[0], f"missing required column(s) {missing}")
    out = pd.DataFrame(index=range(len(records)))
    for field in SWAP_COLUMNS:
        lo, hi = _SWAP_RANGES[field]
        col = records[field].tolist()
        out[field] = pd.Series(
            [_exact_int(v, path, line_offset + i + 1, field, lo, hi) for i, v in enumerate(col)], dtype=object
        )
    for optional in ("timestamp", "tx_hash", "sender", "recipient"):
        if optional in records.columns:
            out[optional] = records[optional].to_numpy()
    key = list(zip(out["block_number"], out["log_index"], strict=True))
    if any(b <= a for a, b in zip(key, key[1:], strict=False)):
        i = next(i for i, (a, b) in enumerate(zip(key, key[1:], strict=False)) if b <= a) + 1
        raise DataFormatError(path, line_offset + i + 1, "log_index", "events are not in (block, log index) order")
    for field in ("block_number", "log_index", "tick"):
        out[field] = out[field].astype("int64")
    # float views for research (exact columns stay authoritative)
    out["price"] = [(s / 2**96) ** 2 for s in out["sqrt_price_x96"]]
    return out


def load_uniswap_swaps(path: str | pathlib.Path) -> pd.DataFrame:
    """Uniswap V3 ``Swap`` events from a CSV or Parquet export, sorted check included.

    Required columns (snake_case or the event's camelCase): block_number, log_index,
    amount0, amount1 (signed, pool's perspective), sqrt_price_x96, liquidity, tick.
    Optional: timestamp, tx_hash, sender, recipient.  Exact ints; ``price`` is a float view
    (token1 per token0, raw units).
    """
    p = pathlib.Path(path)
    if not p.exists():
        raise DataFormatError(str(p), None, None, "file not found")
    if p.suffix == ".parquet":
        try:
            records = pd.read_parquet(p)
        except Exception as exc:  # pyarrow raises several types for a corrupt file
            raise DataFormatError(str(p), None, None, f"not a readable Parquet file ({exc})") from None
        return _swaps_frame(records, str(p), 0)
    text = _read_text(p)
    records = _pd_read_csv(str(p), text, dtype=str, keep_default_na=False)
    return _swaps_frame(records, str(p), 1)


def swaps_from_web3_logs(logs: Iterable[Mapping[str, Any]], source: str = "<web3 logs>") -> pd.DataFrame:
    """Swap events decoded by web3.py (``contract.events.Swap().process_receipt`` /
    ``get_logs``): each has ``args`` (amount0, amount1, sqrtPriceX96, liquidity, tick, ...),
    ``blockNumber``, ``logIndex`` and ``transactionHash``."""
    rows = []
    for i, log in enumerate(logs):
        try:
            args = log["args"]
            rows.append({
                "block_number": log["blockNumber"], "log_index": log["logIndex"],
                "tx_hash": bytes(log["transactionHash"]).hex() if "transactionHash" in log else None,
                "amount0": args["amount0"], "amount1": args["amount1"], "sqrt_price_x96": args["sqrtPriceX96"],
                "liquidity": args["liquidity"], "tick": args["tick"], "sender": args.get("sender"),
                "recipient": args.get("recipient"),
            })
        except (KeyError, TypeError) as exc:
            raise DataFormatError(source, i + 1, str(exc).strip("'"), "log is not a decoded Swap event") from None
    return _swaps_frame(pd.DataFrame(rows, columns=list(SWAP_COLUMNS) + ["tx_hash", "sender", "recipient"]),
                        source, 0)


def load_parquet(path: str | pathlib.Path, required_columns: Iterable[str] = ()) -> pd.DataFrame:
    """A Parquet file with a check of the columns the caller needs."""
    p = pathlib.Path(path)
    if not p.exists():
        raise DataFormatError(str(p), None, None, "file not found")
    try:
        df = pd.read_parquet(p)
    except Exception as exc:
        raise DataFormatError(str(p), None, None, f"not a readable Parquet file ({exc})") from None
    for c in required_columns:
        if c not in df.columns:
            raise DataFormatError(str(p), None, c, f"missing required column; found {list(df.columns)}")
    return df
