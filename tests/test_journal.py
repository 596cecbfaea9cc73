"""Journal: append/read of every record, exact uint256, idempotent replays, kill -9 durability,
recovery (rebuild_state) and reconciliation, export round trips, position accounting properties."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asymlp_runtime.export import export_journal, load_export, records_from_table, to_epoch_ns
from asymlp_runtime.journal import (
    MIGRATIONS,
    SCHEMA_VERSION,
    TABLES,
    AsyncJournal,
    BalanceSnapshot,
    CheckpointRecord,
    FillRecord,
    Journal,
    JournalConflict,
    JournalSchemaError,
    LpActionEndRecord,
    LpActionRecord,
    LpBarRecord,
    LpStepRecord,
    MarketSampleRecord,
    Migration,
    OrderEventRecord,
    OrderRecord,
    PositionSnapshot,
    TxReceiptRecord,
    TxRecord,
    VenueOrder,
    VenueSnapshot,
    rebuild_state,
    reconcile,
)

MAX_U256 = 2**256 - 1
MIN_I256 = -(2**255)


def tx_hash(n: int) -> str:
    return "0x" + format(n, "064x")


def sample_records() -> list:
    """One record of every type, with edge values (None, '', huge ints, bools)."""
    return [
        OrderRecord(client_order_id="o1", venue="paper", symbol="ETHUSDT", side="buy", order_type="limit",
                    qty=1.5, price=3000.25, reduce_only=True, strategy="hedge", ts_ns=1_000),
        OrderEventRecord(client_order_id="o1", venue="paper", status="open", venue_order_id="v1",
                         ts_ns=1_001),
        FillRecord(venue="paper", fill_id="f1", symbol="ETHUSDT", side="buy", qty=0.5, price=3000.0,
                   fee=0.15, fee_currency="USDT", liquidity="maker", client_order_id="o1", ts_ns=1_002),
        PositionSnapshot(venue="paper", symbol="ETHUSDT", qty=-0.5, avg_entry_price=None, ts_ns=1_003),
        BalanceSnapshot(venue="paper", asset="USDT", total=10_000.0, free=9_000.0, ts_ns=1_004),
        LpActionRecord(action_id="a1", kind="rebalance", pool="0xpool", n_steps=4,
                       params='{"lower": -600}', ts_ns=1_005),
        LpStepRecord(action_id="a1", step=0, kind="burn", token_id=MAX_U256, tick_lower=-887272,
                     tick_upper=887272, liquidity=2**128 - 1, amount0=MAX_U256, amount1=MIN_I256,
                     tx_hash=tx_hash(1), ts_ns=1_006),
        LpActionEndRecord(action_id="a1", outcome="completed", ts_ns=1_007),
        TxRecord(tx_hash=tx_hash(1), chain_id=31337, sender="0xabc", nonce=7, to="0xdef", value=MAX_U256,
                 gas_limit=500_000, max_fee_per_gas=10**30, action_id="a1", step=0, ts_ns=1_008),
        TxReceiptRecord(tx_hash=tx_hash(1), status="success", block_number=12, gas_used=123_456,
                        effective_gas_price=2**200 + 1, ts_ns=1_009),
        CheckpointRecord(process="trader", name="bus_seq", seq=42, payload='{"seq": 42}', ts_ns=1_010),
        MarketSampleRecord(venue="paper", symbol="ETHUSDT", bid=2999.5, ask=3000.5, last=None, ts_ns=1_011),
        LpBarRecord(pool="devnet", price=3001.5, tick=-196000, liquidity=2**128 - 1, fee_growth0=MAX_U256,
                    fee_growth1=2**200 + 3, block_number=77, ts_ns=1_012),
    ]


def test_sample_records_cover_every_table_each_once():
    names = sorted(type(r).__name__ for r in sample_records())
    assert names == sorted(s.record.__name__ for s in TABLES.values())


def test_ddl_columns_match_record_fields_in_order(tmp_path):
    with Journal(tmp_path / "j.db") as journal:
        for name, spec in TABLES.items():
            cols = [row[1] for row in journal._conn.execute(f"PRAGMA table_info({name})")]
            assert cols == ["id", *spec.columns], name


def test_every_record_type_appends_and_reads_back_equal(tmp_path):
    with Journal(tmp_path / "j.db") as journal:
        records = sample_records()
        ids = [journal.append(r) for r in records]
        assert all(isinstance(i, int) and i >= 1 for i in ids)
        for record, row_id in zip(records, ids, strict=True):
            pairs = journal.read_with_ids(type(record))
            assert pairs == [(row_id, record)]
            assert journal.lookup_id(record) == row_id
        assert journal.integrity_check() == "ok"


def test_typed_appenders_accept_their_type_and_reject_others(tmp_path):
    with Journal(tmp_path / "j.db") as journal:
        records = sample_records()
        appenders = [journal.append_order, journal.append_order_event, journal.append_fill,
                     journal.append_position, journal.append_balance, journal.append_lp_action,
                     journal.append_lp_step, journal.append_lp_action_end, journal.append_transaction,
                     journal.append_tx_receipt, journal.append_checkpoint, journal.append_market_sample,
                     journal.append_lp_bar]
        for appender, record in zip(appenders, records, strict=True):
            assert appender(record) >= 1
        with pytest.raises(TypeError):
            journal.append_fill(records[0])


@given(
    amount0=st.integers(MIN_I256, MAX_U256),
    amount1=st.integers(MIN_I256, MAX_U256),
    liquidity=st.integers(0, 2**128 - 1),
    token_id=st.integers(0, MAX_U256),
)
def test_uint256_amounts_round_trip_exactly(amount0, amount1, liquidity, token_id):
    with Journal(":memory:") as journal:
        step = LpStepRecord(action_id="a", step=0, kind="mint", token_id=token_id, liquidity=liquidity,
                            amount0=amount0, amount1=amount1, ts_ns=1)
        journal.append(step)
        (back,) = journal.read(LpStepRecord)
        assert (back.amount0, back.amount1, back.liquidity, back.token_id) == (
            amount0, amount1, liquidity, token_id)
        assert type(back.amount0) is int


def test_bigint_outside_int256_uint256_range_rejected_nothing_written(tmp_path):
    with Journal(tmp_path / "j.db") as journal:
        for bad in (2**256, MIN_I256 - 1):
            with pytest.raises(ValueError, match="amount0"):
                journal.append(LpStepRecord(action_id="a", step=0, kind="mint", amount0=bad, ts_ns=1))
        with pytest.raises(TypeError, match="amount1"):
            journal.append(LpStepRecord(action_id="a", step=0, kind="mint", amount1=1.0e18, ts_ns=1))
        assert journal.count(LpStepRecord) == 0


def test_invalid_records_rejected_with_field_name(tmp_path):
    with Journal(tmp_path / "j.db") as journal:
        with pytest.raises(ValueError, match="fills.qty"):
            journal.append(FillRecord(venue="v", fill_id="x", symbol="s", side="buy", qty=0.0, price=1.0,
                                      ts_ns=1))
        with pytest.raises(ValueError, match="side"):
            journal.append(FillRecord(venue="v", fill_id="x", symbol="s", side="long", qty=1.0,  # type: ignore[arg-type]
                                      price=1.0, ts_ns=1))
        with pytest.raises(ValueError, match="price"):
            journal.append(FillRecord(venue="v", fill_id="x", symbol="s", side="buy", qty=1.0,
                                      price=float("nan"), ts_ns=1))
        with pytest.raises(ValueError, match="status"):
            journal.append(OrderEventRecord(client_order_id="o", venue="v", status="weird", ts_ns=1))
        with pytest.raises(ValueError, match="tx_hash"):
            journal.append(TxRecord(tx_hash="0x12", chain_id=1, sender="a", nonce=0, ts_ns=1))
        assert sum(journal.count(t) for t in TABLES) == 0


def test_tx_hash_stored_lower_case_so_case_variants_are_duplicates(tmp_path):
    with Journal(tmp_path / "j.db") as journal:
        upper = "0x" + "AB" * 32
        first = journal.append(TxRecord(tx_hash=upper, chain_id=1, sender="a", nonce=0, ts_ns=1))
        second = journal.append(TxRecord(tx_hash=upper.lower(), chain_id=1, sender="a", nonce=0, ts_ns=1))
        assert first == second
        assert journal.read(TxRecord)[0].tx_hash == upper.lower()


def test_replayed_records_are_not_inserted_and_are_counted(tmp_path):
    with Journal(tmp_path / "j.db") as journal:
        records = sample_records()
        ids = [journal.append(r) for r in records]
        replay_ids = [journal.append(r) for r in records]
        assert replay_ids == ids
        assert all(journal.count(t) == 1 for t in TABLES)
        assert dict(journal.duplicate_counts) == {t: 1 for t in TABLES}
        assert sum(journal.conflict_counts.values()) == 0


def test_replay_with_later_timestamp_is_duplicate_without_conflict(tmp_path):
    with Journal(tmp_path / "j.db") as journal:
        fill = sample_records()[2]
        first = journal.append(fill)
        again = journal.append(FillRecord(**{**_fields(fill), "ts_ns": fill.ts_ns + 999}))
        assert first == again
        assert journal.duplicate_counts["fills"] == 1 and journal.conflict_counts["fills"] == 0


def test_replay_with_different_content_counts_conflict_and_keeps_stored(tmp_path):
    with Journal(tmp_path / "j.db") as journal:
        fill = sample_records()[2]
        journal.append(fill)
        changed = FillRecord(**{**_fields(fill), "qty": 0.7})
        journal.append(changed)
        assert journal.conflict_counts["fills"] == 1
        assert journal.read(FillRecord) == [fill]
        table, key, stored, replayed = journal.recent_conflicts[-1]
        assert (table, key, stored, replayed) == ("fills", ("paper", "f1"), fill, changed)


def test_append_many_strict_conflict_rolls_back_whole_batch(tmp_path):
    with Journal(tmp_path / "j.db") as journal:
        fill = sample_records()[2]
        journal.append(fill)
        new_order = sample_records()[0]
        with pytest.raises(JournalConflict):
            journal.append_many([new_order, FillRecord(**{**_fields(fill), "price": 1.0})], strict=True)
        assert journal.count(OrderRecord) == 0
        ids = journal.append_many([new_order, fill])
        assert ids[1] == journal.lookup_id(fill) and journal.count(OrderRecord) == 1


def _fields(record) -> dict:
    return {f: getattr(record, f) for f in record.__struct_fields__}


def test_new_database_records_current_schema_version(tmp_path):
    with Journal(tmp_path / "j.db") as journal:
        assert journal.schema_version == SCHEMA_VERSION == len(MIGRATIONS)


def test_migration_to_next_version_applies_once_and_keeps_rows(tmp_path):
    path = tmp_path / "j.db"
    with Journal(path) as journal:
        row = journal.append(sample_records()[2])
    nxt = SCHEMA_VERSION + 1
    extra = Migration(nxt, "fills note column", ("ALTER TABLE fills ADD COLUMN note TEXT",))
    with Journal(path, migrations=(*MIGRATIONS, extra)) as journal:
        assert journal.schema_version == nxt
        assert journal._conn.execute("SELECT id, note FROM fills").fetchall() == [(row, None)]
    with Journal(path, migrations=(*MIGRATIONS, extra)) as journal:  # reopen: not re-applied
        assert journal.schema_version == nxt


def test_database_newer_than_code_is_refused(tmp_path):
    path = tmp_path / "j.db"
    with Journal(path):
        pass
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(JournalSchemaError, match="99"):
        Journal(path)


def test_wal_mode_and_synchronous_setting_applied(tmp_path):
    for mode, code in (("FULL", 2), ("NORMAL", 1)):
        with Journal(tmp_path / f"{mode}.db", synchronous=mode) as journal:
            assert journal._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert journal._conn.execute("PRAGMA synchronous").fetchone()[0] == code


# --------------------------------------------------------------------------------------------------
# AsyncJournal
# --------------------------------------------------------------------------------------------------


def test_async_journal_concurrent_appends_commit_with_ids_and_group_commit(tmp_path):
    fills = [FillRecord(venue="paper", fill_id=f"f{i}", symbol="ETHUSDT", side="buy", qty=1.0, price=1.0,
                        ts_ns=i) for i in range(300)]

    async def main():
        journal = AsyncJournal.open(tmp_path / "j.db")
        ids = await asyncio.wait_for(journal.append_many(fills), timeout=30)
        again = await asyncio.wait_for(journal.append(fills[5]), timeout=30)
        back = await journal.read(FillRecord)
        batches = journal.batches
        await journal.close()
        return ids, again, back, batches, journal.journal.duplicate_counts["fills"]

    ids, again, back, batches, dups = asyncio.run(main())
    assert len(set(ids)) == 300 and again == ids[5] and dups == 1
    assert back == fills
    assert batches < 300  # queued records shared commits


def test_async_journal_failing_record_fails_alone(tmp_path):
    good = sample_records()[0]
    bad = LpStepRecord(action_id="a", step=0, kind="mint", amount0=2**300, ts_ns=1)
    other = sample_records()[2]

    async def main():
        journal = AsyncJournal.open(tmp_path / "j.db")
        results = await asyncio.gather(journal.append(good), journal.append(bad), journal.append(other),
                                       return_exceptions=True)
        await journal.close()
        return results

    results = asyncio.run(main())
    assert isinstance(results[0], int) and isinstance(results[2], int)
    assert isinstance(results[1], ValueError)
    with Journal(tmp_path / "j.db") as journal:
        assert journal.read(OrderRecord) == [good] and journal.read(FillRecord) == [other]
        assert journal.count(LpStepRecord) == 0


# --------------------------------------------------------------------------------------------------
# kill -9 durability
# --------------------------------------------------------------------------------------------------

SEQUENCE_SOURCE = r'''
import random
from asymlp_runtime.journal import (CheckpointRecord, FillRecord, LpActionEndRecord, LpActionRecord,
    LpStepRecord, OrderEventRecord, OrderRecord, TxReceiptRecord, TxRecord)

def block(k):
    """Records appended for block k (deterministic): a hedge order, its fill, one LP step with its tx."""
    rng = random.Random(k)
    action = f"a{k // 3}"
    out = []
    if k % 3 == 0:
        if k:
            out.append(LpActionEndRecord(action_id=f"a{k // 3 - 1}", outcome="completed", ts_ns=10 * k))
        out.append(LpActionRecord(action_id=action, kind="rebalance", pool="p", n_steps=3, ts_ns=10 * k))
    qty = rng.choice([0.5, 1.0, 2.0])
    side = rng.choice(["buy", "sell"])
    out.append(OrderRecord(client_order_id=f"o{k}", venue="paper", symbol="ETHUSDT", side=side,
                           order_type="limit", qty=qty, price=3000.0 + k, ts_ns=10 * k + 1))
    out.append(OrderEventRecord(client_order_id=f"o{k}", venue="paper", status="open", ts_ns=10 * k + 2))
    fill_qty = qty if rng.random() < 0.5 else qty / 2
    out.append(FillRecord(venue="paper", fill_id=f"f{k}", symbol="ETHUSDT", side=side, qty=fill_qty,
                          price=3000.0 + rng.random(), client_order_id=f"o{k}", ts_ns=10 * k + 3))
    tx = "0x" + format(k + 1, "064x")
    out.append(TxRecord(tx_hash=tx, chain_id=31337, sender="0xlp", nonce=k, action_id=action, step=k % 3,
                        ts_ns=10 * k + 4))
    out.append(TxReceiptRecord(tx_hash=tx, status="success", block_number=k, gas_used=150_000,
                               effective_gas_price=10**9 + k, ts_ns=10 * k + 5))
    out.append(LpStepRecord(action_id=action, step=k % 3, kind="mint", liquidity=rng.getrandbits(128),
                            amount0=rng.getrandbits(256), amount1=rng.getrandbits(255), tx_hash=tx,
                            ts_ns=10 * k + 6))
    out.append(CheckpointRecord(process="child", name="block", seq=k, ts_ns=10 * k + 7))
    return out

def sequence(n):
    out, k = [], 0
    while len(out) < n:
        out.extend(block(k))
        k += 1
    return out[:n]
'''

CHILD_SOURCE = SEQUENCE_SOURCE + r'''
import sys
from asymlp_runtime.journal import Journal

journal = Journal(sys.argv[1], synchronous=sys.argv[2])
index = 0
print("ready", flush=True)
k = 0
while True:
    for record in block(k):
        row_id = journal.append(record)
        sys.stdout.write(f"{index} {row_id}\n")
        sys.stdout.flush()
        index += 1
    k += 1
'''


def _sequence(n: int) -> list:
    namespace: dict = {}
    exec(SEQUENCE_SOURCE, namespace)  # noqa: S102 - the same source the child runs
    return namespace["sequence"](n)


def _run_and_kill(path: Path, synchronous: str, delay_s: float) -> list[tuple[int, int]]:
    """Start the appending child, kill -9 it after ``delay_s``, return its acknowledged (index, id)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD_SOURCE, str(path), synchronous],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    ready = threading.Event()

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("ready"):
                ready.set()
            else:
                lines.append(line)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        assert ready.wait(10.0), "child did not start"
        time.sleep(delay_s)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
        thread.join(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""
    acked = []
    for line in lines:
        parts = line.split()
        if len(parts) == 2:  # a line cut by the kill is not an acknowledgement
            acked.append((int(parts[0]), int(parts[1])))
    return acked


@pytest.mark.parametrize(
    ("synchronous", "seed"), [("FULL", 1), ("FULL", 2), ("FULL", 3), ("NORMAL", 4), ("NORMAL", 5)]
)
def test_kill_9_mid_append_keeps_every_acknowledged_record_once(tmp_path, synchronous, seed):
    path = tmp_path / "crash.db"
    delay = random.Random(seed).uniform(0.05, 0.8)
    acked = _run_and_kill(path, synchronous, delay)
    assert acked, "child acknowledged nothing before the kill"
    assert [i for i, _ in acked] == list(range(len(acked)))

    with Journal(path, synchronous=synchronous) as journal:
        assert journal.integrity_check() == "ok"
        total = sum(journal.count(t) for t in TABLES)
        # Everything acknowledged is there; at most the one in-flight record beyond.
        assert len(acked) <= total <= len(acked) + 1
        expected = _sequence(total)
        for index, row_id in acked:
            assert journal.lookup_id(expected[index]) == row_id
        # The journal holds exactly the prefix of the sequence, each record once, in order.
        for name in TABLES:
            want = [r for r in expected if type(r) is TABLES[name].record]
            assert journal.read(name) == want, name

        crashed_state = rebuild_state(journal)

        # A restarted writer replays the acknowledged records: all are no-ops.
        for index, _ in acked:
            journal.append(expected[index])
        assert sum(journal.count(t) for t in TABLES) == total
        assert sum(journal.duplicate_counts.values()) == len(acked)

    with Journal(tmp_path / "straight.db", synchronous="NORMAL") as straight:
        straight.append_many(expected)
        assert rebuild_state(straight) == crashed_state


# --------------------------------------------------------------------------------------------------
# rebuild_state
# --------------------------------------------------------------------------------------------------


def _order(cid: str, qty: float = 1.0, side: str = "buy", venue: str = "paper", symbol: str = "ETHUSDT"):
    return OrderRecord(client_order_id=cid, venue=venue, symbol=symbol, side=side, order_type="limit",
                       qty=qty, price=3000.0, ts_ns=1)


def _fill(fid: str, side: str, qty: float, price: float, cid: str = "", venue: str = "paper",
          symbol: str = "ETHUSDT", ts: int = 1):
    return FillRecord(venue=venue, fill_id=fid, symbol=symbol, side=side, qty=qty, price=price,
                      client_order_id=cid, ts_ns=ts)


def test_rebuild_open_orders_excludes_terminal_and_terminal_status_sticks(tmp_path):
    with Journal(tmp_path / "j.db") as journal:
        for cid in ("o1", "o2", "o3", "o4"):
            journal.append(_order(cid))
        journal.append(OrderEventRecord(client_order_id="o1", venue="paper", status="open", ts_ns=2))
        journal.append(OrderEventRecord(client_order_id="o2", venue="paper", status="canceled", ts_ns=2))
        journal.append(OrderEventRecord(client_order_id="o2", venue="paper", status="open", ts_ns=3))  # late
        journal.append(_fill("f3", "buy", 1.0, 3000.0, cid="o3"))  # fully filled, no event
        journal.append(_fill("f4", "buy", 0.4, 3000.0, cid="o4"))
        state = rebuild_state(journal)
    assert set(state.open_orders) == {"o1", "o4"}
    assert state.orders["o2"].status == "canceled"
    assert state.orders["o3"].status == "filled"
    assert state.orders["o4"].filled_qty == pytest.approx(0.4)


def test_average_entry_after_partial_close_is_average_cost_not_vwap_of_buys(tmp_path):
    with Journal(tmp_path / "j.db") as journal:
        for i, (side, price) in enumerate([("buy", 1.0), ("buy", 2.0), ("sell", 1.0), ("buy", 1.0)]):
            journal.append(_fill(f"f{i}", side, 1.0, price))
        position = rebuild_state(journal).positions[("paper", "ETHUSDT")]
    # 2 @ 1.5, sell 1 (realise -0.5), 1 @ 1.5, buy 1 @ 1 -> 2 @ 1.25 (a VWAP of the buys would be 1.33)
    assert (position.qty, position.avg_entry_price, position.realised_pnl) == (2.0, 1.25, -0.5)


def test_rebuild_positions_from_fills_with_realised_pnl_and_last_snapshot(tmp_path):
    with Journal(tmp_path / "j.db") as journal:
        journal.append(_fill("f1", "buy", 2.0, 100.0))
        journal.append(_fill("f2", "buy", 2.0, 110.0))   # avg 105
        journal.append(_fill("f3", "sell", 1.0, 120.0))  # realise +15, avg stays 105
        journal.append(_fill("f4", "sell", 5.0, 90.0))   # close 3 at 90: -45; open -2 at 90
        journal.append(_fill("g1", "sell", 1.0, 50.0, symbol="BTCUSDT"))
        journal.append(PositionSnapshot(venue="paper", symbol="ETHUSDT", qty=-2.0, ts_ns=5))
        journal.append(PositionSnapshot(venue="paper", symbol="ETHUSDT", qty=-1.0, ts_ns=4))  # older
        state = rebuild_state(journal)
    eth = state.positions[("paper", "ETHUSDT")]
    assert eth.qty == pytest.approx(-2.0)
    assert eth.avg_entry_price == pytest.approx(90.0)
    assert eth.realised_pnl == pytest.approx(15.0 - 45.0)
    assert eth.n_fills == 4
    assert eth.last_snapshot is not None and eth.last_snapshot.ts_ns == 5
    assert state.positions[("paper", "BTCUSDT")].qty == -1.0


def test_rebuild_lp_action_in_progress_with_next_step_and_pending_tx(tmp_path):
    with Journal(tmp_path / "j.db") as journal:
        journal.append(LpActionRecord(action_id="done", kind="rebalance", pool="p", n_steps=1, ts_ns=1))
        journal.append(LpActionEndRecord(action_id="done", outcome="completed", ts_ns=2))
        journal.append(LpActionRecord(action_id="r1", kind="rebalance", pool="p", n_steps=4, ts_ns=3))
        journal.append(LpStepRecord(action_id="r1", step=0, kind="burn", liquidity=10**20, ts_ns=4))
        journal.append(LpStepRecord(action_id="r1", step=1, kind="collect", amount0=5, amount1=7, ts_ns=5))
        journal.append(TxRecord(tx_hash=tx_hash(3), chain_id=1, sender="0xlp", nonce=3, action_id="r1",
                                step=2, ts_ns=6))
        state = rebuild_state(journal)
    assert set(state.lp_actions_in_progress) == {"r1"}
    progress = state.lp_actions_in_progress["r1"]
    assert progress.next_step == 2
    assert [s.step for s in progress.steps] == [0, 1]
    assert [t.tx_hash for t in progress.pending_transactions] == [tx_hash(3)]


def test_rebuild_pending_transactions_exclude_confirmed_dropped_and_replaced(tmp_path):
    with Journal(tmp_path / "j.db") as journal:
        for n, nonce in ((1, 0), (2, 1), (3, 2), (4, 2), (5, 3)):
            journal.append(TxRecord(tx_hash=tx_hash(n), chain_id=1, sender="0xA", nonce=nonce, ts_ns=n))
        journal.append(TxReceiptRecord(tx_hash=tx_hash(1), status="success", ts_ns=10))
        journal.append(TxReceiptRecord(tx_hash=tx_hash(2), status="dropped", ts_ns=11))
        journal.append(TxReceiptRecord(tx_hash=tx_hash(4), status="reverted", ts_ns=12))  # replaced 3
        state = rebuild_state(journal)
    assert set(state.pending_transactions) == {tx_hash(5)}


def test_rebuild_checkpoints_keep_highest_seq_and_balances_latest(tmp_path):
    with Journal(tmp_path / "j.db") as journal:
        for seq in (3, 9, 5):
            journal.append(CheckpointRecord(process="lp", name="block", seq=seq, payload=str(seq), ts_ns=seq))
        journal.append(BalanceSnapshot(venue="paper", asset="USDT", total=5.0, ts_ns=2))
        journal.append(BalanceSnapshot(venue="paper", asset="USDT", total=4.0, ts_ns=1))
        state = rebuild_state(journal)
    assert state.checkpoints[("lp", "block")].seq == 9
    assert state.balances[("paper", "USDT")].total == 5.0


# --------------------------------------------------------------------------------------------------
# reconcile
# --------------------------------------------------------------------------------------------------


def _reconcile_state(tmp_path):
    journal = Journal(tmp_path / "r.db")
    for cid in ("o_open", "o_gone", "o_cancelled", "o_partial"):
        journal.append(_order(cid))
    journal.append(OrderEventRecord(client_order_id="o_open", venue="paper", status="open",
                                    venue_order_id="V1", ts_ns=2))
    journal.append(OrderEventRecord(client_order_id="o_cancelled", venue="paper", status="canceled", ts_ns=2))
    journal.append(OrderEventRecord(client_order_id="o_partial", venue="paper", status="partially_filled",
                                    filled_qty=0.25, ts_ns=2))
    journal.append(_order("o_other_venue", venue="deribit"))
    journal.append(_fill("f1", "buy", 1.0, 3000.0))
    journal.append(_fill("f2", "buy", 0.1, 60000.0, symbol="BTCUSDT"))
    state = rebuild_state(journal)
    journal.close()
    return state


def test_reconcile_matching_venue_is_clean(tmp_path):
    state = _reconcile_state(tmp_path)
    snapshot = VenueSnapshot(
        venue="paper",
        positions={"ETHUSDT": 1.0 + 1e-13, "BTCUSDT": 0.1},  # float noise within tolerance
        open_orders=(VenueOrder("o_open"), VenueOrder("o_gone"), VenueOrder("o_partial", filled_qty=0.25)),
    )
    assert reconcile(state, snapshot).is_clean


def test_reconcile_finds_each_kind_of_difference(tmp_path):
    state = _reconcile_state(tmp_path)
    snapshot = VenueSnapshot(
        venue="paper",
        positions={"ETHUSDT": 1.5, "BTCUSDT": 0.1, "SOLUSDT": -3.0},
        open_orders=(
            VenueOrder("", venue_order_id="V1"),  # o_open, matched by venue order id
            VenueOrder("o_cancelled"),  # the journal holds it as cancelled
            VenueOrder("x_manual", symbol="ETHUSDT"),  # never journaled
            VenueOrder("o_partial", filled_qty=0.5),  # filled more than the journal knows
        ),
    )
    result = reconcile(state, snapshot)
    assert not result.is_clean
    diffs = {(d.symbol, d.missing_qty) for d in result.position_differences}
    assert diffs == {("ETHUSDT", 0.5), ("SOLUSDT", -3.0)}  # 1.5 - 1.0 is exact
    assert {(u.order.client_order_id, u.journal_status) for u in result.unknown_venue_orders} == {
        ("o_cancelled", "canceled"), ("x_manual", None)}
    assert [m.state.client_order_id for m in result.orders_missing_on_venue] == ["o_gone"]
    assert [(f.client_order_id, f.venue_filled_qty) for f in result.filled_qty_differences] == [
        ("o_partial", 0.5)]


def test_reconcile_tolerance_is_configurable(tmp_path):
    state = _reconcile_state(tmp_path)
    snapshot = VenueSnapshot(venue="paper", positions={"ETHUSDT": 1.001, "BTCUSDT": 0.1},
                             open_orders=(VenueOrder("o_open"), VenueOrder("o_gone"),
                                          VenueOrder("o_partial", filled_qty=0.25)))
    assert not reconcile(state, snapshot).is_clean
    assert reconcile(state, snapshot, qty_abs_tol=0.01).is_clean


# --------------------------------------------------------------------------------------------------
# export
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_round_trip_every_table_exact(tmp_path, fmt):
    path = tmp_path / "j.db"
    with Journal(path) as journal:
        for record in sample_records():
            journal.append(record)
        journal.append(_fill("f2", "sell", 0.25, 2999.0, ts=2_000))
        journal.append(LpStepRecord(action_id="a1", step=1, kind="mint", note='comma, "quote"', ts_ns=2_001))
        expected = {name: journal.read_with_ids(name) for name in TABLES}
    paths = export_journal(path, tmp_path / "out", fmt=fmt)
    assert set(paths) == set(TABLES) and all(p.exists() for p in paths.values())
    loaded = load_export(tmp_path / "out", fmt=fmt)
    for name in TABLES:
        assert records_from_table(name, loaded[name]) == expected[name], name


def test_export_csv_keeps_uint256_as_decimal_text(tmp_path):
    import pandas as pd

    path = tmp_path / "j.db"
    with Journal(path) as journal:
        for record in sample_records():
            journal.append(record)
    export_journal(path, tmp_path / "out", fmt="csv")
    frame = pd.read_csv(tmp_path / "out" / "lp_action_steps.csv", dtype={"amount0": str, "amount1": str})
    assert frame.loc[0, "amount0"] == str(MAX_U256) and frame.loc[0, "amount1"] == str(MIN_I256)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_since_until_filters_on_ts_ns(tmp_path, fmt):
    path = tmp_path / "j.db"
    with Journal(path) as journal:
        for ts in range(1, 11):
            journal.append(_fill(f"f{ts}", "buy", 1.0, 1.0, ts=ts))
    export_journal(path, tmp_path / "out", fmt=fmt, since=3, until=7)
    fills = records_from_table("fills", load_export(tmp_path / "out", fmt=fmt)["fills"])
    assert [r.ts_ns for _, r in fills] == [3, 4, 5, 6]
    assert load_export(tmp_path / "out", fmt=fmt)["orders"].num_rows == 0


def test_time_bounds_accept_iso_strings_and_datetimes():
    import datetime as dt

    assert to_epoch_ns("1970-01-01T00:00:01") == 1_000_000_000
    assert to_epoch_ns(dt.datetime(1970, 1, 1, 0, 0, 2, tzinfo=dt.UTC)) == 2_000_000_000
    assert to_epoch_ns(5) == 5 and to_epoch_ns(None) is None


# --------------------------------------------------------------------------------------------------
# Position accounting properties
# --------------------------------------------------------------------------------------------------

LOT = 0.001
fill_strategy = st.lists(
    st.tuples(st.sampled_from(["buy", "sell"]), st.integers(1, 1000), st.floats(1.0, 5000.0)),
    min_size=1,
    max_size=40,
)


def _reference_position(fills):
    """Exact reference (Fractions) of the average-cost convention, written as a cost basis: buying
    into the position adds ``qty * price`` to the basis, reducing it removes the closed fraction of the
    basis, crossing zero restarts the basis at the fill price; avg = basis / |qty|. Realised PnL
    comes from the PnL identity: cash flow + qty * avg (marking the open position at its avg)."""
    pos_lots = 0
    basis = Fraction(0)
    cash = Fraction(0)
    for side, lots, price in fills:
        sign = 1 if side == "buy" else -1
        qty = Fraction(lots * LOT)
        p = Fraction(price)
        cash -= sign * qty * p
        new = pos_lots + sign * lots
        if pos_lots == 0 or (pos_lots > 0) == (sign > 0):
            basis += qty * p
        elif new == 0:
            basis = Fraction(0)
        elif (new > 0) != (pos_lots > 0):
            basis = Fraction(abs(new) * LOT) * p
        else:
            basis *= Fraction(abs(new), abs(pos_lots))
        pos_lots = new
    avg = basis / Fraction(abs(pos_lots) * LOT) if pos_lots else Fraction(0)
    qty_exact = sum((Fraction(lots * LOT) * (1 if s == "buy" else -1) for s, lots, _ in fills), Fraction(0))
    return qty_exact, avg, cash + qty_exact * avg


@given(fill_strategy)
def test_random_fills_position_is_signed_sum_with_reference_average_and_pnl(fills):
    with Journal(":memory:") as journal:
        for i, (side, lots, price) in enumerate(fills):
            journal.append(_fill(f"f{i}", side, lots * LOT, price, ts=i))
        position = rebuild_state(journal).positions[("paper", "ETHUSDT")]
    qty, avg, realised = _reference_position(fills)
    volume = sum(lots * LOT for _, lots, _ in fills)
    notional = sum(lots * LOT * price for _, lots, price in fills)
    assert position.qty == pytest.approx(float(qty), abs=1e-9 * volume)
    assert position.avg_entry_price == pytest.approx(float(avg), rel=1e-9, abs=1e-9)
    assert position.realised_pnl == pytest.approx(float(realised), abs=1e-9 * notional)


@given(st.lists(st.tuples(st.sampled_from(["buy", "sell"]), st.floats(1e-6, 1e6), st.floats(1e-3, 1e5)),
                min_size=1, max_size=40))
def test_random_float_fills_position_equals_signed_sum(fills):
    with Journal(":memory:") as journal:
        for i, (side, qty, price) in enumerate(fills):
            journal.append(_fill(f"f{i}", side, qty, price, ts=i))
        position = rebuild_state(journal).positions[("paper", "ETHUSDT")]
    exact = sum((Fraction(q) * (1 if s == "buy" else -1) for s, q, _ in fills), Fraction(0))
    volume = sum(q for _, q, _ in fills)
    assert position.qty == pytest.approx(float(exact), abs=1e-9 * volume)
    if position.qty == 0.0:
        assert position.avg_entry_price == 0.0
    else:
        prices = [p for _, _, p in fills]
        assert min(prices) * (1 - 1e-9) <= position.avg_entry_price <= max(prices) * (1 + 1e-9)


def test_a_version_1_journal_gains_the_lp_bars_table_and_keeps_its_rows(tmp_path):
    path = tmp_path / "v1.db"
    with Journal(path, migrations=MIGRATIONS[:1]) as journal:
        row = journal.append(sample_records()[2])
        assert journal.schema_version == 1
    with Journal(path) as journal:
        assert journal.schema_version == SCHEMA_VERSION
        assert [f.fill_id for f in journal.read(FillRecord)] == ["f1"] and row >= 1
        bar = LpBarRecord(pool="p", price=1.5, tick=3, liquidity=10**30, fee_growth0=2**255, ts_ns=5)
        journal.append(bar)
        assert journal.read(LpBarRecord) == [bar]


def test_a_version_1_journal_exports_every_table_with_the_later_ones_empty(tmp_path):
    from asymlp_runtime.export import export_journal, load_export

    path = tmp_path / "v1.db"
    with Journal(path, migrations=MIGRATIONS[:1]) as journal:
        journal.append(sample_records()[2])
    written = export_journal(path, tmp_path / "out", "parquet")
    assert set(written) == set(TABLES)
    tables = load_export(tmp_path / "out", "parquet")
    assert tables["fills"].num_rows == 1 and tables["lp_bars"].num_rows == 0
    with Journal(path, migrations=MIGRATIONS[:1]) as journal:  # the export did not migrate it
        assert journal.schema_version == 1


def test_a_read_only_handle_reads_an_older_schema_without_migrating_or_writing(tmp_path):
    path = tmp_path / "v1.db"
    with Journal(path, migrations=MIGRATIONS[:1]) as journal:
        journal.append(sample_records()[2])
    with Journal(path, read_only=True) as ro:
        assert [f.fill_id for f in ro.read(FillRecord)] == ["f1"]
        assert ro.read(LpBarRecord) == [] and ro.last_ts_ns(LpBarRecord) == 0  # not in a v1 schema
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            ro.append(sample_records()[3])
    with Journal(path, migrations=MIGRATIONS[:1]) as journal:  # still version 1
        assert journal.schema_version == 1
    with pytest.raises(FileNotFoundError):
        Journal(tmp_path / "missing.db", read_only=True)
