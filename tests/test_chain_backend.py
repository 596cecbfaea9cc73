"""The on-chain pool backend against anvil with the real Uniswap V3 contracts.

One devnet world per module (:func:`start_devnet_world`: the pool at 3000 quote per base with
background liquidity, the manager's devnet wallet funded); on the devnet the pool's token0 is the
quote token, so every figure goes through the backend's role flip. Each test starts from the
same chain snapshot with a fresh journal and a fresh backend.

Exactness: every :class:`OpResult` is compared with the chain (wallet balance changes, the
position manager's and the pool's position, receipts' gas) and with the exact tier evaluated on
the pool state at the block before the transaction, to the wei.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from pathlib import Path
from typing import Any

import pytest
from tests.process_helpers import free_ports

from asymlp_core.v3 import get_tick_at_sqrt_ratio
from asymlp_runtime import messages as m
from asymlp_runtime.bus import Subscriber
from asymlp_runtime.chain.amounts import burn_amounts, plan_mint
from asymlp_runtime.chain.endpoint import RpcEndpoint
from asymlp_runtime.chain.keys import Wallet
from asymlp_runtime.chain.lp import ChainLpConfig, ChainLpManager
from asymlp_runtime.config import load_config_text
from asymlp_runtime.journal import (
    Journal,
    LpActionEndRecord,
    LpActionRecord,
    LpBarRecord,
    LpStepRecord,
    TxReceiptRecord,
    TxRecord,
)
from asymlp_runtime.lp.backend import BackendError, PoolBackend, TokenInfo
from asymlp_runtime.lp.chain_backend import (
    ChainBackendSettings,
    ChainPoolBackend,
    DevnetWorld,
    flip_sqrt_price,
    start_devnet_world,
)
from asymlp_runtime.lp.devnet_flow import DevnetFlow, DevnetFlowSettings
from asymlp_runtime.lp.run_report import run_report
from asymlp_runtime.processes.lp_manager import LpManager

pytestmark = [pytest.mark.chain, pytest.mark.timeout(180)]

FEE = 3000
FAKE_KEY = "0x" + "7a11" * 16  # a known, valueless test key
URL_PASSWORD = "DevnetPw4242xyz"
URL_API_KEY = "APIKEY0123456789SECRETabc"


@pytest.fixture(scope="module")
def world() -> Any:
    w = start_devnet_world(fee=FEE, initial_price=3000.0, budget1=60_000.0,
                           background=((0.5, 20_000_000.0), (0.05, 10_000_000.0)))  # fmt: skip
    # the fake key's wallet too (the process test signs with it through an RPC URL)
    fake = Wallet.from_key(FAKE_KEY)
    w.net.rpc.request("anvil_setBalance", [fake.address, hex(10**22)])
    w.net.mint_tokens(w.net.base, fake.address, 10 * 10**18)
    w.net.mint_tokens(w.net.quote, fake.address, 30_000 * 10**6)
    w.base_snapshot = w.net.snapshot()  # type: ignore[attr-defined]
    try:
        yield w
    finally:
        w.close()


def _backend(world: DevnetWorld, journal: Journal, wallet: Any = None, **settings: Any) -> ChainPoolBackend:
    net = world.net
    s = ChainBackendSettings(**settings)
    cfg = ChainLpConfig(
        pool=net.pools[FEE].address, npm=net.npm.address, router=net.router.address, quoter=net.quoter.address,
        pool_id="devnet#chain", slippage_bps=s.slippage_bps, twap_window_s=s.twap_window_s,
        max_twap_deviation_ticks=s.max_twap_deviation_ticks, rebalance_cooldown_s=0.0,
    )  # fmt: skip
    manager = ChainLpManager(RpcEndpoint(net.node.rpc_url), wallet or world.wallet, cfg, journal,
                             tx_policy=s.tx_policy())  # fmt: skip
    backend = ChainPoolBackend(
        manager, base_is_token0=net.token0.address == net.base.address,
        base=TokenInfo(net.config.base.symbol, 18), quote=TokenInfo(net.config.quote.symbol, 6), pool_id="devnet",
    )  # fmt: skip
    backend.start()
    return backend


@pytest.fixture
def chain(world: DevnetWorld, tmp_path: Path) -> Any:
    snapshot = world.net.snapshot()
    journal = Journal(tmp_path / "lp.sqlite", synchronous="NORMAL")
    backend = _backend(world, journal)
    try:
        yield backend
    finally:
        backend.manager.rpc.close()
        journal.close()
        world.net.rpc.request("evm_setAutomine", [True])
        world.net.revert_to(snapshot)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def balances(world: DevnetWorld, address: str) -> tuple[int, int, int]:
    """(base, quote, eth) of ``address``."""
    net = world.net
    eth = int(net.rpc.request("eth_getBalance", [address, "latest"]), 16)
    return net.balance_of(net.base, address), net.balance_of(net.quote, address), eth


def gas_of(world: DevnetWorld, journal: Journal, action_id: str) -> int:
    """Gas of every receipt of the transactions journaled under ``action_id`` (approvals too)."""
    hashes = {t.tx_hash for t in journal.read(TxRecord) if t.action_id == action_id}
    total = 0
    for h in hashes:
        r = world.net.rpc.request("eth_getTransactionReceipt", [h])
        if r is not None:
            total += int(r["gasUsed"], 16) * int(r["effectiveGasPrice"], 16)
    return total


def trader_swap(world: DevnetWorld, sell_base: bool, value_quote: float) -> None:
    net = world.net
    zero_for_one = sell_base == (net.token0.address == net.base.address)
    amount = int(value_quote / 3000 * 10**18) if sell_base else int(value_quote * 10**6)
    net.swap_exact_input_single(FEE, zero_for_one, amount, sender=net.accounts[1])


# ---------------------------------------------------------------------------------------------
def test_token_roles_are_flipped_on_the_devnet_and_price_is_quote_per_base(world, chain):
    net = world.net
    assert net.token0.address == net.quote.address  # the devnet orders the quote first
    assert chain.flipped and chain.token0.symbol == net.config.base.symbol
    assert isinstance(chain, PoolBackend)
    state = run(chain.pool_state())
    pool_sqrt = net.slot0(FEE).sqrt_price_x96
    assert state.sqrt_price_x96 == flip_sqrt_price(pool_sqrt)
    assert state.tick == get_tick_at_sqrt_ratio(state.sqrt_price_x96)
    assert state.price == pytest.approx(3000.0, rel=1e-6)
    pos = run(chain.position())
    assert not pos.is_open
    base, quote, _ = balances(world, world.wallet.address)
    assert (pos.idle0, pos.idle1) == (base, quote)


def test_open_collect_swap_close_equal_chain_and_exact_tier_to_the_wei(world, chain):
    net, journal = world.net, chain.manager.journal
    wallet = world.wallet.address
    state = run(chain.pool_state())
    sp = chain.tick_spacing
    lo, hi = (state.tick // sp - 10) * sp, (state.tick // sp + 10) * sp
    b0, q0, e0 = balances(world, wallet)
    before_block = int(net.rpc.request("eth_blockNumber", []), 16)

    # open: wallet change == paid, liquidity == NPM == pool; amounts == the exact tier's plan
    opened = run(chain.open(lo, hi, b0, q0, op_id="a1:0"))
    b1, q1, e1 = balances(world, wallet)
    assert (opened.tick_lower, opened.tick_upper) == (lo, hi)
    assert (b0 - b1, q0 - q1) == (opened.amount0, opened.amount1)
    tx_block = opened.block_number
    snap = chain.manager.reader.snapshot(block=tx_block - 1)
    assert tx_block - 1 >= before_block
    plan = plan_mint(snap.sqrt_price_x96, snap.tick, -hi, -lo, q0, b0, 50)  # the pool's order: quote first
    assert (opened.liquidity, opened.amount1, opened.amount0) == (plan.liquidity, plan.amount0, plan.amount1)
    token_id = chain.manager.token_id
    npm = net.npm_position(token_id)
    assert (npm.tick_lower, npm.tick_upper, npm.liquidity) == (-hi, -lo, opened.liquidity)
    assert net.position_info(FEE, net.npm.address, -hi, -lo).liquidity == opened.liquidity
    assert e0 - e1 == opened.gas_cost_wei == gas_of(world, journal, "a1")
    assert run(chain.op_result("a1:0")) == opened
    assert run(chain.open(lo, hi, b0, q0, op_id="a1:0")) == opened  # exactly once

    # flow in both directions: fees owed == the static collect == the exact tier
    trader_swap(world, True, 40_000.0)
    trader_swap(world, False, 40_000.0)
    pos = run(chain.position())
    view = chain.manager.position()
    assert (pos.fees1, pos.fees0) == (view.fees0, view.fees1) == (view.fees0_exact, view.fees1_exact)
    assert pos.fees0 > 0 and pos.fees1 > 0
    collected = run(chain.collect(op_id="a2:0"))
    b2, q2, e2 = balances(world, wallet)
    assert (collected.fees0, collected.fees1) == (pos.fees0, pos.fees1)
    assert (b2 - b1, q2 - q1) == (collected.amount0, collected.amount1) == (pos.fees0, pos.fees1)
    assert e1 - e2 == collected.gas_cost_wei

    # swap: the wallet's change is minus the pool's signed deltas
    amount_in = b2 // 2
    swapped = run(chain.swap(True, amount_in, op_id="a3:0"))
    b3, q3, e3 = balances(world, wallet)
    assert swapped.amount0 == amount_in and swapped.amount1 < 0
    assert (b3 - b2, q3 - q2) == (-swapped.amount0, -swapped.amount1)
    assert e2 - e3 == swapped.gas_cost_wei == gas_of(world, journal, "a3")

    # close: principal == burn amounts at the block before; wallet gets principal + fees
    trader_swap(world, False, 20_000.0)
    pos = run(chain.position())
    closed = run(chain.close(op_id="a4:0"))
    b4, q4, e4 = balances(world, wallet)
    snap = chain.manager.reader.snapshot(block=closed.block_number - 1)
    p_quote, p_base = burn_amounts(snap.sqrt_price_x96, snap.tick, -hi, -lo, opened.liquidity)
    assert (closed.amount0, closed.amount1) == (p_base, p_quote) == (pos.amount0, pos.amount1)
    assert (closed.fees0, closed.fees1) == (pos.fees0, pos.fees1)
    assert (b4 - b3, q4 - q3) == (closed.amount0 + closed.fees0, closed.amount1 + closed.fees1)
    assert closed.liquidity == opened.liquidity
    assert not run(chain.position()).is_open
    # every wei of ETH the wallet spent is gas, and the journal has all of it
    assert e0 - e4 == chain.gas_spent_wei() == sum(r.gas_cost_wei for r in (opened, collected, swapped, closed))
    receipts = journal.read(TxReceiptRecord)
    assert all(r.status == "success" for r in receipts) and len(receipts) == len(journal.read(TxRecord))


def test_refusals_and_reverts_become_backend_errors_and_send_nothing(world, chain, tmp_path):
    net = world.net
    state = run(chain.pool_state())
    sp = chain.tick_spacing
    lo, hi = (state.tick // sp - 5) * sp, (state.tick // sp + 5) * sp
    pos = run(chain.position())
    with pytest.raises(BackendError) as err:
        run(chain.open(lo + 1, hi, pos.idle0, pos.idle1, op_id="b0:0"))
    assert err.value.reason == "bad_range" and err.value.op_id == "b0:0"
    assert run(chain.close(op_id="b1:0")).liquidity == 0  # nothing open: a no-op result
    run(chain.open(lo, hi, pos.idle0 // 2, pos.idle1 // 2, op_id="b2:0"))
    with pytest.raises(BackendError) as err:
        run(chain.open(lo, hi, 1, 1, op_id="b3:0"))
    assert err.value.reason == "position_open"
    assert run(chain.collect(op_id="b4:0")).amount0 == 0  # no fees owed yet: zero result
    nonce = int(net.rpc.request("eth_getTransactionCount", [world.wallet.address, "pending"]), 16)
    # manipulation: a large swap just before -> the TWAP guard refuses
    trader_swap(world, True, 3_000_000.0)
    with pytest.raises(BackendError) as err:
        run(chain.close(op_id="b5:0"))
    assert err.value.reason == "twap_deviation"
    assert int(net.rpc.request("eth_getTransactionCount", [world.wallet.address, "pending"]), 16) == nonce
    assert run(chain.op_result("b5:0")) is None


def test_gas_spike_above_the_cap_is_refused_not_sent(world, chain):
    net = world.net
    pos = run(chain.position())
    nonce = int(net.rpc.request("eth_getTransactionCount", [world.wallet.address, "pending"]), 16)
    net.rpc.request("anvil_setNextBlockBaseFeePerGas", [hex(5_000 * 10**9)])
    net.rpc.request("anvil_mine", ["0x1"])
    with pytest.raises(BackendError) as err:
        run(chain.swap(True, pos.idle0 // 10, op_id="g1:0"))
    assert err.value.reason == "gas_price_above_cap"
    assert int(net.rpc.request("eth_getTransactionCount", [world.wallet.address, "pending"]), 16) == nonce


def test_devnet_flow_noise_and_arbitrage_keep_pool_within_fee_of_reference(world, chain):
    ref = {"p": 3090.0}
    flow = DevnetFlow(world.net, FEE, lambda ts: ref["p"],
                      DevnetFlowSettings(noise_rate_per_s=5.0, noise_mean_value1=2_000.0), seed=3)  # fmt: skip
    t = 1_000.0
    done = flow.advance(t, ref["p"])
    for _ in range(8):
        t += 1.0
        done += flow.advance(t, ref["p"])
    assert flow.stats.arb_swaps >= 1 and flow.stats.noise_swaps >= 10
    flow.advance(t + 0.01, ref["p"])
    assert abs(flow.price() / ref["p"] - 1.0) <= FEE / 1e6 + 1e-6
    assert run(chain.pool_state()).price == pytest.approx(flow.price(), rel=1e-9)


# ---------------------------------------------------------------------------------------------
# the lp_manager process on the chain backend, through an RPC URL with credentials
# ---------------------------------------------------------------------------------------------
def test_lp_manager_on_chain_opens_earns_fees_rebalances_and_publishes(world, tmp_path, monkeypatch):
    from asymlp_runtime.ops.logging import configure_logging  # noqa: F401  (logging set by the process)

    net = world.net
    snapshot = net.snapshot()
    lp_port, ctl_port, cmd_port = free_ports(3)
    url = f"http://127.0.0.1:{net.node.port}/?apikey={URL_API_KEY}&token={URL_PASSWORD}"
    monkeypatch.setenv("TEST_LP_RPC_URL", url)
    monkeypatch.setenv("TEST_LP_KEY", FAKE_KEY)
    monkeypatch.setenv("ASYMLP_UNISWAP_NPM", net.npm.address)
    monkeypatch.setenv("ASYMLP_UNISWAP_ROUTER", net.router.address)
    monkeypatch.setenv("ASYMLP_UNISWAP_QUOTER", net.quoter.address)
    config = load_config_text(
        f"""
[GLOBAL]
process_name = "lp_manager"
log_dir = "{{tmp}}/logs"
log_level = "DEBUG"
heartbeat_interval_s = 0.2
journal_path = "{{tmp}}/lp.sqlite"
[PUBLISHERS]
lp = "tcp://127.0.0.1:{lp_port}"
control = "tcp://127.0.0.1:{ctl_port}"
[SUBSCRIBERS.supervisor]
endpoint = "tcp://127.0.0.1:{cmd_port}"
topics = ["cmd.all", "cmd.lp_manager"]
[LP]
pool = "{net.pools[FEE].address}"
fee_tier = 3000
backend = "chain"
rpc_url = "${{TEST_LP_RPC_URL}}"
private_key = "${{TEST_LP_KEY}}"
[LP.strategy]
min_interval_s = 2.0
max_age_s = 6.0
inventory_threshold = 0.02
inventory_rearm = 0.01
decision_interval_s = 0.2
""".replace("{tmp}", str(tmp_path)),
        "<test>",
    )
    reference = lambda ts: 3000.0 * math.exp(0.004 * math.sin(ts / 1e9 / 3.0))  # noqa: E731
    flow = DevnetFlow(net, FEE, reference, DevnetFlowSettings(noise_rate_per_s=4.0, noise_mean_value1=20_000.0,
                                                              step_s=0.2), seed=5)  # fmt: skip
    received: list[m.Message] = []

    async def main() -> LpManager:
        lm = LpManager(config, run_loop=True)
        sub = Subscriber(f"tcp://127.0.0.1:{lp_port}", ("inventory.", "lp_action."), m.LpStream)

        async def read() -> None:
            while True:
                d = await sub.recv()
                if d is not None:
                    received.append(d.message)

        task = asyncio.create_task(lm.run())
        reader = asyncio.create_task(read())
        try:
            await asyncio.wait_for(lm.started.wait(), 30)
            flow.start()
            deadline = time.monotonic() + 40.0
            while time.monotonic() < deadline:
                await asyncio.sleep(0.5)
                if lm.actions_done >= 3:
                    break
            await asyncio.sleep(1.0)
        finally:
            flow.stop()
            lm.request_stop("test")
            await asyncio.wait_for(task, 30)
            reader.cancel()
            sub.close()
        return lm

    try:
        lm = asyncio.run(main())
    finally:
        net.rpc.request("evm_setAutomine", [True])
        net.revert_to(snapshot)
    assert isinstance(lm.backend, ChainPoolBackend) and lm.backend.flipped
    with Journal(tmp_path / "lp.sqlite") as j:
        actions = j.read(LpActionRecord)
        steps = [s for s in j.read(LpStepRecord) if s.status == "done"]
        receipts = j.read(TxReceiptRecord)
        completed = {e.action_id for e in j.read(LpActionEndRecord) if e.outcome == "completed"}
        bars = j.read(LpBarRecord)
    kinds = [a.kind for a in actions]
    assert kinds[0] == "open" and "rebalance" in kinds, kinds
    closes = [s for s in steps if s.kind == "close"]
    assert closes and sum(int(json.loads(s.note)["fees0"]) + int(json.loads(s.note)["fees1"]) for s in closes) > 0
    assert receipts and all(r.status == "success" for r in receipts)
    inv = [x for x in received if isinstance(x, m.InventoryDelta)]
    acts = [x for x in received if isinstance(x, m.LpAction)]
    assert inv and {a.action for a in acts} >= {"open", "close"}
    # the last inventory equals the chain's holdings of the wallet when it was published
    assert inv[-1].amount0 > 0 and inv[-1].amount1 > 0
    # the run report: fees and gas equal the journal's exact sums
    report = run_report(tmp_path / "lp.sqlite", end_price=3000.0, pool=net.pools[FEE].address, fee=FEE / 1e6)
    # the backtester on the path the manager observed, with the run's positions: the same parts
    live, replay = report["decomposition"], report["backtest"]["decomposition"]
    assert replay["fees"] == pytest.approx(live["fees"], rel=0.05)  # fee model vs exact fees
    for part in ("hodl", "il", "gas", "swap_cost"):
        assert replay[part] == pytest.approx(live[part], rel=1e-6, abs=1e-4), part
    fees = [sum(int(json.loads(s.note)[k]) for s in closes) for k in ("fees0", "fees1")]
    if report["position_open_at_end"]:  # plus what the last observation saw owed to the open position
        last = max(bars, key=lambda b: b.ts_ns)
        fees = [fees[0] + last.owed0, fees[1] + last.owed1]
    assert [int(x) for x in report["fees_raw"]] == fees
    assert int(report["gas_wei"]) == sum(r.gas_used * r.effective_gas_price for r in receipts) > 0
    assert report["rebalances"] == sum(a.kind == "rebalance" and a.action_id in completed for a in actions)
    # no secret in any log
    logs = "".join(p.read_text(errors="replace") for p in (tmp_path / "logs").rglob("*") if p.is_file())
    assert logs, "no logs written"
    for secret in (FAKE_KEY, FAKE_KEY[2:], URL_PASSWORD, URL_API_KEY):
        assert secret not in logs
    assert "apikey=[REDACTED]" in logs  # the endpoint was logged, redacted
    assert Wallet.from_key(FAKE_KEY).address in logs  # the fake key's wallet signed
