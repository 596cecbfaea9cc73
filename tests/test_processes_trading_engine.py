"""trading_engine on loopback with paper venues: journal before ack, de-duplication, restart and
reconciliation, cancel on SIGTERM, breaker."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest

from asymlp_runtime import messages as m
from asymlp_runtime.bus import RequestClient, Subscriber
from asymlp_runtime.journal import FillRecord, Journal, OrderEventRecord, OrderRecord
from asymlp_runtime.processes.paper import PaperAccountStore, PaperSettings, make_paper_venue
from asymlp_runtime.processes.trading_engine import TradingEngine
from asymlp_runtime.venues.base import make_client_order_id
from process_helpers import config_from_text, engine_config_text, free_ports, run_async, wait_until

pytestmark = pytest.mark.timeout(90)
SYM = "ETH/USDT:USDT"


def _setup(tmp_path):
    p = dict(zip(("reports", "control", "orders"), free_ports(3), strict=True))
    cfg = config_from_text(engine_config_text(p), tmp_path)
    settings = PaperSettings(directory=str(tmp_path / "paper"), step_s=0.05, seed=7)
    return p, cfg, settings


def _order(cid, side="buy", qty=0.01, price=None, **kw):
    return m.OrderRequest(
        client_order_id=cid,
        venue="binance",
        symbol=SYM,
        side=side,
        qty=qty,
        price=price,
        type="limit" if price is not None else "market",
        **kw,
    )


async def _start(engine):
    task = asyncio.create_task(engine.run())
    assert await wait_until(lambda: engine.started.is_set() or task.done(), 10.0)
    assert not task.done(), "engine failed to start"
    return task


async def _stop(engine, task):
    engine.request_stop("test")
    assert await asyncio.wait_for(task, 10.0) == 0


def test_order_journaled_before_ack_and_retry_placed_once(tmp_path):
    async def scenario():
        p, cfg, settings = _setup(tmp_path)
        venue = make_paper_venue("binance", [SYM], settings)
        engine = TradingEngine(cfg, venue=venue, paper=settings, configure_logging=False)
        task = await _start(engine)
        fills = Subscriber(f"tcp://127.0.0.1:{p['reports']}", ["fill.binance."], m.Reports)
        client = RequestClient(f"tcp://127.0.0.1:{p['orders']}", m.Reports, sender="trader", timeout_s=2.0)
        cid = make_client_order_id("trader", 1)
        try:
            ack = await client.request(_order(cid))
            assert ack.accepted, ack.reason
            with Journal(cfg.global_.journal_path) as j:  # another connection sees it committed
                assert [o.client_order_id for o in j.read(OrderRecord)] == [cid]
            fill = await fills.recv(timeout_s=5.0)
            assert fill is not None and fill.message.client_order_id == cid
            with Journal(cfg.global_.journal_path) as j:  # journaled before published
                assert [f.fill_id for f in j.read(FillRecord)] == [fill.message.fill_id]
        finally:
            await client.close()
        await _stop(engine, task)
        # a restarted engine (empty reply cache) gets the same request again: no second order
        engine2 = TradingEngine(cfg, venue=venue, paper=settings, configure_logging=False)
        task2 = await _start(engine2)
        client = RequestClient(f"tcp://127.0.0.1:{p['orders']}", m.Reports, sender="trader", timeout_s=2.0)
        try:
            ack2 = await client.request(_order(cid))
            assert ack2.accepted and ack2.reason == "duplicate"
            assert ack2.venue_order_id == ack.venue_order_id
        finally:
            await client.close()
            fills.close()
        await _stop(engine2, task2)
        assert venue.placed_count == 1
        with Journal(cfg.global_.journal_path) as j:
            assert len(j.read(OrderRecord)) == 1 and len(j.read(FillRecord)) == 1

    run_async(scenario())


def test_restart_journals_fill_missed_while_down_once(tmp_path):
    async def scenario():
        p, cfg, settings = _setup(tmp_path)
        venue = make_paper_venue("binance", [SYM], settings)
        venue.set_mid(SYM, 3000.0)
        engine = TradingEngine(
            cfg, venue=venue, paper=settings, configure_logging=False, cancel_on_stop=False
        )
        task = await _start(engine)
        client = RequestClient(f"tcp://127.0.0.1:{p['orders']}", m.Reports, sender="trader", timeout_s=2.0)
        cid = make_client_order_id("trader", 2)
        try:
            ack = await client.request(_order(cid, price=2900.0))
            assert ack.accepted, ack.reason
        finally:
            await client.close()
        await _stop(engine, task)  # "crash": the order stays open on the venue
        venue.set_mid(SYM, 2850.0)  # fills the resting buy while no engine runs
        assert (await venue.fetch_order(cid, SYM)).filled_qty == pytest.approx(0.01)
        for _ in range(2):  # two restarts: the fill is journaled by the first only
            engine = TradingEngine(cfg, venue=venue, paper=settings, configure_logging=False)
            task = await _start(engine)
            assert engine.last_reconciliation.is_clean
            await _stop(engine, task)
        with Journal(cfg.global_.journal_path) as j:
            fills = j.read(FillRecord)
            assert len(fills) == 1 and fills[0].client_order_id == cid and fills[0].price == 2900.0
            assert [e.status for e in j.read(OrderEventRecord)][-1] == "filled"

    run_async(scenario())


def test_invalid_and_wrong_venue_orders_rejected_without_journal(tmp_path):
    async def scenario():
        p, cfg, settings = _setup(tmp_path)
        engine = TradingEngine(
            cfg, venue=make_paper_venue("binance", [SYM], settings), paper=settings, configure_logging=False
        )
        task = await _start(engine)
        client = RequestClient(f"tcp://127.0.0.1:{p['orders']}", m.Reports, sender="trader", timeout_s=2.0)
        try:
            bad_step = await client.request(_order("t-1", qty=0.0105))
            assert not bad_step.accepted and bad_step.reason.startswith("invalid")
            other = await client.request(msgspec_replace(_order("t-2"), venue="deribit"))
            assert not other.accepted
        finally:
            await client.close()
        await _stop(engine, task)
        with Journal(cfg.global_.journal_path) as j:
            assert j.read(OrderRecord) == []

    run_async(scenario())


def msgspec_replace(msg, **kw):
    import msgspec

    return msgspec.structs.replace(msg, **kw)


def test_sigterm_cancels_open_orders_in_subprocess(tmp_path):
    p, cfg, settings = _setup(tmp_path)
    cfg_path = tmp_path / "te.toml"
    cfg_path.write_text(engine_config_text(p).replace("{tmp}", str(tmp_path)))
    env = {**os.environ, "ASYMLP_PAPER_DIR": str(tmp_path / "paper"), "ASYMLP_PAPER_STEP_S": "0.05"}
    code = (
        "import sys; from asymlp_runtime.processes import run_process; "
        "sys.exit(run_process(None, sys.argv[1]))"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(cfg_path)], env=env, cwd=tmp_path)
    try:

        async def place():
            client = RequestClient(
                f"tcp://127.0.0.1:{p['orders']}", m.Reports, sender="trader", timeout_s=2.0, retries=10
            )
            try:
                ack = await client.request(_order("sig-1", qty=0.5, price=100.0))  # far below: rests
                assert ack.accepted, ack.reason
            finally:
                await client.close()

        run_async(place(), 40.0)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with Journal(cfg.global_.journal_path) as j:
        statuses = [e.status for e in j.read(OrderEventRecord) if e.client_order_id == "sig-1"]
    assert statuses[-1] == "canceled"
    state = PaperAccountStore(tmp_path / "paper" / "binance.sqlite").load("binance")
    assert [str(o.status) for o in state.orders] == ["canceled"]
    assert time.time() > 0


def test_account_file_deleted_journal_kept_every_new_fill_journaled(tmp_path):
    """Two runs of an engine that owns its paper account, the account file deleted in between
    and the journal kept: every fill of both accounts is in the journal, none taken as a replay."""
    import shutil

    async def one_run(cids, journaled_before):
        p, cfg, settings = _setup(tmp_path)
        engine = TradingEngine(cfg, paper=settings, configure_logging=False)  # venue from the file
        task = await _start(engine)
        client = RequestClient(f"tcp://127.0.0.1:{p['orders']}", m.Reports, sender="trader", timeout_s=2.0)
        try:
            for cid in cids:
                ack = await client.request(_order(cid, qty=6.0))  # walks two 5-lot levels: 2 fills
                assert ack.accepted, ack.reason
            # a fill taken for a replay never arrives here: the journal check below says which
            await wait_until(lambda: len(engine.fill_ids) >= journaled_before + 2 * len(cids), 10.0)
        finally:
            await client.close()
        await _stop(engine, task)
        state = PaperAccountStore(settings.account_path("binance")).load("binance")
        return cfg, [f.fill_id for f in state.fills]

    cfg, first = run_async(one_run([make_client_order_id("trader", k) for k in (10, 11)], 0))
    shutil.rmtree(tmp_path / "paper")  # the account file goes, the journal stays
    assert os.path.exists(cfg.global_.journal_path)
    _, second = run_async(one_run([make_client_order_id("trader", k) for k in (12, 13)], len(first)))
    assert len(first) == len(second) == 4
    with Journal(cfg.global_.journal_path) as j:
        journaled = [f.fill_id for f in j.read(FillRecord)]
    assert sorted(journaled) == sorted(first + second)
    assert not set(first) & set(second)


def test_a_private_stream_that_fails_is_reopened_and_later_fills_are_journaled(tmp_path):
    async def scenario():
        p, cfg, settings = _setup(tmp_path)
        venue = make_paper_venue("binance", [SYM], settings)
        venue.set_mid(SYM, 3000.0)
        original = venue.watch_fills
        opened = []

        async def flaky_watch_fills():
            opened.append(time.monotonic())
            if len(opened) == 1:
                raise ConnectionError("user stream dropped")
            async for fill in original():
                yield fill

        venue.watch_fills = flaky_watch_fills
        engine = TradingEngine(cfg, venue=venue, paper=settings, configure_logging=False)
        task = await _start(engine)
        assert await wait_until(lambda: len(opened) >= 2, 5.0), "the failed stream was not opened again"
        client = RequestClient(f"tcp://127.0.0.1:{p['orders']}", m.Reports, sender="trader", timeout_s=2.0)
        cid = make_client_order_id("trader", 9)
        try:
            assert (await client.request(_order(cid, price=2900.0))).accepted
        finally:
            await client.close()
        venue.set_mid(SYM, 2850.0)  # fills the resting buy: reported on the reopened stream

        def journaled() -> bool:
            with Journal(cfg.global_.journal_path) as j:
                return any(f.client_order_id == cid for f in j.read(FillRecord))

        assert await wait_until(journaled, 5.0)
        await _stop(engine, task)

    run_async(scenario())


# ---------------------------------------------------------------------------------------------
# a ccxt venue (binance USD-M through ccxt.pro) against the local REST + WebSocket stand-in
# ---------------------------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def _ccxt_engine_after_a_streamed_fill(tmp_path, key):
    """A running engine on :class:`CcxtVenue` (binance USD-M through ccxt.pro) against the local
    REST + WebSocket stand-in, its user data stream up, a resting buy of 0.01 placed and 0.004 of
    it filled on the stream and journaled. Yields ``(stub, cfg, venue, engine, cid)``."""
    from asymlp_runtime.ops.resilience import CircuitBreaker
    from exchange_ws_stubs import BinanceWsStub
    from test_venue_ccxt import binance

    stub = BinanceWsStub()
    await stub.start()
    p = dict(zip(("reports", "control", "orders"), free_ports(3), strict=True))
    cfg = config_from_text(engine_config_text(p), tmp_path)
    # the venue's own breaker stays closed through the refused reconnections of an outage
    breaker = CircuitBreaker("binance", failure_threshold=10_000, min_calls_in_window=10_000)
    venue = binance(stub.base_url, breaker=breaker)
    # ccxt's own throttle spaces requests by binance's weights (2 s after a 40-weight open-orders
    # list, each reconciliation); the adapter's rate limiter still applies
    venue.exchange.enableRateLimit = False
    engine = TradingEngine(cfg, venue=venue, configure_logging=False, cancel_on_stop=False)
    try:
        task = await _start(engine)
        assert await wait_until(lambda: len(stub.user) == 1, 5.0), "no user data connection"
        client = RequestClient(f"tcp://127.0.0.1:{p['orders']}", m.Reports, sender="trader", timeout_s=3.0)
        cid = make_client_order_id("trader", key)
        try:
            ack = await client.request(_order(cid, price=2990.0))
            assert ack.accepted, ack.reason
        finally:
            await client.close()
        await stub.fill(cid, "0.004", "2990")
        assert await wait_until(lambda: len(_journaled_fills(cfg)) == 1, 5.0)
        yield stub, cfg, venue, engine, cid
        await _stop(engine, task)
    finally:
        await venue.close()
        await stub.stop()


def _journaled_fills(cfg):
    with Journal(cfg.global_.journal_path) as j:
        return j.read(FillRecord)


def test_ccxt_fill_while_user_stream_down_journaled_once_with_trade_id_and_fee(tmp_path):
    from exchange_ws_stubs import TAKER_FEE

    async def scenario():
        async with _ccxt_engine_after_a_streamed_fill(tmp_path, 30) as (stub, cfg, _venue, engine, cid):
            stub.refuse_user_streams = True  # the user data stream goes down and stays down
            await stub.drop_connections(user=True)
            assert await wait_until(lambda: not stub.user, 5.0)
            assert await stub.fill(cid, "0.006", "2989.5", maker=False) == 0  # nobody hears it
            missed = stub.trades[-1]
            await asyncio.sleep(0.3)
            stub.refuse_user_streams = False  # it comes back

            assert await wait_until(lambda: len(_journaled_fills(cfg)) >= 2, 10.0), "missed fill not journaled"
            # the trade list that first had it was read with the user data stream up again
            first_read = next(up for up, ids in stub.user_trades_reads if missed["id"] in ids)
            assert first_read, "reconciled before the stream was reopened"
            await asyncio.sleep(0.5)  # a second reconciliation or a late stream copy would show now
            await engine.reconcile()
            fills = _journaled_fills(cfg)
            assert [f.fill_id for f in fills] == [str(t["id"]) for t in stub.trades]  # real ids, once each
            late = fills[1]
            assert (late.client_order_id, late.qty, late.price, late.liquidity) == (cid, 0.006, 2989.5, "taker")
            assert late.fee == pytest.approx(0.006 * 2989.5 * TAKER_FEE, rel=1e-9)
            assert late.fee == pytest.approx(float(missed["commission"]), rel=1e-12)
            with Journal(cfg.global_.journal_path) as j:
                assert [e.status for e in j.read(OrderEventRecord) if e.client_order_id == cid][-1] == "filled"
            assert len(stub.user) == 1

    run_async(scenario(), 30.0)


def test_ccxt_fill_on_stream_and_in_fetch_fills_journaled_once_lost_history_one_recon_fill(tmp_path):
    async def scenario():
        async with _ccxt_engine_after_a_streamed_fill(tmp_path, 31) as (stub, cfg, venue, engine, cid):
            before = stub.state.count("GET", "/fapi/v1/userTrades")
            await engine.reconcile()  # fetch_fills returns the same execution: not journaled again
            assert stub.state.count("GET", "/fapi/v1/userTrades") == before + 1
            assert [f.fill_id for f in _journaled_fills(cfg)] == [str(stub.trades[0]["id"])]

            # an execution just before the reconciliation looks the order up: its filled quantity
            # counts it, and fetch_fills (asked after) returns it: journaled by id, nothing made up
            original = venue.fetch_order

            async def execute_then_fetch_order(client_order_id, symbol):
                venue.fetch_order = original
                stub.execute(cid, "0.002", "2985", maker=True)
                return await original(client_order_id, symbol)

            venue.fetch_order = execute_then_fetch_order
            await engine.reconcile()
            assert [f.fill_id for f in _journaled_fills(cfg)] == [str(t["id"]) for t in stub.trades]

            # an execution the venue's trade list no longer holds (older than its window) and
            # the stream never sent: only the order's filled quantity shows it
            stub.execute(cid, "0.003", "2980", maker=True)
            stub.trades.pop()
            for _ in range(2):
                await engine.reconcile()
            fills = _journaled_fills(cfg)
            ids = [str(t["id"]) for t in stub.trades]
            assert [f.fill_id for f in fills] == [*ids, f"recon-{cid}-{0.009!r}"]
            assert fills[-1].qty == pytest.approx(0.003) and fills[-1].fee == 0.0

    run_async(scenario(), 30.0)
