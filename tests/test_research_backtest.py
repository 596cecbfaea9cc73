"""``asymlp backtest``: report files, embedded images, the summary's decomposition, file sources."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from asymlp_core.backtest import PNL_PARTS
from asymlp_runtime.cli import main
from asymlp_runtime.research.config import load_backtest_config
from asymlp_runtime.research.data import load_market
from asymlp_runtime.research.report import bucket_edges
from asymlp_runtime.research.runner import run_backtest

SMALL = """
[data]
n_bars = 4000
seed = 3
[costs]
budget = 100000.0
[hedge]
band = 2.5
[report]
plot_points = 500
"""


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory) -> tuple[Path, str]:
    d = tmp_path_factory.mktemp("bt")
    cfg = d / "bt.toml"
    cfg.write_text(SMALL)
    out = d / "report"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["backtest", str(cfg), "--out", str(out), "--quiet"])
    assert rc == 0
    return out, buf.getvalue()


def test_backtest_command_writes_every_report_file(report_dir):
    out, printed = report_dir
    for name in (
        "bars.parquet",
        "summary.json",
        "decomposition.csv",
        "price_range.png",
        "inventory_hedge.png",
        "pnl_decomposition.png",
        "report.html",
    ):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    bars = pd.read_parquet(out / "bars.parquet")
    assert len(bars) == 4000 and {"time", "price", "equity", "fees", "hedge_position"} <= set(bars.columns)
    assert str((out / "report.html").resolve()) in printed
    assert "Total" in printed and "Sharpe" in printed and "Time in range" in printed


def test_report_html_embeds_every_plot(report_dir):
    out, _ = report_dir
    html = (out / "report.html").read_text()
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == 3
    for b64, name in zip(images, ("price_range", "inventory_hedge", "pnl_decomposition"), strict=True):
        assert base64.b64decode(b64) == (out / f"{name}.png").read_bytes()
    assert "<table>" in html and "Impermanent loss" in html
    assert 'src="' not in html.replace('src="data:', "")  # nothing external


def test_summary_decomposition_sums_to_its_total(report_dir):
    out, _ = report_dir
    summary = json.loads((out / "summary.json").read_text())
    dec = summary["decomposition"]
    parts = [dec[name] for name, _ in PNL_PARTS]
    assert sum(parts) == pytest.approx(dec["total"], rel=1e-12, abs=1e-9)
    assert dec["total"] == pytest.approx(summary["total_pnl"], rel=1e-9, abs=1e-6)
    assert summary["final_equity"] - summary["budget"] == pytest.approx(summary["total_pnl"], abs=1e-6)
    csv = pd.read_csv(out / "decomposition.csv")
    assert csv.loc[csv.key != "total", "pnl"].sum() == pytest.approx(
        csv.loc[csv.key == "total", "pnl"].item()
    )
    bars = pd.read_parquet(out / "bars.parquet")
    assert bars["fees"].sum() == pytest.approx(dec["fees"])
    # the cumulative sums of the bars' parts end at the equity's change
    signed = sum(sign * bars[name].to_numpy() for name, sign in PNL_PARTS)
    assert signed.sum() == pytest.approx(bars["equity"].iloc[-1] - summary["budget"], abs=1e-6)


def test_no_plots_writes_tables_only(tmp_path):
    cfg = tmp_path / "bt.toml"
    cfg.write_text(SMALL.replace("n_bars = 4000", "n_bars = 500") + "plots = false\n")
    assert main(["backtest", str(cfg), "--out", str(tmp_path / "r"), "--quiet"]) == 0
    assert not list((tmp_path / "r").glob("*.png"))
    assert "data:image/png" not in (tmp_path / "r" / "report.html").read_text()


def test_bad_config_exits_2_naming_the_key(tmp_path, capsys):
    cfg = tmp_path / "bt.toml"
    cfg.write_text("[pool]\nfee_tier = 30\n")
    assert main(["backtest", str(cfg), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert str(cfg) in err and "pool.fee_tier" in err


def _write_klines(path: Path, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    close = 2000.0 * np.exp(np.cumsum(rng.normal(0.0, 0.001, n)))
    open_ = np.concatenate([[2000.0], close[:-1]])
    t0 = 1_704_067_200_000
    with path.open("w") as f:
        f.write(
            "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,"
            "taker_buy_quote_volume,ignore\n"
        )
        for i in range(n):
            hi, lo = max(open_[i], close[i]) * 1.0005, min(open_[i], close[i]) * 0.9995
            f.write(
                f"{t0 + 60_000 * i},{open_[i]:.4f},{hi:.4f},{lo:.4f},{close[i]:.4f},10,"
                f"{t0 + 60_000 * i + 59_999},"
                f"{10 * close[i]:.4f},100,5,{5 * close[i]:.4f},0\n"
            )
    return close


def test_klines_file_is_a_data_source(tmp_path):
    close = _write_klines(tmp_path / "ETHUSDT-1m.csv", 1500, 4)
    cfg_path = tmp_path / "bt.toml"
    cfg_path.write_text(
        f'[data]\nsource = "klines"\npath = "{tmp_path / "ETHUSDT-1m.csv"}"\nvolume_scale = 50.0\n'
    )
    cfg = load_backtest_config(cfg_path)
    market = load_market(cfg.data)
    assert market.bar_seconds == 60.0
    np.testing.assert_allclose(market.price, np.round(close, 4))
    run = run_backtest(cfg, market)
    assert run.summary["bars"] == 1500 and run.summary["decomposition"]["fees"] > 0


def test_malformed_data_file_exits_2_naming_file_and_line(tmp_path, capsys):
    data = tmp_path / "ETHUSDT-1m.csv"
    _write_klines(data, 20, 1)
    lines = data.read_text().splitlines()
    lines[5] = lines[5].replace(",10,", ",ten,", 1)
    data.write_text("\n".join(lines) + "\n")
    cfg = tmp_path / "bt.toml"
    cfg.write_text(f'[data]\nsource = "klines"\npath = "{data}"\n')
    assert main(["backtest", str(cfg), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert str(data) in err and "line 6" in err and "volume" in err  # lines[5] is line 6


@pytest.mark.parametrize(("n", "points"), [(10, 3), (525_600, 2000), (7, 100)])
def test_plot_buckets_cover_every_bar(n, points):
    e = bucket_edges(n, points)
    assert e[0] == 0 and np.all(np.diff(e) > 0) and e[-1] < n and len(e) <= points


def test_swaps_file_is_a_data_source_in_bars(tmp_path):
    from test_research_calibrate import write_swaps

    path = write_swaps(tmp_path / "pool-swaps.csv", 600, 0.0005, 12, 1)
    cfg_path = tmp_path / "bt.toml"
    cfg_path.write_text(f'[data]\nsource = "swaps"\npath = "{path}"\nbar_seconds = 60.0\n')
    market = load_market(load_backtest_config(cfg_path).data)
    assert market.price.size == 120 and market.bar_seconds == 60.0  # 600 swaps x 12 s in 60 s bars
    assert market.price[0] == pytest.approx(3000.0 * np.exp(0.0), rel=0.01)
    assert market.volume1.sum() > 0


def test_the_chosen_tiers_volume_runs_and_is_reported(tmp_path):
    text = SMALL.replace("n_bars = 4000", "n_bars = 1500") + "plots = false\n"
    text += "[pool]\nfee_tier = 500\n[pool.tiers.500]\nvolume_scale = 8.0\npool_liquidity = 2e6\n"
    cfg_path = tmp_path / "bt.toml"
    cfg_path.write_text(text)
    assert main(["backtest", str(cfg_path), "--out", str(tmp_path / "r"), "--quiet"]) == 0
    cfg = load_backtest_config(cfg_path)
    market = load_market(cfg.data)
    bars = pd.read_parquet(tmp_path / "r" / "bars.parquet")
    np.testing.assert_array_equal(bars["volume1"].to_numpy(), market.volume1 * 8.0)
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert (summary["volume_scale"], summary["pool_liquidity"], summary["fee"]) == (8.0, 2e6, 0.0005)
    # the same run as the data's volume scaled by hand with the tier's liquidity as the pool's
    from asymlp_runtime.research.config import apply_overrides

    plain = apply_overrides(cfg, {"pool.tiers.500.volume_scale": 1.0, "pool.pool_liquidity": 2e6})
    by_hand = run_backtest(plain, market._replace(volume1=market.volume1 * 8.0)).summary
    assert summary["total_pnl"] == pytest.approx(by_hand["total_pnl"], rel=1e-12)
    assert bars["fees"].sum() == pytest.approx(by_hand["decomposition"]["fees"], rel=1e-9)
