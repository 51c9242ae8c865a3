"""Binance's exchangeInfo as the Market's pairs and assets: every margin pair that is trading, its real filters.

Assets the offline table knows keep their lending terms; others get conservative defaults (a collateral
ratio of 0.5, a 0.03% daily rate), since exchangeInfo says nothing about lending.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..pairs import DEFAULT_ASSETS
from ..specs import AssetSpec, SymbolSpec

D = Decimal
_KNOWN = {a.name: a for a in DEFAULT_ASSETS}


def _filters(row: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["filterType"]: f for f in row.get("filters", [])}


def _is_margin(row: dict[str, Any]) -> bool:
    if row.get("status") != "TRADING":
        return False
    sets = row.get("permissionSets") or [row.get("permissions") or []]
    return bool(row.get("isMarginTradingAllowed")) or any("MARGIN" in s for s in sets)


def symbol_spec(row: dict[str, Any]) -> SymbolSpec:
    """One exchangeInfo row as a SymbolSpec (KeyError/ValueError when a needed filter is missing)."""
    f = _filters(row)
    price, lot = f["PRICE_FILTER"], f["LOT_SIZE"]
    market_lot = f.get("MARKET_LOT_SIZE", lot)
    notional = f.get("NOTIONAL") or f.get("MIN_NOTIONAL") or {}
    by_side = f.get("PERCENT_PRICE_BY_SIDE") or f.get("PERCENT_PRICE") or {}
    tick, step = D(price["tickSize"]), D(lot["stepSize"])
    return SymbolSpec(
        symbol=row["symbol"],
        base=row["baseAsset"],
        quote=row["quoteAsset"],
        price=max(D(price["minPrice"]), tick),  # replaced by the first ticker
        tick_size=tick,
        step_size=step,
        min_qty=max(D(lot["minQty"]), step),
        max_qty=D(lot["maxQty"]),
        market_max_qty=D(market_lot["maxQty"]) or D(lot["maxQty"]),
        min_notional=D(str(notional.get("minNotional", "5"))),
        max_notional=D(str(notional.get("maxNotional", "9000000"))),
        leverage=5,
        min_price=D(price["minPrice"]) or None,
        max_price=D(price["maxPrice"]) or D(1000000),
        max_num_orders=int(f.get("MAX_NUM_ORDERS", {}).get("maxNumOrders", 200)),
        max_num_algo_orders=int(f.get("MAX_NUM_ALGO_ORDERS", {}).get("maxNumAlgoOrders", 5)),
        iceberg_parts=int(f.get("ICEBERG_PARTS", {}).get("limit", 100)),
        multiplier_up=D(str(by_side.get("bidMultiplierUp", by_side.get("multiplierUp", "5")))),
        multiplier_down=D(str(by_side.get("askMultiplierDown", by_side.get("multiplierDown", "0.2")))),
    )


def _asset(name: str) -> AssetSpec:
    known = _KNOWN.get(name)
    if known is not None:
        return known
    return AssetSpec(name, name, D("0.0003"), D("1000000"), D("100000000"), D(0), D("0.5"), 1.0)


def specs_from_exchange_info(info: dict[str, Any]) -> tuple[list[SymbolSpec], list[AssetSpec]]:
    """The margin pairs of `info` (rows without usable filters are skipped) and their assets."""
    symbols = []
    for row in info.get("symbols", []):
        if not _is_margin(row):
            continue
        try:
            symbols.append(symbol_spec(row))
        except (KeyError, ValueError, ArithmeticError):
            continue
    # Every asset must have a USDT value (margin levels are computed in USDT/BTC): directly or through BTC.
    pairs = {s.symbol for s in symbols}
    valued = {"USDT"} | {s.base for s in symbols if s.quote == "USDT"}
    valued |= {s.base for s in symbols if s.quote == "BTC" and "BTC" in valued}
    symbols = [s for s in symbols if s.base in valued and s.quote in valued and s.symbol in pairs]
    names = sorted({s.base for s in symbols} | {s.quote for s in symbols})
    return symbols, [_asset(name) for name in names]
