"""Signed reads for the account views (risk, positions, watch): one account, its weight counted, prices cached.

Every read goes through the client (weight budget, clock sync, read retries); a read that fails raises
McpToolError, except prices, which are None when unreadable ("unknown", never a guess).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from binance_margin_mcp.catalog import CATALOG
from binance_margin_mcp.credentials import Account
from binance_margin_mcp.params import build_wire_params
from binance_margin_mcp.service import MarginService
from binance_margin_mcp.spot_endpoints import TICKER_PRICE

STABLE = "USDT"


class AccountReads:
    """Reads for one account; `weight` is the request weight they used (catalog weights, prices included)."""

    def __init__(self, service: MarginService, account: Account) -> None:
        self.service = service
        self.account = account
        self.weight = 0
        self._prices: dict[str, Decimal | None] = {}

    async def get(self, tool: str, args: dict[str, Any] | None = None) -> Any:
        entry = CATALOG[tool]
        params = build_wire_params(entry, args or {}, server_values={"recvWindow": self.account.recv_window})
        self.weight += entry.weight.cost(dict(params))
        return await self.service.read(entry, params, self.account)

    async def price(self, symbol: str) -> Decimal | None:
        """The pair's last price (5 s cache shared with the pre-trade checks); None when unreadable."""
        if symbol not in self._prices:
            market = self.service.pretrade.market
            creds = self.service.credentials(self.account)
            cached = market._prices.get((creds.base_url, symbol))  # a cached price cost nothing
            self._prices[symbol] = await market.last_price(creds, symbol)
            if market._prices.get((creds.base_url, symbol)) is not cached:
                self.weight += TICKER_PRICE.weight.base
        return self._prices[symbol]

    async def usdt_prices(self, assets: set[str]) -> dict[str, Decimal]:
        """Each asset's value in USDT (USDT itself 1); assets without a readable ASSETUSDT price are left out."""
        prices = {STABLE: Decimal(1)}
        for asset in sorted(assets - {STABLE}):
            price = await self.price(asset + STABLE)
            if price is not None:
                prices[asset] = price
        return prices


def dec(value: Any) -> Decimal:
    """A Binance amount (string) as a Decimal; 0 when absent or unreadable."""
    try:
        number = Decimal(str(value)) if value is not None else Decimal(0)
    except InvalidOperation:
        return Decimal(0)
    return number if number.is_finite() else Decimal(0)


def text(value: Decimal | None, places: int = 8) -> str:
    """A Decimal as a plain string with at most `places` decimals (trailing zeros dropped); "unknown" for None."""
    if value is None:
        return "unknown"
    quantum = Decimal(1).scaleb(-places)
    rounded = value.quantize(quantum) if value.adjusted() < 20 else value
    out = format(rounded.normalize(), "f")
    return "0" if out in ("-0", "") else out
