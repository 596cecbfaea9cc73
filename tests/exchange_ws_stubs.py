"""A local stand-in for binance USD-M's WebSocket streams, for driving ``ccxt.pro.binanceusdm`` offline.

:class:`BinanceWsStub` is :class:`exchange_stubs.BinanceStub` (REST, on 127.0.0.1) with the
WebSocket side on the same port, speaking the stream formats of binance's USD-M docs:

* market streams: a connection takes ``{"method": "SUBSCRIBE", "params": [...], "id": n}`` and
  answers ``{"result": null, "id": n}``; then :meth:`push_depth` sends ``depthUpdate`` events
  (``U``/``u``/``pu`` chained on the REST snapshot's ``lastUpdateId``, the book behind
  ``/fapi/v1/depth`` moved accordingly) to connections subscribed to ``<symbol>@depth...``, and
  :meth:`push_trade` sends ``trade`` or ``aggTrade`` events to ``<symbol>@trade`` /
  ``<symbol>@aggTrade`` subscribers.
* the user data stream: a connection whose URL carries ``listenKey=<key>`` (ccxt's USD-M form)
  or ends in ``/<key>``; the key must be one ``POST /fapi/v1/listenKey`` issued (API-key header
  checked). An order placed over REST is announced with an ``ORDER_TRADE_UPDATE`` (``x``/``X``
  ``NEW``), and :meth:`fill` executes part or all of it: a ``TRADE_LITE`` and an
  ``ORDER_TRADE_UPDATE`` (``x`` ``TRADE``, ``X`` ``PARTIALLY_FILLED``/``FILLED``, ``l``/``z``/
  ``L``/``ap``/``n``/``N``/``t``/``m``), with the REST order record updated to match.

The URL path decides nothing else: ccxt's production layout (``/public/ws/0``, ``/market/ws/0``,
``/private/ws?listenKey=``) and the adapter's test layout (``/ws-linear/0``) are both served.
Every connection's path and every frame received are recorded; :meth:`drop_connections` closes
sockets from the server side.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from exchange_stubs import FAKE_KEY, FAKE_SECRET, MAKER_FEE, TAKER_FEE, BinanceStub

__all__ = ["MAKER_FEE", "TAKER_FEE", "BinanceWsStub", "WsConnection", "wait_until"]


@dataclass
class WsConnection:
    ws: web.WebSocketResponse
    path: str
    streams: set[str] = field(default_factory=set)  # market connections
    listen_key: str = ""  # user data connections


async def wait_until(predicate: Callable[[], bool], timeout_s: float = 5.0, what: str = "condition") -> None:
    """Poll ``predicate`` every 5 ms until it holds; ``TimeoutError`` naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.005)


class BinanceWsStub(BinanceStub):
    """:class:`BinanceStub` plus USD-M market and user data WebSocket streams on the same port."""

    def __init__(self, api_key: str = FAKE_KEY, secret: str = FAKE_SECRET) -> None:
        super().__init__(api_key, secret)
        self.app.router.add_get("/{path:ws.*|public/.*|market/.*|private/.*}", self.websocket)
        self.market: list[WsConnection] = []
        self.user: list[WsConnection] = []
        self.ws_paths: list[str] = []  # every connection's path with query
        self.ws_received: list[dict[str, Any]] = []  # every frame clients sent
        self.next_agg_id = 900_000
        # when set, /fapi/v1/depth takes its snapshot on arrival and answers once the event is set
        self.depth_hold: asyncio.Event | None = None
        # while set, user data stream connections are refused (503), as during an outage
        self.refuse_user_streams = False
        # each /fapi/v1/userTrades answer: (a user data connection was up, trade ids returned)
        self.user_trades_reads: list[tuple[bool, list[int]]] = []

    async def user_trades(self, request: web.Request) -> web.Response:
        response = await super().user_trades(request)
        if response.status == 200 and response.text:
            self.user_trades_reads.append((bool(self.user), [t["id"] for t in json.loads(response.text)]))
        return response

    async def depth(self, request: web.Request) -> web.Response:
        response = await super().depth(request)
        if self.depth_hold is not None:
            await self.depth_hold.wait()
        return response

    # -- connections -------------------------------------------------------------------------
    async def websocket(self, request: web.Request) -> web.StreamResponse:
        listen_key = request.query.get("listenKey") or ""
        last = request.path.rsplit("/", 1)[-1]
        if not listen_key and last in self.listen_keys:
            listen_key = last
        if listen_key and listen_key not in self.listen_keys:
            # binance refuses the upgrade for an unknown or expired key
            return web.json_response({"code": -1125, "msg": "This listenKey does not exist."}, status=400)
        if listen_key and self.refuse_user_streams:
            return web.Response(status=503, text="<html>Service Unavailable</html>")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.ws_paths.append(str(request.rel_url))
        conn = WsConnection(ws, request.path, listen_key=listen_key)
        pool = self.user if listen_key else self.market
        pool.append(conn)
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                self.ws_received.append(frame)
                await self._on_request(conn, frame)
        finally:
            if conn in pool:
                pool.remove(conn)
        return ws

    async def _on_request(self, conn: WsConnection, frame: dict[str, Any]) -> None:
        method, params, rid = frame.get("method"), frame.get("params") or [], frame.get("id")
        if method == "SUBSCRIBE":
            conn.streams.update(params)
            await conn.ws.send_json({"result": None, "id": rid})
        elif method == "UNSUBSCRIBE":
            conn.streams.difference_update(params)
            await conn.ws.send_json({"result": None, "id": rid})
        elif method == "LIST_SUBSCRIPTIONS":
            await conn.ws.send_json({"result": sorted(conn.streams), "id": rid})
        else:
            await conn.ws.send_json({"error": {"code": 2, "msg": f"Invalid request: {method}"}, "id": rid})

    def subscribed(self, stream: str) -> bool:
        return any(stream in c.streams for c in self.market)

    async def drop_connections(self, user: bool = False) -> None:
        """Close the market (or user data) sockets from the server side."""
        for conn in list(self.user if user else self.market):
            await conn.ws.close()

    async def _send(self, conns: list[WsConnection], event: dict[str, Any]) -> int:
        for conn in conns:
            await conn.ws.send_str(json.dumps(event))
        return len(conns)

    # -- market streams ----------------------------------------------------------------------
    async def push_depth(
        self,
        bids: list[tuple[str, str]] = (),  # type: ignore[assignment]
        asks: list[tuple[str, str]] = (),  # type: ignore[assignment]
        *,
        symbol: str = "ETHUSDT",
        n_updates: int = 1,
        gap: int = 0,
    ) -> int:
        """Apply price levels (qty ``"0"`` removes a level) to the book and send one
        ``depthUpdate`` covering ``n_updates`` update ids. ``gap > 0`` first skips that many ids
        without sending them, as if events were lost on the way (``pu`` then names an event the
        client never saw; change ``book_bids``/``book_asks`` directly to give them content).
        Returns the number of connections it went to."""
        prev = self.book_update_id + gap
        for book, levels in ((self.book_bids, bids), (self.book_asks, asks)):
            for price, qty in levels:
                if float(qty) == 0:
                    book.pop(price, None)
                else:
                    book[price] = qty
        self.book_update_id = prev + n_updates
        now = int(time.time() * 1000)
        event = {
            "e": "depthUpdate",
            "E": now,
            "T": now - 1,
            "s": symbol,
            "U": prev + 1,
            "u": prev + n_updates,
            "pu": prev,
            "b": [list(x) for x in bids],
            "a": [list(x) for x in asks],
        }
        prefix = symbol.lower() + "@depth"
        return await self._send([c for c in self.market if any(s.startswith(prefix) for s in c.streams)], event)

    async def push_trade(self, price: str, qty: str, *, buyer_is_maker: bool, symbol: str = "ETHUSDT") -> int:
        """One market trade, as ``trade`` to ``@trade`` and ``aggTrade`` to ``@aggTrade`` subscribers."""
        now = int(time.time() * 1000)
        self.next_trade_id += 1
        self.next_agg_id += 1
        raw = {
            "e": "trade",
            "E": now,
            "T": now - 1,
            "s": symbol,
            "t": self.next_trade_id,
            "p": price,
            "q": qty,
            "X": "MARKET",
            "m": buyer_is_maker,
        }
        agg = {
            "e": "aggTrade",
            "E": now,
            "a": self.next_agg_id,
            "s": symbol,
            "p": price,
            "q": qty,
            "f": self.next_trade_id,
            "l": self.next_trade_id,
            "T": now - 1,
            "m": buyer_is_maker,
        }
        sent = 0
        for name, event in (("@trade", raw), ("@aggTrade", agg)):
            stream = symbol.lower() + name
            sent += await self._send([c for c in self.market if stream in c.streams], event)
        return sent

    # -- user data stream --------------------------------------------------------------------
    def _order_update(self, order: dict[str, Any], execution: str, **fields: Any) -> dict[str, Any]:
        now = int(time.time() * 1000)
        o = {
            "s": order["symbol"],
            "c": order["clientOrderId"],
            "S": order["side"],
            "o": order["type"],
            "f": order["timeInForce"],
            "q": order["origQty"],
            "p": order["price"],
            "ap": order["avgPrice"],
            "sp": "0",
            "x": execution,
            "X": order["status"],
            "i": order["orderId"],
            "l": "0",
            "z": order["executedQty"],
            "L": "0",
            "T": now,
            "t": 0,
            "b": "0",
            "a": "0",
            "m": False,
            "R": bool(order["reduceOnly"]),
            "wt": "CONTRACT_PRICE",
            "ot": order["type"],
            "ps": "BOTH",
            "cp": False,
            "rp": "0",
            "pP": False,
            "si": 0,
            "ss": 0,
            "V": "EXPIRE_MAKER",
            "pm": "NONE",
            "gtd": 0,
        }
        o.update(fields)
        return {"e": "ORDER_TRADE_UPDATE", "T": now, "E": now + 1, "o": o}

    async def new_order(self, request: web.Request) -> web.Response:
        response = await super().new_order(request)
        if response.status == 200 and response.text:
            order = self.state.orders[json.loads(response.text)["clientOrderId"]]
            placed = {**order, "status": "NEW", "executedQty": "0", "avgPrice": "0"}
            await self._send(self.user, self._order_update(placed, "NEW"))
        return response

    async def fill(self, client_order_id: str, qty: str, price: str, *, maker: bool = True) -> int:
        """Execute ``qty`` of the order at ``price``: update the REST record, add the execution to
        ``/fapi/v1/userTrades`` and push ``TRADE_LITE`` and ``ORDER_TRADE_UPDATE`` (``x``
        ``TRADE``, same trade id, time and commission) to the user data stream. Returns the number
        of messages sent (0 while no user data connection is up: the execution stays on REST)."""
        trade = self.execute(client_order_id, qty, price, maker=maker)
        order = self.state.orders[client_order_id]
        lite = {
            "e": "TRADE_LITE",
            "E": order["updateTime"] + 1,
            "T": order["updateTime"],
            "s": order["symbol"],
            "q": order["origQty"],
            "p": order["price"],
            "m": maker,
            "c": client_order_id,
            "S": order["side"],
            "L": price,
            "l": qty,
            "t": trade["id"],
            "i": order["orderId"],
        }
        update = self._order_update(
            order,
            "TRADE",
            l=qty,
            L=price,
            n=trade["commission"],
            N=trade["commissionAsset"],
            t=trade["id"],
            T=trade["time"],
            m=maker,
            rp="0",
        )
        return await self._send(self.user, lite) + await self._send(self.user, update)
