"""Checks a transaction must pass before anyone is asked to confirm it and before it is signed.

Operator switches and per-account limits, then the symbol's exchangeInfo filters (cached) for orders; the market
data and account balances the limits need are read here (the rules themselves are in operator_limits).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from binance_margin_mcp.catalog import CATALOG, Endpoint
from binance_margin_mcp.catalog.model import PositionReads
from binance_margin_mcp.client import BinanceClient
from binance_margin_mcp.credentials import Account
from binance_margin_mcp.errors import ApiError, InvalidArguments, McpToolError
from binance_margin_mcp.operator_limits import (
    AccountLimits,
    Holding,
    LimitRefused,
    blocking_refusal,
    check_borrow,
    check_notional,
    closing_problem,
    parse_or_refuse,
)
from binance_margin_mcp.params import build_wire_params
from binance_margin_mcp.prepared import PreparedRequest
from binance_margin_mcp.spot_endpoints import EXCHANGE_INFO, TICKER_PRICE
from binance_margin_mcp.transport import Credentials
from binance_margin_mcp.validation import format_violations, order_legs, validate_order

EXCHANGE_INFO_TTL_MS = 10 * 60_000
PRICE_TTL_MS = 5_000


class MarketData:
    """exchangeInfo per symbol (10 min) and last prices (5 s) per host, read through the client."""

    def __init__(self, client: BinanceClient) -> None:
        self.client = client
        self._info: dict[tuple[str, str], tuple[int, dict[str, Any] | None]] = {}
        self._prices: dict[tuple[str, str], tuple[int, Decimal | None]] = {}

    async def _fresh(
        self,
        cache: dict[tuple[str, str], tuple[int, Any]],
        key: tuple[str, str],
        ttl_ms: int,
        fetch: Callable[[], Awaitable[Any]],
    ) -> Any:
        """`fetch()`'s value, re-read only when the cached one is older than `ttl_ms`."""
        now = self.client.clock.local()
        cached = cache.get(key)
        if cached is None or now - cached[0] >= ttl_ms:
            cached = (now, await fetch())
            cache[key] = cached
        return cached[1]

    async def symbol_info(self, creds: Credentials, symbol: str) -> dict[str, Any] | None:
        async def fetch() -> dict[str, Any] | None:
            response, _ = await self.client.send(EXCHANGE_INFO, [("symbol", symbol)], creds.unsigned())
            symbols = response.data.get("symbols", []) if isinstance(response.data, dict) else []
            return next((s for s in symbols if s.get("symbol") == symbol), None)

        return await self._fresh(self._info, (creds.base_url, symbol), EXCHANGE_INFO_TTL_MS, fetch)

    async def last_price(self, creds: Credentials, symbol: str) -> Decimal | None:
        async def fetch() -> Decimal | None:
            try:
                response, _ = await self.client.send(TICKER_PRICE, [("symbol", symbol)], creds.unsigned())
                price = Decimal(str(response.data["price"]))
            except (ApiError, KeyError, TypeError, InvalidOperation):
                return None  # no ticker for that pair: filter checks that need it are skipped, limits refuse
            return price if price.is_finite() and price > 0 else None

        return await self._fresh(self._prices, (creds.base_url, symbol), PRICE_TTL_MS, fetch)

    async def holdings(
        self, creds: Credentials, reads: PositionReads, params: dict[str, str], assets: tuple[str, str]
    ) -> list[Holding | None]:
        """The account's balances of `assets` (cross, or the isolated pair in params); None where unreadable."""
        isolated, symbol = params.get("isIsolated") == "TRUE", params.get("symbol", "")
        entry = CATALOG[reads.isolated if isolated else reads.cross]
        try:
            response, _ = await self.client.send(
                entry, build_wire_params(entry, {"symbols": symbol} if isolated else {}), creds
            )
        except McpToolError:
            return [None for _ in assets]  # fail closed: without balances nothing counts as a pure close
        data = response.data if isinstance(response.data, dict) else {}
        if isolated:
            pairs = [p for p in data.get("assets") or [] if isinstance(p, dict) and p.get("symbol") == symbol]
            rows = [p.get(side) for p in pairs[:1] for side in ("baseAsset", "quoteAsset")]
        else:
            rows = data.get("userAssets") or []
        by_asset = {row.get("asset"): row for row in rows if isinstance(row, dict)}
        return [Holding.read(by_asset.get(asset)) for asset in assets]


class PreTrade:
    """Operator switches, per-account limits and exchange filters, checked in that order."""

    def __init__(self, market: MarketData, enabled: frozenset[str] = frozenset()) -> None:
        self.market = market
        self.enabled = enabled  # names of the switched-off-by-default entries the operator turned on

    async def check(self, request: PreparedRequest, account: Account, creds: Credentials) -> None:
        entry, params = request.entry, dict(request.params)
        if not entry.transaction:
            return
        switch = entry.enabled_by
        if switch is not None and entry.name not in self.enabled:
            raise LimitRefused(
                f"Not sent: {entry.name} is switched off on this server. The operator can allow it by starting "
                f"the server with {switch.flag}.",
                switch.flag,
            )
        limits = parse_or_refuse(account.name, account.limits)
        await self._unless_risk_reducing(account.name, limits, entry, params, creds)
        check_borrow(account.name, limits, entry, params)
        shape = entry.order_shape
        if shape is None:
            return
        symbol = params["symbol"]
        info = await self.market.symbol_info(creds, symbol)
        if info is None:
            raise InvalidArguments(
                f"{symbol} is not a symbol of this exchange (exchangeInfo does not list it).", "symbol"
            )
        last = await self.market.last_price(creds, symbol)
        # No open-orders count for MAX_NUM_ORDERS: Binance enforces it, and counting would cost a signed
        # request (weight 10) on every order. Both reads above come from caches on a warm server.
        violations = validate_order(entry, params, info, last)
        if violations:
            raise InvalidArguments(format_violations(violations), violations[0].param)
        if limits.max_order_notional is not None:
            rate = await self._rate(info["quoteAsset"], limits.max_order_notional[1], creds)
            check_notional(account.name, limits, shape, order_legs(entry, params), last, rate)

    async def _unless_risk_reducing(
        self, account: str, limits: AccountLimits, entry: Endpoint, params: dict[str, str], creds: Credentials
    ) -> None:
        """Trading: disabled and Allowed Symbols refuse, unless the catalog declares the request risk-reducing."""
        if blocking_refusal(account, limits, params) is None:
            return
        why_not = await self._why_not_risk_reducing(entry, params, creds)
        refusal = None if why_not is None else blocking_refusal(account, limits, params, why_not)
        if refusal is not None:
            raise refusal

    async def _why_not_risk_reducing(self, entry: Endpoint, params: dict[str, str], creds: Credentials) -> str | None:
        """None when the request can only lower risk; otherwise why not ("" when its endpoint never does)."""
        reduction = entry.reduces_risk
        if reduction is None or not reduction.holds(params):
            return ""
        if reduction.position is None:
            return None
        info = await self.market.symbol_info(creds, params["symbol"])
        if info is None:
            return "exchangeInfo does not list its symbol"
        assets = (str(info.get("baseAsset")), str(info.get("quoteAsset")))
        base, quote = await self.market.holdings(creds, reduction.position, params, assets)
        return closing_problem(order_legs(entry, params), base, quote)

    async def _rate(self, quote: str, asset: str, creds: Credentials) -> Decimal:
        if quote == asset:
            return Decimal(1)
        direct = await self.market.last_price(creds, quote + asset)
        if direct:
            return direct
        inverse = await self.market.last_price(creds, asset + quote)
        if inverse:
            return 1 / inverse
        raise LimitRefused(
            f"Not sent: no {quote}/{asset} price to check the Max Order Notional limit against.", "Max Order Notional"
        )
