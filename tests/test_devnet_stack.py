"""Acceptance: the whole stack on the local devnet (``asymlp run config/devnet``) for 2+ minutes.

``asymlp run`` on a copy of ``config/devnet`` (ports moved to free ones, metrics off) on
embedded defaults: the lp_manager starts anvil with the real Uniswap V3 contracts, its devnet
wallet provides liquidity, the devnet flow swaps against the pool, the trader hedges on the paper
venue. Fake credentials are in the environment (a private key and an exchange API key); no log
may contain them. After the run the journals give the report (fees, gas, IL, hedge PnL), written
as ``report.json``/``report.txt`` in the run directory.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.process_helpers import StreamObserver, free_ports

from asymlp_runtime import messages as m
from asymlp_runtime.config import load_config
from asymlp_runtime.journal import Journal, LpActionEndRecord, LpActionRecord, TxReceiptRecord
from asymlp_runtime.lp.run_report import report_for_config_dir

pytestmark = [pytest.mark.slow, pytest.mark.chain, pytest.mark.timeout(400)]

REPO = Path(__file__).resolve().parents[1]
FAKE_PRIVATE_KEY = "0x" + "c0ffee42" * 8
FAKE_API_KEY = "fake-devnet-key-9d1e7b-DO-NOT-LOG"
RUN_S = 125.0
NAMES = ("quote_server_binance", "trading_engine_binance", "position_server_binance", "lp_manager", "trader")


def _copy_config(src: Path, dst: Path) -> None:
    dst.mkdir(parents=True)
    texts = {p.name: p.read_text() for p in sorted(src.glob("*.toml"))}
    ports = sorted({int(x) for t in texts.values() for x in re.findall(r"tcp://127\.0\.0\.1:(\d+)", t)})
    mapping = dict(zip(ports, free_ports(len(ports)), strict=True))
    for name, text in texts.items():
        text = re.sub(r"tcp://127\.0\.0\.1:(\d+)", lambda mt: f"tcp://127.0.0.1:{mapping[int(mt[1])]}", text)
        text = re.sub(r"(?m)^metrics_port = \d+", "metrics_port = 0", text)
        (dst / name).write_text(text)


def _procs(root: Path) -> dict[str, dict]:
    try:
        status = json.loads((root / "run" / "status.json").read_text())
    except (OSError, ValueError):
        return {}
    return {p["name"]: p for p in status.get("processes", [])}


def _wait(predicate, timeout_s: float, step_s: float = 0.2) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step_s)
    return bool(predicate())


def _all_ok(root: Path) -> bool:
    procs = _procs(root)
    return len(procs) == len(NAMES) and all(p["status"] == "ok" for p in procs.values())


class _Observer(StreamObserver):
    """Risk and LP streams, in a thread of its own."""

    def __init__(self, config_dir: Path) -> None:
        lp = load_config(config_dir / "lp_manager.toml").publishers["lp"]
        risk = load_config(config_dir / "trader.toml").publishers["risk"]
        self.inventory: list[m.InventoryDelta] = []
        self.actions: list[m.LpAction] = []
        self.risk: list[tuple[float, m.RiskState]] = []
        endpoints = {"lp": (lp, ("inventory.", "lp_action."), m.LpStream), "risk": (risk, ("risk.",), m.RiskStream)}
        super().__init__(endpoints, self._record, poll_s=0.02)

    def _record(self, msg: m.Message) -> None:
        match msg:
            case m.InventoryDelta():
                self.inventory.append(msg)
            case m.LpAction():
                self.actions.append(msg)
            case m.RiskState():
                self.risk.append((time.monotonic(), msg))


def test_devnet_stack_earns_fees_rebalances_hedges_and_reports(tmp_path):
    root = tmp_path
    config_dir = root / "config"
    _copy_config(REPO / "config" / "devnet", config_dir)
    env = dict(os.environ)
    env.update({
        "BINANCE_API_KEY": FAKE_API_KEY,  # without its secret: still the paper venue
        "LP_PRIVATE_KEY": FAKE_PRIVATE_KEY,  # the devnet config signs with its own devnet wallet
        "ASYMLP_PRIVATE_KEY": FAKE_PRIVATE_KEY,
        "ASYMLP_PAPER_DIR": str(root / "data" / "paper"),
        "PYTHONUNBUFFERED": "1",
    })  # fmt: skip
    for name in ("BINANCE_API_SECRET", "LP_RPC_URL"):
        env.pop(name, None)
    out = (root / "stack.out").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "asymlp_runtime.cli", "run", str(config_dir), "--run-dir", "run"],
        cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    observer = _Observer(config_dir)
    observer.start()
    status_rc, status_text = -1, ""
    try:
        assert _wait(lambda: _all_ok(root), 90.0), f"stack never healthy: {_procs(root)}"
        t_healthy = time.monotonic()
        time.sleep(RUN_S)
        status = subprocess.run([sys.executable, "-m", "asymlp_runtime.cli", "status", "--run-dir", "run"],
                                cwd=root, env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
        status_rc, status_text = status.returncode, status.stdout
        anvil_pids = [int(p) for p in subprocess.run(["pgrep", "-P", str(_procs(root)["lp_manager"]["pid"])],
                                                     capture_output=True, text=True).stdout.split()]  # fmt: skip
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            exit_code = proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            exit_code = proc.wait(10)
        observer.stop()
        out.close()
    assert exit_code == 0, (root / "stack.out").read_text()[-3000:]

    # asymlp status: every process healthy after 2 minutes
    assert status_rc == 0, status_text
    for name in NAMES:
        assert re.search(rf"(?m)^{name}\s+ok\s", status_text), status_text
    # the devnet stopped with the lp_manager
    assert anvil_pids, "no anvil child of lp_manager"
    for pid in anvil_pids:
        assert _wait(lambda p=pid: not Path(f"/proc/{p}").exists(), 10.0), f"anvil {pid} left running"

    lp_journal = root / "data" / "devnet" / "journal" / "lp_manager.sqlite"
    with Journal(lp_journal) as j:
        actions = j.read(LpActionRecord)
        ends = {e.action_id: e.outcome for e in j.read(LpActionEndRecord)}
        receipts = j.read(TxReceiptRecord)
    kinds = [a.kind for a in actions if ends.get(a.action_id) == "completed"]
    assert kinds[0] == "open" and kinds.count("rebalance") >= 1, kinds
    assert receipts and all(r.status == "success" for r in receipts)
    assert observer.inventory and {a.action for a in observer.actions} >= {"open", "close", "rebalance"}

    # the trader keeps the residual within its band (outside the few seconds after an LP change)
    band = load_config(config_dir / "trader.toml").trader.hedge_band  # type: ignore[union-attr]
    settled = [r for t, r in observer.risk if t > t_healthy + 10.0]
    assert settled
    within = sum(abs(r.residual) <= band + 0.01 for r in settled) / len(settled)
    assert within >= 0.8, within
    assert abs(settled[-1].residual) <= band + 0.01

    # the report, from the journals
    report = report_for_config_dir(config_dir, root / "run", base_dir=root)
    assert (root / "run" / "report.json").exists() and (root / "run" / "report.txt").exists()
    d = report["decomposition"]
    assert report["rebalances"] >= 1
    assert d["fees"] > 0 and int(report["fees_raw"][0]) + int(report["fees_raw"][1]) > 0
    assert d["gas"] < 0 and report["transactions"] == len(receipts)
    assert report["hedge"]["fills"] > 0
    assert set(d) == {"fees", "hodl", "il", "gas", "swap_cost", "hedge_pnl", "funding", "hedge_cost", "total"}
    # the backtester's accounting on the path the lp_manager observed, with the run's positions and the
    # hedge fills: the same parts (fees through the backtester's fee model, from the pool's fee growth)
    bt = report["backtest"]
    assert bt is not None and bt["bars"] > 100
    b = bt["decomposition"]
    assert b["fees"] == pytest.approx(d["fees"], rel=0.05)
    for part in ("hodl", "il", "gas", "swap_cost", "hedge_cost"):
        assert b[part] == pytest.approx(d[part], rel=1e-6, abs=1e-3), part
    assert b["hedge_pnl"] == pytest.approx(d["hedge_pnl"], rel=1e-3, abs=0.05)
    assert "backtester" in (root / "run" / "report.txt").read_text()

    # no secret in any log or output of the run
    suffixes = (".log", ".out", ".json", ".txt")
    texts = [p.read_text(errors="replace") for p in root.rglob("*") if p.is_file() and p.suffix in suffixes]
    blob = "".join(texts)
    assert "lp_manager" in blob
    for secret in (FAKE_PRIVATE_KEY, FAKE_PRIVATE_KEY[2:], FAKE_API_KEY):
        assert secret not in blob
