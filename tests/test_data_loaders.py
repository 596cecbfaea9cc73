"""Loaders read fixtures in the real formats and reject malformed files precisely."""

from __future__ import annotations

import pathlib
import zipfile

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asymlp_runtime.data import (
    DataFormatError,
    load_binance_agg_trades,
    load_binance_book_ticker,
    load_binance_klines,
    load_parquet,
    load_uniswap_swaps,
    swaps_from_web3_logs,
)

FIX = pathlib.Path(__file__).parent / "data" / "fixtures"
KLINES = FIX / "ETHUSDT-1m-2024-01-01.csv"
SPOT_KLINES = FIX / "ETHUSDT-1m-2025-01-01-spot.csv"
AGG = FIX / "ETHUSDT-aggTrades-2024-01-01.csv"
BOOK = FIX / "ETHUSDT-bookTicker-2024-01-01.csv"
SWAPS = FIX / "uniswap-v3-swaps-usdc-weth-500.csv"


def test_futures_klines_with_header_load_typed():
    df = load_binance_klines(KLINES)
    assert len(df) == 5
    assert str(df["open_time"].iloc[0]) == "2024-01-01 00:00:00+00:00"
    assert df["close"].iloc[-1] == 2282.90 and df["count"].dtype == "int64"


def test_spot_klines_without_header_and_microseconds_load():
    df = load_binance_klines(SPOT_KLINES)
    assert len(df) == 3
    assert str(df["open_time"].iloc[1]) == "2025-01-01 00:01:00+00:00"


def test_zipped_klines_load_like_the_csv(tmp_path):
    z = tmp_path / "ETHUSDT-1m-2024-01-01.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(KLINES, KLINES.name)
    pd.testing.assert_frame_equal(load_binance_klines(z), load_binance_klines(KLINES))


def test_agg_trades_and_book_ticker_load():
    trades = load_binance_agg_trades(AGG)
    assert trades["is_buyer_maker"].tolist() == [True, False, False, True, False]
    book = load_binance_book_ticker(BOOK)
    assert (book["best_ask_price"] >= book["best_bid_price"]).all() and len(book) == 4


def _corrupt(src: pathlib.Path, tmp_path: pathlib.Path, line: int, col: int, value: str) -> pathlib.Path:
    lines = src.read_text().splitlines()
    fields = lines[line - 1].split(",")
    fields[col] = value
    lines[line - 1] = ",".join(fields)
    out = tmp_path / src.name
    out.write_text("\n".join(lines) + "\n")
    return out


@pytest.mark.parametrize(
    ("loader", "src", "line", "col", "value", "field"),
    [
        (load_binance_klines, KLINES, 3, 4, "abc", "close"),
        (load_binance_klines, KLINES, 4, 2, "1.0", "high"),  # high below low
        (load_binance_klines, KLINES, 2, 1, "-5", "open"),
        (load_binance_klines, SPOT_KLINES, 2, 8, "12.5", "count"),
        (load_binance_agg_trades, AGG, 5, 2, "", "quantity"),
        (load_binance_agg_trades, AGG, 2, 6, "maybe", "is_buyer_maker"),
        (load_binance_book_ticker, BOOK, 3, 1, "9999", "best_bid_price"),  # crossed
        (load_uniswap_swaps, SWAPS, 3, 8, "12x", "sqrt_price_x96"),
        (load_uniswap_swaps, SWAPS, 4, 10, "-887273", "tick"),
    ],
)
def test_malformed_file_error_names_file_line_and_field(tmp_path, loader, src, line, col, value, field):
    bad = _corrupt(src, tmp_path, line, col, value)
    with pytest.raises(DataFormatError) as err:
        loader(bad)
    e = err.value
    assert (e.path, e.line, e.field) == (str(bad), line, field)
    assert str(bad) in str(e) and f"line {line}" in str(e) and f"'{field}'" in str(e)


def test_unsorted_klines_are_rejected(tmp_path):
    lines = KLINES.read_text().splitlines()
    lines[2], lines[3] = lines[3], lines[2]
    bad = tmp_path / "k.csv"
    bad.write_text("\n".join(lines))
    with pytest.raises(DataFormatError, match="line 4: field 'open_time'"):
        load_binance_klines(bad)


def test_missing_file_and_wrong_column_count_are_clear(tmp_path):
    with pytest.raises(DataFormatError, match="file not found"):
        load_binance_klines(tmp_path / "nope.csv")
    short = tmp_path / "short.csv"
    short.write_text("1704067200000,1,2,3\n")
    with pytest.raises(DataFormatError, match="expected at least 11 columns"):
        load_binance_klines(short)


def test_swaps_csv_keep_exact_ints_and_parquet_round_trips(tmp_path):
    df = load_uniswap_swaps(SWAPS)
    assert df["amount1"].iloc[0] == 2 * 10**18 and isinstance(df["sqrt_price_x96"].iloc[0], int)
    assert df["sqrt_price_x96"].iloc[0] == 1658428549432211390638416587546306
    pq = tmp_path / "swaps.parquet"
    raw = pd.read_csv(SWAPS, dtype=str).rename(columns={"sqrt_price_x96": "sqrtPriceX96"})
    raw.to_parquet(pq)
    back = load_uniswap_swaps(pq)
    assert back[["amount0", "amount1", "sqrt_price_x96", "liquidity"]].equals(
        df[["amount0", "amount1", "sqrt_price_x96", "liquidity"]])
    assert load_parquet(pq, ["tick"]).shape[0] == 3
    with pytest.raises(DataFormatError, match="field 'nope'"):
        load_parquet(pq, ["nope"])


def test_swaps_from_decoded_web3_logs():
    logs = [
        {"blockNumber": 10, "logIndex": i, "transactionHash": bytes([i]) * 32,
         "args": {"sender": "0x1", "recipient": "0x2", "amount0": -5 + i, "amount1": 7, "sqrtPriceX96": 2**96,
                  "liquidity": 10**18, "tick": 0}}
        for i in range(3)
    ]
    df = swaps_from_web3_logs(logs)
    assert df["amount0"].tolist() == [-5, -4, -3] and df["tx_hash"].iloc[1] == "01" * 32
    del logs[1]["args"]["tick"]
    with pytest.raises(DataFormatError, match="line 2: field 'tick'"):
        swaps_from_web3_logs(logs)


@settings(max_examples=50)
@given(st.text(alphabet="0123456789,.-abcxyz\n ", max_size=300))
def test_random_bytes_never_escape_as_anything_but_a_format_error(tmp_path_factory, text):
    p = tmp_path_factory.mktemp("fuzz") / "f.csv"
    p.write_text(text)
    for loader in (load_binance_klines, load_binance_agg_trades, load_binance_book_ticker, load_uniswap_swaps):
        try:
            loader(p)
        except DataFormatError:
            pass
