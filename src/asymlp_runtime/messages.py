"""Messages exchanged between the runtime processes.

Every message is a frozen, tagged :class:`msgspec.Struct` encoded with msgpack. The tag is
written under the key ``kind`` (``type`` is taken by :attr:`OrderRequest.type`) and holds a
short snake-case name (``"quote"``, ``"order_request"``, ...). Messages are encoded as maps, so
the order of fields on the wire does not matter; new fields are still added last and always
with a default, so an older reader decodes a newer message and vice versa.

Header (on every message, inherited from :class:`Message`)
----------------------------------------------------------
version
    Schema version, :data:`SCHEMA_VERSION` (1). A reader drops any other version.
sender
    Id of the sending process (``"quote_server_binance"``). Set by the publisher.
seq
    Sequence number, monotonic per sender and stream (topic), starting at 1. Set by the
    publisher; gaps, duplicates and reordering are detected from it.
ts_exchange_ns
    Event time at the source (exchange or block time), int64 ns since the Unix epoch;
    0 when there is none.
ts_recv_ns
    Time the sending process received the event from its source, int64 ns; 0 when none.
ts_sent_ns
    Time the message was put on the bus, int64 ns. Set by the publisher.

Units
-----
Prices and quantities are ``float`` (venue units: quote currency per base unit, base units).
Raw on-chain amounts (uint256 token amounts, uint128 liquidity) do not fit msgpack's 64-bit
integers; they travel as **base-10 strings** of the exact integer (``"1000000000000000000"``),
written with :func:`uint_to_wire` and read back with :func:`wire_to_int`.

One union type per socket (:data:`MarketData`, :data:`OrderChannel`, :data:`Reports`,
:data:`Account`, :data:`LpStream`, :data:`RiskStream`, :data:`Control`,
:data:`ControlRequests`, :data:`ControlReplies`) and one reused typed decoder per union
(:func:`decoder_for`). Decoding checks the schema (types, literals); :meth:`Message.validate`
checks what the schema cannot express (NaN or infinite prices, negative quantities, a crossed
book) and raises :class:`MessageValidationError` naming the type and the field.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final, Literal, TypeAlias

import msgspec

__all__ = [
    "SCHEMA_VERSION",
    "MIN_TICK",
    "MAX_TICK",
    "KILL_MAX_POSITION",
    "KILL_MAX_LOSS",
    "KILL_STALE_DATA",
    "KILL_MANUAL",
    "KILL_VENUE_DOWN",
    "MessageValidationError",
    "Message",
    "Quote",
    "Trade",
    "BookTop",
    "OrderRequest",
    "CancelRequest",
    "OrderAck",
    "OrderEvent",
    "Fill",
    "Position",
    "Balance",
    "InventoryDelta",
    "LpAction",
    "RiskState",
    "Heartbeat",
    "Health",
    "Command",
    "CommandAck",
    "MarketData",
    "OrderChannel",
    "Reports",
    "Account",
    "LpStream",
    "RiskStream",
    "Control",
    "ControlRequests",
    "ControlReplies",
    "ALL_MESSAGE_TYPES",
    "ENCODER",
    "encode",
    "decoder_for",
    "uint_to_wire",
    "wire_to_int",
    "reject_for",
    "Side",
    "OrderType",
    "TimeInForce",
    "OrderStatus",
    "Liquidity",
    "LpActionKind",
    "HealthStatus",
    "CommandName",
]

SCHEMA_VERSION: Final[int] = 1
"""Current schema version written in every header."""

# Tick bounds of Uniswap V3: log base 1.0001 of 2**-128 and 2**128, truncated to an integer.
MIN_TICK: Final[int] = -887272
MAX_TICK: Final[int] = 887272

# Kill-switch flags of RiskState.kill_flags (bit constants; 0 = trading allowed).
KILL_MAX_POSITION: Final[int] = 1 << 0
"""The hedge or the residual exceeds the configured maximum position."""
KILL_MAX_LOSS: Final[int] = 1 << 1
"""PnL fell below minus the configured maximum loss."""
KILL_STALE_DATA: Final[int] = 1 << 2
"""Reference quotes or inventory are older than the allowed age."""
KILL_MANUAL: Final[int] = 1 << 3
"""An operator command stopped trading."""
KILL_VENUE_DOWN: Final[int] = 1 << 4
"""The hedge venue is unreachable (circuit breaker open)."""

Side: TypeAlias = Literal["buy", "sell"]
OrderType: TypeAlias = Literal["market", "limit"]
TimeInForce: TypeAlias = Literal["gtc", "ioc", "fok", "post_only"]
OrderStatus: TypeAlias = Literal["new", "partially_filled", "filled", "canceled", "rejected", "expired"]
Liquidity: TypeAlias = Literal["maker", "taker"]
LpActionKind: TypeAlias = Literal["open", "close", "rebalance", "collect"]
HealthStatus: TypeAlias = Literal["starting", "ok", "degraded", "down", "stopped"]
CommandName: TypeAlias = Literal["flatten", "pull_liquidity", "shutdown", "pause", "resume"]

_UINT_RE: Final = re.compile(r"0|[1-9][0-9]*")
_TX_HASH_RE: Final = re.compile(r"0x[0-9a-fA-F]{64}")
_UINT256_MAX: Final[int] = (1 << 256) - 1
_UINT128_MAX: Final[int] = (1 << 128) - 1
_INT64_MAX: Final[int] = (1 << 63) - 1
# Relative slack when comparing a filled quantity with the order quantity (float sums).
_QTY_RTOL: Final[float] = 1e-9


class MessageValidationError(ValueError):
    """A decoded or constructed message breaks a semantic rule.

    Attributes
    ----------
    message_type : str
        Class name of the message (``"Quote"``).
    field : str
        Field (or ``"bid/ask"`` for rules across fields) that broke the rule.
    reason : str
        What is wrong, with the offending number where it is not secret.
    """

    def __init__(self, message_type: str, field: str, reason: str) -> None:
        self.message_type = message_type
        self.field = field
        self.reason = reason
        super().__init__(f"{message_type}.{field}: {reason}")


def uint_to_wire(value: int, bits: int = 256) -> str:
    """Encode an unsigned on-chain integer (uint256 amount, uint128 liquidity) for the wire.

    Parameters
    ----------
    value : int
        Exact integer, ``0 <= value < 2**bits``.
    bits : int
        Width of the Solidity type (256 for token amounts, 128 for liquidity).

    Returns
    -------
    str
        Base-10 digits without sign or leading zeros.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected int, got {type(value).__name__}")
    if value < 0 or value >> bits:
        raise ValueError(f"{value} does not fit uint{bits}")
    return str(value)


def wire_to_int(text: str) -> int:
    """Read back an integer written by :func:`uint_to_wire` (exact, no float on the way)."""
    if not _UINT_RE.fullmatch(text):
        raise ValueError(f"not a base-10 unsigned integer: {text[:80]!r}")
    return int(text)


# --------------------------------------------------------------------------- field checks
def _fail(msg: Message, field: str, reason: str) -> MessageValidationError:
    return MessageValidationError(type(msg).__name__, field, reason)


def _finite(msg: Message, field: str, x: float) -> None:
    if not math.isfinite(x):
        raise _fail(msg, field, f"not finite ({x!r})")


def _positive(msg: Message, field: str, x: float) -> None:
    if not math.isfinite(x) or x <= 0.0:
        raise _fail(msg, field, f"must be finite and > 0, got {x!r}")


def _non_negative(msg: Message, field: str, x: float) -> None:
    if not math.isfinite(x) or x < 0.0:
        raise _fail(msg, field, f"must be finite and >= 0, got {x!r}")


def _non_empty(msg: Message, field: str, s: str) -> None:
    if not s:
        raise _fail(msg, field, "must not be empty")


def _uint_text(msg: Message, field: str, s: str, bits: int) -> None:
    if not _UINT_RE.fullmatch(s):
        raise _fail(msg, field, f"must be base-10 digits of a uint{bits}, got {s[:80]!r}")
    if len(s) > 78 or int(s) >> bits:
        raise _fail(msg, field, f"does not fit uint{bits}")


def _int64_non_negative(msg: Message, field: str, x: int) -> None:
    if x < 0 or x > _INT64_MAX:
        raise _fail(msg, field, f"must be in [0, 2**63), got {x}")


# --------------------------------------------------------------------------- base
class Message(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind", gc=False):
    """Header shared by every message (see the module docstring for the meaning of each field)."""

    version: int = SCHEMA_VERSION
    sender: str = ""
    seq: int = 0
    ts_exchange_ns: int = 0
    ts_recv_ns: int = 0
    ts_sent_ns: int = 0

    def validate(self) -> None:
        """Check the semantic rules msgspec cannot express.

        Raises
        ------
        MessageValidationError
            On the first broken rule, naming the type and the field.
        """
        _int64_non_negative(self, "seq", self.seq)
        _int64_non_negative(self, "ts_exchange_ns", self.ts_exchange_ns)
        _int64_non_negative(self, "ts_recv_ns", self.ts_recv_ns)
        _int64_non_negative(self, "ts_sent_ns", self.ts_sent_ns)
        self._validate_body()

    def _validate_body(self) -> None:  # overridden per type
        return None


# --------------------------------------------------------------------------- market data
class Quote(Message, tag="quote", frozen=True, kw_only=True):
    """Best bid and offer of one instrument on one venue (prices in quote currency)."""

    venue: str
    symbol: str
    bid: float
    ask: float
    bid_size: float
    ask_size: float

    def _validate_body(self) -> None:
        _non_empty(self, "venue", self.venue)
        _non_empty(self, "symbol", self.symbol)
        _positive(self, "bid", self.bid)
        _positive(self, "ask", self.ask)
        _non_negative(self, "bid_size", self.bid_size)
        _non_negative(self, "ask_size", self.ask_size)
        if self.bid >= self.ask:
            raise _fail(self, "bid/ask", f"crossed or locked book: bid {self.bid!r} >= ask {self.ask!r}")

    @property
    def mid(self) -> float:
        """Mid price, (bid + ask) / 2."""
        return 0.5 * (self.bid + self.ask)


class Trade(Message, tag="trade", frozen=True, kw_only=True):
    """One public trade; ``side`` is the aggressor's side."""

    venue: str
    symbol: str
    price: float
    qty: float
    side: Side
    trade_id: str = ""

    def _validate_body(self) -> None:
        _non_empty(self, "venue", self.venue)
        _non_empty(self, "symbol", self.symbol)
        _positive(self, "price", self.price)
        _positive(self, "qty", self.qty)


class BookTop(Message, tag="book_top", frozen=True, kw_only=True):
    """Top ``N`` levels of the book: ``(price, size)`` pairs, best first on each side."""

    venue: str
    symbol: str
    bids: tuple[tuple[float, float], ...]
    asks: tuple[tuple[float, float], ...]

    def _validate_body(self) -> None:
        _non_empty(self, "venue", self.venue)
        _non_empty(self, "symbol", self.symbol)
        for name, levels, sign in (("bids", self.bids, -1.0), ("asks", self.asks, 1.0)):
            previous = math.nan
            for i, (price, size) in enumerate(levels):
                _positive(self, f"{name}[{i}].price", price)
                _positive(self, f"{name}[{i}].size", size)
                if i and (price - previous) * sign <= 0.0:
                    order = "descending" if sign < 0 else "ascending"
                    raise _fail(self, f"{name}[{i}].price", f"levels must be strictly {order}")
                previous = price
        if self.bids and self.asks and self.bids[0][0] >= self.asks[0][0]:
            raise _fail(
                self,
                "bids/asks",
                f"crossed or locked book: bid {self.bids[0][0]!r} >= ask {self.asks[0][0]!r}",
            )


# --------------------------------------------------------------------------- orders
class OrderRequest(Message, tag="order_request", frozen=True, kw_only=True):
    """Place an order. ``price`` is ``None`` for a market order.

    ``client_order_id`` is deterministic (derived from the decision that produced the order), so
    a retried request carries the same id and the venue side de-duplicates it. It is also the
    request id on the acknowledged request path (:attr:`request_id`).
    """

    client_order_id: str
    venue: str
    symbol: str
    side: Side
    qty: float
    price: float | None = None
    type: OrderType = "market"
    time_in_force: TimeInForce = "gtc"
    reduce_only: bool = False
    reason: str = ""

    @property
    def request_id(self) -> str:
        """Key matching this request with its :class:`OrderAck` (the client order id)."""
        return self.client_order_id

    def _validate_body(self) -> None:
        _non_empty(self, "client_order_id", self.client_order_id)
        _non_empty(self, "venue", self.venue)
        _non_empty(self, "symbol", self.symbol)
        _positive(self, "qty", self.qty)
        if self.type == "market":
            if self.price is not None:
                raise _fail(self, "price", "must be None for a market order")
            if self.time_in_force == "post_only":
                raise _fail(self, "time_in_force", "post_only is not allowed on a market order")
        else:
            if self.price is None:
                raise _fail(self, "price", "a limit order needs a price")
            _positive(self, "price", self.price)


class CancelRequest(Message, tag="cancel_request", frozen=True, kw_only=True):
    """Cancel the order with ``client_order_id``; acknowledged under ``"cancel:" + id``."""

    client_order_id: str
    venue: str
    symbol: str
    reason: str = ""

    @property
    def request_id(self) -> str:
        """Key matching this request with its :class:`OrderAck`."""
        return "cancel:" + self.client_order_id

    def _validate_body(self) -> None:
        _non_empty(self, "client_order_id", self.client_order_id)
        _non_empty(self, "venue", self.venue)
        _non_empty(self, "symbol", self.symbol)


class OrderAck(Message, tag="order_ack", frozen=True, kw_only=True):
    """Reply to an :class:`OrderRequest` or :class:`CancelRequest`: accepted or rejected.

    An accepted order request means the order is journaled and sent to the venue; its fate
    follows in :class:`OrderEvent` messages.
    """

    request_id: str
    client_order_id: str
    accepted: bool
    reason: str = ""
    venue_order_id: str | None = None

    def _validate_body(self) -> None:
        _non_empty(self, "request_id", self.request_id)
        _non_empty(self, "client_order_id", self.client_order_id)
        if not self.accepted and not self.reason:
            raise _fail(self, "reason", "a rejection needs a reason")


class OrderEvent(Message, tag="order_event", frozen=True, kw_only=True):
    """A status transition of an order on the venue.

    ``filled_qty`` is cumulative; ``avg_price`` is the volume-weighted fill price so far
    (``None`` before the first fill).
    """

    client_order_id: str
    venue: str
    symbol: str
    side: Side
    status: OrderStatus
    qty: float
    filled_qty: float = 0.0
    avg_price: float | None = None
    venue_order_id: str | None = None
    reason: str = ""

    def _validate_body(self) -> None:
        _non_empty(self, "client_order_id", self.client_order_id)
        _non_empty(self, "venue", self.venue)
        _non_empty(self, "symbol", self.symbol)
        _positive(self, "qty", self.qty)
        _non_negative(self, "filled_qty", self.filled_qty)
        if self.filled_qty > self.qty * (1.0 + _QTY_RTOL):
            raise _fail(self, "filled_qty", f"{self.filled_qty!r} exceeds the order qty {self.qty!r}")
        if self.filled_qty > 0.0:
            if self.avg_price is None:
                raise _fail(self, "avg_price", "required once filled_qty > 0")
            _positive(self, "avg_price", self.avg_price)
        elif self.avg_price is not None:
            _positive(self, "avg_price", self.avg_price)
        if self.status == "partially_filled" and not 0.0 < self.filled_qty:
            raise _fail(self, "filled_qty", "partially_filled needs filled_qty > 0")
        if self.status == "filled" and self.filled_qty <= 0.0:
            raise _fail(self, "filled_qty", "filled needs filled_qty > 0")


class Fill(Message, tag="fill", frozen=True, kw_only=True):
    """One execution. ``fee`` is in ``fee_currency``; negative for a rebate."""

    fill_id: str
    client_order_id: str
    venue: str
    symbol: str
    side: Side
    qty: float
    price: float
    fee: float = 0.0
    fee_currency: str = ""
    liquidity: Liquidity = "taker"
    venue_order_id: str | None = None

    def _validate_body(self) -> None:
        _non_empty(self, "fill_id", self.fill_id)
        _non_empty(self, "client_order_id", self.client_order_id)
        _non_empty(self, "venue", self.venue)
        _non_empty(self, "symbol", self.symbol)
        _positive(self, "qty", self.qty)
        _positive(self, "price", self.price)
        _finite(self, "fee", self.fee)


# --------------------------------------------------------------------------- account
class Position(Message, tag="position", frozen=True, kw_only=True):
    """A derivative position on a venue; ``qty`` is signed (long > 0), in base units."""

    venue: str
    symbol: str
    qty: float
    entry_price: float | None = None
    mark_price: float | None = None
    unrealized_pnl: float = 0.0
    liquidation_price: float | None = None

    def _validate_body(self) -> None:
        _non_empty(self, "venue", self.venue)
        _non_empty(self, "symbol", self.symbol)
        _finite(self, "qty", self.qty)
        _finite(self, "unrealized_pnl", self.unrealized_pnl)
        for name in ("entry_price", "mark_price", "liquidation_price"):
            value = getattr(self, name)
            if value is not None:
                _positive(self, name, value)


class Balance(Message, tag="balance", frozen=True, kw_only=True):
    """Balance of one currency on a venue: ``total = free + used`` (not enforced: venues round)."""

    venue: str
    currency: str
    total: float
    free: float
    used: float = 0.0

    def _validate_body(self) -> None:
        _non_empty(self, "venue", self.venue)
        _non_empty(self, "currency", self.currency)
        _finite(self, "total", self.total)
        _finite(self, "free", self.free)
        _non_negative(self, "used", self.used)


# --------------------------------------------------------------------------- LP
class InventoryDelta(Message, tag="inventory_delta", frozen=True, kw_only=True):
    """Inventory of the LP position, published by ``lp_manager`` after each block that moves it.

    ``amount0_raw``/``amount1_raw`` are the exact token amounts of the position (principal plus
    uncollected fees) in the tokens' smallest units, as base-10 strings (uint256).
    ``amount0``/``amount1`` are the same in whole tokens (float). ``delta0`` is the position's
    delta in token0 units (d value / d price; for a V3 position in range this equals the
    token0 amount); the trader hedges it. ``price`` is token1 per token0 in whole tokens.
    Block time goes in the header's ``ts_exchange_ns``.
    """

    pool_id: str
    block_number: int
    amount0_raw: str
    amount1_raw: str
    amount0: float
    amount1: float
    delta0: float
    price: float
    tick: int = 0

    def _validate_body(self) -> None:
        _non_empty(self, "pool_id", self.pool_id)
        _int64_non_negative(self, "block_number", self.block_number)
        _uint_text(self, "amount0_raw", self.amount0_raw, 256)
        _uint_text(self, "amount1_raw", self.amount1_raw, 256)
        _non_negative(self, "amount0", self.amount0)
        _non_negative(self, "amount1", self.amount1)
        _finite(self, "delta0", self.delta0)
        _positive(self, "price", self.price)
        if not MIN_TICK <= self.tick <= MAX_TICK:
            raise _fail(self, "tick", f"outside [{MIN_TICK}, {MAX_TICK}]: {self.tick}")

    @property
    def amount0_int(self) -> int:
        """Exact token0 amount (smallest units)."""
        return int(self.amount0_raw)

    @property
    def amount1_int(self) -> int:
        """Exact token1 amount (smallest units)."""
        return int(self.amount1_raw)


class LpAction(Message, tag="lp_action", frozen=True, kw_only=True):
    """An action of ``lp_manager`` on the pool.

    ``liquidity`` (uint128) and the amounts (uint256, smallest token units) are base-10
    strings. ``reason`` is a short machine-readable code (``"price_left_band"``,
    ``"inventory_threshold"``, ``"range_stale"``, ``"operator"``). ``tx_hash`` is ``None`` until
    the transaction is sent.
    """

    action: LpActionKind
    pool_id: str
    tick_lower: int
    tick_upper: int
    liquidity: str
    amount0_raw: str
    amount1_raw: str
    reason: str
    tx_hash: str | None = None
    position_id: str | None = None
    block_number: int = 0

    def _validate_body(self) -> None:
        _non_empty(self, "pool_id", self.pool_id)
        _non_empty(self, "reason", self.reason)
        if not MIN_TICK <= self.tick_lower < self.tick_upper <= MAX_TICK:
            raise _fail(
                self,
                "tick_lower/tick_upper",
                f"need {MIN_TICK} <= lower < upper <= {MAX_TICK}, got {self.tick_lower}, {self.tick_upper}",
            )
        _uint_text(self, "liquidity", self.liquidity, 128)
        _uint_text(self, "amount0_raw", self.amount0_raw, 256)
        _uint_text(self, "amount1_raw", self.amount1_raw, 256)
        if self.tx_hash is not None and not _TX_HASH_RE.fullmatch(self.tx_hash):
            raise _fail(self, "tx_hash", "must be 0x followed by 64 hex digits")
        _int64_non_negative(self, "block_number", self.block_number)

    @property
    def liquidity_int(self) -> int:
        """Exact liquidity (uint128)."""
        return int(self.liquidity)


# --------------------------------------------------------------------------- risk and control
class RiskState(Message, tag="risk_state", frozen=True, kw_only=True):
    """The trader's view of risk, in token0 (base) units and quote currency.

    ``residual = lp_delta + hedge_position`` is what is left unhedged. ``kill_flags`` is a bit
    set of the ``KILL_*`` constants; any bit set stops new hedge orders except reductions.
    """

    residual: float
    hedge_position: float
    lp_delta: float
    pnl: float
    kill_flags: int = 0

    def _validate_body(self) -> None:
        for name in ("residual", "hedge_position", "lp_delta", "pnl"):
            _finite(self, name, getattr(self, name))
        if self.kill_flags < 0:
            raise _fail(self, "kill_flags", f"must be >= 0, got {self.kill_flags}")

    @property
    def kill_switch(self) -> bool:
        """True when any kill flag is set."""
        return self.kill_flags != 0


class Heartbeat(Message, tag="heartbeat", frozen=True, kw_only=True):
    """Liveness signal of a process, sent every ``heartbeat_interval_s``."""

    process: str
    pid: int = 0
    uptime_s: float = 0.0

    def _validate_body(self) -> None:
        _non_empty(self, "process", self.process)
        _non_negative(self, "uptime_s", self.uptime_s)


class Health(Message, tag="health", frozen=True, kw_only=True):
    """Health of a process as judged by itself or by the supervisor."""

    process: str
    status: HealthStatus
    detail: str = ""
    last_heartbeat_ns: int = 0

    def _validate_body(self) -> None:
        _non_empty(self, "process", self.process)
        _int64_non_negative(self, "last_heartbeat_ns", self.last_heartbeat_ns)


class Command(Message, tag="command", frozen=True, kw_only=True):
    """An operator or supervisor command to ``target`` (a process name, or ``"all"``)."""

    command_id: str
    command: CommandName
    target: str = "all"
    reason: str = ""

    @property
    def request_id(self) -> str:
        """Key matching this command with its :class:`CommandAck`."""
        return self.command_id

    def _validate_body(self) -> None:
        _non_empty(self, "command_id", self.command_id)
        _non_empty(self, "target", self.target)


class CommandAck(Message, tag="command_ack", frozen=True, kw_only=True):
    """Reply to a :class:`Command` sent over the acknowledged request path."""

    request_id: str
    accepted: bool
    detail: str = ""

    def _validate_body(self) -> None:
        _non_empty(self, "request_id", self.request_id)


# --------------------------------------------------------------------------- unions and codec
MarketData: TypeAlias = Quote | Trade | BookTop
"""Published by ``quote_server``; topics ``quote.<venue>.<SYMBOL>``, ``trade.…``, ``book.…``."""
OrderChannel: TypeAlias = OrderRequest | CancelRequest
"""Requests from the trader to ``trading_engine`` (DEALER -> ROUTER)."""
Reports: TypeAlias = OrderAck | OrderEvent | Fill
"""Replies (acks) and the report stream of ``trading_engine``."""
Account: TypeAlias = Position | Balance
"""Published by ``position_server``."""
LpStream: TypeAlias = InventoryDelta | LpAction
"""Published by ``lp_manager``."""
RiskStream: TypeAlias = RiskState
"""Published by the trader."""
Control: TypeAlias = Heartbeat | Health | Command
"""Control stream of every process (heartbeats, health, broadcast commands)."""
ControlRequests: TypeAlias = Command
"""Commands sent over the acknowledged request path."""
ControlReplies: TypeAlias = CommandAck
"""Replies to :data:`ControlRequests`."""

ALL_MESSAGE_TYPES: Final[tuple[type[Message], ...]] = (
    Quote,
    Trade,
    BookTop,
    OrderRequest,
    CancelRequest,
    OrderAck,
    OrderEvent,
    Fill,
    Position,
    Balance,
    InventoryDelta,
    LpAction,
    RiskState,
    Heartbeat,
    Health,
    Command,
    CommandAck,
)

ENCODER: Final = msgspec.msgpack.Encoder()
"""Shared msgpack encoder (stateless apart from its buffer; one per thread)."""

_DECODERS: dict[Any, msgspec.msgpack.Decoder[Any]] = {}


def encode(message: Message) -> bytes:
    """Encode a message to msgpack bytes with the shared encoder."""
    return ENCODER.encode(message)


def decoder_for(message_type: Any) -> msgspec.msgpack.Decoder[Any]:
    """The reused typed decoder of a socket's union (or single type), created once.

    Parameters
    ----------
    message_type : type or union
        A union alias such as :data:`MarketData`, or one message class.
    """
    decoder = _DECODERS.get(message_type)
    if decoder is None:
        decoder = msgspec.msgpack.Decoder(message_type)
        _DECODERS[message_type] = decoder
    return decoder


def reject_for(request: Message, reason: str) -> Message | None:
    """The rejection reply of a request, or ``None`` if ``request`` is not a request type.

    Used by the request server when a request is invalid or its handler fails.
    """
    match request:
        case OrderRequest() | CancelRequest():
            return OrderAck(
                request_id=request.request_id,
                client_order_id=request.client_order_id,
                accepted=False,
                reason=reason,
            )
        case Command():
            return CommandAck(request_id=request.command_id, accepted=False, detail=reason)
        case _:
            return None
