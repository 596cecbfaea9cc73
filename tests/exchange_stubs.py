"""Local HTTP stand-ins for binance USD-M, deribit and grvt, for driving ccxt's real classes offline.

Each stub is an ``aiohttp.web`` app on 127.0.0.1 (free port) that answers the handful of endpoints
the adapters use with payloads in the shapes of the exchanges' API docs (trimmed to one ETH
perpetual), checks what ccxt sends (signatures, API-key headers, client-order-id params), keeps
orders in memory and counts placements. Fault injection: ``fail_next`` (HTTP status codes to
return before serving normally) and ``order_delay_s`` (delay the next order response after the
order is recorded, to force a client timeout with the order in place).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

FAKE_KEY = "stubKeyA1b2C3d4E5f6G7h8I9j0"
FAKE_SECRET = "stubSecretZ9y8X7w6V5u4T3s2R1q0"
MAKER_FEE = 0.0002  # binance USD-M regular tier, USDT
TAKER_FEE = 0.0005


def decimal_text(x: float) -> str:
    """A decimal string without float noise (binance sends strings)."""
    return f"{x:.8f}".rstrip("0").rstrip(".") or "0"


@dataclass
class StubState:
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)  # client id -> venue order json
    placements: int = 0
    fail_next: list[int] = field(default_factory=list)
    respond_next: list[tuple[int, Any]] = field(default_factory=list)  # (status, json body)
    order_delay_s: list[float] = field(default_factory=list)
    auth_failures: list[str] = field(default_factory=list)
    sent_params: list[dict[str, Any]] = field(default_factory=list)  # order requests as received

    def count(self, method: str, path: str) -> int:
        return sum(1 for m, p in self.requests if m == method and p == path)


class Stub:
    """Base: runner lifecycle, request log, fault injection."""

    def __init__(self) -> None:
        self.state = StubState()
        self.app = web.Application(middlewares=[self._middleware])
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.state.requests.append((request.method, request.path))
        if self.state.fail_next:
            status = self.state.fail_next.pop(0)
            return web.Response(status=status, text="<html>Service Unavailable</html>")
        is_order_request = request.path.endswith(("/order", "/create_order", "/buy", "/sell"))
        if self.state.respond_next and is_order_request:
            status, body = self.state.respond_next.pop(0)
            return web.json_response(body, status=status)
        return await handler(request)

    async def start(self) -> str:
        self._runner = web.AppRunner(self.app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _maybe_delay(self) -> None:
        if self.state.order_delay_s:
            await asyncio.sleep(self.state.order_delay_s.pop(0))


# ------------------------------------------------------------------------------------------------
# binance USD-M
# ------------------------------------------------------------------------------------------------
BINANCE_EXCHANGE_INFO = {
    "timezone": "UTC",
    "serverTime": 1700000000000,
    "futuresType": "U_MARGINED",
    "rateLimits": [
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
        {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
    ],
    "exchangeFilters": [],
    "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
    "symbols": [
        {
            "symbol": "ETHUSDT",
            "pair": "ETHUSDT",
            "contractType": "PERPETUAL",
            "deliveryDate": 4133404800000,
            "onboardDate": 1569398400000,
            "status": "TRADING",
            "maintMarginPercent": "2.5000",
            "requiredMarginPercent": "5.0000",
            "baseAsset": "ETH",
            "quoteAsset": "USDT",
            "marginAsset": "USDT",
            "pricePrecision": 2,
            "quantityPrecision": 3,
            "baseAssetPrecision": 8,
            "quotePrecision": 8,
            "underlyingType": "COIN",
            "underlyingSubType": ["Layer-1"],
            "settlePlan": 0,
            "triggerProtect": "0.0500",
            "liquidationFee": "0.012500",
            "marketTakeBound": "0.05",
            "maxMoveOrderLimit": 10000,
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": "39.86", "maxPrice": "306177", "tickSize": "0.01"},
                {"filterType": "LOT_SIZE", "minQty": "0.001", "maxQty": "10000", "stepSize": "0.001"},
                {"filterType": "MARKET_LOT_SIZE", "minQty": "0.001", "maxQty": "8000", "stepSize": "0.001"},
                {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
                {"filterType": "MIN_NOTIONAL", "notional": "20"},
                {
                    "filterType": "PERCENT_PRICE",
                    "multiplierUp": "1.0500",
                    "multiplierDown": "0.9500",
                    "multiplierDecimal": "4",
                },
            ],
            "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET"],
            "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
        }
    ],
}


class BinanceStub(Stub):
    """``/fapi`` endpoints with HMAC-SHA256 verification over the exact query string or body."""

    def __init__(self, api_key: str = FAKE_KEY, secret: str = FAKE_SECRET) -> None:
        super().__init__()
        self.api_key, self.secret = api_key, secret
        self.next_order_id = 8389765500000000000
        r = self.app.router
        r.add_get("/fapi/v1/exchangeInfo", self.exchange_info)
        r.add_get("/fapi/v1/ticker/bookTicker", self.book_ticker)
        r.add_get("/fapi/v1/ticker/24hr", self.ticker_24hr)
        r.add_post("/fapi/v1/order", self.new_order)
        r.add_get("/fapi/v1/order", self.query_order)
        r.add_delete("/fapi/v1/order", self.cancel_order)
        r.add_get("/fapi/v1/openOrders", self.open_orders)
        r.add_get("/fapi/v2/positionRisk", self.position_risk)
        r.add_get("/fapi/v3/positionRisk", self.position_risk)
        r.add_get("/fapi/v1/leverageBracket", self.leverage_bracket)
        r.add_get("/fapi/v2/balance", self.balance)
        r.add_get("/fapi/v3/balance", self.balance)
        r.add_get("/fapi/v2/account", self.account)
        r.add_get("/fapi/v3/account", self.account)
        r.add_get("/fapi/v1/depth", self.depth)
        r.add_get("/fapi/v1/userTrades", self.user_trades)
        r.add_post("/fapi/v1/listenKey", self.listen_key)
        r.add_put("/fapi/v1/listenKey", self.listen_key)
        r.add_delete("/fapi/v1/listenKey", self.close_listen_key)
        # the order book behind /fapi/v1/depth (price -> qty, decimal strings as binance sends
        # them) and its update id; the WebSocket stub's depthUpdate events move both
        self.book_bids: dict[str, str] = {"3000.10": "12.345", "3000.00": "4.000"}
        self.book_asks: dict[str, str] = {"3000.11": "7.890", "3000.20": "3.500"}
        self.book_update_id = 1_000_000
        self.listen_keys: list[str] = []  # issued, newest last
        # the account's executions, oldest first, as /fapi/v1/userTrades rows; trade ids are
        # shared with the public trade stream (one id sequence per symbol, as on binance)
        self.trades: list[dict[str, Any]] = []
        self.next_trade_id = 5_000_000

    @staticmethod
    def _err(code: int, msg: str, status: int = 400) -> web.Response:
        return web.json_response({"code": code, "msg": msg}, status=status)

    async def _signed(self, request: web.Request) -> dict[str, str] | web.Response:
        """Verify the API-key header and the signature; return the parameters."""
        if request.headers.get("X-MBX-APIKEY") != self.api_key:
            self.state.auth_failures.append("api-key header")
            return self._err(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        payload = request.rel_url.raw_query_string
        if request.method == "POST":
            payload = await request.text()
        if "&signature=" not in payload:
            self.state.auth_failures.append("no signature")
            return self._err(-1022, "Signature for this request is not valid.")
        signed_part, signature = payload.rsplit("&signature=", 1)
        expected = hmac.new(self.secret.encode(), signed_part.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            self.state.auth_failures.append("bad signature")
            return self._err(-1022, "Signature for this request is not valid.")
        params = dict(parse_qsl(signed_part, keep_blank_values=True))
        if "timestamp" not in params:
            return self._err(-1102, "Mandatory parameter 'timestamp' was not sent.")
        return params

    async def exchange_info(self, request: web.Request) -> web.Response:
        return web.json_response(BINANCE_EXCHANGE_INFO)

    def _api_key_only(self, request: web.Request) -> web.Response | None:
        """USER_STREAM endpoints (listenKey): the API-key header, no signature (binance's docs)."""
        if request.headers.get("X-MBX-APIKEY") != self.api_key:
            self.state.auth_failures.append("api-key header")
            return self._err(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        return None

    async def depth(self, request: web.Request) -> web.Response:
        """``GET /fapi/v1/depth``: the snapshot ``lastUpdateId`` the diff stream is synced against."""
        limit = int(request.query.get("limit", "1000"))
        now = int(time.time() * 1000)
        bids = sorted(self.book_bids.items(), key=lambda kv: -float(kv[0]))[:limit]
        asks = sorted(self.book_asks.items(), key=lambda kv: float(kv[0]))[:limit]
        return web.json_response(
            {
                "lastUpdateId": self.book_update_id,
                "E": now,
                "T": now,
                "bids": [list(kv) for kv in bids],
                "asks": [list(kv) for kv in asks],
            }
        )

    async def listen_key(self, request: web.Request) -> web.Response:
        """``POST`` starts a user data stream (``PUT`` keeps it alive): the same key while one is
        open, as binance does."""
        denied = self._api_key_only(request)
        if denied is not None:
            return denied
        if not self.listen_keys:
            self.listen_keys.append(hashlib.sha256(f"{self.api_key}:{time.time_ns()}".encode()).hexdigest())
        return web.json_response({"listenKey": self.listen_keys[-1]})

    async def close_listen_key(self, request: web.Request) -> web.Response:
        denied = self._api_key_only(request)
        if denied is not None:
            return denied
        self.listen_keys.clear()
        return web.json_response({})

    async def book_ticker(self, request: web.Request) -> web.Response:
        row = {
            "symbol": "ETHUSDT",
            "bidPrice": "3000.10",
            "bidQty": "12.345",
            "askPrice": "3000.11",
            "askQty": "7.890",
            "time": 1700000000123,
        }
        return web.json_response(row if "symbol" in request.query else [row])

    async def ticker_24hr(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "symbol": "ETHUSDT",
                "priceChange": "12.50",
                "priceChangePercent": "0.418",
                "weightedAvgPrice": "2995.12",
                "lastPrice": "3000.10",
                "lastQty": "0.500",
                "openPrice": "2987.60",
                "highPrice": "3010.00",
                "lowPrice": "2970.00",
                "volume": "1234567.890",
                "quoteVolume": "3697000000.00",
                "openTime": 1699913600000,
                "closeTime": 1700000000000,
                "firstId": 1,
                "lastId": 1000,
                "count": 1000,
            }
        )

    async def new_order(self, request: web.Request) -> web.Response:
        params = await self._signed(request)
        if isinstance(params, web.Response):
            return params
        self.state.sent_params.append(params)
        cid = params.get("newClientOrderId", "")
        if cid in self.state.orders:
            return self._err(-4116, "ClientOrderId is duplicated.")
        self.state.placements += 1
        order_type = params["type"]
        qty = params["quantity"]
        filled = order_type == "MARKET"
        now = int(time.time() * 1000)
        order = {
            "orderId": self.next_order_id,
            "symbol": params["symbol"],
            "status": "FILLED" if filled else "NEW",
            "clientOrderId": cid,
            "price": params.get("price", "0.00"),
            "avgPrice": "3000.11" if filled else "0.00",
            "origQty": qty,
            "executedQty": qty if filled else "0.000",
            "cumQty": qty if filled else "0.000",
            "cumQuote": f"{float(qty) * 3000.11:.5f}" if filled else "0.00000",
            "timeInForce": params.get("timeInForce", "GTC"),
            "type": order_type,
            "reduceOnly": params.get("reduceOnly", "false") == "true",
            "closePosition": False,
            "side": params["side"],
            "positionSide": "BOTH",
            "stopPrice": "0.00",
            "workingType": "CONTRACT_PRICE",
            "priceProtect": False,
            "origType": order_type,
            "priceMatch": "NONE",
            "selfTradePreventionMode": "EXPIRE_MAKER",
            "goodTillDate": 0,
            "updateTime": now,
        }
        self.next_order_id += 1
        self.state.orders[cid] = order
        if filled:
            self.record_trade(order, qty, "3000.11", maker=False)
        await self._maybe_delay()
        return web.json_response(order)

    def record_trade(self, order: dict[str, Any], qty: str, price: str, *, maker: bool) -> dict[str, Any]:
        """Journal one execution of ``order`` (the order's totals are the caller's) as a
        ``/fapi/v1/userTrades`` row with the next trade id; returns the row."""
        self.next_trade_id += 1
        quote = float(qty) * float(price)
        row = {
            "symbol": order["symbol"],
            "id": self.next_trade_id,
            "orderId": order["orderId"],
            "side": order["side"],
            "price": price,
            "qty": qty,
            "realizedPnl": "0",
            "marginAsset": "USDT",
            "quoteQty": decimal_text(quote),
            "commission": decimal_text(quote * (MAKER_FEE if maker else TAKER_FEE)),
            "commissionAsset": "USDT",
            "time": order["updateTime"],
            "positionSide": order["positionSide"],
            "buyer": order["side"] == "BUY",
            "maker": maker,
        }
        self.trades.append(row)
        return row

    def execute(self, client_order_id: str, qty: str, price: str, *, maker: bool) -> dict[str, Any]:
        """Fill ``qty`` of a resting order at ``price``: the order record moves (executed qty,
        average price, status, update time) and the execution is recorded; returns its row."""
        order = self.state.orders[client_order_id]
        done = float(order["executedQty"]) + float(qty)
        quote = float(order["cumQuote"]) + float(qty) * float(price)
        order["executedQty"] = order["cumQty"] = decimal_text(done)
        order["cumQuote"] = decimal_text(quote)
        order["avgPrice"] = decimal_text(quote / done)
        order["status"] = "FILLED" if done >= float(order["origQty"]) - 1e-12 else "PARTIALLY_FILLED"
        order["updateTime"] = int(time.time() * 1000)
        return self.record_trade(order, qty, price, maker=maker)

    async def user_trades(self, request: web.Request) -> web.Response:
        """``GET /fapi/v1/userTrades`` (signed): ``symbol`` required; ``startTime``/``endTime``
        (ms, inclusive), ``fromId``, ``limit`` (default 500, at most 1000); oldest first, the
        latest ``limit`` rows unless ``fromId`` is given."""
        params = await self._signed(request)
        if isinstance(params, web.Response):
            return params
        symbol = params.get("symbol", "")
        if not symbol:
            return self._err(-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
        limit = min(int(params.get("limit", "500")), 1000)
        start, end = int(params.get("startTime", "0")), int(params.get("endTime", str(2**62)))
        rows = [t for t in self.trades if t["symbol"] == symbol and start <= t["time"] <= end]
        if "fromId" in params:
            rows = [t for t in rows if t["id"] >= int(params["fromId"])][:limit]
        else:
            rows = rows[-limit:]
        return web.json_response(rows)

    async def query_order(self, request: web.Request) -> web.Response:
        params = await self._signed(request)
        if isinstance(params, web.Response):
            return params
        order = self.state.orders.get(params.get("origClientOrderId", ""))
        if order is None and "orderId" in params:
            order = next((o for o in self.state.orders.values() if str(o["orderId"]) == params["orderId"]), None)
        if order is None:
            return self._err(-2013, "Order does not exist.")
        return web.json_response({**order, "time": order["updateTime"]})

    async def cancel_order(self, request: web.Request) -> web.Response:
        params = await self._signed(request)
        if isinstance(params, web.Response):
            return params
        order = self.state.orders.get(params.get("origClientOrderId", ""))
        if order is None or order["status"] not in ("NEW", "PARTIALLY_FILLED"):
            return self._err(-2011, "Unknown order sent.")
        order["status"] = "CANCELED"
        return web.json_response(order)

    async def open_orders(self, request: web.Request) -> web.Response:
        params = await self._signed(request)
        if isinstance(params, web.Response):
            return params
        rows = [
            {**o, "time": o["updateTime"]}
            for o in self.state.orders.values()
            if o["status"] in ("NEW", "PARTIALLY_FILLED")
        ]
        return web.json_response(rows)

    async def position_risk(self, request: web.Request) -> web.Response:
        params = await self._signed(request)
        if isinstance(params, web.Response):
            return params
        return web.json_response(
            [
                {
                    "symbol": "ETHUSDT",
                    "positionSide": "BOTH",
                    "positionAmt": "-1.250",
                    "entryPrice": "3010.5",
                    "breakEvenPrice": "3009.0",
                    "markPrice": "3000.10000000",
                    "unRealizedProfit": "13.00000000",
                    "liquidationPrice": "5200.12",
                    "isolatedMargin": "0",
                    "notional": "-3750.12500000",
                    "marginAsset": "USDT",
                    "isolatedWallet": "0",
                    "initialMargin": "375.01250000",
                    "maintMargin": "18.75062500",
                    "positionInitialMargin": "375.01250000",
                    "openOrderInitialMargin": "0",
                    "adl": 1,
                    "bidNotional": "0",
                    "askNotional": "0",
                    "updateTime": 1700000000000,
                    "leverage": "10",
                    "marginType": "cross",
                    "isAutoAddMargin": "false",
                    "maxNotionalValue": "100000000",
                }
            ]
        )

    async def leverage_bracket(self, request: web.Request) -> web.Response:
        params = await self._signed(request)
        if isinstance(params, web.Response):
            return params
        brackets = [
            {
                "bracket": 1,
                "initialLeverage": 125,
                "notionalCap": 50000,
                "notionalFloor": 0,
                "maintMarginRatio": 0.004,
                "cum": 0.0,
            },
            {
                "bracket": 2,
                "initialLeverage": 100,
                "notionalCap": 500000,
                "notionalFloor": 50000,
                "maintMarginRatio": 0.005,
                "cum": 50.0,
            },
        ]
        return web.json_response([{"symbol": "ETHUSDT", "notionalCoef": 1.0, "brackets": brackets}])

    async def balance(self, request: web.Request) -> web.Response:
        params = await self._signed(request)
        if isinstance(params, web.Response):
            return params
        return web.json_response(
            [
                {
                    "accountAlias": "SgsR",
                    "asset": "USDT",
                    "balance": "10000.00000000",
                    "crossWalletBalance": "10000.00000000",
                    "crossUnPnl": "13.00000000",
                    "availableBalance": "9625.00000000",
                    "maxWithdrawAmount": "9625.00000000",
                    "marginAvailable": True,
                    "updateTime": 1700000000000,
                }
            ]
        )

    async def account(self, request: web.Request) -> web.Response:
        params = await self._signed(request)
        if isinstance(params, web.Response):
            return params
        asset = {
            "asset": "USDT",
            "walletBalance": "10000.00000000",
            "unrealizedProfit": "13.00000000",
            "marginBalance": "10013.00000000",
            "maintMargin": "18.75062500",
            "initialMargin": "375.01250000",
            "positionInitialMargin": "375.01250000",
            "openOrderInitialMargin": "0.00000000",
            "crossWalletBalance": "10000.00000000",
            "crossUnPnl": "13.00000000",
            "availableBalance": "9625.00000000",
            "maxWithdrawAmount": "9625.00000000",
            "updateTime": 1700000000000,
        }
        return web.json_response(
            {
                "totalInitialMargin": "375.01250000",
                "totalMaintMargin": "18.75062500",
                "totalWalletBalance": "10000.00000000",
                "totalUnrealizedProfit": "13.00000000",
                "totalMarginBalance": "10013.00000000",
                "totalPositionInitialMargin": "375.01250000",
                "totalOpenOrderInitialMargin": "0.00000000",
                "totalCrossWalletBalance": "10000.00000000",
                "totalCrossUnPnl": "13.00000000",
                "availableBalance": "9625.00000000",
                "maxWithdrawAmount": "9625.00000000",
                "assets": [asset],
                "positions": [],
            }
        )


# ------------------------------------------------------------------------------------------------
# deribit (JSON-RPC over HTTP GET, as ccxt uses it)
# ------------------------------------------------------------------------------------------------
DERIBIT_ETH_PERPETUAL = {
    "tick_size": 0.05,
    "tick_size_steps": [],
    "taker_commission": 0.0005,
    "settlement_period": "perpetual",
    "settlement_currency": "ETH",
    "rfq": False,
    "quote_currency": "USD",
    "price_index": "eth_usd",
    "min_trade_amount": 1,
    "max_liquidation_commission": 0.0075,
    "max_leverage": 50,
    "maker_commission": 0.0,
    "kind": "future",
    "is_active": True,
    "instrument_name": "ETH-PERPETUAL",
    "instrument_id": 210838,
    "instrument_type": "reversed",
    "future_type": "reversed",
    "expiration_timestamp": 32503708800000,
    "creation_timestamp": 1552568454000,
    "counter_currency": "USD",
    "contract_size": 1,
    "block_trade_tick_size": 0.01,
    "block_trade_min_trade_amount": 200000,
    "block_trade_commission": 0.00025,
    "base_currency": "ETH",
}


class DeribitStub(Stub):
    """``/api/v2/public/*`` and ``/api/v2/private/*`` with ``deri-hmac-sha256`` verification."""

    def __init__(self, client_id: str = FAKE_KEY, client_secret: str = FAKE_SECRET) -> None:
        super().__init__()
        self.client_id, self.client_secret = client_id, client_secret
        self.next_order_id = 1000
        r = self.app.router
        r.add_get("/api/v2/public/get_currencies", self.get_currencies)
        r.add_get("/api/v2/public/get_instruments", self.get_instruments)
        r.add_get("/api/v2/public/ticker", self.ticker)
        r.add_get("/api/v2/private/buy", self.buy)
        r.add_get("/api/v2/private/sell", self.sell)
        r.add_get("/api/v2/private/get_order_state_by_label", self.by_label)
        r.add_get("/api/v2/private/cancel", self.cancel)
        r.add_get("/api/v2/private/get_positions", self.positions)
        r.add_get("/api/v2/private/get_account_summary", self.account_summary)
        r.add_get("/api/v2/private/get_account_summaries", self.account_summaries)

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response(
            {
                "jsonrpc": "2.0",
                "result": result,
                "usIn": 1700000000000000,
                "usOut": 1700000000000150,
                "usDiff": 150,
                "testnet": False,
            }
        )

    @staticmethod
    def _error(code: int, message: str, status: int = 400) -> web.Response:
        return web.json_response(
            {"jsonrpc": "2.0", "error": {"message": message, "code": code}, "testnet": False}, status=status
        )

    def _auth(self, request: web.Request) -> web.Response | None:
        """Check ``Authorization: deri-hmac-sha256 id=..,ts=..,sig=..,nonce=..`` per Deribit's docs.

        ``sig = HMAC-SHA256(secret, ts \\n nonce \\n METHOD \\n URI \\n body \\n)`` (hex).
        """
        header = request.headers.get("Authorization", "")
        if not header.startswith("deri-hmac-sha256 "):
            self.state.auth_failures.append("no auth header")
            return self._error(13009, "unauthorized", 401)
        fields = dict(part.split("=", 1) for part in header[len("deri-hmac-sha256 ") :].split(","))
        if fields.get("id") != self.client_id:
            self.state.auth_failures.append("client id")
            return self._error(13004, "invalid_credentials", 401)
        uri = request.rel_url.raw_path + (
            "?" + request.rel_url.raw_query_string if request.rel_url.raw_query_string else ""
        )
        data = f"{request.method}\n{uri}\n\n"
        msg = f"{fields['ts']}\n{fields['nonce']}\n{data}"
        expected = hmac.new(self.client_secret.encode(), msg.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, fields.get("sig", "")):
            self.state.auth_failures.append("bad signature")
            return self._error(13009, "unauthorized", 401)
        return None

    async def get_currencies(self, request: web.Request) -> web.Response:
        return self._ok(
            [
                {
                    "coin_type": "ETHER",
                    "currency": "ETH",
                    "currency_long": "Ethereum",
                    "fee_precision": 4,
                    "min_confirmations": 1,
                    "min_withdrawal_fee": 0.0001,
                    "withdrawal_fee": 0.0006,
                    "withdrawal_priorities": [],
                }
            ]
        )

    async def get_instruments(self, request: web.Request) -> web.Response:
        currency = request.query.get("currency", "any")
        rows = [DERIBIT_ETH_PERPETUAL] if currency in ("ETH", "any") else []
        return self._ok(rows)

    async def ticker(self, request: web.Request) -> web.Response:
        return self._ok(
            {
                "timestamp": 1700000000123,
                "stats": {
                    "volume_usd": 1.0e8,
                    "volume": 33000.0,
                    "price_change": 0.4,
                    "low": 2970.0,
                    "high": 3010.0,
                },
                "state": "open",
                "settlement_price": 2990.0,
                "open_interest": 5.0e8,
                "min_price": 2950.0,
                "max_price": 3050.0,
                "mark_price": 3000.12,
                "last_price": 3000.1,
                "interest_value": 0.0,
                "instrument_name": "ETH-PERPETUAL",
                "index_price": 3000.0,
                "funding_8h": 0.00001,
                "current_funding": 0.0,
                "best_bid_price": 3000.05,
                "best_bid_amount": 25000.0,
                "best_ask_price": 3000.1,
                "best_ask_amount": 12000.0,
            }
        )

    async def buy(self, request: web.Request) -> web.Response:
        return await self._order(request, "buy")

    async def sell(self, request: web.Request) -> web.Response:
        return await self._order(request, "sell")

    async def _order(self, request: web.Request, direction: str) -> web.Response:
        denied = self._auth(request)
        if denied is not None:
            return denied
        q = dict(request.query)
        self.state.sent_params.append(q)
        label = q.get("label", "")
        self.state.placements += 1  # deribit accepts repeated labels: every request is a new order
        amount = float(q["amount"])
        is_market = q.get("type") == "market"
        now = int(time.time() * 1000)
        order = {
            "web": False,
            "time_in_force": q.get("time_in_force", "good_til_cancelled"),
            "replaced": False,
            "reduce_only": q.get("reduce_only") == "true",
            "price": float(q["price"]) if "price" in q else 3000.1,
            "post_only": q.get("post_only") == "true",
            "order_type": q.get("type", "limit"),
            "order_state": "filled" if is_market else "open",
            "order_id": f"ETH-{self.next_order_id}",
            "max_show": amount,
            "last_update_timestamp": now,
            "label": label,
            "is_rebalance": False,
            "is_liquidation": False,
            "instrument_name": q["instrument_name"],
            "filled_amount": amount if is_market else 0.0,
            "direction": direction,
            "creation_timestamp": now,
            "average_price": 3000.1 if is_market else 0.0,
            "api": True,
            "amount": amount,
        }
        self.next_order_id += 1
        self.state.orders.setdefault(label, order)
        self.state.orders[f"{label}#{order['order_id']}"] = order
        await self._maybe_delay()
        trades = []
        if is_market:
            trades = [
                {
                    "trade_seq": 1966031,
                    "trade_id": "ETH-2696097",
                    "timestamp": now,
                    "tick_direction": 0,
                    "state": "filled",
                    "reduce_only": False,
                    "price": 3000.1,
                    "post_only": False,
                    "order_type": "market",
                    "order_id": order["order_id"],
                    "matching_id": None,
                    "mark_price": 3000.12,
                    "liquidity": "T",
                    "label": label,
                    "instrument_name": order["instrument_name"],
                    "index_price": 3000.0,
                    "fee_currency": "ETH",
                    "fee": amount * 0.0005 / 3000.1,
                    "direction": direction,
                    "amount": amount,
                }
            ]
        return self._ok({"trades": trades, "order": order})

    def orders_with_label(self, label: str) -> list[dict[str, Any]]:
        return [o for k, o in self.state.orders.items() if k.startswith(label + "#")]

    async def by_label(self, request: web.Request) -> web.Response:
        denied = self._auth(request)
        if denied is not None:
            return denied
        return self._ok(self.orders_with_label(request.query.get("label", "")))

    async def cancel(self, request: web.Request) -> web.Response:
        denied = self._auth(request)
        if denied is not None:
            return denied
        for key, order in self.state.orders.items():
            if "#" in key and order["order_id"] == request.query.get("order_id"):
                if order["order_state"] != "open":
                    return self._error(11044, "not_open_order")
                order["order_state"] = "cancelled"
                return self._ok(order)
        return self._error(10004, "order_not_found")

    async def positions(self, request: web.Request) -> web.Response:
        denied = self._auth(request)
        if denied is not None:
            return denied
        return self._ok(
            [
                {
                    "total_profit_loss": 0.0012,
                    "size_currency": -0.5,
                    "size": -1500.0,
                    "settlement_price": 2990.0,
                    "realized_profit_loss": 0.0,
                    "realized_funding": 0.0,
                    "open_orders_margin": 0.0,
                    "mark_price": 3000.12,
                    "maintenance_margin": 0.005,
                    "leverage": 50,
                    "kind": "future",
                    "interest_value": 0.0,
                    "instrument_name": "ETH-PERPETUAL",
                    "initial_margin": 0.01,
                    "index_price": 3000.0,
                    "floating_profit_loss": 0.0012,
                    "estimated_liquidation_price": 8000.0,
                    "direction": "sell",
                    "delta": -0.5,
                    "average_price": 3010.0,
                }
            ]
        )

    def _summary(self) -> dict[str, Any]:
        return {
            "currency": "ETH",
            "balance": 2.5,
            "equity": 2.5012,
            "available_funds": 2.49,
            "available_withdrawal_funds": 2.48,
            "margin_balance": 2.5012,
            "initial_margin": 0.01,
            "maintenance_margin": 0.005,
            "total_pl": 0.0012,
            "session_upl": 0.0012,
            "session_rpl": 0.0,
        }

    async def account_summary(self, request: web.Request) -> web.Response:
        denied = self._auth(request)
        if denied is not None:
            return denied
        return self._ok(self._summary())

    async def account_summaries(self, request: web.Request) -> web.Response:
        denied = self._auth(request)
        if denied is not None:
            return denied
        return self._ok({"summaries": [self._summary()], "id": 1, "email": "", "system_name": "stub"})


# ------------------------------------------------------------------------------------------------
# grvt
# ------------------------------------------------------------------------------------------------
GRVT_ETH_PERP = {
    "instrument": "ETH_USDT_Perp",
    "instrument_hash": "0x030401",
    "base": "ETH",
    "quote": "USDT",
    "kind": "PERPETUAL",
    "venues": ["ORDERBOOK", "RFQ"],
    "settlement_period": "PERPETUAL",
    "base_decimals": 9,
    "quote_decimals": 6,
    "tick_size": "0.01",
    "min_size": "0.01",
    "create_time": "1768040726362828205",
    "max_position_size": "5000.0",
    "funding_interval_hours": 8,
    "adjusted_funding_rate_cap": "0.3",
    "adjusted_funding_rate_floor": "-0.3",
    "min_notional": "20.0",
}


class GrvtStub(Stub):
    """Market-data, edge (wallet login) and trading endpoints under ``/<api name>/...`` (JSON POST)."""

    COOKIE = "gravity=stubSessionCookie"
    ACCOUNT_ID = "0x00000000000000000000000000000000000000aa"

    def __init__(self, sub_account_id: str = "2147050003876484") -> None:
        super().__init__()
        self.sub_account_id = sub_account_id
        self.logins: list[dict[str, Any]] = []
        r = self.app.router
        r.add_post("/publicMarket/full/v1/currency", self.currency)
        r.add_post("/publicMarket/full/v1/all_instruments", self.all_instruments)
        r.add_post("/publicMarket/full/v1/ticker", self.ticker)
        r.add_post("/privateEdge/auth/wallet/login", self.login)
        r.add_post("/privateTrading/full/v1/create_order", self.create_order)
        r.add_post("/privateTrading/full/v1/order", self.order)

    def _session_ok(self, request: web.Request) -> bool:
        ok = (
            request.headers.get("Cookie") == self.COOKIE
            and request.headers.get("X-Grvt-Account-Id") == self.ACCOUNT_ID
        )
        if not ok:
            self.state.auth_failures.append("session")
        return ok

    async def currency(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "result": [
                    {"id": "2", "symbol": "USDT", "balance_decimals": "6", "quantity_multiplier": "1000000"},
                    {
                        "id": "4",
                        "symbol": "ETH",
                        "balance_decimals": "9",
                        "quantity_multiplier": "1000000000",
                    },
                ]
            }
        )

    async def all_instruments(self, request: web.Request) -> web.Response:
        return web.json_response({"result": [GRVT_ETH_PERP]})

    async def ticker(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "result": {
                    "event_time": "1700000000123000000",
                    "instrument": "ETH_USDT_Perp",
                    "mark_price": "3000.12",
                    "index_price": "3000.0",
                    "last_price": "3000.1",
                    "last_size": "0.5",
                    "mid_price": "3000.105",
                    "best_bid_price": "3000.1",
                    "best_bid_size": "10.0",
                    "best_ask_price": "3000.11",
                    "best_ask_size": "8.0",
                }
            }
        )

    async def login(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.logins.append(body)
        return web.json_response(
            {"status": "success"},
            headers={"Set-Cookie": self.COOKIE + "; Path=/; HttpOnly", "X-Grvt-Account-Id": self.ACCOUNT_ID},
        )

    async def create_order(self, request: web.Request) -> web.Response:
        if not self._session_ok(request):
            return web.json_response(
                {"code": 1000, "message": "You need to authenticate", "status": 401}, status=401
            )
        body = await request.json()
        order = body["order"]
        self.state.sent_params.append(order)
        cid = order["metadata"]["client_order_id"]
        self.state.placements += 1
        now = str(time.time_ns())
        result = {
            **order,
            "order_id": f"0x{self.state.placements:032x}",
            "metadata": {**order["metadata"], "create_time": now},
            "state": {
                "status": "OPEN",
                "reject_reason": "UNSPECIFIED",
                "book_size": [order["legs"][0]["size"]],
                "traded_size": ["0.0"],
                "update_time": now,
                "avg_fill_price": ["0.0"],
            },
        }
        self.state.orders[cid] = result
        await self._maybe_delay()
        return web.json_response({"result": result})

    async def order(self, request: web.Request) -> web.Response:
        if not self._session_ok(request):
            return web.json_response(
                {"code": 1000, "message": "You need to authenticate", "status": 401}, status=401
            )
        body = await request.json()
        found = self.state.orders.get(str(body.get("client_order_id", "")))
        if found is None:
            return web.json_response({"code": 1004, "message": "Data Not Found", "status": 404}, status=404)
        return web.json_response({"result": found})


def dumps(x: Any) -> str:  # pragma: no cover - debugging aid
    return json.dumps(x, indent=1, sort_keys=True)
