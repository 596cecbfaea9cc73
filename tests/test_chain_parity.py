"""Parity of the Python-int reference pool with the deployed Uniswap V3 contracts.

Each sequence runs on a fresh snapshot of the devnet (anvil + the npm artifacts of v3-core
1.0.1 / v3-periphery 1.4.4) and, step by step, on ``asymlp_core.v3.Pool``. Operations go
through the periphery exactly as a user's would (NonfungiblePositionManager mint / increase /
decrease / collect, SwapRouter exact-input / exact-output single), so the reference is fed
what the periphery feeds the pool: positions are owned by the NPM's address, the minted
liquidity is ``get_liquidity_for_amounts`` of the desired amounts, the router's missing price
limit is MIN_SQRT_RATIO + 1 / MAX_SQRT_RATIO - 1, and the NPM's own per-token bookkeeping
(fee growth inside, tokens owed) is mirrored in a few lines below.

After every operation the whole observable state is compared: slot0 price and tick, active
liquidity, fee growth globals, the pool's token balances, every tick ever touched
(liquidityGross/Net, feeGrowthOutside0/1, initialized), every position (liquidity, fee growth
inside last, tokens owed), the tick-bitmap words of those ticks, and the touched NPM token.
Reverts must agree too: the reference's ``V3Error.reason`` equals the contract's revert string.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Protocol

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asymlp_core.v3 import (
    MAX_SQRT_RATIO,
    MAX_TICK,
    MIN_SQRT_RATIO,
    MIN_TICK,
    Q128,
    Pool,
    V3Error,
    get_amount0_delta,
    get_amount1_delta,
    get_amounts_for_liquidity,
    get_liquidity_for_amounts,
    get_sqrt_ratio_at_tick,
    mul_div,
)
from asymlp_runtime.chain.devnet import (
    FEE_TICK_SPACING,
    UINT128_MAX,
    ChainRevert,
    Devnet,
)

pytestmark = pytest.mark.chain

MAX_UINT256 = 2**256 - 1
FEES = (500, 3000, 10000)
SEEDS = (1, 2, 3)
OPS_PER_SEQUENCE = 40
HUGE_AMOUNT = 10**30  # far more than any range holds: the swap stops at its price limit


@pytest.fixture(scope="module")
def devnet() -> Any:
    net = Devnet.start()
    try:
        yield net
    finally:
        net.close()


class Chooser(Protocol):
    def random(self) -> float: ...
    def randint(self, a: int, b: int) -> int: ...
    def uniform(self, a: float, b: float) -> float: ...
    def choice(self, seq: Any) -> Any: ...


class DrawChooser:
    """The :class:`Chooser` interface over hypothesis draws, so failures shrink."""

    def __init__(self, data: Any) -> None:
        self._data = data

    def random(self) -> float:
        return self._data.draw(st.floats(0.0, 1.0, exclude_max=True))

    def randint(self, a: int, b: int) -> int:
        return self._data.draw(st.integers(a, b))

    def uniform(self, a: float, b: float) -> float:
        return self._data.draw(st.floats(a, b))

    def choice(self, seq: Any) -> Any:
        return seq[self._data.draw(st.integers(0, len(seq) - 1))]


@dataclass
class NpmToken:
    """The NPM's ``positions(tokenId)`` bookkeeping, mirrored."""

    tick_lower: int
    tick_upper: int
    liquidity: int = 0
    fee_growth_inside0_last_x128: int = 0
    fee_growth_inside1_last_x128: int = 0
    tokens_owed0: int = 0
    tokens_owed1: int = 0


def _outcome(fn: Any) -> tuple[str, Any]:
    try:
        return "ok", fn()
    except V3Error as err:
        return "revert", err.reason
    except ChainRevert as err:
        return "revert", err.reason


@dataclass
class ParityRun:
    """One sequence on one fee tier: the chain and the reference side by side."""

    net: Devnet
    fee: int
    pool: Pool = field(init=False)
    tokens: dict[int, NpmToken] = field(default_factory=dict)
    ticks: set[int] = field(default_factory=set)
    ranges: set[tuple[int, int]] = field(default_factory=set)
    log: list[str] = field(default_factory=list)
    operations: int = 0
    reverts: int = 0
    crossings_seen: int = 0

    def __post_init__(self) -> None:
        self.spacing = FEE_TICK_SPACING[self.fee]
        self.owner = self.net.npm.address
        self.pool = Pool(self.fee, self.spacing)
        self.pool.initialize(self.net.initial_sqrt_price_x96)
        self.home_tick = self.pool.tick
        self.next_token_id = int(self.net.call(self.net.npm, "totalSupply")[0]) + 1
        self.check_state("initial")

    # -- reporting -----------------------------------------------------------------------------
    def fail(self, what: str, chain: Any, reference: Any) -> None:
        tail = "\n  ".join(self.log[-25:])
        pytest.fail(
            f"fee {self.fee}: {what} differs after {len(self.log)} operations\n"
            f"  chain:     {chain}\n  reference: {reference}\n"
            f"operations (last 25):\n  {tail}",
            pytrace=False,
        )

    def expect_equal(self, what: str, chain: Any, reference: Any) -> None:
        if chain != reference:
            self.fail(what, chain, reference)

    def same_outcome(self, what: str, reference: Any, chain: Any) -> tuple[Any, Any] | None:
        """Run the reference, then the chain; both must succeed or revert with one reason.
        Returns both results on success, ``None`` on an agreed revert."""
        self.log.append(what)
        self.operations += 1
        ref_kind, ref_value = _outcome(reference)
        chain_kind, chain_value = _outcome(chain)
        if (ref_kind, chain_kind) != ("ok", "ok"):
            self.expect_equal(
                f"outcome of {what}",
                (chain_kind, chain_value if chain_kind == "revert" else ""),
                (ref_kind, ref_value if ref_kind == "revert" else ""),
            )
            self.reverts += 1
            self.log[-1] += f"  -> revert {ref_value!r}"
            return None
        return ref_value, chain_value

    # -- state comparison ----------------------------------------------------------------------
    def check_state(self, after: str) -> None:
        ticks = sorted(self.ticks)
        ranges = sorted(self.ranges)
        words = sorted({(t // self.spacing) >> 8 for t in ticks})
        state = self.net.pool_state(
            self.fee,
            ticks=ticks,
            positions=[(self.owner, lo, up) for lo, up in ranges],
            bitmap_words=words,
        )
        p = self.pool
        self.expect_equal(
            f"slot0/liquidity/fee growth/balances after {after}",
            (state.slot0.sqrt_price_x96, state.slot0.tick, state.liquidity,
             state.fee_growth_global0_x128, state.fee_growth_global1_x128,
             state.balance0, state.balance1),
            (p.sqrt_price_x96, p.tick, p.liquidity, p.fee_growth_global0_x128,
             p.fee_growth_global1_x128, p.balance0, p.balance1),
        )  # fmt: skip
        for t in ticks:
            c = state.ticks[t]
            self.expect_equal(
                f"tick {t} after {after}",
                (c.liquidity_gross, c.liquidity_net, c.fee_growth_outside0_x128,
                 c.fee_growth_outside1_x128, c.initialized),
                tuple(p.tick_info(t)),
            )  # fmt: skip
        for lo, up in ranges:
            c = state.positions[(self.owner, lo, up)]
            self.expect_equal(
                f"position [{lo}, {up}] after {after}",
                (c.liquidity, c.fee_growth_inside0_last_x128, c.fee_growth_inside1_last_x128,
                 c.tokens_owed0, c.tokens_owed1),
                tuple(p.position(self.owner, lo, up)),
            )  # fmt: skip
        for w in words:
            self.expect_equal(
                f"tick bitmap word {w} after {after}", state.tick_bitmap[w], p.tick_bitmap.get(w, 0)
            )

    def check_token(self, token_id: int) -> None:
        c = self.net.npm_position(token_id)
        m = self.tokens[token_id]
        self.expect_equal(
            f"NPM position {token_id}",
            (c.tick_lower, c.tick_upper, c.liquidity, c.fee_growth_inside0_last_x128,
             c.fee_growth_inside1_last_x128, c.tokens_owed0, c.tokens_owed1),
            (m.tick_lower, m.tick_upper, m.liquidity, m.fee_growth_inside0_last_x128,
             m.fee_growth_inside1_last_x128, m.tokens_owed0, m.tokens_owed1),
        )  # fmt: skip

    # -- NPM bookkeeping mirror ----------------------------------------------------------------
    def _accrue(self, token: NpmToken, owed0: int, owed1: int) -> tuple[int, int]:
        """Fees since the token's last update (uint128 wrap, as the NPM's `+=` in 0.7.6)."""
        pos = self.pool.position(self.owner, token.tick_lower, token.tick_upper)
        delta0 = (pos.fee_growth_inside0_last_x128 - token.fee_growth_inside0_last_x128) & MAX_UINT256
        delta1 = (pos.fee_growth_inside1_last_x128 - token.fee_growth_inside1_last_x128) & MAX_UINT256
        owed0 = (owed0 + (mul_div(delta0, token.liquidity, Q128) & UINT128_MAX)) & UINT128_MAX
        owed1 = (owed1 + (mul_div(delta1, token.liquidity, Q128) & UINT128_MAX)) & UINT128_MAX
        token.fee_growth_inside0_last_x128 = pos.fee_growth_inside0_last_x128
        token.fee_growth_inside1_last_x128 = pos.fee_growth_inside1_last_x128
        return owed0, owed1

    def _liquidity_for(self, lower: int, upper: int, amount0: int, amount1: int) -> int:
        liquidity = get_liquidity_for_amounts(
            self.pool.sqrt_price_x96,
            get_sqrt_ratio_at_tick(lower),
            get_sqrt_ratio_at_tick(upper),
            amount0,
            amount1,
        )
        if liquidity > UINT128_MAX:  # LiquidityAmounts' toUint128
            raise V3Error("", "liquidity does not fit uint128")
        return liquidity

    # -- operations ----------------------------------------------------------------------------
    def mint(self, lower: int, upper: int, amount0: int, amount1: int) -> None:
        what = f"mint([{lower}, {upper}], {amount0}, {amount1})"

        def reference() -> tuple[int, int, int]:
            liquidity = self._liquidity_for(lower, upper, amount0, amount1)
            return (liquidity, *self.pool.mint(self.owner, lower, upper, liquidity))

        both = self.same_outcome(
            what, reference, lambda: self.net.mint(self.fee, lower, upper, amount0, amount1)
        )
        self.ticks.update(t for t in (lower, upper) if MIN_TICK <= t <= MAX_TICK)
        if both is not None:
            (liquidity, a0, a1), result = both
            self.expect_equal(what, (result.liquidity, result.amount0, result.amount1), (liquidity, a0, a1))
            (event,) = self.net.pool_events(result.tx, self.fee)
            self.expect_equal(
                f"Mint event of {what}",
                (event.name, event.args["owner"].lower(), event.args["tickLower"],
                 event.args["tickUpper"], event.args["amount"], event.args["amount0"],
                 event.args["amount1"]),
                ("Mint", self.owner.lower(), lower, upper, liquidity, a0, a1),
            )  # fmt: skip
            self.expect_equal("token id", result.token_id, self.next_token_id)
            self.next_token_id += 1
            pos = self.pool.position(self.owner, lower, upper)
            self.tokens[result.token_id] = NpmToken(
                lower, upper, liquidity, pos.fee_growth_inside0_last_x128, pos.fee_growth_inside1_last_x128
            )
            self.ranges.add((lower, upper))
            self.check_token(result.token_id)
        self.check_state(what)

    def increase(self, token_id: int, amount0: int, amount1: int) -> None:
        token = self.tokens[token_id]
        what = f"increase(#{token_id} [{token.tick_lower}, {token.tick_upper}], {amount0}, {amount1})"

        def reference() -> tuple[int, int, int]:
            liquidity = self._liquidity_for(token.tick_lower, token.tick_upper, amount0, amount1)
            a0, a1 = self.pool.mint(self.owner, token.tick_lower, token.tick_upper, liquidity)
            token.tokens_owed0, token.tokens_owed1 = self._accrue(
                token, token.tokens_owed0, token.tokens_owed1
            )
            token.liquidity += liquidity
            return liquidity, a0, a1

        both = self.same_outcome(
            what, reference, lambda: self.net.increase_liquidity(token_id, amount0, amount1)
        )
        if both is not None:
            expected, result = both
            self.expect_equal(what, (result.liquidity, result.amount0, result.amount1), expected)
        self.check_token(token_id)
        self.check_state(what)

    def decrease(self, token_id: int, liquidity: int) -> None:
        token = self.tokens[token_id]
        what = f"decrease(#{token_id} [{token.tick_lower}, {token.tick_upper}], {liquidity})"

        def reference() -> tuple[int, int]:
            if liquidity == 0 or liquidity > token.liquidity:
                raise V3Error("", "NPM: liquidity must be in (0, position liquidity]")
            a0, a1 = self.pool.burn(self.owner, token.tick_lower, token.tick_upper, liquidity)
            owed0 = (token.tokens_owed0 + a0) & UINT128_MAX
            owed1 = (token.tokens_owed1 + a1) & UINT128_MAX
            token.tokens_owed0, token.tokens_owed1 = self._accrue(token, owed0, owed1)
            token.liquidity -= liquidity
            return a0, a1

        both = self.same_outcome(what, reference, lambda: self.net.decrease_liquidity(token_id, liquidity))
        if both is not None:
            expected, result = both
            self.expect_equal(
                what, (result.liquidity, result.amount0, result.amount1), (liquidity, *expected)
            )
        self.check_token(token_id)
        self.check_state(what)

    def collect(self, token_id: int, amount0_max: int, amount1_max: int) -> None:
        token = self.tokens[token_id]
        what = f"collect(#{token_id} [{token.tick_lower}, {token.tick_upper}], {amount0_max}, {amount1_max})"

        def reference() -> tuple[int, int, int, int]:
            if amount0_max == 0 and amount1_max == 0:
                raise V3Error("", "NPM: nothing to collect")
            owed0, owed1 = token.tokens_owed0, token.tokens_owed1
            if token.liquidity > 0:
                self.pool.burn(self.owner, token.tick_lower, token.tick_upper, 0)  # poke
                owed0, owed1 = self._accrue(token, owed0, owed1)
            asked0, asked1 = min(amount0_max, owed0), min(amount1_max, owed1)
            paid0, paid1 = self.pool.collect(self.owner, token.tick_lower, token.tick_upper, asked0, asked1)
            token.tokens_owed0, token.tokens_owed1 = owed0 - asked0, owed1 - asked1
            return paid0, paid1, asked0, asked1

        both = self.same_outcome(
            what, reference, lambda: self.net.collect(token_id, amount0_max, amount1_max)
        )
        if both is not None:
            expected, result = both
            self.expect_equal(
                what, (result.amount0, result.amount1, result.requested0, result.requested1), expected
            )
        self.check_token(token_id)
        self.check_state(what)

    def swap(self, zero_for_one: bool, exact_input: bool, amount: int, limit: int = 0) -> bool:
        """One router swap on both sides; True when it went through (False: agreed revert)."""
        kind = "exact_in" if exact_input else "exact_out"
        what = f"swap_{kind}({'0->1' if zero_for_one else '1->0'}, {amount}, limit={limit})"
        effective_limit = limit or (MIN_SQRT_RATIO + 1 if zero_for_one else MAX_SQRT_RATIO - 1)
        initialized_before = set(self.pool.initialized_ticks())
        tick_before = self.pool.tick

        def reference() -> tuple[int, int]:
            saved = self.pool.copy()
            specified = amount if exact_input else -amount
            a0, a1 = self.pool.swap(zero_for_one, specified, effective_limit)
            if a0 <= 0 and a1 <= 0:
                # SwapRouter's callback: require(amount0Delta > 0 || amount1Delta > 0), i.e. a
                # swap entirely within a zero-liquidity region is refused by the router.
                self.pool = saved
                raise V3Error("", "router: swap within zero liquidity")
            if not exact_input and limit == 0 and -(a1 if zero_for_one else a0) != amount:
                self.pool = saved  # SwapRouter: require(amountOutReceived == amountOut)
                raise V3Error("", "router: exact output not fully received without a price limit")
            return a0, a1

        def chain() -> Any:
            if exact_input:
                return self.net.swap_exact_input_single(
                    self.fee, zero_for_one, amount, sqrt_price_limit_x96=limit
                )
            return self.net.swap_exact_output_single(
                self.fee, zero_for_one, amount, sqrt_price_limit_x96=limit
            )

        both = self.same_outcome(what, reference, chain)
        if both is not None:
            (a0, a1), result = both
            p = self.pool
            self.expect_equal(
                f"Swap event of {what}",
                (result.amount0, result.amount1, result.sqrt_price_x96, result.liquidity, result.tick),
                (a0, a1, p.sqrt_price_x96, p.liquidity, p.tick),
            )
            low, high = sorted((tick_before, p.tick))
            self.crossings_seen += sum(1 for t in initialized_before if low < t <= high)
        self.check_state(what)
        return both is not None

    # -- random choices ------------------------------------------------------------------------
    def usable_bounds(self) -> tuple[int, int]:
        s = self.spacing
        return -(-MIN_TICK // s) * s, (MAX_TICK // s) * s

    def random_range(self, rng: Chooser) -> tuple[int, int]:
        s = self.spacing
        lowest, highest = self.usable_bounds()
        if self.ranges and rng.random() < 0.3:
            return rng.choice(sorted(self.ranges))  # share a pool position between NPM tokens
        kind = rng.choice(("narrow", "narrow", "medium", "medium", "wide", "above", "below", "full"))
        if kind == "full":
            return lowest, highest
        width = {
            "narrow": rng.randint(1, 4),
            "medium": rng.randint(5, 80),
            "wide": rng.randint(200, 1500),
        }.get(kind, rng.randint(1, 40))
        here = self.pool.tick // s
        if self.pool.tick % s == 0 and rng.random() < 0.3:  # price on a boundary: start there
            return self.pool.tick, min(self.pool.tick + width * s, highest)
        if kind == "above":
            lower = (here + rng.randint(1, 30)) * s
        elif kind == "below":
            lower = (here - rng.randint(0, 30) - width) * s
        else:
            lower = (here - rng.randint(0, width)) * s
        lower = min(max(lower, lowest), highest - s)
        return lower, min(lower + width * s, highest)

    def amounts(self, rng: Chooser) -> tuple[int, int]:
        dec0, dec1 = self.decimals
        return int(10 ** (dec0 + rng.uniform(-2.0, 5.0))), int(10 ** (dec1 + rng.uniform(-4.0, 2.0)))

    @property
    def decimals(self) -> tuple[int, int]:
        cfg = self.net.config
        if self.net.token0.address == self.net.base.address:
            return cfg.base.decimals, cfg.quote.decimals
        return cfg.quote.decimals, cfg.base.decimals

    def random_swap(self, rng: Chooser) -> None:
        p, s = self.pool, self.spacing
        drift = max(-1.0, min(1.0, (p.tick - self.home_tick) / (300 * s)))
        zero_for_one = rng.random() < 0.5 + 0.4 * drift  # lean back towards the starting price
        offset = max(1, int(s * 10 ** rng.uniform(-1.0, 2.5)))  # 0.1 to ~300 spacings
        target_tick = p.tick - offset if zero_for_one else p.tick + offset
        target_tick = min(max(target_tick, MIN_TICK + 1), MAX_TICK - 1)
        target = get_sqrt_ratio_at_tick(target_tick)
        liquidity = p.liquidity or 10 ** rng.randint(10, 20)
        low, high = sorted((target, p.sqrt_price_x96))
        exact_input = rng.random() < 0.5
        if exact_input == zero_for_one:  # amount of token0: in when 0->1, out when 1->0
            estimate = get_amount0_delta(low, high, liquidity, exact_input)
        else:
            estimate = get_amount1_delta(low, high, liquidity, exact_input)
        amount = max(1, estimate * rng.randint(10, 150) // 100)
        limit = 0
        beyond = [
            t
            for t in self.pool.initialized_ticks()
            if (t < p.tick if zero_for_one else t > p.tick) and MIN_TICK < t < MAX_TICK
        ]
        if beyond and rng.random() < 0.3:
            # stop exactly on an initialized tick: the price then sits on a range boundary
            nearest = sorted(beyond, key=lambda t: abs(t - p.tick))[:3]
            limit = get_sqrt_ratio_at_tick(rng.choice(nearest))
            amount = max(amount, HUGE_AMOUNT if exact_input else amount)
        elif rng.random() < 0.4:
            limit_tick = target_tick + (rng.randint(-3, 3) * s if rng.random() < 0.5 else 0)
            limit = get_sqrt_ratio_at_tick(min(max(limit_tick, MIN_TICK + 1), MAX_TICK - 1))
        self.swap(zero_for_one, exact_input, amount, limit)

    def random_revert(self, rng: Chooser) -> None:
        p, s = self.pool, self.spacing
        here = (p.tick // s) * s
        case = rng.randint(0, 8)
        if case == 0:  # price limit on the wrong side of the current price
            self.swap(True, True, 10**6, limit=p.sqrt_price_x96 + 1)
        elif case == 1:  # price limit at the absolute bound
            self.swap(False, False, 10**6, limit=MAX_SQRT_RATIO)
        elif case == 2:
            self.swap(rng.random() < 0.5, True, 0)  # 'AS'
        elif case == 3:  # ticks not on the spacing
            self.mint(here - s + 1, here + 2 * s, 10**9, 10**18)
        elif case == 4:  # lower above upper: 'TLU'
            self.mint(here + s, here - s, 10**9, 10**18)
        elif case == 5:  # below MIN_TICK: TickMath 'T' in the periphery
            self.mint(MIN_TICK - 1, here + s, 10**9, 10**18)
        elif case == 6:  # nothing deposited: zero liquidity
            self.mint(here - s, here + s, 0, 0)
        elif case == 7 and self.tokens:
            token_id = rng.choice(sorted(self.tokens))
            self.decrease(token_id, self.tokens[token_id].liquidity + 1)
        elif case == 8 and self.tokens:
            self.collect(rng.choice(sorted(self.tokens)), 0, 0)
        else:
            self.swap(True, True, 10**6, limit=MIN_SQRT_RATIO)

    def exhaust_and_return(self) -> None:
        """Swap through every range below the price to a limit past the lowest tick (active
        liquidity ends at 0 unless a full-range position exists), then come back."""
        s = self.spacing
        full_range_lower = self.usable_bounds()[0]
        live = [
            lo
            for lo, up in self.ranges
            if lo != full_range_lower and self.pool.position(self.owner, lo, up).liquidity > 0
        ]
        lowest = min(live, default=self.pool.tick - 10 * s)
        limit_tick = max(lowest - 5 * s, MIN_TICK + 1)
        limit = get_sqrt_ratio_at_tick(limit_tick)
        if limit >= self.pool.sqrt_price_x96:
            return
        if self.swap(True, True, HUGE_AMOUNT, limit=limit):  # refused if no liquidity on the way
            self.expect_equal("price after exhausting to the limit", self.pool.sqrt_price_x96, limit)
        self.return_home()

    def return_home(self) -> None:
        """Swap back to the starting price; if the way back holds no liquidity at all (the
        router refuses such swaps), first mint a range that spans it."""
        home = get_sqrt_ratio_at_tick(self.home_tick)
        if home == self.pool.sqrt_price_x96:
            return
        self.swap(home < self.pool.sqrt_price_x96, True, HUGE_AMOUNT, limit=home)
        if home != self.pool.sqrt_price_x96:
            s = self.spacing
            lowest, highest = self.usable_bounds()
            low, high = sorted((self.pool.tick, self.home_tick))
            lower = max((low // s - 2) * s, lowest)
            upper = min((high // s + 2) * s, highest)
            amount0, amount1 = get_amounts_for_liquidity(
                self.pool.sqrt_price_x96,
                get_sqrt_ratio_at_tick(lower),
                get_sqrt_ratio_at_tick(upper),
                10**15,
            )
            self.mint(lower, upper, amount0 + 1, amount1 + 1)
            self.swap(home < self.pool.sqrt_price_x96, True, HUGE_AMOUNT, limit=home)
            self.expect_equal("price after returning home", self.pool.sqrt_price_x96, home)

    def random_step(self, rng: Chooser) -> None:
        r = rng.random()
        live = sorted(t for t, tok in self.tokens.items() if tok.liquidity > 0)
        if abs(self.pool.tick - self.home_tick) > 2000 * self.spacing:
            self.return_home()
        elif not live or r < 0.2:
            self.mint(*self.random_range(rng), *self.amounts(rng))
        elif r < 0.28:
            self.increase(rng.choice(live), *self.amounts(rng))
        elif r < 0.68:
            self.random_swap(rng)
        elif r < 0.8:
            token_id = rng.choice(live)
            held = self.tokens[token_id].liquidity
            self.decrease(token_id, held if rng.random() < 0.35 else max(1, held * rng.randint(1, 99) // 100))
        elif r < 0.93:
            token_id = rng.choice(sorted(self.tokens))
            token = self.tokens[token_id]
            if rng.random() < 0.5:  # partial: a fraction of what is owed so far (or 1 wei)
                self.collect(
                    token_id, max(1, token.tokens_owed0 // 3), rng.choice((0, 1, token.tokens_owed1 // 2))
                )
            else:
                self.collect(token_id, UINT128_MAX, UINT128_MAX)
        else:
            self.random_revert(rng)

    def wind_down(self) -> None:
        """Burn every token to zero and collect everything: ticks must be cleared on both sides."""
        for token_id in sorted(self.tokens):
            token = self.tokens[token_id]
            if token.liquidity:
                self.decrease(token_id, token.liquidity)
            self.collect(token_id, UINT128_MAX, UINT128_MAX)
        self.expect_equal("active liquidity after the wind-down", self.pool.liquidity, 0)
        self.expect_equal("initialized ticks after the wind-down", self.pool.initialized_ticks(), [])


def run_sequence(net: Devnet, fee: int, rng: Chooser, operations: int) -> ParityRun:
    with net.isolated():
        run = ParityRun(net, fee)
        for i in range(operations):
            run.random_step(rng)
            if i == operations // 2:
                run.exhaust_and_return()
        run.exhaust_and_return()
        run.wind_down()
        return run


# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fee", FEES)
def test_random_sequence_matches_contracts(devnet: Devnet, fee: int, seed: int) -> None:
    run = run_sequence(devnet, fee, random.Random(seed * 1_000 + fee), OPS_PER_SEQUENCE)
    # The sequence must have exercised what it claims to.
    assert run.operations >= OPS_PER_SEQUENCE
    assert run.crossings_seen > 0, "no swap crossed an initialized tick"
    assert run.reverts > 0


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_drawn_sequence_matches_contracts(devnet: Devnet, data: Any) -> None:
    fee = data.draw(st.sampled_from(FEES))
    run_sequence(devnet, fee, DrawChooser(data), data.draw(st.integers(1, 12)))


def test_bitmap_word_crossing_and_tick_clearing_match_contracts(devnet: Devnet) -> None:
    """A scripted sequence: ranges spanning several bitmap words, a swap across all of them,
    partial collects, and burns to zero that clear ticks."""
    with devnet.isolated():
        run = ParityRun(devnet, 500)
        s = run.spacing
        here = (run.pool.tick // s) * s
        word = 256 * s
        run.mint(here - 3 * word, here + 3 * word, 10**12, 10**22)  # wide: six words
        run.mint(here - 2 * s, here + 2 * s, 10**9, 10**18)  # narrow
        run.mint(here + word, here + word + 10 * s, 10**9, 10**18)  # above, another word
        run.mint(here - word - 10 * s, here - word, 10**9, 10**18)  # below, another word
        assert len({(t // s) >> 8 for t in run.ticks}) >= 5
        run.swap(False, True, HUGE_AMOUNT, limit=get_sqrt_ratio_at_tick(here + 2 * word))
        run.swap(True, False, 10**15, limit=get_sqrt_ratio_at_tick(here - 2 * word))
        run.swap(True, True, HUGE_AMOUNT, limit=get_sqrt_ratio_at_tick(here - 4 * word))
        assert run.pool.liquidity == 0  # below every range: exhausted to the limit
        run.return_home()
        assert run.crossings_seen >= 6
        for token_id in sorted(run.tokens):
            run.collect(token_id, 1, 1)  # partial
        narrow = sorted(run.tokens)[1]
        run.decrease(narrow, run.tokens[narrow].liquidity)  # burnt to zero: its ticks are cleared
        assert run.pool.tick_info(here - 2 * s).initialized is False
        run.collect(narrow, UINT128_MAX, UINT128_MAX)
        run.wind_down()


def test_price_on_range_boundaries_matches_contracts(devnet: Devnet) -> None:
    """The price stopped exactly on initialized ticks (tick == lower after an upward swap,
    tick == upper - 1 after a downward one), then liquidity changes and fee pokes there."""
    with devnet.isolated():
        run = ParityRun(devnet, 3000)
        s = run.spacing
        here = (run.pool.tick // s) * s
        run.mint(here - 20 * s, here + 20 * s, 10**11, 10**21)
        run.mint(here + 5 * s, here + 15 * s, 10**9, 10**18)  # above the price
        run.mint(here - 15 * s, here - 5 * s, 10**9, 10**18)  # below the price
        wide, above, below = sorted(run.tokens)
        assert run.swap(False, True, HUGE_AMOUNT, limit=get_sqrt_ratio_at_tick(here + 5 * s))
        assert run.pool.tick == here + 5 * s  # on the lower boundary of `above`
        run.increase(above, 10**9, 10**18)
        run.swap(True, False, 10**6)  # back inside, below the boundary
        run.swap(False, True, HUGE_AMOUNT, limit=get_sqrt_ratio_at_tick(here + 5 * s))
        run.collect(above, UINT128_MAX, UINT128_MAX)
        run.mint(here + 5 * s, here + 6 * s, 10**9, 10**18)  # a new range starting at the price
        assert run.swap(True, True, HUGE_AMOUNT, limit=get_sqrt_ratio_at_tick(here - 5 * s))
        assert run.pool.tick == here - 5 * s - 1  # crossed the upper boundary of `below`
        run.collect(below, UINT128_MAX, UINT128_MAX)
        run.decrease(below, run.tokens[below].liquidity // 2)
        run.swap(False, False, 10**6)
        run.collect(wide, 10**3, 10**12)
        run.wind_down()
