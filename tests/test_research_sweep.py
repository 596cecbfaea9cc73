"""``asymlp sweep``: grid expansion, ranking, local processes and a Dask cluster agree."""

from __future__ import annotations

import contextlib
import io

import msgspec
import numpy as np
import pandas as pd
import pytest

from asymlp_runtime.cli import main
from asymlp_runtime.research.config import apply_overrides, load_backtest_config
from asymlp_runtime.research.data import load_market
from asymlp_runtime.research.runner import run_backtest
from asymlp_runtime.research.sweep import expand_grid, rank, run_sweep

CONFIG = """
[data]
n_bars = 3000
seed = 11
[costs]
budget = 100000.0
[hedge]
band = 2.5
[sweep]
rank_by = "{rank_by}"
ascending = {ascending}
[sweep.grid]
"pool.fee_tier" = [500, 3000, 10000]
"strategy.k" = [15.0, 30.0]
"""
METRIC_COLUMNS = ["sharpe", "total_pnl", "fees", "il", "lvr", "rebalances", "max_drawdown_frac"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("sweep")
    path = d / "sweep.toml"
    path.write_text(CONFIG.format(rank_by="total_pnl", ascending="false"))
    cfg = load_backtest_config(path)
    return path, cfg, load_market(cfg.data)


def test_grid_is_the_product_in_declaration_order():
    sets = expand_grid({"a": [1, 2], "b": ["x", "y", "z"]})
    assert len(sets) == 6 and sets[0] == {"a": 1, "b": "x"} and sets[1] == {"a": 1, "b": "y"}
    assert expand_grid({}) == [{}]


def test_rank_sorts_by_the_metric_with_grid_order_on_ties():
    t = pd.DataFrame({"set": [0, 1, 2, 3], "m": [1.0, 3.0, 3.0, 2.0]})
    assert rank(t, "m")["set"].tolist() == [1, 2, 3, 0]
    assert rank(t, "m", ascending=True)["set"].tolist() == [0, 3, 1, 2]
    assert rank(t, "m")["rank"].tolist() == [1, 2, 3, 4]


def test_sweep_ranks_by_the_metric_and_rows_match_single_backtests(setup):
    _, cfg, market = setup
    res = run_sweep(cfg, market, workers=1, batch_size=4)
    t = res.table
    assert len(t) == 6 and res.batches == 2
    assert t["total_pnl"].is_monotonic_decreasing and t["rank"].tolist() == list(range(1, 7))
    assert sorted(t["set"]) == list(range(6))
    for _, row in t.iloc[[0, -1]].iterrows():
        overrides = {"pool.fee_tier": int(row["pool.fee_tier"]), "strategy.k": float(row["strategy.k"])}
        single = run_backtest(apply_overrides(cfg, overrides), market).summary
        assert row["total_pnl"] == pytest.approx(single["total_pnl"], rel=1e-12)
        assert row["sharpe"] == pytest.approx(single["sharpe"], rel=1e-12)
    # ascending order when asked (e.g. drawdown)
    asc = msgspec.structs.replace(
        cfg, sweep=msgspec.structs.replace(cfg.sweep, rank_by="max_drawdown_frac", ascending=True)
    )
    t2 = run_sweep(asc, market, workers=1).table
    assert t2["max_drawdown_frac"].is_monotonic_increasing


def _by_set(t: pd.DataFrame) -> pd.DataFrame:
    return t.sort_values("set").reset_index(drop=True)[
        ["set", "pool.fee_tier", "strategy.k", *METRIC_COLUMNS]
    ]


def test_local_processes_give_the_in_process_results(setup):
    _, cfg, market = setup
    one = run_sweep(cfg, market, workers=1)
    two = run_sweep(cfg, market, workers=2, batch_size=2)
    assert two.backend == "2 local processes" and two.batches == 3
    pd.testing.assert_frame_equal(_by_set(one.table), _by_set(two.table))
    pd.testing.assert_frame_equal(one.table, two.table)


@pytest.mark.timeout(120)
def test_dask_local_cluster_gives_the_local_results(setup):
    import distributed  # a dev dependency: the test runs in CI, never skips
    _, cfg, market = setup
    local = run_sweep(cfg, market, workers=1)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        res = run_sweep(cfg, market, client=client, batch_size=2)
    assert res.backend.startswith("dask") and res.batches == 3
    pd.testing.assert_frame_equal(local.table, res.table)


def test_sweep_command_writes_ranked_tables(setup, tmp_path):
    path, _, _ = setup
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(
            ["sweep", str(path), "--workers", "1", "--out", str(tmp_path), "--quiet", "--rank-by", "fees"]
        )
    assert rc == 0
    t = pd.read_parquet(tmp_path / "sweep.parquet")
    c = pd.read_csv(tmp_path / "sweep.csv")
    assert len(t) == len(c) == 6 and t["fees"].is_monotonic_decreasing
    np.testing.assert_allclose(t["fees"], c["fees"], rtol=1e-12)
    printed = buf.getvalue()
    assert "6 parameter sets" in printed and "ranked by fees" in printed and str(tmp_path) in printed


def test_sweep_command_refuses_an_unknown_metric(setup, capsys):
    path, _, _ = setup
    assert main(["sweep", str(path), "--rank-by", "alpha", "--quiet"]) == 2
    assert "--rank-by must be one of" in capsys.readouterr().err


def test_fee_tier_sweep_prices_rebalance_swaps_at_each_tier(setup):
    _, cfg, market = setup
    t = run_sweep(cfg, market, workers=1).table
    # same k, same path: a higher tier earns more fees per unit of volume (the volume is the data's)
    for k in (15.0, 30.0):
        fees = t[t["strategy.k"] == k].sort_values("pool.fee_tier")["fees"].to_numpy()
        assert np.all(np.diff(fees) > 0)


def test_fee_tier_sweep_gives_each_tier_its_own_volume_and_liquidity(setup):
    _, cfg, market = setup
    tiers = {"500": {"volume_scale": 8.0, "pool_liquidity": 1.5e7}, "10000": {"volume_scale": 0.03}}
    with_tiers = msgspec.structs.replace(
        apply_overrides(cfg, {"pool.tiers.500.volume_scale": 8.0, "pool.tiers.500.pool_liquidity": 1.5e7,
                              "pool.tiers.10000.volume_scale": 0.03}),
        sweep=cfg.sweep,
    )
    plain = run_sweep(cfg, market, workers=1).table.set_index(["pool.fee_tier", "strategy.k"])
    t = run_sweep(with_tiers, market, workers=1).table.set_index(["pool.fee_tier", "strategy.k"])
    for k in (15.0, 30.0):
        # the tier without an entry is the same run as without the table
        assert t.loc[(3000, k), "total_pnl"] == plain.loc[(3000, k), "total_pnl"]
        # each set equals a single backtest with the tier's volume and liquidity, computed by hand
        for tier in (500, 10000):
            one = apply_overrides(cfg, {"pool.fee_tier": tier, "strategy.k": k})
            entry = tiers[str(tier)]
            one = apply_overrides(one, {"pool.pool_liquidity": entry.get("pool_liquidity", cfg.pool.pool_liquidity)})
            scaled = market._replace(volume1=market.volume1 * entry["volume_scale"])
            single = run_backtest(one, scaled).summary
            assert t.loc[(tier, k), "total_pnl"] == pytest.approx(single["total_pnl"], rel=1e-12)
            assert t.loc[(tier, k), "fees"] == pytest.approx(single["decomposition"]["fees"], rel=1e-12)
        # 3 % of the data's volume in the same pool: about 3 % of the fees (compounding aside)
        ratio = t.loc[(10000, k), "fees"] / plain.loc[(10000, k), "fees"]
        assert 0.02 < ratio < 0.04
