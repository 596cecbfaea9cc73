"""What keeps ``asymlp backtest`` small: lazy imports, a pandas-free Parquet writer, plot buckets.

The command's peak memory is measured in ``benchmarks/bench_backtest_memory.py``; these tests
guard the mechanisms (which libraries get imported, and that the leaner paths write the same
numbers).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from asymlp_core.backtest import PNL_PARTS
from asymlp_core.backtest.enums import LP_BAR_DTYPE
from asymlp_runtime.research.config import load_backtest_config
from asymlp_runtime.research.data import load_market
from asymlp_runtime.research.report import bucket_edges, plot_series, write_bars_parquet
from asymlp_runtime.research.runner import run_backtest

HEAVY = ("pandas", "pyarrow", "matplotlib", "dask", "web3", "ccxt", "zmq", "numba")

SMALL = """
[data]
n_bars = 3000
seed = 5
[costs]
budget = 100000.0
[hedge]
band = 2.5
[report]
plot_points = 400
"""


def _imported_after(code: str) -> set[str]:
    """Top-level modules of :data:`HEAVY` imported by ``code`` in a fresh interpreter."""
    probe = code + f"\nimport sys, json\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_cli_parser_imports_no_heavy_library():
    loaded = _imported_after("import asymlp_runtime.cli as c\nc.build_parser()")
    assert loaded == set()


def test_backtest_modules_import_without_pandas_pyarrow_or_matplotlib():
    loaded = _imported_after(
        "import asymlp_runtime.commands.backtest, asymlp_runtime.research.report, "
        "asymlp_runtime.research.runner, asymlp_runtime.research.data, asymlp_runtime.data"
    )
    assert not loaded & {"pandas", "pyarrow", "matplotlib", "dask", "web3", "ccxt", "zmq"}


def test_synthetic_backtest_command_never_imports_pandas(tmp_path):
    cfg = tmp_path / "bt.toml"
    cfg.write_text(SMALL)
    code = (
        "import contextlib, io\n"
        "from asymlp_runtime.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['backtest', {str(cfg)!r}, '--out', {str(tmp_path / 'r')!r}, '--quiet']) == 0\n"
    )
    loaded = _imported_after(code)
    assert "pandas" not in loaded
    assert {"pyarrow", "matplotlib", "numba"} <= loaded  # the report's Parquet and PNGs were written
    assert (tmp_path / "r" / "bars.parquet").is_file() and (tmp_path / "r" / "price_range.png").is_file()


def _full_bars(run) -> np.ndarray:
    """The whole LP_BAR_DTYPE record of a run, expanded in one block."""
    blocks = [block for _, block in run.bars.chunks(run.bars.size)]
    assert len(blocks) == 1
    return blocks[0]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("mem")
    (d / "bt.toml").write_text(SMALL)
    cfg = load_backtest_config(d / "bt.toml")
    market = load_market(cfg.data)
    return cfg, market, run_backtest(cfg, market)


def test_bars_parquet_holds_the_expanded_bars_exactly(small_run, tmp_path):
    _, market, run = small_run
    path = tmp_path / "bars.parquet"
    write_bars_parquet(path, run, market, chunk=1000)
    table = pq.read_table(path)
    full = _full_bars(run)
    assert table.column_names == ["time", "price", *LP_BAR_DTYPE.names, "volume1"]
    assert table.schema.field("time").type == pa.timestamp("ns", tz="UTC")
    assert pq.ParquetFile(path).metadata.num_row_groups == 3
    assert table.column("time").cast(pa.int64()).to_numpy().tolist() == market.ts_ns.tolist()
    np.testing.assert_array_equal(table.column("price").to_numpy(), market.price)
    np.testing.assert_array_equal(table.column("volume1").to_numpy(), market.volume1)
    for name in LP_BAR_DTYPE.names:
        col = table.column(name)
        assert col.null_count == 0 and col.type == pa.from_numpy_dtype(LP_BAR_DTYPE[name]), name
        np.testing.assert_array_equal(col.to_numpy(), full[name], err_msg=name)


def test_plot_series_equals_reductions_of_the_full_bars(small_run):
    cfg, market, run = small_run
    s = plot_series(run, market, cfg.report.plot_points)
    full = _full_bars(run)
    edges = bucket_edges(full.size, cfg.report.plot_points)
    ends = np.append(edges[1:], full.size) - 1
    assert s.n_bars == full.size and s.n_buckets == edges.size == s.t.size
    spans = [slice(a, b + 1) for a, b in zip(edges, ends, strict=True)]
    np.testing.assert_array_equal(s.price["hi"], [market.price[sl].max() for sl in spans])
    np.testing.assert_array_equal(s.price["close"], market.price[ends])
    lp_lo, lp_hi, lp_mean = s.inventory["lp"]
    np.testing.assert_array_equal(lp_lo, [full["amount0"][sl].min() for sl in spans])
    np.testing.assert_array_equal(lp_hi, [full["amount0"][sl].max() for sl in spans])
    np.testing.assert_allclose(lp_mean, [full["amount0"][sl].mean() for sl in spans], rtol=1e-12)
    net = full["amount0"] + full["hedge_position"]
    assert s.inventory["net_abs_max"] == np.abs(net).max()
    for name, sign in PNL_PARTS:
        cum = np.cumsum(sign * full[name])
        np.testing.assert_allclose(s.pnl["cum"][name], cum[ends], rtol=1e-9, atol=1e-6, err_msg=name)
        assert s.pnl["final"][name] == pytest.approx(cum[-1], rel=1e-9, abs=1e-6)
    reb = np.flatnonzero(full["reason"][1:]) + 1
    assert s.price["rebalances"] is not None and s.price["rebalances"][1].tolist() == market.price[reb].tolist()


def test_data_package_exports_the_loaders_lazily():
    import asymlp_runtime.data as data
    from asymlp_runtime.data.errors import DataFormatError
    from asymlp_runtime.data.loaders import DataFormatError as LoaderError
    from asymlp_runtime.data.loaders import load_binance_klines

    assert data.DataFormatError is DataFormatError is LoaderError
    assert data.load_binance_klines is load_binance_klines
    with pytest.raises(AttributeError):
        data.no_such_loader  # noqa: B018
