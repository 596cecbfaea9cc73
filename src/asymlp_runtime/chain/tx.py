"""Sending transactions safely: simulate, estimate, price, sign, journal, send, confirm, replace.

One :class:`TxSender` per wallet. The path of every transaction (:meth:`TxSender.prepare` then
:meth:`TxSender.send`, or :meth:`TxSender.transact` for both):

1. **Simulate** with ``eth_call`` from the wallet, in the same batched round trip as the gas
   estimate, the latest block and (first time) the wallet's pending nonce. A revert raises
   :class:`SimulationReverted` with the decoded reason (``Error(string)``, ``Panic(uint256)``
   or a custom error's selector) and is logged; nothing is signed, no nonce is used.
2. **Gas limit** = estimate x (1 + ``gas_margin``), rounded up, never above
   ``max_gas_limit`` (no fixed limits).
3. **Fees** (EIP-1559): ``maxFeePerGas = baseFee(latest) x base_fee_multiplier + priority``,
   ``maxPriorityFeePerGas = priority_fee_wei``, and a configured cap ``max_fee_cap_wei``:

   - above the cap but ``baseFee + priority <= cap``: the max fee is **capped** at the cap
     (still valid for the current base fee; it has less headroom for the next blocks);
   - ``baseFee`` itself (plus the priority fee) above the cap: **refused** with
     :class:`GasPriceAboveCap` — nothing is signed; the caller waits and retries later
     (the LP manager does: a gas spike delays a rebalance, it never overpays).
4. **Sign** with the wallet's next nonce (one :class:`NonceManager` per wallet).
5. **Guard** again (an optional callable run right before sending; the LP layer re-checks the
   pool's spot tick against its TWAP there) — a refusal here costs nothing, the nonce is
   released.
6. **Journal** a :class:`~asymlp_runtime.journal.TxRecord` (hash known from signing) *before*
   ``eth_sendRawTransaction``, so a crash right after sending leaves a pending record.
   "nonce too low" resyncs the nonce from the node and re-signs once (the first attempt gets a
   ``dropped`` receipt record).
7. **Wait** for the receipt. After ``replace_after_s`` without one, the transaction is
   **replaced**: same nonce, both fees bumped by ``replacement_bump_pct`` (>= 10 %) + 1 wei and
   at least the fresh fee estimate; up to ``max_replacements`` times (within the cap).
8. **Confirm**: status must be 1 (a mined revert raises :class:`TxReverted` after journaling
   it); wait for ``confirmations`` blocks; re-fetch the block by number and compare its hash
   with the receipt's (a reorg sends it back to step 7).
9. **Journal** the :class:`~asymlp_runtime.journal.TxReceiptRecord` (gas used, effective gas
   price) and return a :class:`TxOutcome` with the gas cost and the raw logs.

On restart :meth:`TxSender.settle_pending` settles what the journal says is in flight (and what
the node's pending nonce reveals) before anything new is sent.

Every call blocks; the asyncio process layer runs it in a worker thread.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ..journal import Journal, TxReceiptRecord, TxRecord, rebuild_state
from .keys import Wallet
from .rpc import RpcError, decode_revert_reason

__all__ = [
    "GasPriceAboveCap",
    "NonceManager",
    "PreparedTx",
    "SettledTx",
    "SimulationReverted",
    "TxError",
    "TxPolicy",
    "TxReverted",
    "TxSender",
    "TxOutcome",
    "TxStuck",
    "FeeQuote",
]

log = logging.getLogger("asymlp.chain.tx")

GWEI = 10**9


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------
class TxError(RuntimeError):
    """A transaction was not sent or did not succeed. ``sent`` says whether a nonce was used."""

    sent = False


class SimulationReverted(TxError):
    """``eth_call``/``eth_estimateGas`` reverted: nothing was signed or sent."""

    def __init__(self, reason: str, *, label: str = "") -> None:
        super().__init__(f"{label or 'transaction'} would revert: {reason!r}")
        self.reason = reason


class GasPriceAboveCap(TxError):
    """The base fee (plus the priority fee) is above the configured cap: refused, not sent."""

    def __init__(self, base_fee: int, priority_fee: int, cap: int) -> None:
        super().__init__(
            f"base fee {base_fee / GWEI:.3f} gwei + priority {priority_fee / GWEI:.3f} gwei is above "
            f"the cap of {cap / GWEI:.3f} gwei; not sending (retry when fees fall)"
        )
        self.base_fee = base_fee
        self.priority_fee = priority_fee
        self.cap = cap


class TxReverted(TxError):
    """The transaction was mined with status 0 (journaled as ``reverted``)."""

    sent = True

    def __init__(self, tx_hash: str, reason: str, outcome: TxOutcome) -> None:
        super().__init__(f"transaction {tx_hash} reverted on chain: {reason!r}")
        self.tx_hash = tx_hash
        self.reason = reason
        self.outcome = outcome


class TxStuck(TxError):
    """No receipt after every allowed replacement (the transactions may still land later)."""

    sent = True

    def __init__(self, nonce: int, hashes: list[str]) -> None:
        super().__init__(f"nonce {nonce}: no receipt for {len(hashes)} transaction(s) {hashes}")
        self.nonce = nonce
        self.hashes = hashes


# ---------------------------------------------------------------------------------------------
# configuration and results
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class TxPolicy:
    """How transactions are priced, confirmed and replaced.

    Attributes
    ----------
    gas_margin : float
        Gas limit = ``ceil(estimate * (1 + gas_margin))``.
    max_gas_limit : int
        Never above this (2**24: the per-transaction cap of EIP-7825).
    base_fee_multiplier : float
        ``maxFeePerGas = baseFee * multiplier + priority`` (2.0 survives ~6 full blocks).
    priority_fee_wei : int
        ``maxPriorityFeePerGas``.
    max_fee_cap_wei : int
        Hard cap on ``maxFeePerGas`` (see the module docstring: cap, or refuse).
    confirmations : int
        Blocks (including the transaction's own) before a receipt is final.
    replace_after_s : float
        Seconds without a receipt before the transaction is replaced.
    replacement_bump_pct : int
        Fee bump of a replacement, in percent (nodes require >= 10).
    max_replacements : int
        Replacements before :class:`TxStuck`.
    poll_interval_s : float
        Receipt / confirmation polling period.
    confirmation_timeout_s : float
        Upper bound on the wait for confirmations and on reorg re-checks.
    """

    gas_margin: float = 0.25
    max_gas_limit: int = 1 << 24
    base_fee_multiplier: float = 2.0
    priority_fee_wei: int = 1 * GWEI
    max_fee_cap_wei: int = 300 * GWEI
    confirmations: int = 1
    replace_after_s: float = 30.0
    replacement_bump_pct: int = 12
    max_replacements: int = 3
    poll_interval_s: float = 0.02
    confirmation_timeout_s: float = 600.0

    def __post_init__(self) -> None:
        if self.replacement_bump_pct < 10:
            raise ValueError("replacement_bump_pct must be >= 10 (nodes reject smaller bumps)")
        if self.gas_margin < 0 or self.base_fee_multiplier < 1:
            raise ValueError("gas_margin must be >= 0 and base_fee_multiplier >= 1")
        if self.confirmations < 1:
            raise ValueError("confirmations must be >= 1")


@dataclass(frozen=True, slots=True)
class FeeQuote:
    """EIP-1559 fees for one transaction; ``capped`` when the cap lowered ``max_fee_per_gas``."""

    base_fee: int
    max_fee_per_gas: int
    max_priority_fee_per_gas: int
    capped: bool


@dataclass(frozen=True, slots=True)
class PreparedTx:
    """A simulated, estimated, priced and signed transaction, not yet sent."""

    to: str
    data: str
    value: int
    nonce: int
    gas_limit: int
    gas_estimate: int
    fees: FeeQuote
    raw: bytes
    tx_hash: str
    simulated_output: str  # eth_call's return data (hex)
    block_number: int  # the block the simulation ran on
    block_timestamp: int
    label: str
    action_id: str
    step: int | None


@dataclass(frozen=True, slots=True)
class TxOutcome:
    """A mined, confirmed, successful (or, inside :class:`TxReverted`, failed) transaction."""

    tx_hash: str
    nonce: int
    block_number: int
    block_hash: str
    gas_used: int
    effective_gas_price: int
    logs: list[dict[str, Any]]
    replaced: tuple[str, ...] = ()  # hashes of the same nonce that were dropped

    @property
    def gas_cost_wei(self) -> int:
        """``gasUsed x effectiveGasPrice`` (the L2 data fee, where there is one, is not included)."""
        return self.gas_used * self.effective_gas_price


@dataclass(frozen=True, slots=True)
class SettledTx:
    """What :meth:`TxSender.settle_pending` found for one journaled pending transaction."""

    record: TxRecord
    status: str  # "success", "reverted" or "dropped"
    outcome: TxOutcome | None


# ---------------------------------------------------------------------------------------------
# nonces
# ---------------------------------------------------------------------------------------------
class NonceManager:
    """The next nonce of one wallet, kept locally and resynced from the node when needed."""

    def __init__(self, rpc: Any, address: str) -> None:
        self._rpc = rpc
        self.address = address
        self._next: int | None = None

    def peek(self) -> int:
        """The nonce the next transaction will use (synced from the node's pending count once)."""
        if self._next is None:
            self.resync()
        assert self._next is not None
        return self._next

    def set_from_node(self, pending_count: int) -> None:
        if self._next is None or pending_count > self._next:
            self._next = pending_count

    def resync(self) -> int:
        """Read ``eth_getTransactionCount(address, "pending")`` and adopt it."""
        self._next = int(self._rpc.request("eth_getTransactionCount", [self.address, "pending"]), 16)
        return self._next

    def commit(self, nonce: int) -> None:
        """A transaction with ``nonce`` was accepted by the node."""
        self._next = max(self._next or 0, nonce + 1)

    def invalidate(self) -> None:
        self._next = None


# ---------------------------------------------------------------------------------------------
# the sender
# ---------------------------------------------------------------------------------------------
def _revert_reason(err: RpcError) -> str | None:
    data = err.revert_data
    if data is None:
        return None
    return decode_revert_reason(data)


def _base_fee(latest: dict[str, Any], pending: Any) -> int:
    """The base fee to price against: the latest block's, or the pending block's when the node
    reports one and it is higher (nodes without a pending block answer an error: ignored)."""
    fee = int(latest.get("baseFeePerGas") or "0x0", 16)
    if isinstance(pending, dict) and pending.get("baseFeePerGas"):
        fee = max(fee, int(pending["baseFeePerGas"], 16))
    return fee


def _now_ns() -> int:
    return time.time_ns()


@dataclass
class _Attempt:
    tx_hash: str
    max_fee: int
    priority: int


class TxSender:
    """Sends one wallet's transactions (see the module docstring for the full path).

    Parameters
    ----------
    rpc : RpcEndpoint or JsonRpcClient
        Anything with ``request(method, params)`` and ``batch(calls)``.
    wallet : Wallet
        The signer.
    journal : Journal, optional
        Where TxRecord / TxReceiptRecord go (none: not journaled — tests and benchmarks only).
    policy : TxPolicy
    chain_id : int, optional
        Read from the node when not given.
    sleep, clock : callables
        Injected for tests (``time.sleep``, ``time.monotonic``).
    """

    def __init__(
        self,
        rpc: Any,
        wallet: Wallet,
        *,
        journal: Journal | None = None,
        policy: TxPolicy | None = None,
        chain_id: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rpc = rpc
        self.wallet = wallet
        self.journal = journal
        self.policy = policy or TxPolicy()
        self.chain_id = chain_id if chain_id is not None else int(rpc.request("eth_chainId", []), 16)
        self.nonces = NonceManager(rpc, wallet.address)
        self._sleep = sleep
        self._clock = clock
        #: Counters for metrics: sent, replaced, refused_gas, simulation_reverts, reverted, reorgs.
        self.counters: dict[str, int] = dict.fromkeys(
            ("sent", "replaced", "refused_gas", "simulation_reverts", "reverted", "reorgs", "nonce_resyncs"),
            0,
        )

    # -- fees ----------------------------------------------------------------------------------
    def fee_quote(self, base_fee: int) -> FeeQuote:
        """Fees for a transaction when the latest block's base fee is ``base_fee``.

        Raises :class:`GasPriceAboveCap` when ``base_fee + priority`` exceeds the cap.
        """
        p = self.policy
        priority = p.priority_fee_wei
        if base_fee + priority > p.max_fee_cap_wei:
            self.counters["refused_gas"] += 1
            raise GasPriceAboveCap(base_fee, priority, p.max_fee_cap_wei)
        wanted = math.ceil(base_fee * p.base_fee_multiplier) + priority
        if wanted > p.max_fee_cap_wei:
            return FeeQuote(base_fee, p.max_fee_cap_wei, priority, True)
        return FeeQuote(base_fee, wanted, priority, False)

    # -- preparation ---------------------------------------------------------------------------
    def prepare(
        self,
        to: str,
        data: str,
        *,
        value: int = 0,
        label: str = "",
        action_id: str = "",
        step: int | None = None,
    ) -> PreparedTx:
        """Simulate, estimate, price and sign a call of ``to`` with ``data`` (one round trip,
        two on the first transaction of the process). Nothing is sent and no nonce is used.

        Raises
        ------
        SimulationReverted, GasPriceAboveCap
        """
        call = {"from": self.wallet.address, "to": to, "data": data, "value": hex(value)}
        calls: list[tuple[str, list[Any]]] = [
            ("eth_getBlockByNumber", ["latest", False]),
            ("eth_call", [call, "latest"]),
            ("eth_estimateGas", [call, "latest"]),
            ("eth_getBlockByNumber", ["pending", False]),
        ]
        need_nonce = self.nonces._next is None
        if need_nonce:
            calls.append(("eth_getTransactionCount", [self.wallet.address, "pending"]))
        replies = self.rpc.batch(calls)
        block = replies[0]
        if isinstance(block, RpcError):
            raise block
        base_fee = _base_fee(block, replies[3])
        for reply in replies[1:3]:
            if isinstance(reply, RpcError):
                reason = _revert_reason(reply)
                if reason is None:
                    raise reply
                self.counters["simulation_reverts"] += 1
                log.warning(
                    "simulation reverted; not sending",
                    extra={"label": label, "to": to, "reason": reason, "action_id": action_id},
                )
                raise SimulationReverted(reason, label=label)
        if need_nonce:
            count_reply = replies[4]
            if isinstance(count_reply, RpcError):
                raise count_reply
            self.nonces.set_from_node(int(count_reply, 16))
        estimate = int(replies[2], 16)
        gas_limit = min(math.ceil(estimate * (1.0 + self.policy.gas_margin)), self.policy.max_gas_limit)
        fees = self.fee_quote(base_fee)
        nonce = self.nonces.peek()
        raw, tx_hash = self._sign(to, data, value, nonce, gas_limit, fees.max_fee_per_gas,
                                  fees.max_priority_fee_per_gas)  # fmt: skip
        return PreparedTx(
            to=to, data=data, value=value, nonce=nonce, gas_limit=gas_limit, gas_estimate=estimate,
            fees=fees, raw=raw, tx_hash=tx_hash, simulated_output=replies[1],
            block_number=int(block["number"], 16), block_timestamp=int(block["timestamp"], 16),
            label=label, action_id=action_id, step=step,
        )  # fmt: skip

    def _sign(
        self, to: str, data: str, value: int, nonce: int, gas: int, max_fee: int, priority: int
    ) -> tuple[bytes, str]:
        tx = {
            "type": 2,
            "chainId": self.chain_id,
            "nonce": nonce,
            "to": to,
            "value": value,
            "data": data,
            "gas": gas,
            "maxFeePerGas": max_fee,
            "maxPriorityFeePerGas": priority,
        }
        return self.wallet.sign_transaction(tx)

    # -- journal -------------------------------------------------------------------------------
    def _journal_tx(
        self, prepared: PreparedTx, tx_hash: str, nonce: int, max_fee: int, priority: int
    ) -> None:
        if self.journal is None:
            return
        self.journal.append_transaction(
            TxRecord(
                tx_hash=tx_hash,
                chain_id=self.chain_id,
                sender=self.wallet.address,
                nonce=nonce,
                to=prepared.to,
                value=prepared.value,
                gas_limit=prepared.gas_limit,
                max_fee_per_gas=max_fee,
                max_priority_fee_per_gas=priority,
                action_id=prepared.action_id,
                step=prepared.step,
                ts_ns=_now_ns(),
            )  # fmt: skip
        )

    def _journal_receipt(self, tx_hash: str, status: str, outcome: TxOutcome | None = None) -> None:
        if self.journal is None:
            return
        self.journal.append_tx_receipt(
            TxReceiptRecord(
                tx_hash=tx_hash,
                status=status,
                block_number=outcome.block_number if outcome else None,
                gas_used=outcome.gas_used if outcome else None,
                effective_gas_price=outcome.effective_gas_price if outcome else None,
                ts_ns=_now_ns(),
            )
        )

    # -- sending -------------------------------------------------------------------------------
    def send(self, prepared: PreparedTx, *, guard: Callable[[], None] | None = None) -> TxOutcome:
        """Run ``guard`` (it raises to refuse), journal, send, wait, replace, confirm.

        Raises
        ------
        TxReverted
            Mined with status 0 (journaled).
        TxStuck
            Not mined after every replacement.
        Whatever ``guard`` raises (nothing sent).
        """
        if guard is not None:
            guard()
        nonce, tx_hash, raw = prepared.nonce, prepared.tx_hash, prepared.raw
        max_fee, priority = prepared.fees.max_fee_per_gas, prepared.fees.max_priority_fee_per_gas
        for attempt in (0, 1):
            self._journal_tx(prepared, tx_hash, nonce, max_fee, priority)
            try:
                self.rpc.request("eth_sendRawTransaction", ["0x" + raw.hex()])
                break
            except RpcError as err:
                message = err.message.lower()
                if "already known" in message:
                    break
                self._journal_receipt(tx_hash, "dropped")
                if "nonce too low" in message and attempt == 0:
                    self.counters["nonce_resyncs"] += 1
                    nonce = self.nonces.resync()
                    log.warning("nonce too low; resynced", extra={"label": prepared.label, "nonce": nonce})
                    raw, tx_hash = self._sign(prepared.to, prepared.data, prepared.value, nonce,
                                              prepared.gas_limit, max_fee, priority)  # fmt: skip
                    continue
                self.nonces.invalidate()
                raise TxError(
                    f"{prepared.label or 'transaction'} rejected by the node: {err.message}"
                ) from None
        self.nonces.commit(nonce)
        self.counters["sent"] += 1
        log.info(
            "transaction sent",
            extra={"label": prepared.label, "tx_hash": tx_hash, "nonce": nonce, "gas_limit": prepared.gas_limit,
                   "max_fee_per_gas": max_fee, "capped": prepared.fees.capped},
        )  # fmt: skip
        attempts = [_Attempt(tx_hash, max_fee, priority)]
        return self._wait_and_confirm(prepared, nonce, attempts)

    def transact(
        self,
        to: str,
        data: str,
        *,
        value: int = 0,
        label: str = "",
        action_id: str = "",
        step: int | None = None,
        guard: Callable[[], None] | None = None,
    ) -> TxOutcome:
        """:meth:`prepare` then :meth:`send`."""
        prepared = self.prepare(to, data, value=value, label=label, action_id=action_id, step=step)
        return self.send(prepared, guard=guard)

    def _replace(self, prepared: PreparedTx, nonce: int, attempts: list[_Attempt]) -> bool:
        """Send a replacement of the same nonce with bumped fees; False if the cap forbids it."""
        last = attempts[-1]
        bump = 100 + self.policy.replacement_bump_pct
        latest, pending = self.rpc.batch(
            [("eth_getBlockByNumber", ["latest", False]), ("eth_getBlockByNumber", ["pending", False])]
        )
        if isinstance(latest, RpcError):
            raise latest
        base_fee = _base_fee(latest, pending)
        priority = last.priority * bump // 100 + 1
        fresh = math.ceil(base_fee * self.policy.base_fee_multiplier) + priority
        max_fee = max(last.max_fee * bump // 100 + 1, fresh)
        cap = self.policy.max_fee_cap_wei
        if max_fee > cap:
            if last.max_fee * bump // 100 + 1 > cap or base_fee + priority > cap:
                log.warning("cannot replace within the fee cap", extra={"nonce": nonce, "cap": cap})
                return False
            max_fee = cap
        raw, tx_hash = self._sign(prepared.to, prepared.data, prepared.value, nonce, prepared.gas_limit,
                                  max_fee, priority)  # fmt: skip
        self._journal_tx(prepared, tx_hash, nonce, max_fee, priority)
        try:
            self.rpc.request("eth_sendRawTransaction", ["0x" + raw.hex()])
        except RpcError as err:
            self._journal_receipt(tx_hash, "dropped")
            if "nonce too low" in err.message.lower():
                return True  # an earlier attempt was mined meanwhile; the wait loop finds it
            log.warning("replacement rejected", extra={"nonce": nonce, "error": err.message})
            return False
        self.counters["replaced"] += 1
        log.warning(
            "transaction replaced",
            extra={"label": prepared.label, "nonce": nonce, "old_tx_hash": last.tx_hash, "tx_hash": tx_hash,
                   "max_fee_per_gas": max_fee, "max_priority_fee_per_gas": priority},
        )  # fmt: skip
        attempts.append(_Attempt(tx_hash, max_fee, priority))
        return True

    def _receipts(self, hashes: list[str]) -> list[dict[str, Any] | None]:
        replies = self.rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes])
        out: list[dict[str, Any] | None] = []
        for r in replies:
            if isinstance(r, RpcError):
                raise r
            out.append(r)
        return out

    def _wait_and_confirm(self, prepared: PreparedTx, nonce: int, attempts: list[_Attempt]) -> TxOutcome:
        p = self.policy
        deadline_final = (
            self._clock() + p.confirmation_timeout_s + p.replace_after_s * (p.max_replacements + 1)
        )
        last_send = self._clock()
        can_replace = True
        while True:
            hashes = [a.tx_hash for a in attempts]
            receipts = self._receipts(hashes)
            mined = [(h, r) for h, r in zip(hashes, receipts, strict=True) if r is not None]
            if mined:
                tx_hash, receipt = mined[0]
                outcome = self._confirm(tx_hash, nonce, receipt, tuple(h for h in hashes if h != tx_hash))
                if outcome is not None:
                    return self._finish(prepared, outcome, receipt)
                continue  # reorged out: wait again
            now = self._clock()
            if now > deadline_final:
                raise TxStuck(nonce, hashes)
            if now - last_send >= p.replace_after_s:
                if can_replace and len(attempts) <= p.max_replacements:
                    can_replace = self._replace(prepared, nonce, attempts)
                    last_send = now
                elif not can_replace or len(attempts) > p.max_replacements:
                    if now - last_send >= p.replace_after_s * 2:
                        raise TxStuck(nonce, hashes)
            self._sleep(p.poll_interval_s)

    def _confirm(
        self, tx_hash: str, nonce: int, receipt: dict[str, Any], replaced: tuple[str, ...]
    ) -> TxOutcome | None:
        """Wait for the confirmations, then check the block hash; ``None`` when reorged out."""
        p = self.policy
        block_number = int(receipt["blockNumber"], 16)
        deadline = self._clock() + p.confirmation_timeout_s
        while True:
            latest = int(self.rpc.request("eth_blockNumber", []), 16)
            if latest - block_number + 1 >= p.confirmations:
                break
            if self._clock() > deadline:
                raise TxStuck(nonce, [tx_hash])
            self._sleep(p.poll_interval_s)
        block = self.rpc.request("eth_getBlockByNumber", [hex(block_number), False])
        if block is None or block["hash"] != receipt["blockHash"]:
            self.counters["reorgs"] += 1
            log.warning("block hash changed under the receipt (reorg); waiting again",
                        extra={"tx_hash": tx_hash, "block_number": block_number})  # fmt: skip
            return None
        return TxOutcome(
            tx_hash=tx_hash,
            nonce=nonce,
            block_number=block_number,
            block_hash=receipt["blockHash"],
            gas_used=int(receipt["gasUsed"], 16),
            effective_gas_price=int(receipt.get("effectiveGasPrice") or "0x0", 16),
            logs=receipt["logs"],
            replaced=replaced,
        )

    def _finish(self, prepared: PreparedTx, outcome: TxOutcome, receipt: dict[str, Any]) -> TxOutcome:
        for dropped in outcome.replaced:
            self._journal_receipt(dropped, "dropped")
        if int(receipt["status"], 16) != 1:
            self._journal_receipt(outcome.tx_hash, "reverted", outcome)
            self.counters["reverted"] += 1
            reason = self._replay_reason(prepared.to, prepared.data, prepared.value, outcome.block_number)
            log.error("transaction reverted on chain",
                      extra={"label": prepared.label, "tx_hash": outcome.tx_hash, "reason": reason})  # fmt: skip
            raise TxReverted(outcome.tx_hash, reason, outcome)
        self._journal_receipt(outcome.tx_hash, "success", outcome)
        log.info(
            "transaction confirmed",
            extra={"label": prepared.label, "tx_hash": outcome.tx_hash, "block_number": outcome.block_number,
                   "gas_used": outcome.gas_used, "gas_cost_wei": outcome.gas_cost_wei},
        )  # fmt: skip
        return outcome

    def _replay_reason(self, to: str, data: str, value: int, block_number: int) -> str:
        """Best effort: the revert reason replayed on the parent block's state."""
        call = {"from": self.wallet.address, "to": to, "data": data, "value": hex(value)}
        try:
            self.rpc.request("eth_call", [call, hex(block_number - 1)])
        except RpcError as err:
            return _revert_reason(err) or err.message
        return ""

    # -- restart -------------------------------------------------------------------------------
    def settle_pending(self, journal: Journal | None = None) -> list[SettledTx]:
        """Settle this wallet's in-flight transactions before acting (call once at start-up).

        For every journaled pending :class:`TxRecord` of this wallet and chain (grouped by nonce):
        a receipt found -> confirmed and journaled (``success``/``reverted``), the other hashes
        of the nonce ``dropped``; no receipt and the node's mined nonce is past it -> ``dropped``;
        still in the node's mempool -> waited for like a fresh send (replaced after
        ``replace_after_s`` by a zero-value transfer to self with bumped fees, which frees the
        nonce; the original action is then re-planned by the caller); unknown to the node ->
        ``dropped``. Then, if the node's pending nonce is still above its mined nonce (in-flight
        transactions the journal does not know), waits for them the same way.
        Finally the nonce manager is resynced.
        """
        journal = journal if journal is not None else self.journal
        settled: list[SettledTx] = []
        me = self.wallet.address.lower()
        if journal is not None:
            pending = [
                tx
                for tx in rebuild_state(journal).pending_transactions.values()
                if tx.sender.lower() == me and tx.chain_id == self.chain_id
            ]
            by_nonce: dict[int, list[TxRecord]] = {}
            for tx in pending:
                by_nonce.setdefault(tx.nonce, []).append(tx)
            for nonce in sorted(by_nonce):
                settled.extend(self._settle_nonce(nonce, by_nonce[nonce]))
        self._drain_unknown_in_flight()
        self.nonces.resync()
        return settled

    def _settle_nonce(self, nonce: int, records: list[TxRecord]) -> list[SettledTx]:
        hashes = [r.tx_hash for r in records]
        by_hash = {r.tx_hash: r for r in records}
        receipts = self._receipts(hashes)
        mined = [(h, r) for h, r in zip(hashes, receipts, strict=True) if r is not None]
        if not mined:
            latest_nonce = int(
                self.rpc.request("eth_getTransactionCount", [self.wallet.address, "latest"]), 16
            )
            in_pool = [h for h in hashes if self.rpc.request("eth_getTransactionByHash", [h]) is not None]
            if latest_nonce > nonce or not in_pool:
                for h in hashes:
                    self._journal_receipt(h, "dropped")
                return [SettledTx(by_hash[h], "dropped", None) for h in hashes]
            # Still in the mempool: wait, then cancel with a self-transfer if it does not land.
            last = max(records, key=lambda r: r.max_fee_per_gas or 0)
            cancel = PreparedTx(
                to=self.wallet.address, data="0x", value=0, nonce=nonce, gas_limit=21_000, gas_estimate=21_000,
                fees=FeeQuote(0, last.max_fee_per_gas or 0, last.max_priority_fee_per_gas or 0, False),
                raw=b"", tx_hash=last.tx_hash, simulated_output="0x", block_number=0, block_timestamp=0,
                label="cancel", action_id="", step=None,
            )  # fmt: skip
            attempts = [_Attempt(r.tx_hash, r.max_fee_per_gas or 0, r.max_priority_fee_per_gas or 0)
                        for r in records]  # fmt: skip
            attempts.sort(key=lambda a: a.max_fee)
            try:
                outcome = self._wait_and_confirm(cancel, nonce, attempts)
            except TxReverted as err:
                outcome = err.outcome
            mined_hash = outcome.tx_hash
            result = []
            for h in hashes:
                if h == mined_hash:
                    result.append(SettledTx(by_hash[h], "success", outcome))
                else:
                    result.append(SettledTx(by_hash[h], "dropped", None))
            return result
        tx_hash, receipt = mined[0]
        outcome = None
        while outcome is None:
            outcome = self._confirm(tx_hash, nonce, receipt, tuple(h for h in hashes if h != tx_hash))
            if outcome is None:
                receipt = self.rpc.request("eth_getTransactionReceipt", [tx_hash])
                if receipt is None:
                    return self._settle_nonce(nonce, records)
        status = "success" if int(receipt["status"], 16) == 1 else "reverted"
        for h in outcome.replaced:
            self._journal_receipt(h, "dropped")
        self._journal_receipt(tx_hash, status, outcome)
        return [
            SettledTx(by_hash[h], status if h == tx_hash else "dropped", outcome if h == tx_hash else None)
            for h in hashes
        ]

    def _drain_unknown_in_flight(self) -> None:
        """Wait (bounded) for in-flight transactions the journal does not know to be mined."""
        p = self.policy
        deadline = self._clock() + p.replace_after_s * (p.max_replacements + 1)
        while True:
            counts = self.rpc.batch(
                [("eth_getTransactionCount", [self.wallet.address, tag]) for tag in ("latest", "pending")]
            )
            latest, pending = (int(c, 16) for c in counts)
            if pending <= latest:
                return
            if self._clock() > deadline:
                log.warning("unknown in-flight transactions of the wallet did not settle",
                            extra={"latest_nonce": latest, "pending_nonce": pending})  # fmt: skip
                return
            self._sleep(p.poll_interval_s)


def with_policy(sender: TxSender, **changes: Any) -> TxSender:
    """Return ``sender`` with some policy fields changed (same wallet, journal and nonces)."""
    sender.policy = replace(sender.policy, **changes)
    return sender
