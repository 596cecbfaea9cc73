"""A simulated pool backend: the exact Uniswap V3 state machine in-process.

:class:`SimPoolBackend` implements :class:`~asymlp_runtime.lp.backend.PoolBackend` over
:class:`asymlp_core.v3.Pool` (a 0.30 % WETH/USDC-like pool by default), with background
liquidity from other providers, the manager's account (idle balances and one position) and a
seeded :class:`~asymlp_runtime.lp.flow.SwapFlowGenerator` that swaps on the pool so the position
earns fees and its inventory moves.

Persistence stands in for the chain: with a ``state_path`` the whole simulated world (pool,
account, flow generator, executed operations) is written atomically (temporary file, then
``os.replace``) after every operation and every market step, so a process killed with
``kill -9`` restarts on the pool as it was, and an operation that ran before the kill is found by
:meth:`SimPoolBackend.op_result` instead of running twice.
"""

from __future__ import annotations

import hashlib
import math
import os
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from math import isqrt
from pathlib import Path

from asymlp_core.ranges import liquidity_for_budget_exact
from asymlp_core.v3 import (
    FEE_TIER_TICK_SPACING,
    MAX_SQRT_RATIO,
    MIN_SQRT_RATIO,
    Q128,
    Pool,
    V3Error,
    get_amount0_delta,
    get_amount1_delta,
    get_liquidity_for_amounts,
    get_sqrt_ratio_at_tick,
    mul_div,
)
from asymlp_runtime.lp.backend import BackendError, LpPosition, OpResult, PoolState, TokenInfo, human_price
from asymlp_runtime.lp.flow import FlowSettings, SwapFlowGenerator

__all__ = [
    "MAX_REMEMBERED_OPS",
    "SimPoolSettings",
    "SimPoolBackend",
    "sqrt_price_x96_from_human",
    "sim_tx_hash",
]

_STATE_VERSION = 1
_MAX_UINT128 = (1 << 128) - 1
_MAX_UINT256 = (1 << 256) - 1
_LP_OWNER = "lp"
#: Executed operations remembered for :meth:`SimPoolBackend.op_result` (the most recent ones).
MAX_REMEMBERED_OPS = 1_000
_BACKGROUND_OWNER = "background"


def sqrt_price_x96_from_human(price: float | Fraction, decimals0: int, decimals1: int) -> int:
    """``floor(sqrt(price * 10**(d1 - d0)) * 2**96)`` computed exactly from the rational price."""
    raw = Fraction(price) * Fraction(10) ** (decimals1 - decimals0)
    return isqrt(raw.numerator * (1 << 192) // raw.denominator)


def sim_tx_hash(op_id: str) -> str:
    """The simulated transaction hash of an operation: ``0x`` + blake2b-256 of its id."""
    return "0x" + hashlib.blake2b(op_id.encode(), digest_size=32).hexdigest()


@dataclass(frozen=True, slots=True)
class SimPoolSettings:
    """The simulated world.

    Attributes
    ----------
    pool_id : str
        Pool name in topics and messages.
    fee : int
        Fee tier in pips (3000 = 0.30 %); the tick spacing follows the factory's table.
    token0, token1 : TokenInfo
        Base (WETH, 18 decimals) and quote (USDC, 6 decimals).
    initial_price : float
        token1 per token0 at creation.
    background : tuple of (half_width, value1)
        Other providers' positions: ``price * (1 -/+ half_width)`` (aligned to the spacing),
        each worth ``value1`` whole token1 at the initial price.
    initial_idle0, initial_idle1 : float
        The manager's account at creation, whole tokens.
    block_time_s : float
        Simulated block time (one block per market step at most).
    seed : int
        Seed of the flow generator.
    flow : FlowSettings
        Noise and arbitrage flow.
    """

    pool_id: str = "sim-weth-usdc-3000"
    fee: int = 3000
    token0: TokenInfo = TokenInfo("WETH", 18)
    token1: TokenInfo = TokenInfo("USDC", 6)
    initial_price: float = 3000.0
    background: tuple[tuple[float, float], ...] = ((0.5, 20_000_000.0), (0.05, 10_000_000.0))
    initial_idle0: float = 10.0
    initial_idle1: float = 30_000.0
    block_time_s: float = 1.0
    seed: int = 0
    flow: FlowSettings = field(default_factory=FlowSettings)


class SimPoolBackend:
    """:class:`~asymlp_runtime.lp.backend.PoolBackend` over the exact in-process pool.

    Parameters
    ----------
    settings : SimPoolSettings
        The world to create when there is no saved state.
    state_path : path or None
        Where the world is persisted (``None``: in memory only). An existing file is loaded
        (and its settings win over ``settings``, apart from the flow parameters).
    clock_ns : callable
        Wall clock (block times).
    """

    def __init__(
        self,
        settings: SimPoolSettings | None = None,
        *,
        state_path: str | os.PathLike[str] | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.settings = settings or SimPoolSettings()
        self._clock_ns = clock_ns
        self.state_path = Path(state_path) if state_path is not None else None
        if self.state_path is not None and self.state_path.exists():
            self._load(self.state_path)
        else:
            self._create()
        s = self.settings
        self.pool_id = s.pool_id
        self.token0 = s.token0
        self.token1 = s.token1
        self.fee = s.fee
        self.tick_spacing = self.pool.tick_spacing
        self.raw_per_human = 10.0 ** (s.token1.decimals - s.token0.decimals)
        if self.state_path is not None:
            self.save()

    # ------------------------------------------------------------------ world
    def _create(self) -> None:
        s = self.settings
        spacing = FEE_TIER_TICK_SPACING.get(s.fee)
        if spacing is None:
            raise ValueError(f"fee tier {s.fee} is not one of {sorted(FEE_TIER_TICK_SPACING)}")
        pool = Pool(s.fee, spacing)
        d0, d1 = s.token0.decimals, s.token1.decimals
        sqrt_price = sqrt_price_x96_from_human(Fraction(str(s.initial_price)), d0, d1)
        pool.initialize(sqrt_price)
        for half_width, value1 in s.background:
            lo = self._align(self._tick_of(s.initial_price * (1.0 - half_width)), spacing, down=True)
            hi = self._align(self._tick_of(s.initial_price * (1.0 + half_width)), spacing, down=False)
            budget = int(value1 * 10**d1)
            alloc = liquidity_for_budget_exact(pool.sqrt_price_x96, lo, hi, budget, current_tick=pool.tick)
            if alloc.liquidity > 0:
                pool.mint(_BACKGROUND_OWNER, lo, hi, alloc.liquidity)
        self.pool = pool
        self.idle0 = int(Fraction(str(s.initial_idle0)) * 10**d0)
        self.idle1 = int(Fraction(str(s.initial_idle1)) * 10**d1)
        self.range: tuple[int, int] = (0, 0)
        self.ops: dict[str, OpResult] = {}
        self.block_number = 1
        self.block_ts_ns = self._clock_ns()
        self.flow = SwapFlowGenerator(s.flow, s.seed)
        self.nonce = 0

    def _load(self, path: Path) -> None:
        with path.open("rb") as fh:
            state = pickle.load(fh)
        if state.get("version") != _STATE_VERSION:
            raise ValueError(f"{path}: unknown simulated pool state version {state.get('version')!r}")
        flow_settings = self.settings.flow
        self.settings = state["settings"]
        self.pool = state["pool"]
        self.idle0 = state["idle0"]
        self.idle1 = state["idle1"]
        self.range = state["range"]
        self.ops = state["ops"]
        self.block_number = state["block_number"]
        self.block_ts_ns = state["block_ts_ns"]
        self.flow = state["flow"]
        self.flow.settings = flow_settings
        self.nonce = state["nonce"]

    def save(self) -> None:
        """Write the world atomically to ``state_path`` (no-op without one)."""
        if self.state_path is None:
            return
        state = {
            "version": _STATE_VERSION,
            "settings": self.settings,
            "pool": self.pool,
            "idle0": self.idle0,
            "idle1": self.idle1,
            "range": self.range,
            "ops": self.ops,
            "block_number": self.block_number,
            "block_ts_ns": self.block_ts_ns,
            "flow": self.flow,
            "nonce": self.nonce,
        }
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_name(self.state_path.name + ".tmp")
        with tmp.open("wb") as fh:
            pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, self.state_path)

    @staticmethod
    def _align(tick: int, spacing: int, *, down: bool) -> int:
        aligned = (tick // spacing) * spacing
        if not down and aligned < tick:
            aligned += spacing
        return aligned

    def _tick_of(self, price: float) -> int:
        s = self.settings
        raw = price * 10.0 ** (s.token1.decimals - s.token0.decimals)
        return math.floor(math.log(raw) / math.log(1.0001))

    # ------------------------------------------------------------------ market (simulation only)
    def price_now(self) -> float:
        """Pool price, token1 per token0 in whole tokens."""
        return human_price(self.pool.sqrt_price_x96, self.token0.decimals, self.token1.decimals)

    def sqrt_price_x96_for(self, price: float) -> int:
        """sqrtPriceX96 of a human price (float precision, for swap limits)."""
        raw = price * self.raw_per_human
        value = int(math.sqrt(raw) * float(1 << 96))
        return min(max(value, MIN_SQRT_RATIO + 1), MAX_SQRT_RATIO - 1)

    def external_swap(
        self, zero_for_one: bool, amount_specified: int, sqrt_price_limit_x96: int
    ) -> tuple[int, int]:
        """A swap by someone else (noise, arbitrage): the pool's signed deltas. Not persisted here."""
        return self.pool.swap(zero_for_one, amount_specified, sqrt_price_limit_x96)

    def advance_market(self, ts_ns: int, reference_price: float | None) -> int:
        """Run the flow up to ``ts_ns`` (one new block when anything traded); persists; returns swaps."""
        done = self.flow.advance(self, ts_ns / 1e9, reference_price)
        if done:
            self._new_block(ts_ns)
        if self.state_path is not None:
            self.save()
        return done

    def _new_block(self, ts_ns: int | None = None) -> None:
        self.block_number += 1
        self.block_ts_ns = self._clock_ns() if ts_ns is None else ts_ns

    # ------------------------------------------------------------------ reads
    async def pool_state(self, block: int | None = None) -> PoolState:
        """The pool now (the simulation keeps no history: ``block`` is ignored)."""
        p = self.pool
        return PoolState(
            sqrt_price_x96=p.sqrt_price_x96,
            tick=p.tick,
            liquidity=p.liquidity,
            block_number=self.block_number,
            ts_ns=self.block_ts_ns,
            price=self.price_now(),
            fee_growth0_x128=p.fee_growth_global0_x128,
            fee_growth1_x128=p.fee_growth_global1_x128,
        )

    def position_now(self) -> LpPosition:
        """Synchronous :meth:`position`."""
        lo, hi = self.range
        if lo == hi:
            return LpPosition(0, 0, 0, 0, 0, 0, 0, self.idle0, self.idle1)
        p = self.pool
        info = p.position(_LP_OWNER, lo, hi)
        liquidity = info.liquidity
        amount0 = amount1 = 0
        if liquidity:
            sa, sb = get_sqrt_ratio_at_tick(lo), get_sqrt_ratio_at_tick(hi)
            s = p.sqrt_price_x96
            # what burn credits: the pool's getAmountDelta rounded down, by the same cases
            if p.tick < lo:
                amount0 = get_amount0_delta(sa, sb, liquidity, False)
            elif p.tick < hi:
                amount0 = get_amount0_delta(s, sb, liquidity, False)
                amount1 = get_amount1_delta(sa, s, liquidity, False)
            else:
                amount1 = get_amount1_delta(sa, sb, liquidity, False)
        inside0, inside1 = p.fee_growth_inside(lo, hi)
        fees0 = info.tokens_owed0 + (
            mul_div((inside0 - info.fee_growth_inside0_last_x128) & _MAX_UINT256, liquidity, Q128)
            & _MAX_UINT128
        )
        fees1 = info.tokens_owed1 + (
            mul_div((inside1 - info.fee_growth_inside1_last_x128) & _MAX_UINT256, liquidity, Q128)
            & _MAX_UINT128
        )
        return LpPosition(lo, hi, liquidity, amount0, amount1, fees0, fees1, self.idle0, self.idle1)

    async def position(self) -> LpPosition:
        return self.position_now()

    async def op_result(self, op_id: str) -> OpResult | None:
        return self.ops.get(op_id)

    # ------------------------------------------------------------------ operations
    def _finish(self, result: OpResult) -> OpResult:
        self.ops[result.op_id] = result
        while len(self.ops) > MAX_REMEMBERED_OPS:  # oldest first (insertion order)
            del self.ops[next(iter(self.ops))]
        self.nonce += 1
        if self.state_path is not None:
            self.save()
        return result

    def _result(
        self,
        op_id: str,
        kind: str,
        lo: int,
        hi: int,
        liquidity: int,
        a0: int,
        a1: int,
        fees0: int = 0,
        fees1: int = 0,
    ) -> OpResult:
        self._new_block()
        return OpResult(
            op_id, kind, lo, hi, liquidity, a0, a1, fees0, fees1, self.block_number, sim_tx_hash(op_id)
        )

    async def open(
        self, tick_lower: int, tick_upper: int, amount0_max: int, amount1_max: int, *, op_id: str
    ) -> OpResult:
        done = self.ops.get(op_id)
        if done is not None:
            return done
        if self.range != (0, 0):
            raise BackendError(op_id, "position already open")
        p = self.pool
        sp = p.tick_spacing
        if tick_lower % sp or tick_upper % sp or not tick_lower < tick_upper:
            raise BackendError(op_id, f"ticks {tick_lower}, {tick_upper} not aligned to {sp}")
        a0 = min(amount0_max, self.idle0)
        a1 = min(amount1_max, self.idle1)
        sa, sb = get_sqrt_ratio_at_tick(tick_lower), get_sqrt_ratio_at_tick(tick_upper)
        try:
            liquidity = get_liquidity_for_amounts(p.sqrt_price_x96, sa, sb, a0, a1)
        except (V3Error, ValueError, ArithmeticError) as exc:
            raise BackendError(op_id, f"liquidity: {type(exc).__name__}") from None
        liquidity = min(liquidity, _MAX_UINT128)
        # the pool rounds mint amounts up: step the liquidity down until they fit (rarely needed)
        for _ in range(64):
            need0, need1 = self._mint_cost(liquidity, tick_lower, tick_upper, sa, sb)
            if need0 <= a0 and need1 <= a1:
                break
            liquidity -= max(1, liquidity >> 40)
        if liquidity <= 0:
            raise BackendError(op_id, "zero liquidity for the available amounts")
        try:
            paid0, paid1 = p.mint(_LP_OWNER, tick_lower, tick_upper, liquidity)
        except V3Error as exc:
            raise BackendError(op_id, exc.reason or "mint reverted") from None
        self.idle0 -= paid0
        self.idle1 -= paid1
        self.range = (tick_lower, tick_upper)
        return self._finish(self._result(op_id, "open", tick_lower, tick_upper, liquidity, paid0, paid1))

    def _mint_cost(self, liquidity: int, lo: int, hi: int, sa: int, sb: int) -> tuple[int, int]:
        p = self.pool
        if liquidity <= 0:
            return 0, 0
        if p.tick < lo:
            return get_amount0_delta(sa, sb, liquidity, True), 0
        if p.tick < hi:
            return (
                get_amount0_delta(p.sqrt_price_x96, sb, liquidity, True),
                get_amount1_delta(sa, p.sqrt_price_x96, liquidity, True),
            )
        return 0, get_amount1_delta(sa, sb, liquidity, True)

    async def close(self, *, op_id: str) -> OpResult:
        done = self.ops.get(op_id)
        if done is not None:
            return done
        lo, hi = self.range
        if lo == hi:
            return self._finish(self._result(op_id, "close", 0, 0, 0, 0, 0))
        p = self.pool
        liquidity = p.position(_LP_OWNER, lo, hi).liquidity
        try:
            principal0, principal1 = p.burn(_LP_OWNER, lo, hi, liquidity)
            got0, got1 = p.collect(_LP_OWNER, lo, hi, _MAX_UINT128, _MAX_UINT128)
        except V3Error as exc:
            raise BackendError(op_id, exc.reason or "burn reverted") from None
        self.idle0 += got0
        self.idle1 += got1
        self.range = (0, 0)
        return self._finish(
            self._result(
                op_id,
                "close",
                lo,
                hi,
                liquidity,
                principal0,
                principal1,
                got0 - principal0,
                got1 - principal1,
            )
        )

    async def collect(self, *, op_id: str) -> OpResult:
        done = self.ops.get(op_id)
        if done is not None:
            return done
        lo, hi = self.range
        if lo == hi:
            return self._finish(self._result(op_id, "collect", 0, 0, 0, 0, 0))
        p = self.pool
        try:
            p.burn(_LP_OWNER, lo, hi, 0)  # poke: credit the fees
            got0, got1 = p.collect(_LP_OWNER, lo, hi, _MAX_UINT128, _MAX_UINT128)
        except V3Error as exc:
            raise BackendError(op_id, exc.reason or "collect reverted") from None
        self.idle0 += got0
        self.idle1 += got1
        return self._finish(self._result(op_id, "collect", lo, hi, 0, got0, got1, got0, got1))

    async def swap(
        self, zero_for_one: bool, amount_in: int, *, op_id: str, sqrt_price_limit_x96: int | None = None
    ) -> OpResult:
        done = self.ops.get(op_id)
        if done is not None:
            return done
        if amount_in <= 0:
            raise BackendError(op_id, "amount_in must be > 0")
        if amount_in > (self.idle0 if zero_for_one else self.idle1):
            raise BackendError(op_id, "insufficient idle balance")
        limit = sqrt_price_limit_x96
        if limit is None:
            limit = MIN_SQRT_RATIO + 1 if zero_for_one else MAX_SQRT_RATIO - 1
        try:
            a0, a1 = self.pool.swap(zero_for_one, amount_in, limit)
        except V3Error as exc:
            raise BackendError(op_id, exc.reason or "swap reverted") from None
        self.idle0 -= a0
        self.idle1 -= a1
        lo, hi = self.range
        return self._finish(self._result(op_id, "swap", lo, hi, 0, a0, a1))

    async def close_backend(self) -> None:
        self.save()
