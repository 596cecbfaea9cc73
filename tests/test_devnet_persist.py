"""The local devnet survives the process that started it (``kill -9`` included).

Real anvil nodes with the real Uniswap V3 contracts. The owner of a persisted devnet runs in a
child process that is killed with SIGKILL (anvil then gets SIGTERM from its parent-death signal
and writes its exit dump); the next start from the same directory must re-attach to the same
chain: same addresses, the block number and time going on from where they stopped, positions,
balances and nonces intact, swaps and the devnet flow working. Broken state directories must be
refused with an error naming the file (or, for a first start that never completed, replaced
with a warning).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from asymlp_runtime.chain.anvil import AnvilConfig, AnvilNode, AnvilStateError
from asymlp_runtime.chain.devnet import RECORD_FILE, STATE_FILE, Devnet, DevnetConfig, DevnetStateError, TokenSpec
from asymlp_runtime.chain.rpc import JsonRpcClient
from asymlp_runtime.config import load_config_text
from asymlp_runtime.lp.chain_backend import devnet_state_dir, make_chain_backend, start_devnet_world
from asymlp_runtime.lp.devnet_flow import DevnetFlow, DevnetFlowSettings

pytestmark = [pytest.mark.chain, pytest.mark.timeout(180)]

REPO = Path(__file__).resolve().parents[1]
FEE = 3000
BACKGROUND = ((0.5, 20_000_000.0), (0.05, 10_000_000.0))

# The owner of a persisted devnet world in a child process: it mints a position (deployer) and
# prints what it saw, then waits to be killed.
_WORLD_OWNER = """
import json, sys, time
from pathlib import Path
from asymlp_runtime.lp.chain_backend import start_devnet_world
world = start_devnet_world(fee=3000, initial_price=3000.0, budget1=60000.0,
                           background=((0.5, 2e7), (0.05, 1e7)), state_dir=Path(sys.argv[1]))
net = world.net
spacing = net.pools[3000].tick_spacing
tick = net.slot0(3000).tick // spacing * spacing
minted = net.mint(3000, tick - 10 * spacing, tick + 10 * spacing, 10**18, 3000 * 10**6)
head = net.rpc.request("eth_getBlockByNumber", ["latest", False])
print(json.dumps({
    "reloaded": net.reloaded, "anvil_pid": net.node.pid, "token_id": minted.token_id,
    "liquidity": minted.liquidity, "tick_lower": tick - 10 * spacing, "tick_upper": tick + 10 * spacing,
    "block": int(head["number"], 16), "timestamp": int(head["timestamp"], 16),
    "addresses": {n: getattr(net, n).address for n in ("weth9", "factory", "npm", "router", "quoter", "base", "quote")},
    "pool": net.pools[3000].address,
    "nonce1": int(net.rpc.request("eth_getTransactionCount", [net.accounts[1], "latest"]), 16),
}), flush=True)
time.sleep(600)
"""

# lp_manager's backend in a child process: opens a position through the manager, then waits.
_BACKEND_OWNER = """
import asyncio, json, sys, time
from asymlp_runtime.config import load_config
from asymlp_runtime.lp.chain_backend import make_chain_backend
backend = make_chain_backend(load_config(sys.argv[1]), start_flow=False)
async def main():
    state = await backend.pool_state()
    lo = state.tick // backend.tick_spacing * backend.tick_spacing - 10 * backend.tick_spacing
    hi = lo + 20 * backend.tick_spacing
    return await backend.open(lo, hi, 10**18, 3000 * 10**6, op_id="persist-open:0")
res = asyncio.run(main())
print(json.dumps({"reloaded": backend.world.net.reloaded, "anvil_pid": backend.world.net.node.pid,
                  "token_id": backend.manager.token_id, "liquidity": res.liquidity,
                  "tick_lower": res.tick_lower, "tick_upper": res.tick_upper}), flush=True)
time.sleep(600)
"""


def _run_owner_and_kill(code: str, *args: str, timeout_s: float = 90.0) -> dict[str, Any]:
    """Run ``code`` in a child, read its JSON line, SIGKILL the child, wait until its anvil
    (SIGTERM by the parent-death signal) has written its dump and exited."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, cwd=REPO)  # fmt: skip
    try:
        line = proc.stdout.readline() if proc.stdout is not None else b""
        if not line:
            proc.wait(timeout_s)
            err = proc.stderr.read().decode(errors="replace") if proc.stderr is not None else ""
            raise AssertionError(f"owner exited without output:\n{err[-3000:]}")
        seen = json.loads(line)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout_s)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    _wait_gone(seen["anvil_pid"])
    return seen


def _wait_gone(pid: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        try:  # a zombie (not reaped yet) is gone for our purpose
            if Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] == "Z":
                return
        except OSError:
            return
        time.sleep(0.02)
    raise AssertionError(f"anvil {pid} still running {timeout_s}s after its parent was killed")


def _head(net: Devnet) -> tuple[int, int]:
    head = net.rpc.request("eth_getBlockByNumber", ["latest", False])
    return int(head["number"], 16), int(head["timestamp"], 16)


# ---------------------------------------------------------------------------------------------
# kill -9 of the owner
# ---------------------------------------------------------------------------------------------
def test_devnet_world_after_owner_sigkill_reloads_same_chain_position_and_swaps(tmp_path: Path) -> None:
    state_dir = tmp_path / "chain"
    before = _run_owner_and_kill(_WORLD_OWNER, str(state_dir))
    assert before["reloaded"] is False
    assert (state_dir / STATE_FILE).exists() and (state_dir / RECORD_FILE).exists()

    world = start_devnet_world(fee=FEE, initial_price=2500.0, budget1=60_000.0, background=BACKGROUND,
                               state_dir=state_dir)  # fmt: skip
    try:
        net = world.net
        assert net.reloaded
        assert {n: getattr(net, n).address for n in before["addresses"]} == before["addresses"]
        assert net.pools[FEE].address == before["pool"]
        block, ts = _head(net)
        assert block == before["block"]  # the exit dump holds the last block
        assert ts == before["timestamp"]
        position = net.npm_position(before["token_id"])
        assert position.liquidity == before["liquidity"]
        assert (position.tick_lower, position.tick_upper) == (before["tick_lower"], before["tick_upper"])
        # nonces go on (anvil fills them for its unlocked accounts; they are not reset)
        assert int(net.rpc.request("eth_getTransactionCount", [net.accounts[1], "latest"]), 16) == before["nonce1"]
        # a swap works, in the next block, exactly one second later (time never goes back)
        swapped = net.swap_exact_input_single(FEE, True, 100 * 10**6, sender=net.accounts[1])
        assert swapped.tx.block_number == block + 1
        assert _head(net) == (block + 1, ts + 1)
        net.rpc.request("anvil_mine", ["0x3"])
        assert _head(net) == (block + 4, ts + 4)
        # the TWAP window of the pool still has history (observe over 60 s does not revert)
        net.call(net.pools[FEE].address, "observe", [60, 0])
    finally:
        world.close()


def _process_config(tmp_path: Path) -> Path:
    path = tmp_path / "lp_manager.toml"
    path.write_text(f"""
[GLOBAL]
process_name = "lp_manager"
log_dir = "{tmp_path}/logs"
journal_path = "{tmp_path}/data/journal/lp_manager.sqlite"
[LP]
pool = "devnet"
fee_tier = {FEE}
backend = "chain"
[LP.sim]
initial_price = 3000.0
""")
    return path


def test_make_chain_backend_after_sigkill_finds_the_journaled_position_and_mints_nothing(tmp_path: Path) -> None:
    config_path = _process_config(tmp_path)
    config = load_config_text(config_path.read_text(), str(config_path))
    state_dir = devnet_state_dir(config)
    assert state_dir == tmp_path / "data" / "journal" / "lp_manager_devnet"
    before = _run_owner_and_kill(_BACKEND_OWNER, str(config_path))
    assert before["reloaded"] is False and before["token_id"] > 0

    backend = make_chain_backend(config, start_flow=False)
    try:
        world = backend.world
        assert world is not None and world.net.reloaded
        manager = backend.manager
        assert manager.token_id == before["token_id"]  # recover() found it on the reloaded chain
        owned = [(tid, p.liquidity) for tid, p in manager.reader.owned_positions()]
        assert owned == [(before["token_id"], before["liquidity"])]  # one position, none minted again
        position = asyncio.run(backend.position())
        assert (position.tick_lower, position.tick_upper) == (before["tick_lower"], before["tick_upper"])
        assert position.liquidity == before["liquidity"]
        # the journal and the chain agree on the open operation: found, not repeated
        done = asyncio.run(backend.op_result("persist-open:0"))
        assert done is not None and done.liquidity == before["liquidity"]
        # the devnet flow trades from its accounts with the reloaded nonces
        flow = DevnetFlow(world.net, FEE, None, DevnetFlowSettings(noise_rate_per_s=20.0, arbitrage=False), seed=3)
        flow.advance(0.0, None)
        flow.advance(1.0, None)
        assert flow.stats.noise_swaps > 0 and flow.stats.failed_swaps == 0
    finally:
        backend.close_now()


# ---------------------------------------------------------------------------------------------
# anvil's own dumps
# ---------------------------------------------------------------------------------------------
def test_anvil_sigkilled_itself_restarts_from_its_last_periodic_dump(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    node = AnvilNode(AnvilConfig(state_path=state, state_interval_s=1, log_path=tmp_path / "a.log"))
    rpc = JsonRpcClient(node.rpc_url)
    try:
        rpc.request("anvil_mine", ["0x14"])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the next periodic dump holds block 20
            time.sleep(0.2)
            try:
                if json.loads(state.read_text())["best_block_number"] == 20:
                    break
            except (OSError, ValueError, KeyError):
                pass
        else:
            raise AssertionError("no periodic dump with block 20")
        os.kill(node.pid, signal.SIGKILL)
        node.close()
    finally:
        rpc.close()
    with AnvilNode(AnvilConfig(state_path=state, log_path=tmp_path / "b.log")) as again:
        assert again.loaded_state
        rpc = JsonRpcClient(again.rpc_url)
        head = rpc.request("eth_getBlockByNumber", ["latest", False])
        assert int(head["number"], 16) == 20
        assert int(head["timestamp"], 16) == AnvilConfig().genesis_timestamp + 20
        rpc.request("evm_mine", [])
        head = rpc.request("eth_getBlockByNumber", ["latest", False])
        assert int(head["timestamp"], 16) == AnvilConfig().genesis_timestamp + 21
        rpc.close()


# ---------------------------------------------------------------------------------------------
# broken or foreign state directories
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def persisted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small persisted devnet (one pool), stopped cleanly."""
    state_dir = tmp_path_factory.mktemp("persisted") / "chain"
    net = Devnet.start(DevnetConfig(fee_tiers=(FEE,), state_dir=state_dir))
    net.close()
    return state_dir


def _copy(persisted: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "chain"
    shutil.copytree(persisted, dst)
    return dst


def test_reload_of_clean_copy_reattaches(persisted: Path, tmp_path: Path) -> None:
    state_dir = _copy(persisted, tmp_path)
    with Devnet.start(DevnetConfig(fee_tiers=(FEE,), state_dir=state_dir)) as net:
        assert net.reloaded
        assert net.record_path == state_dir / RECORD_FILE
        assert net.balance_of(net.base, net.accounts[1]) == DevnetConfig().fund_amount


def test_corrupt_record_raises_naming_the_record(persisted: Path, tmp_path: Path) -> None:
    state_dir = _copy(persisted, tmp_path)
    (state_dir / RECORD_FILE).write_text('{"format": "asymlp-devnet/1", "addresses": ')
    with pytest.raises(DevnetStateError, match=f"{state_dir / RECORD_FILE}: unreadable devnet record"):
        Devnet.start(DevnetConfig(fee_tiers=(FEE,), state_dir=state_dir))


def test_record_of_another_configuration_raises_naming_the_keys(persisted: Path, tmp_path: Path) -> None:
    state_dir = _copy(persisted, tmp_path)
    quote8 = TokenSpec(name="USD Coin (devnet)", symbol="dUSDC", decimals=8)
    with pytest.raises(DevnetStateError, match=r"devnet\.json: recorded for another devnet configuration \(quote"):
        Devnet.start(DevnetConfig(fee_tiers=(FEE,), quote=quote8, state_dir=state_dir))
    with pytest.raises(DevnetStateError, match="fee_tiers: recorded"):
        Devnet.start(DevnetConfig(fee_tiers=(500, FEE), state_dir=state_dir))


def test_record_not_matching_the_chain_raises(persisted: Path, tmp_path: Path) -> None:
    state_dir = _copy(persisted, tmp_path)
    record = json.loads((state_dir / RECORD_FILE).read_text())
    record["addresses"]["router"] = "0x" + "12" * 20  # no code there
    (state_dir / RECORD_FILE).write_text(json.dumps(record))
    with pytest.raises(DevnetStateError, match=r"does not match the chain loaded from .*no contract at .* \(router\)"):
        Devnet.start(DevnetConfig(fee_tiers=(FEE,), state_dir=state_dir))


def test_state_dumped_before_the_recorded_setup_ended_raises(persisted: Path, tmp_path: Path) -> None:
    state_dir = _copy(persisted, tmp_path)
    record = json.loads((state_dir / RECORD_FILE).read_text())
    record["deployed_block"] += 1000  # as if the state file were a dump taken during the setup
    (state_dir / RECORD_FILE).write_text(json.dumps(record))
    with pytest.raises(DevnetStateError, match=r"before the recorded setup ended .*a dump taken during the setup"):
        Devnet.start(DevnetConfig(fee_tiers=(FEE,), state_dir=state_dir))


def test_record_without_state_raises_naming_the_missing_state(persisted: Path, tmp_path: Path) -> None:
    state_dir = _copy(persisted, tmp_path)
    (state_dir / STATE_FILE).unlink()
    with pytest.raises(DevnetStateError, match=f"{state_dir / STATE_FILE}: missing"):
        Devnet.start(DevnetConfig(fee_tiers=(FEE,), state_dir=state_dir))


def test_truncated_state_raises_naming_the_state(persisted: Path, tmp_path: Path) -> None:
    state_dir = _copy(persisted, tmp_path)
    data = (state_dir / STATE_FILE).read_bytes()
    (state_dir / STATE_FILE).write_bytes(data[: len(data) // 2])
    with pytest.raises(AnvilStateError, match=f"{state_dir / STATE_FILE}: anvil could not load"):
        Devnet.start(DevnetConfig(fee_tiers=(FEE,), state_dir=state_dir))


def test_state_without_record_starts_fresh_with_a_warning(
    persisted: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state_dir = _copy(persisted, tmp_path)
    (state_dir / RECORD_FILE).unlink()
    with caplog.at_level(logging.WARNING, logger="asymlp.chain.devnet"):
        net = Devnet.start(DevnetConfig(fee_tiers=(FEE,), state_dir=state_dir))
    try:
        assert not net.reloaded
        assert any("never completed" in r.getMessage() for r in caplog.records)
        assert (state_dir / RECORD_FILE).exists()  # the new world is recorded
    finally:
        net.close()


def test_second_node_on_a_state_in_use_waits_then_raises(persisted: Path, tmp_path: Path) -> None:
    state_dir = _copy(persisted, tmp_path)
    with Devnet.start(DevnetConfig(fee_tiers=(FEE,), state_dir=state_dir)) as net:
        busy = DevnetConfig(fee_tiers=(FEE,), state_dir=state_dir, anvil=AnvilConfig(state_lock_timeout_s=0.3))
        with pytest.raises(AnvilStateError, match=f"still in use by another anvil node \\(pid {net.node.pid}"):
            Devnet.start(busy)


def test_devnet_state_dir_from_state_path_or_beside_the_journal_or_none() -> None:
    base = """
[GLOBAL]
process_name = "lp_x"
{journal}
[LP]
pool = "devnet"
fee_tier = 3000
backend = "chain"
[LP.sim]
{state}
"""
    with_both = load_config_text(base.format(journal='journal_path = "d/j/lp.sqlite"',
                                             state='state_path = "d/chain"'), "<t>")  # fmt: skip
    assert devnet_state_dir(with_both) == Path("d/chain")
    journal_only = load_config_text(base.format(journal='journal_path = "d/j/lp.sqlite"', state=""), "<t>")
    assert devnet_state_dir(journal_only) == Path("d/j/lp_x_devnet")
    assert devnet_state_dir(load_config_text(base.format(journal="", state=""), "<t>")) is None


def test_transaction_block_keeper_drops_old_receipts_and_keeps_the_state_small(tmp_path: Path) -> None:
    def run(keeper: int | None, state_dir: Path) -> tuple[bool, bool, int]:
        net = Devnet.start(DevnetConfig(anvil=AnvilConfig(transaction_block_keeper=keeper), fee_tiers=(FEE,),
                                        state_dir=state_dir))  # fmt: skip
        try:
            net.mint(FEE, -887220, 887220, 10**20, 3 * 10**11)  # full range
            first = net.swap_exact_input_single(FEE, True, 10**15).tx.tx_hash
            for i in range(40):
                last = net.swap_exact_input_single(FEE, i % 2 == 1, 10**15 if i % 2 == 1 else 3 * 10**6).tx.tx_hash
            old = net.rpc.request("eth_getTransactionReceipt", [first]) is not None
            recent = net.rpc.request("eth_getTransactionReceipt", [last]) is not None
        finally:
            net.close()
        return old, recent, (state_dir / STATE_FILE).stat().st_size

    kept_all = run(None, tmp_path / "all")
    kept_10 = run(10, tmp_path / "ten")
    assert kept_all[:2] == (True, True)
    assert kept_10[:2] == (False, True)  # the in-flight (recent) receipts are what a restart needs
    assert kept_10[2] < kept_all[2]
