"""An order preview's risk estimate: what it borrows, the margin level before and after, where it is liquidated.

`gather_risk` makes the signed reads an order needs (its margin account, the account's levels, and when it
borrows the borrowable maximum and the interest rate), concurrently, each failure a note. `risk_block` is pure:
it values everything in the quote asset at the estimated fill price and uses risk.py's formulas. A missing input
makes that field "unknown", never a guess.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from binance_margin_mcp import risk
from binance_margin_mcp.catalog import CATALOG
from binance_margin_mcp.errors import McpToolError
from binance_margin_mcp.params import build_wire_params
from binance_margin_mcp.validation import LIMIT_PRICED, Leg

Read = Callable[[Any, list[tuple[str, str]]], Awaitable[Any]]
BORROWING = frozenset({"MARGIN_BUY", "AUTO_BORROW_REPAY"})
# Binance's default spot/margin taker commission (VIP 0, no BNB discount). The account's own rate comes from
# GET /sapi/v1/asset/tradeFee, which is not a margin endpoint: this server does not read it, so it is assumed.
ASSUMED_TAKER_RATE = Decimal("0.001")
OTHERS = "other assets"  # the account's assets other than the pair's, valued in the quote asset
UNKNOWN = "unknown"


@dataclass(frozen=True)
class RiskInputs:
    """What the reads returned (None where a read failed or was not needed); `notes` says which failed."""

    isolated: bool
    account: Mapping[str, Any] | None = None  # cross: the account; isolated: the pair's entry
    levels: tuple[Decimal | None, Decimal | None] = (None, None)  # (margin call, liquidation)
    max_borrowable: Decimal | None = None
    daily_rate: Decimal | None = None
    btc_in_quote: Decimal | None = None  # only read when the cross account holds assets outside the pair
    notes: tuple[str, ...] = field(default=())


async def gather_risk(
    params: Mapping[str, str],
    leg: Leg,
    base: str,
    quote: str,
    read: Read,
    market_price: Callable[[str], Awaitable[Decimal | None]],
) -> RiskInputs:
    """The reads this order's risk needs; independent reads run together."""
    symbol, isolated = params.get("symbol", ""), params.get("isIsolated") == "TRUE"
    borrow = (quote if leg.side == "BUY" else base) if params.get("sideEffectType") in BORROWING else None
    notes: list[str] = []
    pair = {"isolatedSymbol": symbol} if isolated else {}
    reads: list[Awaitable[Any]] = [
        _read(read, "get_isolated_margin_account", {"symbols": symbol}, notes)
        if isolated
        else _read(read, "get_cross_margin_account", {}, notes),
        _read(read, "get_isolated_margin_tiers", {"symbol": symbol, "tier": 1}, notes)
        if isolated
        else _read(read, "get_margin_level_summary", {}, notes),
    ]
    if borrow is not None:
        reads.append(_read(read, "get_max_borrowable", {"asset": borrow, **pair}, notes))
        reads.append(
            _read(read, "get_isolated_margin_fee_data", {"symbol": symbol}, notes)
            if isolated
            else _read(read, "get_cross_margin_fee_data", {"coin": borrow}, notes)
        )
    answers = await asyncio.gather(*reads)
    account = _pair_entry(answers[0], symbol) if isolated else answers[0]
    levels = _isolated_levels(answers[1]) if isolated else _cross_levels(answers[1])
    limit = _decimal(answers[2].get("amount")) if borrow and isinstance(answers[2], Mapping) else None
    rate = _daily_rate(answers[3], borrow, isolated) if borrow else None
    btc = None
    if not isolated and isinstance(account, Mapping) and _holds_others(account, base, quote):
        btc = Decimal(1) if quote == "BTC" else await _price(market_price, f"BTC{quote}", notes)
    account = account if isinstance(account, Mapping) else None
    return RiskInputs(isolated, account, levels, limit, rate, btc, tuple(notes))


async def _read(read: Read, name: str, args: dict[str, Any], notes: list[str]) -> Any:
    entry = CATALOG[name]
    try:
        return await read(entry, build_wire_params(entry, args))
    except McpToolError as error:
        first = error.message.splitlines()[0] if error.message else type(error).__name__
        notes.append(f"risk: {name} failed: {first}")
        return None


async def _price(market_price: Callable[[str], Awaitable[Decimal | None]], symbol: str, notes: list[str]) -> Any:
    try:
        return await market_price(symbol)
    except McpToolError:
        notes.append(f"risk: no price for {symbol} to value the account's other assets")
        return None


def _pair_entry(answer: Any, symbol: str) -> Mapping[str, Any] | None:
    assets = answer.get("assets") if isinstance(answer, Mapping) else None
    return next((a for a in assets or () if isinstance(a, Mapping) and a.get("symbol") == symbol), None)


def _cross_levels(answer: Any) -> tuple[Decimal | None, Decimal | None]:
    if not isinstance(answer, Mapping):
        return None, None
    return _decimal(answer.get("marginCallBar")), _decimal(answer.get("forceLiquidationBar"))


def _isolated_levels(answer: Any) -> tuple[Decimal | None, Decimal | None]:
    """Tier 1's liquidation risk ratio; Binance publishes no margin-call level for isolated pairs."""
    row = answer[0] if isinstance(answer, list) and answer and isinstance(answer[0], Mapping) else {}
    return None, _decimal(row.get("liquidationRiskRatio"))


def _daily_rate(answer: Any, asset: str, isolated: bool) -> Decimal | None:
    rows = answer if isinstance(answer, list) else []
    if isolated:
        rows = [d for r in rows if isinstance(r, Mapping) for d in r.get("data") or ()]
    row = next((r for r in rows if isinstance(r, Mapping) and r.get("coin") == asset), None)
    return _decimal(row.get("dailyInterest")) if row else None


def _holds_others(account: Mapping[str, Any], base: str, quote: str) -> bool:
    return any(h.total or h.liability for name, h in holdings_of(account).items() if name not in (base, quote))


def holdings_of(account: Mapping[str, Any]) -> dict[str, risk.Holding]:
    """Cross `userAssets`, or an isolated pair's base and quote, as risk.Holding (free + locked held)."""
    rows = account.get("userAssets")
    if rows is None:
        rows = [account.get("baseAsset"), account.get("quoteAsset")]
    found = {}
    for row in rows if isinstance(rows, list) else ():
        if not isinstance(row, Mapping) or not isinstance(row.get("asset"), str):
            continue
        free, locked = _decimal(row.get("free")), _decimal(row.get("locked"))
        borrowed, interest = _decimal(row.get("borrowed")), _decimal(row.get("interest"))
        if None in (free, locked, borrowed, interest):
            continue
        found[row["asset"]] = risk.Holding(row["asset"], free + locked, borrowed, interest)  # type: ignore[operator]
    return found


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


# -- the estimate (pure) ----------------------------------------------------------------------------------------


def fill_price(leg: Leg, last: Decimal | None) -> Decimal | None:
    """A limit order's own price; otherwise the last price (a market order takes the book from there)."""
    if leg.type in LIMIT_PRICED and leg.price is not None:
        return leg.price
    return last


def risk_block(
    inputs: RiskInputs, params: Mapping[str, str], leg: Leg, base: str, quote: str, last: Decimal | None, weight: int
) -> dict[str, Any]:
    """The `preview.risk` fields; every amount a plain decimal string or "unknown"."""
    price = fill_price(leg, last)
    quantity = leg.quantity
    if quantity is None and leg.quoteOrderQty is not None and price is not None:
        quantity = leg.quoteOrderQty / price
    borrows = params.get("sideEffectType") in BORROWING
    out: dict[str, Any] = {"weight": weight}
    notional = quantity * price if quantity is not None and price is not None else None
    out["estimatedNotional"] = _shown(notional, quote)
    fee = notional * ASSUMED_TAKER_RATE if notional is not None else None
    out["estimatedFee"] = _shown(fee, quote)
    out["feeBasis"] = "assumed taker rate 0.1% (Binance's default; the account's own rate is not read)"
    call, liquidation = inputs.levels
    out["marginCallLevel"] = _plain(call)
    out["liquidationLevel"] = _plain(liquidation)
    holdings = _valued(inputs, base, quote, price)
    borrow_asset = (quote if leg.side == "BUY" else base) if borrows else None
    effect = None
    if holdings is not None and quantity is not None and price is not None and leg.side in ("BUY", "SELL"):
        effect = _fill(holdings, leg.side, base, quote, quantity, price, borrows)
    borrowed = effect.borrow_amount if effect is not None else (None if borrows else Decimal(0))
    out["impliedBorrow"] = {"asset": borrow_asset or "", "amount": _plain(borrowed)} if borrows else "none"
    if borrows:
        out["maxBorrowable"] = {"asset": borrow_asset, "amount": _plain(inputs.max_borrowable)}
        daily = inputs.daily_rate
        hourly = risk.hourly_interest(borrowed, daily) if borrowed is not None and daily is not None else None
        out["hourlyInterest"] = _shown(hourly, borrow_asset or "")
    prices = {quote: Decimal(1), OTHERS: Decimal(1)} | ({base: price} if price is not None else {})
    now = risk.margin_level(holdings, prices) if holdings is not None else None
    out["marginLevelNow"] = _level(now, holdings)
    after = risk.margin_level(effect.holdings, prices) if effect is not None else None
    out["marginLevelAfter"] = _level(after, effect.holdings if effect else None)
    out["liquidationPrice"] = _liquidation(effect, prices, base, quote, liquidation)
    return out


def _valued(inputs: RiskInputs, base: str, quote: str, price: Decimal | None) -> dict[str, risk.Holding] | None:
    """The account's holdings of the pair, plus its other assets as one holding valued in the quote asset."""
    if inputs.account is None or price is None:
        return None
    held = holdings_of(inputs.account)
    pair = {name: held.get(name, risk.Holding(name)) for name in (base, quote)}
    if inputs.isolated or not any(n not in pair and (h.total or h.liability) for n, h in held.items()):
        return pair
    totals = [_decimal(inputs.account.get(k)) for k in ("totalAssetOfBtc", "totalLiabilityOfBtc")]
    if inputs.btc_in_quote is None or None in totals:
        return None
    assets, debts = (t * inputs.btc_in_quote for t in totals)  # type: ignore[operator]
    prices = {quote: Decimal(1), base: price}
    others_assets = assets - (risk.value(pair, prices, "total") or 0)
    others_debts = debts - (risk.value(pair, prices, "liability") or 0)
    return pair | {OTHERS: risk.Holding(OTHERS, max(others_assets, Decimal(0)), max(others_debts, Decimal(0)))}


def _fill(
    holdings: dict[str, risk.Holding], side: str, base: str, quote: str, qty: Decimal, price: Decimal, borrows: bool
) -> risk.OrderEffect:
    return risk.apply_fill(
        holdings,
        side=side,
        base=base,
        quote=quote,
        quantity=qty,
        price=price,
        fee_rate=ASSUMED_TAKER_RATE,
        borrows=borrows,
    )


def _liquidation(
    effect: risk.OrderEffect | None, prices: Mapping[str, Decimal], base: str, quote: str, level: Decimal | None
) -> dict[str, str] | str:
    if effect is None or level is None:
        return UNKNOWN
    found = risk.liquidation_price(effect.holdings, prices, base, level)
    if found is None:
        return "none"  # no price of the base asset alone brings the account to its liquidation level
    held = effect.holdings[base]
    direction = "at or below" if held.total - level * held.liability > 0 else "at or above"
    return {"asset": base, "price": _plain(found), "quoteAsset": quote, "when": direction}


def _level(level: Decimal | None, holdings: Mapping[str, risk.Holding] | None) -> str:
    if level is None:
        no_debt = holdings is not None and all(h.liability == 0 for h in holdings.values())
        return "999 (no debt)" if no_debt else UNKNOWN
    return _plain(level.quantize(Decimal("0.0001")))


def _plain(value: Decimal | None) -> str:
    if value is None:
        return UNKNOWN
    return format(value.quantize(Decimal("0.00000001")).normalize(), "f") if value else "0"


def _shown(value: Decimal | None, asset: str) -> dict[str, str] | str:
    return UNKNOWN if value is None else {"amount": _plain(value), "asset": asset}
