"""The few spot `/api/v3` endpoints the server itself reads (server time, symbol rules, last price).

They are not margin tools (not in the catalog); they share the `/api/*` weight budget per IP.
"""

from __future__ import annotations

from binance_margin_mcp.catalog.model import Endpoint, Security, Weight


def _public(name: str, path: str, weight: int) -> Endpoint:
    return Endpoint(
        name=name,
        title=name,
        method="GET",
        path=path,
        group="Spot",
        toolset="market-data",
        security=Security.MARKET_DATA,
        weight=Weight("API", weight),
        transaction=False,
        description=path,
    )


SERVER_TIME = _public("server_time", "/api/v3/time", 1)
EXCHANGE_INFO = _public("exchange_info", "/api/v3/exchangeInfo", 20)
TICKER_PRICE = _public("ticker_price", "/api/v3/ticker/price", 2)
