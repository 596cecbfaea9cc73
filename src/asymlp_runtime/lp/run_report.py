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
    LpStepRecord,
    TxReceiptRecord,
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
    fees_owed: tuple[int, int] = (0, 0),
    pool: str | None = None,
) -> dict[str, Any]:
    """The run's figures and PnL decomposition (see the module docstring).

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
    fees_owed : (int, int)
        Raw fees owed to the open position at the end (not yet collected).
    pool : str, optional
        Only actions of this pool.
    """
    d0, d1 = decimals
    raw_per_human = 10.0 ** (d1 - d0)
    u0, u1 = 10.0**d0, 10.0**d1
    with Journal(lp_journal) as j:
        actions = {a.action_id: a for a in j.read(LpActionRecord) if pool is None or a.pool == pool}
        ends = {e.action_id: e for e in j.read(LpActionEndRecord)}
        steps = [s for s in j.read(LpStepRecord) if s.action_id in actions and s.status == "done"]
        receipts = j.read(TxReceiptRecord)
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
            elif s.kind == "swap" and (a0 or a1):
                swaps.append((a0, a1))
        for a0, a1 in swaps:  # at the pool price of the action (its close, else its mint)
            p = action_price or end_price
            swap_cost += -(a0 / u0 * p + a1 / u1)  # account deltas: value given minus received
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
        with Journal(trader_journal) as j:
            pnl = [c for c in j.read(CheckpointRecord) if c.name == "pnl"]
        if pnl:
            data = json.loads(pnl[-1].payload)
            hedge = {"cash": float(data.get("cash", 0.0)), "hedge_position": float(data.get("hedge_position", 0.0))}
    hedge_fees = 0.0
    n_fills = 0
    if engine_journal is not None and Path(engine_journal).exists():
        with Journal(engine_journal) as j:
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
    }


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
        with Journal(lp_journal) as j:
            stamps = [s.ts_ns for s in j.read(LpStepRecord)]
        if trader_journal and Path(trader_journal).exists():
            with Journal(trader_journal) as j:
                stamps += [c.ts_ns for c in j.read(CheckpointRecord)]
        end_ns = max(stamps, default=0) or None
    reference = PaperSettings.from_env().path(lp_cfg.lp.reference_symbol)
    import time

    end_price = float(reference(end_ns or time.time_ns()))
    report = run_report(lp_journal, trader_journal=trader_journal, engine_journal=engine_journal,
                        end_price=end_price, pool=lp_cfg.lp.pool)  # fmt: skip
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
