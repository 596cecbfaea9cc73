"""Venues backed by ccxt's real exchange classes (``ccxt.pro``: REST through aiohttp, WebSocket streams).

:class:`CcxtVenue` implements :class:`~asymlp_runtime.venues.base.Venue` for any exchange that has
a :class:`CcxtVenueSpec` (``venues/binance``, ``venues/deribit``, ``venues/grvt``): the spec knows
the exchange's client-order-id parameter, how to look an order up by client order id, its symbol
conventions and its error codes. Every request goes through, in this order, the retry loop
(:func:`~asymlp_runtime.ops.resilience.retry_async`, retryable errors only), the venue's
:class:`~asymlp_runtime.ops.resilience.CircuitBreaker` and its client-side
:class:`~asymlp_runtime.ops.resilience.RateLimiter`; ccxt's own throttle stays on as well.

Idempotent ``create_order``: the client order id goes to the exchange with the order. If an
attempt ends with an unknown outcome (timeout, dropped connection, 5xx), the next attempt first
looks the id up and returns the order it finds; a duplicate-id rejection is answered the same
way. So a retried order is placed at most once.

Own executions: :meth:`CcxtVenue.watch_fills` (the private stream) and :meth:`CcxtVenue.fetch_fills`
(REST, ccxt ``fetch_my_trades``) convert through the same :func:`fill_from_ccxt`, so one execution
has one ``fill_id`` either way (binance: the trade id, ``t`` on the stream and ``id`` in
``/fapi/v1/userTrades``); a consumer that de-duplicates by fill id can take both.

Credentials come from :class:`VenueCredentials` (built from the environment by
:func:`credentials_from_env`); they are handed to ccxt and to nothing else: ``repr`` hides them,
and every error message is scrubbed of them before it leaves this module.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import ccxt
import ccxt.pro
import msgspec

from asymlp_runtime.ops.resilience import (
    BackoffPolicy,
    CircuitBreaker,
    RateLimiter,
    RetryExhaustedError,
    retry_async,
)
from asymlp_runtime.venues import errors as verr
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

__all__ = [
    "CcxtVenue",
    "CcxtVenueSpec",
    "VenueCredentials",
    "credentials_from_env",
    "map_ccxt_error",
]

T = TypeVar("T")
VenueOrderOrFill = TypeVar("VenueOrderOrFill", VenueOrder, VenueFill)
log = logging.getLogger("asymlp_runtime.venues.ccxt")


# --------------------------------------------------------------------------------------------
# credentials
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class VenueCredentials:
    """API credentials; ``repr`` and ``str`` never show them.

    Attributes
    ----------
    api_key, secret : str
        HMAC key pair (binance; deribit's client id and client secret).
    private_key : str
        Signing key for venues that sign with a wallet key (grvt).
    account_id : str
        Sub-account id where the venue needs one (grvt).
    """

    api_key: str = field(default="", repr=False)
    secret: str = field(default="", repr=False)
    private_key: str = field(default="", repr=False)
    account_id: str = ""

    @property
    def is_set(self) -> bool:
        return bool(self.api_key or self.private_key)

    def secrets(self) -> tuple[str, ...]:
        """Every secret value, for redaction."""
        return tuple(s for s in (self.api_key, self.secret, self.private_key) if s)

    def __repr__(self) -> str:
        shown = "set" if self.is_set else "unset"
        return f"VenueCredentials(<{shown}>, account_id={self.account_id!r})"

    __str__ = __repr__


def credentials_from_env(venue: str, environ: Mapping[str, str] | None = None) -> VenueCredentials:
    """Credentials for ``venue`` from ``ASYMLP_<VENUE>_API_KEY``, ``..._API_SECRET``,
    ``..._PRIVATE_KEY`` and ``..._ACCOUNT_ID`` (empty when unset: the caller falls back to paper)."""
    env = os.environ if environ is None else environ
    prefix = f"ASYMLP_{venue.upper()}_"
    return VenueCredentials(
        api_key=env.get(prefix + "API_KEY", ""),
        secret=env.get(prefix + "API_SECRET", ""),
        private_key=env.get(prefix + "PRIVATE_KEY", ""),
        account_id=env.get(prefix + "ACCOUNT_ID", ""),
    )


class _RedactingFilter(logging.Filter):
    """Scrubs registered secrets from records of the logger it is attached to.

    ccxt logs request headers (binance's ``X-MBX-APIKEY``, deribit's ``Authorization``) at DEBUG
    level on its own logger; this filter is attached to that logger (and to ours) by every
    :class:`CcxtVenue`, so that turning on debug logging cannot leak a key.
    """

    def __init__(self) -> None:
        super().__init__("asymlp-redact")
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            clean = verr.redact(message, self.secrets)
            if clean != message:
                record.msg, record.args = clean, None
        return True


_REDACTOR = _RedactingFilter()


def _protect_logs(secrets: tuple[str, ...]) -> None:
    _REDACTOR.secrets.update(secrets)
    for name in ("ccxt.base.exchange", "ccxt", log.name):
        lg = logging.getLogger(name)
        if _REDACTOR not in lg.filters:
            lg.addFilter(_REDACTOR)


# --------------------------------------------------------------------------------------------
# error mapping
# --------------------------------------------------------------------------------------------
_CLASS_MAP: tuple[tuple[type[Exception], type[verr.VenueError]], ...] = (
    (ccxt.RateLimitExceeded, verr.RateLimited),
    (ccxt.DDoSProtection, verr.RateLimited),
    (ccxt.RequestTimeout, verr.RequestTimeout),
    (ccxt.ExchangeNotAvailable, verr.ExchangeUnavailable),
    (ccxt.NetworkError, verr.NetworkError),
    (ccxt.DuplicateOrderId, verr.DuplicateOrderId),
    (ccxt.OrderNotFound, verr.OrderNotFound),
    (ccxt.InsufficientFunds, verr.InsufficientFunds),
    (ccxt.BadSymbol, verr.BadSymbol),
    (ccxt.AuthenticationError, verr.AuthenticationError),
    (ccxt.InvalidOrder, verr.InvalidOrder),
)


def map_ccxt_error(
    exc: BaseException,
    venue: str,
    secrets: tuple[str, ...] = (),
    exchange_codes: Callable[[str], tuple[type[verr.VenueError], str] | None] | None = None,
) -> verr.VenueError:
    """Translate a ccxt (or transport) exception into a :class:`~.errors.VenueError`.

    The venue's own error code, when ``exchange_codes`` recognises one in the message, decides
    first (ccxt picks some classes by the exchange's production host name, which a test server
    does not have); then ccxt's class; anything else is a non-retryable :class:`VenueError`.
    The message is scrubbed of ``secrets``.
    """
    text = verr.redact(f"{type(exc).__name__}: {exc}", secrets)
    if isinstance(exc, verr.VenueError):
        return exc
    if exchange_codes is not None:
        found = exchange_codes(str(exc))
        if found is not None:
            cls, code = found
            return cls(text, venue=venue, code=code)
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return verr.RequestTimeout(text, venue=venue)
    for ccxt_cls, cls in _CLASS_MAP:
        if isinstance(exc, ccxt_cls):
            return cls(text, venue=venue)
    if isinstance(exc, ConnectionError | OSError):
        return verr.NetworkError(text, venue=venue)
    return verr.VenueError(text, venue=venue)


# --------------------------------------------------------------------------------------------
# per-venue specifics
# --------------------------------------------------------------------------------------------
class CcxtVenueSpec:
    """What differs between exchanges. Subclasses live in ``venues/<exchange>/``.

    Attributes
    ----------
    name : str
        Venue name (also the :data:`~.base.CLIENT_ORDER_ID_RULES` key).
    ccxt_id : str
        ``ccxt.pro`` class name.
    client_order_id_param : str
        The ccxt ``params`` key that carries our client order id.
    rate_limit_per_s, rate_limit_burst : float
        Client-side token bucket (requests).
    """

    name: str = ""
    ccxt_id: str = ""
    client_order_id_param: str = "clientOrderId"
    rate_limit_per_s: float = 10.0
    rate_limit_burst: float = 20.0

    def exchange_config(self, credentials: VenueCredentials) -> dict[str, Any]:
        """Constructor config for the ccxt class (keys, options)."""
        config: dict[str, Any] = {"enableRateLimit": True, "options": {}}
        if credentials.api_key:
            config["apiKey"] = credentials.api_key
        if credentials.secret:
            config["secret"] = credentials.secret
        return config

    def hedge_symbol(self, base: str) -> str:
        """The unified symbol of the perpetual used to hedge ``base`` (e.g. ``ETH``)."""
        raise NotImplementedError

    def order_params(self, req: VenueOrderRequest) -> dict[str, Any]:
        """ccxt ``params`` for ``create_order``: client order id, time in force, flags."""
        params: dict[str, Any] = {self.client_order_id_param: req.client_order_id}
        if req.type is OrderType.LIMIT and req.time_in_force is not TimeInForce.GTC:
            params["timeInForce"] = req.time_in_force.value.upper()
        if req.post_only:
            params["postOnly"] = True
        if req.reduce_only:
            params["reduceOnly"] = True
        return params

    async def find_order(self, exchange: Any, client_order_id: str, symbol: str) -> dict[str, Any] | None:
        """The ccxt order with this client order id, or None when the venue has none."""
        raise NotImplementedError

    async def cancel_by_client_id(self, exchange: Any, client_order_id: str, symbol: str) -> dict[str, Any]:
        """Cancel by client order id; default: look the order up, cancel by venue id."""
        found = await self.find_order(exchange, client_order_id, symbol)
        if found is None:
            raise verr.OrderNotFound(f"no order with client id {client_order_id}", venue=self.name)
        return await exchange.cancel_order(found["id"], symbol)

    def exchange_error(self, text: str) -> tuple[type[verr.VenueError], str] | None:
        """Recognise the exchange's own error code in an error text (None: leave it to ccxt)."""
        return None

    def override_urls(self, exchange: Any, base_url: str) -> None:
        """Point every REST (and WebSocket) endpoint of ``exchange`` at ``base_url`` (tests)."""
        raise NotImplementedError


# --------------------------------------------------------------------------------------------
# conversions
# --------------------------------------------------------------------------------------------
_STATUS = {
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "cancelled": OrderStatus.CANCELED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}
_TIF = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK, "PO": TimeInForce.GTC}


def _f(x: Any, default: float = 0.0) -> float:
    return default if x is None else float(x)


def _ms_to_ns(ms: Any) -> int:
    return 0 if ms is None else int(ms) * 1_000_000


def order_from_ccxt(raw: Mapping[str, Any], symbol: str, ts_recv_ns: int = 0) -> VenueOrder:
    """A ccxt unified order as a :class:`VenueOrder`."""
    filled = _f(raw.get("filled"))
    status_raw = raw.get("status") or "open"
    if status_raw == "open":
        status = OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.OPEN
    else:
        status = _STATUS.get(status_raw, OrderStatus.OPEN)
    tif = _TIF.get(str(raw.get("timeInForce") or "GTC").upper(), TimeInForce.GTC)
    typ = OrderType.MARKET if str(raw.get("type") or "limit").lower() == "market" else OrderType.LIMIT
    price = raw.get("price")
    return VenueOrder(
        client_order_id=str(raw.get("clientOrderId") or (raw.get("info") or {}).get("label") or ""),
        venue_order_id=str(raw.get("id") or ""),
        symbol=raw.get("symbol") or symbol,
        side=Side(str(raw.get("side") or "buy").lower()),
        type=typ,
        qty=_f(raw.get("amount")),
        price=None if price in (None, 0, 0.0) or typ is OrderType.MARKET else float(price),
        status=status,
        filled_qty=filled,
        avg_fill_price=None if not raw.get("average") else float(raw["average"]),
        time_in_force=tif,
        post_only=bool(raw.get("postOnly")),
        reduce_only=bool(raw.get("reduceOnly")),
        ts_exchange_ns=_ms_to_ns(raw.get("lastUpdateTimestamp") or raw.get("timestamp")),
        ts_recv_ns=ts_recv_ns,
    )


def market_rules_from_ccxt(m: Mapping[str, Any], precision_mode: int) -> MarketRules:
    """Market rules from a ccxt market (tick-size or decimal-places precision)."""

    def step(p: Any) -> float:
        if p is None:
            return 0.0
        if precision_mode == ccxt.TICK_SIZE:
            return float(p)
        return 10.0 ** (-int(p))

    limits = m.get("limits") or {}
    amount = limits.get("amount") or {}
    cost = limits.get("cost") or {}
    qty_step = step((m.get("precision") or {}).get("amount"))
    return MarketRules(
        symbol=m["symbol"],
        venue_symbol=m["id"],
        base=m.get("base") or "",
        quote=m.get("quote") or "",
        settle=m.get("settle") or m.get("quote") or "",
        min_qty=_f(amount.get("min"), qty_step),
        qty_step=qty_step,
        price_tick=step((m.get("precision") or {}).get("price")),
        contract_size=_f(m.get("contractSize"), 1.0),
        min_notional=_f(cost.get("min")),
        max_qty=_f(amount.get("max"), float("inf")),
        inverse=bool(m.get("inverse")),
        maker_fee=_f(m.get("maker"), 0.0002),
        taker_fee=_f(m.get("taker"), 0.0005),
    )


# --------------------------------------------------------------------------------------------
# the venue
# --------------------------------------------------------------------------------------------
class CcxtVenue(Venue):
    """A :class:`~asymlp_runtime.venues.base.Venue` over a ``ccxt.pro`` exchange.

    Parameters
    ----------
    spec : CcxtVenueSpec
        Exchange specifics (``BinanceUsdmSpec()``, ``DeribitSpec()``, ``GrvtSpec()``).
    credentials : VenueCredentials
        Keys; without them only public methods work.
    backoff : BackoffPolicy
        Retry policy for retryable errors.
    breaker : CircuitBreaker, optional
        Default: one per venue with default thresholds.
    rate_limiter : RateLimiter, optional
        Default: the spec's request rate.
    timeout_s : float
        ccxt request timeout.
    base_url : str, optional
        Send every request to this URL instead of the exchange (a local test server).
    extra_options : mapping, optional
        Merged into the ccxt ``options``.
    rng : random.Random, optional
        Jitter source.
    sleep : coroutine function
        How backoff waits.
    symbols : iterable of str
        Unified symbols :meth:`fetch_fills` asks about from the start (see :meth:`track_symbols`).
    """

    def __init__(
        self,
        spec: CcxtVenueSpec,
        credentials: VenueCredentials | None = None,
        *,
        backoff: BackoffPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        rate_limiter: RateLimiter | None = None,
        timeout_s: float = 10.0,
        base_url: str | None = None,
        extra_options: Mapping[str, Any] | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        symbols: Iterable[str] = (),
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self._credentials = credentials or VenueCredentials()
        self._secrets = self._credentials.secrets()
        _protect_logs(self._secrets)
        self.backoff = backoff or BackoffPolicy()
        self.breaker = breaker or CircuitBreaker(spec.name)
        self.rate_limiter = rate_limiter or RateLimiter(spec.rate_limit_per_s, spec.rate_limit_burst)
        self._rng = rng or random.Random()
        self._sleep = sleep
        config = spec.exchange_config(self._credentials)
        config["timeout"] = int(timeout_s * 1000)
        if extra_options:
            config["options"] = {**config.get("options", {}), **extra_options}
        cls = getattr(ccxt.pro, spec.ccxt_id)
        self.exchange = cls(config)
        if base_url is not None:
            spec.override_urls(self.exchange, base_url.rstrip("/"))
        self._markets: dict[str, MarketRules] = {}
        self._closed = False
        #: symbols fetch_fills asks about (an ordered set), and venue order id -> client order id
        self._traded_symbols: dict[str, None] = dict.fromkeys(symbols)
        self._client_ids: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"CcxtVenue({self.spec.name!r}, credentials={self._credentials!r})"

    # -- plumbing ----------------------------------------------------------------------------
    def _map(self, exc: BaseException) -> verr.VenueError:
        return map_ccxt_error(exc, self.name, self._secrets, self.spec.exchange_error)

    async def _raw(self, fn: Callable[[], Awaitable[T]], rate_limited: bool = True) -> T:
        """One guarded request: rate limiter (requests only), then the call, with errors mapped."""
        if rate_limited:
            await self.rate_limiter.acquire()
        try:
            return await fn()
        except verr.VenueError:
            raise
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise self._map(exc) from None

    def _on_retry(self, attempt: int, exc: BaseException, delay_s: float) -> None:
        log.warning(
            "venue request failed, retrying",
            extra={
                "venue": self.name,
                "attempt": attempt,
                "delay_s": round(delay_s, 4),
                "error": verr.redact(str(exc), self._secrets),
            },
        )

    async def _call(self, fn: Callable[[], Awaitable[T]], rate_limited: bool = True) -> T:
        """A request with retry (retryable errors), circuit breaker and rate limiter.

        ``rate_limited=False`` for ccxt ``watch_*`` calls after the first: they wait for stream
        messages and send no request, so they must not spend the request budget that orders need.
        """
        try:
            return await retry_async(
                lambda: self.breaker.call(lambda: self._raw(fn, rate_limited)),
                self.backoff,
                rng=self._rng,
                sleep=self._sleep,
                on_retry=self._on_retry,
            )
        except RetryExhaustedError as exc:
            # callers branch on the venue error's class; the attempts are in the log
            if isinstance(exc.last, verr.VenueError):
                raise exc.last from None
            raise

    def _now_ns(self) -> int:
        return time.time_ns()

    async def _stream(
        self,
        watch: Callable[[], Awaitable[Any]],
        convert: Callable[[Any], list[T]],
        *,
        latest_only: bool = False,
        retry: bool = True,
    ) -> AsyncIterator[T]:
        """The items of successive ccxt ``watch_*`` results, the next watch always pending.

        ccxt resolves a watch only with a message that arrives while the watch is pending; a
        message that arrives between two calls stays in ccxt's cache until the next message on
        that stream, which for fills and order updates can be minutes away. So the calls run in
        a task of their own that calls again in the same step in which a result arrives (no
        await in between) and hands the converted items over a queue: an update that arrives
        while the consumer is busy is there when the consumer asks for it.

        Watch calls go through the retry loop and the breaker, not the rate limiter (they send
        no request). ``latest_only``: a consumer that fell behind gets the newest batch only
        (book tops). An error ends the stream (after the retries); so does :meth:`close`.

        ``retry=False`` (private streams: orders, fills): a failure ends the stream at once,
        through the breaker but without the retry loop. A reconnection loses what the venue sent
        while the socket was down, and only the consumer can recover that (it reopens the stream
        and reconciles over REST, e.g. with :meth:`fetch_fills`); a silent retry here would hide
        the gap from it.
        """
        queue: asyncio.Queue[list[T] | Exception] = asyncio.Queue()

        async def pump() -> None:
            first = True
            try:
                while True:
                    if retry:
                        raw = await self._call(watch, rate_limited=first)
                    else:
                        raw = await self.breaker.call(lambda limited=first: self._raw(watch, limited))
                    first = False
                    queue.put_nowait(convert(raw))
            except Exception as exc:
                queue.put_nowait(exc)

        task = asyncio.ensure_future(pump())
        try:
            while not self._closed:
                got = await queue.get()
                while latest_only and not isinstance(got, Exception) and not queue.empty():
                    got = queue.get_nowait()
                if self._closed:
                    return
                if isinstance(got, Exception):
                    raise got
                for item in got:
                    yield item
        finally:
            task.cancel()

    # -- reference data ----------------------------------------------------------------------
    async def load_markets(self) -> dict[str, MarketRules]:
        markets = await self._call(lambda: self.exchange.load_markets(True))
        mode = self.exchange.precisionMode
        self._markets = {
            s: market_rules_from_ccxt(m, mode)
            for s, m in markets.items()
            if m.get("swap") or m.get("future") or m.get("contract")
        }
        return dict(self._markets)

    def market(self, symbol: str) -> MarketRules:
        try:
            return self._markets[symbol]
        except KeyError:
            raise verr.BadSymbol(f"unknown or unloaded symbol {symbol!r}", venue=self.name) from None

    # -- public data -------------------------------------------------------------------------
    async def fetch_ticker(self, symbol: str) -> Ticker:
        t = await self._call(lambda: self.exchange.fetch_ticker(symbol))
        return Ticker(
            symbol=symbol,
            last=t.get("last"),
            bid=t.get("bid"),
            ask=t.get("ask"),
            mark=t.get("markPrice"),
            ts_exchange_ns=_ms_to_ns(t.get("timestamp")),
            ts_recv_ns=self._now_ns(),
        )

    async def fetch_book_top(self, symbol: str) -> BookTop:
        if self.exchange.has.get("fetchBidsAsks"):
            t = await self._call(lambda: self.exchange.fetch_bids_asks([symbol]))
            row = t.get(symbol) or next(iter(t.values()))
        else:
            row = await self._call(lambda: self.exchange.fetch_ticker(symbol))
        return BookTop(
            symbol=symbol,
            bid_price=_f(row.get("bid")),
            bid_qty=_f(row.get("bidVolume")),
            ask_price=_f(row.get("ask")),
            ask_qty=_f(row.get("askVolume")),
            ts_exchange_ns=_ms_to_ns(row.get("timestamp")),
            ts_recv_ns=self._now_ns(),
        )

    def watch_book_top(self, symbol: str) -> AsyncIterator[BookTop]:
        def top(book: Any) -> list[BookTop]:
            if not (book["bids"] and book["asks"]):
                return []
            return [
                BookTop(
                    symbol=symbol,
                    bid_price=float(book["bids"][0][0]),
                    bid_qty=float(book["bids"][0][1]),
                    ask_price=float(book["asks"][0][0]),
                    ask_qty=float(book["asks"][0][1]),
                    ts_exchange_ns=_ms_to_ns(book.get("timestamp")),
                    ts_recv_ns=self._now_ns(),
                )
            ]

        return self._stream(lambda: self.exchange.watch_order_book(symbol), top, latest_only=True)

    def watch_trades(self, symbol: str) -> AsyncIterator[TradePrint]:
        def prints(trades: Any) -> list[TradePrint]:
            now = self._now_ns()
            return [
                TradePrint(
                    symbol=symbol,
                    trade_id=str(t.get("id") or ""),
                    price=_f(t.get("price")),
                    qty=_f(t.get("amount")),
                    side=Side(str(t.get("side") or "buy")),
                    ts_exchange_ns=_ms_to_ns(t.get("timestamp")),
                    ts_recv_ns=now,
                )
                for t in trades
            ]

        return self._stream(lambda: self.exchange.watch_trades(symbol), prints)

    # -- orders ------------------------------------------------------------------------------
    async def create_order(self, req: VenueOrderRequest) -> VenueOrder:
        """Place ``req`` at most once (see the module docstring)."""
        params = self.spec.order_params(req)
        outcome_unknown = False

        async def lookup() -> VenueOrder | None:
            raw = await self.spec.find_order(self.exchange, req.client_order_id, req.symbol)
            return None if raw is None else order_from_ccxt(raw, req.symbol, self._now_ns())

        async def attempt() -> VenueOrder:
            nonlocal outcome_unknown
            if outcome_unknown:
                found = await lookup()
                if found is not None:
                    log.info(
                        "order found after an unknown outcome; not placing it again",
                        extra={"venue": self.name, "client_order_id": req.client_order_id},
                    )
                    return found
            try:
                raw = await self.exchange.create_order(
                    req.symbol, req.type.value, req.side.value, req.qty, req.price, dict(params)
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                err = self._map(exc)
                if isinstance(err, verr.DuplicateOrderId):
                    found = await lookup()
                    if found is not None:
                        return found
                if isinstance(err, verr.NetworkError):
                    outcome_unknown = True
                raise err from None
            order = order_from_ccxt(raw, req.symbol, self._now_ns())
            if not order.client_order_id:
                order = _with_client_id(order, req.client_order_id)
            return order

        self.track_symbols((req.symbol,))
        return self._seen(await self._call(attempt))

    async def cancel_order(self, client_order_id: str, symbol: str) -> VenueOrder:
        raw = await self._call(lambda: self.spec.cancel_by_client_id(self.exchange, client_order_id, symbol))
        order = order_from_ccxt(raw, symbol, self._now_ns())
        return self._seen(order if order.client_order_id else _with_client_id(order, client_order_id))

    async def fetch_open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        raws = await self._call(lambda: self.exchange.fetch_open_orders(symbol))
        return [self._seen(order_from_ccxt(r, symbol or "", self._now_ns())) for r in raws]

    async def fetch_order(self, client_order_id: str, symbol: str) -> VenueOrder:
        raw = await self._call(lambda: self.spec.find_order(self.exchange, client_order_id, symbol))
        if raw is None:
            raise verr.OrderNotFound(f"no order with client id {client_order_id}", venue=self.name)
        return self._seen(order_from_ccxt(raw, symbol, self._now_ns()))

    def watch_orders(self) -> AsyncIterator[VenueOrder]:
        def orders(raws: Any) -> list[VenueOrder]:
            now = self._now_ns()
            return [self._seen(order_from_ccxt(r, r.get("symbol") or "", now)) for r in raws]

        return self._stream(lambda: self.exchange.watch_orders(), orders, retry=False)

    def watch_fills(self) -> AsyncIterator[VenueFill]:
        def fills(trades: Any) -> list[VenueFill]:
            now = self._now_ns()
            return [self._seen(fill_from_ccxt(t, now)) for t in trades]

        return self._stream(lambda: self.exchange.watch_my_trades(), fills, retry=False)

    # -- own executions over REST ------------------------------------------------------------
    def track_symbols(self, symbols: Iterable[str]) -> None:
        """Make :meth:`fetch_fills` ask about ``symbols`` too.

        It asks about every symbol given here or to the constructor and every symbol of an order
        this instance placed, looked up, cancelled or saw on a stream (binance's trade list is per
        symbol; asking about every loaded market would spend hundreds of requests).
        """
        for symbol in symbols:
            if symbol:
                self._traded_symbols.setdefault(symbol)

    def _seen(self, item: VenueOrderOrFill) -> VenueOrderOrFill:
        """Remember an order's (or fill's) symbol and its venue order id -> client order id."""
        self.track_symbols((item.symbol,))
        if item.venue_order_id and item.client_order_id:
            self._client_ids[item.venue_order_id] = item.client_order_id
        return item

    async def _client_order_id_of(self, venue_order_id: str, symbol: str) -> str:
        """The client order id of a venue order id: remembered, else looked up once (``""`` if
        the venue does not know the order). Trade lists without client order ids (binance's
        ``/fapi/v1/userTrades``) are completed this way."""
        known = self._client_ids.get(venue_order_id)
        if known is not None:
            return known
        try:
            raw = await self._call(lambda: self.exchange.fetch_order(venue_order_id, symbol))
        except verr.OrderNotFound:
            raw = {}
        order = order_from_ccxt(raw, symbol)
        self._client_ids[venue_order_id] = order.client_order_id
        return order.client_order_id

    async def fetch_fills(self, since_ns: int = 0) -> list[VenueFill]:
        """Our executions with ``ts_exchange_ns >= since_ns``, oldest first, over REST.

        One ccxt ``fetch_my_trades`` per tracked symbol (:meth:`track_symbols`), each through the
        retry loop, the breaker and the rate limiter. Fills are converted by
        :func:`fill_from_ccxt` like the stream's, so an execution has the same ``fill_id`` here and
        on :meth:`watch_fills`; a trade without a client order id gets it from the order (looked
        up by venue order id, once per order). ``since_ns == 0`` asks for the venue's default
        window (binance: the latest 500 trades of the last 7 days per symbol).
        """
        since_ms = since_ns // 1_000_000 if since_ns > 0 else None
        out: list[VenueFill] = []
        for symbol in list(self._traded_symbols):
            raws = await self._call(lambda s=symbol: self.exchange.fetch_my_trades(s, since_ms))
            now = self._now_ns()
            for raw in raws:
                fill = fill_from_ccxt(raw, now)
                if fill.ts_exchange_ns < since_ns:
                    continue
                if not fill.client_order_id and fill.venue_order_id:
                    cid = await self._client_order_id_of(fill.venue_order_id, fill.symbol or symbol)
                    fill = msgspec.structs.replace(fill, client_order_id=cid)
                out.append(self._seen(fill))
        out.sort(key=lambda f: f.ts_exchange_ns)
        return out

    # -- account -----------------------------------------------------------------------------
    async def fetch_positions(self) -> list[VenuePosition]:
        raws = await self._call(lambda: self.exchange.fetch_positions())
        out = []
        for p in raws:
            contracts = _f(p.get("contracts"))
            if contracts == 0:
                continue
            # ccxt reports contracts unsigned on some venues and signed on others (deribit)
            size = abs(contracts) * _f(p.get("contractSize"), 1.0)
            side = p.get("side")
            sign = -1.0 if side == "short" or (side not in ("long", "short") and contracts < 0) else 1.0
            out.append(
                VenuePosition(
                    symbol=p.get("symbol") or "",
                    qty=sign * size,
                    entry_price=_f(p.get("entryPrice")),
                    realized_pnl=_f(p.get("realizedPnl")),
                    unrealized_pnl=_f(p.get("unrealizedPnl")),
                    mark_price=p.get("markPrice"),
                    ts_exchange_ns=_ms_to_ns(p.get("timestamp")),
                    ts_recv_ns=self._now_ns(),
                )
            )
        return out

    async def fetch_balance(self) -> list[VenueBalance]:
        raw = await self._call(lambda: self.exchange.fetch_balance())
        out = []
        for currency, total in (raw.get("total") or {}).items():
            if total is None:
                continue
            out.append(
                VenueBalance(
                    currency=currency,
                    total=float(total),
                    free=_f((raw.get("free") or {}).get(currency)),
                    used=_f((raw.get("used") or {}).get(currency)),
                    ts_exchange_ns=_ms_to_ns(raw.get("timestamp")),
                    ts_recv_ns=self._now_ns(),
                )
            )
        return out

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.exchange.close()


def fill_from_ccxt(t: Mapping[str, Any], ts_recv_ns: int = 0) -> VenueFill:
    """A ccxt unified trade of ours as a :class:`VenueFill`."""
    fee = t.get("fee") or {}
    info = t.get("info") or {}
    # ccxt's unified trade has no client order id; the raw one does: "clientOrderId" (REST),
    # "c" (binance's user data stream: ORDER_TRADE_UPDATE), "label" (deribit)
    client_order_id = t.get("clientOrderId") or info.get("clientOrderId") or info.get("c") or info.get("label")
    return VenueFill(
        fill_id=str(t.get("id") or ""),
        client_order_id=str(client_order_id or ""),
        venue_order_id=str(t.get("order") or ""),
        symbol=t.get("symbol") or "",
        side=Side(str(t.get("side") or "buy")),
        qty=_f(t.get("amount")),
        price=_f(t.get("price")),
        fee=_f(fee.get("cost")),
        fee_currency=str(fee.get("currency") or ""),
        liquidity=Liquidity.MAKER if t.get("takerOrMaker") == "maker" else Liquidity.TAKER,
        ts_exchange_ns=_ms_to_ns(t.get("timestamp")),
        ts_recv_ns=ts_recv_ns,
    )


def _with_client_id(order: VenueOrder, client_order_id: str) -> VenueOrder:
    return msgspec.structs.replace(order, client_order_id=client_order_id)
