"""The run report's PnL parts from a journal: the backtester's definitions of hodl and IL."""

from __future__ import annotations

import json
import math

import pytest

from asymlp_core.v3 import get_amounts_for_liquidity, get_sqrt_ratio_at_tick
from asymlp_runtime.journal import Journal, LpActionEndRecord, LpActionRecord, LpStepRecord, TxReceiptRecord
from asymlp_runtime.lp.run_report import run_report, summary_text, write_report

RAW = 1e-12  # raw_per_human of an 18/6-decimal pair


def _sqrt_x96(price: float) -> int:
    return int(math.sqrt(price * RAW) * float(1 << 96))


def _amounts(price: float, lo: int, hi: int, liq: int) -> tuple[int, int]:
    return get_amounts_for_liquidity(_sqrt_x96(price), get_sqrt_ratio_at_tick(lo), get_sqrt_ratio_at_tick(hi), liq)


def test_report_of_one_position_splits_value_change_into_hodl_il_fees_gas_and_swap_cost(tmp_path):
    lo, hi, liq = -197400, -195000, 10**16
    p_open, p_close = 3000.0, 3060.0
    x0, y0 = _amounts(p_open, lo, hi, liq)
    x1, y1 = _amounts(p_close, lo, hi, liq)
    fees0, fees1 = 10**15, 2 * 10**6
    swap0, swap1 = -(10**17), 299 * 10**6  # sold 0.1 base for 299 quote
    with Journal(tmp_path / "lp.sqlite") as j:
        j.append_lp_action(LpActionRecord(action_id="a", kind="open", pool="p", n_steps=1, params="{}", ts_ns=1))
        j.append_lp_step(
            LpStepRecord(
                action_id="a",
                step=0,
                kind="open",
                tick_lower=lo,
                tick_upper=hi,
                liquidity=liq,
                amount0=-x0,
                amount1=-y0,
                note="{}",
                ts_ns=2,
            )
        )
        j.append_lp_action_end(LpActionEndRecord(action_id="a", outcome="completed", ts_ns=3))
        j.append_lp_action(LpActionRecord(action_id="b", kind="rebalance", pool="p", n_steps=2, params="{}", ts_ns=4))
        j.append_lp_step(
            LpStepRecord(
                action_id="b",
                step=0,
                kind="close",
                tick_lower=lo,
                tick_upper=hi,
                liquidity=liq,
                amount0=x1 + fees0,
                amount1=y1 + fees1,
                note=json.dumps({"fees0": str(fees0), "fees1": str(fees1)}),
                ts_ns=5,
            )
        )
        j.append_lp_step(
            LpStepRecord(action_id="b", step=1, kind="swap", amount0=swap0, amount1=swap1, note="{}", ts_ns=6)
        )
        j.append_lp_action_end(LpActionEndRecord(action_id="b", outcome="completed", ts_ns=7))
        j.append_tx_receipt(
            TxReceiptRecord(
                tx_hash="0x" + "ab" * 32, status="success", gas_used=100_000, effective_gas_price=10**9, ts_ns=8
            )
        )
    report = run_report(tmp_path / "lp.sqlite", end_price=p_close, pool="p")
    d = report["decomposition"]
    v_open = x0 / 1e18 * p_open + y0 / 1e6
    v_close = x1 / 1e18 * p_close + y1 / 1e6
    # the close price is recovered from the close step's amounts
    assert d["hodl"] == pytest.approx(x0 / 1e18 * (p_close - p_open), rel=1e-4)
    assert d["hodl"] + d["il"] == pytest.approx(v_close - v_open, rel=1e-6, abs=1e-3)
    assert d["il"] < 0  # a price move away from the open price costs the LP against holding
    assert d["fees"] == pytest.approx(fees0 / 1e18 * p_close + fees1 / 1e6, rel=1e-4)
    assert d["gas"] == pytest.approx(-100_000 * 1e9 / 1e18 * p_close)
    assert d["swap_cost"] == pytest.approx(-(0.1 * p_close - 299.0), rel=1e-3)
    assert report["rebalances"] == 1 and report["actions"]["open"] == 1
    assert report["fees_raw"] == [str(fees0), str(fees1)]
    assert d["total"] == pytest.approx(sum(v for k, v in d.items() if k != "total"))
    js, txt = write_report(report, tmp_path / "run")
    assert json.loads(js.read_text())["rebalances"] == 1
    assert txt.read_text() == summary_text(report) and "PnL" in summary_text(report)


def _bar(ts: int, price: float, fg0: int, fg1: int, block: int, liquidity: int = 10**18):
    from asymlp_runtime.journal import LpBarRecord

    tick = int(math.floor(math.log(price * RAW) / math.log(1.0001)))
    return LpBarRecord(pool="p", price=price, tick=tick, liquidity=liquidity, fee_growth0=fg0, fee_growth1=fg1,
                       block_number=block, ts_ns=ts)  # fmt: skip


def test_replay_of_a_path_gives_no_volume_across_a_new_chain_and_refuses_older_positions():
    from asymlp_runtime.lp.run_report import replay_run

    q = 1 << 128
    lo, hi, liq = -197400, -195000, 10**16
    schedule = [(15, "a", liq, lo, hi)]  # opened after the first observation
    grow = [_bar(10, 3000.0, 0, 0, 1), _bar(20, 3000.0, 0, 0, 2), _bar(30, 3001.0, 10**12 * q // 10**18, 3 * q, 3)]
    base = replay_run(grow, schedule, {}, {}, [], decimals=(18, 6), end_price=3001.0, fee=0.003)
    assert base is not None and base["path_resets"] == 0 and base["decomposition"]["fees"] > 0
    # the same, then a new chain under the same journal: fee growth and block number start again
    reset = grow + [_bar(40, 3001.0, 5, 7, 1)]
    out = replay_run(reset, schedule, {}, {}, [], decimals=(18, 6), end_price=3001.0, fee=0.003)
    assert out["path_resets"] == 1
    assert out["decomposition"]["fees"] == pytest.approx(base["decomposition"]["fees"], rel=1e-9)
    # positions from before the first observation: no comparison over a different window
    assert replay_run(grow, [(5, "a", liq, lo, hi)], {}, {}, [], decimals=(18, 6), end_price=3001.0,
                      fee=0.003) is None  # fmt: skip
    # gas without any position change is still charged
    gas_only = replay_run(grow, [], {"": 2.5}, {}, [], decimals=(18, 6), end_price=3001.0, fee=0.003)
    assert gas_only["decomposition"]["gas"] == pytest.approx(-2.5)
