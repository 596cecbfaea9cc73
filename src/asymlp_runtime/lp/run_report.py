"""The report of a live LP run, from the journals, in the backtester's PnL parts.

:func:`run_report` reads

- the ``lp_manager`` journal: every completed LP step (``LpStepRecord``: exact signed deltas of
  the account, fees in the note, ticks and liquidity) and every mined transaction's gas
  (``TxReceiptRecord``: ``gas_used x effective_gas_price``);
- the ``trader`` journal: the last ``pnl`` checkpoint (cash and hedge position);
- the trading engine's journal: the hedge fills (their fees are the hedge costs);

and splits the run's PnL, in quote units, the way :mod:`asymlp_core.backtest.lp` does:

============  ===============================================================================
``fees``      fees collected (close and collect steps) valued at the pool price of the step, plus
              the fees still owed at the end when given
``hodl``      per position: ``x_open * (p_close - p_open)`` (the token0 deposited, held)
``il``        per position: ``V_close - V_open - hodl`` = ``(x_close - x_open) p_close +
              (y_close - y_open)`` (the backtester's ``dv - hodl``)
``gas``       minus the gas of every mined transaction, valued at the end price (the pool's base
              is ETH-like)
``swap_cost`` minus the value lost by the re-weighting swaps at the pool price of the action
``hedge_pnl`` the trader's cash plus hedge position at the end price, fees excluded
``funding``   perpetual funding paid (the paper venue charges none: 0)
``hedge_cost`` minus the hedge fills' fees
============  ===============================================================================

The same run through the backtester: the manager journals the pool it observes at every
decision and right after every step (``LpBarRecord``: price, active liquidity, fee growth, fees
owed); :func:`replay_run` gives that path, the run's position changes, costs and hedge fills to
:func:`asymlp_core.backtest.replay_lp_path` and reports the backtester's parts beside the live
ones (``report["backtest"]``, with the differences): HODL, IL, gas and swap costs agree to
rounding; fees differ by the backtester's fee model (volume x share x time in range) against the
exact fees.

Pool prices are recovered exactly from the steps themselves (a position's amounts, liquidity
and range determine the price when it is in range); the end price and positions still open at
the end are valued at ``end_price``.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from asymlp_runtime.journal import (
    CheckpointRecord,
    FillRecord,
    Journal,
    LpActionEndRecord,
    LpActionRecord,
    LpBarRecord,
    LpStepRecord,
    TxReceiptRecord,
    TxRecord,
)

__all__ = ["run_report", "write_report", "summary_text"]


def _price_from_amounts(liquidity: int, tick_lower: int, tick_upper: int, a0: int, a1: int,
                        raw_per_human: float) -> float | None:  # fmt: skip
    """The human price at which ``liquidity`` on the range holds ``a0``/``a1`` (in range only)."""
    if liquidity <= 0 or a0 <= 0 or a1 <= 0:
        return None
    sa = math.sqrt(1.0001**tick_lower)
    sb = math.sqrt(1.0001**tick_upper)
    s1 = a1 / liquidity + sa  # from amount1 = L (s - sa)
    s0 = 1.0 / (a0 / liquidity + 1.0 / sb)  # from amount0 = L (1/s - 1/sb)
    s = 0.5 * (s0 + s1)
    return s * s / raw_per_human


def _note(step: LpStepRecord) -> dict[str, Any]:
    try:
        data = json.loads(step.note or "{}")
        return data if isinstance(data, dict) else {}
    except ValueError:
        return {}


def run_report(
    lp_journal: str | Path,
    *,
    trader_journal: str | Path | None = None,
    engine_journal: str | Path | None = None,
    decimals: tuple[int, int] = (18, 6),
    end_price: float,
    open_position_value: tuple[int, int] | None = None,
    fees_owed: tuple[int, int] | None = None,
    pool: str | None = None,
    fee: float | None = None,
) -> dict[str, Any]:
    """The run's figures and PnL decomposition (see the module docstring), and the backtester's
    decomposition of the same path and actions (:func:`replay_run`; with ``fee`` and bars).

    Parameters
    ----------
    lp_journal, trader_journal, engine_journal : paths
        The journals (trader/engine optional).
    decimals : (int, int)
        Base and quote decimals (the protocol's token0/token1).
    end_price : float
        Quote per base at the end of the run (mark of everything still held).
    open_position_value : (int, int), optional
        Raw principal of the position still open at the end (else valued from its liquidity at
        ``end_price``).
    fees_owed : (int, int), optional
        Raw fees owed to the open position at the end (not yet collected); by default those of
        the last pool observation the manager journaled, when the position is still open.
    pool : str, optional
        Only actions of this pool.
    fee : float, optional
        The pool's fee as a fraction (0.003): needed for the backtester's replay of the run.
    """
    d0, d1 = decimals
    raw_per_human = 10.0 ** (d1 - d0)
    u0, u1 = 10.0**d0, 10.0**d1
    with Journal(lp_journal, read_only=True) as j:
        actions = {a.action_id: a for a in j.read(LpActionRecord) if pool is None or a.pool == pool}
        ends = {e.action_id: e for e in j.read(LpActionEndRecord)}
        steps = [s for s in j.read(LpStepRecord) if s.action_id in actions and s.status == "done"]
        receipts = j.read(TxReceiptRecord)
        txs = j.read(TxRecord)
        bars = [b for b in j.read(LpBarRecord) if pool is None or b.pool == pool]
    seen: set[tuple[str, int]] = set()
    by_action: dict[str, list[LpStepRecord]] = defaultdict(list)
    for s in sorted(steps, key=lambda s: (s.ts_ns, s.step)):
        if (s.action_id, s.step) in seen:
            continue
        seen.add((s.action_id, s.step))
        by_action[s.action_id].append(s)

    fees0 = fees1 = 0
    fees_value = hodl = il = swap_cost = 0.0
    opened: dict[str, Any] | None = None  # the position open now: amounts, price, range, liquidity
    counts = {"open": 0, "rebalance": 0, "close": 0, "collect": 0, "failed": 0}
    # what the replay on the observed path needs: (ts, action, liquidity, lower, upper) position changes
    schedule: list[tuple[int, str, int, int, int]] = []
    swap_cost_of: dict[str, float] = defaultdict(float)
    for aid in sorted(by_action, key=lambda a: actions[a].ts_ns):
        kind = actions[aid].kind
        end = ends.get(aid)
        if end is not None and end.outcome != "completed":
            counts["failed"] += 1
        elif kind in counts:
            counts[kind] += 1
        action_price: float | None = None
        swaps: list[tuple[int, int]] = []
        for s in by_action[aid]:
            liq = s.liquidity or 0
            lo, hi = s.tick_lower or 0, s.tick_upper or 0
            a0, a1 = s.amount0 or 0, s.amount1 or 0
            note = _note(s)
            if s.kind == "close" and liq > 0:
                f0, f1 = int(note.get("fees0", 0)), int(note.get("fees1", 0))
                principal0, principal1 = a0 - f0, a1 - f1  # the step's deltas include the fees
                p_close = _price_from_amounts(liq, lo, hi, principal0, principal1, raw_per_human) or end_price
                action_price = p_close
                fees0 += f0
                fees1 += f1
                fees_value += f0 / u0 * p_close + f1 / u1
                if opened is not None:
                    seg_hodl = opened["x"] * (p_close - opened["p"])
                    v_open = opened["x"] * opened["p"] + opened["y"]
                    v_close = principal0 / u0 * p_close + principal1 / u1
                    hodl += seg_hodl
                    il += v_close - v_open - seg_hodl
                opened = None
                schedule.append((s.ts_ns, aid, 0, lo, hi))
            elif s.kind == "collect":
                f0, f1 = int(note.get("fees0", a0)), int(note.get("fees1", a1))
                fees0 += f0
                fees1 += f1
                fees_value += f0 / u0 * end_price + f1 / u1
            elif s.kind == "open" and liq > 0:
                x, y = -a0, -a1  # paid into the pool
                p_open = _price_from_amounts(liq, lo, hi, x, y, raw_per_human) or action_price or end_price
                opened = {"x": x / u0, "y": y / u1, "p": p_open, "lo": lo, "hi": hi, "liq": liq}
                action_price = action_price or p_open
                schedule.append((s.ts_ns, aid, liq, lo, hi))
            elif s.kind == "swap" and (a0 or a1):
                swaps.append((a0, a1))
        for a0, a1 in swaps:  # at the pool price of the action (its close, else its mint)
            p = action_price or end_price
            cost = -(a0 / u0 * p + a1 / u1)  # account deltas: value given minus received
            swap_cost += cost
            swap_cost_of[aid] += cost
    if opened is not None:  # still open: value the principal at the end price
        if open_position_value is not None:
            x_end, y_end = open_position_value[0] / u0, open_position_value[1] / u1
        else:
            from asymlp_core.v3 import get_amounts_for_liquidity, get_sqrt_ratio_at_tick

            sqrt_end = int(math.sqrt(end_price * raw_per_human) * float(1 << 96))
            e0, e1 = get_amounts_for_liquidity(sqrt_end, get_sqrt_ratio_at_tick(opened["lo"]),
                                               get_sqrt_ratio_at_tick(opened["hi"]), opened["liq"])  # fmt: skip
            x_end, y_end = e0 / u0, e1 / u1
        seg_hodl = opened["x"] * (end_price - opened["p"])
        hodl += seg_hodl
        il += (x_end * end_price + y_end) - (opened["x"] * opened["p"] + opened["y"]) - seg_hodl
    if fees_owed is None:
        last = max(bars, key=lambda b: b.ts_ns, default=None)
        fees_owed = (last.owed0, last.owed1) if opened is not None and last is not None else (0, 0)
    fees0 += fees_owed[0]
    fees1 += fees_owed[1]
    fees_value += fees_owed[0] / u0 * end_price + fees_owed[1] / u1

    gas_wei = sum(r.gas_used * r.effective_gas_price for r in receipts
                  if r.status in ("success", "reverted") and r.gas_used and r.effective_gas_price)  # fmt: skip
    n_tx = sum(1 for r in receipts if r.status in ("success", "reverted"))
    gas_value = gas_wei / 1e18 * end_price

    hedge_pnl = 0.0
    hedge: dict[str, Any] = {}
    if trader_journal is not None and Path(trader_journal).exists():
        with Journal(trader_journal, read_only=True) as j:
            pnl = [c for c in j.read(CheckpointRecord) if c.name == "pnl"]
        if pnl:
            data = json.loads(pnl[-1].payload)
            hedge = {"cash": float(data.get("cash", 0.0)), "hedge_position": float(data.get("hedge_position", 0.0))}
    hedge_fees = 0.0
    n_fills = 0
    fills: list[FillRecord] = []
    if engine_journal is not None and Path(engine_journal).exists():
        with Journal(engine_journal, read_only=True) as j:
            fills = j.read(FillRecord)
        n_fills = len(fills)
        hedge_fees = sum(f.fee for f in fills)
        if not hedge:  # rebuild cash and position from the fills
            cash = pos = 0.0
            for f in fills:
                sign = 1.0 if f.side == "buy" else -1.0
                pos += sign * f.qty
                cash -= sign * f.qty * f.price
            hedge = {"cash": cash - hedge_fees, "hedge_position": pos}
    if hedge:
        # the trader's cash is net of fees: add them back so hedge_cost carries them
        hedge_pnl = hedge["cash"] + hedge["hedge_position"] * end_price + hedge_fees

    decomposition = {
        "fees": fees_value,
        "hodl": hodl,
        "il": il,
        "gas": -gas_value,
        "swap_cost": -swap_cost,
        "hedge_pnl": hedge_pnl,
        "funding": 0.0,
        "hedge_cost": -hedge_fees,
    }
    decomposition["total"] = sum(decomposition.values())
    gas_of: dict[str, float] = defaultdict(float)
    action_of_tx = {t.tx_hash: t.action_id for t in txs}
    for r in receipts:
        if r.status in ("success", "reverted") and r.gas_used and r.effective_gas_price:
            gas_of[action_of_tx.get(r.tx_hash, "")] += r.gas_used * r.effective_gas_price / 1e18 * end_price
    fills = sorted(fills, key=lambda f: f.ts_ns)
    backtest = replay_run(bars, schedule, gas_of, swap_cost_of, fills, decimals=decimals, end_price=end_price,
                          fee=fee)  # fmt: skip
    if backtest is not None:
        backtest["difference"] = {k: decomposition[k] - v for k, v in backtest["decomposition"].items()}
    return {
        "end_price": end_price,
        "actions": counts,
        "rebalances": counts["rebalance"],
        "fees_raw": [str(fees0), str(fees1)],
        "fees0": fees0 / u0,
        "fees1": fees1 / u1,
        "gas_wei": str(gas_wei),
        "gas_eth": gas_wei / 1e18,
        "transactions": n_tx,
        "hedge": {**hedge, "fills": n_fills, "fees": hedge_fees},
        "position_open_at_end": opened is not None,
        "decomposition": decomposition,
        "backtest": backtest,
    }


def replay_run(
    bars: list[LpBarRecord],
    schedule: list[tuple[int, str, int, int, int]],
    gas_of: dict[str, float],
    swap_cost_of: dict[str, float],
    fills: list[FillRecord],
    *,
    decimals: tuple[int, int],
    end_price: float,
    fee: float | None,
) -> dict[str, Any] | None:
    """The backtester's decomposition of the run: :func:`asymlp_core.backtest.replay_lp_path` on
    the observed pool path with the run's own position changes and hedge fills.

    Path: the ``LpBarRecord`` prices in time order, then a last bar at ``end_price`` (the mark of
    the live report). Volume of bar ``i``: the fees the pool charged since bar ``i - 1`` (growth of
    ``feeGrowthGlobal{0,1}X128`` times the active liquidity of bar ``i - 1``, valued at bar
    ``i``) over the fee; other LPs' liquidity: the active liquidity minus ours when in range. A
    position change lands on the first bar observed at or after its step (the manager records one
    right after each step); gas and swap costs are those of the live report, per action. Returns
    ``None`` without bars, without fee growth (a backend that does not read it) or when positions
    changed before the first observation (the decompositions would cover different windows). A
    bar where the fee growth drops or the block number goes back (a new chain under an old
    journal) gets no volume and is counted in ``path_resets``.
    """
    if len(bars) < 2 or fee is None or fee <= 0:
        return None
    import numpy as np

    from asymlp_core.backtest import HEDGE_TRADE_DTYPE, REBALANCE_DTYPE, pnl_decomposition, replay_lp_path

    bars = sorted(bars, key=lambda b: b.ts_ns)
    if all(b.fee_growth0 == 0 and b.fee_growth1 == 0 for b in bars):
        return None
    d0, d1 = decimals
    raw_per_human = 10.0 ** (d1 - d0)
    l_scale = 10.0 ** (0.5 * (d0 + d1))  # raw liquidity per human unit
    ts = [b.ts_ns for b in bars] + [bars[-1].ts_ns + 1]
    price = np.array([b.price for b in bars] + [end_price])
    n = price.size

    def bar_at(t: int, *, after: bool = False) -> int:
        """First bar at (or, ``after``, strictly after) time ``t``."""
        import bisect

        return min((bisect.bisect_right if after else bisect.bisect_left)(ts, t), n - 1)

    rows = sorted(schedule)
    if rows and rows[0][0] < bars[0].ts_ns:
        # positions from before the first observation (a journal older than its bars): the two
        # decompositions would cover different windows
        return None
    first_row: dict[str, int] = {}
    for r, (_, aid, *_) in enumerate(rows):
        first_row.setdefault(aid, r)
    # costs of actions without a position change (and gas of no action) go with the first change
    leftover = sum(v for k, v in gas_of.items() if k not in first_row)
    leftover_swap = sum(v for k, v in swap_cost_of.items() if k not in first_row)
    if not rows and (leftover or leftover_swap):
        rows = [(bars[0].ts_ns - 1, "", 0, 0, 0)]  # costs without any position: booked on bar 0
        first_row[""] = 0
    acts = np.zeros(len(rows), REBALANCE_DTYPE)
    ours = np.zeros(n)  # our raw liquidity in force after each bar's changes
    ranges = np.zeros((n, 2), dtype=np.int64)
    for r, (t, aid, liq, lo, hi) in enumerate(rows):
        i = bar_at(t, after=True)  # the manager observes the pool right after each step
        gas = swap = 0.0
        if first_row[aid] == r and aid:
            gas, swap = gas_of.get(aid, 0.0), swap_cost_of.get(aid, 0.0)
        if r == 0:
            gas, swap = gas + leftover, swap + leftover_swap
        acts[r] = (i, 1, lo, hi, liq / l_scale, 0.0, 0.0, gas, swap)
        ours[i:] = liq
        ranges[i:] = (lo, hi)
    volume1 = np.zeros(n)
    others = np.zeros(n)
    q128 = float(1 << 128)
    mod, half = 1 << 256, 1 << 255
    resets = 0
    for i in range(1, len(bars)):
        prev, cur = bars[i - 1], bars[i]
        # fee growth is a uint256 that may wrap (a small difference mod 2**256); a drop by more
        # than half the range, or a block number going back, is another chain: no volume there
        dfg0 = (cur.fee_growth0 - prev.fee_growth0) % mod
        dfg1 = (cur.fee_growth1 - prev.fee_growth1) % mod
        if dfg0 >= half or dfg1 >= half or cur.block_number < prev.block_number:
            resets += 1
            continue
        charged = dfg0 / q128 * prev.liquidity / 10**d0 * cur.price + dfg1 / q128 * prev.liquidity / 10**d1
        volume1[i] = charged / fee
    for i in range(1, n):
        prev = bars[min(i - 1, len(bars) - 1)]
        lo, hi = ranges[i - 1]
        in_range = ours[i - 1] > 0 and lo <= prev.tick < hi
        other = prev.liquidity - (ours[i - 1] if in_range else 0.0)
        others[i] = max(other, 1e-9 * max(prev.liquidity, 1)) / l_scale
    others[0] = max(bars[0].liquidity, 1) / l_scale
    hedges = np.zeros(len(fills), HEDGE_TRADE_DTYPE)
    for r, f in enumerate(fills):
        sign = 1.0 if f.side == "buy" else -1.0
        hedges[r] = (bar_at(f.ts_ns), sign * f.qty, f.price, f.fee)
    order = np.argsort(hedges["bar"], kind="stable")
    out, _ = replay_lp_path(price, volume1, others, fee=fee, raw_per_human=raw_per_human, actions=acts,
                            hedge_trades=hedges[order])  # fmt: skip
    return {"bars": int(n), "path_resets": resets, "decomposition": pnl_decomposition(out)}


def summary_text(report: dict[str, Any]) -> str:
    """A few lines for humans."""
    d = report["decomposition"]
    lines = [
        f"end price            {report['end_price']:.2f}",
        f"actions              {report['actions']}",
        f"transactions         {report['transactions']}  gas {report['gas_eth']:.6f} ETH",
        f"fees collected/owed  {report['fees0']:.6f} base + {report['fees1']:.2f} quote",
        f"hedge                {report['hedge']}",
        "PnL (quote):",
    ]
    bt = report.get("backtest")
    if bt:
        b = bt["decomposition"]
        lines[-1] = f"PnL (quote):    {'live':>14} {'backtester':>14}   (replay of the same path, {bt['bars']} bars)"
        lines += [f"  {name:<12} {value:>14.4f} {b.get(name, float('nan')):>14.4f}" for name, value in d.items()]
    else:
        lines += [f"  {name:<12} {value:>14.4f}" for name, value in d.items()]
    return "\n".join(lines) + "\n"


def write_report(report: dict[str, Any], run_dir: str | Path) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.txt`` into ``run_dir``."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    js = run_dir / "report.json"
    txt = run_dir / "report.txt"
    js.write_text(json.dumps(report, indent=2, sort_keys=True))
    txt.write_text(summary_text(report))
    return js, txt


def report_for_config_dir(
    config_dir: str | Path, run_dir: str | Path, *, end_ns: int | None = None, base_dir: str | Path = "."
) -> dict[str, Any]:
    """The report of a stack run from its config directory (journal paths, decimals of the
    devnet tokens, end price = the paper reference price at ``end_ns``, by default the time of
    the last LP step or trader checkpoint), written to ``run_dir``. Relative journal paths are
    taken from ``base_dir`` (the directory the stack ran in)."""
    from asymlp_runtime.config import load_config
    from asymlp_runtime.processes.paper import PaperSettings

    config_dir = Path(config_dir)
    lp_cfg = load_config(config_dir / "lp_manager.toml")
    assert lp_cfg.lp is not None and lp_cfg.global_.journal_path
    trader = config_dir / "trader.toml"
    engines = sorted(config_dir.glob("trading_engine_*.toml"))
    base = Path(base_dir)

    def at(path: str | None) -> Path | None:
        return base / path if path else None

    lp_journal = at(lp_cfg.global_.journal_path)
    assert lp_journal is not None
    if not lp_journal.exists():
        raise FileNotFoundError(f"no LP journal at {lp_journal}")
    trader_journal = at(load_config(trader).global_.journal_path) if trader.exists() else None
    engine_journal = at(load_config(engines[0]).global_.journal_path) if engines else None
    if end_ns is None:  # the last thing journaled: an LP step or the trader's last PnL checkpoint
        with Journal(lp_journal, read_only=True) as j:
            stamps = [s.ts_ns for s in j.read(LpStepRecord)]
        if trader_journal and Path(trader_journal).exists():
            with Journal(trader_journal, read_only=True) as j:
                stamps += [c.ts_ns for c in j.read(CheckpointRecord)]
        end_ns = max(stamps, default=0) or None
    reference = PaperSettings.from_env().path(lp_cfg.lp.reference_symbol)
    import time

    end_price = float(reference(end_ns or time.time_ns()))
    report = run_report(lp_journal, trader_journal=trader_journal, engine_journal=engine_journal,
                        end_price=end_price, pool=lp_cfg.lp.pool, fee=lp_cfg.lp.fee_tier / 1e6)  # fmt: skip
    write_report(report, run_dir)
    return report


def main(argv: list[str] | None = None) -> int:
    """``python -m asymlp_runtime.lp.run_report CONFIG_DIR RUN_DIR``: write and print the report."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m asymlp_runtime.lp.run_report")
    parser.add_argument("config_dir")
    parser.add_argument("run_dir")
    args = parser.parse_args(argv)
    report = report_for_config_dir(args.config_dir, args.run_dir)
    print(summary_text(report), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
