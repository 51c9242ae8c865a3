"""Account endpoints: cross and isolated account details, settings, limits, capital flow, transfers."""

from __future__ import annotations

from decimal import Decimal

from . import ledger
from .context import Context
from .errors import SimError
from .state import Balance, UserState
from .util import DAY_MS, ZERO, Params, bad_param, f8, mandatory, page, q8, time_window

MAX_ISOLATED_ACCOUNTS = 20
D = Decimal


def level_text(level: Decimal) -> str:
    return "999" if level == ledger.NO_LIABILITY_LEVEL else f8(level)


def cross_account(ctx: Context, us: UserState, p: Params) -> dict:
    assets, liabilities = ledger.values(ctx, us, None)
    level = ledger.margin_level(ctx, us, None)
    btc = ctx.market.usdt_price("BTC")
    collateral = sum(
        (b.total * ctx.market.usdt_price(a) * ctx.market.asset(a).collateral_ratio for a, b in us.cross.items()), ZERO
    )
    return {
        "created": True,
        "borrowEnabled": level > ledger.bars(ctx, us, None)[0],  # the initial ratio that max_borrowable keeps
        "marginLevel": level_text(level),
        "collateralMarginLevel": level_text(level),
        **btc_totals(assets, liabilities, btc),
        "TotalCollateralValueInUSDT": f8(collateral),
        "totalOpenOrderLossInUSDT": f8(ZERO),
        "tradeEnabled": True,
        "transferInEnabled": True,
        "transferOutEnabled": level > D(2),
        "accountType": "MARGIN_2" if us.max_leverage == 10 else "MARGIN_1",
        "userAssets": [_user_asset(a, us.cross.get(a, Balance())) for a in ledger.account_assets(ctx, None)],
    }


def btc_totals(assets: Decimal, liabilities: Decimal, btc: Decimal) -> dict:
    """Totals in BTC, rounded first so that net = asset - liability holds exactly in the output."""
    asset_btc, liability_btc = q8(assets / btc), q8(liabilities / btc)
    return {
        "totalAssetOfBtc": f8(asset_btc),
        "totalLiabilityOfBtc": f8(liability_btc),
        "totalNetAssetOfBtc": f8(asset_btc - liability_btc),
    }


def _user_asset(asset: str, b: Balance) -> dict:
    return {
        "asset": asset,
        "borrowed": f8(b.borrowed),
        "free": f8(b.free),
        "interest": f8(b.interest),
        "locked": f8(b.locked),
        "netAsset": f8(b.net),
    }


def _iso_asset(ctx: Context, asset: str, b: Balance) -> dict:
    return {
        "asset": asset,
        "borrowEnabled": True,
        "borrowed": f8(b.borrowed),
        "free": f8(b.free),
        "interest": f8(b.interest),
        "locked": f8(b.locked),
        "netAsset": f8(b.net),
        "netAssetOfBtc": f8(b.net * ctx.market.btc_price(asset)),
        "repayEnabled": True,
        "totalAsset": f8(b.total),
    }


def level_status(level: Decimal, bars: tuple[Decimal, Decimal, Decimal]) -> str:
    _, call, liquidation = bars
    if level >= 2:
        return "EXCESSIVE"
    if level > call:
        return "NORMAL"
    if level > liquidation * D("1.02"):
        return "MARGIN_CALL"
    return "PRE_LIQUIDATION" if level > liquidation else "FORCE_LIQUIDATION"


def _liquidate_price(ctx: Context, us: UserState, symbol: str, ratio: Decimal) -> Decimal:
    """Base price at which assets = ratio x liabilities (other things equal); 0 if none."""
    spec = ctx.market.spec(symbol)
    acct = us.account(symbol)
    base, quote = acct.get(spec.base, Balance()), acct.get(spec.quote, Balance())
    denominator = base.total - ratio * base.liability
    numerator = ratio * quote.liability - quote.total
    if denominator == 0 or numerator / denominator <= 0:
        return ZERO
    return numerator / denominator


def isolated_entry(ctx: Context, us: UserState, symbol: str) -> dict:
    spec = ctx.market.spec(symbol)
    acct = us.isolated.get(symbol)
    balances = acct.balances if acct is not None else {}
    bars = ledger.bars(ctx, us, symbol)
    level = ledger.margin_level(ctx, us, symbol) if acct is not None else ledger.NO_LIABILITY_LEVEL
    no_debt = level == ledger.NO_LIABILITY_LEVEL
    return {
        "baseAsset": _iso_asset(ctx, spec.base, balances.get(spec.base, Balance())),
        "quoteAsset": _iso_asset(ctx, spec.quote, balances.get(spec.quote, Balance())),
        "symbol": symbol,
        "isolatedCreated": acct is not None,
        "enabled": acct is not None and acct.enabled,
        "marginLevel": level_text(level),
        "marginLevelStatus": level_status(level, bars),
        "marginRatio": f8(D(spec.leverage)),
        "indexPrice": f8(ctx.market.price(symbol)),
        "liquidatePrice": f8(ZERO if acct is None else _liquidate_price(ctx, us, symbol, bars[2])),
        "liquidateRate": f8(ZERO if no_debt else bars[2] / level * 100),
        "tradeEnabled": acct is not None and acct.enabled,
    }


def isolated_account(ctx: Context, us: UserState, p: Params) -> dict:
    requested = p.str("symbols")
    if requested is not None:
        symbols = [s.strip() for s in requested.split(",") if s.strip()]
        if len(symbols) > 5:
            raise SimError(-1130, "Data sent for parameter 'symbols' is not valid.")
        for symbol in symbols:
            ctx.market.spec(symbol)
        return {"assets": [isolated_entry(ctx, us, s) for s in symbols]}
    symbols = sorted(us.isolated)
    body: dict = {"assets": [isolated_entry(ctx, us, s) for s in symbols]}
    assets = liabilities = ZERO
    for symbol in symbols:
        a, li = ledger.values(ctx, us, symbol)
        assets, liabilities = assets + a, liabilities + li
    body.update(btc_totals(assets, liabilities, ctx.market.usdt_price("BTC")))
    return body


def enable_isolated(ctx: Context, us: UserState, p: Params) -> dict:
    symbol = p.required("symbol")
    ctx.market.spec(symbol)
    acct = us.isolated.get(symbol)
    if acct is not None and acct.enabled:
        raise bad_param()
    if sum(1 for a in us.isolated.values() if a.enabled) >= MAX_ISOLATED_ACCOUNTS:
        raise bad_param()
    ledger.open_isolated(ctx, us, symbol).enabled = True
    return {"success": True, "symbol": symbol}


def disable_isolated(ctx: Context, us: UserState, p: Params) -> dict:
    symbol = p.required("symbol")
    ctx.market.spec(symbol)
    acct = ledger.isolated(us, symbol)
    busy = any(o.is_open and o.isolated and o.symbol == symbol for o in us.orders.values())
    if busy or any(b.liability > 0 for b in acct.balances.values()):
        raise bad_param()
    acct.enabled = False
    return {"success": True, "symbol": symbol}


def account_limit(ctx: Context, us: UserState, p: Params) -> dict:
    return {"enabledAccount": sum(1 for a in us.isolated.values() if a.enabled), "maxAccount": MAX_ISOLATED_ACCOUNTS}


def trade_coeff(ctx: Context, us: UserState, p: Params) -> dict:
    normal, call, liquidation = ledger.bars(ctx, us, None)
    return {"normalBar": str(normal), "marginCallBar": str(call), "forceLiquidationBar": str(liquidation)}


def max_leverage(ctx: Context, us: UserState, p: Params) -> dict:
    value = p.int("maxLeverage")
    if value is None:
        raise mandatory("maxLeverage")
    if value not in ledger.CROSS_BARS:
        raise bad_param()
    us.max_leverage = value
    return {"success": True}


def bnb_burn(ctx: Context, us: UserState, p: Params) -> dict:
    return {"spotBNBBurn": us.spot_bnb_burn, "interestBNBBurn": us.interest_bnb_burn}


def capital_flow(ctx: Context, us: UserState, p: Params) -> list:
    symbol, asset, kind = p.str("symbol"), p.str("asset"), p.str("type")
    if symbol is not None:
        ctx.market.spec(symbol)
    from_id, limit = p.int("fromId"), p.limit("limit", 500, 1000)
    error = SimError(-4047, "Time interval must be within 0-7 days")
    if from_id is None:
        start, end = time_window(p, ctx.now(), default_span=7 * DAY_MS, max_span=7 * DAY_MS, error=error)
    else:
        start, end = 0, ctx.now()
    rows = [
        r
        for r in us.rows("flow")
        if r.get("symbol") == symbol
        and asset in (None, r["asset"])
        and kind in (None, r["type"])
        and start <= r["timestamp"] <= end
        and (from_id is None or r["id"] >= from_id)
    ]
    return rows[:limit] if from_id is not None else rows[-limit:]


def _asset_and_pair(ctx: Context, us: UserState, p: Params) -> tuple[str, str | None]:
    """The asset and optional isolated pair of a max-borrow/transfer query, both checked to exist."""
    asset, key = p.required("asset"), p.str("isolatedSymbol")
    if key is not None:
        ctx.market.spec(key)
        ledger.isolated(us, key)
    ledger.check_asset(ctx, key, asset)
    return asset, key


def max_borrowable(ctx: Context, us: UserState, p: Params) -> dict:
    asset, key = _asset_and_pair(ctx, us, p)
    amount, limit = ledger.max_borrowable(ctx, us, key, asset)
    return {"amount": f8(amount), "borrowLimit": f8(limit)}


def max_transferable(ctx: Context, us: UserState, p: Params) -> dict:
    asset, key = _asset_and_pair(ctx, us, p)
    return {"amount": f8(ledger.max_transferable(ctx, us, key, asset))}


def transfer_history(ctx: Context, us: UserState, p: Params) -> dict:
    asset, kind, key = p.str("asset"), p.str("type"), p.str("isolatedSymbol")
    error = SimError(-1127, "Lookup interval is too big.")
    start, end = time_window(p, ctx.now(), default_span=7 * DAY_MS, max_span=30 * DAY_MS, error=error)
    rows = [
        r
        for r in reversed(us.rows("transfer"))
        if asset in (None, r["asset"])
        and kind in (None, r["type"])
        and key in (r.get("toSymbol"), r.get("fromSymbol"))
        and start <= r["timestamp"] <= end
    ]
    return page(rows, p)


HANDLERS = {
    "get_cross_margin_account": cross_account,
    "get_isolated_margin_account": isolated_account,
    "enable_isolated_margin_account": enable_isolated,
    "disable_isolated_margin_account": disable_isolated,
    "get_isolated_margin_account_limit": account_limit,
    "get_margin_level_summary": trade_coeff,
    "adjust_cross_margin_max_leverage": max_leverage,
    "get_bnb_burn_settings": bnb_burn,
    "get_margin_capital_flow": capital_flow,
    "get_max_borrowable": max_borrowable,
    "get_max_transferable": max_transferable,
    "get_margin_transfer_history": transfer_history,
}
