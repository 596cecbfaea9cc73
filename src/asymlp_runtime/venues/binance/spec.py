"""Binance USD-M specifics: symbols, ``newClientOrderId``, ``origClientOrderId`` look-ups, error codes.

Error codes are from binance's USD-M "Error Codes" page. They are matched on the JSON body that
ccxt quotes in its exception text, because ccxt picks its futures-specific error table by the
production host name, which a local test server does not have.
"""

from __future__ import annotations

import re
from typing import Any

from asymlp_runtime.venues import errors as verr
from asymlp_runtime.venues.ccxt_adapter import CcxtVenueSpec, VenueCredentials

__all__ = ["BINANCE_ERROR_CODES", "BinanceUsdmSpec"]

#: binance code -> venue error class
BINANCE_ERROR_CODES: dict[str, type[verr.VenueError]] = {
    "-1001": verr.NetworkError,  # DISCONNECTED: internal error; unable to process your request
    "-1003": verr.RateLimited,  # TOO_MANY_REQUESTS
    "-1007": verr.RequestTimeout,  # TIMEOUT: backend did not answer; execution status unknown
    "-1008": verr.ExchangeUnavailable,  # SERVER_BUSY
    "-1015": verr.RateLimited,  # TOO_MANY_ORDERS
    "-1021": verr.NetworkError,  # INVALID_TIMESTAMP (clock skew; retry after resync)
    "-1022": verr.AuthenticationError,  # INVALID_SIGNATURE
    "-2014": verr.AuthenticationError,  # BAD_API_KEY_FMT
    "-2015": verr.AuthenticationError,  # REJECTED_MBX_KEY
    "-1121": verr.BadSymbol,  # BAD_SYMBOL
    "-2011": verr.OrderNotFound,  # UNKNOWN_ORDER (cancel)
    "-2013": verr.OrderNotFound,  # NO_SUCH_ORDER
    "-2018": verr.InsufficientFunds,  # BALANCE_NOT_SUFFICIENT
    "-2019": verr.InsufficientFunds,  # MARGIN_NOT_SUFFICIEN
    "-4116": verr.DuplicateOrderId,  # DUPLICATED_CLIENT_ORDER_ID
    "-1013": verr.InvalidOrder,  # INVALID_MESSAGE / filter failure
    "-1111": verr.InvalidOrder,  # BAD_PRECISION
    "-2022": verr.InvalidOrder,  # REDUCE_ONLY_REJECT
    "-4003": verr.InvalidOrder,  # QTY_LESS_THAN_ZERO
    "-4004": verr.InvalidOrder,  # QTY_LESS_THAN_MIN_QTY
    "-4005": verr.InvalidOrder,  # QTY_GREATER_THAN_MAX_QTY
    "-4014": verr.InvalidOrder,  # PRICE_NOT_INCREASED_BY_TICK_SIZE
    "-4015": verr.InvalidOrder,  # INVALID_CL_ORD_ID_LEN
    "-4023": verr.InvalidOrder,  # QTY_NOT_INCREASED_BY_STEP_SIZE
    "-4164": verr.InvalidOrder,  # MIN_NOTIONAL
    "-5022": verr.InvalidOrder,  # post-only order would take
}

_CODE = re.compile(r'"code"\s*:\s*(-?\d+)')

#: urls['api'] keys of binanceusdm that the adapter uses
_API_KEYS = (
    "fapiPublic",
    "fapiPublicV2",
    "fapiPublicV3",
    "fapiPrivate",
    "fapiPrivateV2",
    "fapiPrivateV3",
    "fapiData",
)


class BinanceUsdmSpec(CcxtVenueSpec):
    """Binance USD-M perpetuals (``ETH/USDT:USDT`` is ``ETHUSDT``)."""

    name = "binance"
    ccxt_id = "binanceusdm"
    client_order_id_param = "newClientOrderId"
    # binance USD-M allows 2400 request weight per minute; stay well below it
    rate_limit_per_s = 20.0
    rate_limit_burst = 40.0

    def exchange_config(self, credentials: VenueCredentials) -> dict[str, Any]:
        config = super().exchange_config(credentials)
        config["options"].update(
            {
                "defaultType": "swap",
                "fetchMarkets": {"types": ["linear"]},
                "adjustForTimeDifference": False,
                "fetchCurrencies": False,
                "warnOnFetchOpenOrdersWithoutSymbol": False,
            }
        )
        return config

    def hedge_symbol(self, base: str) -> str:
        return f"{base}/USDT:USDT"

    async def find_order(self, exchange: Any, client_order_id: str, symbol: str) -> dict[str, Any] | None:
        try:
            return await exchange.fetch_order(None, symbol, {"origClientOrderId": client_order_id})
        except Exception as exc:  # the adapter maps errors; only "no such order" means None here
            found = self.exchange_error(str(exc))
            if found is not None and found[0] is verr.OrderNotFound:
                return None
            if type(exc).__name__ == "OrderNotFound":
                return None
            raise

    async def cancel_by_client_id(self, exchange: Any, client_order_id: str, symbol: str) -> dict[str, Any]:
        return await exchange.cancel_order(None, symbol, {"origClientOrderId": client_order_id})

    def exchange_error(self, text: str) -> tuple[type[verr.VenueError], str] | None:
        m = _CODE.search(text)
        if m is None:
            return None
        code = m.group(1)
        cls = BINANCE_ERROR_CODES.get(code)
        return None if cls is None else (cls, code)

    def override_urls(self, exchange: Any, base_url: str) -> None:
        api = exchange.urls["api"]
        for key in _API_KEYS:
            if key in api:
                suffix = api[key].split(".com", 1)[1]  # e.g. /fapi/v1
                api[key] = base_url + suffix
        ws = api.get("ws")
        if isinstance(ws, dict):
            ws_base = base_url.replace("http://", "ws://")
            for key in list(ws):
                ws[key] = ws_base + "/ws-" + key
