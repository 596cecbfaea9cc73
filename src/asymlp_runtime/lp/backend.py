"""The pool backend protocol: what ``lp_manager`` needs from a Uniswap V3 pool.

A backend reads the pool (price, tick, active liquidity) and the manager's one position (range,
liquidity, what a close would return now, fees owed), and changes the position with four
operations that return the **exact** integer token amounts moved (smallest token units, the
contracts' rounding):

============  ========================================================================
``open``      mint ``[tick_lower, tick_upper)`` with as much liquidity as the account's idle
              balances allow (at most ``amount0_max``/``amount1_max``)
``close``     burn all the liquidity and collect principal and fees into the account
``collect``   collect the fees owed without touching the liquidity
``swap``      exact-input swap of the account's idle tokens (a rebalance re-weights with it)
============  ========================================================================

``rebalance`` is not a primitive: it is ``close`` -> ``swap`` -> ``open``, journaled step by
step by the caller (:mod:`asymlp_runtime.processes.lp_manager`) so that a restart can resume it.

Exactly-once operations
-----------------------
Every mutating call takes an ``op_id`` (the manager passes ``"<action_id>:<step>"``). A backend
executes an ``op_id`` at most once and remembers its result: calling again with the same id
returns the stored :class:`OpResult` without touching the pool, and :meth:`PoolBackend.op_result`
answers "did this operation happen?" after a crash (``None`` = never executed). An on-chain
backend maps ``op_id`` to the transaction it sent (by nonce) and answers from its receipt.

Conventions
-----------
- ``token0`` is the base asset (WETH-like), ``token1`` the quote (USDC-like); prices are token1
  per token0 in whole tokens ("human"), ``raw_per_human = 10**(decimals1 - decimals0)``.
- Amounts are Python ints (uint256); liquidity is a uint128 int.
- Every method is a coroutine (an on-chain backend waits for RPC); the simulated backend answers
  at once.

Implementations: :class:`asymlp_runtime.lp.sim.SimPoolBackend` (the exact pool state machine of
:mod:`asymlp_core.v3` with background liquidity and a seeded swap flow); an on-chain backend
(web3 against anvil or an RPC URL) plugs in behind the same protocol.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Literal, Protocol, runtime_checkable

__all__ = [
    "TokenInfo",
    "PoolState",
    "LpPosition",
    "OpKind",
    "OpResult",
    "PoolBackend",
    "BackendError",
    "human_price",
]

OpKind = Literal["open", "close", "collect", "swap"]


class BackendError(RuntimeError):
    """An operation failed (reverted, rejected or not possible); nothing was changed.

    Attributes
    ----------
    op_id : str
        The operation id.
    reason : str
        Short machine-readable reason (the contract's revert string where there is one).
    """

    def __init__(self, op_id: str, reason: str) -> None:
        self.op_id = op_id
        self.reason = reason
        super().__init__(f"operation {op_id!r} failed: {reason}")


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A pool token: ``symbol`` and ``decimals`` (18 for WETH, 6 for USDC)."""

    symbol: str
    decimals: int


@dataclass(frozen=True, slots=True)
class PoolState:
    """The pool's slot0 and active liquidity at one block.

    Attributes
    ----------
    sqrt_price_x96 : int
        ``slot0.sqrtPriceX96`` (Q64.96).
    tick : int
        ``slot0.tick``.
    liquidity : int
        Active liquidity (uint128).
    block_number : int
        Block (or simulated step) the state was read at.
    ts_ns : int
        Block time, ns since the epoch.
    price : float
        token1 per token0 in whole tokens (decimals applied).
    fee_growth0_x128, fee_growth1_x128 : int
        ``feeGrowthGlobal{0,1}X128`` in this orientation (token0 = base), 0 when not read.
    """

    sqrt_price_x96: int
    tick: int
    liquidity: int
    block_number: int
    ts_ns: int
    price: float
    fee_growth0_x128: int = 0
    fee_growth1_x128: int = 0


@dataclass(frozen=True, slots=True)
class LpPosition:
    """The manager's holdings in the pool's tokens.

    Attributes
    ----------
    tick_lower, tick_upper : int
        Range of the open position (``0, 0`` when none is open).
    liquidity : int
        Liquidity of the position (0 when none).
    amount0, amount1 : int
        What burning all the liquidity would credit now (principal, the pool's rounding).
    fees0, fees1 : int
        Fees owed to the position now (tokens owed plus fee growth not yet credited).
    idle0, idle1 : int
        Tokens held by the account outside the pool.
    """

    tick_lower: int
    tick_upper: int
    liquidity: int
    amount0: int
    amount1: int
    fees0: int
    fees1: int
    idle0: int
    idle1: int

    @property
    def is_open(self) -> bool:
        """True while the position holds liquidity."""
        return self.liquidity > 0

    @property
    def total0(self) -> int:
        """All token0 of the account: principal + fees + idle."""
        return self.amount0 + self.fees0 + self.idle0

    @property
    def total1(self) -> int:
        """All token1 of the account: principal + fees + idle."""
        return self.amount1 + self.fees1 + self.idle1


@dataclass(frozen=True, slots=True)
class OpResult:
    """Outcome of one operation, exact.

    Attributes
    ----------
    op_id : str
        The operation id given by the caller.
    kind : str
        ``open``, ``close``, ``collect`` or ``swap``.
    tick_lower, tick_upper : int
        Range concerned (for ``swap`` the range of the position at the time, or ``0, 0``).
    liquidity : int
        Liquidity minted (``open``) or burned (``close``); 0 otherwise.
    amount0, amount1 : int
        ``open``: paid into the pool; ``close``: principal received; ``collect``: fees received;
        ``swap``: the pool's signed deltas (> 0 paid in by the account, < 0 paid out to it).
    fees0, fees1 : int
        Fees received (``close`` and ``collect``); 0 otherwise.
    block_number : int
        Block the operation landed in.
    tx_hash : str
        ``0x`` + 64 hex digits: the transaction (a deterministic digest of ``op_id`` in the
        simulation).
    gas_cost_wei : int
        Gas paid for the operation, every transaction included (on chain; 0 in the simulation).
    """

    op_id: str
    kind: str
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

    def __setstate__(self, state: list[object]) -> None:
        # results pickled before a field was added (saved simulated pools) get its default
        names = fields(self)
        for f, value in zip(names, state, strict=False):
            object.__setattr__(self, f.name, value)
        for f in names[len(state) :]:
            object.__setattr__(self, f.name, f.default)


def human_price(sqrt_price_x96: int, decimals0: int, decimals1: int) -> float:
    """token1 per token0 in whole tokens from ``sqrtPriceX96`` (float, for decisions only)."""
    s = sqrt_price_x96 / float(1 << 96)
    return s * s * math.pow(10.0, decimals0 - decimals1)


@runtime_checkable
class PoolBackend(Protocol):
    """The pool as ``lp_manager`` sees it (see the module docstring for the contract).

    Attributes
    ----------
    pool_id : str
        Name used in topics and messages (``inventory.<pool_id>``).
    token0, token1 : TokenInfo
        The pool's tokens (token0 = base).
    fee : int
        Fee tier in pips (3000 = 0.30 %).
    tick_spacing : int
        The pool's tick spacing.
    """

    pool_id: str
    token0: TokenInfo
    token1: TokenInfo
    fee: int
    tick_spacing: int

    async def pool_state(self, block: int | None = None) -> PoolState:
        """slot0, active liquidity, fee growth, block number and time, now (or at ``block``:
        the state after that block, where the backend keeps history)."""
        ...

    async def position(self) -> LpPosition:
        """The account's position, fees owed and idle balances, now."""
        ...

    async def open(
        self, tick_lower: int, tick_upper: int, amount0_max: int, amount1_max: int, *, op_id: str
    ) -> OpResult:
        """Mint the largest liquidity that ``amount0_max``/``amount1_max`` (and the idle balances)
        pay for on ``[tick_lower, tick_upper)``. Raises :class:`BackendError` if a position is
        already open or the liquidity would be 0."""
        ...

    async def close(self, *, op_id: str) -> OpResult:
        """Burn all the liquidity and collect principal and fees (a no-op result when none)."""
        ...

    async def collect(self, *, op_id: str) -> OpResult:
        """Collect the fees owed to the open position."""
        ...

    async def swap(
        self, zero_for_one: bool, amount_in: int, *, op_id: str, sqrt_price_limit_x96: int | None = None
    ) -> OpResult:
        """Exact-input swap of ``amount_in`` idle tokens (token0 if ``zero_for_one``)."""
        ...

    async def op_result(self, op_id: str) -> OpResult | None:
        """The result of an operation executed earlier, or ``None`` if it never happened."""
        ...

    async def close_backend(self) -> None:
        """Release resources (persist state, close connections)."""
        ...
