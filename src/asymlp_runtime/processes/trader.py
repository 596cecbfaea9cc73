"""``trader``: hedges the LP's residual token0 exposure on a CeFi perpetual, with a kill switch.

Inputs (subscribers): ``lp`` (:class:`~asymlp_runtime.messages.InventoryDelta` on ``inventory.``;
``delta0`` summed over pools is the LP delta), ``market_data`` (quotes of ``TRADER.hedge_venue`` /
``hedge_symbol``), ``reports`` (fills and order events of the trading engine), ``account``
(positions of the position server), ``supervisor`` (commands).

Hedge decision (the hot path, on every Quote, InventoryDelta, Fill or Position)
    ``residual = lp_delta + hedge_position + in_flight`` and the order is
    :func:`asymlp_core.hedge.nb.hedge_order_size` ``(residual, TRADER.hedge_band, to_band_edge,
    min_size, qty_step)`` -- the kernel the backtester's ``hedge_decide`` calls -- with
    ``min_size = max(TRADER.min_order_qty, min_notional / mid)`` rounded up to the step. At most
    one hedge order is in flight. The order goes to the ``orders_<venue>`` client (first client
    whose name starts with ``orders``) as a market :class:`~asymlp_runtime.messages.OrderRequest`
    with client order id ``make_client_order_id(process_name, seq)``. Every decision is journaled
    (checkpoint ``hedge_decision``, ``seq``, JSON payload), and its resolution too
    (``hedge_resolved``); the decision is queued to the journal's writer thread and the request
    sent without waiting for the commit, so the path stays well under a millisecond. After a
    restart, an unresolved last decision's ``seq`` is used again, so a re-decided order carries
    the same id and the trading engine returns the existing order instead of placing another;
    if the commit was lost the same ``seq`` comes back anyway.

Hedge position: updated by each of our fills as it arrives; a position server's ``Position``
replaces it when no order is in flight and no fill came in the last ``resync_after_s`` (the
difference, fills the trader missed, is booked at the mid). After a restart the trader restores
its hedge position, the LP deltas it last saw and its PnL state from its last ``pnl`` checkpoint
(so that it does not unwind the hedge before the LP's next ``InventoryDelta``) and places nothing
until a
``Position`` has confirmed the hedge or ``position_wait_s`` has passed (first run: no wait).

Kill switch (``RiskState.kill_flags``, :data:`~asymlp_runtime.messages.KILL_*` bits)
    ``KILL_STALE_DATA`` no quote for ``TRADER.stale_quote_age_s`` (clears on a fresh quote);
    ``KILL_VENUE_DOWN`` the order path's breaker is open: ``breaker_failures`` consecutive
    timeouts or ``venue_unavailable``/``breaker_open`` rejections (clears when a probe succeeds;
    while half-open with a hedge on, the flatten order is the probe);
    ``KILL_MAX_POSITION`` ``|hedge|`` above ``TRADER.max_position`` (hedge orders are also capped
    so that they never take it there);
    ``KILL_MAX_LOSS`` PnL below ``-TRADER.max_loss``; ``KILL_MANUAL`` a ``flatten`` command (these
    three latch until a ``resume`` command). While any flag is set no hedge is placed; the hedge
    is flattened with reduce-only market orders (retried every ``flatten_retry_s``), and when a
    flag is newly set a :class:`~asymlp_runtime.messages.Command` ``pull_liquidity`` to
    ``lp_manager`` goes out on the ``control`` publisher (topic ``cmd.lp_manager``), and a
    ``resume`` when every flag has cleared.

``RiskState`` (residual, hedge position, LP delta, PnL, kill flags) is published on
``risk.trader`` every ``risk_interval_s`` and whenever the flags change. PnL = hedge PnL (cash
from our fills plus position at the mid, fees included) + the LP inventory's PnL from price moves
(``lp_delta * d mid`` summed over quotes: what the hedge offsets; deposits and withdrawals of
liquidity are transfers, not PnL, and pool fees are the LP manager's to report). The state
(``cash``, hedge position, LP PnL) is checkpointed after every fill and every few seconds.
Timing of the hot path is kept in :attr:`Trader.decision_ns` (receive to request dispatched).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import deque
from typing import Any

import msgspec

from asymlp_core.hedge.nb import hedge_order_size
from asymlp_runtime import messages as m
from asymlp_runtime.bus import RequestTimeout
from asymlp_runtime.config import ProcessConfig
from asymlp_runtime.journal import CheckpointRecord
from asymlp_runtime.ops.resilience import BreakerState, CircuitBreaker, CircuitOpenError
from asymlp_runtime.processes.base import ProcessBase
from asymlp_runtime.processes.topics import RISK_TOPIC, command_topic, topic_symbol
from asymlp_runtime.venues.base import CLIENT_ORDER_ID_RULES, make_client_order_id

__all__ = ["PROCESS_CLASS", "Trader"]

_LATCHING = m.KILL_MAX_POSITION | m.KILL_MAX_LOSS | m.KILL_MANUAL
_VENUE_FAILURE_REASONS = ("breaker_open", "venue_unavailable")


class Trader(ProcessBase):
    """The hedger (see the module docstring).

    Parameters
    ----------
    config : ProcessConfig
        Needs ``[TRADER]``, an ``orders*`` client and the subscribers above.
    qty_step, min_notional : float
        Venue amount step and minimum notional of the hedge instrument (binance ETHUSDT).
    to_band_edge : bool
        Hedge back to the band edge instead of to zero.
    breaker_failures, breaker_cooldown_s : int, float
        Order-path breaker: consecutive failures to open, time before a probe.
    flatten_retry_s, risk_interval_s, resync_after_s : float
        Flatten retry period, RiskState period, quiet time before a Position resyncs the hedge.
    position_wait_s : float
        After a restart, longest wait for a Position before trading on the checkpointed hedge.
    """

    kind = "trader"

    def __init__(
        self,
        config: ProcessConfig,
        *,
        qty_step: float = 0.001,
        min_notional: float = 20.0,
        to_band_edge: bool = False,
        breaker_failures: int = 3,
        breaker_cooldown_s: float = 2.0,
        flatten_retry_s: float = 0.5,
        risk_interval_s: float = 0.1,
        resync_after_s: float = 1.0,
        position_wait_s: float = 3.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(config, **kwargs)
        if config.trader is None:
            raise ValueError(f"{config.process_name}: the trader needs a [TRADER] section")
        t = self.tc = config.trader
        self.hedge_venue, self.hedge_symbol = t.hedge_venue, t.hedge_symbol
        self._sym_key = topic_symbol(t.hedge_symbol)
        self.qty_step, self.min_notional = qty_step, min_notional
        self.to_band_edge = 1 if to_band_edge else 0
        self.flatten_retry_s, self.risk_interval_s, self.resync_after_s = (
            flatten_retry_s,
            risk_interval_s,
            resync_after_s,
        )
        self.cid_rule = self.hedge_venue if self.hedge_venue in CLIENT_ORDER_ID_RULES else "paper"
        self.breaker = CircuitBreaker(
            f"orders.{self.hedge_venue}",
            failure_threshold=breaker_failures,
            cooldown_s=breaker_cooldown_s,
            error_rate_threshold=2.0,
        )
        self.lp_deltas: dict[str, float] = {}
        self.lp_delta = 0.0
        self.lp_pnl = 0.0
        self.position_known = True
        self._pnl_seq = 0
        self.position_wait_s = position_wait_s
        self._start_mono = 0.0
        self.hedge_position = 0.0
        self.cash = 0.0
        self.mid = math.nan
        self.quote_mono = -math.inf
        self.in_flight: dict[str, float] = {}  # client order id -> signed qty not yet filled
        self.retry_request: m.OrderRequest | None = None
        self.kill_flags = 0
        self.seq = 0
        self.last_fill_mono = -math.inf
        self._last_flatten_mono = -math.inf
        self._order_client: Any = None
        self._fill_ids: set[str] = set()
        self._seq_of: dict[str, int] = {}
        self.decision_ns: deque[int] = deque(maxlen=100_000)
        self.orders_sent = 0
        self.pull_liquidity_sent = 0

    # ------------------------------------------------------------------ start / stop
    async def on_start(self) -> None:
        self._order_client = next((c for k, c in self.clients.items() if k.startswith("orders")), None)
        if self._order_client is None:
            raise ValueError(f"{self.process_name}: no [CLIENTS.orders_*] entry")
        if self.journal is not None:
            state = await self.journal.rebuild_state()
            decided = state.checkpoints.get((self.process_name, "hedge_decision"))
            resolved = state.checkpoints.get((self.process_name, "hedge_resolved"))
            last = decided.seq if decided else 0
            done = resolved.seq if resolved else 0
            self.seq = last - 1 if last > done else last  # re-use an unresolved decision's id
            pnl = state.checkpoints.get((self.process_name, "pnl"))
            if pnl is not None:
                saved = json.loads(pnl.payload)
                self.cash, self.hedge_position = saved["cash"], saved["hedge_position"]
                self.lp_pnl = saved["lp_pnl"]
                self.lp_deltas = {str(k): float(v) for k, v in saved.get("lp_deltas", {}).items()}
                self.lp_delta = sum(self.lp_deltas.values())
                self._pnl_seq = pnl.seq
                self.position_known = False  # wait for the position server to confirm the hedge
        self._start_mono = self.quote_mono = time.monotonic()  # staleness counts from the start
        self.spawn(self._risk_loop(), "risk")

    async def on_stop(self) -> None:
        self._checkpoint_pnl()

    def _checkpoint_pnl(self) -> None:
        self._pnl_seq += 1  # checkpoints are unique by (process, name, seq): one seq per snapshot
        self._checkpoint(
            "pnl",
            json.dumps(
                {
                    "cash": self.cash,
                    "hedge_position": self.hedge_position,
                    "lp_pnl": self.lp_pnl,
                    "lp_deltas": self.lp_deltas,
                }
            ),
            seq=self._pnl_seq,
        )

    def _checkpoint(self, name: str, payload: str, seq: int | None = None) -> None:
        if self.journal is None:
            return
        record = CheckpointRecord(
            process=self.process_name,
            name=name,
            seq=self.seq if seq is None else seq,
            payload=payload,
            ts_ns=time.time_ns(),
        )
        self.spawn(self.journal.append(record), f"journal.{name}")  # queued now, committed off the loop

    # ------------------------------------------------------------------ inputs
    async def on_message(self, stream: str, delivery: Any) -> None:
        t0 = time.perf_counter_ns()
        msg = delivery.message
        if isinstance(msg, m.Quote):
            if msg.venue != self.hedge_venue or topic_symbol(msg.symbol) != self._sym_key:
                return
            mid = 0.5 * (msg.bid + msg.ask)
            if self.mid == self.mid:
                self.lp_pnl += self.lp_delta * (mid - self.mid)
            self.mid = mid
            self.quote_mono = time.monotonic()
        elif isinstance(msg, m.InventoryDelta):
            self.lp_deltas[msg.pool_id] = msg.delta0
            self.lp_delta = sum(self.lp_deltas.values())
        elif isinstance(msg, m.Fill):
            if not self._on_fill(msg):
                return
        elif isinstance(msg, m.OrderEvent):
            if (
                msg.status in ("filled", "canceled", "rejected", "expired")
                and msg.client_order_id in self.in_flight
            ):
                self._resolve(msg.client_order_id)
            return
        elif isinstance(msg, m.Position):
            if (
                msg.venue == self.hedge_venue
                and topic_symbol(msg.symbol) == self._sym_key
                and not self.in_flight
                and self.retry_request is None
                and time.monotonic() - self.last_fill_mono > self.resync_after_s
            ):
                missed = msg.qty - self.hedge_position
                if missed != 0.0:  # fills we did not see, booked at the mid
                    mark = self.mid if self.mid == self.mid else (msg.mark_price or msg.entry_price or 0.0)
                    self.cash -= missed * mark
                    self.hedge_position = msg.qty
                    self._checkpoint_pnl()
                self.position_known = True
        else:
            return
        self.decide(t0)

    def _on_fill(self, f: m.Fill) -> bool:
        if (
            f.venue != self.hedge_venue
            or topic_symbol(f.symbol) != self._sym_key
            or f.fill_id in self._fill_ids
        ):
            return False
        self._fill_ids.add(f.fill_id)
        signed = f.qty if f.side == "buy" else -f.qty
        self.hedge_position += signed
        self.cash -= signed * f.price + f.fee
        self.last_fill_mono = time.monotonic()
        left = self.in_flight.get(f.client_order_id)
        if left is not None:
            left -= signed
            if abs(left) <= 1e-12 or left * signed < 0:
                self._resolve(f.client_order_id)
            else:
                self.in_flight[f.client_order_id] = left
        self._checkpoint_pnl()
        return True

    def _resolve(self, cid: str) -> None:
        self.in_flight.pop(cid, None)

    # ------------------------------------------------------------------ decision
    @property
    def pnl(self) -> float:
        """Hedge PnL at the mid plus the LP inventory's PnL from price moves (quote currency)."""
        if self.mid != self.mid:
            return 0.0
        return self.cash + self.hedge_position * self.mid + self.lp_pnl

    @property
    def residual(self) -> float:
        """LP delta + hedge position (token0)."""
        return self.lp_delta + self.hedge_position

    def _risk_flags(self, latched: int | None = None) -> int:
        """Current kill flags: the latched ones (``latched``, default the current) plus conditions."""
        t = self.tc
        flags = (self.kill_flags if latched is None else latched) & _LATCHING
        if time.monotonic() - self.quote_mono > t.stale_quote_age_s:
            flags |= m.KILL_STALE_DATA
        if abs(self.hedge_position) > t.max_position * (1.0 + 1e-9):
            flags |= m.KILL_MAX_POSITION
        if self.mid == self.mid and self.pnl < -t.max_loss:
            flags |= m.KILL_MAX_LOSS
        state = self.breaker.state
        if state is BreakerState.OPEN or (state is BreakerState.HALF_OPEN and self.hedge_position != 0.0):
            flags |= m.KILL_VENUE_DOWN  # half-open with a hedge: the flatten order is the probe
        return flags

    def _set_flags(self, flags: int) -> None:
        new = flags & ~self.kill_flags
        changed = flags != self.kill_flags
        self.kill_flags = flags
        if new:
            self.log.warning("kill switch", extra={"flags": flags, "new": new})
            self.pull_liquidity_sent += 1
            self._command_lp("pull_liquidity", f"kill_flags={flags}")
        elif changed and flags == 0:
            self.log.info("kill switch cleared")
            self._command_lp("resume", "kill switch cleared")
        if changed:
            self.spawn(self._publish_risk(), "risk_state")
            if flags:
                self.set_condition("kill", "degraded", f"kill_flags={flags}")
            else:
                self.clear_condition("kill")

    def _command_lp(self, command: str, reason: str) -> None:
        msg = m.Command(
            command_id=f"{self.process_name}-{command}-{time.time_ns()}",
            command=command,  # type: ignore[arg-type]
            target="lp_manager",
            reason=reason,
        )
        self.spawn(self.publish("control", command_topic("lp_manager"), msg), command)

    def decide(self, t0: int | None = None) -> None:
        """Run the hedge decision now (the hot path); dispatches at most one order."""
        self._set_flags(self._risk_flags())
        if self.in_flight or self.paused:
            return
        if not self.position_known:
            if time.monotonic() - self._start_mono < self.position_wait_s:
                return
            self.position_known = True
        if self.retry_request is not None:
            self._dispatch(self.retry_request, t0)
            return
        if self.kill_flags:
            self._flatten(t0)
            return
        mid = self.mid
        if mid != mid:
            return
        step = self.qty_step
        min_size = max(self.tc.min_order_qty, math.ceil(self.min_notional / mid / step - 1e-9) * step)
        size = hedge_order_size(self.residual, self.tc.hedge_band, self.to_band_edge, min_size, step)
        if size == 0.0:
            return
        room = self.tc.max_position - abs(self.hedge_position)
        if (size > 0.0) == (self.hedge_position > 0.0) and abs(size) > room:  # never past max_position
            capped = math.floor(max(room, 0.0) / step + 1e-9) * step
            if capped < min_size:
                return
            size = math.copysign(capped, size)
        self._new_order(size, False, "hedge", t0)

    def _flatten(self, t0: int | None) -> None:
        qty = abs(self.hedge_position)
        qty = math.floor(qty / self.qty_step + 1e-9) * self.qty_step
        now = time.monotonic()
        if qty <= 0.0 or now - self._last_flatten_mono < self.flatten_retry_s:
            return
        self._last_flatten_mono = now
        self._new_order(-math.copysign(qty, self.hedge_position), True, "flatten", t0)

    def _new_order(self, signed_qty: float, reduce_only: bool, reason: str, t0: int | None) -> None:
        self.seq += 1
        cid = make_client_order_id(self.process_name, self.seq, venue=self.cid_rule)
        req = m.OrderRequest(
            client_order_id=cid,
            venue=self.hedge_venue,
            symbol=self.hedge_symbol,
            side="buy" if signed_qty > 0 else "sell",
            qty=round(abs(signed_qty), 12),
            reduce_only=reduce_only,
            reason=reason,
        )
        self._seq_of[cid] = self.seq
        self._checkpoint(
            "hedge_decision",
            msgspec.json.encode(
                {
                    "cid": cid,
                    "qty": signed_qty,
                    "reason": reason,
                    "residual": self.residual,
                    "kill_flags": self.kill_flags,
                }
            ).decode(),
        )
        self._dispatch(req, t0)

    def _dispatch(self, req: m.OrderRequest, t0: int | None) -> None:
        try:
            self.breaker.before_call()
        except CircuitOpenError:
            return
        signed = req.qty if req.side == "buy" else -req.qty
        self.in_flight[req.client_order_id] = signed
        self.orders_sent += 1
        self.spawn(self._send(req), "order")
        if t0 is not None:
            self.decision_ns.append(time.perf_counter_ns() - t0)

    async def _send(self, req: m.OrderRequest) -> None:
        cid = req.client_order_id
        try:
            ack = await self._order_client.request(req)
        except RequestTimeout:
            self.breaker.record_failure(TimeoutError("order path"))
            self.retry_request = req  # outcome unknown: resend the same id
            self._resolve(cid)
            self.metrics.error("orders", "timeout")
            return
        if not ack.accepted and ack.reason.startswith(_VENUE_FAILURE_REASONS):
            self.breaker.record_failure(ConnectionError(ack.reason))
            self.retry_request = req if ack.reason.startswith("venue_unavailable") else None
            self._resolve(cid)
            return
        self.breaker.record_success()
        self.retry_request = None
        self._checkpoint(
            "hedge_resolved",
            "accepted" if ack.accepted else ack.reason[:100],
            seq=self._seq_of.pop(cid, self.seq),
        )
        if not ack.accepted or ack.reason == "duplicate":
            self._resolve(cid)  # nothing new in flight (the position message resyncs a duplicate)
        self._set_flags(self._risk_flags())

    async def _publish_risk(self) -> None:
        residual, pnl = self.residual, self.pnl
        await self.publish(
            "risk",
            RISK_TOPIC,
            m.RiskState(
                residual=residual,
                hedge_position=self.hedge_position,
                lp_delta=self.lp_delta,
                pnl=pnl if math.isfinite(pnl) else 0.0,
                kill_flags=self.kill_flags,
            ),
        )

    async def _risk_loop(self) -> None:
        n = 0
        while True:
            await asyncio.sleep(self.risk_interval_s)
            self.decide()  # staleness and flatten retries need no incoming message
            await self._publish_risk()
            n += 1
            if n % 50 == 0:
                self._checkpoint_pnl()

    # ------------------------------------------------------------------ commands
    async def on_command(self, command: m.Command) -> str:
        if command.command == "flatten":
            self._set_flags(self._risk_flags(self.kill_flags | m.KILL_MANUAL))
            self.decide()
            return "flattening"
        if command.command == "resume":
            self._set_flags(self._risk_flags(latched=0))
            self.paused = False
            return "resumed"
        return await super().on_command(command)


PROCESS_CLASS = Trader
