"""The venue interface and the small types at the venue edge.

A venue is anything that trades one account on one exchange: the paper venue
(:mod:`asymlp_runtime.venues.paper`) or a ccxt adapter
(:mod:`asymlp_runtime.venues.ccxt_adapter`). The process layer converts these types into bus
messages; nothing here knows about ZeroMQ or the journal.

Units
-----
- ``qty`` is in the venue's amount unit (the unit ccxt calls "amount"): the base coin for linear
  contracts (binance USD-M ``ETHUSDT``: ETH), USD for deribit's inverse perpetuals
  (``ETH-PERPETUAL``). :class:`MarketRules` carries ``contract_size`` and ``inverse`` so that the
  hedge layer can convert exposure into that unit.
- Prices are quote currency per base unit (USDT or USD per ETH).
- Timestamps are integer nanoseconds since the Unix epoch (``ts_exchange_ns`` from the venue,
  ``ts_recv_ns`` when we received it; 0 when unknown).

Idempotent orders
-----------------
Client order ids come from :func:`make_client_order_id`: a stable hash of the decision that
produced the order, so that a retried request carries the same id. Every implementation of
:meth:`Venue.create_order` must return the existing order when an order with that id already
exists (on a duplicate-id rejection, or when a timed-out request did reach the venue) instead of
placing a second one.
"""

from __future__ import annotations

import abc
import enum
import hashlib
import math
import re
from collections.abc import AsyncIterator
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

import msgspec

from asymlp_runtime.venues.errors import InvalidOrder

__all__ = [
    "CLIENT_ORDER_ID_RULES",
    "BookTop",
    "ClientOrderIdRule",
    "Liquidity",
    "MarketRules",
    "OrderStatus",
    "OrderType",
    "Side",
    "Ticker",
    "TimeInForce",
    "TradePrint",
    "Venue",
    "VenueBalance",
    "VenueFill",
    "VenueOrder",
    "VenueOrderRequest",
    "VenuePosition",
    "make_client_order_id",
]


# --------------------------------------------------------------------------------------------
# enums
# --------------------------------------------------------------------------------------------
class Side(enum.StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell."""
        return 1 if self is Side.BUY else -1


class OrderType(enum.StrEnum):
    MARKET = "market"
    LIMIT = "limit"


class TimeInForce(enum.StrEnum):
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"


class OrderStatus(enum.StrEnum):
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        return self not in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)


class Liquidity(enum.StrEnum):
    MAKER = "maker"
    TAKER = "taker"


# --------------------------------------------------------------------------------------------
# structs at the venue edge
# --------------------------------------------------------------------------------------------
class VenueOrderRequest(msgspec.Struct, frozen=True, kw_only=True):
    """An order as the trader asks for it (already rounded to the market's rules)."""

    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    qty: float
    price: float | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    reduce_only: bool = False


class VenueOrder(msgspec.Struct, frozen=True, kw_only=True):
    """An order's state as the venue reports it."""

    client_order_id: str
    venue_order_id: str
    symbol: str
    side: Side
    type: OrderType
    qty: float
    price: float | None
    status: OrderStatus
    filled_qty: float = 0.0
    avg_fill_price: float | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    reduce_only: bool = False
    ts_exchange_ns: int = 0
    ts_recv_ns: int = 0
    reject_reason: str = ""


class VenueFill(msgspec.Struct, frozen=True, kw_only=True):
    """One execution of one of our orders. ``fee`` is positive when paid, negative for a rebate."""

    fill_id: str
    client_order_id: str
    venue_order_id: str
    symbol: str
    side: Side
    qty: float
    price: float
    fee: float
    fee_currency: str
    liquidity: Liquidity
    ts_exchange_ns: int = 0
    ts_recv_ns: int = 0


class VenuePosition(msgspec.Struct, frozen=True, kw_only=True):
    """A position: ``qty`` signed (long > 0), average ``entry_price``, realised PnL in quote/settle."""

    symbol: str
    qty: float
    entry_price: float
    realized_pnl: float = 0.0
    unrealized_pnl: float = 0.0
    mark_price: float | None = None
    ts_exchange_ns: int = 0
    ts_recv_ns: int = 0


class VenueBalance(msgspec.Struct, frozen=True, kw_only=True):
    """A currency balance: ``total = free + used``."""

    currency: str
    total: float
    free: float
    used: float = 0.0
    ts_exchange_ns: int = 0
    ts_recv_ns: int = 0


class BookTop(msgspec.Struct, frozen=True, kw_only=True):
    """Best bid and ask with their sizes."""

    symbol: str
    bid_price: float
    bid_qty: float
    ask_price: float
    ask_qty: float
    ts_exchange_ns: int = 0
    ts_recv_ns: int = 0

    @property
    def mid(self) -> float:
        return 0.5 * (self.bid_price + self.ask_price)


class TradePrint(msgspec.Struct, frozen=True, kw_only=True):
    """A public trade; ``side`` is the aggressor's side."""

    symbol: str
    trade_id: str
    price: float
    qty: float
    side: Side
    ts_exchange_ns: int = 0
    ts_recv_ns: int = 0


class Ticker(msgspec.Struct, frozen=True, kw_only=True):
    """Last price with the best bid/ask (and mark price where the venue has one)."""

    symbol: str
    last: float | None
    bid: float | None
    ask: float | None
    mark: float | None = None
    ts_exchange_ns: int = 0
    ts_recv_ns: int = 0


# --------------------------------------------------------------------------------------------
# market rules
# --------------------------------------------------------------------------------------------
def _dec(x: float) -> Decimal:
    return Decimal(repr(float(x)))


def _quantize_to_step(value: float, step: float, rounding: str) -> float:
    """``value`` rounded to a multiple of ``step`` in decimal arithmetic (no binary drift)."""
    if step <= 0:
        return float(value)
    v, s = _dec(value), _dec(step)
    n = (v / s).to_integral_value(rounding=rounding)
    return float(n * s)


def _is_multiple(value: float, step: float) -> bool:
    if step <= 0:
        return True
    v, s = _dec(value), _dec(step)
    return (v % s) == 0


class MarketRules(msgspec.Struct, frozen=True, kw_only=True):
    """Trading rules of one instrument.

    Attributes
    ----------
    symbol : str
        Unified symbol (ccxt style, e.g. ``ETH/USDT:USDT``).
    venue_symbol : str
        The exchange's id (``ETHUSDT``, ``ETH-PERPETUAL``, ``ETH_USDT_Perp``).
    min_qty, qty_step : float
        Smallest amount and amount increment (venue amount unit).
    price_tick : float
        Price increment.
    contract_size : float
        Base (linear) or quote (inverse) per contract unit.
    min_notional : float
        Smallest price * qty (quote), 0 when the venue has no such rule.
    inverse : bool
        True for inverse contracts (amount in USD, PnL in the base coin).
    """

    symbol: str
    venue_symbol: str
    base: str
    quote: str
    settle: str
    min_qty: float
    qty_step: float
    price_tick: float
    contract_size: float = 1.0
    min_notional: float = 0.0
    max_qty: float = math.inf
    inverse: bool = False
    maker_fee: float = 0.0002
    taker_fee: float = 0.0005

    def round_qty(self, qty: float) -> float:
        """``qty`` rounded toward zero to a multiple of ``qty_step`` (never more than asked)."""
        sign = -1.0 if qty < 0 else 1.0
        return sign * _quantize_to_step(abs(qty), self.qty_step, ROUND_FLOOR)

    def snap_qty(self, qty: float) -> float:
        """``qty`` to the nearest multiple of ``qty_step`` (for sums of already-valid amounts)."""
        sign = -1.0 if qty < 0 else 1.0
        return sign * _quantize_to_step(abs(qty), self.qty_step, ROUND_HALF_EVEN)

    def round_price(self, price: float, side: Side | None = None) -> float:
        """``price`` on the tick grid: down for a buy, up for a sell (never more aggressive than
        asked), to the nearest tick when no side is given."""
        if side is Side.BUY:
            rounding = ROUND_FLOOR
        elif side is Side.SELL:
            rounding = ROUND_CEILING
        else:
            rounding = ROUND_HALF_EVEN
        return _quantize_to_step(price, self.price_tick, rounding)

    def validate(self, req: VenueOrderRequest, *, reference_price: float | None = None) -> None:
        """Raise :class:`InvalidOrder` (with the binance USD-M code and wording) when ``req`` breaks
        a rule: non-positive, below minimum, above maximum, off the step or tick, below the
        minimum notional (``reference_price`` stands in for a market order's price)."""
        venue = ""
        if not (req.qty > 0) or not math.isfinite(req.qty):
            raise InvalidOrder("Quantity less than or equal to zero.", venue=venue, code="-4003")
        if req.qty < self.min_qty:
            raise InvalidOrder(
                f"Quantity less than min quantity ({req.qty} < {self.min_qty}).", venue=venue, code="-4004"
            )
        if req.qty > self.max_qty:
            raise InvalidOrder(
                f"Quantity greater than max quantity ({req.qty} > {self.max_qty}).", venue=venue, code="-4005"
            )
        if not _is_multiple(req.qty, self.qty_step):
            raise InvalidOrder(
                f"Qty not increased by step size ({req.qty} vs step {self.qty_step}).",
                venue=venue,
                code="-4023",
            )
        if req.type is OrderType.LIMIT:
            if req.price is None or not (req.price > 0) or not math.isfinite(req.price):
                raise InvalidOrder("Price less than or equal to zero.", venue=venue, code="-4015")
            if not _is_multiple(req.price, self.price_tick):
                raise InvalidOrder(
                    f"Price not increased by tick size ({req.price} vs tick {self.price_tick}).",
                    venue=venue,
                    code="-4014",
                )
        price = req.price if req.price is not None else reference_price
        if self.min_notional > 0 and price is not None and not req.reduce_only:
            notional = req.qty if self.inverse else req.qty * price * self.contract_size
            if notional < self.min_notional:
                raise InvalidOrder(
                    f"Order's notional must be no smaller than {self.min_notional:g} "
                    "(unless you choose reduce only).",
                    venue=venue,
                    code="-4164",
                )


# --------------------------------------------------------------------------------------------
# deterministic client order ids
# --------------------------------------------------------------------------------------------
class ClientOrderIdRule(msgspec.Struct, frozen=True):
    """A venue's constraint on client order ids: maximum length and allowed pattern, or numeric."""

    max_len: int
    pattern: str
    numeric_uint64: bool = False


#: Per-venue limits. binance USD-M ``newClientOrderId``: ``^[\.A-Z\:/a-z0-9_-]{1,36}$``;
#: deribit ``label``: at most 64 characters; grvt ``metadata.client_order_id``: an unsigned
#: 64-bit integer (ccxt sends a decimal string), and ids we make stay in ``[2**63, 2**64)``, the
#: half that GRVT's API docs leave to API clients.
CLIENT_ORDER_ID_RULES: dict[str, ClientOrderIdRule] = {
    "binance": ClientOrderIdRule(36, r"^[\.A-Z\:/a-z0-9_-]{1,36}$"),
    "deribit": ClientOrderIdRule(64, r"^[\x20-\x7e]{1,64}$"),
    "grvt": ClientOrderIdRule(20, r"^[0-9]{1,20}$", numeric_uint64=True),
    "paper": ClientOrderIdRule(36, r"^[\.A-Z\:/a-z0-9_-]{1,36}$"),
}

_PREFIX_CHARS = re.compile(r"[^A-Za-z0-9]")


def make_client_order_id(
    strategy: str, intent_key: str | int, attempt_epoch: int = 0, *, venue: str = "binance"
) -> str:
    """A client order id that is a pure function of the decision that produced the order.

    The same ``(strategy, intent_key, attempt_epoch)`` always gives the same id, so a request
    retried after a timeout or a restart is recognised by the venue (or by our duplicate lookup)
    instead of becoming a second order.

    Parameters
    ----------
    strategy : str
        Who decided (e.g. the trader's id); its first letters and digits (up to 8) prefix the id so
        that orders are recognisable on the exchange's UI.
    intent_key : str or int
        What was decided, unique within the strategy (e.g. the hedge decision's sequence number).
    attempt_epoch : int
        Bump only to place a *new* order for the same intent on purpose (e.g. after the first one
        was rejected or cancelled); retries keep it.
    venue : str
        Key of :data:`CLIENT_ORDER_ID_RULES` whose length and charset the id must meet.

    Returns
    -------
    str
        ``<prefix>-<24 hex digits of BLAKE2b>`` (at most 33 characters) for string ids; a decimal
        uint64 in ``[2**63, 2**64)`` for venues with numeric ids.
    """
    try:
        rule = CLIENT_ORDER_ID_RULES[venue]
    except KeyError:
        raise ValueError(f"unknown venue {venue!r}; known: {sorted(CLIENT_ORDER_ID_RULES)}") from None
    if attempt_epoch < 0:
        raise ValueError(f"attempt_epoch must be >= 0, got {attempt_epoch}")
    material = f"{strategy}\x1f{intent_key}\x1f{attempt_epoch}".encode()
    digest = hashlib.blake2b(material, digest_size=16, person=b"asymlp-clordid").digest()
    if rule.numeric_uint64:
        value = (1 << 63) | (int.from_bytes(digest[:8], "big") & ((1 << 63) - 1))
        out = str(value)
    else:
        prefix = _PREFIX_CHARS.sub("", strategy)[:8] or "o"
        out = f"{prefix}-{digest[:12].hex()}"
    if len(out) > rule.max_len or not re.fullmatch(rule.pattern, out):
        raise AssertionError(f"client order id {out!r} breaks the {venue} rule")  # pragma: no cover
    return out


# --------------------------------------------------------------------------------------------
# the interface
# --------------------------------------------------------------------------------------------
class Venue(abc.ABC):
    """One account on one exchange.

    Implementations are async and hold their own connections; :meth:`close` releases them.
    Public data needs no key; the private methods trade the account.
    """

    #: short venue name ("paper", "binance", "deribit", "grvt")
    name: str = ""

    # -- reference data ----------------------------------------------------------------------
    @abc.abstractmethod
    async def load_markets(self) -> dict[str, MarketRules]:
        """Load (or reload) the instruments' rules, keyed by unified symbol."""

    @abc.abstractmethod
    def market(self, symbol: str) -> MarketRules:
        """Rules of one loaded instrument (raises :class:`~.errors.BadSymbol` when unknown)."""

    # -- public data -------------------------------------------------------------------------
    @abc.abstractmethod
    async def fetch_ticker(self, symbol: str) -> Ticker: ...

    @abc.abstractmethod
    async def fetch_book_top(self, symbol: str) -> BookTop: ...

    @abc.abstractmethod
    def watch_book_top(self, symbol: str) -> AsyncIterator[BookTop]:
        """Best bid/ask updates until the iterator is closed or the venue is."""

    @abc.abstractmethod
    def watch_trades(self, symbol: str) -> AsyncIterator[TradePrint]:
        """Public trades until the iterator is closed or the venue is."""

    # -- orders ------------------------------------------------------------------------------
    @abc.abstractmethod
    async def create_order(self, req: VenueOrderRequest) -> VenueOrder:
        """Place ``req``; when an order with ``req.client_order_id`` exists already, return it
        instead of placing another."""

    @abc.abstractmethod
    async def cancel_order(self, client_order_id: str, symbol: str) -> VenueOrder: ...

    @abc.abstractmethod
    async def fetch_open_orders(self, symbol: str | None = None) -> list[VenueOrder]: ...

    @abc.abstractmethod
    async def fetch_order(self, client_order_id: str, symbol: str) -> VenueOrder:
        """The order with this client order id (raises :class:`~.errors.OrderNotFound`)."""

    @abc.abstractmethod
    def watch_orders(self) -> AsyncIterator[VenueOrder]:
        """Our order updates (private stream)."""

    @abc.abstractmethod
    def watch_fills(self) -> AsyncIterator[VenueFill]:
        """Our executions (private stream)."""

    # -- account -----------------------------------------------------------------------------
    @abc.abstractmethod
    async def fetch_positions(self) -> list[VenuePosition]: ...

    @abc.abstractmethod
    async def fetch_balance(self) -> list[VenueBalance]: ...

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections; further calls may fail."""

    async def __aenter__(self) -> Venue:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
