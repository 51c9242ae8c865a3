"""Market-data and fee endpoints, derived from the Market's assets and pairs (shapes as documented)."""

from __future__ import annotations

import hashlib
from decimal import Decimal

from . import ledger
from .context import Context
from .market import _TIER_RATIOS, SymbolSpec
from .state import UserState
from .util import Params, f8

D = Decimal
PRO_BRACKETS = [
    {"leverage": 10, "maxDebt": 1000000.0, "maintenanceMarginRate": 0.02, "initialMarginRate": 0.1112, "fastNum": 0},
    {"leverage": 3, "maxDebt": 4000000.0, "maintenanceMarginRate": 0.07, "initialMarginRate": 0.5, "fastNum": 60000.0},
]


def _plain(value: Decimal) -> str:
    """A decimal without trailing zeros ("180", "0.0953"), as the fee tables print them."""
    text = format(value.normalize(), "f")
    return text


def _pair_id(symbol: str) -> int:
    return int.from_bytes(hashlib.sha256(symbol.encode()).digest()[:8], "big") % 10**18


def _pairs(ctx: Context, p: Params) -> list[SymbolSpec]:
    symbol = p.str("symbol")
    if symbol is not None:
        return [ctx.market.spec(symbol)]
    return sorted(ctx.market.symbols.values(), key=lambda s: s.symbol)


def all_assets(ctx: Context, us: UserState, p: Params) -> list:
    name = p.str("asset")
    assets = [ctx.market.asset(name)] if name is not None else sorted(ctx.market.assets.values(), key=lambda a: a.name)
    return [
        {
            "assetFullName": a.full_name,
            "assetName": a.name,
            "isBorrowable": True,
            "isMortgageable": True,
            "userMinBorrow": f8(a.user_min_borrow),
            "userMinRepay": f8(D(0)),
        }
        for a in assets
    ]


def all_pairs(ctx: Context, us: UserState, p: Params) -> list:
    return [
        {
            "base": s.base,
            "id": _pair_id(s.symbol),
            "isBuyAllowed": True,
            "isMarginTrade": True,
            "isSellAllowed": True,
            "quote": s.quote,
            "symbol": s.symbol,
        }
        for s in _pairs(ctx, p)
    ]


def isolated_pairs(ctx: Context, us: UserState, p: Params) -> list:
    return [
        {"base": s.base, "isBuyAllowed": True, "isMarginTrade": True, "isSellAllowed": True, "quote": s.quote}
        | {"symbol": s.symbol}
        for s in _pairs(ctx, p)
    ]


def available_inventory(ctx: Context, us: UserState, p: Params) -> dict:
    p.required("type")
    assets = {name: f8(ledger.inventory_left(ctx, name)) for name in sorted(ctx.market.assets)}
    return {"assets": assets, "updateTime": ctx.now()}


def collateral_ratios(ctx: Context, us: UserState, p: Params) -> list:
    """One row per collateral ratio (stablecoins 1, BTC/ETH 0.95, alts lower), as one tier without a cap."""
    groups: dict[Decimal, list[str]] = {}
    for asset in ctx.market.assets.values():
        groups.setdefault(asset.collateral_ratio, []).append(asset.name)
    return [
        {"collaterals": [{"minUsdValue": "0", "discountRate": _plain(ratio)}], "assetNames": sorted(names)}
        for ratio, names in sorted(groups.items(), reverse=True)
    ]


def delist_schedule(ctx: Context, us: UserState, p: Params) -> list:
    return [dict(entry) for entry in ctx.market.delist_schedule]


def list_schedule(ctx: Context, us: UserState, p: Params) -> list:
    return [dict(entry) for entry in ctx.market.list_schedule]


def isolated_tiers(ctx: Context, us: UserState, p: Params) -> list:
    spec = ctx.market.spec(p.required("symbol"))
    wanted = p.int("tier")
    rows = []
    leverages = sorted((lev for lev in _TIER_RATIOS if lev <= spec.leverage), reverse=True)
    for tier, leverage in enumerate(leverages, start=1):
        initial, liquidation = _TIER_RATIOS[leverage]
        scale = D(2) ** (tier - 1)
        rows.append(
            {
                "symbol": spec.symbol,
                "tier": tier,
                "effectiveMultiple": str(leverage),
                "initialRiskRatio": str(initial),
                "liquidationRiskRatio": str(liquidation),
                "baseAssetMaxBorrowable": _plain(spec.iso_base_limit * scale),
                "quoteAssetMaxBorrowable": _plain(spec.iso_quote_limit * scale),
            }
        )
    return [r for r in rows if wanted is None or r["tier"] == wanted]


def leverage_brackets(ctx: Context, us: UserState, p: Params) -> list:
    return [{"assetNames": sorted(ctx.market.assets), "rank": 1, "brackets": PRO_BRACKETS}]


def limit_price_pairs(ctx: Context, us: UserState, p: Params) -> dict:
    return {"crossMarginSymbols": sorted(s.symbol for s in ctx.market.symbols.values() if s.price_band)}


def price_index(ctx: Context, us: UserState, p: Params) -> dict:
    symbol = p.required("symbol")
    return {"calcTime": ctx.now(), "price": f8(ctx.market.price(symbol)), "symbol": symbol}


def restricted_assets(ctx: Context, us: UserState, p: Params) -> dict:
    return {"openLongRestrictedAsset": [], "maxCollateralExceededAsset": []}


def risk_based_ratios(ctx: Context, us: UserState, p: Params) -> list:
    return [{"asset": name, "riskBasedLiquidationRatio": "0.01"} for name in sorted(ctx.market.assets)]


def cross_fee_data(ctx: Context, us: UserState, p: Params) -> list:
    vip, coin = p.int("vipLevel", 0) or 0, p.str("coin")
    assets = [ctx.market.asset(coin)] if coin is not None else sorted(ctx.market.assets.values(), key=lambda a: a.name)
    return [
        {
            "vipLevel": vip,
            "coin": a.name,
            "transferIn": True,
            "borrowable": True,
            "dailyInterest": f8(a.daily_rate),
            "yearlyInterest": _plain(a.daily_rate * 365),
            "borrowLimit": _plain(a.borrow_limit),
            "marginablePairs": sorted(s.symbol for s in ctx.market.symbols.values() if a.name in (s.base, s.quote)),
        }
        for a in assets
    ]


def isolated_fee_data(ctx: Context, us: UserState, p: Params) -> list:
    vip = p.int("vipLevel", 0) or 0
    rows = []
    for spec in _pairs(ctx, p):
        data = [
            {
                "coin": coin,
                "dailyInterest": f8(ctx.market.asset(coin).daily_rate),
                "borrowLimit": _plain(ledger.borrow_limit(ctx, spec.symbol, coin)),
            }
            for coin in (spec.base, spec.quote)
        ]
        rows.append({"vipLevel": vip, "symbol": spec.symbol, "leverage": str(spec.leverage), "data": data})
    return rows


HANDLERS = {
    "list_margin_assets": all_assets,
    "list_cross_margin_pairs": all_pairs,
    "list_isolated_margin_pairs": isolated_pairs,
    "get_margin_available_inventory": available_inventory,
    "get_cross_margin_collateral_ratios": collateral_ratios,
    "get_margin_delist_schedule": delist_schedule,
    "get_margin_listing_schedule": list_schedule,
    "get_isolated_margin_tiers": isolated_tiers,
    "get_cross_margin_pro_leverage_brackets": leverage_brackets,
    "list_margin_limit_price_pairs": limit_price_pairs,
    "get_margin_price_index": price_index,
    "list_margin_restricted_assets": restricted_assets,
    "get_margin_risk_based_liquidation_ratios": risk_based_ratios,
    "get_cross_margin_fee_data": cross_fee_data,
    "get_isolated_margin_fee_data": isolated_fee_data,
}
