"""GRVT specifics: numeric client order ids, wallet-key sign-in, ``X-Grvt-Account-Id`` sessions.

ccxt's grvt class signs every order with EIP-712 using the account's private key and needs a
session cookie from ``auth/wallet/login`` plus the sub-account id (``options['accountId']``).
We turn off ccxt's builder-fee approval (an extra signed request on first use) and give it the
main account id up front so that it does not look the account up on every sign-in.
"""

from __future__ import annotations

from typing import Any

from asymlp_runtime.venues.ccxt_adapter import CcxtVenueSpec, VenueCredentials

__all__ = ["GrvtSpec"]


class GrvtSpec(CcxtVenueSpec):
    """GRVT perpetuals (``ETH/USDT:USDT`` is ``ETH_USDT_Perp``)."""

    name = "grvt"
    ccxt_id = "grvt"
    client_order_id_param = "clientOrderId"
    rate_limit_per_s = 10.0
    rate_limit_burst = 20.0

    def __init__(self, main_account_id: str = "") -> None:
        self.main_account_id = main_account_id

    def exchange_config(self, credentials: VenueCredentials) -> dict[str, Any]:
        config: dict[str, Any] = {"enableRateLimit": True, "options": {"builderFee": False}}
        if credentials.private_key:
            config["privateKey"] = credentials.private_key
        if credentials.account_id:
            config["options"]["accountId"] = credentials.account_id
        if self.main_account_id:
            config["options"]["userMainAccountId"] = self.main_account_id
        return config

    def hedge_symbol(self, base: str) -> str:
        return f"{base}/USDT:USDT"

    async def find_order(self, exchange: Any, client_order_id: str, symbol: str) -> dict[str, Any] | None:
        try:
            return await exchange.fetch_order(None, symbol, {"clientOrderId": client_order_id})
        except Exception as exc:
            if type(exc).__name__ in ("OrderNotFound", "OperationRejected"):  # 1004 "Data Not Found"
                return None
            raise

    async def cancel_by_client_id(self, exchange: Any, client_order_id: str, symbol: str) -> dict[str, Any]:
        return await exchange.cancel_order(None, symbol, {"clientOrderId": client_order_id})

    def override_urls(self, exchange: Any, base_url: str) -> None:
        api = exchange.urls["api"]
        for key in ("privateEdge", "privateTrading", "publicMarket"):
            api[key] = f"{base_url}/{key}/"
