"""A pure Uniswap V3 pool state machine (Python-int reference of ``UniswapV3Pool.sol``).

``Pool`` reproduces the core contract's accounting to the wei: slot0 (sqrt price, tick),
active liquidity, the tick bitmap, per-tick liquidity and fee growth outside, positions
with fee growth inside and tokens owed, fee growth globals and protocol fees.  Every
method that the contract would revert raises :class:`~asymlp_core.v3.errors.V3Error`
with the contract's reason and leaves the pool unchanged, as a reverted transaction does.

Not modelled: the price oracle (observations, tickCumulative, secondsPerLiquidity and
secondsOutside), token transfers and callbacks (the payer is assumed to pay exactly what
the pool asks; the pool's token balances are tracked in ``balance0``/``balance1``), flash
loans and the factory's owner checks.
"""

from __future__ import annotations

import copy
from collections.abc import Hashable
from dataclasses import dataclass, fields
from typing import NamedTuple

from ._types import (
    MAX_UINT128,
    MAX_UINT256,
    int256_add,
    int256_sub,
    require_int,
    require_uint,
    to_int128,
    to_int256,
)
from .errors import V3Error
from .full_math import mul_div
from .liquidity_math import add_delta
from .sqrt_price_math import Q128, get_amount0_delta_signed, get_amount1_delta_signed
from .swap_math import compute_swap_step
from .tick_bitmap import flip_tick, next_initialized_tick_within_one_word
from .tick_math import (
    MAX_SQRT_RATIO,
    MAX_TICK,
    MIN_SQRT_RATIO,
    MIN_TICK,
    get_sqrt_ratio_at_tick,
    get_tick_at_sqrt_ratio,
)

#: The fee tiers enabled by the factory at deployment: fee (pips) -> tick spacing.
FEE_TIER_TICK_SPACING = {500: 10, 3000: 60, 10000: 200}


class TickInfo(NamedTuple):
    """A snapshot of ``Tick.Info`` (oracle fields omitted)."""

    liquidity_gross: int
    liquidity_net: int
    fee_growth_outside0_x128: int
    fee_growth_outside1_x128: int
    initialized: bool


class PositionInfo(NamedTuple):
    """A snapshot of ``Position.Info``."""

    liquidity: int
    fee_growth_inside0_last_x128: int
    fee_growth_inside1_last_x128: int
    tokens_owed0: int
    tokens_owed1: int


@dataclass(slots=True)
class _Tick:
    liquidity_gross: int = 0
    liquidity_net: int = 0
    fee_growth_outside0_x128: int = 0
    fee_growth_outside1_x128: int = 0
    initialized: bool = False


@dataclass(slots=True)
class _Position:
    liquidity: int = 0
    fee_growth_inside0_last_x128: int = 0
    fee_growth_inside1_last_x128: int = 0
    tokens_owed0: int = 0
    tokens_owed1: int = 0


def tick_spacing_to_max_liquidity_per_tick(tick_spacing: int) -> int:
    """``Tick.tickSpacingToMaxLiquidityPerTick``: uint128 max over the number of usable ticks."""
    min_tick = -(-MIN_TICK // tick_spacing) * tick_spacing  # Solidity division truncates to 0
    max_tick = (MAX_TICK // tick_spacing) * tick_spacing
    num_ticks = (max_tick - min_tick) // tick_spacing + 1
    return MAX_UINT128 // num_ticks


class Pool:
    """A Uniswap V3 pool's state, with the core contract's methods.

    Parameters
    ----------
    fee:
        Fee in pips (500 = 0.05%, 3000 = 0.3%, 10000 = 1%).
    tick_spacing:
        Spacing of initializable ticks (10, 60, 200 for the factory's tiers).

    Amount conventions follow the contract: ``mint`` returns what the payer owes,
    ``burn`` what is credited to the position, ``swap`` the pool's signed deltas
    (positive = paid into the pool, negative = paid out).
    """

    def __init__(self, fee: int, tick_spacing: int) -> None:
        require_uint(fee, 24, "fee")
        if fee >= 1_000_000:
            raise ValueError(f"fee={fee} pips must be below 1,000,000")
        require_int(tick_spacing, 24, "tick_spacing")
        if not 0 < tick_spacing < 16384:
            raise ValueError(f"tick_spacing={tick_spacing} must be in (0, 16384), as the factory")
        self.fee = fee
        self.tick_spacing = tick_spacing
        self.max_liquidity_per_tick = tick_spacing_to_max_liquidity_per_tick(tick_spacing)
        self.sqrt_price_x96 = 0
        self.tick = 0
        self.fee_protocol = 0
        self.unlocked = False
        self.liquidity = 0
        self.fee_growth_global0_x128 = 0
        self.fee_growth_global1_x128 = 0
        self.protocol_fees0 = 0
        self.protocol_fees1 = 0
        self.balance0 = 0
        self.balance1 = 0
        self.tick_bitmap: dict[int, int] = {}
        self._ticks: dict[int, _Tick] = {}
        self._positions: dict[tuple[Hashable, int, int], _Position] = {}

    # ------------------------------------------------------------------ views
    def tick_info(self, tick: int) -> TickInfo:
        """``ticks(tick)``: zeros for an uninitialized tick, as the contract's mapping."""
        t = self._ticks.get(tick)
        if t is None:
            return TickInfo(0, 0, 0, 0, False)
        return TickInfo(*(getattr(t, f.name) for f in fields(_Tick)))

    def position(self, owner: Hashable, tick_lower: int, tick_upper: int) -> PositionInfo:
        """``positions(keccak(owner, lower, upper))``: zeros for an unknown position."""
        p = self._positions.get((owner, tick_lower, tick_upper))
        if p is None:
            return PositionInfo(0, 0, 0, 0, 0)
        return PositionInfo(*(getattr(p, f.name) for f in fields(_Position)))

    def initialized_ticks(self) -> list[int]:
        """The initialized ticks, sorted ascending."""
        return sorted(self._ticks)

    def positions(self) -> dict[tuple[Hashable, int, int], PositionInfo]:
        """Every position ever touched, keyed by ``(owner, tick_lower, tick_upper)``."""
        return {k: self.position(*k) for k in self._positions}

    def fee_growth_inside(self, tick_lower: int, tick_upper: int) -> tuple[int, int]:
        """``Tick.getFeeGrowthInside`` at the current tick (Q128.128, wrapping)."""
        return self._fee_growth_inside(tick_lower, tick_upper, self.tick)

    def copy(self) -> Pool:
        """An independent deep copy (for what-if analysis)."""
        return copy.deepcopy(self)

    # -------------------------------------------------------------- mutators
    def initialize(self, sqrt_price_x96: int) -> None:
        """Set the first price; reverts 'AI' if already initialized, 'R' if out of range."""
        if self.sqrt_price_x96 != 0:
            raise V3Error("AI", "pool already initialized")
        tick = get_tick_at_sqrt_ratio(sqrt_price_x96)
        self.sqrt_price_x96 = sqrt_price_x96
        self.tick = tick
        self.unlocked = True

    def set_fee_protocol(self, fee_protocol0: int, fee_protocol1: int) -> None:
        """Protocol fee as 1/N of the swap fee (N in 4..10, or 0 for off), per token."""
        self._lock()
        for fp in (fee_protocol0, fee_protocol1):
            if not (fp == 0 or 4 <= fp <= 10):
                raise V3Error("", f"fee protocol {fp} must be 0 or in [4, 10]")
        self.fee_protocol = fee_protocol0 + (fee_protocol1 << 4)

    def mint(self, owner: Hashable, tick_lower: int, tick_upper: int, amount: int) -> tuple[int, int]:
        """Add ``amount`` of liquidity to ``owner``'s position; returns the amounts owed."""
        self._lock()
        require_uint(amount, 128, "amount")
        if amount == 0:
            raise V3Error("", "mint amount is 0")
        with _Atomic(self):
            amount0, amount1 = self._modify_position(owner, tick_lower, tick_upper, to_int128(amount))
            self.balance0 += amount0
            self.balance1 += amount1
        return amount0, amount1

    def burn(self, owner: Hashable, tick_lower: int, tick_upper: int, amount: int) -> tuple[int, int]:
        """Remove ``amount`` of liquidity; the amounts are credited to tokens owed.

        ``amount=0`` pokes the position (updates its fees owed); 'NP' if it has none.
        """
        self._lock()
        require_uint(amount, 128, "amount")
        with _Atomic(self):
            amount0_int, amount1_int = self._modify_position(
                owner, tick_lower, tick_upper, -to_int128(amount)
            )
            amount0, amount1 = -amount0_int, -amount1_int
            if amount0 > 0 or amount1 > 0:
                p = self._positions[(owner, tick_lower, tick_upper)]
                p.tokens_owed0 = (p.tokens_owed0 + amount0) & MAX_UINT128
                p.tokens_owed1 = (p.tokens_owed1 + amount1) & MAX_UINT128
        return amount0, amount1

    def collect(
        self,
        owner: Hashable,
        tick_lower: int,
        tick_upper: int,
        amount0_requested: int,
        amount1_requested: int,
    ) -> tuple[int, int]:
        """Withdraw up to the requested tokens owed to a position; returns what was paid."""
        self._lock()
        require_uint(amount0_requested, 128, "amount0_requested")
        require_uint(amount1_requested, 128, "amount1_requested")
        p = self._positions.get((owner, tick_lower, tick_upper))
        if p is None:
            return 0, 0
        amount0 = min(amount0_requested, p.tokens_owed0)
        amount1 = min(amount1_requested, p.tokens_owed1)
        self._check_balance(amount0, amount1)
        p.tokens_owed0 -= amount0
        p.tokens_owed1 -= amount1
        self.balance0 -= amount0
        self.balance1 -= amount1
        return amount0, amount1

    def swap(
        self, zero_for_one: bool, amount_specified: int, sqrt_price_limit_x96: int
    ) -> tuple[int, int]:
        """Swap against the pool, walking initialized ticks word by word as the contract.

        ``amount_specified`` > 0 is exact input, < 0 exact output (of the other token).
        Returns the pool's signed deltas ``(amount0, amount1)``.
        """
        require_int(amount_specified, 256, "amount_specified")
        require_uint(sqrt_price_limit_x96, 160, "sqrt_price_limit_x96")
        if amount_specified == 0:
            raise V3Error("AS", "amount specified is 0")
        self._lock()
        if zero_for_one:
            if not (MIN_SQRT_RATIO < sqrt_price_limit_x96 < self.sqrt_price_x96):
                raise V3Error("SPL", "price limit must be in (MIN_SQRT_RATIO, current price)")
        elif not (self.sqrt_price_x96 < sqrt_price_limit_x96 < MAX_SQRT_RATIO):
            raise V3Error("SPL", "price limit must be in (current price, MAX_SQRT_RATIO)")
        with _Atomic(self):
            return self._swap(zero_for_one, amount_specified, sqrt_price_limit_x96)

    # -------------------------------------------------------------- internals
    def _lock(self) -> None:
        if not self.unlocked:
            raise V3Error("LOK", "pool is not initialized (locked)")

    def _check_balance(self, out0: int, out1: int) -> None:
        if out0 > self.balance0 or out1 > self.balance1:
            raise V3Error("TF", "the pool does not hold the tokens it would pay out")

    def _check_ticks(self, tick_lower: int, tick_upper: int) -> None:
        require_int(tick_lower, 24, "tick_lower")
        require_int(tick_upper, 24, "tick_upper")
        if tick_lower >= tick_upper:
            raise V3Error("TLU", f"tick_lower {tick_lower} >= tick_upper {tick_upper}")
        if tick_lower < MIN_TICK:
            raise V3Error("TLM", f"tick_lower {tick_lower} < MIN_TICK")
        if tick_upper > MAX_TICK:
            raise V3Error("TUM", f"tick_upper {tick_upper} > MAX_TICK")

    def _fee_growth_inside(self, tick_lower: int, tick_upper: int, tick_current: int) -> tuple[int, int]:
        lower = self._ticks.get(tick_lower) or _Tick()
        upper = self._ticks.get(tick_upper) or _Tick()
        g0, g1 = self.fee_growth_global0_x128, self.fee_growth_global1_x128
        if tick_current >= tick_lower:
            below0, below1 = lower.fee_growth_outside0_x128, lower.fee_growth_outside1_x128
        else:
            below0 = (g0 - lower.fee_growth_outside0_x128) & MAX_UINT256
            below1 = (g1 - lower.fee_growth_outside1_x128) & MAX_UINT256
        if tick_current < tick_upper:
            above0, above1 = upper.fee_growth_outside0_x128, upper.fee_growth_outside1_x128
        else:
            above0 = (g0 - upper.fee_growth_outside0_x128) & MAX_UINT256
            above1 = (g1 - upper.fee_growth_outside1_x128) & MAX_UINT256
        return (g0 - below0 - above0) & MAX_UINT256, (g1 - below1 - above1) & MAX_UINT256

    def _update_tick(self, tick: int, tick_current: int, liquidity_delta: int, upper: bool) -> bool:
        info = self._ticks.get(tick)
        if info is None:
            info = self._ticks[tick] = _Tick()
        gross_before = info.liquidity_gross
        gross_after = add_delta(gross_before, liquidity_delta)
        if gross_after > self.max_liquidity_per_tick:
            raise V3Error("LO", f"liquidity gross {gross_after} at tick {tick} above the maximum")
        flipped = (gross_after == 0) != (gross_before == 0)
        if gross_before == 0:
            # by convention, all growth before a tick was initialized happened below it
            if tick <= tick_current:
                info.fee_growth_outside0_x128 = self.fee_growth_global0_x128
                info.fee_growth_outside1_x128 = self.fee_growth_global1_x128
            info.initialized = True
        info.liquidity_gross = gross_after
        net = int256_sub(info.liquidity_net, liquidity_delta) if upper else int256_add(
            info.liquidity_net, liquidity_delta
        )
        info.liquidity_net = to_int128(net)
        return flipped

    def _update_position(
        self, owner: Hashable, tick_lower: int, tick_upper: int, liquidity_delta: int, tick: int
    ) -> _Position:
        key = (owner, tick_lower, tick_upper)
        position = self._positions.get(key)
        if position is None:
            position = self._positions[key] = _Position()
        flipped_lower = flipped_upper = False
        if liquidity_delta != 0:
            flipped_lower = self._update_tick(tick_lower, tick, liquidity_delta, False)
            flipped_upper = self._update_tick(tick_upper, tick, liquidity_delta, True)
            if flipped_lower:
                flip_tick(self.tick_bitmap, tick_lower, self.tick_spacing)
            if flipped_upper:
                flip_tick(self.tick_bitmap, tick_upper, self.tick_spacing)
        inside0, inside1 = self._fee_growth_inside(tick_lower, tick_upper, tick)

        # Position.update
        if liquidity_delta == 0:
            if position.liquidity == 0:
                raise V3Error("NP", "poke of a position with no liquidity")
            liquidity_next = position.liquidity
        else:
            liquidity_next = add_delta(position.liquidity, liquidity_delta)
        owed0 = mul_div(
            (inside0 - position.fee_growth_inside0_last_x128) & MAX_UINT256, position.liquidity, Q128
        ) & MAX_UINT128
        owed1 = mul_div(
            (inside1 - position.fee_growth_inside1_last_x128) & MAX_UINT256, position.liquidity, Q128
        ) & MAX_UINT128
        if liquidity_delta != 0:
            position.liquidity = liquidity_next
        position.fee_growth_inside0_last_x128 = inside0
        position.fee_growth_inside1_last_x128 = inside1
        if owed0 > 0 or owed1 > 0:
            position.tokens_owed0 = (position.tokens_owed0 + owed0) & MAX_UINT128
            position.tokens_owed1 = (position.tokens_owed1 + owed1) & MAX_UINT128

        if liquidity_delta < 0:
            if flipped_lower:
                del self._ticks[tick_lower]
            if flipped_upper:
                del self._ticks[tick_upper]
        return position

    def _modify_position(
        self, owner: Hashable, tick_lower: int, tick_upper: int, liquidity_delta: int
    ) -> tuple[int, int]:
        self._check_ticks(tick_lower, tick_upper)
        tick = self.tick
        self._update_position(owner, tick_lower, tick_upper, liquidity_delta, tick)
        amount0 = amount1 = 0
        if liquidity_delta != 0:
            sqrt_lower = get_sqrt_ratio_at_tick(tick_lower)
            sqrt_upper = get_sqrt_ratio_at_tick(tick_upper)
            if tick < tick_lower:
                amount0 = get_amount0_delta_signed(sqrt_lower, sqrt_upper, liquidity_delta)
            elif tick < tick_upper:
                amount0 = get_amount0_delta_signed(self.sqrt_price_x96, sqrt_upper, liquidity_delta)
                amount1 = get_amount1_delta_signed(sqrt_lower, self.sqrt_price_x96, liquidity_delta)
                self.liquidity = add_delta(self.liquidity, liquidity_delta)
            else:
                amount1 = get_amount1_delta_signed(sqrt_lower, sqrt_upper, liquidity_delta)
        return amount0, amount1

    def _swap(self, zero_for_one: bool, amount_specified: int, sqrt_price_limit_x96: int) -> tuple[int, int]:
        fee_protocol = (self.fee_protocol % 16) if zero_for_one else (self.fee_protocol >> 4)
        exact_input = amount_specified > 0
        remaining = amount_specified
        calculated = 0
        sqrt_price = self.sqrt_price_x96
        tick = self.tick
        liquidity = self.liquidity
        fee_growth_global = self.fee_growth_global0_x128 if zero_for_one else self.fee_growth_global1_x128
        protocol_fee = 0

        while remaining != 0 and sqrt_price != sqrt_price_limit_x96:
            sqrt_price_start = sqrt_price
            tick_next, initialized = next_initialized_tick_within_one_word(
                self.tick_bitmap, tick, self.tick_spacing, zero_for_one
            )
            tick_next = min(max(tick_next, MIN_TICK), MAX_TICK)
            sqrt_price_next = get_sqrt_ratio_at_tick(tick_next)
            if zero_for_one:
                target = sqrt_price_limit_x96 if sqrt_price_next < sqrt_price_limit_x96 else sqrt_price_next
            else:
                target = sqrt_price_limit_x96 if sqrt_price_next > sqrt_price_limit_x96 else sqrt_price_next
            sqrt_price, amount_in, amount_out, fee_amount = compute_swap_step(
                sqrt_price, target, liquidity, remaining, self.fee
            )
            if exact_input:
                # the contract's `-=` here is unchecked int256 arithmetic
                remaining -= to_int256((amount_in + fee_amount) & MAX_UINT256)
                calculated = int256_sub(calculated, to_int256(amount_out))
            else:
                remaining += to_int256(amount_out)
                calculated = int256_add(calculated, to_int256((amount_in + fee_amount) & MAX_UINT256))
            if fee_protocol > 0:
                delta = fee_amount // fee_protocol
                fee_amount -= delta
                protocol_fee = (protocol_fee + delta) & MAX_UINT128
            if liquidity > 0:
                fee_growth_global = (fee_growth_global + mul_div(fee_amount, Q128, liquidity)) & MAX_UINT256
            if sqrt_price == sqrt_price_next:
                if initialized:
                    info = self._ticks[tick_next]
                    g0 = fee_growth_global if zero_for_one else self.fee_growth_global0_x128
                    g1 = self.fee_growth_global1_x128 if zero_for_one else fee_growth_global
                    info.fee_growth_outside0_x128 = (g0 - info.fee_growth_outside0_x128) & MAX_UINT256
                    info.fee_growth_outside1_x128 = (g1 - info.fee_growth_outside1_x128) & MAX_UINT256
                    liquidity_net = -info.liquidity_net if zero_for_one else info.liquidity_net
                    liquidity = add_delta(liquidity, liquidity_net)
                tick = tick_next - 1 if zero_for_one else tick_next
            elif sqrt_price != sqrt_price_start:
                tick = get_tick_at_sqrt_ratio(sqrt_price)

        if zero_for_one == exact_input:
            amount0, amount1 = amount_specified - remaining, calculated
        else:
            amount0, amount1 = calculated, amount_specified - remaining
        self._check_balance(max(-amount0, 0), max(-amount1, 0))

        self.sqrt_price_x96 = sqrt_price
        self.tick = tick
        self.liquidity = liquidity
        if zero_for_one:
            self.fee_growth_global0_x128 = fee_growth_global
            self.protocol_fees0 = (self.protocol_fees0 + protocol_fee) & MAX_UINT128
        else:
            self.fee_growth_global1_x128 = fee_growth_global
            self.protocol_fees1 = (self.protocol_fees1 + protocol_fee) & MAX_UINT128
        self.balance0 += amount0
        self.balance1 += amount1
        return amount0, amount1


class _Atomic:
    """Roll the pool back to its state at entry when a revert escapes (a reverted transaction)."""

    __slots__ = ("_pool", "_saved")

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    def __enter__(self) -> None:
        pool = self._pool
        self._saved = (
            {k: v for k, v in vars(pool).items() if k not in ("_ticks", "_positions", "tick_bitmap")},
            dict(pool.tick_bitmap),
            {k: copy.copy(v) for k, v in pool._ticks.items()},
            {k: copy.copy(v) for k, v in pool._positions.items()},
        )

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            scalars, bitmap, ticks, positions = self._saved
            pool = self._pool
            for k, v in scalars.items():
                setattr(pool, k, v)
            pool.tick_bitmap = bitmap
            pool._ticks = ticks
            pool._positions = positions
        return False
