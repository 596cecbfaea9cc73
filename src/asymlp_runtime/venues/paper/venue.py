"""A simulated venue with the :class:`~asymlp_runtime.venues.base.Venue` interface.

The book is synthetic: around a mid price (from any price source, a seeded GBM by default) it
shows ``depth_levels`` levels per side, ``level_spacing`` apart, each with ``level_qty``. The best
bid and ask sit ``spread_bps / 2`` around the mid on the tick grid. Time moves in *steps*: each
:meth:`PaperVenue.step` draws the next mid, replenishes the book, matches resting orders that the
new book crosses and publishes the new top of book.

Matching
--------
- Market orders and the marketable part of limit orders take liquidity level by level (taker
  fee), and only as much as the levels hold: what a step's book cannot fill is left over. Depth
  taken in a step stays taken until the next step.
- IOC leftovers expire; FOK orders that cannot fill entirely are expired unfilled; GTC leftovers
  of limit orders rest (market-order leftovers expire, as on the real venues).
- Post-only orders that would cross are rejected (binance code -5022).
- A resting buy at price P fills as maker at P when a later book's ask levels are at or below P,
  up to the depth of those levels (a sell mirrors it).

Accounting (linear contracts, one settle currency per market)
--------------------------------------------------------------
Positions are signed with an average entry price; closing trades realise
``closed_qty * (price - entry) * sign(position) * contract_size``. The wallet balance moves by
realised PnL minus fees (the futures convention), so ``wallet - qty * entry * contract_size`` moves
by exactly ``-(signed notional) - fees`` per fill. Orders that add exposure need
``notional / leverage`` of free margin (binance code -2019 otherwise).

Errors mimic binance USD-M's codes and wording (see :meth:`MarketRules.validate`). Requests are
paced by a token bucket (code -1003 when exceeded) and delayed by ``latency_s``. Everything is a
pure function of the seed, the price source, the account epoch and the calls made.

Ids
---
Venue order ids, fill ids and trade ids are ``"<epoch>-<n>"``: ``n`` counts from 1 within the
account and ``epoch`` names the venue instance (:func:`new_account_epoch`, made by each new venue
and persisted with the account in :class:`PaperAccountState`; a restored account keeps its
counters under the new instance's epoch). A journal that outlives its account file (the file
deleted, or saved a little before a crash) therefore never sees a new fill under an id it
already holds, which its ``(venue, fill_id)`` de-duplication would drop as a replay.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field

import msgspec

from asymlp_runtime.ops.resilience import RateLimiter
from asymlp_runtime.venues.base import (
    BookTop,
    Liquidity,
    MarketRules,
    OrderStatus,
    OrderType,
    Side,
    Ticker,
    TimeInForce,
    TradePrint,
    Venue,
    VenueBalance,
    VenueFill,
    VenueOrder,
    VenueOrderRequest,
    VenuePosition,
)
from asymlp_runtime.venues.errors import (
    BadSymbol,
    InsufficientFunds,
    InvalidOrder,
    OrderNotFound,
    RateLimited,
)
from asymlp_runtime.venues.paper.price import as_mid_source, gbm_mids, symbol_seed

__all__ = [
    "DEFAULT_PAPER_MARKET",
    "PaperAccountState",
    "PaperVenue",
    "PaperVenueConfig",
    "new_account_epoch",
]

#: An ETH perpetual with binance USD-M's ETHUSDT rules (min 0.001 ETH, step 0.001, tick 0.01,
#: min notional 20 USDT, maker 0.02 %, taker 0.05 %).
DEFAULT_PAPER_MARKET = MarketRules(
    symbol="ETH/USDT:USDT",
    venue_symbol="ETHUSDT",
    base="ETH",
    quote="USDT",
    settle="USDT",
    min_qty=0.001,
    qty_step=0.001,
    price_tick=0.01,
    contract_size=1.0,
    min_notional=20.0,
    max_qty=10000.0,
    maker_fee=0.0002,
    taker_fee=0.0005,
)


def new_account_epoch() -> str:
    """A fresh account epoch: wall-clock seconds at creation (hex) then 24 random bits (6 hex).

    Accounts created in different seconds always differ; two created in the same second collide
    with probability 2**-24. Epochs (eight hex digits of seconds until 2106) sort by creation time.
    """
    return f"{time.time_ns() // 1_000_000_000:x}{secrets.randbits(24):06x}"


class PaperVenueConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Settings of a paper venue.

    Attributes
    ----------
    seed : int
        Seed of the default GBM price paths.
    start_mid : float
        First mid of the default GBM.
    sigma_per_step : float
        GBM volatility per step (0.0005 is about 0.05 % per step).
    spread_bps : float
        Full bid-ask spread in basis points of the mid (at least one tick).
    depth_levels : int
        Levels per side.
    level_qty : float
        Quantity on each level (venue amount unit).
    level_spacing_ticks : int
        Gap between consecutive levels, in ticks.
    initial_balance : float
        Wallet balance of each settle currency at start.
    leverage : float
        Margin needed for new exposure is ``notional / leverage``.
    latency_s : float
        Delay before each private request is handled.
    rate_limit_per_s, rate_limit_burst : float
        Token bucket on requests; exceeding it raises :class:`RateLimited`.
    """

    seed: int = 0
    start_mid: float = 3000.0
    sigma_per_step: float = 0.0005
    spread_bps: float = 2.0
    depth_levels: int = 10
    level_qty: float = 5.0
    level_spacing_ticks: int = 1
    initial_balance: float = 100_000.0
    leverage: float = 10.0
    latency_s: float = 0.0
    rate_limit_per_s: float = 50.0
    rate_limit_burst: float = 100.0


class PaperAccountState(msgspec.Struct, frozen=True, kw_only=True):
    """Everything of a paper account that outlives a process: orders, fills, positions, wallet.

    Written by the process that owns the :class:`PaperVenue` (:meth:`PaperVenue.account_state`),
    read back by :meth:`PaperVenue.restore_account` after a restart and by readers in other
    processes (balances and positions, like a venue's account API).
    """

    venue: str
    orders: list[VenueOrder]
    fills: list[VenueFill]
    positions: list[VenuePosition]
    wallet: dict[str, float]
    fees_paid: dict[str, float]
    next_order_id: int
    next_fill_id: int
    next_trade_id: int
    leverage: float = 10.0
    ts_ns: int = 0
    #: names the account in every id it issues (empty in files written before epochs existed)
    account_epoch: str = ""


@dataclass
class _Order:
    req: VenueOrderRequest
    venue_order_id: str
    status: OrderStatus
    ts_ns: int
    filled_qty: float = 0.0
    filled_notional: float = 0.0
    reject_reason: str = ""

    def view(self, ts_recv_ns: int = 0) -> VenueOrder:
        r = self.req
        return VenueOrder(
            client_order_id=r.client_order_id,
            venue_order_id=self.venue_order_id,
            symbol=r.symbol,
            side=r.side,
            type=r.type,
            qty=r.qty,
            price=r.price,
            status=self.status,
            filled_qty=self.filled_qty,
            avg_fill_price=(self.filled_notional / self.filled_qty) if self.filled_qty > 0 else None,
            time_in_force=r.time_in_force,
            post_only=r.post_only,
            reduce_only=r.reduce_only,
            ts_exchange_ns=self.ts_ns,
            ts_recv_ns=ts_recv_ns,
            reject_reason=self.reject_reason,
        )

    @property
    def remaining(self) -> float:
        return max(0.0, self.req.qty - self.filled_qty)


@dataclass
class _Position:
    qty: float = 0.0
    entry_price: float = 0.0
    realized_pnl: float = 0.0


@dataclass
class _Book:
    mid: float
    bids: list[float]  # prices, best first
    asks: list[float]
    bid_taken: list[float] = field(default_factory=list)  # qty taken per level this step
    ask_taken: list[float] = field(default_factory=list)


class _Fanout:
    """Unbounded per-subscriber queues; ``None`` ends every subscription."""

    def __init__(self) -> None:
        self._queues: list[asyncio.Queue] = []

    def publish(self, item: object) -> None:
        for q in self._queues:
            q.put_nowait(item)

    async def subscribe(self) -> AsyncIterator:
        q: asyncio.Queue = asyncio.Queue()
        self._queues.append(q)
        try:
            while True:
                item = await q.get()
                if item is None:
                    return
                yield item
        finally:
            self._queues.remove(q)

    def close(self) -> None:
        self.publish(None)


class PaperVenue(Venue):
    """The paper venue (see the module docstring for the model).

    Parameters
    ----------
    config : PaperVenueConfig
        Book, fees are taken from the markets' rules; balance, pacing and latency from here.
    markets : iterable of MarketRules, optional
        Instruments (linear only); default :data:`DEFAULT_PAPER_MARKET`.
    price_sources : mapping symbol -> iterable or callable of mids, optional
        Mid prices per symbol; symbols without one get a GBM seeded from ``(config.seed, symbol)``.
    clock : callable
        Monotonic seconds (rate limiter).
    time_ns : callable
        Timestamp source for events (nanoseconds).
    sleep : coroutine function
        How latency is waited (tests pass ``ManualClock.sleep``).
    name : str
        Venue name reported in errors.
    account_epoch : str, optional
        Prefix of every id this account issues (see the module docstring); a fresh
        :func:`new_account_epoch` when omitted. Replaced by the saved one in
        :meth:`restore_account`.
    """

    def __init__(
        self,
        config: PaperVenueConfig | None = None,
        *,
        markets: Iterable[MarketRules] | None = None,
        price_sources: Mapping[str, Iterable[float] | Callable[[], float]] | None = None,
        clock: Callable[[], float] = time.monotonic,
        time_ns: Callable[[], int] = time.time_ns,
        sleep: Callable[[float], object] = asyncio.sleep,
        name: str = "paper",
        account_epoch: str | None = None,
    ) -> None:
        self.config = config or PaperVenueConfig()
        self.name = name
        self.account_epoch = new_account_epoch() if account_epoch is None else account_epoch
        rules = list(markets) if markets is not None else [DEFAULT_PAPER_MARKET]
        for r in rules:
            if r.inverse:
                raise ValueError(f"the paper venue models linear contracts only; {r.symbol} is inverse")
        self._markets = {r.symbol: r for r in rules}
        sources = dict(price_sources or {})
        cfg = self.config
        self._mid_sources = {
            s: as_mid_source(
                sources[s]
                if s in sources
                else gbm_mids(cfg.start_mid, cfg.sigma_per_step, seed=symbol_seed(cfg.seed, s))
            )
            for s in self._markets
        }
        self._time_ns = time_ns
        self._sleep = sleep
        self._limiter = RateLimiter(cfg.rate_limit_per_s, cfg.rate_limit_burst, clock=clock)
        self._books: dict[str, _Book] = {}
        self._orders: dict[str, _Order] = {}
        self._positions: dict[str, _Position] = {s: _Position() for s in self._markets}
        self._wallet: dict[str, float] = {}
        for r in rules:
            self._wallet.setdefault(r.settle, cfg.initial_balance)
        self._fees_paid: dict[str, float] = {c: 0.0 for c in self._wallet}
        self._next_order_id = 1
        self._next_fill_id = 1
        self._next_trade_id = 1
        self._fills: list[VenueFill] = []
        self._order_stream = _Fanout()
        self._fill_stream = _Fanout()
        self._book_streams: dict[str, _Fanout] = {s: _Fanout() for s in self._markets}
        self._trade_streams: dict[str, _Fanout] = {s: _Fanout() for s in self._markets}
        self._closed = False
        #: number of orders actually placed (duplicates not counted)
        self.placed_count = 0
        for s in self._markets:
            self._books[s] = self._make_book(s, self._mid_sources[s]())

    # ----------------------------------------------------------------------------------------
    # book
    # ----------------------------------------------------------------------------------------
    def _make_book(self, symbol: str, mid: float) -> _Book:
        rules = self._markets[symbol]
        cfg = self.config
        tick = rules.price_tick
        half = 0.5 * cfg.spread_bps * 1e-4 * mid
        bid = rules.round_price(mid - half, Side.BUY)
        ask = rules.round_price(mid + half, Side.SELL)
        if ask - bid < tick * 0.999:
            ask = rules.round_price(bid + tick, None)
        gap = tick * cfg.level_spacing_ticks
        bids = [rules.round_price(bid - i * gap, None) for i in range(cfg.depth_levels)]
        asks = [rules.round_price(ask + i * gap, None) for i in range(cfg.depth_levels)]
        bids = [p for p in bids if p > 0]
        return _Book(mid=mid, bids=bids, asks=asks, bid_taken=[0.0] * len(bids), ask_taken=[0.0] * len(asks))

    def _top(self, symbol: str) -> BookTop:
        b = self._books[symbol]
        q = self.config.level_qty
        return BookTop(
            symbol=symbol,
            bid_price=b.bids[0],
            bid_qty=q - b.bid_taken[0],
            ask_price=b.asks[0],
            ask_qty=q - b.ask_taken[0],
            ts_exchange_ns=self._time_ns(),
            ts_recv_ns=self._time_ns(),
        )

    def mid(self, symbol: str) -> float:
        """The current mid of ``symbol``."""
        return self._books[self._rules(symbol).symbol].mid

    async def step(self, symbol: str | None = None) -> None:
        """Advance one step: next mid, fresh depth, resting orders matched, book top published.

        With ``symbol`` None every market steps.
        """
        self._check_open()
        symbols = [symbol] if symbol is not None else list(self._markets)
        for s in symbols:
            self._rules(s)
            self._books[s] = self._make_book(s, self._mid_sources[s]())
            self._match_resting(s)
            self._book_streams[s].publish(self._top(s))

    def set_mid(self, symbol: str, mid: float) -> None:
        """Replace the current book by one around ``mid`` (tests); resting orders are matched."""
        self._books[symbol] = self._make_book(symbol, mid)
        self._match_resting(symbol)
        self._book_streams[symbol].publish(self._top(symbol))

    # ----------------------------------------------------------------------------------------
    # helpers
    # ----------------------------------------------------------------------------------------
    def _rules(self, symbol: str) -> MarketRules:
        try:
            return self._markets[symbol]
        except KeyError:
            raise BadSymbol(f"Invalid symbol {symbol!r}.", venue=self.name, code="-1121") from None

    def _id(self, n: int) -> str:
        """The account's id number ``n`` (``"<epoch>-<n>"``)."""
        return f"{self.account_epoch}-{n}"

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"paper venue {self.name!r} is closed")

    async def _request(self) -> None:
        self._check_open()
        if not self._limiter.try_acquire(1.0):
            raise RateLimited(
                f"Too many requests; current limit is {self.config.rate_limit_per_s:g} requests per second.",
                venue=self.name,
                code="-1003",
                retry_after_s=1.0 / self.config.rate_limit_per_s,
            )
        if self.config.latency_s > 0:
            await self._sleep(self.config.latency_s)

    def _used_margin(self, settle: str) -> float:
        lev = self.config.leverage
        used = 0.0
        for s, pos in self._positions.items():
            r = self._markets[s]
            if r.settle == settle:
                used += abs(pos.qty) * pos.entry_price * r.contract_size / lev
        for o in self._orders.values():
            r = self._markets[o.req.symbol]
            if r.settle == settle and not o.status.is_terminal and o.req.price is not None:
                used += o.remaining * o.req.price * r.contract_size / lev
        return used

    def _marketable_depth(
        self, symbol: str, side: Side, limit: float | None
    ) -> list[tuple[int, float, float]]:
        """(level index, price, available qty) on the side we would take, best first."""
        b = self._books[symbol]
        q = self.config.level_qty
        out = []
        if side is Side.BUY:
            for i, p in enumerate(b.asks):
                if limit is not None and p > limit + 1e-12:
                    break
                out.append((i, p, q - b.ask_taken[i]))
        else:
            for i, p in enumerate(b.bids):
                if limit is not None and p < limit - 1e-12:
                    break
                out.append((i, p, q - b.bid_taken[i]))
        return out

    def _apply_fill(self, order: _Order, qty: float, price: float, liquidity: Liquidity) -> VenueFill:
        r = self._markets[order.req.symbol]
        side = order.req.side
        notional = qty * price * r.contract_size
        fee_rate = r.maker_fee if liquidity is Liquidity.MAKER else r.taker_fee
        fee = notional * fee_rate
        pos = self._positions[r.symbol]
        signed = side.sign * qty
        if pos.qty == 0 or (pos.qty > 0) == (signed > 0):
            new_qty = pos.qty + signed
            pos.entry_price = (abs(pos.qty) * pos.entry_price + qty * price) / abs(new_qty)
            pos.qty = new_qty
        else:
            closing = min(qty, abs(pos.qty))
            direction = 1.0 if pos.qty > 0 else -1.0
            pnl = closing * (price - pos.entry_price) * direction * r.contract_size
            pos.realized_pnl += pnl
            self._wallet[r.settle] += pnl
            new_qty = pos.qty + signed
            if abs(new_qty) < 1e-12:
                pos.qty, pos.entry_price = 0.0, 0.0
            elif (new_qty > 0) != (pos.qty > 0):
                pos.qty, pos.entry_price = new_qty, price
            else:
                pos.qty = new_qty
        self._wallet[r.settle] -= fee
        self._fees_paid[r.settle] += fee
        order.filled_qty = r.snap_qty(order.filled_qty + qty)
        order.filled_notional += qty * price
        ts = self._time_ns()
        fill = VenueFill(
            fill_id=self._id(self._next_fill_id),
            client_order_id=order.req.client_order_id,
            venue_order_id=order.venue_order_id,
            symbol=r.symbol,
            side=side,
            qty=qty,
            price=price,
            fee=fee,
            fee_currency=r.settle,
            liquidity=liquidity,
            ts_exchange_ns=ts,
            ts_recv_ns=ts,
        )
        self._next_fill_id += 1
        self._fills.append(fill)
        self._fill_stream.publish(fill)
        if liquidity is Liquidity.TAKER:
            self._trade_streams[r.symbol].publish(
                TradePrint(
                    symbol=r.symbol,
                    trade_id=self._id(self._next_trade_id),
                    price=price,
                    qty=qty,
                    side=side,
                    ts_exchange_ns=ts,
                    ts_recv_ns=ts,
                )
            )
            self._next_trade_id += 1
        return fill

    def _take(self, order: _Order, limit: float | None, liquidity: Liquidity, max_qty: float) -> None:
        """Fill up to ``max_qty`` of ``order`` against the current book, level by level."""
        r = self._markets[order.req.symbol]
        b = self._books[r.symbol]
        left = max_qty
        for i, p, avail in self._marketable_depth(r.symbol, order.req.side, limit):
            if left <= 1e-12:
                break
            qty = r.round_qty(min(left, avail))
            if qty <= 0:
                continue
            price = p if liquidity is Liquidity.TAKER else float(order.req.price)  # maker fills at our price
            self._apply_fill(order, qty, price, liquidity)
            if order.req.side is Side.BUY:
                b.ask_taken[i] += qty
            else:
                b.bid_taken[i] += qty
            left = r.snap_qty(left - qty)

    def _publish(self, order: _Order) -> None:
        self._order_stream.publish(order.view(self._time_ns()))

    def _match_resting(self, symbol: str) -> None:
        for order in list(self._orders.values()):
            if (
                order.req.symbol != symbol
                or order.status.is_terminal
                or order.req.type is not OrderType.LIMIT
            ):
                continue
            before = order.filled_qty
            self._take(order, order.req.price, Liquidity.MAKER, order.remaining)
            if order.filled_qty > before:
                order.status = (
                    OrderStatus.FILLED if order.remaining <= 1e-12 else OrderStatus.PARTIALLY_FILLED
                )
                order.ts_ns = self._time_ns()
                self._publish(order)

    # ----------------------------------------------------------------------------------------
    # Venue interface: reference and public data
    # ----------------------------------------------------------------------------------------
    async def load_markets(self) -> dict[str, MarketRules]:
        self._check_open()
        return dict(self._markets)

    def market(self, symbol: str) -> MarketRules:
        return self._rules(symbol)

    async def fetch_ticker(self, symbol: str) -> Ticker:
        await self._request()
        top = self._top(self._rules(symbol).symbol)
        return Ticker(
            symbol=symbol,
            last=self._books[symbol].mid,
            bid=top.bid_price,
            ask=top.ask_price,
            mark=self._books[symbol].mid,
            ts_exchange_ns=top.ts_exchange_ns,
            ts_recv_ns=top.ts_recv_ns,
        )

    async def fetch_book_top(self, symbol: str) -> BookTop:
        await self._request()
        return self._top(self._rules(symbol).symbol)

    async def watch_book_top(self, symbol: str) -> AsyncIterator[BookTop]:
        self._rules(symbol)
        async for top in self._book_streams[symbol].subscribe():
            yield top

    async def watch_trades(self, symbol: str) -> AsyncIterator[TradePrint]:
        self._rules(symbol)
        async for trade in self._trade_streams[symbol].subscribe():
            yield trade

    # ----------------------------------------------------------------------------------------
    # Venue interface: orders
    # ----------------------------------------------------------------------------------------
    async def create_order(self, req: VenueOrderRequest) -> VenueOrder:
        await self._request()
        existing = self._orders.get(req.client_order_id)
        if existing is not None:
            return existing.view(self._time_ns())
        r = self._rules(req.symbol)
        book = self._books[r.symbol]
        ref_price = book.asks[0] if req.side is Side.BUY else book.bids[0]
        r.validate(req, reference_price=ref_price)
        if req.type is OrderType.MARKET and req.post_only:
            raise InvalidOrder("Post-only is not allowed for market orders.", venue=self.name, code="-1106")
        crosses = req.type is OrderType.MARKET or (
            (req.side is Side.BUY and req.price >= book.asks[0])
            or (req.side is Side.SELL and req.price <= book.bids[0])
        )
        if req.post_only and crosses:
            raise InvalidOrder(
                "Due to the order could not be executed as maker, the Post Only order will be rejected.",
                venue=self.name,
                code="-5022",
            )
        pos = self._positions[r.symbol]
        if req.reduce_only:
            if pos.qty == 0 or (pos.qty > 0) == (req.side is Side.BUY) or req.qty > abs(pos.qty) + 1e-12:
                raise InvalidOrder("ReduceOnly Order is rejected.", venue=self.name, code="-2022")
        else:
            adds = (
                req.qty
                if pos.qty == 0 or (pos.qty > 0) == (req.side is Side.BUY)
                else max(0.0, req.qty - abs(pos.qty))
            )
            price = req.price if req.price is not None else ref_price
            need = adds * price * r.contract_size / self.config.leverage
            free = self._wallet[r.settle] - self._used_margin(r.settle)
            if need > free + 1e-9:
                raise InsufficientFunds("Margin is insufficient.", venue=self.name, code="-2019")
        order = _Order(
            req=req,
            venue_order_id=self._id(self._next_order_id),
            status=OrderStatus.OPEN,
            ts_ns=self._time_ns(),
        )
        self._next_order_id += 1
        self._orders[req.client_order_id] = order
        self.placed_count += 1
        self._publish(order)
        limit = req.price if req.type is OrderType.LIMIT else None
        if req.time_in_force is TimeInForce.FOK:
            avail = sum(a for _, _, a in self._marketable_depth(r.symbol, req.side, limit))
            if avail + 1e-12 < req.qty:
                order.status = OrderStatus.EXPIRED
                self._publish(order)
                return order.view(self._time_ns())
        if crosses:
            self._take(order, limit, Liquidity.TAKER, req.qty)
        if order.remaining <= 1e-12:
            order.status = OrderStatus.FILLED
        elif req.type is OrderType.MARKET or req.time_in_force is not TimeInForce.GTC:
            order.status = OrderStatus.EXPIRED
        elif order.filled_qty > 0:
            order.status = OrderStatus.PARTIALLY_FILLED
        if order.filled_qty > 0 or order.status is not OrderStatus.OPEN:
            self._publish(order)
        return order.view(self._time_ns())

    async def cancel_order(self, client_order_id: str, symbol: str) -> VenueOrder:
        await self._request()
        order = self._orders.get(client_order_id)
        if order is None or order.req.symbol != symbol or order.status.is_terminal:
            raise OrderNotFound("Unknown order sent.", venue=self.name, code="-2011")
        order.status = OrderStatus.CANCELED
        order.ts_ns = self._time_ns()
        self._publish(order)
        return order.view(self._time_ns())

    async def fetch_open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        await self._request()
        return [
            o.view(self._time_ns())
            for o in self._orders.values()
            if not o.status.is_terminal and (symbol is None or o.req.symbol == symbol)
        ]

    async def fetch_order(self, client_order_id: str, symbol: str) -> VenueOrder:
        await self._request()
        order = self._orders.get(client_order_id)
        if order is None or order.req.symbol != symbol:
            raise OrderNotFound("Order does not exist.", venue=self.name, code="-2013")
        return order.view(self._time_ns())

    async def watch_orders(self) -> AsyncIterator[VenueOrder]:
        async for order in self._order_stream.subscribe():
            yield order

    async def watch_fills(self) -> AsyncIterator[VenueFill]:
        async for fill in self._fill_stream.subscribe():
            yield fill

    # ----------------------------------------------------------------------------------------
    # Venue interface: account
    # ----------------------------------------------------------------------------------------
    async def fetch_positions(self) -> list[VenuePosition]:
        await self._request()
        out = []
        ts = self._time_ns()
        for s, pos in self._positions.items():
            if pos.qty == 0 and pos.realized_pnl == 0:
                continue
            out.append(self._position_view(s, pos, ts))
        return out

    def _position_view(self, symbol: str, pos: _Position, ts: int) -> VenuePosition:
        """A position marked at the book's mid."""
        mark = self._books[symbol].mid
        return VenuePosition(
            symbol=symbol,
            qty=pos.qty,
            entry_price=pos.entry_price,
            realized_pnl=pos.realized_pnl,
            unrealized_pnl=pos.qty * (mark - pos.entry_price) * self._markets[symbol].contract_size,
            mark_price=mark,
            ts_exchange_ns=ts,
            ts_recv_ns=ts,
        )

    async def fetch_balance(self) -> list[VenueBalance]:
        await self._request()
        ts = self._time_ns()
        out = []
        for currency, wallet in self._wallet.items():
            used = self._used_margin(currency)
            out.append(
                VenueBalance(
                    currency=currency,
                    total=wallet,
                    free=wallet - used,
                    used=used,
                    ts_exchange_ns=ts,
                    ts_recv_ns=ts,
                )
            )
        return out

    async def fetch_fills(self, since_ns: int = 0) -> list[VenueFill]:
        """Our executions with ``ts_exchange_ns >= since_ns``, oldest first (like ``fetch_my_trades``)."""
        await self._request()
        return [f for f in self._fills if f.ts_exchange_ns >= since_ns]

    # ----------------------------------------------------------------------------------------
    # persistence of the account (the book is not persisted: it is a function of the mids)
    # ----------------------------------------------------------------------------------------
    def account_state(self) -> PaperAccountState:
        """A snapshot of the account (orders, fills, positions, wallet, id counters)."""
        ts = self._time_ns()
        positions = []
        for s, pos in self._positions.items():
            positions.append(self._position_view(s, pos, ts))
        return PaperAccountState(
            venue=self.name,
            orders=[o.view(ts) for o in self._orders.values()],
            fills=list(self._fills),
            positions=positions,
            wallet=dict(self._wallet),
            fees_paid=dict(self._fees_paid),
            next_order_id=self._next_order_id,
            next_fill_id=self._next_fill_id,
            next_trade_id=self._next_trade_id,
            leverage=self.config.leverage,
            ts_ns=ts,
            account_epoch=self.account_epoch,
        )

    def restore_account(self, state: PaperAccountState) -> None:
        """Replace the account by a snapshot from :meth:`account_state` (after a restart).

        Resting orders come back and are matched against the current book at the next step. The
        counters continue, under this venue's own epoch (a new one per process): a snapshot saved
        a little before a crash does not know the last ids issued, and reusing its epoch could
        issue one of them again (a fill the journal would then drop as a replay).
        """
        self._orders = {}
        for o in state.orders:
            req = VenueOrderRequest(
                client_order_id=o.client_order_id,
                symbol=o.symbol,
                side=o.side,
                type=o.type,
                qty=o.qty,
                price=o.price,
                time_in_force=o.time_in_force,
                post_only=o.post_only,
                reduce_only=o.reduce_only,
            )
            self._orders[o.client_order_id] = _Order(
                req=req,
                venue_order_id=o.venue_order_id,
                status=o.status,
                ts_ns=o.ts_exchange_ns,
                filled_qty=o.filled_qty,
                filled_notional=o.filled_qty * (o.avg_fill_price or 0.0),
                reject_reason=o.reject_reason,
            )
        self._fills = list(state.fills)
        for p in state.positions:
            if p.symbol in self._positions:
                self._positions[p.symbol] = _Position(p.qty, p.entry_price, p.realized_pnl)
        self._wallet.update(state.wallet)
        self._fees_paid.update(state.fees_paid)
        self._next_order_id = state.next_order_id
        self._next_fill_id = state.next_fill_id
        self._next_trade_id = state.next_trade_id

    def fees_paid(self, currency: str) -> float:
        """Total fees paid in ``currency`` so far (rebates negative)."""
        return self._fees_paid[currency]

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for s in (
            self._order_stream,
            self._fill_stream,
            *self._book_streams.values(),
            *self._trade_streams.values(),
        ):
            s.close()

    def __repr__(self) -> str:
        return f"PaperVenue(name={self.name!r}, markets={sorted(self._markets)})"
