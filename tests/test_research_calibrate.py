"""``asymlp calibrate``: known sigma, A, k recovered from a synthetic aggTrades file; thin data."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest

from asymlp_core.models import simulate_poisson_trades
from asymlp_runtime.cli import main
from asymlp_runtime.research.calibrate import CalibrationError, calibrate_file

A_TRUE, K_TRUE, SIGMA_TRUE = 1.0, 10.0, 0.02  # per second, per price unit, price per sqrt(second)
T0_MS = 1_704_067_200_000


def write_agg_trades(path: Path, times_s, prices, mids) -> Path:
    """Binance aggTrades layout (futures files carry this header)."""
    ms = T0_MS + np.round(np.asarray(times_s) * 1000.0).astype(np.int64)
    with path.open("w") as f:
        f.write("agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker\n")
        for i, (t, p, m) in enumerate(zip(ms, prices, mids, strict=True)):
            # the aggressor sold (buyer is the maker) when the print is below the mid
            f.write(f"{i},{p:.6f},0.5,{i},{i},{t},{'true' if p < m else 'false'}\n")
    return path


@pytest.fixture(scope="module")
def trades_file(tmp_path_factory) -> Path:
    t, p, m = simulate_poisson_trades(A_TRUE, K_TRUE, SIGMA_TRUE, 20_000.0, mid0=100.0, seed=5)
    return write_agg_trades(tmp_path_factory.mktemp("cal") / "ETHUSDT-aggTrades-2024-01.csv", t, p, m)


def rows_by_name(rows):
    out = {}
    for r in rows:
        out.setdefault((r.name, r.unit.split(":")[0]), r)
    return out


def test_calibrate_recovers_known_parameters_from_agg_trades(trades_file):
    rows = rows_by_name(calibrate_file(trades_file, "trades"))
    a = rows[("A (fill intensity at depth 0)", "per second")]
    k = rows[("k (decay with depth)", "per price unit")]
    s = rows[("sigma (realised)", "price per sqrt(s)")]
    # within 4 standard errors (the larger of the OLS and count-covariance errors) and 10 %
    assert abs(a.value - A_TRUE) < max(4 * a.stderr, 0.0) + 0.1 * A_TRUE
    assert abs(k.value - K_TRUE) < 4 * k.stderr + 0.1 * K_TRUE
    assert abs(s.value - SIGMA_TRUE) < 4 * s.stderr
    assert a.stderr > 0 and k.stderr > 0 and s.stderr > 0
    # the strategy's units: k per unit of relative depth = k x mid, A per minute
    rel = rows[("k (relative depth)", "per unit of depth/mid")]
    assert rel.value == pytest.approx(k.value * 100.0, rel=0.05)
    assert rows[("A", "per minute")].value == pytest.approx(60.0 * a.value)


def test_too_few_trades_is_a_clear_error(tmp_path):
    t, p, m = simulate_poisson_trades(A_TRUE, K_TRUE, SIGMA_TRUE, 30.0, mid0=100.0, seed=1)
    path = write_agg_trades(tmp_path / "aggTrades.csv", t, p, m)
    with pytest.raises(CalibrationError, match="too few trades") as exc:
        calibrate_file(path, "trades")
    assert str(path) in str(exc.value)


def test_too_short_a_span_for_volatility_is_a_clear_error(tmp_path):
    # many trades, but within two minutes: no three sigma intervals of 60 s
    t, p, m = simulate_poisson_trades(50.0, K_TRUE, SIGMA_TRUE, 100.0, mid0=100.0, seed=2)
    path = write_agg_trades(tmp_path / "aggTrades.csv", t, p, m)
    with pytest.raises(CalibrationError, match="too short for volatility"):
        calibrate_file(path, "trades")


def test_klines_give_sigma_only(tmp_path):
    rng = np.random.default_rng(3)
    n, vol_min = 3000, 0.001  # per sqrt(minute), log returns
    close = 2000.0 * np.exp(np.cumsum(rng.normal(0.0, vol_min, n)))
    path = tmp_path / "ETHUSDT-1m-2024-01.csv"
    with path.open("w") as f:
        for i, c in enumerate(close):
            o = close[i - 1] if i else 2000.0
            f.write(
                f"{T0_MS + 60_000 * i},{o},{max(o, c)},{min(o, c)},{c},1,"
                f"{T0_MS + 60_000 * i + 59_999},{c},1,0,0,0\n"
            )
    rows = rows_by_name(calibrate_file(path, "klines"))
    per_min = rows[("sigma (realised, relative)", "per sqrt(minute)")]
    assert abs(per_min.value - vol_min) < 4 * per_min.stderr
    assert not any(r[0].startswith("A") for r in rows)


def test_calibrate_command_prints_the_table(trades_file):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["calibrate", str(trades_file)]) == 0  # kind guessed from the name
    out = buf.getvalue()
    assert "(trades)" in out and "k (decay with depth)" in out and "std. error" in out


def test_calibrate_command_exits_2_on_thin_data(tmp_path, capsys):
    t, p, m = simulate_poisson_trades(A_TRUE, K_TRUE, SIGMA_TRUE, 20.0, mid0=100.0, seed=4)
    path = write_agg_trades(tmp_path / "aggTrades.csv", t, p, m)
    assert main(["calibrate", str(path), "--kind", "trades"]) == 2
    assert "too few trades" in capsys.readouterr().err


def write_swaps(path: Path, n: int, vol_per_swap: float, seconds: int, seed: int) -> Path:
    """Uniswap V3 Swap events of a WETH(18)/USDC(6) pool, one every ``seconds``."""
    rng = np.random.default_rng(seed)
    price = 3000.0 * np.exp(np.cumsum(rng.normal(0.0, vol_per_swap, n)))
    with path.open("w") as f:
        f.write("block_number,log_index,amount0,amount1,sqrt_price_x96,liquidity,tick,timestamp\n")
        for i, p in enumerate(price):
            raw = p * 1e-12
            sq = int(np.sqrt(raw) * 2**96)
            tick = int(np.floor(np.log(raw) / np.log(1.0001)))
            a1 = int(rng.lognormal(np.log(5000.0), 1.0) * 1e6) * (1 if rng.random() < 0.5 else -1)
            a0 = -int(a1 / 1e6 / p * 1e18)
            f.write(f"{1000 + i},0,{a0},{a1},{sq},{10**18},{tick},{1_704_067_200 + seconds * i}\n")
    return path


def test_swaps_give_sigma_and_a_fill_intensity(tmp_path):
    path = write_swaps(tmp_path / "pool-swaps.csv", 3000, 0.001, 12, 0)
    rows = rows_by_name(calibrate_file(path, "swaps"))
    yearly = rows[("sigma (realised, relative)", "per sqrt(year)")]
    true = 0.001 * np.sqrt(365 * 86_400 / 12)
    assert abs(yearly.value - true) < 4 * yearly.stderr
    k = rows[("k (decay with depth)", "per unit of relative depth")]
    assert k.value > 0 and k.stderr > 0
