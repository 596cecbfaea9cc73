"""The on-chain LP manager against anvil with the real Uniswap V3 contracts.

One devnet per module: a background liquidity position (deployer), a trader account that swaps,
and the manager's own wallet (a known fake key, funded by the test) talking to the node through
an RPC URL that carries fake credentials (userinfo and an API-key query parameter; anvil ignores
both). Every test starts from the same chain snapshot (``evm_snapshot``/``evm_revert``) with a
fresh journal; the pool has 60+ seconds of observation history so the TWAP guard can work.

Exactness: after every step the journal's exact integers are compared with the chain (events,
``NonfungiblePositionManager.positions``, the pool's ``positions(key)``) and with the exact tier
(:mod:`asymlp_core.v3` via :mod:`asymlp_runtime.chain.amounts`) evaluated on the pool state read
at the block just before the step's transaction.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from asymlp_core.v3 import get_sqrt_ratio_at_tick
from asymlp_runtime.chain.amounts import burn_amounts, plan_mint
from asymlp_runtime.chain.devnet import ChainRevert, Devnet, DevnetConfig
from asymlp_runtime.chain.endpoint import RpcEndpoint, RpcTransportError, redact_rpc_url
from asymlp_runtime.chain.keys import KeyLoadError, Wallet, load_wallet
from asymlp_runtime.chain.lp import (
    ChainLpConfig,
    ChainLpError,
    ChainLpManager,
    CooldownActive,
    PriceGuardRefused,
)
from asymlp_runtime.chain.tx import GasPriceAboveCap, SimulationReverted, TxPolicy
from asymlp_runtime.journal import (
    Journal,
    LpActionEndRecord,
    LpActionRecord,
    LpStepRecord,
    TxReceiptRecord,
    TxRecord,
)
from asymlp_runtime.ops.logging import configure_logging

pytestmark = pytest.mark.chain

FEE = 3000
SPACING = 60
FAKE_KEY = "0x" + "5eed" * 16  # a known, valueless test key
URL_PASSWORD = "SuperSecretPw77"
URL_API_KEY = "APIKEYSECRET0123456789"
GWEI = 10**9
UINT128_MAX = 2**128 - 1


class Killed(BaseException):
    """Stands in for kill -9 between two transactions (nothing after it runs)."""


class Env:
    def __init__(self, net: Devnet, log_path: Path, url: str, base_snapshot: str) -> None:
        self.net = net
        self.log_path = log_path
        self.url = url
        self.base_snapshot = base_snapshot
        self.wallet = Wallet.from_key(FAKE_KEY)
        self.trader = net.accounts[1]
        self.now = 1_000_000.0
        pool = net.pools[FEE]
        self.config = ChainLpConfig(
            pool=pool.address, npm=net.npm.address, router=net.router.address, quoter=net.quoter.address,
            pool_id="test-pool", slippage_bps=50, twap_window_s=60, max_twap_deviation_ticks=120,
            rebalance_cooldown_s=300.0, min_observation_cardinality=32,
        )  # fmt: skip

    def clock(self) -> float:
        return self.now

    def manager(self, journal: Journal, **policy: Any) -> ChainLpManager:
        policy = {"replace_after_s": 5.0, "confirmation_timeout_s": 20.0, **policy}
        return ChainLpManager(
            RpcEndpoint(self.url), self.wallet, self.config, journal,
            tx_policy=TxPolicy(**policy), clock=self.clock,
        )  # fmt: skip

    def rpc(self, method: str, *params: Any) -> Any:
        return self.net.rpc.request(method, list(params))

    def mine(self, blocks: int = 70) -> None:
        self.rpc("anvil_mine", hex(blocks))

    def tick(self) -> int:
        return self.net.slot0(FEE).tick

    def move_to_tick(self, tick: int) -> None:
        """The trader swaps the pool to exactly ``tick``'s price."""
        limit = get_sqrt_ratio_at_tick(tick)
        zero_for_one = limit < self.net.slot0(FEE).sqrt_price_x96
        self.net.swap_exact_input_single(
            FEE, zero_for_one, 10**30, sqrt_price_limit_x96=limit, sender=self.trader
        )

    def nonce(self) -> int:
        return int(self.rpc("eth_getTransactionCount", self.wallet.address, "pending"), 16)

    def range_around(self, tick: int, half_width: int = 10) -> tuple[int, int]:
        centre = (tick // SPACING) * SPACING
        return centre - half_width * SPACING, centre + half_width * SPACING

    def budget_amounts(self, manager: ChainLpManager, lo: int, hi: int) -> tuple[int, int]:
        token1_is_quote = manager.pool.token1 == self.net.quote.address
        budget1 = 20_000 * 10**6 if token1_is_quote else 7 * 10**18
        return manager.desired_for_budget(lo, hi, budget1)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Any:
    log_dir = tmp_path_factory.mktemp("logs")
    handle = configure_logging("lp_test", log_dir=log_dir, level="DEBUG", logger=logging.getLogger("asymlp"))
    net = Devnet.start(DevnetConfig(fee_tiers=(FEE,)))
    try:
        port = net.node.port
        url = f"http://lpuser:{URL_PASSWORD}@127.0.0.1:{port}/?apikey={URL_API_KEY}"
        wallet = Wallet.from_key(FAKE_KEY)
        net.rpc.request("anvil_setBalance", [wallet.address, hex(10**22)])
        for token in (net.token0, net.token1):
            net.mint_tokens(token, wallet.address, 10**30)
        # background liquidity over a wide range (owned by the deployer through the NPM)
        here = (net.slot0(FEE).tick // SPACING) * SPACING
        net.mint(FEE, here - 6000, here + 6000, 10**22, 10**22)
        e = Env(net, log_dir / "lp_test.log", url, "")
        with Journal(":memory:") as journal:
            assert e.manager(journal).ensure_observation_cardinality() is not None
        e.mine(90)
        e.base_snapshot = net.snapshot()
        yield e
    finally:
        net.close()
        handle.close()


@pytest.fixture
def fresh(env: Env, tmp_path: Path) -> Any:
    snapshot = env.net.snapshot()
    env.now = 1_000_000.0
    journal = Journal(tmp_path / "journal.db", synchronous="NORMAL")
    try:
        yield journal
    finally:
        journal.close()
        env.rpc("evm_setAutomine", True)  # also ends interval mining
        env.net.revert_to(snapshot)


# ---------------------------------------------------------------------------------------------
# exactness helpers
# ---------------------------------------------------------------------------------------------
def tx_block(env: Env, tx_hash: str) -> int:
    return int(env.rpc("eth_getTransactionReceipt", tx_hash)["blockNumber"], 16)


def steps_of(journal: Journal, action_id: str) -> dict[int, LpStepRecord]:
    return {s.step: s for s in journal.read(LpStepRecord) if s.action_id == action_id}


def check_mint_exact(env: Env, manager: ChainLpManager, step: LpStepRecord, desired: tuple[int, int]) -> None:
    """Journal == events == NPM == pool position == exact tier at the block before the mint."""
    before = manager.reader.snapshot(block=tx_block(env, step.tx_hash) - 1)
    assert step.tick_lower is not None and step.tick_upper is not None
    plan = plan_mint(before.sqrt_price_x96, before.tick, step.tick_lower, step.tick_upper, *desired, 50)
    assert (step.liquidity, step.amount0, step.amount1) == (plan.liquidity, plan.amount0, plan.amount1)
    npm = env.net.npm_position(step.token_id)
    assert (npm.tick_lower, npm.tick_upper, npm.liquidity) == (
        step.tick_lower,
        step.tick_upper,
        plan.liquidity,
    )
    pool_pos = env.net.position_info(FEE, env.net.npm.address, step.tick_lower, step.tick_upper)
    assert pool_pos.liquidity == plan.liquidity


def wallet_balances(env: Env) -> tuple[int, int]:
    return (
        env.net.balance_of(env.net.token0, env.wallet.address),
        env.net.balance_of(env.net.token1, env.wallet.address),
    )


# ---------------------------------------------------------------------------------------------
# lifecycle
# ---------------------------------------------------------------------------------------------
def test_open_collect_close_agree_with_chain_and_exact_tier_to_the_wei(env: Env, fresh: Journal) -> None:
    manager = env.manager(fresh)
    lo, hi = env.range_around(env.tick())
    desired = env.budget_amounts(manager, lo, hi)
    wallet_before = wallet_balances(env)

    opened = manager.open_position(lo, hi, *desired)
    step = steps_of(fresh, opened.action_id)[0]
    assert step.kind == "open" and step.token_id == manager.token_id > 0
    check_mint_exact(env, manager, step, desired)
    assert json.loads(step.note)["gas_cost_wei"] == opened.gas_cost_wei > 0
    after_open = wallet_balances(env)
    assert after_open == (wallet_before[0] - step.amount0, wallet_before[1] - step.amount1)

    # another account trades through the range both ways: fees accrue in both tokens
    start = env.tick()
    env.move_to_tick(start + 4 * SPACING)
    env.move_to_tick(start - 3 * SPACING)
    env.move_to_tick(start + SPACING)
    view = manager.position()
    assert view.fees0 > 0 and view.fees1 > 0
    assert (view.fees0, view.fees1) == (view.fees0_exact, view.fees1_exact)  # static collect == exact tier
    assert env.net.npm_position(manager.token_id).tokens_owed0 == 0  # the stored figure is stale

    env.mine()  # let the TWAP catch up with the trades
    collected = manager.collect_fees()
    cstep = steps_of(fresh, collected.action_id)[0]
    before = manager.reader.snapshot(block=tx_block(env, cstep.tx_hash) - 1, token_id=manager.token_id,
                                     tick_range=(lo, hi))  # fmt: skip
    exact = manager.position(before)
    assert (cstep.kind, cstep.amount0, cstep.amount1) == ("collect", exact.fees0_exact, exact.fees1_exact)
    assert (collected.steps[0].fees0, collected.steps[0].fees1) == (exact.fees0, exact.fees1)
    assert wallet_balances(env) == (after_open[0] + cstep.amount0, after_open[1] + cstep.amount1)
    npm = env.net.npm_position(manager.token_id)
    assert (npm.tokens_owed0, npm.tokens_owed1) == (0, 0)

    env.move_to_tick(start - 2 * SPACING)
    env.mine()
    token_id = manager.token_id
    pre_close_wallet = wallet_balances(env)
    closed = manager.close_position()
    xstep = steps_of(fresh, closed.action_id)[0]
    before = manager.reader.snapshot(
        block=tx_block(env, xstep.tx_hash) - 1, token_id=token_id, tick_range=(lo, hi)
    )
    exact = manager.position(before)
    principal = burn_amounts(before.sqrt_price_x96, before.tick, lo, hi, step.liquidity)
    note = json.loads(xstep.note)
    assert (xstep.kind, xstep.liquidity, xstep.amount0, xstep.amount1) == (
        "close",
        step.liquidity,
        *principal,
    )
    assert (note["fees0"], note["fees1"]) == (exact.fees0_exact, exact.fees1_exact)
    assert wallet_balances(env) == (
        pre_close_wallet[0] + principal[0] + note["fees0"],
        pre_close_wallet[1] + principal[1] + note["fees1"],
    )
    with pytest.raises(ChainRevert, match="Invalid token ID"):
        env.net.npm_position(token_id)
    assert env.net.position_info(FEE, env.net.npm.address, lo, hi).liquidity == 0
    assert manager.token_id == 0
    # every transaction has a success receipt with its gas cost; every action ended completed
    receipts = {r.tx_hash: r for r in fresh.read(TxReceiptRecord)}
    for tx in fresh.read(TxRecord):
        r = receipts[tx.tx_hash]
        assert r.status == "success" and r.gas_used and r.effective_gas_price
    assert {e.outcome for e in fresh.read(LpActionEndRecord)} == {"completed"}


def test_rebalance_both_directions_with_ratio_swap_matches_chain(env: Env, fresh: Journal) -> None:
    manager = env.manager(fresh)
    lo, hi = env.range_around(env.tick(), 5)
    manager.open_position(lo, hi, *env.budget_amounts(manager, lo, hi))
    for direction in (+1, -1):
        env.move_to_tick(env.tick() + direction * 8 * SPACING)  # out of the range
        env.mine()
        env.now += 301
        new_lo, new_hi = env.range_around(env.tick(), 5)
        result = manager.rebalance(new_lo, new_hi)
        steps = steps_of(fresh, result.action_id)
        assert [steps[i].kind for i in (0, 1, 2)] == ["close", "swap", "open"]
        close, swap, mint = steps[0], steps[1], steps[2]
        # the swap restores the ratio: it sells the token the old range was left holding
        assert swap.tx_hash and (swap.amount0 > 0) == (direction < 0)
        ev = [e for e in env.net.decode_events(env.rpc("eth_getTransactionReceipt", swap.tx_hash))
              if e.name == "Swap"][0]  # fmt: skip
        assert (ev.args["amount0"], ev.args["amount1"]) == (swap.amount0, swap.amount1)
        fees = json.loads(close.note)
        desired = (close.amount0 + fees["fees0"] - swap.amount0, close.amount1 + fees["fees1"] - swap.amount1)
        check_mint_exact(env, manager, mint, desired)
        idle = json.loads(mint.note)
        assert (idle["idle0"], idle["idle1"]) == (desired[0] - mint.amount0, desired[1] - mint.amount1)
        # what stays idle after the ratio swap is a small fraction of what was re-minted
        value_left = idle["idle0"] * mint.amount1 + idle["idle1"] * mint.amount0
        assert value_left <= 0.02 * 2 * mint.amount0 * mint.amount1
        assert (
            manager.token_id == mint.token_id
            and env.net.npm_position(mint.token_id).liquidity == mint.liquidity
        )
    # one live position in the pool for the wallet
    assert [t for t, p in manager.reader.owned_positions() if p.liquidity] == [manager.token_id]


def test_rebalance_within_cooldown_is_refused(env: Env, fresh: Journal) -> None:
    manager = env.manager(fresh)
    lo, hi = env.range_around(env.tick(), 5)
    manager.open_position(lo, hi, *env.budget_amounts(manager, lo, hi))
    env.now += 301
    manager.rebalance(lo + SPACING, hi + SPACING)
    env.now += 10
    nonce = env.nonce()
    with pytest.raises(CooldownActive):
        manager.rebalance(lo, hi)
    assert env.nonce() == nonce
    # a new manager over the same journal remembers the last rebalance
    with pytest.raises(CooldownActive):
        env.manager(fresh).rebalance(lo, hi)


# ---------------------------------------------------------------------------------------------
# guards
# ---------------------------------------------------------------------------------------------
def test_manipulated_pool_makes_rebalance_refuse(env: Env, fresh: Journal) -> None:
    manager = env.manager(fresh)
    lo, hi = env.range_around(env.tick(), 5)
    manager.open_position(lo, hi, *env.budget_amounts(manager, lo, hi))
    env.mine()
    env.now += 301
    env.move_to_tick(env.tick() - 30 * SPACING)  # a large swap just before the rebalance
    nonce, actions = env.nonce(), fresh.count(LpActionRecord)
    with pytest.raises(PriceGuardRefused) as info:
        manager.rebalance(*env.range_around(env.tick(), 5))
    assert info.value.reason == "twap_deviation"
    assert env.nonce() == nonce and fresh.count(LpActionRecord) == actions
    assert env.net.npm_position(manager.token_id).liquidity > 0
    assert "twap_deviation" in env.log_path.read_text()


def test_guard_checked_again_just_before_sending(env: Env, fresh: Journal) -> None:
    manager = env.manager(fresh)
    lo, hi = env.range_around(env.tick(), 5)
    manager.open_position(lo, hi, *env.budget_amounts(manager, lo, hi))
    env.mine()
    data = manager.abis.npm.encode_call(
        "collect", (manager.token_id, env.wallet.address, UINT128_MAX, UINT128_MAX)
    )
    prepared = manager.tx.prepare(manager.npm, data, label="collect")  # guard passed at build time
    env.move_to_tick(env.tick() + 30 * SPACING)  # manipulation between build and send
    nonce, sent = env.nonce(), fresh.count(TxRecord)
    with pytest.raises(PriceGuardRefused):
        manager.tx.send(prepared, guard=manager.guard_now)
    assert env.nonce() == nonce and fresh.count(TxRecord) == sent


def test_twap_unavailable_refuses_until_history_exists(env: Env, fresh: Journal) -> None:
    manager = env.manager(fresh)
    with pytest.raises(PriceGuardRefused) as info:
        manager.check_price(0, None, "OLD")
    assert info.value.reason == "twap_unavailable"
    # the fixture raised the cardinality with a real transaction
    assert manager.reader.snapshot().observation_cardinality_next >= env.config.min_observation_cardinality
    assert manager.ensure_observation_cardinality() is None


def test_reverting_transaction_is_never_sent_and_reason_logged(env: Env, fresh: Journal) -> None:
    manager = env.manager(fresh)
    lo, hi = env.range_around(env.tick(), 5)
    for token in (manager.pool.token0, manager.pool.token1):
        manager.tx.transact(token, manager.abis.erc20.encode_call("approve", manager.npm, 2**256 - 1))
    sent = fresh.count(TxRecord)
    snap = manager.reader.snapshot()
    params = (manager.pool.token0, manager.pool.token1, FEE, lo, hi, 10**18, 10**10, 10**30, 10**30,
              env.wallet.address, snap.block_timestamp + 100)  # fmt: skip
    nonce = env.nonce()
    with pytest.raises(SimulationReverted) as info:
        manager.tx.transact(manager.npm, manager.abis.npm.encode_call("mint", params), label="mint")
    assert info.value.reason == "Price slippage check"
    assert env.nonce() == nonce and fresh.count(TxRecord) == sent
    assert manager.tx.nonces.peek() == nonce
    assert "Price slippage check" in env.log_path.read_text()


def test_gas_spike_above_cap_is_refused_and_below_it_capped(env: Env, fresh: Journal) -> None:
    manager = env.manager(fresh, max_fee_cap_wei=30 * GWEI, priority_fee_wei=GWEI)
    lo, hi = env.range_around(env.tick(), 5)
    manager.open_position(lo, hi, *env.budget_amounts(manager, lo, hi))
    env.move_to_tick(env.tick() + SPACING)
    env.move_to_tick(env.tick() - 2 * SPACING)
    env.mine()
    env.rpc("anvil_setNextBlockBaseFeePerGas", hex(50 * GWEI))
    env.rpc("evm_mine")
    nonce = env.nonce()
    with pytest.raises(GasPriceAboveCap):
        manager.collect_fees()
    assert env.nonce() == nonce
    assert [e.outcome for e in fresh.read(LpActionEndRecord)][-1] == "aborted"
    # base fee 20 gwei: 2 x 20 + 1 > 30, but 20 + 1 <= 30: the max fee is capped at 30 gwei
    env.rpc("anvil_setNextBlockBaseFeePerGas", hex(20 * GWEI))
    env.rpc("evm_mine")
    result = manager.collect_fees()
    tx = [t for t in fresh.read(TxRecord) if t.tx_hash == result.steps[0].tx_hash][0]
    assert tx.max_fee_per_gas == 30 * GWEI
    assert result.steps[0].amount0 + result.steps[0].amount1 > 0


def test_stuck_transaction_is_replaced_and_lands(env: Env, fresh: Journal) -> None:
    manager = env.manager(fresh, replace_after_s=0.4, poll_interval_s=0.02, priority_fee_wei=GWEI)
    erc = manager.abis.erc20
    data = erc.encode_call("approve", env.net.router.address, 12345)
    env.rpc("anvil_setNextBlockBaseFeePerGas", hex(GWEI // 2))
    env.rpc("evm_mine")
    env.rpc("evm_setAutomine", False)
    errors: list[BaseException] = []

    def spike() -> None:  # once the transaction is in the mempool, raise the base fee past it
        try:
            for _ in range(200):
                if env.rpc("eth_getTransactionCount", env.wallet.address, "pending") != env.rpc(
                    "eth_getTransactionCount", env.wallet.address, "latest"
                ) or fresh.count(TxRecord):
                    break
                time.sleep(0.01)
            env.rpc("anvil_setNextBlockBaseFeePerGas", hex(10 * GWEI))
            env.rpc("evm_mine")  # the transaction does not fit this block
            env.rpc("anvil_setIntervalMining", 1)
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    thread = threading.Thread(target=spike)
    thread.start()
    try:
        outcome = manager.tx.transact(manager.pool.token0, data, label="approve")
    finally:
        thread.join(10)
    assert not errors
    assert outcome.replaced, "the first transaction should have been replaced"
    sent = fresh.read(TxRecord)
    assert len({t.nonce for t in sent}) == 1 and len(sent) >= 2
    first, last = sent[0], [t for t in sent if t.tx_hash == outcome.tx_hash][0]
    assert last.max_fee_per_gas >= first.max_fee_per_gas * 110 // 100 + 1
    assert last.max_priority_fee_per_gas >= first.max_priority_fee_per_gas * 110 // 100 + 1
    status = {r.tx_hash: r.status for r in fresh.read(TxReceiptRecord)}
    assert status[outcome.tx_hash] == "success" and status[first.tx_hash] == "dropped"
    assert env.rpc("eth_getTransactionReceipt", first.tx_hash) is None
    assert erc.decode_output("allowance", env.rpc(
        "eth_call", {"to": manager.pool.token0, "data": erc.encode_call(
            "allowance", env.wallet.address, env.net.router.address)}, "latest"))[0] == 12345  # fmt: skip


# ---------------------------------------------------------------------------------------------
# restart
# ---------------------------------------------------------------------------------------------
def test_restart_after_close_resumes_rebalance_without_double_mint(
    env: Env, fresh: Journal, monkeypatch: Any
) -> None:
    first = env.manager(fresh)
    lo, hi = env.range_around(env.tick(), 5)
    first.open_position(lo, hi, *env.budget_amounts(first, lo, hi))
    env.move_to_tick(env.tick() + 8 * SPACING)
    env.mine()
    env.now += 301

    def killed(*args: Any, **kwargs: Any) -> Any:
        raise Killed

    monkeypatch.setattr(first, "swap", killed)
    new_lo, new_hi = env.range_around(env.tick(), 5)
    with pytest.raises(Killed):
        first.rebalance(new_lo, new_hi)
    (action_id,) = [a.action_id for a in fresh.read(LpActionRecord) if a.kind == "rebalance"]
    assert set(steps_of(fresh, action_id)) == {0}
    assert [t for t, p in first.reader.owned_positions() if p.liquidity] == []  # funds are in the wallet

    second = env.manager(fresh)  # a new process over the same journal and chain
    report = second.recover()
    assert report.resumed == (action_id,)
    steps = steps_of(fresh, action_id)
    assert [steps[i].kind for i in (0, 1, 2)] == ["close", "swap", "open"]
    assert (
        [t for t, p in second.reader.owned_positions() if p.liquidity]
        == [second.token_id]
        == [steps[2].token_id]
    )
    assert [e.outcome for e in fresh.read(LpActionEndRecord) if e.action_id == action_id] == ["completed"]
    assert second.recover().resumed == ()  # idempotent


def test_restart_with_mint_in_flight_settles_it_without_double_mint(
    env: Env, fresh: Journal, monkeypatch: Any
) -> None:
    first = env.manager(fresh)
    lo, hi = env.range_around(env.tick(), 5)
    first.open_position(lo, hi, *env.budget_amounts(first, lo, hi))
    env.move_to_tick(env.tick() - 8 * SPACING)
    env.mine()
    env.now += 301
    real_wait = first.tx._wait_and_confirm

    def wait_then_die(prepared: Any, nonce: int, attempts: Any) -> Any:
        if prepared.label == "mint":
            raise Killed  # sent and journaled as pending; the receipt is never read
        return real_wait(prepared, nonce, attempts)

    monkeypatch.setattr(first.tx, "_wait_and_confirm", wait_then_die)
    with pytest.raises(Killed):
        first.rebalance(*env.range_around(env.tick(), 5))
    (action_id,) = [a.action_id for a in fresh.read(LpActionRecord) if a.kind == "rebalance"]
    pending = [t for t in fresh.read(TxRecord) if t.action_id == action_id and t.step == 2]
    assert len(pending) == 1 and not [
        r for r in fresh.read(TxReceiptRecord) if r.tx_hash == pending[0].tx_hash
    ]

    second = env.manager(fresh)
    report = second.recover()
    assert report.settled_transactions == 1 and report.resumed == (action_id,)
    live = [t for t, p in second.reader.owned_positions() if p.liquidity]
    assert live == [second.token_id] and len(live) == 1
    steps = steps_of(fresh, action_id)
    assert steps[2].tx_hash == pending[0].tx_hash and steps[2].token_id == second.token_id
    receipts = {r.tx_hash: r.status for r in fresh.read(TxReceiptRecord)}
    assert receipts[pending[0].tx_hash] == "success"


# ---------------------------------------------------------------------------------------------
# secrets
# ---------------------------------------------------------------------------------------------
def test_keys_and_url_credentials_never_shown(env: Env, tmp_path: Path) -> None:
    wallet = Wallet.from_key(FAKE_KEY)
    assert FAKE_KEY[2:] not in repr(wallet) + str(wallet)
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(wallet)
    from eth_account import Account

    keystore = Account.encrypt(FAKE_KEY, "keystore-pass-42", kdf="pbkdf2", iterations=2)
    path = tmp_path / "key.json"
    path.write_text(json.dumps(keystore))
    loaded = load_wallet(keystore_path=path, environ={"ASYMLP_KEYSTORE_PASSWORD": "keystore-pass-42"})
    assert loaded.address == wallet.address
    with pytest.raises(KeyLoadError) as bad:
        load_wallet(keystore_path=path, environ={"ASYMLP_KEYSTORE_PASSWORD": "wrong"})
    assert "wrong" not in str(bad.value) and bad.value.__cause__ is None
    with pytest.raises(KeyLoadError) as bad_env:
        load_wallet(environ={"ASYMLP_PRIVATE_KEY": FAKE_KEY[:-2] + "zz"})
    assert FAKE_KEY[2:40] not in str(bad_env.value)
    assert load_wallet(environ={"ASYMLP_PRIVATE_KEY": FAKE_KEY}).address == wallet.address

    shown = redact_rpc_url(env.url)
    assert URL_PASSWORD not in shown and URL_API_KEY not in shown and "127.0.0.1" in shown
    endpoint = RpcEndpoint(f"http://u:{URL_PASSWORD}@127.0.0.1:1/v3/{URL_API_KEY}?key={URL_API_KEY}")
    with pytest.raises(RpcTransportError) as err:
        endpoint.request("eth_chainId", [])
    assert URL_PASSWORD not in str(err.value) + repr(endpoint) and URL_API_KEY not in str(err.value)
    logging.getLogger("asymlp.chain.test").warning("node %s key %s", env.url, FAKE_KEY)


def test_no_private_key_or_rpc_credential_in_the_log(env: Env) -> None:
    # runs last in this module: the log holds every test's records
    for handler in logging.getLogger("asymlp").handlers:
        handler.flush()
    text = env.log_path.read_text()
    assert "transaction sent" in text and "transaction confirmed" in text
    for secret in (FAKE_KEY, FAKE_KEY[2:], FAKE_KEY[2:].upper(), URL_PASSWORD, URL_API_KEY):
        assert secret not in text


def test_lp_error_reason_is_machine_readable() -> None:
    assert ChainLpError("zero_minimum", "x").reason == "zero_minimum"
