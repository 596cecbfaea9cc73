"""The LP position on a real chain: NonfungiblePositionManager lifecycle, guards, journal, restart.

:class:`ChainLpManager` manages one wallet's position in one Uniswap V3 pool through the
periphery (any EVM RPC; the project's devnet by default). It offers

- **primitives**, each keyed by an ``op_id`` (``"<action_id>:<step>"``) and executed at most once
  (:meth:`~ChainLpManager.open`, :meth:`~ChainLpManager.increase`, :meth:`~ChainLpManager.close`,
  :meth:`~ChainLpManager.collect`, :meth:`~ChainLpManager.swap`, and
  :meth:`~ChainLpManager.op_result` to ask after a crash whether an ``op_id`` happened). They
  journal the transactions (``TxRecord`` before sending, ``TxReceiptRecord`` after, with the gas
  cost) under ``action_id``/``step`` of the ``op_id``; the caller journals the LP steps. This is
  what the process layer's ``PoolBackend`` adapter (:mod:`asymlp_runtime.chain.backend`) calls.
- **actions** that journal themselves (``LpActionRecord`` -> ``LpStepRecord`` per step ->
  ``LpActionEndRecord``): :meth:`~ChainLpManager.open_position`,
  :meth:`~ChainLpManager.collect_fees`, :meth:`~ChainLpManager.close_position`,
  :meth:`~ChainLpManager.rebalance` (close -> ratio swap -> mint) and
  :meth:`~ChainLpManager.recover` (restart: settle the wallet's pending transactions, find the
  position on chain, resume or end the interrupted action).

Transactions
------------
- ``mint``: aligned ticks, desired amounts from the exact tier, minima from the v3-sdk method
  (:mod:`asymlp_runtime.chain.amounts`), deadline = latest block time + ``deadline_s``.
- close = ONE ``multicall`` of ``decreaseLiquidity`` (minima from ``burnAmountsWithSlippage``) ->
  ``collect(max, max)`` -> ``burn``.
- ``collect`` of fees alone: ``collect(tokenId, wallet, max, max)``; the expected figure is the
  static call (the stored ``tokensOwed`` can be stale).

Restoring the token ratio in a rebalance: a swap
---------------------------------------------
After the close, the proceeds are re-weighted with ``SwapRouter.exactInputSingle`` for the
amount :func:`~asymlp_runtime.chain.amounts.ratio_swap_amount` computes with the exact tier,
``amountOutMinimum`` = the QuoterV2 quote minus the slippage tolerance and ``sqrtPriceLimitX96``
= the spot price moved by the tolerance. The swap-free alternative (park the excess token as a
one-sided limit range) was not chosen: the excess then earns nothing until the price crosses it,
the inventory starts depending on the future path, and the decision layer's budget allocation
(``liquidity_for_budget_exact``) assumes the whole budget sits in the target range. The swap
costs the pool fee on the swapped part and is bounded on price twice.

Guards
------
- TWAP: the spot tick must be within ``max_twap_deviation_ticks`` of ``observe([twap_window_s,
  0])``'s mean tick — checked before anything is built and again right before each transaction
  is sent; when the pool's observations do not reach back (``'OLD'``) the manager refuses too and
  :meth:`~ChainLpManager.ensure_observation_cardinality` raises ``observationCardinalityNext``.
- A cooldown between rebalances (``rebalance_cooldown_s``, wall clock, restored from the journal).
- A slippage bound on every transaction; a mint or close whose minima would all be zero, or a
  swap with a zero ``amountOutMinimum``, is refused.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address

from ..journal import (
    Journal,
    LpActionEndRecord,
    LpActionRecord,
    LpStepRecord,
    TxReceiptRecord,
    TxRecord,
    rebuild_state,
)
from .amounts import (
    burn_amounts,
    burn_amounts_with_slippage,
    fee_growth_inside,
    fees_owed,
    plan_mint,
    ratio_swap_amount,
    swap_price_limit,
)
from .keys import Wallet
from .reader import Abis, PoolReader, PoolSnapshot, load_abis
from .rpc import RpcError, decode_revert_reason
from .tx import TxOutcome, TxPolicy, TxSender

__all__ = [
    "ActionResult",
    "ChainLpConfig",
    "ChainLpError",
    "ChainLpManager",
    "CooldownActive",
    "OpOutcome",
    "PositionView",
    "PriceGuardRefused",
    "RecoveryReport",
]

log = logging.getLogger("asymlp.chain.lp")

UINT128_MAX = 2**128 - 1
UINT256_MAX = 2**256 - 1


# ---------------------------------------------------------------------------------------------
# errors, config, results
# ---------------------------------------------------------------------------------------------
class ChainLpError(RuntimeError):
    """An LP operation was refused or is impossible; ``reason`` is short and machine-readable."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class PriceGuardRefused(ChainLpError):
    """Spot tick too far from the TWAP tick, or no TWAP available: the pool may be manipulated."""


class CooldownActive(ChainLpError):
    """A rebalance was asked for before the cooldown since the last one elapsed."""


@dataclass(frozen=True, kw_only=True)
class ChainLpConfig:
    """Addresses and safety parameters of one pool's LP manager.

    Attributes
    ----------
    pool, npm, router, quoter : str
        UniswapV3Pool, NonfungiblePositionManager, SwapRouter and QuoterV2 addresses.
    pool_id : str
        Name in the journal's ``LpActionRecord.pool`` (default: the pool address).
    slippage_bps : int
        Price tolerance of every transaction's minima / limits (50 = 0.5 %).
    deadline_s : int
        Periphery deadline = latest block timestamp + this.
    twap_window_s : int
        TWAP window of the manipulation guard.
    max_twap_deviation_ticks : int
        Largest |spot tick - TWAP tick| at which the manager acts.
    min_observation_cardinality : int
        ``ensure_observation_cardinality`` raises ``observationCardinalityNext`` to this.
    rebalance_cooldown_s : float
        Least time between two rebalances.
    approve_unlimited : bool
        Approve ``2**256-1`` once (fewer transactions) instead of the exact amount each time.
    """

    pool: str
    npm: str
    router: str
    quoter: str
    pool_id: str = ""
    slippage_bps: int = 50
    deadline_s: int = 180
    twap_window_s: int = 60
    max_twap_deviation_ticks: int = 50
    min_observation_cardinality: int = 16
    rebalance_cooldown_s: float = 300.0
    approve_unlimited: bool = False


@dataclass(frozen=True, slots=True)
class OpOutcome:
    """The exact result of one primitive (all amounts in raw token units).

    ``amount0/1``: ``open``/``increase``: paid into the pool; ``close``: principal received;
    ``collect``: fees received; ``swap``: the pool's signed deltas (> 0 paid in by the wallet).
    ``fees0/1``: fees received (``close``, ``collect``). ``gas_cost_wei``: every transaction of
    the operation (approvals included). ``expected``: the exact tier's prediction at the
    simulated block (``open``/``increase``: (liquidity, amount0, amount1); ``close``:
    (principal0, principal1, fees0, fees1); ``collect``: (fees0, fees1)); a mismatch is logged.
    """

    op_id: str
    kind: str
    token_id: int
    tick_lower: int
    tick_upper: int
    liquidity: int
    amount0: int
    amount1: int
    fees0: int = 0
    fees1: int = 0
    block_number: int = 0
    tx_hash: str = ""
    gas_cost_wei: int = 0
    gas_used: int = 0
    expected: tuple[int, ...] = ()
    transactions: tuple[TxOutcome, ...] = ()


@dataclass(frozen=True, slots=True)
class PositionView:
    """The wallet's position and balances at one block (see :meth:`ChainLpManager.position`)."""

    block_number: int
    token_id: int  # 0 when no position is open
    tick_lower: int
    tick_upper: int
    liquidity: int
    amount0: int  # burn proceeds now (rounded down)
    amount1: int
    fees0: int  # what collect would pay now (static call)
    fees1: int
    fees0_exact: int  # the same from the exact tier (pool ticks + NPM bookkeeping)
    fees1_exact: int
    idle0: int
    idle1: int


@dataclass(frozen=True, slots=True)
class ActionResult:
    action_id: str
    kind: str
    outcome: str  # "completed" or "aborted"
    steps: tuple[OpOutcome, ...]
    gas_cost_wei: int
    note: str = ""


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    settled_transactions: int
    token_id: int  # the open position found on chain (0: none)
    open_positions: tuple[int, ...]  # every NFT of the wallet in this pool with liquidity
    resumed: tuple[str, ...]  # action ids completed by resuming
    ended: tuple[str, ...]  # action ids ended as aborted
    idle0: int
    idle1: int


def _split_op_id(op_id: str) -> tuple[str, int]:
    head, sep, tail = op_id.rpartition(":")
    if sep and tail.isdigit():
        return head, int(tail)
    return op_id, 0


def _now_ns() -> int:
    return time.time_ns()


# ---------------------------------------------------------------------------------------------
# the manager
# ---------------------------------------------------------------------------------------------
@dataclass
class _Tracked:
    token_id: int = 0
    tick_lower: int = 0
    tick_upper: int = 0


class ChainLpManager:
    """One wallet's position in one pool (blocking calls; see the module docstring).

    Parameters
    ----------
    rpc : RpcEndpoint or JsonRpcClient
    wallet : Wallet
    config : ChainLpConfig
    journal : Journal
        Transactions, receipts and LP actions go here (the same file across restarts).
    tx_policy : TxPolicy, optional
    clock : callable
        Wall-clock seconds (cooldown); injectable for tests.
    abis : Abis, optional
    """

    def __init__(
        self,
        rpc: Any,
        wallet: Wallet,
        config: ChainLpConfig,
        journal: Journal,
        *,
        tx_policy: TxPolicy | None = None,
        clock: Callable[[], float] = time.time,
        abis: Abis | None = None,
        tx_sender: TxSender | None = None,
    ) -> None:
        self.rpc = rpc
        self.wallet = wallet
        self.config = config
        self.journal = journal
        self.abis = abis or load_abis()
        self.reader = PoolReader(rpc, config.pool, config.npm, wallet.address, self.abis)
        self.pool = self.reader.pool
        self.pool_id = config.pool_id or self.pool.address
        self.npm = to_checksum_address(config.npm)
        self.router = to_checksum_address(config.router)
        self.quoter = to_checksum_address(config.quoter)
        self.tx = tx_sender or TxSender(rpc, wallet, journal=journal, policy=tx_policy)
        self._clock = clock
        self._tracked = _Tracked()
        self._ops: dict[str, OpOutcome] = {}
        self.last_rebalance_s = self._last_rebalance_from_journal()
        #: Refusals by reason, for metrics.
        self.refusals: dict[str, int] = {}

    # -- reads ---------------------------------------------------------------------------------
    @property
    def token_id(self) -> int:
        """The tracked open position's NFT id (0 when none)."""
        return self._tracked.token_id

    def snapshot(self, **kwargs: Any) -> PoolSnapshot:
        """:meth:`PoolReader.snapshot` with the TWAP window and the tracked position."""
        t = self._tracked
        kwargs.setdefault("twap_window_s", self.config.twap_window_s)
        if t.token_id:
            kwargs.setdefault("token_id", t.token_id)
            kwargs.setdefault("tick_range", (t.tick_lower, t.tick_upper))
        return self.reader.snapshot(**kwargs)

    def position(self, snap: PoolSnapshot | None = None) -> PositionView:
        """The position (burn proceeds, fees owed by static call and by the exact tier) and the
        wallet's idle balances, all at one block."""
        snap = snap or self.snapshot()
        pos = snap.position
        if pos is None or not pos.exists or pos.npm is None:
            return PositionView(snap.block_number, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, snap.balance0, snap.balance1)
        n = pos.npm
        a0, a1 = burn_amounts(snap.sqrt_price_x96, snap.tick, n.tick_lower, n.tick_upper, n.liquidity)
        lower, upper = snap.ticks[n.tick_lower], snap.ticks[n.tick_upper]
        inside = fee_growth_inside(
            snap.tick, n.tick_lower, n.tick_upper,
            (lower.fee_growth_outside0_x128, lower.fee_growth_outside1_x128),
            (upper.fee_growth_outside0_x128, upper.fee_growth_outside1_x128),
            (snap.fee_growth_global0_x128, snap.fee_growth_global1_x128),
        )  # fmt: skip
        f0, f1 = fees_owed(
            n.liquidity, (n.tokens_owed0, n.tokens_owed1),
            (n.fee_growth_inside0_last_x128, n.fee_growth_inside1_last_x128), inside,
        )  # fmt: skip
        return PositionView(
            snap.block_number, pos.token_id, n.tick_lower, n.tick_upper, n.liquidity, a0, a1,
            pos.fees0, pos.fees1, f0, f1, snap.balance0, snap.balance1,
        )  # fmt: skip

    # -- guards --------------------------------------------------------------------------------
    def _refuse(self, error: ChainLpError) -> None:
        self.refusals[error.reason] = self.refusals.get(error.reason, 0) + 1
        log.warning("refused", extra={"reason": error.reason, "detail": str(error), "pool": self.pool_id})
        raise error

    def check_price(self, spot_tick: int, twap_tick: int | None, twap_error: str = "") -> None:
        """Raise :class:`PriceGuardRefused` unless ``|spot - twap| <= max_twap_deviation_ticks``."""
        if twap_tick is None:
            self._refuse(PriceGuardRefused(
                "twap_unavailable",
                f"observe([{self.config.twap_window_s}, 0]) reverted ({twap_error!r}); "
                "raise the observation cardinality and wait for history",
            ))  # fmt: skip
        deviation = abs(spot_tick - twap_tick)  # type: ignore[operator]
        if deviation > self.config.max_twap_deviation_ticks:
            self._refuse(PriceGuardRefused(
                "twap_deviation",
                f"spot tick {spot_tick} is {deviation} ticks from the {self.config.twap_window_s}s TWAP "
                f"tick {twap_tick} (limit {self.config.max_twap_deviation_ticks})",
            ))  # fmt: skip

    def guard_now(self) -> None:
        """The price guard on a fresh read (one batched round trip) — run right before sending."""
        self.check_price(*self.reader.spot_and_twap(self.config.twap_window_s))

    def ensure_observation_cardinality(self, minimum: int | None = None) -> TxOutcome | None:
        """Send ``increaseObservationCardinalityNext(minimum)`` when the pool's next cardinality is
        below it (the pool then keeps that many observations as blocks go by)."""
        minimum = minimum or self.config.min_observation_cardinality
        snap = self.reader.snapshot(balances=False)
        if snap.observation_cardinality_next >= minimum:
            return None
        data = self.abis.pool.encode_call("increaseObservationCardinalityNext", minimum)
        return self.tx.transact(self.pool.address, data, label="increaseObservationCardinalityNext")

    def check_cooldown(self) -> None:
        elapsed = self._clock() - self.last_rebalance_s
        if elapsed < self.config.rebalance_cooldown_s:
            self._refuse(CooldownActive(
                "cooldown", f"{elapsed:.0f}s since the last rebalance < {self.config.rebalance_cooldown_s:.0f}s"
            ))  # fmt: skip

    # -- helpers -------------------------------------------------------------------------------
    def _deadline(self, snap: PoolSnapshot) -> int:
        return snap.block_timestamp + self.config.deadline_s

    def _check_range(self, tick_lower: int, tick_upper: int) -> None:
        s = self.pool.tick_spacing
        if tick_lower % s or tick_upper % s or tick_lower >= tick_upper:
            raise ChainLpError(
                "bad_range", f"[{tick_lower}, {tick_upper}) not aligned to spacing {s} or empty"
            )

    def _ensure_allowance(self, token: str, spender: str, amount: int, action_id: str) -> list[TxOutcome]:
        if amount == 0:
            return []
        erc = self.abis.erc20
        raw = self.rpc.request(
            "eth_call",
            [{"to": token, "data": erc.encode_call("allowance", self.wallet.address, spender)}, "latest"],
        )
        if erc.decode_output("allowance", raw)[0] >= amount:
            return []
        value = UINT256_MAX if self.config.approve_unlimited else amount
        data = erc.encode_call("approve", spender, value)
        return [self.tx.transact(token, data, label="approve", action_id=action_id, step=None)]

    def _existing(self, op_id: str) -> OpOutcome | None:
        """The stored result of ``op_id`` (this process or the journal + the chain's receipt)."""
        if op_id in self._ops:
            return self._ops[op_id]
        action_id, step = _split_op_id(op_id)
        receipts = {r.tx_hash: r for r in self.journal.read(TxReceiptRecord)}
        for tx in self.journal.read(TxRecord):
            if tx.action_id != action_id or tx.step != step:
                continue
            receipt = receipts.get(tx.tx_hash)
            if receipt is not None and receipt.status == "success":
                raw = self.rpc.request("eth_getTransactionReceipt", [tx.tx_hash])
                if raw is None:
                    continue  # reorged away since: treat as not executed
                outcome = TxOutcome(
                    tx.tx_hash, tx.nonce, int(raw["blockNumber"], 16), raw["blockHash"],
                    int(raw["gasUsed"], 16), int(raw.get("effectiveGasPrice") or "0x0", 16), raw["logs"],
                )  # fmt: skip
                result = self._parse(op_id, outcome, ())
                self._ops[op_id] = result
                return result
            if receipt is None:
                raise ChainLpError(
                    "pending_transaction", f"{op_id} has a transaction in flight; call recover()"
                )
        return None

    def op_result(self, op_id: str) -> OpOutcome | None:
        """The result of ``op_id`` if it happened (from its receipt), else ``None``."""
        return self._existing(op_id)

    def _events(self, outcome: TxOutcome) -> list[Any]:
        events = []
        for entry in outcome.logs:
            address = entry["address"].lower()
            abi = None
            if address == self.npm.lower():
                abi = self.abis.npm
            elif address == self.pool.address.lower():
                abi = self.abis.pool
            if abi is not None:
                event = abi.decode_log(entry)
                if event is not None:
                    events.append(event)
        return events

    def _parse(self, op_id: str, outcome: TxOutcome, extra: tuple[TxOutcome, ...],
               expected: tuple[int, ...] = ()) -> OpOutcome:  # fmt: skip
        """Turn a receipt's logs into an :class:`OpOutcome` (kind inferred from the events)."""
        events = self._events(outcome)
        by_name: dict[str, list[Any]] = {}
        for e in events:
            key = ("npm." if e.address.lower() == self.npm.lower() else "pool.") + e.name
            by_name.setdefault(key, []).append(e.args)
        gas = outcome.gas_cost_wei + sum(t.gas_cost_wei for t in extra)
        gas_used = outcome.gas_used + sum(t.gas_used for t in extra)
        common = dict(block_number=outcome.block_number, tx_hash=outcome.tx_hash, gas_cost_wei=gas,
                      gas_used=gas_used, expected=expected, transactions=(*extra, outcome))  # fmt: skip
        if "npm.DecreaseLiquidity" in by_name or (
            "npm.Collect" in by_name and "npm.IncreaseLiquidity" not in by_name
        ):
            dec = by_name.get("npm.DecreaseLiquidity", [{}])[0]
            col = by_name.get("pool.Collect", [{}])[0]
            burn = by_name.get("pool.Burn", [{}])[0]
            principal0, principal1 = dec.get("amount0", 0), dec.get("amount1", 0)
            paid0, paid1 = col.get("amount0", 0), col.get("amount1", 0)
            token_id = by_name.get("npm.Collect", [{}])[0].get("tokenId", 0) or dec.get("tokenId", 0)
            kind = "close" if dec else "collect"
            if kind == "collect":
                return OpOutcome(op_id, kind, token_id, col.get("tickLower", 0), col.get("tickUpper", 0), 0,
                                 paid0, paid1, paid0, paid1, **common)  # fmt: skip
            return OpOutcome(op_id, kind, token_id, burn.get("tickLower", 0), burn.get("tickUpper", 0),
                             dec.get("liquidity", 0), principal0, principal1, paid0 - principal0,
                             paid1 - principal1, **common)  # fmt: skip
        if "npm.IncreaseLiquidity" in by_name:
            inc = by_name["npm.IncreaseLiquidity"][0]
            mint = by_name.get("pool.Mint", [{}])[0]
            minted_new = any(e.name == "Transfer" and e.address.lower() == self.npm.lower() for e in events)
            return OpOutcome(op_id, "open" if minted_new else "increase", inc["tokenId"], mint.get("tickLower", 0),
                             mint.get("tickUpper", 0), inc["liquidity"], inc["amount0"], inc["amount1"],
                             **common)  # fmt: skip
        if "pool.Swap" in by_name:
            sw = by_name["pool.Swap"][0]
            t = self._tracked
            return OpOutcome(op_id, "swap", t.token_id, t.tick_lower, t.tick_upper, 0, sw["amount0"], sw["amount1"],
                             **common)  # fmt: skip
        raise ChainLpError("unrecognised_receipt", f"{outcome.tx_hash} has no LP event")

    def _remember(self, result: OpOutcome) -> OpOutcome:
        self._ops[result.op_id] = result
        if result.expected and result.kind in ("open", "increase"):
            got = (result.liquidity, result.amount0, result.amount1)
            if got != result.expected:
                log.warning(
                    "mint differs from the exact tier at the simulated block (price moved?)",
                    extra={"op_id": result.op_id, "got": list(got), "expected": list(result.expected)},
                )
        return result

    # -- primitives ----------------------------------------------------------------------------
    def open(self, tick_lower: int, tick_upper: int, amount0_desired: int, amount1_desired: int, *,
             op_id: str) -> OpOutcome:  # fmt: skip
        """Mint a new position NFT on ``[tick_lower, tick_upper)`` for at most the desired amounts
        (capped by the wallet's balances). Approves the position manager when needed."""
        done = self._existing(op_id)
        if done is not None:
            return done
        self._check_range(tick_lower, tick_upper)
        if self._tracked.token_id:
            raise ChainLpError("position_open", f"position {self._tracked.token_id} is already open")
        action_id, step = _split_op_id(op_id)
        snap = self.snapshot()
        self.check_price(snap.tick, snap.twap_tick, snap.twap_error)
        d0, d1 = min(amount0_desired, snap.balance0), min(amount1_desired, snap.balance1)
        plan = plan_mint(
            snap.sqrt_price_x96, snap.tick, tick_lower, tick_upper, d0, d1, self.config.slippage_bps
        )
        self._check_mint_plan(plan)
        approvals = self._ensure_allowance(self.pool.token0, self.npm, d0, action_id)
        approvals += self._ensure_allowance(self.pool.token1, self.npm, d1, action_id)
        params = (self.pool.token0, self.pool.token1, self.pool.fee, tick_lower, tick_upper, d0, d1,
                  plan.amount0_min, plan.amount1_min, self.wallet.address, self._deadline(snap))  # fmt: skip
        prepared = self.tx.prepare(self.npm, self.abis.npm.encode_call("mint", params), label="mint",
                                   action_id=action_id, step=step)  # fmt: skip
        outcome = self.tx.send(prepared, guard=self.guard_now)
        result = self._parse(op_id, outcome, tuple(approvals), (plan.liquidity, plan.amount0, plan.amount1))
        self._tracked = _Tracked(result.token_id, tick_lower, tick_upper)
        return self._remember(result)

    def _check_mint_plan(self, plan: Any) -> None:
        if plan.liquidity == 0:
            raise ChainLpError("zero_liquidity", "the amounts buy no liquidity in this range")
        for amount, minimum, token in (
            (plan.amount0, plan.amount0_min, 0),
            (plan.amount1, plan.amount1_min, 1),
        ):
            if amount > 0 and minimum == 0:
                raise ChainLpError(
                    "zero_minimum",
                    f"token{token} minimum is 0 at {self.config.slippage_bps} bps: the tolerance moves the price "
                    "out of the range; narrow the tolerance or widen the range",
                )

    def increase(self, amount0_desired: int, amount1_desired: int, *, op_id: str) -> OpOutcome:
        """``increaseLiquidity`` of the tracked position (minima as for a mint)."""
        done = self._existing(op_id)
        if done is not None:
            return done
        t = self._tracked
        if not t.token_id:
            raise ChainLpError("no_position", "no open position to increase")
        action_id, step = _split_op_id(op_id)
        snap = self.snapshot()
        self.check_price(snap.tick, snap.twap_tick, snap.twap_error)
        d0, d1 = min(amount0_desired, snap.balance0), min(amount1_desired, snap.balance1)
        plan = plan_mint(
            snap.sqrt_price_x96, snap.tick, t.tick_lower, t.tick_upper, d0, d1, self.config.slippage_bps
        )
        self._check_mint_plan(plan)
        approvals = self._ensure_allowance(self.pool.token0, self.npm, d0, action_id)
        approvals += self._ensure_allowance(self.pool.token1, self.npm, d1, action_id)
        params = (t.token_id, d0, d1, plan.amount0_min, plan.amount1_min, self._deadline(snap))
        prepared = self.tx.prepare(self.npm, self.abis.npm.encode_call("increaseLiquidity", params),
                                   label="increaseLiquidity", action_id=action_id, step=step)  # fmt: skip
        outcome = self.tx.send(prepared, guard=self.guard_now)
        result = self._parse(op_id, outcome, tuple(approvals), (plan.liquidity, plan.amount0, plan.amount1))
        return self._remember(OpOutcome(**{**_as_dict(result), "tick_lower": t.tick_lower,
                                           "tick_upper": t.tick_upper}))  # fmt: skip

    def close(self, *, op_id: str) -> OpOutcome:
        """ONE ``multicall``: ``decreaseLiquidity(all)`` -> ``collect(max, max)`` -> ``burn``."""
        done = self._existing(op_id)
        if done is not None:
            return done
        t = self._tracked
        if not t.token_id:
            raise ChainLpError("no_position", "no open position to close")
        action_id, step = _split_op_id(op_id)
        snap = self.snapshot()
        self.check_price(snap.tick, snap.twap_tick, snap.twap_error)
        view = self.position(snap)
        npm = self.abis.npm
        calls = []
        expected: tuple[int, ...] = (0, 0, view.fees0, view.fees1)
        if view.liquidity:
            min0, min1 = burn_amounts_with_slippage(snap.sqrt_price_x96, t.tick_lower, t.tick_upper, view.liquidity,
                                                    self.config.slippage_bps)  # fmt: skip
            if view.amount0 + view.amount1 > 0 and min0 == 0 and min1 == 0:
                raise ChainLpError("zero_minimum", "both decreaseLiquidity minima are 0")
            calls.append(npm.encode_call("decreaseLiquidity", (t.token_id, view.liquidity, min0, min1,
                                                               self._deadline(snap))))  # fmt: skip
            expected = (view.amount0, view.amount1, view.fees0, view.fees1)
        calls.append(npm.encode_call("collect", (t.token_id, self.wallet.address, UINT128_MAX, UINT128_MAX)))
        calls.append(npm.encode_call("burn", t.token_id))
        data = npm.encode_call("multicall", [bytes.fromhex(c[2:]) for c in calls])
        prepared = self.tx.prepare(self.npm, data, label="close", action_id=action_id, step=step)
        outcome = self.tx.send(prepared, guard=self.guard_now)
        result = self._parse(op_id, outcome, (), expected)
        result = OpOutcome(**{**_as_dict(result), "kind": "close", "token_id": t.token_id,
                              "tick_lower": t.tick_lower, "tick_upper": t.tick_upper})  # fmt: skip
        self._tracked = _Tracked()
        return self._remember(result)

    def collect(self, *, op_id: str) -> OpOutcome:
        """``collect(tokenId, wallet, max, max)``: the fees owed (no price exposure, no minimum)."""
        done = self._existing(op_id)
        if done is not None:
            return done
        t = self._tracked
        if not t.token_id:
            raise ChainLpError("no_position", "no open position to collect from")
        action_id, step = _split_op_id(op_id)
        snap = self.snapshot()
        view = self.position(snap)
        if view.fees0 == 0 and view.fees1 == 0:
            raise ChainLpError("nothing_to_collect", f"position {t.token_id} owes no fees")
        data = self.abis.npm.encode_call(
            "collect", (t.token_id, self.wallet.address, UINT128_MAX, UINT128_MAX)
        )
        prepared = self.tx.prepare(self.npm, data, label="collect", action_id=action_id, step=step)
        outcome = self.tx.send(prepared)
        result = self._parse(op_id, outcome, (), (view.fees0, view.fees1))
        return self._remember(OpOutcome(**{**_as_dict(result), "token_id": t.token_id,
                                           "tick_lower": t.tick_lower, "tick_upper": t.tick_upper}))  # fmt: skip

    def quote(self, zero_for_one: bool, amount_in: int, sqrt_price_limit_x96: int) -> tuple[int, int]:
        """QuoterV2 ``quoteExactInputSingle``: ``(amount_out, sqrt_price_after)``."""
        token_in, token_out = self._tokens(zero_for_one)
        q = self.abis.quoter
        data = q.encode_call("quoteExactInputSingle", (token_in, token_out, amount_in, self.pool.fee,
                                                       sqrt_price_limit_x96))  # fmt: skip
        try:
            raw = self.rpc.request("eth_call", [{"to": self.quoter, "data": data}, "latest"])
        except RpcError as err:
            reason = decode_revert_reason(err.revert_data or b"")
            raise ChainLpError("quote_failed", reason or err.message) from None
        out = q.decode_output("quoteExactInputSingle", raw)
        return out[0], out[1]

    def _tokens(self, zero_for_one: bool) -> tuple[str, str]:
        p = self.pool
        return (p.token0, p.token1) if zero_for_one else (p.token1, p.token0)

    def swap(self, zero_for_one: bool, amount_in: int, *, op_id: str,
             sqrt_price_limit_x96: int | None = None) -> OpOutcome:  # fmt: skip
        """``SwapRouter.exactInputSingle`` of ``amount_in`` (token0 if ``zero_for_one``) with
        ``amountOutMinimum`` = QuoterV2 quote x (1 - slippage) and a price limit (default: spot
        moved by the slippage tolerance). With the limit the pool may take less than
        ``amount_in``; the result has the pool's exact deltas."""
        done = self._existing(op_id)
        if done is not None:
            return done
        action_id, step = _split_op_id(op_id)
        snap = self.snapshot()
        self.check_price(snap.tick, snap.twap_tick, snap.twap_error)
        amount_in = min(amount_in, snap.balance0 if zero_for_one else snap.balance1)
        if amount_in <= 0:
            raise ChainLpError("nothing_to_swap", "no balance of the input token")
        limit = sqrt_price_limit_x96 or swap_price_limit(
            snap.sqrt_price_x96, zero_for_one, self.config.slippage_bps
        )
        quoted, _ = self.quote(zero_for_one, amount_in, limit)
        min_out = quoted * (10_000 - self.config.slippage_bps) // 10_000
        if min_out == 0:
            raise ChainLpError("zero_minimum", f"swap of {amount_in} quotes {quoted} out: minimum would be 0")
        token_in, token_out = self._tokens(zero_for_one)
        approvals = self._ensure_allowance(token_in, self.router, amount_in, action_id)
        params = (token_in, token_out, self.pool.fee, self.wallet.address, self._deadline(snap), amount_in, min_out,
                  limit)  # fmt: skip
        prepared = self.tx.prepare(self.router, self.abis.router.encode_call("exactInputSingle", params),
                                   label="swap", action_id=action_id, step=step)  # fmt: skip
        outcome = self.tx.send(prepared, guard=self.guard_now)
        return self._remember(self._parse(op_id, outcome, tuple(approvals), (quoted, min_out)))

    # -- journaled actions ---------------------------------------------------------------------
    def _start(self, kind: str, n_steps: int, params: dict[str, Any]) -> str:
        action_id = f"{kind}-{uuid.uuid4().hex[:16]}"
        self.journal.append_lp_action(LpActionRecord(
            action_id=action_id, kind=kind, pool=self.pool_id, n_steps=n_steps, params=json.dumps(params),
            ts_ns=_now_ns()))  # fmt: skip
        return action_id

    def _step(self, action_id: str, step: int, result: OpOutcome, **note: Any) -> None:
        info = {"fees0": result.fees0, "fees1": result.fees1, "gas_cost_wei": result.gas_cost_wei,
                "gas_used": result.gas_used, **note}  # fmt: skip
        self.journal.append_lp_step(LpStepRecord(
            action_id=action_id, step=step, kind=result.kind, token_id=result.token_id,
            tick_lower=result.tick_lower, tick_upper=result.tick_upper, liquidity=result.liquidity,
            amount0=result.amount0, amount1=result.amount1, tx_hash=result.tx_hash,
            note=json.dumps(info, default=str), ts_ns=_now_ns()))  # fmt: skip

    def _end(self, action_id: str, outcome: str, note: str = "") -> None:
        self.journal.append_lp_action_end(LpActionEndRecord(action_id=action_id, outcome=outcome, note=note,
                                                            ts_ns=_now_ns()))  # fmt: skip

    def _idle_step(self, action_id: str, step: int, reason: str) -> tuple[int, int]:
        snap = self.reader.snapshot(balances=True)
        self.journal.append_lp_step(LpStepRecord(
            action_id=action_id, step=step, kind="idle", status="failed", amount0=snap.balance0,
            amount1=snap.balance1, note=json.dumps({"reason": reason, "block": snap.block_number}),
            ts_ns=_now_ns()))  # fmt: skip
        return snap.balance0, snap.balance1

    def desired_for_budget(self, tick_lower: int, tick_upper: int, budget1: int) -> tuple[int, int]:
        """Desired amounts for a budget in raw token1 at the pool price (the exact tier's
        ``liquidity_for_budget_exact``)."""
        from asymlp_core.ranges.api import liquidity_for_budget_exact

        snap = self.reader.snapshot(balances=False)
        alloc = liquidity_for_budget_exact(snap.sqrt_price_x96, tick_lower, tick_upper, budget1,
                                           current_tick=snap.tick)  # fmt: skip
        return alloc.amount0, alloc.amount1

    def open_position(
        self, tick_lower: int, tick_upper: int, amount0_desired: int, amount1_desired: int
    ) -> ActionResult:
        """Journaled ``open`` (one step)."""
        plan = {"tick_lower": tick_lower, "tick_upper": tick_upper,
                "amount0_desired": amount0_desired, "amount1_desired": amount1_desired}
        aid = self._start("open", 1, plan)
        return self._run_single(aid, lambda: self.open(tick_lower, tick_upper, amount0_desired, amount1_desired,
                                                       op_id=f"{aid}:0"))  # fmt: skip

    def collect_fees(self) -> ActionResult:
        """Journaled ``collect`` (one step; the step's amounts are the fees)."""
        aid = self._start("collect", 1, {"token_id": self.token_id})
        return self._run_single(aid, lambda: self.collect(op_id=f"{aid}:0"))

    def close_position(self) -> ActionResult:
        """Journaled close (one multicall step; the note holds the fees)."""
        aid = self._start("close", 1, {"token_id": self.token_id})
        return self._run_single(aid, lambda: self.close(op_id=f"{aid}:0"))

    def _run_single(self, aid: str, run: Callable[[], OpOutcome]) -> ActionResult:
        try:
            result = run()
        except ChainLpError as err:
            self._end(aid, "aborted", str(err))
            raise
        except Exception as err:
            if not getattr(err, "sent", False):
                self._end(aid, "aborted", f"{type(err).__name__}: {err}")
            raise
        self._step(aid, 0, result, expected=list(result.expected))
        self._end(aid, "completed")
        return ActionResult(aid, result.kind, "completed", (result,), result.gas_cost_wei)

    def rebalance(self, tick_lower: int, tick_upper: int) -> ActionResult:
        """Close -> ratio swap -> mint on ``[tick_lower, tick_upper)`` with the close proceeds.

        Refused (nothing sent) by the cooldown, the TWAP guard or an unaligned range. Steps 0
        (close), 1 (swap, or a no-op step when the ratio already fits) and 2 (mint) are
        journaled; a crash in between is resumed by :meth:`recover`. A refusal after the close
        (the guard tripping before the swap or the mint) ends the action ``aborted`` with an
        ``idle`` step recording the wallet's balances.
        """
        self._check_range(tick_lower, tick_upper)
        self.check_cooldown()
        if not self._tracked.token_id:
            raise ChainLpError("no_position", "nothing to rebalance")
        snap = self.snapshot()
        self.check_price(snap.tick, snap.twap_tick, snap.twap_error)
        plan = {"tick_lower": tick_lower, "tick_upper": tick_upper, "from_token_id": self._tracked.token_id,
                "from_range": [self._tracked.tick_lower, self._tracked.tick_upper]}
        aid = self._start("rebalance", 3, plan)
        try:
            closed = self.close(op_id=f"{aid}:0")
        except ChainLpError as err:
            self._end(aid, "aborted", str(err))
            raise
        self._step(aid, 0, closed, expected=list(closed.expected))
        return self._finish_rebalance(aid, tick_lower, tick_upper, closed, None)

    def _finish_rebalance(self, aid: str, tick_lower: int, tick_upper: int, closed: OpOutcome,
                          swapped: OpOutcome | None) -> ActionResult:  # fmt: skip
        steps: list[OpOutcome] = [closed]
        have0 = closed.amount0 + closed.fees0
        have1 = closed.amount1 + closed.fees1
        try:
            if swapped is None:
                snap = self.reader.snapshot(balances=True)
                have0, have1 = min(have0, snap.balance0), min(have1, snap.balance1)
                zero_for_one, amount_in = ratio_swap_amount(snap.sqrt_price_x96, snap.liquidity, self.pool.fee,
                                                            tick_lower, tick_upper, have0, have1)  # fmt: skip
                if amount_in > 0:
                    swapped = self.swap(zero_for_one, amount_in, op_id=f"{aid}:1")
                    self._step(aid, 1, swapped, quote=list(swapped.expected))
                else:
                    skipped = LpStepRecord(action_id=aid, step=1, kind="swap", amount0=0, amount1=0,
                                           note='{"skipped": "ratio fits"}', ts_ns=_now_ns())
                    self.journal.append_lp_step(skipped)
            if swapped is not None:
                steps.append(swapped)
                have0, have1 = have0 - swapped.amount0, have1 - swapped.amount1
            minted = self.open(tick_lower, tick_upper, have0, have1, op_id=f"{aid}:2")
        except ChainLpError as err:
            idle = self._idle_step(aid, 3, str(err))
            self._end(aid, "aborted", f"{err}; idle balances {idle}")
            raise
        self._step(aid, 2, minted, expected=list(minted.expected), idle0=have0 - minted.amount0,
                   idle1=have1 - minted.amount1)  # fmt: skip
        steps.append(minted)
        self._end(aid, "completed")
        self.last_rebalance_s = self._clock()
        return ActionResult(aid, "rebalance", "completed", tuple(steps), sum(s.gas_cost_wei for s in steps))

    def _last_rebalance_from_journal(self) -> float:
        starts = {a.action_id for a in self.journal.read(LpActionRecord)
                  if a.kind == "rebalance" and a.pool == (self.config.pool_id or self.pool.address)}  # fmt: skip
        ends = [e.ts_ns for e in self.journal.read(LpActionEndRecord)
                if e.action_id in starts and e.outcome == "completed"]  # fmt: skip
        return max(ends) / 1e9 if ends else float("-inf")

    # -- restart -------------------------------------------------------------------------------
    def recover(self) -> RecoveryReport:
        """Settle the wallet's pending transactions, find the position on chain, and resume (or
        end) every interrupted LP action of this pool. Call before acting after a start."""
        settled = self.tx.settle_pending(self.journal)
        live = [(tid, p) for tid, p in self.reader.owned_positions() if p.liquidity > 0]
        if len(live) > 1:
            log.warning("more than one open position in the pool", extra={"token_ids": [t for t, _ in live]})
        if live:
            tid, p = max(live, key=lambda item: item[0])
            self._tracked = _Tracked(tid, p.tick_lower, p.tick_upper)
        else:
            self._tracked = _Tracked()
        resumed: list[str] = []
        ended: list[str] = []
        state = rebuild_state(self.journal)
        for aid, progress in state.lp_actions_in_progress.items():
            action = progress.action
            if action.pool != self.pool_id:
                continue
            done = {s.step: s for s in progress.steps if s.status == "done"}
            results: dict[int, OpOutcome] = {}
            for step in range(action.n_steps):
                result = self._existing(f"{aid}:{step}")
                if result is not None:
                    results[step] = result
                    if step not in done:
                        self._step(aid, step, result, recovered=True)
            if action.kind == "rebalance" and 0 in results:
                params = json.loads(action.params)
                if 2 in results:
                    self._tracked = _Tracked(results[2].token_id, params["tick_lower"], params["tick_upper"])
                    self._end(aid, "completed", "completed on recovery")
                    resumed.append(aid)
                    continue
                try:
                    self._finish_rebalance(aid, params["tick_lower"], params["tick_upper"], results[0],
                                           results.get(1))  # fmt: skip
                    resumed.append(aid)
                except ChainLpError:
                    ended.append(aid)
                continue
            if action.kind in ("open", "collect", "close") and 0 in results:
                if action.kind == "open":
                    r = results[0]
                    self._tracked = _Tracked(r.token_id, r.tick_lower, r.tick_upper)
                self._end(aid, "completed", "completed on recovery")
                resumed.append(aid)
                continue
            idle = self._idle_step(aid, action.n_steps, "interrupted before its transaction landed")
            self._end(aid, "aborted", f"interrupted; idle balances {idle}")
            ended.append(aid)
        snap = self.reader.snapshot(balances=True)
        return RecoveryReport(len(settled), self._tracked.token_id, tuple(t for t, _ in live), tuple(resumed),
                              tuple(ended), snap.balance0, snap.balance1)  # fmt: skip


def _as_dict(result: OpOutcome) -> dict[str, Any]:
    return {name: getattr(result, name) for name in OpOutcome.__slots__}  # type: ignore[attr-defined]
