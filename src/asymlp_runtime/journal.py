"""Append-only journal of trading and LP activity in SQLite (WAL mode).

Every record is written and committed before the caller acknowledges it: ``append_*`` returns the
row id only after the commit. The journal holds orders, order events, fills, position and balance
snapshots, LP actions (start, steps with exact integer token amounts, end), chain transactions and
their receipts, process checkpoints and market data samples.

Durability
----------
The database runs with ``journal_mode=WAL``. ``synchronous=FULL`` (the default) fsyncs the WAL at
every commit, so an acknowledged record survives a process kill *and* a power loss or kernel crash.
``synchronous=NORMAL`` writes the WAL pages with ``write()`` before the commit returns but fsyncs
only at checkpoints: an acknowledged record survives ``kill -9`` of the process (the pages are in
the operating system's cache, which the kernel writes out), not a power loss. Both modes are
exercised under ``kill -9`` in ``tests/test_journal.py``; ``benchmarks/bench_journal.py`` measures
the cost of FULL (one fsync per commit) against NORMAL. On the development VM (shared virtual
disk) a FULL append took 0.2-1.8 ms on average (550-4,700 appends/s, p99 0.4-7.5 ms, depending on
the neighbours' disk load), 6-50 times a NORMAL append (about 35 us, p99 about 0.1 ms).

Event loop
----------
A FULL append blocks for an fsync, too long for an event loop with a 1 ms decision budget: async
processes use :class:`AsyncJournal`, whose single writer thread commits off the loop and groups
the records queued behind a commit into one transaction (one fsync for up to ``max_batch``).
A NORMAL append (~35 us) could run inline, but WAL checkpoints still cost a few ms now and then.

Idempotency
-----------
Each table has a natural unique key (``client_order_id`` for orders, ``(venue, fill_id)`` for fills,
``tx_hash`` for transactions and receipts, ``(action_id, step)`` for LP steps, ...). Appending a
record whose key is already present inserts nothing, returns the existing row id and increments
:attr:`Journal.duplicate_counts`; when the stored content differs from the replayed one (ignoring
``ts_ns``) :attr:`Journal.conflict_counts` is incremented as well, and the stored row wins.

Exact integers
--------------
On-chain quantities (token amounts, liquidity, token ids, wei values) are Python ints stored as
TEXT in decimal so that every value in ``[-2**255, 2**256)`` round-trips exactly.

Schema
------
The ``meta`` table holds ``schema_version``; :data:`MIGRATIONS` lists numbered migrations applied in
order on open. Tables are ``STRICT`` (SQLite >= 3.37), so a column's type is enforced on insert.

Example
-------
>>> with Journal(":memory:") as journal:
...     row = journal.append_fill(FillRecord(venue="paper", fill_id="f1", symbol="ETHUSDT",
...                                          side="buy", qty=1.0, price=3000.0, ts_ns=1))
...     again = journal.append_fill(FillRecord(venue="paper", fill_id="f1", symbol="ETHUSDT",
...                                            side="buy", qty=1.0, price=3000.0, ts_ns=1))
...     (row == again, journal.duplicate_counts["fills"])
(True, 1)
"""

from __future__ import annotations

import asyncio
import math
import queue
import sqlite3
import threading
import time
import typing
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

import msgspec

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "TERMINAL_ORDER_STATUSES",
    "ORDER_STATUSES",
    "POSITION_ZERO_RTOL",
    "AsyncJournal",
    "BalanceSnapshot",
    "CheckpointRecord",
    "FillRecord",
    "FilledQtyDifference",
    "Journal",
    "JournalConflict",
    "JournalSchemaError",
    "JournalState",
    "LpActionEndRecord",
    "LpActionProgress",
    "LpActionRecord",
    "LpBarRecord",
    "LpStepRecord",
    "MarketSampleRecord",
    "Migration",
    "MissingVenueOrder",
    "OrderEventRecord",
    "OrderRecord",
    "OrderState",
    "PositionDifference",
    "PositionSnapshot",
    "PositionState",
    "Reconciliation",
    "Record",
    "TableSpec",
    "TABLES",
    "TxReceiptRecord",
    "TxRecord",
    "UnknownVenueOrder",
    "VenueOrder",
    "VenueSnapshot",
    "apply_fill",
    "rebuild_state",
    "reconcile",
]

# --------------------------------------------------------------------------------------------------
# Records (what callers append; one frozen struct per table)
# --------------------------------------------------------------------------------------------------

Side = Literal["buy", "sell"]

#: Order statuses the journal accepts, in their usual order of occurrence.
ORDER_STATUSES: frozenset[str] = frozenset(
    {"new", "open", "partially_filled", "pending_cancel", "filled", "canceled", "rejected", "expired"}
)
#: Statuses after which an order can no longer fill.
TERMINAL_ORDER_STATUSES: frozenset[str] = frozenset({"filled", "canceled", "rejected", "expired"})
_TX_RECEIPT_STATUSES = frozenset({"success", "reverted", "dropped"})
_LP_STEP_STATUSES = frozenset({"done", "failed"})
_LP_OUTCOMES = frozenset({"completed", "aborted", "failed"})

_UINT256_LIMIT = 1 << 256
_INT256_MIN = -(1 << 255)


class OrderRecord(msgspec.Struct, frozen=True, kw_only=True):
    """An order as submitted (intent). Its lifecycle is recorded by :class:`OrderEventRecord`.

    ``qty`` is in base units (contracts or coins, as the venue counts them), ``price`` in quote per
    base (``None`` for market orders). ``ts_ns`` is the local wall clock in ns since the epoch.
    """

    client_order_id: str
    venue: str
    symbol: str
    side: Side
    order_type: str
    qty: float
    price: float | None = None
    time_in_force: str = "GTC"
    reduce_only: bool = False
    post_only: bool = False
    strategy: str = ""
    ts_ns: int


class OrderEventRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A state transition of an order. ``filled_qty`` is cumulative (base units).

    The unique key is ``(client_order_id, status, filled_qty)``: the same status at the same
    cumulative fill is the same state, so a replayed event is a duplicate.
    """

    client_order_id: str
    venue: str
    status: str
    filled_qty: float = 0.0
    avg_fill_price: float | None = None
    venue_order_id: str = ""
    reason: str = ""
    ts_ns: int


class FillRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One execution. ``qty`` > 0 in base units, ``side`` gives the sign; ``fee`` in ``fee_currency``."""

    venue: str
    fill_id: str
    symbol: str
    side: Side
    qty: float
    price: float
    fee: float = 0.0
    fee_currency: str = ""
    liquidity: str = ""
    client_order_id: str = ""
    venue_order_id: str = ""
    ts_ns: int


class PositionSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """A position as reported by ``source`` (``"venue"`` or ``"journal"``); ``qty`` is signed."""

    venue: str
    symbol: str
    qty: float
    avg_entry_price: float | None = None
    unrealised_pnl: float | None = None
    source: str = "venue"
    ts_ns: int


class BalanceSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """A balance of one asset at one venue (amounts in the asset's units, floats as venues report)."""

    venue: str
    asset: str
    total: float
    free: float | None = None
    used: float | None = None
    ts_ns: int


class LpActionRecord(msgspec.Struct, frozen=True, kw_only=True):
    """Start of a multi-step LP action (e.g. a rebalance: burn, collect, swap, mint).

    ``n_steps`` is the planned number of steps (numbered ``0 .. n_steps-1``); ``params`` is free
    text, conventionally JSON (target ticks, budget, slippage limits).
    """

    action_id: str
    kind: str
    pool: str
    n_steps: int
    params: str = ""
    ts_ns: int


class LpStepRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A finished step of an LP action, with its exact results.

    ``token_id``, ``liquidity``, ``amount0`` and ``amount1`` are raw integers (uint128/uint256 or
    signed int256 deltas, token units without decimals), stored exactly. ``status`` is ``"done"``
    or ``"failed"``; a step whose transaction was sent but not confirmed has no step record yet
    (it shows up as a pending :class:`TxRecord` with the same ``action_id`` and ``step``).
    """

    action_id: str
    step: int
    kind: str
    status: str = "done"
    token_id: int | None = None
    tick_lower: int | None = None
    tick_upper: int | None = None
    liquidity: int | None = None
    amount0: int | None = None
    amount1: int | None = None
    tx_hash: str = ""
    note: str = ""
    ts_ns: int


class LpActionEndRecord(msgspec.Struct, frozen=True, kw_only=True):
    """End of an LP action: ``outcome`` is ``"completed"``, ``"aborted"`` or ``"failed"``."""

    action_id: str
    outcome: str
    note: str = ""
    ts_ns: int


class TxRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A chain transaction at the moment it is sent. Wei amounts are exact ints.

    ``tx_hash`` is ``0x`` + 64 hex digits; it is stored lower-case.
    """

    tx_hash: str
    chain_id: int
    sender: str
    nonce: int
    to: str = ""
    value: int = 0
    gas_limit: int | None = None
    max_fee_per_gas: int | None = None
    max_priority_fee_per_gas: int | None = None
    action_id: str = ""
    step: int | None = None
    ts_ns: int


class TxReceiptRecord(msgspec.Struct, frozen=True, kw_only=True):
    """Outcome of a sent transaction: ``"success"``, ``"reverted"`` or ``"dropped"`` (never mined)."""

    tx_hash: str
    status: str
    block_number: int | None = None
    gas_used: int | None = None
    effective_gas_price: int | None = None
    ts_ns: int


class CheckpointRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A process checkpoint (e.g. last bus sequence seen, last block scanned); ``payload`` is text."""

    process: str
    name: str
    seq: int
    payload: str = ""
    ts_ns: int


class MarketSampleRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A sampled top of book / last price (quote per base)."""

    venue: str
    symbol: str
    bid: float | None = None
    ask: float | None = None
    last: float | None = None
    ts_ns: int


class LpBarRecord(msgspec.Struct, frozen=True, kw_only=True):
    """What the LP manager observed of its pool at one decision (or right after an action step):
    the path a live run is replayed on (:func:`asymlp_core.backtest.replay_lp_path`).

    ``price`` is quote per base (decimals applied); ``liquidity`` is the pool's active liquidity
    (ours included when in range) and ``fee_growth0``/``fee_growth1`` the pool's
    ``feeGrowthGlobal{0,1}X128`` in the base/quote orientation, raw and exact (0 when the backend
    does not read them); ``owed0``/``owed1`` the fees owed to the manager's open position then.
    """

    pool: str
    price: float
    tick: int
    liquidity: int
    fee_growth0: int = 0
    fee_growth1: int = 0
    owed0: int = 0
    owed1: int = 0
    block_number: int = 0
    ts_ns: int


Record = (
    OrderRecord
    | OrderEventRecord
    | FillRecord
    | PositionSnapshot
    | BalanceSnapshot
    | LpActionRecord
    | LpStepRecord
    | LpActionEndRecord
    | TxRecord
    | TxReceiptRecord
    | CheckpointRecord
    | MarketSampleRecord
    | LpBarRecord
)

# --------------------------------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Migration:
    """One schema step: applied once, in a transaction, when ``schema_version < version``."""

    version: int
    description: str
    statements: tuple[str, ...]


_META_DDL = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT"

_V1 = (
    """CREATE TABLE orders (
        id INTEGER PRIMARY KEY,
        client_order_id TEXT NOT NULL,
        venue TEXT NOT NULL,
        symbol TEXT NOT NULL,
        side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
        order_type TEXT NOT NULL,
        qty REAL NOT NULL,
        price REAL,
        time_in_force TEXT NOT NULL,
        reduce_only INTEGER NOT NULL CHECK (reduce_only IN (0, 1)),
        post_only INTEGER NOT NULL CHECK (post_only IN (0, 1)),
        strategy TEXT NOT NULL,
        ts_ns INTEGER NOT NULL,
        UNIQUE (client_order_id)
    ) STRICT""",
    """CREATE TABLE order_events (
        id INTEGER PRIMARY KEY,
        client_order_id TEXT NOT NULL,
        venue TEXT NOT NULL,
        status TEXT NOT NULL,
        filled_qty REAL NOT NULL,
        avg_fill_price REAL,
        venue_order_id TEXT NOT NULL,
        reason TEXT NOT NULL,
        ts_ns INTEGER NOT NULL,
        UNIQUE (client_order_id, status, filled_qty)
    ) STRICT""",
    """CREATE TABLE fills (
        id INTEGER PRIMARY KEY,
        venue TEXT NOT NULL,
        fill_id TEXT NOT NULL,
        symbol TEXT NOT NULL,
        side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
        qty REAL NOT NULL CHECK (qty > 0),
        price REAL NOT NULL,
        fee REAL NOT NULL,
        fee_currency TEXT NOT NULL,
        liquidity TEXT NOT NULL,
        client_order_id TEXT NOT NULL,
        venue_order_id TEXT NOT NULL,
        ts_ns INTEGER NOT NULL,
        UNIQUE (venue, fill_id)
    ) STRICT""",
    """CREATE TABLE positions (
        id INTEGER PRIMARY KEY,
        venue TEXT NOT NULL,
        symbol TEXT NOT NULL,
        qty REAL NOT NULL,
        avg_entry_price REAL,
        unrealised_pnl REAL,
        source TEXT NOT NULL,
        ts_ns INTEGER NOT NULL,
        UNIQUE (venue, symbol, source, ts_ns)
    ) STRICT""",
    """CREATE TABLE balances (
        id INTEGER PRIMARY KEY,
        venue TEXT NOT NULL,
        asset TEXT NOT NULL,
        total REAL NOT NULL,
        free REAL,
        used REAL,
        ts_ns INTEGER NOT NULL,
        UNIQUE (venue, asset, ts_ns)
    ) STRICT""",
    """CREATE TABLE lp_actions (
        id INTEGER PRIMARY KEY,
        action_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        pool TEXT NOT NULL,
        n_steps INTEGER NOT NULL CHECK (n_steps >= 0),
        params TEXT NOT NULL,
        ts_ns INTEGER NOT NULL,
        UNIQUE (action_id)
    ) STRICT""",
    """CREATE TABLE lp_action_steps (
        id INTEGER PRIMARY KEY,
        action_id TEXT NOT NULL,
        step INTEGER NOT NULL CHECK (step >= 0),
        kind TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
        token_id TEXT,
        tick_lower INTEGER,
        tick_upper INTEGER,
        liquidity TEXT,
        amount0 TEXT,
        amount1 TEXT,
        tx_hash TEXT NOT NULL,
        note TEXT NOT NULL,
        ts_ns INTEGER NOT NULL,
        UNIQUE (action_id, step)
    ) STRICT""",
    """CREATE TABLE lp_action_ends (
        id INTEGER PRIMARY KEY,
        action_id TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('completed', 'aborted', 'failed')),
        note TEXT NOT NULL,
        ts_ns INTEGER NOT NULL,
        UNIQUE (action_id)
    ) STRICT""",
    """CREATE TABLE transactions (
        id INTEGER PRIMARY KEY,
        tx_hash TEXT NOT NULL,
        chain_id INTEGER NOT NULL,
        sender TEXT NOT NULL,
        nonce INTEGER NOT NULL CHECK (nonce >= 0),
        "to" TEXT NOT NULL,
        value TEXT NOT NULL,
        gas_limit INTEGER,
        max_fee_per_gas TEXT,
        max_priority_fee_per_gas TEXT,
        action_id TEXT NOT NULL,
        step INTEGER,
        ts_ns INTEGER NOT NULL,
        UNIQUE (tx_hash)
    ) STRICT""",
    """CREATE TABLE tx_receipts (
        id INTEGER PRIMARY KEY,
        tx_hash TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('success', 'reverted', 'dropped')),
        block_number INTEGER,
        gas_used INTEGER,
        effective_gas_price TEXT,
        ts_ns INTEGER NOT NULL,
        UNIQUE (tx_hash)
    ) STRICT""",
    """CREATE TABLE checkpoints (
        id INTEGER PRIMARY KEY,
        process TEXT NOT NULL,
        name TEXT NOT NULL,
        seq INTEGER NOT NULL,
        payload TEXT NOT NULL,
        ts_ns INTEGER NOT NULL,
        UNIQUE (process, name, seq)
    ) STRICT""",
    """CREATE TABLE market_data (
        id INTEGER PRIMARY KEY,
        venue TEXT NOT NULL,
        symbol TEXT NOT NULL,
        bid REAL,
        ask REAL,
        last REAL,
        ts_ns INTEGER NOT NULL,
        UNIQUE (venue, symbol, ts_ns)
    ) STRICT""",
    "CREATE INDEX orders_ts ON orders (ts_ns)",
    "CREATE INDEX order_events_order ON order_events (client_order_id)",
    "CREATE INDEX fills_ts ON fills (ts_ns)",
    "CREATE INDEX fills_symbol ON fills (venue, symbol)",
    "CREATE INDEX positions_ts ON positions (ts_ns)",
    "CREATE INDEX transactions_nonce ON transactions (chain_id, sender, nonce)",
    "CREATE INDEX market_data_ts ON market_data (ts_ns)",
)

#: Numbered migrations, applied in order. Never edit a released entry: append a new one.
_V2 = (
    """CREATE TABLE lp_bars (
        id INTEGER PRIMARY KEY,
        pool TEXT NOT NULL,
        price REAL NOT NULL,
        tick INTEGER NOT NULL,
        liquidity TEXT NOT NULL,
        fee_growth0 TEXT NOT NULL,
        fee_growth1 TEXT NOT NULL,
        owed0 TEXT NOT NULL,
        owed1 TEXT NOT NULL,
        block_number INTEGER NOT NULL,
        ts_ns INTEGER NOT NULL,
        UNIQUE (pool, ts_ns)
    ) STRICT""",
    "CREATE INDEX lp_bars_ts ON lp_bars (ts_ns)",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _V1),
    Migration(2, "lp_bars: the pool path the LP manager observed", _V2),
)
#: The schema version this code writes.
SCHEMA_VERSION: int = MIGRATIONS[-1].version


class JournalSchemaError(RuntimeError):
    """The database's schema version is newer than this code, or the migration list is invalid."""


class JournalConflict(ValueError):
    """Raised by :meth:`Journal.append_many` with ``strict=True`` when a replay differs in content."""


@dataclass(frozen=True)
class TableSpec:
    """How one record type maps to one table.

    Attributes
    ----------
    name : table name.
    record : the msgspec Struct type stored in the table.
    key : the unique key columns (idempotency).
    big_ints : int fields stored as TEXT decimal (exact up to 256 bits).
    columns : the record's fields, in table order (``id`` excluded).
    kinds : column -> one of ``"text"``, ``"real"``, ``"int"``, ``"bool"``, ``"bigint"``.
    nullable : columns that accept ``None``.
    """

    name: str
    record: type
    key: tuple[str, ...]
    big_ints: frozenset[str] = frozenset()
    columns: tuple[str, ...] = ()
    kinds: Mapping[str, str] = field(default_factory=dict)
    nullable: frozenset[str] = frozenset()


def _make_spec(name: str, record: type, key: tuple[str, ...], big_ints: Iterable[str] = ()) -> TableSpec:
    hints = typing.get_type_hints(record)
    big = frozenset(big_ints)
    kinds: dict[str, str] = {}
    nullable: set[str] = set()
    for column in record.__struct_fields__:
        hint = hints[column]
        args = typing.get_args(hint)
        if type(None) in args:
            nullable.add(column)
            hint = next(a for a in args if a is not type(None))
        if column in big:
            kinds[column] = "bigint"
        elif hint is bool:
            kinds[column] = "bool"
        elif hint is int:
            kinds[column] = "int"
        elif hint is float:
            kinds[column] = "real"
        else:  # str and Literal[str, ...]
            kinds[column] = "text"
    return TableSpec(name, record, key, big, tuple(record.__struct_fields__), kinds, frozenset(nullable))


#: Table name -> spec, in export order.
TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        _make_spec("orders", OrderRecord, ("client_order_id",)),
        _make_spec("order_events", OrderEventRecord, ("client_order_id", "status", "filled_qty")),
        _make_spec("fills", FillRecord, ("venue", "fill_id")),
        _make_spec("positions", PositionSnapshot, ("venue", "symbol", "source", "ts_ns")),
        _make_spec("balances", BalanceSnapshot, ("venue", "asset", "ts_ns")),
        _make_spec("lp_actions", LpActionRecord, ("action_id",)),
        _make_spec(
            "lp_action_steps",
            LpStepRecord,
            ("action_id", "step"),
            ("token_id", "liquidity", "amount0", "amount1"),
        ),
        _make_spec("lp_action_ends", LpActionEndRecord, ("action_id",)),
        _make_spec(
            "transactions",
            TxRecord,
            ("tx_hash",),
            ("value", "max_fee_per_gas", "max_priority_fee_per_gas"),
        ),
        _make_spec("tx_receipts", TxReceiptRecord, ("tx_hash",), ("effective_gas_price",)),
        _make_spec("checkpoints", CheckpointRecord, ("process", "name", "seq")),
        _make_spec("market_data", MarketSampleRecord, ("venue", "symbol", "ts_ns")),
        _make_spec(
            "lp_bars", LpBarRecord, ("pool", "ts_ns"), ("liquidity", "fee_growth0", "fee_growth1", "owed0", "owed1")
        ),
    )
}
_SPEC_BY_TYPE: dict[type, TableSpec] = {spec.record: spec for spec in TABLES.values()}

RecordT = TypeVar("RecordT")


def _quote(column: str) -> str:
    return f'"{column}"'


@dataclass(frozen=True)
class _Sql:
    insert: str
    select_by_key: str
    select_all: str


def _build_sql(spec: TableSpec) -> _Sql:
    cols = ", ".join(_quote(c) for c in spec.columns)
    marks = ", ".join("?" for _ in spec.columns)
    key = ", ".join(_quote(c) for c in spec.key)
    where = " AND ".join(f"{_quote(c)} = ?" for c in spec.key)
    return _Sql(
        insert=f"INSERT INTO {spec.name} ({cols}) VALUES ({marks}) ON CONFLICT ({key}) DO NOTHING",
        select_by_key=f"SELECT id, {cols} FROM {spec.name} WHERE {where}",
        select_all=f"SELECT id, {cols} FROM {spec.name}",
    )


_SQL: dict[str, _Sql] = {name: _build_sql(spec) for name, spec in TABLES.items()}

# --------------------------------------------------------------------------------------------------
# Encoding (record <-> row) with validation
# --------------------------------------------------------------------------------------------------


def _encode_bigint(table: str, column: str, value: Any) -> str | None:
    if value is None:
        return None
    if type(value) is not int:
        raise TypeError(f"{table}.{column}: expected an int (exact amount), got {type(value).__name__}")
    if not _INT256_MIN <= value < _UINT256_LIMIT:
        raise ValueError(f"{table}.{column}: {value} is outside [-2**255, 2**256)")
    return str(value)


def _check_finite(table: str, column: str, value: float | None) -> None:
    if value is not None and not math.isfinite(value):
        raise ValueError(f"{table}.{column}: expected a finite number, got {value!r}")


def _normalise_tx_hash(table: str, value: str) -> str:
    text = value.lower()
    if len(text) != 66 or not text.startswith("0x") or any(c not in "0123456789abcdef" for c in text[2:]):
        raise ValueError(f"{table}.tx_hash: expected 0x followed by 64 hex digits, got {value!r}")
    return text


def _validate(spec: TableSpec, record: Any) -> None:
    name = spec.name
    for column, kind in spec.kinds.items():
        value = getattr(record, column)
        if value is None:
            if column not in spec.nullable:
                raise ValueError(f"{name}.{column}: must not be None")
            continue
        if kind == "real":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{name}.{column}: expected a float, got {type(value).__name__}")
            _check_finite(name, column, float(value))
        elif kind == "int":
            if type(value) is not int:
                raise TypeError(f"{name}.{column}: expected an int, got {type(value).__name__}")
        elif kind == "bool":
            if type(value) is not bool:
                raise TypeError(f"{name}.{column}: expected a bool, got {type(value).__name__}")
        elif kind == "text" and not isinstance(value, str):
            raise TypeError(f"{name}.{column}: expected a str, got {type(value).__name__}")
    if hasattr(record, "side") and record.side not in ("buy", "sell"):
        raise ValueError(f"{name}.side: expected 'buy' or 'sell', got {record.side!r}")
    if isinstance(record, OrderEventRecord) and record.status not in ORDER_STATUSES:
        raise ValueError(f"{name}.status: unknown order status {record.status!r}")
    if isinstance(record, FillRecord) and not record.qty > 0:
        raise ValueError(f"{name}.qty: a fill quantity must be > 0, got {record.qty!r}")
    if isinstance(record, OrderRecord) and not record.qty > 0:
        raise ValueError(f"{name}.qty: an order quantity must be > 0, got {record.qty!r}")
    if isinstance(record, TxReceiptRecord) and record.status not in _TX_RECEIPT_STATUSES:
        allowed = sorted(_TX_RECEIPT_STATUSES)
        raise ValueError(f"{name}.status: expected one of {allowed}, got {record.status!r}")
    if isinstance(record, LpStepRecord) and record.status not in _LP_STEP_STATUSES:
        raise ValueError(f"{name}.status: expected 'done' or 'failed', got {record.status!r}")
    if isinstance(record, LpActionEndRecord) and record.outcome not in _LP_OUTCOMES:
        raise ValueError(f"{name}.outcome: expected one of {sorted(_LP_OUTCOMES)}, got {record.outcome!r}")


def _encode(spec: TableSpec, record: Any) -> tuple[Any, ...]:
    _validate(spec, record)
    values: list[Any] = []
    for column in spec.columns:
        value = getattr(record, column)
        kind = spec.kinds[column]
        if kind == "bigint":
            value = _encode_bigint(spec.name, column, value)
        elif kind == "bool":
            value = int(value)
        elif kind == "real" and value is not None:
            value = float(value)
        elif column == "tx_hash" and value:
            value = _normalise_tx_hash(spec.name, value)
        values.append(value)
    return tuple(values)


def _decode(spec: TableSpec, row: Sequence[Any]) -> Any:
    """Row without the id column -> record."""
    kwargs: dict[str, Any] = {}
    for column, value in zip(spec.columns, row, strict=True):
        kind = spec.kinds[column]
        if value is not None:
            if kind == "bigint":
                value = int(value)
            elif kind == "bool":
                value = bool(value)
        kwargs[column] = value
    return spec.record(**kwargs)


def _spec_for(kind: str | type) -> TableSpec:
    if isinstance(kind, str):
        try:
            return TABLES[kind]
        except KeyError:
            raise KeyError(f"unknown journal table {kind!r}; known: {', '.join(TABLES)}") from None
    try:
        return _SPEC_BY_TYPE[kind]
    except KeyError:
        raise TypeError(f"{kind!r} is not a journal record type") from None


# --------------------------------------------------------------------------------------------------
# Journal
# --------------------------------------------------------------------------------------------------

Synchronous = Literal["FULL", "NORMAL", "EXTRA"]


class Journal:
    """A synchronous, thread-safe handle on one journal database.

    Parameters
    ----------
    path : database file (``":memory:"`` for tests). Parent folders are created.
    synchronous : ``"FULL"`` (fsync per commit; survives power loss) or ``"NORMAL"`` (survives a
        process kill, not a power loss); see the module docstring.
    migrations : the migration list (tests pass extended lists); defaults to :data:`MIGRATIONS`.
    busy_timeout_s : how long a write waits for another writer's lock.
    read_only : open an existing database for reading only (reports, exports): nothing is
        migrated or written, and a table that the database's older schema lacks reads as empty.

    Notes
    -----
    One connection, guarded by a lock, so the handle may be shared by threads (e.g. the
    :class:`AsyncJournal` writer thread and a reader); SQLite's WAL lets other processes read
    while this one writes. Each ``append_*`` is one committed transaction.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: Synchronous = "FULL",
        migrations: Sequence[Migration] = MIGRATIONS,
        busy_timeout_s: float = 5.0,
        read_only: bool = False,
    ) -> None:
        if synchronous not in ("FULL", "NORMAL", "EXTRA"):
            raise ValueError(f"synchronous must be 'FULL', 'NORMAL' or 'EXTRA', got {synchronous!r}")
        self.path = str(path)
        self.read_only = read_only
        self.synchronous = synchronous
        self._lock = threading.RLock()
        self.duplicate_counts: Counter[str] = Counter()
        self.conflict_counts: Counter[str] = Counter()
        #: The latest conflicting replays: (table, key values, stored record, replayed record).
        self.recent_conflicts: deque[tuple[str, tuple[Any, ...], Any, Any]] = deque(maxlen=100)
        if read_only:
            if not Path(self.path).exists():
                raise FileNotFoundError(f"journal database not found: {self.path}")
            self._conn = sqlite3.connect(
                f"{Path(self.path).resolve().as_uri()}?mode=ro", uri=True, isolation_level=None,
                check_same_thread=False, timeout=busy_timeout_s,
            )  # fmt: skip
            self._closed = False
            version = _read_schema_version(self._conn)
            if version > len(migrations):
                self.close()
                raise JournalSchemaError(f"{self.path} has schema version {version}; this code knows up to "
                                         f"{len(migrations)}")  # fmt: skip
            self._tables = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            return
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_s
        )
        self._closed = False
        self._tables = None
        mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode != "wal" and self.path != ":memory:":
            raise RuntimeError(f"could not switch {self.path} to WAL mode (got {mode!r})")
        self._conn.execute(f"PRAGMA synchronous={synchronous}")
        self._migrate(migrations)

    # -- lifecycle --------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            if not self._closed:
                self._conn.close()
                self._closed = True

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        """The version recorded in ``meta``."""
        with self._lock:
            return _read_schema_version(self._conn)

    def _migrate(self, migrations: Sequence[Migration]) -> None:
        versions = [m.version for m in migrations]
        if versions != list(range(1, len(versions) + 1)):
            raise JournalSchemaError(f"migrations must be numbered 1..n without gaps, got {versions}")
        with self._lock:
            current = _read_schema_version(self._conn)
            if current > len(migrations):
                raise JournalSchemaError(
                    f"{self.path} has schema version {current}; this code knows up to {len(migrations)}"
                )
            for migration in migrations[current:]:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    self._conn.execute(_META_DDL)
                    for statement in migration.statements:
                        self._conn.execute(statement)
                    self._conn.execute(
                        "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        (str(migration.version),),
                    )
                    self._conn.execute(
                        "INSERT OR IGNORE INTO meta (key, value) VALUES ('created_ns', ?)",
                        (str(time.time_ns()),),
                    )
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise

    # -- writes ------------------------------------------------------------------------------------
    def _insert(self, spec: TableSpec, values: tuple[Any, ...], record: Any) -> tuple[int, bool]:
        """Insert one encoded row (inside or outside a transaction) -> (row id, inserted)."""
        sql = _SQL[spec.name]
        cursor = self._conn.execute(sql.insert, values)
        if cursor.rowcount == 1:
            return int(cursor.lastrowid), True  # type: ignore[arg-type]
        key = tuple(values[spec.columns.index(c)] for c in spec.key)
        row = self._conn.execute(sql.select_by_key, key).fetchone()
        if row is None:  # pragma: no cover - a DO NOTHING without a conflicting row cannot happen
            raise RuntimeError(f"{spec.name}: insert ignored but no row with key {key}")
        stored = tuple(row[1:])
        if _differs(spec, stored, values):
            self.conflict_counts[spec.name] += 1
            self.recent_conflicts.append((spec.name, key, _decode(spec, stored), record))
        self.duplicate_counts[spec.name] += 1
        return int(row[0]), False

    def append(self, record: Record) -> int:
        """Append any record; committed before it returns. Returns the row id.

        A record whose unique key is already present is not inserted: the existing row's id is
        returned and the duplicate is counted in :attr:`duplicate_counts`.
        """
        spec = _spec_for(type(record))
        values = _encode(spec, record)
        with self._lock:
            # A single INSERT in autocommit mode is its own (committed) transaction.
            return self._insert(spec, values, record)[0]

    def append_many(self, records: Iterable[Record], *, strict: bool = False) -> list[int]:
        """Append several records in one transaction (all or nothing, one commit).

        With ``strict=True`` a replay whose content differs from the stored row raises
        :class:`JournalConflict` and nothing is written.
        """
        encoded = [(_spec_for(type(r)), r) for r in records]
        rows = [(spec, _encode(spec, r), r) for spec, r in encoded]
        with self._lock:
            before = sum(self.conflict_counts.values())
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                ids = [self._insert(spec, values, r)[0] for spec, values, r in rows]
                if strict and sum(self.conflict_counts.values()) != before:
                    raise JournalConflict(f"replay differs from the journal: {self.recent_conflicts[-1][:2]}")
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return ids

    def _append_batch_isolated(self, records: Sequence[Any]) -> list[int | BaseException]:
        """One transaction, one commit; a failing record fails alone (savepoint per record)."""
        results: list[int | BaseException] = []
        encoded: list[tuple[TableSpec, tuple[Any, ...]] | BaseException] = []
        for record in records:
            try:
                spec = _spec_for(type(record))
                encoded.append((spec, _encode(spec, record)))
            except Exception as exc:  # noqa: BLE001 - returned to the caller of this record
                encoded.append(exc)
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for item, record in zip(encoded, records, strict=True):
                    if isinstance(item, BaseException):
                        results.append(item)
                        continue
                    self._conn.execute("SAVEPOINT one")
                    try:
                        results.append(self._insert(item[0], item[1], record)[0])
                        self._conn.execute("RELEASE one")
                    except sqlite3.Error as exc:
                        self._conn.execute("ROLLBACK TO one")
                        self._conn.execute("RELEASE one")
                        results.append(exc)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return results

    def append_order(self, record: OrderRecord) -> int:
        """Append an order (unique ``client_order_id``); returns the row id."""
        return self._append_typed(OrderRecord, record)

    def append_order_event(self, record: OrderEventRecord) -> int:
        """Append an order event (unique ``(client_order_id, status, filled_qty)``)."""
        return self._append_typed(OrderEventRecord, record)

    def append_fill(self, record: FillRecord) -> int:
        """Append a fill (unique ``(venue, fill_id)``)."""
        return self._append_typed(FillRecord, record)

    def append_position(self, record: PositionSnapshot) -> int:
        """Append a position snapshot (unique ``(venue, symbol, source, ts_ns)``)."""
        return self._append_typed(PositionSnapshot, record)

    def append_balance(self, record: BalanceSnapshot) -> int:
        """Append a balance snapshot (unique ``(venue, asset, ts_ns)``)."""
        return self._append_typed(BalanceSnapshot, record)

    def append_lp_action(self, record: LpActionRecord) -> int:
        """Append the start of an LP action (unique ``action_id``)."""
        return self._append_typed(LpActionRecord, record)

    def append_lp_step(self, record: LpStepRecord) -> int:
        """Append a finished LP action step (unique ``(action_id, step)``)."""
        return self._append_typed(LpStepRecord, record)

    def append_lp_action_end(self, record: LpActionEndRecord) -> int:
        """Append the end of an LP action (unique ``action_id``)."""
        return self._append_typed(LpActionEndRecord, record)

    def append_transaction(self, record: TxRecord) -> int:
        """Append a sent chain transaction (unique ``tx_hash``)."""
        return self._append_typed(TxRecord, record)

    def append_tx_receipt(self, record: TxReceiptRecord) -> int:
        """Append a transaction's receipt or drop (unique ``tx_hash``)."""
        return self._append_typed(TxReceiptRecord, record)

    def append_checkpoint(self, record: CheckpointRecord) -> int:
        """Append a process checkpoint (unique ``(process, name, seq)``)."""
        return self._append_typed(CheckpointRecord, record)

    def append_market_sample(self, record: MarketSampleRecord) -> int:
        """Append a market data sample (unique ``(venue, symbol, ts_ns)``)."""
        return self._append_typed(MarketSampleRecord, record)

    def append_lp_bar(self, record: LpBarRecord) -> int:
        """Append what the LP manager observed of its pool (unique ``(pool, ts_ns)``)."""
        return self._append_typed(LpBarRecord, record)

    def _append_typed(self, expected: type, record: Any) -> int:
        if type(record) is not expected:
            raise TypeError(f"expected {expected.__name__}, got {type(record).__name__}")
        return self.append(record)

    # -- reads -------------------------------------------------------------------------------------
    def read(
        self,
        kind: str | type[RecordT],
        *,
        since_ns: int | None = None,
        until_ns: int | None = None,
        after_id: int = 0,
    ) -> list[RecordT]:
        """Records of one table in append order, optionally ``since_ns <= ts_ns < until_ns``."""
        return [record for _, record in self.read_with_ids(kind, since_ns=since_ns, until_ns=until_ns,
                                                            after_id=after_id)]

    def read_with_ids(
        self,
        kind: str | type[RecordT],
        *,
        since_ns: int | None = None,
        until_ns: int | None = None,
        after_id: int = 0,
    ) -> list[tuple[int, RecordT]]:
        """``(row id, record)`` pairs of one table in append (id) order."""
        spec = _spec_for(kind)
        if self._tables is not None and spec.name not in self._tables:
            return []  # read-only handle on an older schema without this table
        sql, params = _filtered_select(_SQL[spec.name].select_all, since_ns, until_ns, after_id)
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        return [(int(row[0]), _decode(spec, row[1:])) for row in rows]

    def lookup_id(self, record: Record) -> int | None:
        """Row id of the stored record with the same unique key, or ``None``."""
        spec = _spec_for(type(record))
        values = _encode(spec, record)
        key = tuple(values[spec.columns.index(c)] for c in spec.key)
        with self._lock:
            row = self._conn.execute(_SQL[spec.name].select_by_key, key).fetchone()
        return None if row is None else int(row[0])

    def count(self, kind: str | type) -> int:
        """Number of rows in one table."""
        spec = _spec_for(kind)
        with self._lock:
            return int(self._conn.execute(f"SELECT count(*) FROM {spec.name}").fetchone()[0])

    def last_id(self, kind: str | type) -> int:
        """Row id of the last row of one table (0 when empty)."""
        return self._max(kind, "id")

    def last_ts_ns(self, kind: str | type) -> int:
        """Largest ``ts_ns`` in one table (0 when empty)."""
        return self._max(kind, "ts_ns")

    def _max(self, kind: str | type, column: str) -> int:
        spec = _spec_for(kind)
        if self._tables is not None and spec.name not in self._tables:
            return 0
        with self._lock:
            return int(self._conn.execute(f"SELECT coalesce(max({column}), 0) FROM {spec.name}").fetchone()[0])

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` result (``"ok"`` when the file is sound)."""
        with self._lock:
            return str(self._conn.execute("PRAGMA integrity_check").fetchone()[0])

    def checkpoint_wal(self) -> None:
        """Fold the WAL into the main database file (``PRAGMA wal_checkpoint(TRUNCATE)``)."""
        with self._lock:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


def _read_schema_version(conn: sqlite3.Connection) -> int:
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
    if exists is None:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return 0 if row is None else int(row[0])


def _filtered_select(
    base: str, since_ns: int | None, until_ns: int | None, after_id: int = 0
) -> tuple[str, tuple[Any, ...]]:
    clauses = ["id > ?"]
    params: list[Any] = [after_id]
    if since_ns is not None:
        clauses.append("ts_ns >= ?")
        params.append(int(since_ns))
    if until_ns is not None:
        clauses.append("ts_ns < ?")
        params.append(int(until_ns))
    return f"{base} WHERE {' AND '.join(clauses)} ORDER BY id", tuple(params)


def _differs(spec: TableSpec, stored: Sequence[Any], values: Sequence[Any]) -> bool:
    for column, old, new in zip(spec.columns, stored, values, strict=True):
        if column == "ts_ns" and column not in spec.key:
            continue
        if old != new:
            return True
    return False


# --------------------------------------------------------------------------------------------------
# Asyncio wrapper: one writer thread, group commit
# --------------------------------------------------------------------------------------------------

_STOP = object()


class AsyncJournal:
    """Asyncio front of a :class:`Journal`: writes run in one writer thread, off the event loop.

    ``await journal.append(record)`` returns the row id after the record's transaction has
    committed. Records queued while a commit is in progress are committed together in the next
    transaction (group commit, up to ``max_batch`` records), so under load one fsync serves many
    records; each record still gets its own result (a failing record fails alone).

    Parameters
    ----------
    journal : the synchronous journal to write through (the wrapper closes it on :meth:`close`).
    max_batch : most records per transaction.
    """

    def __init__(self, journal: Journal, *, max_batch: int = 256) -> None:
        self.journal = journal
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="journal-writer", daemon=True)
        self._closed = False
        self.batches = 0
        self._thread.start()

    @classmethod
    def open(cls, path: str | Path, **kwargs: Any) -> AsyncJournal:
        """Open a :class:`Journal` at ``path`` (keyword arguments go to it) and wrap it."""
        max_batch = kwargs.pop("max_batch", 256)
        return cls(Journal(path, **kwargs), max_batch=max_batch)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [item]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                batch.append(nxt)
            records = [record for record, _, _ in batch]
            try:
                results: list[Any] = self.journal._append_batch_isolated(records)
            except BaseException as exc:  # noqa: BLE001 - the whole transaction failed
                results = [exc] * len(batch)
            self.batches += 1
            by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[int], Any]]] = {}
            for (_, future, loop), result in zip(batch, results, strict=True):
                by_loop.setdefault(loop, []).append((future, result))
            for loop, pairs in by_loop.items():
                try:
                    loop.call_soon_threadsafe(_resolve, pairs)
                except RuntimeError:  # the loop is closed: nobody awaits these results any more
                    pass
            if stop:
                return

    async def append(self, record: Record) -> int:
        """Queue one record for the writer thread; returns its row id once committed."""
        if self._closed:
            raise RuntimeError("AsyncJournal is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        self._queue.put((record, future, loop))
        return await future

    async def append_many(self, records: Sequence[Record]) -> list[int]:
        """Queue several records; returns their row ids (each may raise its own error)."""
        return list(await asyncio.gather(*(self.append(r) for r in records)))

    async def read(self, kind: str | type[RecordT], **kwargs: Any) -> list[RecordT]:
        """:meth:`Journal.read` in a worker thread."""
        return await asyncio.to_thread(self.journal.read, kind, **kwargs)

    async def rebuild_state(self) -> JournalState:
        """:func:`rebuild_state` in a worker thread."""
        return await asyncio.to_thread(rebuild_state, self.journal)

    async def close(self) -> None:
        """Flush queued records, stop the writer thread and close the journal."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        await asyncio.to_thread(self._thread.join)
        self.journal.close()


def _resolve(pairs: list[tuple[asyncio.Future[int], Any]]) -> None:
    for future, result in pairs:
        if future.done():  # the awaiting task was cancelled; the record is committed regardless
            continue
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)


# --------------------------------------------------------------------------------------------------
# Recovery: state from the journal
# --------------------------------------------------------------------------------------------------

#: Relative size under which a position is treated as flat (float residue of offsetting fills).
POSITION_ZERO_RTOL = 1e-9


@dataclass(frozen=True)
class PositionState:
    """A position derived from fills.

    Average-entry convention (average cost, as futures venues report "entry price"): a fill that
    increases the position sets ``avg = (|qty_old| * avg + fill_qty * price) / |qty_new|``; a fill
    that reduces it realises ``(price - avg) * closed_qty * sign(position)`` and leaves the average
    unchanged (so it is *not* the VWAP of all buys: sold units leave at the average). A fill that
    crosses zero closes the whole position (realising its PnL) and opens the remainder at the fill
    price: the average resets. A flat position has ``avg_entry_price = 0.0``. Fees are not in
    ``realised_pnl``; they are summed in ``fees`` (in the fills' fee currency, usually the quote).
    """

    venue: str
    symbol: str
    qty: float = 0.0
    avg_entry_price: float = 0.0
    realised_pnl: float = 0.0
    fees: float = 0.0
    n_fills: int = 0
    last_fill_ts_ns: int = 0
    last_snapshot: PositionSnapshot | None = None


def apply_fill(position: PositionState, side: str, qty: float, price: float, fee: float = 0.0,
               ts_ns: int = 0) -> PositionState:
    """Position after one fill (pure; see :class:`PositionState` for the convention).

    Parameters
    ----------
    position : the position before the fill.
    side : ``"buy"`` or ``"sell"``.
    qty : fill quantity, > 0, base units.
    price : fill price, quote per base.
    fee : fee paid (added to ``fees``).
    ts_ns : fill time, kept as ``last_fill_ts_ns``.
    """
    if side not in ("buy", "sell"):
        raise ValueError(f"side must be 'buy' or 'sell', got {side!r}")
    if not qty > 0:
        raise ValueError(f"fill qty must be > 0, got {qty!r}")
    signed = qty if side == "buy" else -qty
    old = position.qty
    avg = position.avg_entry_price
    realised = position.realised_pnl
    if old == 0.0 or (old > 0) == (signed > 0):
        new = old + signed
        avg = (abs(old) * avg + qty * price) / abs(new)
    else:
        closed = min(abs(old), qty)
        direction = 1.0 if old > 0 else -1.0
        realised += (price - avg) * closed * direction
        new = old + signed
        if abs(new) <= POSITION_ZERO_RTOL * max(abs(old), qty):
            new, avg = 0.0, 0.0
        elif (new > 0) != (old > 0):  # crossed zero: the remainder opens at the fill price
            avg = price
    return replace(
        position,
        qty=new,
        avg_entry_price=avg,
        realised_pnl=realised,
        fees=position.fees + fee,
        n_fills=position.n_fills + 1,
        last_fill_ts_ns=max(position.last_fill_ts_ns, ts_ns),
    )


@dataclass(frozen=True)
class OrderState:
    """An order and where its lifecycle stands according to the journal.

    ``order`` is ``None`` when the journal holds events for an order whose submission it never
    recorded (kept so that reconciliation can still see it).
    """

    client_order_id: str
    venue: str
    order: OrderRecord | None
    status: str
    filled_qty: float
    venue_order_id: str = ""

    @property
    def is_open(self) -> bool:
        """True while the order can still fill (status not terminal)."""
        return self.status not in TERMINAL_ORDER_STATUSES


@dataclass(frozen=True)
class LpActionProgress:
    """An LP action that started and has not ended: where to resume.

    ``next_step`` is the lowest step number without a ``done`` record; ``pending_transactions``
    are transactions of this action that were sent and have no receipt yet (check them on chain
    before re-sending a step).
    """

    action: LpActionRecord
    steps: tuple[LpStepRecord, ...]
    pending_transactions: tuple[TxRecord, ...]
    next_step: int


@dataclass(frozen=True)
class JournalState:
    """Everything a restarting process needs from the journal."""

    orders: dict[str, OrderState]
    positions: dict[tuple[str, str], PositionState]
    balances: dict[tuple[str, str], BalanceSnapshot]
    lp_actions_in_progress: dict[str, LpActionProgress]
    pending_transactions: dict[str, TxRecord]
    checkpoints: dict[tuple[str, str], CheckpointRecord]
    last_row_ids: dict[str, int]

    @property
    def open_orders(self) -> dict[str, OrderState]:
        """Orders that are not terminal, by client order id."""
        return {cid: state for cid, state in self.orders.items() if state.is_open}


#: Tables of observations, not state: :func:`rebuild_state` does not replay them.
_OBSERVATION_TABLES = ("market_data", "lp_bars")


def rebuild_state(journal: Journal) -> JournalState:
    """Replay the journal into a :class:`JournalState`.

    - Orders: the status is the latest event's, except that a terminal status, once seen, sticks
      (a late ``open`` replayed after ``filled`` does not reopen an order), and an order whose
      journaled fills add up to its quantity is ``filled`` even without the event.
    - Positions: per ``(venue, symbol)``, fills applied in append order with :func:`apply_fill`;
      the latest ``source="venue"`` snapshot is attached for reconciliation.
    - LP actions in progress: started, no end record.
    - Pending transactions: sent, no receipt, and no other transaction with the same
      ``(chain_id, sender, nonce)`` has been mined (that nonce is used up).
    - Checkpoints: the highest ``seq`` per ``(process, name)``.
    """
    # observation tables (market samples, the LP's pool path) grow with time and hold no state:
    # only their last row id is needed
    tables = {name: journal.read_with_ids(name) for name in TABLES if name not in _OBSERVATION_TABLES}
    last_ids = {name: (rows[-1][0] if rows else 0) for name, rows in tables.items()}
    last_ids.update({name: journal.last_id(name) for name in _OBSERVATION_TABLES})

    # Orders
    orders: dict[str, OrderState] = {}
    for _, order in tables["orders"]:
        orders[order.client_order_id] = OrderState(order.client_order_id, order.venue, order, "new", 0.0)
    for _, event in tables["order_events"]:
        state = orders.get(event.client_order_id)
        if state is None:
            state = OrderState(event.client_order_id, event.venue, None, "new", 0.0)
        if state.status in TERMINAL_ORDER_STATUSES and event.status not in TERMINAL_ORDER_STATUSES:
            status = state.status
        else:
            status = event.status
        orders[event.client_order_id] = replace(
            state,
            status=status,
            filled_qty=max(state.filled_qty, event.filled_qty),
            venue_order_id=event.venue_order_id or state.venue_order_id,
        )
    filled_by_order: Counter[str] = Counter()
    for _, fill in tables["fills"]:
        if fill.client_order_id:
            filled_by_order[fill.client_order_id] += fill.qty
    for cid, filled in filled_by_order.items():
        state = orders.get(cid)
        if state is None:
            continue
        filled_qty = max(state.filled_qty, filled)
        status = state.status
        if (
            state.is_open
            and state.order is not None
            and filled_qty >= state.order.qty * (1.0 - POSITION_ZERO_RTOL)
        ):
            status = "filled"
        orders[cid] = replace(state, status=status, filled_qty=filled_qty)

    # Positions
    positions: dict[tuple[str, str], PositionState] = {}
    for _, fill in tables["fills"]:
        key = (fill.venue, fill.symbol)
        position = positions.get(key) or PositionState(venue=fill.venue, symbol=fill.symbol)
        positions[key] = apply_fill(position, fill.side, fill.qty, fill.price, fill.fee, fill.ts_ns)
    for _, snapshot in tables["positions"]:
        if snapshot.source != "venue":
            continue
        key = (snapshot.venue, snapshot.symbol)
        position = positions.get(key) or PositionState(venue=snapshot.venue, symbol=snapshot.symbol)
        previous = position.last_snapshot
        if previous is None or snapshot.ts_ns >= previous.ts_ns:
            positions[key] = replace(position, last_snapshot=snapshot)

    balances: dict[tuple[str, str], BalanceSnapshot] = {}
    for _, balance in tables["balances"]:
        key = (balance.venue, balance.asset)
        if key not in balances or balance.ts_ns >= balances[key].ts_ns:
            balances[key] = balance

    # Transactions
    receipts = {receipt.tx_hash: receipt for _, receipt in tables["tx_receipts"]}
    used_nonces = {
        (tx.chain_id, tx.sender.lower(), tx.nonce)
        for _, tx in tables["transactions"]
        if tx.tx_hash in receipts and receipts[tx.tx_hash].status in ("success", "reverted")
    }
    pending = {
        tx.tx_hash: tx
        for _, tx in tables["transactions"]
        if tx.tx_hash not in receipts and (tx.chain_id, tx.sender.lower(), tx.nonce) not in used_nonces
    }

    # LP actions
    ended = {end.action_id for _, end in tables["lp_action_ends"]}
    steps_by_action: dict[str, list[LpStepRecord]] = {}
    for _, step in tables["lp_action_steps"]:
        steps_by_action.setdefault(step.action_id, []).append(step)
    in_progress: dict[str, LpActionProgress] = {}
    for _, action in tables["lp_actions"]:
        if action.action_id in ended:
            continue
        steps = tuple(sorted(steps_by_action.get(action.action_id, []), key=lambda s: s.step))
        done = {s.step for s in steps if s.status == "done"}
        next_step = 0
        while next_step in done:
            next_step += 1
        txs = tuple(tx for tx in pending.values() if tx.action_id == action.action_id)
        in_progress[action.action_id] = LpActionProgress(action, steps, txs, next_step)

    checkpoints: dict[tuple[str, str], CheckpointRecord] = {}
    for _, checkpoint in tables["checkpoints"]:
        key = (checkpoint.process, checkpoint.name)
        if key not in checkpoints or checkpoint.seq >= checkpoints[key].seq:
            checkpoints[key] = checkpoint

    return JournalState(
        orders=orders,
        positions=positions,
        balances=balances,
        lp_actions_in_progress=in_progress,
        pending_transactions=pending,
        checkpoints=checkpoints,
        last_row_ids=last_ids,
    )


# --------------------------------------------------------------------------------------------------
# Reconciliation against what a venue reports
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VenueOrder:
    """An order the venue reports as open (plain data from the venue adapter)."""

    client_order_id: str
    venue_order_id: str = ""
    symbol: str = ""
    side: str = ""
    qty: float = 0.0
    filled_qty: float = 0.0


@dataclass(frozen=True)
class VenueSnapshot:
    """What one venue reports: signed positions by symbol and its open orders."""

    venue: str
    positions: Mapping[str, float]
    open_orders: Sequence[VenueOrder] = ()
    ts_ns: int = 0


@dataclass(frozen=True)
class PositionDifference:
    """Journal and venue disagree on a position; ``missing_qty`` = venue - journal (signed).

    A positive ``missing_qty`` means buys (or fewer sells) the journal has not seen.
    """

    venue: str
    symbol: str
    journal_qty: float
    venue_qty: float

    @property
    def missing_qty(self) -> float:
        """Signed quantity of fills the journal lacks (venue minus journal)."""
        return self.venue_qty - self.journal_qty


@dataclass(frozen=True)
class UnknownVenueOrder:
    """An order open on the venue that the journal does not hold as open.

    ``journal_status`` is ``None`` when the journal never saw the order, otherwise the terminal
    status the journal recorded for it.
    """

    order: VenueOrder
    journal_status: str | None


@dataclass(frozen=True)
class MissingVenueOrder:
    """An order the journal holds as open that the venue does not report (filled or cancelled
    while the process was down, or never reached the venue)."""

    state: OrderState


@dataclass(frozen=True)
class FilledQtyDifference:
    """An order open on both sides whose cumulative filled quantity differs."""

    client_order_id: str
    journal_filled_qty: float
    venue_filled_qty: float


@dataclass(frozen=True)
class Reconciliation:
    """Differences between the journal and one venue; empty tuples mean they agree."""

    venue: str
    position_differences: tuple[PositionDifference, ...]
    unknown_venue_orders: tuple[UnknownVenueOrder, ...]
    orders_missing_on_venue: tuple[MissingVenueOrder, ...]
    filled_qty_differences: tuple[FilledQtyDifference, ...] = ()

    @property
    def is_clean(self) -> bool:
        """True when nothing differs."""
        return not (
            self.position_differences
            or self.unknown_venue_orders
            or self.orders_missing_on_venue
            or self.filled_qty_differences
        )


def _qty_close(a: float, b: float, abs_tol: float, rel_tol: float) -> bool:
    return math.isclose(a, b, rel_tol=rel_tol, abs_tol=abs_tol)


def reconcile(
    state: JournalState,
    snapshot: VenueSnapshot,
    *,
    qty_abs_tol: float = 1e-9,
    qty_rel_tol: float = 1e-9,
) -> Reconciliation:
    """Compare the journal's view of one venue with what the venue reports.

    Parameters
    ----------
    state : from :func:`rebuild_state`.
    snapshot : the venue's positions (signed, by symbol; a missing symbol is flat) and open orders.
    qty_abs_tol, qty_rel_tol : float quantities within these tolerances are equal.

    Returns
    -------
    Reconciliation
        Position differences (fills the journal lacks), orders open on the venue the journal
        does not hold as open, orders the journal holds as open that the venue does not report,
        and open orders whose filled quantities differ. Orders are matched by client order id,
        then by venue order id.
    """
    venue = snapshot.venue
    journal_positions = {sym: p.qty for (v, sym), p in state.positions.items() if v == venue}
    differences = []
    for symbol in sorted(set(journal_positions) | set(snapshot.positions)):
        j = journal_positions.get(symbol, 0.0)
        v = float(snapshot.positions.get(symbol, 0.0))
        if not _qty_close(j, v, qty_abs_tol, qty_rel_tol):
            differences.append(PositionDifference(venue, symbol, j, v))

    journal_open = {cid: s for cid, s in state.open_orders.items() if s.venue == venue}
    by_venue_id = {s.venue_order_id: cid for cid, s in state.orders.items() if s.venue_order_id}
    matched: set[str] = set()
    unknown = []
    filled_diffs = []
    for order in snapshot.open_orders:
        cid = order.client_order_id if order.client_order_id in state.orders else None
        if cid is None and order.venue_order_id:
            cid = by_venue_id.get(order.venue_order_id)
        if cid is None:
            unknown.append(UnknownVenueOrder(order, None))
            continue
        if cid not in journal_open:
            unknown.append(UnknownVenueOrder(order, state.orders[cid].status))
            continue
        matched.add(cid)
        journal_filled = journal_open[cid].filled_qty
        if not _qty_close(journal_filled, order.filled_qty, qty_abs_tol, qty_rel_tol):
            filled_diffs.append(FilledQtyDifference(cid, journal_filled, order.filled_qty))
    missing = [MissingVenueOrder(s) for cid, s in journal_open.items() if cid not in matched]
    return Reconciliation(
        venue=venue,
        position_differences=tuple(differences),
        unknown_venue_orders=tuple(unknown),
        orders_missing_on_venue=tuple(missing),
        filled_qty_differences=tuple(filled_diffs),
    )

