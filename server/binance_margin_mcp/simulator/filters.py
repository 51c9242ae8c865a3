"""exchangeInfo for the simulated pairs, and the order checks its filters define (-1013 texts).

The checks run in Binance's order: PRICE_FILTER, PERCENT_PRICE_BY_SIDE, LOT_SIZE,
MARKET_LOT_SIZE, ICEBERG_PARTS, NOTIONAL, then the open-order counts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from .market import Market, SymbolSpec
from .util import ZERO, f8, filter_failure, is_multiple, rejected

ORDER_TYPES = ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"]
STP_MODES = ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"]
STOP_TYPES = frozenset({"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"})
LIMIT_PRICED = frozenset({"LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"})


@dataclass
class Leg:
    """What the filters need to know about one order."""

    type: str
    side: str
    qty: Decimal
    price: Decimal | None = None
    stop: Decimal | None = None
    iceberg: Decimal | None = None
    quote_qty: Decimal | None = None


def check_leg(spec: SymbolSpec, leg: Leg, last: Decimal) -> None:
    """Raise -1013 with the first filter the order breaks."""
    for value in (leg.price, leg.stop):
        if value is not None and not _price_ok(spec, value):
            raise filter_failure("PRICE_FILTER")
    if leg.type in LIMIT_PRICED and leg.price is not None:
        low, high = last * spec.multiplier_down, last * spec.multiplier_up
        if not low <= leg.price <= high:
            raise filter_failure("PERCENT_PRICE_BY_SIDE")
    if leg.quote_qty is None:
        for value in (leg.qty, leg.iceberg):
            if value is not None and not _lot_ok(spec, value):
                raise filter_failure("LOT_SIZE")
    if leg.type == "MARKET" and leg.qty > spec.market_max_qty:
        raise filter_failure("MARKET_LOT_SIZE")
    if leg.iceberg:
        if leg.iceberg > leg.qty:
            raise rejected("IcebergQty exceeds QTY.")
        if (leg.qty / leg.iceberg).to_integral_value(rounding=ROUND_CEILING) > spec.iceberg_parts:
            raise filter_failure("ICEBERG_PARTS")
    _check_notional(spec, leg, last)


def _price_ok(spec: SymbolSpec, price: Decimal) -> bool:
    return spec.lowest_price <= price <= spec.max_price and is_multiple(price, spec.tick_size)


def _lot_ok(spec: SymbolSpec, qty: Decimal) -> bool:
    return spec.min_qty <= qty <= spec.max_qty and is_multiple(qty, spec.step_size)


def _check_notional(spec: SymbolSpec, leg: Leg, last: Decimal) -> None:
    if leg.type == "MARKET":
        notional = leg.quote_qty if leg.quote_qty is not None else leg.qty * last
        if notional < spec.min_notional:
            raise filter_failure("NOTIONAL")
        return
    reference = leg.price if leg.type in LIMIT_PRICED else leg.stop
    notional = (reference or ZERO) * leg.qty
    if not spec.min_notional <= notional <= spec.max_notional:
        raise filter_failure("NOTIONAL")


def check_counts(spec: SymbolSpec, open_orders: int, open_algo: int, adding: int, adding_algo: int) -> None:
    """MAX_NUM_ORDERS counts every open order on the symbol (OCO/OTO add 2, OTOCO 3)."""
    if open_orders + adding > spec.max_num_orders:
        raise filter_failure("MAX_NUM_ORDERS")
    if open_algo + adding_algo > spec.max_num_algo_orders:
        raise filter_failure("MAX_NUM_ALGO_ORDERS")


def symbol_info(spec: SymbolSpec) -> dict:
    """One entry of exchangeInfo's `symbols`, in Binance's field order."""
    return {
        "symbol": spec.symbol,
        "status": "TRADING",
        "baseAsset": spec.base,
        "baseAssetPrecision": 8,
        "quoteAsset": spec.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ORDER_TYPES,
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": False,
        "amendAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": True,
        "filters": _filters(spec),
        "permissions": [],
        "permissionSets": [["SPOT", "MARGIN"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": STP_MODES,
    }


def _filters(spec: SymbolSpec) -> list[dict]:
    up, down = str(spec.multiplier_up), str(spec.multiplier_down)
    return [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": f8(spec.lowest_price),
            "maxPrice": f8(spec.max_price),
            "tickSize": f8(spec.tick_size),
        },
        {
            "filterType": "LOT_SIZE",
            "minQty": f8(spec.min_qty),
            "maxQty": f8(spec.max_qty),
            "stepSize": f8(spec.step_size),
        },
        {"filterType": "ICEBERG_PARTS", "limit": spec.iceberg_parts},
        {"filterType": "MARKET_LOT_SIZE", "minQty": f8(ZERO), "maxQty": f8(spec.market_max_qty), "stepSize": f8(ZERO)},
        {
            "filterType": "PERCENT_PRICE_BY_SIDE",
            "bidMultiplierUp": up,
            "bidMultiplierDown": down,
            "askMultiplierUp": up,
            "askMultiplierDown": down,
            "avgPriceMins": 0,
        },
        {
            "filterType": "NOTIONAL",
            "minNotional": f8(spec.min_notional),
            "applyMinToMarket": True,
            "maxNotional": f8(spec.max_notional),
            "applyMaxToMarket": False,
            "avgPriceMins": 0,
        },
        {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": spec.max_num_orders},
        {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": spec.max_num_algo_orders},
        {"filterType": "MAX_NUM_ORDER_LISTS", "maxNumOrderLists": 20},
    ]


RATE_LIMITS = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
]


def requested_symbols(market: Market, symbol: str | None, symbols: str | None) -> list[SymbolSpec]:
    """`symbol=X` or `symbols=["X","Y"]` (JSON array; a plain comma list is accepted too)."""
    if symbol:
        return [market.spec(symbol)]
    if not symbols:
        return sorted(market.symbols.values(), key=lambda s: s.symbol)
    try:
        names = json.loads(symbols)
    except ValueError:
        names = symbols.split(",")
    if not isinstance(names, list):
        names = [str(names)]
    return [market.spec(str(name).strip()) for name in names]


def exchange_info(market: Market, now: int, specs: list[SymbolSpec]) -> dict:
    return {
        "timezone": "UTC",
        "serverTime": now,
        "rateLimits": RATE_LIMITS,
        "exchangeFilters": [],
        "symbols": [symbol_info(spec) for spec in specs],
    }
