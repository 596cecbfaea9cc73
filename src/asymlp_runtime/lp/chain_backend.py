"""The on-chain pool backend: :class:`~asymlp_runtime.lp.backend.PoolBackend` over real contracts.

:class:`ChainPoolBackend` adapts :class:`asymlp_runtime.chain.lp.ChainLpManager` (a blocking,
journaled, guarded manager of one wallet's position in one Uniswap V3 pool) to the protocol
``lp_manager`` drives:

- every blocking call runs in a worker thread (:func:`asyncio.to_thread`), one at a time (the
  manager and its nonce manager are not re-entrant);
- :meth:`ChainPoolBackend.start` calls :meth:`ChainLpManager.recover` (pending transactions of
  the wallet settled, the open position found on chain) before anything else;
- refusals and failures that changed nothing on chain -- :class:`~asymlp_runtime.chain.lp.ChainLpError`
  (guards, cooldown, zero minima), :class:`~asymlp_runtime.chain.tx.SimulationReverted` (never
  sent), :class:`~asymlp_runtime.chain.tx.GasPriceAboveCap` (never sent) and
  :class:`~asymlp_runtime.chain.tx.TxReverted` (mined with status 0: only gas spent) -- become
  :class:`~asymlp_runtime.lp.backend.BackendError` ``(op_id, reason)``. A transaction stuck after
  every replacement (:class:`~asymlp_runtime.chain.tx.TxStuck`) is *not* mapped: it may still
  land, so the caller's recovery (``op_result``, which settles pending transactions) decides.

Token roles
-----------
The protocol's ``token0`` is always the base asset (WETH-like) and prices are quote per base.
The pool orders its tokens by address, so on a given chain the pool's ``token0`` may be the
quote token (it is on the project's devnet). The backend then *flips* every figure:
amounts and fees swap places, a protocol range ``[L, U)`` is the pool range ``[-U, -L)``, a
protocol ``zero_for_one`` swap is the pool's ``one_for_zero``, and the protocol's
``sqrt_price_x96`` is ``floor(2**192 / pool_sqrt_price_x96)`` with its tick from
``get_tick_at_sqrt_ratio``. Token amounts are exact integers either way; only the derived price
is rounded.

Gas
---
Every transaction's gas cost is in the journal (``TxReceiptRecord``: ``gas_used`` x
``effective_gas_price``); each :class:`~asymlp_runtime.lp.backend.OpResult` carries the
operation's total (approvals included) in ``gas_cost_wei``, and :meth:`ChainPoolBackend.gas_spent_wei`
sums the journal.

Construction
------------
:func:`make_chain_backend` builds the backend an ``[LP]`` section asks for:

- no ``rpc_url``: the project's local devnet (:meth:`asymlp_runtime.chain.devnet.Devnet.start`:
  anvil on 127.0.0.1 with the real v3-core/v3-periphery contracts), background liquidity from
  the deployer, the manager's wallet (a fixed devnet account, :data:`DEVNET_WALLET_INDEX` of the
  well-known development mnemonic -- never a configured key) funded with ``LP.sim.budget1``, and
  a :class:`~asymlp_runtime.lp.devnet_flow.DevnetFlow` (noise traders and an arbitrageur toward
  the paper venue's reference price) in a background thread. The node stops with the backend
  (``close_backend``), at interpreter exit, and on the parent's death (``PR_SET_PDEATHSIG``).
  The chain persists in :func:`devnet_state_dir` (``LP.sim.state_path``, by default
  ``<journal directory>/<process_name>_devnet/``): anvil writes it when it stops (also when the
  process dies by ``kill -9``: the node gets SIGTERM) and every 5 seconds, so a restarted
  process re-attaches to the same chain and :meth:`ChainLpManager.recover` reconciles the
  journal with it (pending transactions settled, the position found) instead of starting on a
  new chain the journal knows nothing about.
- with ``rpc_url``: that RPC (credentials redacted everywhere), the wallet from
  ``LP.private_key`` or ``ASYMLP_PRIVATE_KEY`` / an encrypted keystore
  (:func:`asymlp_runtime.chain.keys.load_wallet`), ``LP.pool`` = the pool's address, the
  periphery at the canonical Uniswap V3 addresses unless ``ASYMLP_UNISWAP_NPM`` /
  ``ASYMLP_UNISWAP_ROUTER`` / ``ASYMLP_UNISWAP_QUOTER`` say otherwise; no devnet, no flow.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from asymlp_core.v3 import MAX_SQRT_RATIO, MIN_SQRT_RATIO, get_tick_at_sqrt_ratio
from asymlp_runtime.chain.lp import ChainLpConfig, ChainLpError, ChainLpManager, OpOutcome
from asymlp_runtime.chain.tx import GasPriceAboveCap, SimulationReverted, TxPolicy, TxReverted
from asymlp_runtime.journal import Journal, TxReceiptRecord
from asymlp_runtime.lp.backend import BackendError, LpPosition, OpResult, PoolState, TokenInfo, human_price

if TYPE_CHECKING:
    from asymlp_runtime.chain.devnet import Devnet
    from asymlp_runtime.config import ProcessConfig
    from asymlp_runtime.lp.devnet_flow import DevnetFlow

__all__ = [
    "CANONICAL_NPM",
    "CANONICAL_QUOTER",
    "CANONICAL_ROUTER",
    "DEVNET_WALLET_INDEX",
    "ChainBackendSettings",
    "ChainPoolBackend",
    "DevnetWorld",
    "flip_sqrt_price",
    "make_chain_backend",
    "devnet_state_dir",
    "start_devnet_world",
]

log = logging.getLogger("asymlp.lp.chain")

_T = TypeVar("_T")
_Q192 = 1 << 192

#: Uniswap V3 periphery on Ethereum mainnet (and at the same addresses on Arbitrum, Optimism,
#: Polygon): NonfungiblePositionManager, SwapRouter, QuoterV2.
CANONICAL_NPM = "0xC36442b4a4522E871399CD717aBDD847Ab11FE88"
CANONICAL_ROUTER = "0xE592427A0AEce92B3b5Dc4A69f6A4D6E8e7A5dDB"
CANONICAL_QUOTER = "0x61fFE014bA17989E743c5F6cB21bF9697530B21e"

#: The manager's wallet on the devnet: this account of the development mnemonic (accounts
#: 1..8 are the flow's traders, 0 deploys and provides the background liquidity).
DEVNET_WALLET_INDEX = 9


def flip_sqrt_price(sqrt_price_x96: int) -> int:
    """``floor(2**192 / sqrt_price_x96)``: the sqrt price of the inverse price, within the
    contracts' bounds."""
    flipped = _Q192 // sqrt_price_x96
    return min(max(flipped, MIN_SQRT_RATIO), MAX_SQRT_RATIO - 1)


@dataclass(frozen=True, kw_only=True)
class ChainBackendSettings:
    """Safety parameters of the on-chain backend (see :class:`ChainLpConfig`).

    Defaults suit the devnet (automine, one second per block) and a hosted RPC alike; each can
    be overridden with an environment variable ``ASYMLP_CHAIN_<NAME>`` (upper case).
    """

    slippage_bps: int = 50
    deadline_s: int = 180
    twap_window_s: int = 60
    max_twap_deviation_ticks: int = 200
    min_observation_cardinality: int = 256
    confirmations: int = 1
    max_fee_cap_gwei: float = 300.0
    replace_after_s: float = 30.0

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> ChainBackendSettings:
        env = os.environ if environ is None else environ
        changes: dict[str, Any] = {}
        for name, field_type in (
            ("slippage_bps", int), ("deadline_s", int), ("twap_window_s", int),
            ("max_twap_deviation_ticks", int), ("min_observation_cardinality", int),
            ("confirmations", int), ("max_fee_cap_gwei", float), ("replace_after_s", float),
        ):  # fmt: skip
            raw = env.get(f"ASYMLP_CHAIN_{name.upper()}")
            if raw:
                changes[name] = field_type(raw)
        return replace(cls(), **changes)

    def tx_policy(self) -> TxPolicy:
        return TxPolicy(
            confirmations=self.confirmations,
            max_fee_cap_wei=int(self.max_fee_cap_gwei * 10**9),
            replace_after_s=self.replace_after_s,
        )


class ChainPoolBackend:
    """:class:`~asymlp_runtime.lp.backend.PoolBackend` over :class:`ChainLpManager` (see the
    module docstring).

    Parameters
    ----------
    manager : ChainLpManager
        The manager of the wallet's position (its journal receives the transactions).
    base_is_token0 : bool
        Whether the pool's token0 is the base asset (else every figure is flipped).
    base, quote : TokenInfo
        The base and quote tokens (protocol ``token0`` and ``token1``).
    pool_id : str
        Name in topics and messages.
    on_close : callables
        Run by :meth:`close_backend` after the manager's connection is closed (flow, devnet).
    """

    def __init__(
        self,
        manager: ChainLpManager,
        *,
        base_is_token0: bool,
        base: TokenInfo,
        quote: TokenInfo,
        pool_id: str,
        on_close: tuple[Callable[[], None], ...] = (),
    ) -> None:
        self.manager = manager
        self.flipped = not base_is_token0
        self.token0 = base
        self.token1 = quote
        self.pool_id = pool_id
        self.fee = manager.pool.fee
        self.tick_spacing = manager.pool.tick_spacing
        self._lock = threading.Lock()
        self._local_ops: dict[str, OpResult] = {}
        self._on_close = list(on_close)
        self._closed = False
        #: Extra objects kept alive with the backend (the devnet world, when there is one).
        self.world: DevnetWorld | None = None

    # ------------------------------------------------------------------ plumbing
    def _blocking(self, fn: Callable[[], _T]) -> _T:
        with self._lock:
            return fn()

    async def _run(self, fn: Callable[[], _T]) -> _T:
        return await asyncio.to_thread(self._blocking, fn)

    async def _op(self, op_id: str, fn: Callable[[], OpOutcome]) -> OpResult:
        try:
            outcome = await self._run(fn)
        except (ChainLpError, SimulationReverted, GasPriceAboveCap, TxReverted) as exc:
            reason = getattr(exc, "reason", "") or type(exc).__name__
            if isinstance(exc, GasPriceAboveCap):
                reason = "gas_price_above_cap"
            raise BackendError(op_id, str(reason)) from None
        return self._result(outcome)

    def start(self) -> Any:
        """Settle pending transactions and find the position (blocking; call before use)."""
        return self._blocking(self.manager.recover)

    # ------------------------------------------------------------------ mapping
    def _ticks(self, lower: int, upper: int) -> tuple[int, int]:
        if not self.flipped or lower == upper:
            return lower, upper
        return -upper, -lower

    def _pair(self, a0: int, a1: int) -> tuple[int, int]:
        return (a1, a0) if self.flipped else (a0, a1)

    def _result(self, o: OpOutcome) -> OpResult:
        lo, hi = self._ticks(o.tick_lower, o.tick_upper)
        a0, a1 = self._pair(o.amount0, o.amount1)
        f0, f1 = self._pair(o.fees0, o.fees1)
        kind = "open" if o.kind == "increase" else o.kind
        return OpResult(o.op_id, kind, lo, hi, o.liquidity, a0, a1, f0, f1, o.block_number, o.tx_hash,
                        gas_cost_wei=o.gas_cost_wei)  # fmt: skip

    # ------------------------------------------------------------------ reads
    async def pool_state(self, block: int | None = None) -> PoolState:
        snap = await self._run(lambda: self.manager.reader.snapshot(block=block, balances=False))
        sqrt_price = snap.sqrt_price_x96
        tick = snap.tick
        fg0, fg1 = snap.fee_growth_global0_x128, snap.fee_growth_global1_x128
        if self.flipped:
            sqrt_price = flip_sqrt_price(sqrt_price)
            tick = get_tick_at_sqrt_ratio(sqrt_price)
            fg0, fg1 = fg1, fg0
        return PoolState(
            sqrt_price_x96=sqrt_price,
            tick=tick,
            liquidity=snap.liquidity,
            block_number=snap.block_number,
            ts_ns=snap.block_timestamp * 10**9,
            price=human_price(sqrt_price, self.token0.decimals, self.token1.decimals),
            fee_growth0_x128=fg0,
            fee_growth1_x128=fg1,
        )

    async def position(self) -> LpPosition:
        view = await self._run(lambda: self.manager.position())
        lo, hi = self._ticks(view.tick_lower, view.tick_upper)
        a0, a1 = self._pair(view.amount0, view.amount1)
        f0, f1 = self._pair(view.fees0, view.fees1)
        i0, i1 = self._pair(view.idle0, view.idle1)
        return LpPosition(lo, hi, view.liquidity, a0, a1, f0, f1, i0, i1)

    async def op_result(self, op_id: str) -> OpResult | None:
        local = self._local_ops.get(op_id)
        if local is not None:
            return local

        def find() -> OpOutcome | None:
            try:
                return self.manager.op_result(op_id)
            except ChainLpError as exc:
                if exc.reason != "pending_transaction":
                    raise
                self.manager.recover()  # settle the wallet's pending transactions, then ask again
                return self.manager.op_result(op_id)

        outcome = await self._run(find)
        return self._result(outcome) if outcome is not None else None

    # ------------------------------------------------------------------ operations
    def _noop(self, op_id: str, kind: str) -> OpResult:
        result = OpResult(op_id, kind, 0, 0, 0, 0, 0)
        self._local_ops[op_id] = result
        return result

    async def open(
        self, tick_lower: int, tick_upper: int, amount0_max: int, amount1_max: int, *, op_id: str
    ) -> OpResult:
        lo, hi = self._ticks(tick_lower, tick_upper)
        d0, d1 = self._pair(amount0_max, amount1_max)
        return await self._op(op_id, lambda: self.manager.open(lo, hi, d0, d1, op_id=op_id))

    async def close(self, *, op_id: str) -> OpResult:
        done = await self.op_result(op_id)
        if done is not None:
            return done
        if not self.manager.token_id:
            return self._noop(op_id, "close")
        return await self._op(op_id, lambda: self.manager.close(op_id=op_id))

    async def collect(self, *, op_id: str) -> OpResult:
        done = await self.op_result(op_id)
        if done is not None:
            return done
        if not self.manager.token_id:
            return self._noop(op_id, "collect")
        try:
            return await self._op(op_id, lambda: self.manager.collect(op_id=op_id))
        except BackendError as exc:
            if exc.reason == "nothing_to_collect":
                lo, hi = self._ticks(self.manager._tracked.tick_lower, self.manager._tracked.tick_upper)
                result = OpResult(op_id, "collect", lo, hi, 0, 0, 0)
                self._local_ops[op_id] = result
                return result
            raise

    async def swap(
        self, zero_for_one: bool, amount_in: int, *, op_id: str, sqrt_price_limit_x96: int | None = None
    ) -> OpResult:
        if amount_in <= 0:
            raise BackendError(op_id, "amount_in must be > 0")
        pool_zero_for_one = zero_for_one != self.flipped
        limit = sqrt_price_limit_x96
        if limit is not None and self.flipped:
            limit = flip_sqrt_price(limit)
        return await self._op(
            op_id,
            lambda: self.manager.swap(pool_zero_for_one, amount_in, op_id=op_id, sqrt_price_limit_x96=limit),
        )

    # ------------------------------------------------------------------ accounting
    def gas_spent_wei(self) -> int:
        """Gas paid by every mined transaction of the wallet in the journal (wei)."""
        total = 0
        for r in self.manager.journal.read(TxReceiptRecord):
            if r.status in ("success", "reverted") and r.gas_used and r.effective_gas_price:
                total += r.gas_used * r.effective_gas_price
        return total

    # ------------------------------------------------------------------ lifecycle
    async def close_backend(self) -> None:
        await asyncio.to_thread(self.close_now)

    def close_now(self) -> None:
        """Stop the flow and the devnet (if any) and close the connection. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self.manager.rpc.close()
        except Exception:  # pragma: no cover - closing a dead connection
            pass
        for fn in self._on_close:
            try:
                fn()
            except Exception as exc:  # pragma: no cover
                log.warning("close hook failed: %s", type(exc).__name__)
        try:
            self.manager.journal.close()
        except Exception:  # pragma: no cover
            pass


# ---------------------------------------------------------------------------------------------
# the devnet world
# ---------------------------------------------------------------------------------------------
@dataclass
class DevnetWorld:
    """A started devnet with the pool seeded, the manager's wallet funded and the flow ready."""

    net: Devnet
    fee: int
    wallet: Any
    flow: DevnetFlow | None = None

    def close(self) -> None:
        if self.flow is not None:
            self.flow.stop()
        self.net.close()


def _devnet_wallet() -> Any:
    from eth_account import Account

    from asymlp_runtime.chain.anvil import DEFAULT_MNEMONIC
    from asymlp_runtime.chain.keys import Wallet

    Account.enable_unaudited_hdwallet_features()
    account = Account.from_mnemonic(DEFAULT_MNEMONIC, account_path=f"m/44'/60'/0'/0/{DEVNET_WALLET_INDEX}")
    return Wallet(bytes(account.key))


def start_devnet_world(
    *,
    fee: int,
    initial_price: float,
    budget1: float,
    background: tuple[tuple[float, float], ...],
    twap_window_s: int = 60,
    min_observation_cardinality: int = 256,
    log_path: Path | None = None,
    state_dir: Path | None = None,
    state_interval_s: int = 5,
    transaction_block_keeper: int | None = 5000,
) -> DevnetWorld:
    """Start anvil + the contracts, seed background liquidity, fund the manager's wallet.

    The node starts with its genesis ``twap_window_s + 600`` seconds in the past (one second per
    block), the pool's observation cardinality raised and ``twap_window_s + 10`` blocks mined, so
    the manager's TWAP guard has history from its first action.

    With ``state_dir`` the world persists (:class:`~asymlp_runtime.chain.devnet.Devnet`'s
    ``anvil_state.json`` + ``devnet.json``; anvil dumps the chain when the node stops, also on
    the parent's ``kill -9``, and every ``state_interval_s`` seconds): a later call with the
    same directory re-attaches to that chain -- same contracts, positions, balances and nonces, block time
    continuing one second per block from the saved head (so the TWAP window still has history)
    -- without deploying or seeding again (``world.net.reloaded``). The record's ``extra`` keeps
    ``fee`` and the wallet (a different ``fee`` is refused with
    :class:`~asymlp_runtime.chain.devnet.DevnetStateError`) and the seeding parameters (a change
    of ``initial_price``, ``budget1`` or ``background`` is ignored for the existing chain, with a
    warning). ``initial_price`` is only used for a fresh chain.

    ``transaction_block_keeper``: the node keeps the transactions and receipts of only this many
    recent blocks (``None``: all). The state file then grows by about 1.7 kB per block instead of
    13 kB (measured: 3.5 MB after 1,225 swap blocks with 100 kept, 6.3 MB after 425 with all
    kept), while a restarted manager still finds the receipts of the transactions it had in
    flight (seconds old).
    """
    from asymlp_core.ranges import liquidity_for_budget_exact
    from asymlp_runtime.chain.anvil import AnvilConfig
    from asymlp_runtime.chain.devnet import Devnet, DevnetConfig, DevnetStateError

    price = Fraction(str(round(initial_price, 6)))
    wallet = _devnet_wallet()
    seeding = {"initial_price": str(price), "budget1": budget1, "background": [list(b) for b in background],
               "min_observation_cardinality": min_observation_cardinality}  # fmt: skip

    def seed(net: Devnet) -> dict[str, Any]:
        base_is_token0 = net.token0.address == net.base.address
        d_base, d_quote = net.config.base.decimals, net.config.quote.decimals
        pool = net.pools[fee]
        spacing = pool.tick_spacing
        slot0 = net.slot0(fee)
        for half_width, value1 in background:
            # range in base-as-token0 ticks, then mapped onto the pool's order
            lo_p = float(price) * (1.0 - half_width) * 10.0 ** (d_quote - d_base)
            hi_p = float(price) * (1.0 + half_width) * 10.0 ** (d_quote - d_base)
            lo = math.floor(math.log(lo_p) / math.log(1.0001)) // spacing * spacing
            hi = -(-math.ceil(math.log(hi_p) / math.log(1.0001)) // spacing) * spacing
            if not base_is_token0:
                lo, hi = -hi, -lo
            budget = int(value1 * 10**d_quote)
            if not base_is_token0:  # the budget is in the pool's token1 (= base) units
                budget = int(value1 / float(price) * 10**d_base)
            alloc = liquidity_for_budget_exact(slot0.sqrt_price_x96, lo, hi, budget, current_tick=slot0.tick)
            if alloc.liquidity > 0:
                net.mint(fee, lo, hi, alloc.amount0 + 1, alloc.amount1 + 1)
        net.rpc.request("anvil_setBalance", [wallet.address, hex(10**22)])
        net.mint_tokens(net.base, wallet.address, int(Fraction(budget1) / 2 / price * 10**d_base))
        net.mint_tokens(net.quote, wallet.address, int(Fraction(budget1) / 2 * 10**d_quote))
        net.transact(pool.contract, "increaseObservationCardinalityNext", min_observation_cardinality)
        net.rpc.request("anvil_mine", [hex(twap_window_s + 10)])
        return {"world": {"fee": fee, "wallet": wallet.address, **seeding}}

    anvil = AnvilConfig(
        genesis_timestamp=int(time.time()) - twap_window_s - 600, log_path=log_path,
        state_interval_s=state_interval_s, transaction_block_keeper=transaction_block_keeper,
    )  # fmt: skip
    config = DevnetConfig(
        anvil=anvil, fee_tiers=(fee,), initial_price=price, funded_accounts=9, state_dir=state_dir
    )
    net = Devnet.start(config, setup=seed)
    if net.reloaded:
        try:
            recorded = net.extra.get("world")
            if not isinstance(recorded, dict) or recorded.get("fee") != fee or recorded.get("wallet") != wallet.address:
                raise DevnetStateError(
                    f"{net.record_path}: the recorded world ({recorded!r}) is not for fee {fee} and wallet "
                    f"{wallet.address}; delete {state_dir} to start a fresh chain"
                )
            changed = sorted(k for k, v in seeding.items() if k != "initial_price" and recorded.get(k) != v)
            if changed:
                log.warning(
                    "devnet: seeding parameters changed since the chain was created; the existing chain is kept",
                    extra={"keys": changed, "record": str(net.record_path)},
                )
            head = net.rpc.request("eth_getBlockByNumber", ["latest", False])
            log.info(
                "devnet: re-attached to the persisted chain",
                extra={"state_dir": str(state_dir), "block": int(head["number"], 16),
                       "block_timestamp": int(head["timestamp"], 16)},
            )  # fmt: skip
        except BaseException:
            net.close()
            raise
    return DevnetWorld(net=net, fee=fee, wallet=wallet)


def devnet_state_dir(config: ProcessConfig) -> Path | None:
    """Where the devnet of an ``[LP]`` section without ``rpc_url`` persists: ``LP.sim.state_path``
    (a directory here), else ``<journal directory>/<process_name>_devnet`` (``None`` without a
    journal: the chain then lives and dies with the process)."""
    assert config.lp is not None
    if config.lp.sim.state_path:
        return Path(config.lp.sim.state_path)
    journal = config.global_.journal_path
    if not journal:
        return None
    return Path(journal).parent / f"{config.process_name}_devnet"


def _journal_for(config: ProcessConfig) -> Journal:
    path = config.global_.journal_path
    if not path:
        raise ValueError(f"{config.process_name}: the on-chain backend needs GLOBAL.journal_path")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return Journal(path)


def _reference(config: ProcessConfig) -> Callable[[int], float]:
    from asymlp_runtime.processes.paper import PaperSettings

    assert config.lp is not None
    return PaperSettings.from_env().path(config.lp.reference_symbol)


def make_chain_backend(
    config: ProcessConfig,
    *,
    clock_ns: Callable[[], int] = time.time_ns,
    settings: ChainBackendSettings | None = None,
    start_flow: bool = True,
) -> ChainPoolBackend:
    """The on-chain backend of an ``[LP]`` section (devnet without ``rpc_url``; see the module
    docstring). Call from a long-lived thread (the node's parent-death signal follows it)."""
    from asymlp_runtime.chain.endpoint import RpcEndpoint
    from asymlp_runtime.chain.keys import Wallet, load_wallet

    lp = config.lp
    if lp is None:
        raise ValueError(f"{config.process_name}: the lp_manager needs an [LP] section")
    settings = settings or ChainBackendSettings.from_env()
    world: DevnetWorld | None = None
    if lp.rpc_url:
        url = lp.rpc_url
        if lp.private_key:
            wallet = Wallet.from_key(lp.private_key.reveal())
        else:
            wallet = load_wallet()
        pool_address = lp.pool
        if not (pool_address.startswith("0x") and len(pool_address) == 42):
            raise ValueError(f"{config.process_name}: with LP.rpc_url, LP.pool must be the pool's address")
        npm = os.environ.get("ASYMLP_UNISWAP_NPM") or CANONICAL_NPM
        router = os.environ.get("ASYMLP_UNISWAP_ROUTER") or CANONICAL_ROUTER
        quoter = os.environ.get("ASYMLP_UNISWAP_QUOTER") or CANONICAL_QUOTER
        base_symbol = os.environ.get("ASYMLP_BASE_TOKEN", "").lower()
    else:
        if lp.private_key:
            log.info("devnet: the configured private key is not used; the devnet wallet signs")
        sim = lp.sim
        price = sim.initial_price or _reference(config)(clock_ns())
        log_dir = Path(config.global_.log_dir)
        world = start_devnet_world(
            fee=lp.fee_tier, initial_price=float(price), budget1=sim.budget1, background=sim.background,
            twap_window_s=settings.twap_window_s,
            min_observation_cardinality=settings.min_observation_cardinality,
            log_path=log_dir / f"{config.process_name}_anvil.log",
            state_dir=devnet_state_dir(config),
        )  # fmt: skip
        net = world.net
        url, wallet = net.node.rpc_url, world.wallet
        pool_address = net.pools[lp.fee_tier].address
        npm, router, quoter = net.npm.address, net.router.address, net.quoter.address
        base_symbol = ""
    try:
        journal = _journal_for(config)
        chain_cfg = ChainLpConfig(
            pool=pool_address, npm=npm, router=router, quoter=quoter,
            pool_id=f"{lp.pool}#chain", slippage_bps=settings.slippage_bps, deadline_s=settings.deadline_s,
            twap_window_s=settings.twap_window_s, max_twap_deviation_ticks=settings.max_twap_deviation_ticks,
            min_observation_cardinality=settings.min_observation_cardinality, rebalance_cooldown_s=0.0,
        )  # fmt: skip
        manager = ChainLpManager(RpcEndpoint(url), wallet, chain_cfg, journal, tx_policy=settings.tx_policy())
        if world is not None:
            net = world.net
            base_is_token0 = net.token0.address == net.base.address
            base = TokenInfo(net.config.base.symbol, net.config.base.decimals)
            quote = TokenInfo(net.config.quote.symbol, net.config.quote.decimals)
        else:
            base_is_token0, base, quote = _token_roles(manager, base_symbol)
        backend = ChainPoolBackend(
            manager, base_is_token0=base_is_token0, base=base, quote=quote, pool_id=lp.pool,
            on_close=(world.close,) if world is not None else (),
        )  # fmt: skip
        backend.world = world
        report = backend.start()
        log.info(
            "on-chain pool backend ready",
            extra={"pool": pool_address, "rpc": manager.rpc.display_url, "wallet": wallet.address,
                   "flipped": backend.flipped, "position": report.token_id,
                   "settled": report.settled_transactions},
        )  # fmt: skip
        if world is not None and start_flow:
            from asymlp_runtime.lp.devnet_flow import DevnetFlow, DevnetFlowSettings

            sim = lp.sim
            world.flow = DevnetFlow(
                world.net, lp.fee_tier, _reference(config),
                DevnetFlowSettings(noise_rate_per_s=sim.noise_rate_per_s, noise_mean_value1=sim.noise_mean_value1,
                                   noise_size_sigma=sim.noise_size_sigma, arbitrage=sim.arbitrage),
                seed=sim.seed, clock_ns=clock_ns,
            )  # fmt: skip
            world.flow.start()
    except BaseException:
        if world is not None:
            world.close()
        raise
    return backend


def _token_roles(manager: ChainLpManager, base_symbol: str) -> tuple[bool, TokenInfo, TokenInfo]:
    """Which pool token is the base (``ASYMLP_BASE_TOKEN`` symbol, else the one with more decimals,
    else token0), and the symbols and decimals of both."""
    erc = manager.abis.erc20
    p = manager.pool
    calls = [("eth_call", [{"to": t, "data": erc.encode_call(fn)}, "latest"])
             for t in (p.token0, p.token1) for fn in ("symbol", "decimals")]  # fmt: skip
    raw = manager.rpc.batch(calls)
    infos = []
    for i in (0, 2):
        try:
            symbol = str(erc.decode_output("symbol", raw[i])[0])
        except Exception:
            symbol = "?"
        infos.append(TokenInfo(symbol, int(erc.decode_output("decimals", raw[i + 1])[0])))
    t0, t1 = infos
    if base_symbol:
        base_is_token0 = t0.symbol.lower() == base_symbol or t1.symbol.lower() != base_symbol
    else:
        base_is_token0 = t0.decimals >= t1.decimals
    return (True, t0, t1) if base_is_token0 else (False, t1, t0)
