"""Backtest config files: the bundled default, errors naming file/key/type, core inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from asymlp_core.backtest import LPBacktestConfig
from asymlp_core.strategy import LPStrategyParams
from asymlp_runtime.config import ConfigError
from asymlp_runtime.research.config import apply_overrides, load_backtest_config, sweep_fields, to_core

DEFAULT = Path(__file__).resolve().parents[1] / "config" / "backtest.toml"


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "bt.toml"
    p.write_text(text)
    return p


def test_bundled_default_decodes_to_core_inputs():
    cfg = load_backtest_config(DEFAULT)
    core = to_core(cfg)
    assert isinstance(core.params, LPStrategyParams) and isinstance(core.config, LPBacktestConfig)
    assert core.config.fee == 0.003 and core.params.tick_spacing == 60
    assert core.params.raw_per_human == pytest.approx(1e-12)
    # swap cost of a rebalance defaults to the pool fee + slippage
    assert core.config.swap_fee == pytest.approx(0.003 + cfg.costs.swap_slippage)
    assert core.params.rebalance.enabled == 15 and core.params.hedge == 1
    # funding per one-minute bar from the 8-hour rate
    assert core.funding_per_bar == pytest.approx(cfg.hedge.funding_rate_8h / 480.0)


def test_empty_file_gives_the_defaults(tmp_path):
    cfg = load_backtest_config(write(tmp_path, ""))
    assert cfg.data.source == "synthetic" and cfg.pool.fee_tier == 3000


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ('[strategy]\nk = "20"\n', "strategy.k", "float > 0"),
        ("[strategy]\nk = -1.0\n", "strategy.k", "float > 0"),
        ("[pool]\nfee_tier = 2500\n", "pool.fee_tier", "one of 500, 3000, 10000"),
        ("[costs]\ncompound_fees = 1\n", "costs.compound_fees", "bool"),
        ("[strategy.rebalance]\nband = 0.7\n", "strategy.rebalance.band", "float >= 0 and <= 0.5"),
        ('[strategy.rebalance]\ntriggers = ["price", "stale"]\n', "strategy.rebalance.triggers[0]", "one of"),
        ("[data]\nn_bars = 10.5\n", "data.n_bars", "int > 0"),
        ("[pool.tiers.500]\nvolume_scale = 0.0\n", "pool.tiers.500.volume_scale", "float > 0"),
        ('[pool.tiers.10000]\npool_liquidity = "big"\n', "pool.tiers.10000.pool_liquidity", "float >= 0"),
        ("[pool.tiers.2500]\nvolume_scale = 1.0\n", "pool.tiers.2500", "known keys: 500, 3000, 10000"),
        ("[pool.tiers.500]\nvolume = 1.0\n", "pool.tiers.500.volume", "known keys: volume_scale, pool_liquidity"),
    ],
)
def test_wrong_value_error_names_file_key_and_type(tmp_path, text, key, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_backtest_config(path)
    assert exc.value.file == str(path)
    assert exc.value.key_path == key
    assert expected in exc.value.expected
    assert str(path) in str(exc.value) and key in str(exc.value)


def test_unknown_key_error_lists_the_known_keys(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load_backtest_config(write(tmp_path, "[costs]\nbudgett = 5.0\n"))
    assert exc.value.key_path == "costs.budgett"
    assert "budget" in exc.value.expected and "gas_cost" in exc.value.expected


def test_inconsistent_rebalance_thresholds_name_the_key(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load_backtest_config(write(tmp_path, "[strategy.rebalance]\nband = 0.3\nband_rearm = 0.2\n"))
    assert exc.value.key_path == "strategy.rebalance.band_rearm"


def test_file_source_without_path_is_refused(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load_backtest_config(write(tmp_path, '[data]\nsource = "klines"\n'))
    assert exc.value.key_path == "data.path"


def test_bad_toml_and_missing_file_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="valid TOML"):
        load_backtest_config(write(tmp_path, "[data\n"))
    with pytest.raises(ConfigError, match="a readable file"):
        load_backtest_config(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("grid", "key"),
    [
        ('"strategy.kk" = [1.0]', 'sweep.grid."strategy.kk"'),
        ('"pool.fee_tier" = [500, 2500]', 'sweep.grid."pool.fee_tier"[1]'),
        ('"strategy.rebalance.band" = [0.1, "wide"]', 'sweep.grid."strategy.rebalance.band"[1]'),
        ('"strategy.k" = []', 'sweep.grid."strategy.k"'),
    ],
)
def test_bad_sweep_grid_names_the_entry(tmp_path, grid, key):
    with pytest.raises(ConfigError) as exc:
        load_backtest_config(write(tmp_path, f"[sweep.grid]\n{grid}\n"))
    assert exc.value.key_path == key


def test_unknown_rank_metric_is_refused(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load_backtest_config(write(tmp_path, '[sweep]\nrank_by = "alpha"\n'))
    assert exc.value.key_path == "sweep.rank_by" and "'sharpe'" in exc.value.expected


def test_overrides_change_only_their_field():
    cfg = load_backtest_config(DEFAULT)
    out = apply_overrides(cfg, {"pool.fee_tier": 500, "strategy.rebalance.band": 0.05})
    assert out.pool.fee_tier == 500 and out.strategy.rebalance.band == 0.05
    assert out.strategy.k == cfg.strategy.k and out.sweep == cfg.sweep
    assert to_core(out).params.tick_spacing == 10
    assert "strategy.rebalance.min_interval" in sweep_fields() and "report.out_dir" not in sweep_fields()


def test_the_chosen_tiers_market_applies(tmp_path):
    text = "[pool]\npool_liquidity = 1e6\n[pool.tiers.500]\nvolume_scale = 8.0\npool_liquidity = 3e6\n"
    text += "[pool.tiers.10000]\nvolume_scale = 0.05\n"
    cfg = load_backtest_config(write(tmp_path, text))
    core = to_core(cfg)  # fee_tier 3000 has no entry: the data's volume and pool.pool_liquidity
    assert (core.volume_scale, core.pool_liquidity) == (1.0, 1e6)
    core = to_core(apply_overrides(cfg, {"pool.fee_tier": 500}))
    assert (core.volume_scale, core.pool_liquidity, core.config.fee) == (8.0, 3e6, 0.0005)
    core = to_core(apply_overrides(cfg, {"pool.fee_tier": 10000}))  # no liquidity given: the pool's
    assert (core.volume_scale, core.pool_liquidity, core.config.fee) == (0.05, 1e6, 0.01)
    assert "pool.tiers.500.volume_scale" in sweep_fields()
