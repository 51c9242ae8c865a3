"""get_margin_risk: the margin level against its thresholds, debts with their hourly interest, liquidation prices.

Cross: GET /sapi/v1/margin/account (marginLevel, balances) and /tradeCoeff (normalBar, marginCallBar,
forceLiquidationBar). Isolated: GET /sapi/v1/margin/isolated/account, whose pairs carry their own level,
status and liquidation fields. Liquidation and margin-call prices are risk.liquidation_price of each asset,
every other price held; interest rates come from crossMarginData / isolatedMarginData per coin / symbol
(weight 1 each). Whatever cannot be read is "unknown", never guessed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from binance_margin_mcp import risk
from binance_margin_mcp.account_reads import STABLE, AccountReads, dec, text
from binance_margin_mcp.errors import InvalidArguments, McpToolError
from binance_margin_mcp.risk import Holding

HUNDRED = Decimal(100)


async def margin_risk(reads: AccountReads, symbol: str | None) -> dict[str, Any]:
    """The whole picture (or one pair's: its assets in cross and its isolated account)."""
    assets = await pair_assets(reads, symbol) if symbol else None
    data: dict[str, Any] = {"account": reads.account.name, "environment": reads.account.environment}
    data["cross"] = await _cross(reads, assets)
    data["isolated"] = await _isolated(reads, symbol)
    data["weightUsed"] = reads.weight
    return data


async def pair_assets(reads: AccountReads, symbol: str) -> tuple[str, str]:
    """(base, quote) of a pair, from exchangeInfo (cached 10 minutes)."""
    creds = reads.service.credentials(reads.account)
    info = await reads.service.pretrade.market.symbol_info(creds, symbol)
    if not info or not info.get("baseAsset") or not info.get("quoteAsset"):
        raise InvalidArguments(f"Unknown symbol {symbol!r}: exchangeInfo does not list it.", "symbol")
    return str(info["baseAsset"]), str(info["quoteAsset"])


async def _optional(reads: AccountReads, tool: str, args: dict[str, Any] | None = None) -> Any:
    try:
        return await reads.get(tool, args)
    except McpToolError:
        return None


def holdings_of(rows: list[Any]) -> dict[str, Holding]:
    """Holdings from Binance balance rows (userAssets, or an isolated pair's baseAsset/quoteAsset)."""
    found = {}
    for row in rows:
        if isinstance(row, dict) and row.get("asset"):
            total = dec(row.get("free")) + dec(row.get("locked"))
            found[row["asset"]] = Holding(row["asset"], total, dec(row.get("borrowed")), dec(row.get("interest")))
    return found


async def _cross(reads: AccountReads, only: tuple[str, str] | None) -> dict[str, Any]:
    account = await reads.get("get_cross_margin_account")
    coeff = await _optional(reads, "get_margin_level_summary")
    coeff = coeff if isinstance(coeff, dict) else {}
    bars = {k: coeff.get(f) for k, f in (("normal", "normalBar"), ("marginCall", "marginCallBar"))}
    bars["liquidation"] = coeff.get("forceLiquidationBar")
    holdings = {a: h for a, h in holdings_of(account.get("userAssets") or []).items() if h.total or h.liability}
    prices = await reads.usdt_prices(set(holdings))
    liabilities = risk.value(holdings, prices, "liability")
    out: dict[str, Any] = {
        "marginLevel": account.get("marginLevel", "unknown"),
        "thresholds": {k: v if v is not None else "unknown" for k, v in bars.items()},
        "collateralUSDT": account.get("TotalCollateralValueInUSDT", "unknown"),
        "assetsUSDT": text(risk.value(holdings, prices, "total"), 2),
        "liabilitiesUSDT": text(liabilities, 2),
    }
    shown = {a: h for a, h in holdings.items() if only is None or a in only}
    out["debts"] = await _debts(reads, shown, None)
    call, liq = (dec(bars[k]) if bars[k] is not None else None for k in ("marginCall", "liquidation"))
    out["positions"] = [_position(holdings, prices, asset, call, liq) for asset in sorted(shown) if asset != STABLE]
    return out


def _position(
    holdings: dict[str, Holding], prices: dict[str, Decimal], asset: str, call: Decimal | None, liq: Decimal | None
) -> dict[str, Any]:
    """One asset's net size, its price, and the prices (and % away) of the margin call and liquidation."""
    held = holdings[asset]
    price = prices.get(asset)
    row: dict[str, Any] = {"asset": asset, "net": text(held.total - held.liability), "price": text(price)}
    for name, level in (("marginCall", call), ("liquidation", liq)):
        at = risk.liquidation_price(holdings, prices, asset, level) if level and price else None
        row[f"{name}Price"] = text(at)
        row[f"{name}DistancePct"] = text((at / price - 1) * HUNDRED, 2) if at is not None and price else "unknown"
    return row


async def _debts(reads: AccountReads, holdings: dict[str, Holding], symbol: str | None) -> list[dict[str, Any]]:
    """Each debt with its daily rate and one hour of interest on it (rate "unknown" when unreadable)."""
    owed = [h for h in holdings.values() if h.liability]
    if not owed:
        return []
    rates: dict[str, Decimal] = {}
    if symbol is None:
        for holding in owed:
            rows = await _optional(reads, "get_cross_margin_fee_data", {"coin": holding.asset})
            for row in rows if isinstance(rows, list) else []:
                if isinstance(row, dict) and row.get("coin") == holding.asset and row.get("dailyInterest"):
                    rates[holding.asset] = dec(row["dailyInterest"])
    else:
        rows = await _optional(reads, "get_isolated_margin_fee_data", {"symbol": symbol})
        for row in rows if isinstance(rows, list) else []:
            for coin in row.get("data", []) if isinstance(row, dict) else []:
                if isinstance(coin, dict) and coin.get("coin") and coin.get("dailyInterest"):
                    rates[coin["coin"]] = dec(coin["dailyInterest"])
    debts = []
    for h in sorted(owed, key=lambda h: h.asset):
        rate = rates.get(h.asset)
        hourly = risk.hourly_interest(h.borrowed, rate) if rate is not None else None
        debts.append(
            {
                "asset": h.asset,
                "borrowed": text(h.borrowed),
                "interest": text(h.interest),
                "dailyRate": text(rate),
                "hourlyInterest": text(hourly),
            }
        )
    return debts


async def _isolated(reads: AccountReads, symbol: str | None) -> list[dict[str, Any]]:
    args = {"symbols": symbol} if symbol else {}
    data = await _optional(reads, "get_isolated_margin_account", args)
    pairs = data.get("assets") if isinstance(data, dict) else None
    out = []
    for pair in pairs or []:
        if not isinstance(pair, dict) or (symbol and pair.get("symbol") != symbol):
            continue
        holdings = holdings_of([pair.get("baseAsset"), pair.get("quoteAsset")])
        if not any(h.total or h.liability for h in holdings.values()):
            continue
        out.append(await _pair(reads, pair, holdings))
    return out


async def _pair(reads: AccountReads, pair: dict[str, Any], holdings: dict[str, Holding]) -> dict[str, Any]:
    """An isolated pair: its level and status, its liquidation level (marginLevel x liquidateRate / 100, the
    pair's own fields), prices in its quote asset, and its debts."""
    base, quote = (pair.get(side, {}).get("asset") for side in ("baseAsset", "quoteAsset"))
    level, rate, index = dec(pair.get("marginLevel")), dec(pair.get("liquidateRate")), dec(pair.get("indexPrice"))
    owes = any(h.liability for h in holdings.values())
    liq = level * rate / HUNDRED if owes and rate else None
    prices = {quote: Decimal(1), base: index} if index else {}
    row: dict[str, Any] = {
        "symbol": pair.get("symbol"),
        "marginLevel": pair.get("marginLevel", "unknown"),
        "status": pair.get("marginLevelStatus", "unknown"),
        "thresholds": {"marginCall": "unknown (status above says when it is reached)", "liquidation": text(liq, 4)},
        "indexPrice": text(index or None),
        "liabilitiesInQuote": text(risk.value(holdings, prices, "liability")) if prices else "unknown",
    }
    position = _position(holdings, prices, str(base), None, liq)
    row["liquidationPrice"] = position["liquidationPrice"]
    row["liquidationDistancePct"] = position["liquidationDistancePct"]
    row["binanceLiquidatePrice"] = pair.get("liquidatePrice", "unknown")
    row["debts"] = await _debts(reads, holdings, str(pair.get("symbol")))
    return row
