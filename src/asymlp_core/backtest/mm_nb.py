"""Event-driven market-making backtest kernel (Numba; kernels only, no validation).

Contract: ``run_mm_1d`` takes the event array (``EVENT_DTYPE``, sorted by ``exch_ts`` and
by ``local_ts``), a target-inventory step function, the configuration tuple and
caller-allocated output buffers; it fills them and returns ``(n_fills, n_states)``.
When a buffer is too small the counts keep growing past its length (nothing is written
past the end) so the caller can allocate more and run again.

Model of the exchange (two clocks, merged in time order):
- The strategy acts on the *local* clock: it sees an event at ``local_ts`` and learns of
  its fills ``response_latency_ns`` after they happen.  Every ``requote_interval_ns`` it
  computes quotes (Avellaneda-Stoikov or GLFT) from its view of the mid and of its
  inventory minus the target, rounds them outward to the tick grid and, if they
  changed, sends a replace that reaches the exchange ``entry_latency_ns`` later.
- At the exchange an order joins the back of its price level: the queue ahead is the
  displayed top-of-book quantity at that price (unknown, so infinite, behind the top).
  The queue ahead shrinks by trades at our price and to the displayed quantity when
  that falls below it (the risk-averse queue model: cancellations are assumed to come
  from behind us).  A trade at our price fills us with what exceeds the queue ahead
  (partial fills); a trade through our price, or a book that crosses it, fills us in
  full at our price.  A non-post-only order that crosses on arrival takes the opposite
  top (taker fee) and rests for the rest.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..models.nb import as_quotes_nb, glft_c1_nb, glft_c2_nb, glft_quotes_nb
from .enums import BOOK_TOP_EVENT, BUY_EVENT, MODEL_AS, SELL_EVENT, TRADE_EVENT

_INF_TS = np.int64(9_223_372_036_854_775_807)
_REPORTS = 256  # ring buffer of fill reports in flight to the strategy


@njit(cache=True, inline="always")
def _record_fill(out_fills, n_fills, ts, side, px, qty, fee, maker):
    if n_fills < out_fills.shape[0]:
        out_fills[n_fills].exch_ts = ts
        out_fills[n_fills].side = side
        out_fills[n_fills].px = px
        out_fills[n_fills].qty = qty
        out_fills[n_fills].fee = fee
        out_fills[n_fills].maker = maker
    return n_fills + 1


@njit(cache=True, inline="always")
def _push_report(rep_ts, rep_qty, rep_kind, rep_head, rep_tail, ts, qty, kind):
    """Queue a report (0 bid fill, 1 ask fill, 2 bid reject, 3 ask reject) for the strategy;
    dropped when the ring is full.  Returns the new tail."""
    if rep_tail - rep_head < _REPORTS:
        j = rep_tail % _REPORTS
        rep_ts[j] = ts
        rep_qty[j] = qty
        rep_kind[j] = kind
        return rep_tail + 1
    return rep_tail


@njit(cache=True)
def run_mm_1d(events, target_ts, target_qty, cfg, out_fills, out_states):
    n = events.shape[0]
    tick = cfg.tick_size
    lot = cfg.lot_size
    # GLFT constants (inventory counted in order_qty units, delta = 1 unit)
    c1 = glft_c1_nb(cfg.xi, 1.0, cfg.k)
    c2 = glft_c2_nb(cfg.xi, cfg.gamma, 1.0, cfg.A, cfg.k)

    # exchange state
    ex_bid_px = np.nan
    ex_bid_qty = 0.0
    ex_ask_px = np.nan
    ex_ask_qty = 0.0
    position = 0.0
    cash = 0.0
    # our two orders: live price, remaining qty, queue ahead; pending replace
    b_px = np.nan
    b_qty = 0.0
    b_queue = 0.0
    a_px = np.nan
    a_qty = 0.0
    a_queue = 0.0
    b_new_px = np.nan
    b_new_qty = 0.0
    b_new_ts = _INF_TS
    a_new_px = np.nan
    a_new_qty = 0.0
    a_new_ts = _INF_TS
    # local view
    loc_bid = np.nan
    loc_ask = np.nan
    loc_position = 0.0
    want_b_px = np.nan
    want_b_qty = 0.0
    want_a_px = np.nan
    want_a_qty = 0.0
    next_decision = np.int64(-_INF_TS)
    rep_ts = np.empty(_REPORTS, dtype=np.int64)
    rep_qty = np.empty(_REPORTS, dtype=np.float64)
    rep_kind = np.empty(_REPORTS, dtype=np.int64)  # 0 bid fill, 1 ask fill, 2 bid reject, 3 ask reject
    loc_b_open = 0.0
    loc_a_open = 0.0
    rep_head = 0
    rep_tail = 0
    i_tgt = 0
    n_tgt = target_ts.shape[0]

    n_fills = 0
    n_states = 0
    i_ex = 0
    i_loc = 0
    while i_ex < n or i_loc < n:
        t_ex = events[i_ex].exch_ts if i_ex < n else _INF_TS
        t_loc = events[i_loc].local_ts if i_loc < n else _INF_TS
        t_rep = min(b_new_ts, a_new_ts)

        if t_rep <= t_ex and t_rep <= t_loc:
            # ---- a replace reaches the exchange
            if b_new_ts == t_rep:
                b_px = b_new_px
                b_qty = b_new_qty
                b_new_ts = _INF_TS
                if b_qty > 0.0:
                    if ex_ask_px == ex_ask_px and b_px >= ex_ask_px:
                        if cfg.post_only != 0:
                            b_qty = 0.0
                            rep_tail = _push_report(
                                rep_ts, rep_qty, rep_kind, rep_head, rep_tail, t_rep + cfg.response_latency_ns, 0.0, 2
                            )
                        else:
                            take = min(b_qty, ex_ask_qty)
                            fee = take * ex_ask_px * cfg.taker_fee
                            position += take
                            cash -= take * ex_ask_px + fee
                            n_fills = _record_fill(out_fills, n_fills, t_rep, 1, ex_ask_px, take, fee, 0)
                            rep_tail = _push_report(
                                rep_ts, rep_qty, rep_kind, rep_head, rep_tail, t_rep + cfg.response_latency_ns, take, 0
                            )
                            b_qty -= take
                            b_queue = 0.0
                    elif ex_bid_px == ex_bid_px and b_px == ex_bid_px:
                        b_queue = ex_bid_qty
                    elif ex_bid_px == ex_bid_px and b_px < ex_bid_px:
                        b_queue = math.inf
                    else:
                        b_queue = 0.0
            if a_new_ts == t_rep:
                a_px = a_new_px
                a_qty = a_new_qty
                a_new_ts = _INF_TS
                if a_qty > 0.0:
                    if ex_bid_px == ex_bid_px and a_px <= ex_bid_px:
                        if cfg.post_only != 0:
                            a_qty = 0.0
                            rep_tail = _push_report(
                                rep_ts, rep_qty, rep_kind, rep_head, rep_tail, t_rep + cfg.response_latency_ns, 0.0, 3
                            )
                        else:
                            take = min(a_qty, ex_bid_qty)
                            fee = take * ex_bid_px * cfg.taker_fee
                            position -= take
                            cash += take * ex_bid_px - fee
                            n_fills = _record_fill(out_fills, n_fills, t_rep, -1, ex_bid_px, take, fee, 0)
                            rep_tail = _push_report(
                                rep_ts, rep_qty, rep_kind, rep_head, rep_tail, t_rep + cfg.response_latency_ns, take, 1
                            )
                            a_qty -= take
                            a_queue = 0.0
                    elif ex_ask_px == ex_ask_px and a_px == ex_ask_px:
                        a_queue = ex_ask_qty
                    elif ex_ask_px == ex_ask_px and a_px > ex_ask_px:
                        a_queue = math.inf
                    else:
                        a_queue = 0.0
            continue

        if t_ex <= t_loc:
            # ---- an event at the exchange
            ev = events[i_ex]
            i_ex += 1
            fill_b = 0.0
            fill_a = 0.0
            if ev.ev & BOOK_TOP_EVENT:
                ex_bid_px = ev.bid_px
                ex_bid_qty = ev.bid_qty
                ex_ask_px = ev.ask_px
                ex_ask_qty = ev.ask_qty
                if b_qty > 0.0:
                    if ex_ask_px <= b_px:
                        fill_b = b_qty
                    elif ex_bid_px == b_px:
                        b_queue = min(b_queue, ex_bid_qty)
                    elif ex_bid_px < b_px:
                        b_queue = 0.0
                if a_qty > 0.0:
                    if ex_bid_px >= a_px:
                        fill_a = a_qty
                    elif ex_ask_px == a_px:
                        a_queue = min(a_queue, ex_ask_qty)
                    elif ex_ask_px > a_px:
                        a_queue = 0.0
            if ev.ev & TRADE_EVENT:
                if (ev.ev & SELL_EVENT) and b_qty > 0.0:
                    if ev.px < b_px:
                        fill_b = b_qty
                    elif ev.px == b_px:
                        excess = ev.qty - b_queue
                        b_queue = max(0.0, b_queue - ev.qty)
                        if excess > 0.0:
                            fill_b = max(fill_b, min(excess, b_qty))
                if (ev.ev & BUY_EVENT) and a_qty > 0.0:
                    if ev.px > a_px:
                        fill_a = a_qty
                    elif ev.px == a_px:
                        excess = ev.qty - a_queue
                        a_queue = max(0.0, a_queue - ev.qty)
                        if excess > 0.0:
                            fill_a = max(fill_a, min(excess, a_qty))
            if fill_b > 0.0:
                fill_b = math.floor(fill_b / lot + 1e-9) * lot if lot > 0.0 else fill_b
                if fill_b > 0.0:
                    fee = fill_b * b_px * cfg.maker_fee
                    position += fill_b
                    cash -= fill_b * b_px + fee
                    b_qty -= fill_b
                    if b_qty < 1e-12:
                        b_qty = 0.0
                    n_fills = _record_fill(out_fills, n_fills, ev.exch_ts, 1, b_px, fill_b, fee, 1)
                    rep_tail = _push_report(
                        rep_ts, rep_qty, rep_kind, rep_head, rep_tail, ev.exch_ts + cfg.response_latency_ns, fill_b, 0
                    )
            if fill_a > 0.0:
                fill_a = math.floor(fill_a / lot + 1e-9) * lot if lot > 0.0 else fill_a
                if fill_a > 0.0:
                    fee = fill_a * a_px * cfg.maker_fee
                    position -= fill_a
                    cash += fill_a * a_px - fee
                    a_qty -= fill_a
                    if a_qty < 1e-12:
                        a_qty = 0.0
                    n_fills = _record_fill(out_fills, n_fills, ev.exch_ts, -1, a_px, fill_a, fee, 1)
                    rep_tail = _push_report(
                        rep_ts, rep_qty, rep_kind, rep_head, rep_tail, ev.exch_ts + cfg.response_latency_ns, fill_a, 1
                    )
            continue

        # ---- the strategy sees an event on the local clock
        ev = events[i_loc]
        i_loc += 1
        if ev.ev & BOOK_TOP_EVENT:
            loc_bid = ev.bid_px
            loc_ask = ev.ask_px
        while rep_head < rep_tail and rep_ts[rep_head % _REPORTS] <= t_loc:
            j = rep_head % _REPORTS
            kind = rep_kind[j]
            if kind == 0:
                loc_position += rep_qty[j]
                loc_b_open -= rep_qty[j]
            elif kind == 1:
                loc_position -= rep_qty[j]
                loc_a_open -= rep_qty[j]
            elif kind == 2:
                loc_b_open = 0.0
            else:
                loc_a_open = 0.0
            rep_head += 1
        if t_loc < next_decision or loc_bid != loc_bid or loc_ask != loc_ask:
            continue
        next_decision = t_loc + cfg.requote_interval_ns
        while i_tgt + 1 < n_tgt and target_ts[i_tgt + 1] <= t_loc:
            i_tgt += 1
        target = target_qty[i_tgt] if n_tgt > 0 and target_ts[i_tgt] <= t_loc else 0.0
        mid = 0.5 * (loc_bid + loc_ask)
        q_units = (loc_position - target) / cfg.order_qty
        if cfg.model == MODEL_AS:
            bid, ask = as_quotes_nb(mid, q_units, cfg.gamma, cfg.sigma, cfg.tau, cfg.k, cfg.q_max)
        else:
            bid, ask = glft_quotes_nb(mid, q_units, cfg.sigma, c1, c2, 1.0, cfg.mu, cfg.gamma, cfg.q_max,
                                      1.0, 1.0)
        new_b_px = math.floor(bid / tick + 1e-9) * tick if bid == bid else np.nan
        new_a_px = math.ceil(ask / tick - 1e-9) * tick if ask == ask else np.nan
        # post-only quotes never cross the local view of the book
        if cfg.post_only != 0:
            if new_b_px == new_b_px and new_b_px >= loc_ask:
                new_b_px = loc_ask - tick
            if new_a_px == new_a_px and new_a_px <= loc_bid:
                new_a_px = loc_bid + tick
        new_b_qty = cfg.order_qty if new_b_px == new_b_px else 0.0
        new_a_qty = cfg.order_qty if new_a_px == new_a_px else 0.0
        if not (new_b_px == want_b_px or (new_b_qty == 0.0 and want_b_qty == 0.0)):
            b_new_px = new_b_px
            b_new_qty = new_b_qty
            b_new_ts = t_loc + cfg.entry_latency_ns
            want_b_px = new_b_px
            want_b_qty = new_b_qty
            loc_b_open = new_b_qty
        elif new_b_qty > 0.0 and loc_b_open < 1e-12 and b_new_ts == _INF_TS:
            # the strategy learnt that its bid was filled or rejected: post a fresh one
            b_new_px = new_b_px
            b_new_qty = new_b_qty
            b_new_ts = t_loc + cfg.entry_latency_ns
            loc_b_open = new_b_qty
        if not (new_a_px == want_a_px or (new_a_qty == 0.0 and want_a_qty == 0.0)):
            a_new_px = new_a_px
            a_new_qty = new_a_qty
            a_new_ts = t_loc + cfg.entry_latency_ns
            want_a_px = new_a_px
            want_a_qty = new_a_qty
            loc_a_open = new_a_qty
        elif new_a_qty > 0.0 and loc_a_open < 1e-12 and a_new_ts == _INF_TS:
            a_new_px = new_a_px
            a_new_qty = new_a_qty
            a_new_ts = t_loc + cfg.entry_latency_ns
            loc_a_open = new_a_qty
        if n_states < out_states.shape[0]:
            s = out_states[n_states]
            s.local_ts = t_loc
            s.mid = mid
            s.bid = new_b_px
            s.ask = new_a_px
            s.position = position
            s.cash = cash
            s.equity = cash + position * mid
        n_states += 1
    return n_fills, n_states
