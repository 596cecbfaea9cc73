"""The paper venue: matching, fees, market rules, partial fills, accounting, streams, determinism."""

from __future__ import annotations

import asyncio
import re

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asymlp_runtime.ops.resilience import ManualClock
from asymlp_runtime.venues import errors as verr
from asymlp_runtime.venues.base import (
    CLIENT_ORDER_ID_RULES,
    Liquidity,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    VenueOrderRequest,
    make_client_order_id,
)
from asymlp_runtime.venues.paper import DEFAULT_PAPER_MARKET, PaperVenue, PaperVenueConfig

SYM = DEFAULT_PAPER_MARKET.symbol


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=20))


def flat_venue(**cfg) -> PaperVenue:
    """A venue whose mid stays at 3000 (spread 2 bp: bid 2999.70, ask 3000.30; 5 per level)."""
    clock = ManualClock()
    return PaperVenue(
        PaperVenueConfig(**cfg),
        price_sources={SYM: lambda: 3000.0},
        clock=clock,
        time_ns=lambda: int(clock() * 1e9),
        sleep=clock.sleep,
    )


_seq = iter(range(10**9))


def req(side: Side, qty: float, price: float | None = None, **kw) -> VenueOrderRequest:
    typ = OrderType.LIMIT if price is not None else OrderType.MARKET
    return VenueOrderRequest(
        client_order_id=make_client_order_id("test", next(_seq), venue="paper"),
        symbol=SYM,
        side=side,
        type=typ,
        qty=qty,
        price=price,
        **kw,
    )


# ---------------------------------------------------------------------------------------------
# client order ids
# ---------------------------------------------------------------------------------------------
@given(
    strategy=st.text(max_size=40),
    key=st.one_of(st.integers(), st.text(max_size=40)),
    epoch=st.integers(0, 10**6),
)
def test_client_order_id_stable_and_within_every_venue_rule(strategy, key, epoch):
    for venue, rule in CLIENT_ORDER_ID_RULES.items():
        a = make_client_order_id(strategy, key, epoch, venue=venue)
        assert a == make_client_order_id(strategy, key, epoch, venue=venue)
        assert len(a) <= rule.max_len and re.fullmatch(rule.pattern, a)
        if rule.numeric_uint64:
            assert 2**63 <= int(a) < 2**64


def test_client_order_id_differs_by_intent_and_epoch():
    ids = {make_client_order_id("trader", k, e) for k in range(50) for e in range(3)}
    assert len(ids) == 150
    assert re.fullmatch(r"^[\.A-Z\:/a-z0-9_-]{1,36}$", make_client_order_id("trader-1", 7))


# ---------------------------------------------------------------------------------------------
# matching and fees
# ---------------------------------------------------------------------------------------------
def test_market_buy_fills_at_ask_with_taker_fee():
    async def scenario():
        v = flat_venue()
        o = await v.create_order(req(Side.BUY, 1.0))
        assert o.status is OrderStatus.FILLED and o.filled_qty == 1.0
        assert o.avg_fill_price == pytest.approx(3000.30)
        (pos,) = await v.fetch_positions()
        assert pos.qty == 1.0 and pos.entry_price == pytest.approx(3000.30)
        assert v.fees_paid("USDT") == pytest.approx(3000.30 * 0.0005)

    run(scenario())


def test_market_order_walks_levels_and_partially_fills_against_finite_depth():
    async def scenario():
        v = flat_venue(depth_levels=3, level_qty=2.0)
        o = await v.create_order(req(Side.SELL, 7.5))
        assert o.status is OrderStatus.EXPIRED  # the rest of a market order expires
        assert o.filled_qty == pytest.approx(6.0)
        assert o.avg_fill_price == pytest.approx((2999.70 + 2999.69 + 2999.68) / 3)
        # depth taken stays taken within the step ...
        o2 = await v.create_order(req(Side.SELL, 1.0))
        assert o2.filled_qty == 0.0 and o2.status is OrderStatus.EXPIRED
        # ... and comes back on the next step
        await v.step()
        o3 = await v.create_order(req(Side.SELL, 1.0))
        assert o3.status is OrderStatus.FILLED

    run(scenario())


def test_ioc_limit_fills_up_to_its_price_and_expires_rest():
    async def scenario():
        v = flat_venue(level_qty=1.0)
        o = await v.create_order(req(Side.BUY, 5.0, 3000.32, time_in_force=TimeInForce.IOC))
        assert o.filled_qty == pytest.approx(3.0)  # levels 3000.30, .31, .32
        assert o.status is OrderStatus.EXPIRED

    run(scenario())


def test_fok_that_cannot_fill_entirely_expires_unfilled():
    async def scenario():
        v = flat_venue(level_qty=1.0)
        o = await v.create_order(req(Side.BUY, 5.0, 3000.32, time_in_force=TimeInForce.FOK))
        assert o.filled_qty == 0.0 and o.status is OrderStatus.EXPIRED
        assert await v.fetch_positions() == []

    run(scenario())


def test_gtc_limit_rests_then_fills_as_maker_when_book_crosses():
    async def scenario():
        mids = iter([3000.0, 3000.0, 2990.0])
        clock = ManualClock()
        v = PaperVenue(price_sources={SYM: mids}, clock=clock, sleep=clock.sleep)
        o = await v.create_order(req(Side.BUY, 2.0, 2995.00))
        assert o.status is OrderStatus.OPEN
        await v.step()
        assert (await v.fetch_order(o.client_order_id, SYM)).status is OrderStatus.OPEN
        await v.step()  # mid 2990: asks from 2990.30 cross our 2995 bid
        filled = await v.fetch_order(o.client_order_id, SYM)
        assert filled.status is OrderStatus.FILLED
        assert filled.avg_fill_price == pytest.approx(2995.00)  # maker fills at our price
        assert v.fees_paid("USDT") == pytest.approx(2.0 * 2995.0 * 0.0002)

    run(scenario())


def test_post_only_that_would_cross_is_rejected_like_binance():
    async def scenario():
        v = flat_venue()
        with pytest.raises(verr.InvalidOrder) as info:
            await v.create_order(req(Side.BUY, 1.0, 3000.30, post_only=True))
        assert info.value.code == "-5022"
        ok = await v.create_order(req(Side.BUY, 1.0, 3000.00, post_only=True))
        assert ok.status is OrderStatus.OPEN

    run(scenario())


@pytest.mark.parametrize(
    ("qty", "price", "code"),
    [
        (0.0005, None, "-4004"),  # below min qty
        (0.0015, None, "-4023"),  # off the qty step
        (1.0, 2999.995, "-4014"),  # off the price tick
        (0.005, 2999.0, "-4164"),  # notional under 20 USDT
        (0.0, None, "-4003"),
    ],
)
def test_rule_violations_rejected_with_binance_codes(qty, price, code):
    async def scenario():
        v = flat_venue()
        with pytest.raises(verr.InvalidOrder) as info:
            await v.create_order(req(Side.BUY, qty, price))
        assert info.value.code == code
        assert v.placed_count == 0

    run(scenario())


def test_insufficient_margin_rejected_and_not_retryable():
    async def scenario():
        v = flat_venue(initial_balance=1000.0, leverage=2.0)
        with pytest.raises(verr.InsufficientFunds) as info:
            await v.create_order(req(Side.BUY, 1.0))  # needs 1500 USDT of margin
        assert info.value.code == "-2019" and not info.value.retryable

    run(scenario())


def test_duplicate_client_order_id_returns_existing_order_without_placing():
    async def scenario():
        v = flat_venue()
        r = req(Side.BUY, 1.0, 2990.0)
        first = await v.create_order(r)
        again = await v.create_order(r)
        assert again.venue_order_id == first.venue_order_id
        assert v.placed_count == 1
        assert len(await v.fetch_open_orders(SYM)) == 1

    run(scenario())


def test_cancel_then_cancel_again_is_unknown_order():
    async def scenario():
        v = flat_venue()
        o = await v.create_order(req(Side.SELL, 1.0, 3010.0))
        c = await v.cancel_order(o.client_order_id, SYM)
        assert c.status is OrderStatus.CANCELED
        with pytest.raises(verr.OrderNotFound):
            await v.cancel_order(o.client_order_id, SYM)
        with pytest.raises(verr.OrderNotFound):
            await v.fetch_order("nope", SYM)
        with pytest.raises(verr.BadSymbol):
            await v.fetch_book_top("BTC/USDT:USDT")

    run(scenario())


def test_rate_limit_exceeded_raises_retryable_error():
    async def scenario():
        v = flat_venue(rate_limit_per_s=1.0, rate_limit_burst=3.0)
        for _ in range(3):
            await v.fetch_book_top(SYM)
        with pytest.raises(verr.RateLimited) as info:
            await v.fetch_book_top(SYM)
        assert info.value.retryable and info.value.code == "-1003"

    run(scenario())


def test_latency_is_waited_through_injected_sleep():
    async def scenario():
        clock = ManualClock()
        v = PaperVenue(PaperVenueConfig(latency_s=0.25), clock=clock, sleep=clock.sleep)
        await v.create_order(req(Side.BUY, 0.01))
        assert clock.sleeps == [0.25]

    run(scenario())


def test_realised_pnl_on_close_and_flip():
    async def scenario():
        mids = iter([3000.0, 3100.0])
        v = PaperVenue(PaperVenueConfig(spread_bps=0.0001), price_sources={SYM: mids})
        await v.create_order(req(Side.BUY, 2.0))
        entry = (await v.fetch_positions())[0].entry_price
        await v.step()
        await v.create_order(req(Side.SELL, 3.0))  # close 2, open 1 short
        (pos,) = await v.fetch_positions()
        exit_px = 3100.0
        assert pos.qty == pytest.approx(-1.0)
        assert pos.entry_price == pytest.approx(exit_px, abs=0.02)
        assert pos.realized_pnl == pytest.approx(2.0 * (exit_px - entry), abs=0.05)

    run(scenario())


def test_streams_deliver_order_events_fills_and_book_tops():
    async def scenario():
        v = flat_venue()
        orders, fills, tops = [], [], []

        async def collect(it, out, n):
            async for x in it:
                out.append(x)
                if len(out) >= n:
                    return

        tasks = [
            asyncio.create_task(collect(v.watch_orders(), orders, 2)),
            asyncio.create_task(collect(v.watch_fills(), fills, 1)),
            asyncio.create_task(collect(v.watch_book_top(SYM), tops, 1)),
        ]
        await asyncio.sleep(0)
        o = await v.create_order(req(Side.BUY, 1.0))
        await v.step()
        await asyncio.wait_for(asyncio.gather(*tasks), 5)
        assert [x.status for x in orders] == [OrderStatus.OPEN, OrderStatus.FILLED]
        assert fills[0].client_order_id == o.client_order_id and fills[0].liquidity is Liquidity.TAKER
        assert tops[0].ask_price > tops[0].bid_price
        await v.close()

    run(scenario())


def test_same_seed_same_prices_and_fills():
    async def trace(seed):
        v = PaperVenue(PaperVenueConfig(seed=seed), time_ns=lambda: 0, clock=ManualClock())
        out = []
        for i in range(20):
            await v.step()
            o = await v.create_order(req(Side.BUY if i % 2 else Side.SELL, 0.01 * (i + 1)))
            out.append((v.mid(SYM), o.avg_fill_price))
        return out

    assert run(trace(1)) == run(trace(1))
    assert run(trace(1)) != run(trace(2))


# ---------------------------------------------------------------------------------------------
# accounting invariants
# ---------------------------------------------------------------------------------------------
orders_strategy = st.lists(
    st.tuples(
        st.sampled_from([Side.BUY, Side.SELL]), st.integers(10, 3000), st.booleans(), st.integers(-30, 30)
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=60)
@given(orders=orders_strategy, seed=st.integers(0, 1000))
def test_position_is_signed_sum_of_fills_and_cash_moves_by_notional_and_fees(orders, seed):
    """qty == sum(side * fill qty); wallet - qty * entry moves by -(signed notional) - fees."""

    async def scenario():
        clock = ManualClock()
        v = PaperVenue(
            PaperVenueConfig(seed=seed, level_qty=1.0, depth_levels=5, initial_balance=1e7),
            clock=clock,
            sleep=clock.sleep,
        )
        fills = []

        async def collect():
            async for f in v.watch_fills():
                fills.append(f)

        task = asyncio.create_task(collect())
        await asyncio.sleep(0)
        (bal0,) = await v.fetch_balance()
        for side, milli, is_limit, ticks in orders:
            clock.advance(1.0)  # keep clear of the paper rate limit
            qty = milli / 1000.0
            price = None
            if is_limit:
                price = DEFAULT_PAPER_MARKET.round_price(v.mid(SYM) + ticks * 0.5, None)
            try:
                await v.create_order(req(side, qty, price))
            except verr.InvalidOrder:
                pass
            await v.step()
        await asyncio.sleep(0)
        (bal1,) = await v.fetch_balance()
        positions = await v.fetch_positions()
        qty = positions[0].qty if positions else 0.0
        entry = positions[0].entry_price if positions else 0.0
        signed = sum(f.side.sign * f.qty for f in fills)
        notional = sum(f.side.sign * f.qty * f.price for f in fills)
        fees = sum(f.fee for f in fills)
        assert qty == pytest.approx(signed, abs=1e-9)
        cash_change = (bal1.total - qty * entry) - bal0.total
        assert cash_change == pytest.approx(-notional - fees, abs=1e-6 * (1 + abs(notional)))
        assert fees == pytest.approx(v.fees_paid("USDT"))
        task.cancel()
        await v.close()

    run(scenario())


# ---------------------------------------------------------------------------------------------
# ids across account resets
# ---------------------------------------------------------------------------------------------
async def _trade_some(v: PaperVenue, n_orders: int = 3) -> tuple[list[str], list[str], list[str]]:
    """Market orders that walk two levels each plus one resting buy filled by a lower book:
    (fill ids, venue order ids, trade ids) issued by ``v`` meanwhile."""
    trades = []

    async def collect():
        async for t in v.watch_trades(SYM):
            trades.append(t.trade_id)

    task = asyncio.create_task(collect())
    await asyncio.sleep(0)
    n_fills = len(v.account_state().fills)
    orders = []
    for i in range(n_orders):
        orders.append(await v.create_order(req(Side.BUY if i % 2 == 0 else Side.SELL, 7.0)))
    orders.append(await v.create_order(req(Side.BUY, 1.0, 2995.0)))
    v.set_mid(SYM, 2990.0)  # the resting buy fills as maker
    v.set_mid(SYM, 3000.0)
    await asyncio.sleep(0)
    task.cancel()
    fills = [f.fill_id for f in v.account_state().fills[n_fills:]]
    return fills, [o.venue_order_id for o in orders], trades


def test_account_file_deleted_then_recreated_issues_no_earlier_id(tmp_path):
    """The account file goes, the journal stays: the new account's ids are all new."""
    import shutil

    from asymlp_runtime.processes.paper import PaperAccountStore

    path = tmp_path / "paper" / "paper.sqlite"

    async def one_run():
        store = PaperAccountStore(path)
        v = flat_venue()
        saved = store.load(v.name)
        if saved is not None:
            v.restore_account(saved)
        ids = await _trade_some(v)
        store.save(v.account_state())
        store.close()
        await v.close()
        return ids

    fills1, orders1, trades1 = run(one_run())
    shutil.rmtree(tmp_path / "paper")
    fills2, orders2, trades2 = run(one_run())
    assert len(fills1) == len(fills2) == 7  # 3 market orders over two levels each, one maker fill
    assert len(orders1) == len(orders2) == 4 and len(trades1) == len(trades2) == 6
    for first, second in ((fills1, fills2), (orders1, orders2), (trades1, trades2)):
        assert len(set(first)) == len(first) and len(set(second)) == len(second)
        assert not set(first) & set(second)
    # the counters did restart: the epoch prefix is what keeps the ids apart
    assert [f.rsplit("-", 1)[1] for f in fills1] == [f.rsplit("-", 1)[1] for f in fills2]


def test_restored_account_continues_its_counters_under_a_new_epoch_and_same_epoch_same_ids():
    async def scenario(epoch):
        clock = ManualClock()
        v = PaperVenue(
            PaperVenueConfig(),
            price_sources={SYM: lambda: 3000.0},
            clock=clock,
            time_ns=lambda: int(clock() * 1e9),
            sleep=clock.sleep,
            account_epoch=epoch,
        )
        fills1, orders1, _ = await _trade_some(v, n_orders=1)
        saved = v.account_state()
        assert saved.account_epoch == epoch
        restored = flat_venue()  # a new process: its own fresh epoch, kept after the restore
        restored.restore_account(saved)
        assert restored.account_epoch not in ("", epoch)
        fills2, orders2, _ = await _trade_some(restored, n_orders=1)
        return fills1, orders1, fills2, orders2, restored.account_epoch

    fills1, orders1, fills2, orders2, new = run(scenario("acct7"))
    assert fills1 == [f"acct7-{n}" for n in range(1, 4)] and orders1 == ["acct7-1", "acct7-2"]
    assert fills2 == [f"{new}-{n}" for n in range(4, 7)] and orders2 == [f"{new}-3", f"{new}-4"]
    # a snapshot saved before the last fills (a crash before the save): the ids after its restore
    # are still new
    again = run(scenario("acct7"))
    assert again[0] == fills1 and not set(again[2]) & set(fills2)


def test_snapshot_without_epoch_restored_keeps_fresh_epoch_and_counters():
    """An account file written before epochs existed (bare numeric ids) goes on with new ids."""

    async def scenario():
        old = flat_venue()
        old_fills, _, _ = await _trade_some(old, n_orders=1)
        saved = msgspec.structs.replace(
            old.account_state(),
            account_epoch="",
            fills=[msgspec.structs.replace(f, fill_id=f.fill_id.rsplit("-", 1)[1]) for f in old.account_state().fills],
        )
        v = flat_venue()
        epoch = v.account_epoch
        v.restore_account(saved)
        assert v.account_epoch == epoch
        new_fills, _, _ = await _trade_some(v, n_orders=1)
        return [f.fill_id for f in saved.fills], new_fills, epoch

    bare, new, epoch = run(scenario())
    assert bare == ["1", "2", "3"]
    assert new == [f"{epoch}-{n}" for n in (4, 5, 6)]
