"""Deribit specifics: inverse perpetuals, ``label`` as client order id, look-up by label.

Deribit does not reject a second order with the same label, so the at-most-once guarantee rests
on the adapter's look-up before any re-send (``private/get_order_state_by_label``). Its error
codes are mapped by ccxt's deribit class (host-independent), so no extra table is needed here.
"""

from __future__ import annotations

from typing import Any

from asymlp_runtime.venues.base import OrderType, TimeInForce, VenueOrderRequest
from asymlp_runtime.venues.ccxt_adapter import CcxtVenueSpec, VenueCredentials

__all__ = ["DeribitSpec"]

_TIF = {
    TimeInForce.GTC: "good_til_cancelled",
    TimeInForce.IOC: "immediate_or_cancel",
    TimeInForce.FOK: "fill_or_kill",
}


class DeribitSpec(CcxtVenueSpec):
    """Deribit inverse perpetuals (``ETH/USD:ETH`` is ``ETH-PERPETUAL``, amounts in USD)."""

    name = "deribit"
    ccxt_id = "deribit"
    client_order_id_param = "label"
    # deribit's non-matching-engine credit refills at 20 requests per second
    rate_limit_per_s = 10.0
    rate_limit_burst = 20.0

    def exchange_config(self, credentials: VenueCredentials) -> dict[str, Any]:
        config = super().exchange_config(credentials)
        config["options"].update({"fetchMarkets": {"fetchAllMarkets": True}})
        return config

    def hedge_symbol(self, base: str) -> str:
        return f"{base}/USD:{base}"

    def order_params(self, req: VenueOrderRequest) -> dict[str, Any]:
        params: dict[str, Any] = {"label": req.client_order_id}
        if req.type is OrderType.LIMIT:
            params["time_in_force"] = _TIF[req.time_in_force]
        if req.post_only:
            params["post_only"] = True
            params["reject_post_only"] = True  # reject rather than reprice
        if req.reduce_only:
            params["reduce_only"] = True
        return params

    async def find_order(self, exchange: Any, client_order_id: str, symbol: str) -> dict[str, Any] | None:
        market = exchange.market(symbol)
        response = await exchange.private_get_get_order_state_by_label(
            {"currency": market["baseId"], "label": client_order_id}
        )
        rows = [r for r in (response.get("result") or []) if r.get("instrument_name") == market["id"]]
        if not rows:
            return None
        rows.sort(key=lambda r: r.get("creation_timestamp") or 0)
        return exchange.parse_order(rows[0], market)

    def override_urls(self, exchange: Any, base_url: str) -> None:
        exchange.urls["api"]["rest"] = base_url
        if "ws" in exchange.urls["api"]:
            exchange.urls["api"]["ws"] = base_url.replace("http://", "ws://") + "/ws/api/v2"
