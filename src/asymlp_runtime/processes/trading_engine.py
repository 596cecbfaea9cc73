"""``trading_engine``: one exchange's private order path.

Requests (``orders`` request server, :data:`~asymlp_runtime.messages.OrderChannel`)
---------------------------------------------------------------------------------
An :class:`~asymlp_runtime.messages.OrderRequest` is handled as follows:

1. wrong venue, unknown symbol, or a breach of the market rules (size, step, tick, notional):
   rejected (``invalid: ...``), nothing journaled;
2. a client order id the journal already holds (a retry after a restart or after the bus's reply
   cache forgot it): the order is looked up on the venue and acknowledged as it stands -- never
   placed a second time (``create_order`` is itself idempotent by client order id for an order
   journaled but not yet on the venue);
3. circuit breaker open: rejected ``breaker_open`` (nothing journaled);
4. the :class:`~asymlp_runtime.journal.OrderRecord` is **committed to the journal before** the
   venue call and before the acknowledgement;
5. the venue call (bounded by ``order_timeout_s``, through the breaker). A rejection by the venue
   is journaled as a ``rejected`` event and acknowledged ``accepted=False`` with
   ``rejected: <code> <text>``. An unknown outcome (timeout, network error, breaker open while the
   order is already journaled) gets **no reply**: the order stays journaled as ``new``, nothing
   is cached by the request server, the client times out and resends the same id, and the resend
   runs step 2 again (the venue lookup decides). Unknown outcomes count against the breaker.

A :class:`~asymlp_runtime.messages.CancelRequest` cancels by client order id (``cancel:<id>``).

Reports (``reports`` publisher)
-------------------------------
Order state changes from the venue (the ``create_order`` result and the private order stream)
go to the journal as :class:`~asymlp_runtime.journal.OrderEventRecord` and then out as
:class:`~asymlp_runtime.messages.OrderEvent` on ``order.<venue>.<SYM>``; every execution is
journaled as a :class:`~asymlp_runtime.journal.FillRecord` (unique by ``(venue, fill_id)``)
**before** it is published as a :class:`~asymlp_runtime.messages.Fill` on ``fill.<venue>.<SYM>``.

Start and stop
--------------
On start the engine rebuilds its orders and known fills from the journal
(:func:`~asymlp_runtime.journal.rebuild_state`) and reconciles with the venue
(:meth:`TradingEngine.reconcile`): fills the venue reports that the journal lacks are journaled
and published once (real fills by id from ``fetch_fills`` where the venue has it; what the
venue's filled quantity of an order still exceeds after that, as one fill
``recon-<client order id>-<filled qty>`` at the average price); each order the journal holds as
open gets the venue's current status (``rejected`` with reason ``not_on_venue`` when the venue
does not know it); orders open on the venue that the journal does not know, and position
differences, set the ``reconcile`` health condition. On stop it cancels every open order
(``cancel_on_stop``), journals the cancellations and closes the venue it opened.

A private stream that fails is opened again after a second and the journal is reconciled over
REST: for a venue with ``fetch_fills`` the stream is reopened first and the reconciliation runs
``resubscribe_settle_s`` later, by when the new subscription is normally up, so a fill executed
between the REST reads and the resubscription is not left for the next failure (fill ids make
reading an execution on both paths harmless; a subscription slower than the settle time leaves
that gap open until the next reconciliation); a venue without it is reconciled first and then
reopened.

Health: ``breaker`` condition (``degraded`` half-open, ``down`` open); error counts in
``asymlp_errors_total{component="venue"}``; ``asymlp_connection_up{target=<venue>}`` is 0 while
the breaker is open.

Paper mode: the engine owns the exchange's :class:`~asymlp_runtime.venues.paper.PaperVenue`, steps
it on the shared reference path and writes its account to the paper account file (see
:mod:`asymlp_runtime.processes.paper`), restoring it at start.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from asymlp_runtime import messages as m
from asymlp_runtime.config import ProcessConfig
from asymlp_runtime.journal import (
    TERMINAL_ORDER_STATUSES,
    AsyncJournal,
    FillRecord,
    Journal,
    OrderEventRecord,
    OrderRecord,
    VenueSnapshot,
    reconcile,
)
from asymlp_runtime.journal import (
    VenueOrder as JournalVenueOrder,
)
from asymlp_runtime.ops.resilience import BreakerState, CircuitBreaker, CircuitOpenError
from asymlp_runtime.processes.base import ProcessBase
from asymlp_runtime.processes.exchange import (
    fill_message,
    is_paper,
    open_live_venue,
    order_event_message,
    symbols_of,
    venue_of,
)
from asymlp_runtime.processes.paper import (
    PaperAccountStore,
    PaperSettings,
    make_paper_venue,
    run_paper_clock,
)
from asymlp_runtime.processes.topics import fill_topic, order_topic
from asymlp_runtime.venues import errors as verr
from asymlp_runtime.venues.base import (
    OrderType,
    Side,
    TimeInForce,
    Venue,
    VenueFill,
    VenueOrder,
    VenueOrderRequest,
)

__all__ = ["PROCESS_CLASS", "TradingEngine"]

_JOURNAL_STATUS = {
    "open": "open",
    "partially_filled": "partially_filled",
    "filled": "filled",
    "canceled": "canceled",
    "rejected": "rejected",
    "expired": "expired",
}


class TradingEngine(ProcessBase):
    """Private order path of one exchange (see the module docstring).

    Parameters
    ----------
    config : ProcessConfig
        Needs a ``reports`` publisher and an ``orders`` server.
    venue : Venue or None
        Use this venue (tests); otherwise paper or ccxt from the config.
    paper : PaperSettings or None
        Paper settings (default from the environment).
    breaker : CircuitBreaker or None
        The venue's breaker (default: opens after 3 consecutive failures, 5 s cooldown).
    order_timeout_s : float
        Bound on each venue call.
    cancel_on_stop : bool
        Cancel open orders at stop.
    resubscribe_settle_s : float
        After a private stream failed on a venue with ``fetch_fills``: how long after reopening it
        the reconciliation runs (time for the new subscription to come up).
    """

    kind = "trading_engine"

    def __init__(
        self,
        config: ProcessConfig,
        *,
        venue: Venue | None = None,
        paper: PaperSettings | None = None,
        breaker: CircuitBreaker | None = None,
        order_timeout_s: float = 5.0,
        cancel_on_stop: bool = True,
        resubscribe_settle_s: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(config, **kwargs)
        self.venue_name = venue_of(config)
        self.symbols = symbols_of(config)
        self.paper_settings = paper or PaperSettings.from_env()
        self.venue: Venue | None = venue
        self._own_venue = venue is None
        self.breaker = breaker or CircuitBreaker(self.venue_name, failure_threshold=3, cooldown_s=5.0)
        self.order_timeout_s = order_timeout_s
        self.cancel_on_stop = cancel_on_stop
        self.resubscribe_settle_s = resubscribe_settle_s
        self._reconciling = asyncio.Lock()
        #: client order id -> (OrderRecord, last journaled status, filled qty)
        self.orders: dict[str, list[Any]] = {}
        self.fill_ids: set[str] = set()
        self.filled_by_order: dict[str, float] = {}
        self.last_reconciliation: Any = None
        self.store: PaperAccountStore | None = None
        self._dirty = asyncio.Event()
        self._published_state: dict[str, set[tuple[str, float]]] = {}

    # ------------------------------------------------------------------ start
    async def on_start(self) -> None:
        if self.journal is None:
            self.journal = AsyncJournal(Journal(":memory:"))
        paper = is_paper(self.config)
        if self.venue is None:
            if paper:
                self.venue = make_paper_venue(self.venue_name, self.symbols, self.paper_settings)
                self.store = PaperAccountStore(self.paper_settings.account_path(self.venue_name))
                saved = self.store.load(self.venue_name)
                if saved is not None:
                    self.venue.restore_account(saved)  # type: ignore[attr-defined]
            else:
                self.venue = open_live_venue(self.config)
        await self.venue.load_markets()
        state = await self.journal.rebuild_state()
        for cid, st in state.orders.items():
            if st.venue == self.venue_name and st.order is not None:
                self.orders[cid] = [st.order, st.status, st.filled_qty]
        for fill in await self.journal.read(FillRecord):
            if fill.venue == self.venue_name:
                self.fill_ids.add(fill.fill_id)
                self.filled_by_order[fill.client_order_id] = (
                    self.filled_by_order.get(fill.client_order_id, 0.0) + fill.qty
                )
        venue = self.venue
        track_symbols = getattr(venue, "track_symbols", None)
        if track_symbols is not None:  # what fetch_fills asks about, before anything is placed
            track_symbols([*self.symbols, *(entry[0].symbol for entry in self.orders.values())])
        self.spawn(self._watch(venue.watch_fills, self._on_fill), "watch_fills")
        self.spawn(self._watch(venue.watch_orders, self._on_order), "watch_orders")
        await asyncio.sleep(0)  # let the watchers subscribe before anything can fill
        await self.reconcile()
        if self.store is not None:
            self.spawn(run_paper_clock(self.venue, self.paper_settings), "paper_clock")  # type: ignore[arg-type]
            self.spawn(self._save_loop(), "paper_account")
            self._dirty.set()

    async def _watch(self, open_stream: Any, handler: Any) -> None:
        """Run a private stream (``open_stream()`` gives a fresh async iterator) into ``handler``.

        A stream that fails is opened again after a second (a generator that raised is finished:
        iterating it again would end at once and silently stop the reports), and the journal is
        reconciled with the venue over REST, so fills and order changes sent while it was down
        are not lost. With ``fetch_fills`` the stream is reopened first and the reconciliation
        runs in the background ``resubscribe_settle_s`` later (see the module docstring);
        without it the reconciliation comes first.
        """
        reopen_first = getattr(self.venue, "fetch_fills", None) is not None
        while True:
            try:
                async for item in open_stream():
                    try:
                        await handler(item)
                    except Exception as exc:
                        self.metrics.error("report", type(exc).__name__)
                        self.log.error("report handling failed: %s", type(exc).__name__, exc_info=exc)
                return
            except asyncio.CancelledError:
                raise
            except NotImplementedError:
                return
            except Exception as exc:
                self.metrics.error("private_stream", type(exc).__name__)
                self.log.warning("private stream failed (%s): reopening it and reconciling", type(exc).__name__)
                await asyncio.sleep(1.0)
                if reopen_first:
                    self.spawn(self._reconcile_quietly(self.resubscribe_settle_s), "reconcile_after_reopen")
                else:
                    await self._reconcile_quietly(0.0)

    async def _reconcile_quietly(self, delay_s: float) -> None:
        """:meth:`reconcile` after ``delay_s``; a failure is counted (the next one retries it)."""
        await asyncio.sleep(delay_s)
        try:
            await self.reconcile()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.metrics.error("reconcile", type(exc).__name__)
            self.log.warning("reconciliation failed (%s)", type(exc).__name__)

    async def reconcile(self) -> None:
        """Bring the journal up to date with the venue (see the module docstring).

        One at a time (both private streams can fail together). In this order:

        1. each order the journal holds as open is looked up on the venue (its filled quantity
           ``F`` is read now);
        2. ``fetch_fills`` where the venue has it: every fill not journaled yet is journaled, by
           id, so a fill already taken from the stream is not counted again;
        3. an order whose ``F`` still exceeds the quantity of its journaled fills gets one
           synthetic fill ``recon-<cid>-<F>`` for the difference at the venue's average price
           (fee 0), then the venue's status.

        Step 1 before step 2 is what makes step 3 safe with real fills: an execution counted in
        ``F`` happened before ``fetch_fills`` was asked, so ``fetch_fills`` returns it and no
        synthetic fill is made for it; an execution after step 1 is not in ``F`` and comes by id
        (stream or next reconciliation). With real fills a synthetic one is made only for what
        ``fetch_fills`` cannot return (older than the venue's trade history window); its id is
        derived from ``F``, so a repeated reconciliation does not add it twice. Without
        ``fetch_fills`` step 3 is the only source of missed fills.
        """
        async with self._reconciling:
            await self._reconcile()

    async def _reconcile(self) -> None:
        venue = self.venue
        assert venue is not None and self.journal is not None
        looked_up: list[tuple[str, VenueOrder]] = []
        for cid, (rec, status, _filled) in list(self.orders.items()):
            if status in TERMINAL_ORDER_STATUSES:
                continue
            try:
                looked_up.append((cid, await venue.fetch_order(cid, rec.symbol)))
            except verr.OrderNotFound:
                await self._journal_event(cid, rec, "rejected", reason="not_on_venue")
        fetch_fills = getattr(venue, "fetch_fills", None)
        if fetch_fills is not None:
            for f in await fetch_fills(0):
                await self._on_fill(f)
        for cid, vo in looked_up:
            journal_filled = self.filled_by_order.get(cid, 0.0)
            if vo.filled_qty > journal_filled + 1e-12 and vo.avg_fill_price:
                await self._on_fill(
                    VenueFill(
                        fill_id=f"recon-{cid}-{vo.filled_qty!r}",
                        client_order_id=cid,
                        venue_order_id=vo.venue_order_id,
                        symbol=vo.symbol,
                        side=vo.side,
                        qty=vo.filled_qty - journal_filled,
                        price=vo.avg_fill_price,
                        fee=0.0,
                        fee_currency="",
                        liquidity="taker",
                        ts_exchange_ns=vo.ts_exchange_ns,
                        ts_recv_ns=time.time_ns(),
                    )
                )
            await self._on_order(vo)
        open_on_venue = await venue.fetch_open_orders()
        positions = {p.symbol: p.qty for p in await venue.fetch_positions()}
        state = await self.journal.rebuild_state()
        snapshot = VenueSnapshot(
            venue=self.venue_name,
            positions=positions,
            open_orders=[
                JournalVenueOrder(
                    o.client_order_id, o.venue_order_id, o.symbol, str(o.side), o.qty, o.filled_qty
                )
                for o in open_on_venue
            ],
        )
        result = reconcile(state, snapshot, qty_abs_tol=1e-9)
        self.last_reconciliation = result
        if result.unknown_venue_orders or result.position_differences:
            self.set_condition(
                "reconcile",
                "degraded",
                f"{len(result.unknown_venue_orders)} unknown venue orders, "
                f"{len(result.position_differences)} position differences",
            )
            self.log.warning(
                "reconciliation differences",
                extra={
                    "venue": self.venue_name,
                    "unknown_orders": len(result.unknown_venue_orders),
                    "position_differences": len(result.position_differences),
                },
            )
        else:
            self.clear_condition("reconcile")

    # ------------------------------------------------------------------ reports
    async def _journal_event(
        self,
        cid: str,
        rec: OrderRecord,
        status: str,
        *,
        filled: float = 0.0,
        avg: float | None = None,
        venue_order_id: str = "",
        reason: str = "",
    ) -> None:
        assert self.journal is not None
        await self.journal.append(
            OrderEventRecord(
                client_order_id=cid,
                venue=self.venue_name,
                status=status,
                filled_qty=filled,
                avg_fill_price=avg,
                venue_order_id=venue_order_id,
                reason=reason[:200],
                ts_ns=time.time_ns(),
            )
        )
        entry = self.orders.get(cid)
        if entry is not None:
            entry[1], entry[2] = status, max(entry[2], filled)
        self.metrics.order_status(self.venue_name, status)
        if status == "rejected":
            qty = rec.qty
            await self.publish(
                "reports",
                order_topic(self.venue_name, rec.symbol),
                m.OrderEvent(
                    client_order_id=cid,
                    venue=self.venue_name,
                    symbol=rec.symbol,
                    side=rec.side,
                    status="rejected",
                    qty=qty,
                    reason=reason[:200],
                    ts_recv_ns=time.time_ns(),
                ),
            )

    async def _on_order(self, vo: VenueOrder) -> None:
        entry = self.orders.get(vo.client_order_id)
        if entry is None:
            return  # not ours (or not journaled): reconciliation reports it
        status = _JOURNAL_STATUS.get(str(vo.status), "open")
        key = (status, vo.filled_qty)
        seen = self._published_state.setdefault(vo.client_order_id, set())
        if key in seen or (entry[1] in TERMINAL_ORDER_STATUSES and status not in TERMINAL_ORDER_STATUSES):
            return
        seen.add(key)
        assert self.journal is not None
        await self.journal.append(
            OrderEventRecord(
                client_order_id=vo.client_order_id,
                venue=self.venue_name,
                status=status,
                filled_qty=vo.filled_qty,
                avg_fill_price=vo.avg_fill_price,
                venue_order_id=vo.venue_order_id,
                reason=vo.reject_reason[:200],
                ts_ns=time.time_ns(),
            )
        )
        entry[1], entry[2] = status, max(entry[2], vo.filled_qty)
        self.metrics.order_status(self.venue_name, status)
        await self.publish(
            "reports", order_topic(self.venue_name, vo.symbol), order_event_message(self.venue_name, vo)
        )
        self._dirty.set()

    async def _on_fill(self, f: VenueFill) -> None:
        if f.fill_id in self.fill_ids or f.client_order_id not in self.orders:
            return
        self.fill_ids.add(f.fill_id)
        assert self.journal is not None
        await self.journal.append(
            FillRecord(
                venue=self.venue_name,
                fill_id=f.fill_id,
                symbol=f.symbol,
                side=str(f.side),
                qty=f.qty,
                price=f.price,
                fee=f.fee,
                fee_currency=f.fee_currency,
                liquidity=str(f.liquidity),
                client_order_id=f.client_order_id,
                venue_order_id=f.venue_order_id,
                ts_ns=f.ts_exchange_ns or time.time_ns(),
            )
        )
        self.filled_by_order[f.client_order_id] = self.filled_by_order.get(f.client_order_id, 0.0) + f.qty
        await self.publish("reports", fill_topic(self.venue_name, f.symbol), fill_message(self.venue_name, f))
        self._dirty.set()

    async def _save_loop(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            self._save_paper()
            await asyncio.sleep(0.02)

    def _save_paper(self) -> None:
        if self.store is not None and self.venue is not None:
            self.store.save(self.venue.account_state())  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ requests
    async def handle_request(self, server: str, request: Any) -> Any:
        if isinstance(request, m.OrderRequest):
            return await self._place(request)
        if isinstance(request, m.CancelRequest):
            return await self._cancel(request)
        return await super().handle_request(server, request)

    def _ack(
        self, request: Any, accepted: bool, reason: str = "", venue_order_id: str | None = None
    ) -> m.OrderAck:
        return m.OrderAck(
            request_id=request.request_id,
            client_order_id=request.client_order_id,
            accepted=accepted,
            reason=reason[:300],
            venue_order_id=venue_order_id or None,
        )

    async def _venue_call(self, fn: Any) -> Any:
        return await self.breaker.call(lambda: asyncio.wait_for(fn(), self.order_timeout_s))

    async def _place(self, req: m.OrderRequest) -> m.OrderAck | None:
        t0 = time.perf_counter()
        venue = self.venue
        assert venue is not None and self.journal is not None
        cid = req.client_order_id
        if req.venue != self.venue_name:
            return self._ack(req, False, f"invalid: venue {req.venue!r} is not {self.venue_name!r}")
        try:
            rules = venue.market(req.symbol)
        except verr.VenueError:
            return self._ack(req, False, f"invalid: unknown symbol {req.symbol!r}")
        vreq = VenueOrderRequest(
            client_order_id=cid,
            symbol=req.symbol,
            side=Side(req.side),
            type=OrderType(req.type),
            qty=req.qty,
            price=req.price,
            time_in_force=TimeInForce.GTC
            if req.time_in_force == "post_only"
            else TimeInForce(req.time_in_force),
            post_only=req.time_in_force == "post_only",
            reduce_only=req.reduce_only,
        )
        entry = self.orders.get(cid)
        if entry is not None:  # seen before: never place twice
            try:
                vo = await self._venue_call(lambda: venue.fetch_order(cid, req.symbol))
            except verr.OrderNotFound:
                if entry[1] == "rejected":
                    return self._ack(req, False, "rejected: already rejected")
                vo = None
            except Exception as exc:
                return self._unavailable(req, exc)
            if vo is not None:
                await self._on_order(vo)
                return self._ack(req, True, "duplicate", vo.venue_order_id)
        else:
            try:
                rules.validate(vreq)
            except verr.InvalidOrder as exc:
                return self._ack(req, False, f"invalid: {exc.code} {exc}")
            if self.breaker.state is BreakerState.OPEN:
                self._breaker_health()
                return self._ack(req, False, "breaker_open")
            rec = OrderRecord(
                client_order_id=cid,
                venue=self.venue_name,
                symbol=req.symbol,
                side=req.side,
                order_type=req.type,
                qty=req.qty,
                price=req.price,
                time_in_force=req.time_in_force,
                reduce_only=req.reduce_only,
                post_only=vreq.post_only,
                strategy=req.sender or req.reason,
                ts_ns=time.time_ns(),
            )
            await self.journal.append(rec)  # committed before the venue call and the ack
            self.orders[cid] = [rec, "new", 0.0]
        try:
            vo = await self._venue_call(lambda: venue.create_order(vreq))
        except (verr.VenueError, CircuitOpenError, TimeoutError) as exc:
            if (
                isinstance(exc, CircuitOpenError)
                or getattr(exc, "retryable", False)
                or isinstance(exc, TimeoutError)
            ):
                return self._unavailable(req, exc)
            self.metrics.error("venue", type(exc).__name__)
            reason = f"rejected: {getattr(exc, 'code', '')} {exc}".strip()
            await self._journal_event(cid, self.orders[cid][0], "rejected", reason=reason)
            return self._ack(req, False, reason)
        finally:
            self._breaker_health()
        await self._on_order(vo)
        self.metrics.order_acknowledged(self.venue_name, time.perf_counter() - t0)
        return self._ack(req, True, "", vo.venue_order_id)

    def _unavailable(self, req: Any, exc: BaseException) -> None:
        """No reply (and nothing cached) for an unknown outcome: the client's retry runs again."""
        self.metrics.error("venue", type(exc).__name__)
        self._breaker_health()
        self.log.warning("venue call failed for %s: %s", req.client_order_id, type(exc).__name__)
        return None

    def _breaker_health(self) -> None:
        state = self.breaker.state
        self.metrics.set_connection(self.venue_name, state is BreakerState.CLOSED)
        if state is BreakerState.CLOSED:
            self.clear_condition("breaker")
        else:
            snap = self.breaker.snapshot()
            self.set_condition(
                "breaker",
                "down" if state is BreakerState.OPEN else "degraded",
                f"{state.value}: {snap.last_open_reason}",
            )

    def check_health(self) -> None:
        self._breaker_health()

    async def _cancel(self, req: m.CancelRequest) -> m.OrderAck | None:
        venue = self.venue
        assert venue is not None
        entry = self.orders.get(req.client_order_id)
        if entry is None:
            return self._ack(req, False, "unknown order")
        try:
            vo = await self._venue_call(lambda: venue.cancel_order(req.client_order_id, req.symbol))
        except verr.OrderNotFound:
            return self._ack(req, False, f"not open (status {entry[1]})")
        except Exception as exc:
            return self._unavailable(req, exc)
        await self._on_order(vo)
        return self._ack(req, True, "", vo.venue_order_id)

    # ------------------------------------------------------------------ stop
    async def on_stop(self) -> None:
        venue = self.venue
        if venue is None:
            return
        try:
            if self.cancel_on_stop:
                await self.cancel_all("shutdown")
        finally:
            self._save_paper()
            if self._own_venue:
                await venue.close()
            if self.store is not None:
                self.store.close()

    async def cancel_all(self, reason: str = "") -> int:
        """Cancel every order open on the venue; returns how many were cancelled."""
        venue = self.venue
        assert venue is not None
        n = 0
        for vo in await venue.fetch_open_orders():
            try:
                done = await asyncio.wait_for(
                    venue.cancel_order(vo.client_order_id, vo.symbol), self.order_timeout_s
                )
            except Exception as exc:
                self.metrics.error("cancel", type(exc).__name__)
                continue
            await self._on_order(done)
            n += 1
        if n:
            self.log.info("cancelled open orders", extra={"count": n, "reason": reason})
        return n

    async def on_command(self, command: m.Command) -> str:
        if command.command == "flatten":
            return f"cancelled {await self.cancel_all('flatten')} orders"
        return await super().on_command(command)


PROCESS_CLASS = TradingEngine
