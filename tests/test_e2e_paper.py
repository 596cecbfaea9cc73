"""End to end: the whole stack on loopback in paper mode, then every process killed in turn.

One stack (module fixture) runs ``asymlp run`` on a copy of the repository's ``config/`` (ports
moved to free ones, metrics off) for about 20 s, with fake credentials in the environment that
must never reach a log. Then each process is killed with ``kill -9`` in turn and must come back;
then the stack is stopped with SIGTERM. The checks read the streams seen on the bus, the
supervisor's status file, ``asymlp status``, the journals and the paper venue's account file.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from tests.process_helpers import StreamObserver, free_ports

from asymlp_runtime import messages as m
from asymlp_runtime.config import load_config
from asymlp_runtime.journal import (
    FillRecord,
    Journal,
    LpActionEndRecord,
    LpActionRecord,
    OrderRecord,
    PositionSnapshot,
    rebuild_state,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

REPO = Path(__file__).resolve().parents[1]
FAKE_API_KEY = "fake-key-123-e2e-DO-NOT-LOG-7f3a9c"
FAKE_PRIVATE_KEY = "0x" + "5e" * 32
RUN_S = 20.0
ORDER = ("quote_server_binance", "trading_engine_binance", "position_server_binance", "lp_manager", "trader")


@dataclass
class StackRun:
    root: Path
    config_dir: Path
    status_rc: int = -1
    status_text: str = ""
    status_after_faults_rc: int = -1
    status_after_faults_text: str = ""
    restarts: dict[str, dict] = field(default_factory=dict)
    exit_code: int | None = None
    inventory: list[m.InventoryDelta] = field(default_factory=list)
    inventory_t: list[float] = field(default_factory=list)
    actions: list[m.LpAction] = field(default_factory=list)
    risk: list[tuple[float, m.RiskState]] = field(default_factory=list)
    positions: list[m.Position] = field(default_factory=list)
    positions_t: list[float] = field(default_factory=list)
    fills: list[m.Fill] = field(default_factory=list)
    phase_a_end: float = 0.0
    stack_output: str = ""


def _copy_config(src: Path, dst: Path) -> None:
    """The repository's configs with every port replaced by a free one and metrics off."""
    dst.mkdir(parents=True)
    texts = {p.name: p.read_text() for p in sorted(src.glob("*.toml"))}
    ports = sorted({int(x) for t in texts.values() for x in re.findall(r"tcp://127\.0\.0\.1:(\d+)", t)})
    mapping = dict(zip(ports, free_ports(len(ports)), strict=True))
    for name, text in texts.items():
        text = re.sub(r"tcp://127\.0\.0\.1:(\d+)", lambda mt: f"tcp://127.0.0.1:{mapping[int(mt[1])]}", text)
        text = re.sub(r"(?m)^metrics_port = \d+", "metrics_port = 0", text)
        (dst / name).write_text(text)


def _status(root: Path) -> dict:
    try:
        return json.loads((root / "run" / "status.json").read_text())
    except (OSError, ValueError):
        return {}


def _procs(root: Path) -> dict[str, dict]:
    return {p["name"]: p for p in _status(root).get("processes", [])}


def _wait(predicate, timeout_s: float, step_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step_s)
    return bool(predicate())


def _all_ok(root: Path) -> bool:
    procs = _procs(root)
    return len(procs) == len(ORDER) and all(p["status"] == "ok" for p in procs.values())


class _Observer(StreamObserver):
    """Subscribes to the lp, risk, account and reports streams in a thread of its own."""

    def __init__(self, run: StackRun) -> None:
        self.run = run
        cfg = {n: load_config(run.config_dir / f"{n}.toml") for n in ORDER}
        endpoints = {
            "lp": (cfg["lp_manager"].publishers["lp"], ("inventory.", "lp_action."), m.LpStream),
            "risk": (cfg["trader"].publishers["risk"], ("risk.",), m.RiskStream),
            "account": (cfg["position_server_binance"].publishers["account"], ("position.",), m.Account),
            "reports": (cfg["trading_engine_binance"].publishers["reports"], ("fill.",), m.Reports),
        }
        super().__init__(endpoints, self._record, poll_s=0.01)

    def _record(self, msg: m.Message) -> None:
        match msg:
            case m.InventoryDelta():
                self.run.inventory.append(msg)
                self.run.inventory_t.append(time.monotonic())
            case m.LpAction():
                self.run.actions.append(msg)
            case m.RiskState():
                self.run.risk.append((time.monotonic(), msg))
            case m.Position():
                self.run.positions.append(msg)
                self.run.positions_t.append(time.monotonic())
            case m.Fill():
                self.run.fills.append(msg)


def _asymlp(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "asymlp_runtime.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> StackRun:
    root = tmp_path_factory.mktemp("stack")
    run = StackRun(root=root, config_dir=root / "config")
    _copy_config(REPO / "config", run.config_dir)
    env = dict(os.environ)
    env.update({
        "BINANCE_API_KEY": FAKE_API_KEY,  # a key without its secret: still the paper venue
        "LP_PRIVATE_KEY": FAKE_PRIVATE_KEY,  # no RPC URL: still the simulated pool
        "ASYMLP_PAPER_DIR": str(root / "data" / "paper"),
        "PYTHONUNBUFFERED": "1",
    })
    env.pop("BINANCE_API_SECRET", None)
    env.pop("LP_RPC_URL", None)
    out = (root / "stack.out").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "asymlp_runtime.cli", "run", str(run.config_dir), "--run-dir", "run"],
        cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
    )
    observer = _Observer(run)
    observer.start()
    try:
        assert _wait(lambda: _all_ok(root), 90.0), f"stack never healthy: {_procs(root)}"
        time.sleep(RUN_S)
        run.phase_a_end = time.monotonic()
        result = _asymlp("status", "--run-dir", "run", cwd=root, env=env)
        run.status_rc, run.status_text = result.returncode, result.stdout
        for name in ORDER:
            before = _procs(root)[name]
            os.kill(before["pid"], signal.SIGKILL)
            killed_ns = time.time_ns()
            t0 = time.monotonic()
            back = _wait(lambda n=name, pid=before["pid"]: _procs(root)[n]["pid"] not in (None, pid)
                         and _procs(root)[n]["status"] == "ok", 30.0)
            after = _procs(root)[name]
            run.restarts[name] = {
                "back": back,
                "back_s": time.monotonic() - t0,
                "t_back": time.monotonic(),
                "restart_gap_ns": (after["started_ns"] or 0) - (after["last_exit_ns"] or 0),
                "started_after_kill_ns": (after["started_ns"] or 0) - killed_ns,
                "restarts": after["restarts"],
                "old_pid": before["pid"],
                "new_pid": after["pid"],
            }
            _wait(lambda: _all_ok(root), 15.0)
        time.sleep(4.0)
        result = _asymlp("status", "--run-dir", "run", cwd=root, env=env)
        run.status_after_faults_rc, run.status_after_faults_text = result.returncode, result.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            run.exit_code = proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            run.exit_code = proc.wait(10)
        observer.stop()
        out.close()
    run.stack_output = (root / "stack.out").read_text()
    return run


def test_stack_is_healthy_and_status_says_so(stack):
    assert stack.status_rc == 0, stack.status_text
    for name in ORDER:
        assert re.search(rf"(?m)^{name}\s+ok\s", stack.status_text), stack.status_text
    assert stack.status_after_faults_rc == 0, stack.status_after_faults_text


def test_killed_processes_restart_within_two_seconds(stack):
    for name in ORDER:
        r = stack.restarts[name]
        print(f"{name}: restarted {r['restart_gap_ns'] / 1e9:.2f} s after its exit, healthy again after "
              f"{r['back_s']:.2f} s")
        assert r["back"], (name, r)
        assert r["new_pid"] != r["old_pid"] and r["restarts"] == 1, (name, r)
        assert 0 < r["restart_gap_ns"] < 2_000_000_000, (name, r)
        assert r["started_after_kill_ns"] < 2_000_000_000, (name, r)


def test_lp_inventory_moves_and_matches_its_actions(stack):
    inv = [x for x in stack.inventory if x.pool_id == "sim"]
    assert len({(x.amount0_raw, x.amount1_raw) for x in inv}) > 10
    assert any(a.action == "open" for a in stack.actions)
    with Journal(stack.root / "data" / "journal" / "lp_manager.sqlite") as journal:
        state = rebuild_state(journal)
        actions = journal.read(LpActionRecord)
        ends = journal.read(LpActionEndRecord)
    assert actions and not state.lp_actions_in_progress
    assert len({e.action_id for e in ends}) == len(ends) == len(actions)


@pytest.mark.parametrize(
    "publisher",
    [
        "lp_manager",
        "position_server_binance",
        "trader",
    ],
)
def test_streams_are_received_again_after_their_publisher_restarts(stack, publisher):
    t_back = stack.restarts[publisher]["t_back"]
    times = {
        "lp_manager": stack.inventory_t,
        "position_server_binance": stack.positions_t,
        "trader": [t for t, _ in stack.risk],
    }[publisher]
    after = [t for t in times if t > t_back + 1.0]
    assert len(after) >= 3, f"{len(after)} messages from {publisher} after its restart"


def test_trader_keeps_the_residual_within_its_band(stack):
    band = load_config(stack.config_dir / "trader.toml").trader.hedge_band
    samples = [r for t, r in stack.risk if t <= stack.phase_a_end and r.kill_flags == 0]
    assert len(samples) > 20, f"{len(stack.risk)} risk messages, {len(samples)} without kill flags"
    within = [abs(r.residual) <= band + 1e-9 for r in samples]
    assert sum(within) / len(within) >= 0.8, [round(r.residual, 4) for r in samples[-20:]]
    assert any(abs(r.hedge_position) > 0 for r in samples)  # it did hedge


def test_positions_agree_across_journal_position_server_and_venue(stack):
    from asymlp_runtime.processes.paper import PaperAccountStore

    with Journal(stack.root / "data" / "journal" / "trading_engine_binance.sqlite") as journal:
        engine = rebuild_state(journal)
    store = PaperAccountStore(stack.root / "data" / "paper" / "binance.sqlite")
    try:
        account = store.load("binance")
    finally:
        store.close()
    assert account is not None
    venue_qty = {p.symbol: p.qty for p in account.positions}
    journal_qty = {sym: pos.qty for (_, sym), pos in engine.positions.items()}
    assert journal_qty, "no fills in the trading engine's journal"
    for sym, qty in journal_qty.items():
        assert venue_qty.get(sym, 0.0) == pytest.approx(qty, abs=1e-9)
    with Journal(stack.root / "data" / "journal" / "position_server_binance.sqlite") as journal:
        snapshots = journal.read(PositionSnapshot)
    for sym, qty in journal_qty.items():
        latest = [s for s in snapshots if s.symbol == sym]
        assert latest and latest[-1].qty == pytest.approx(qty, abs=1e-9)
    seen = {p.symbol for p in stack.positions}
    assert set(journal_qty) <= seen  # the position server published them on the bus


def test_no_order_or_fill_lost_or_duplicated(stack):
    from asymlp_runtime.processes.paper import PaperAccountStore

    with Journal(stack.root / "data" / "journal" / "trading_engine_binance.sqlite") as journal:
        orders = journal.read(OrderRecord)
        fills = journal.read(FillRecord)
    store = PaperAccountStore(stack.root / "data" / "paper" / "binance.sqlite")
    try:
        account = store.load("binance")
    finally:
        store.close()
    assert account is not None and orders and fills
    venue_orders = [o.client_order_id for o in account.orders]
    assert len(venue_orders) == len(set(venue_orders))  # never placed twice
    assert {o.client_order_id for o in orders} >= set(venue_orders)  # journaled before placed
    venue_fills = {f.fill_id: f for f in account.fills}
    journal_fills = {f.fill_id: f for f in fills}
    assert len(journal_fills) == len(fills)
    assert set(venue_fills) == set(journal_fills)  # none lost, none invented
    for fid, f in venue_fills.items():
        assert journal_fills[fid].qty == pytest.approx(f.qty) and journal_fills[fid].side == f.side
    seen = [f.fill_id for f in stack.fills]
    assert set(seen) <= set(journal_fills)


def test_fake_keys_never_reach_any_log(stack):
    suffixes = (".log", ".out", ".json", ".txt")
    files = [p for p in stack.root.rglob("*") if p.is_file() and p.suffix in suffixes]
    assert any(p.suffix == ".log" for p in files)
    for path in files:
        text = path.read_text(errors="replace")
        assert FAKE_API_KEY not in text, path
        assert FAKE_PRIVATE_KEY[2:] not in text, path
    assert FAKE_API_KEY not in stack.stack_output


def test_stack_stops_cleanly_on_sigterm(stack):
    assert stack.exit_code == 0, stack.stack_output[-2000:]
    procs = _procs(stack.root)
    assert all(p["status"] == "stopped" for p in procs.values()), procs


def test_export_cli_writes_every_journal_table(stack, tmp_path):
    from asymlp_runtime.journal import TABLES

    journal = stack.root / "data" / "journal" / "lp_manager.sqlite"
    result = _asymlp("export", str(journal), str(tmp_path / "out"), "--format", "parquet", cwd=stack.root,
                     env=dict(os.environ))
    assert result.returncode == 0, result.stdout + result.stderr
    assert {p.stem for p in (tmp_path / "out").glob("*.parquet")} == set(TABLES)
