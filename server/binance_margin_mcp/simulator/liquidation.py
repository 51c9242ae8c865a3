"""Forced and manual liquidation, and the liquidation loan a bankrupt cross account leaves behind.

After every price move each account with debt is checked: at or below its forced-liquidation bar
(cross: tradeCoeff's forceLiquidationBar; isolated: the tier's liquidationRiskRatio) its open orders
expire and other assets are sold at the last price, through a direct pair or via USDT, until each
debt can be repaid. A cross shortfall left after everything is sold becomes a USDC liquidation loan.
"""

from __future__ import annotations

from decimal import Decimal

from . import engine, ledger
from .context import Context
from .state import UserState
from .util import ZERO, down8, f8, q8, up8

FEE = ledger.FEE_RATE


def check_all(ctx: Context) -> None:
    """Liquidate every account whose margin level has fallen to its forced-liquidation bar."""
    for us in list(ctx.users.values()):
        for key in [None, *sorted(us.isolated)]:
            if key is not None and not us.isolated[key].enabled:
                continue
            _, liabilities = ledger.values(ctx, us, key)
            if liabilities > 0 and ledger.margin_level(ctx, us, key) <= ledger.bars(ctx, us, key)[2]:
                liquidate(ctx, us, key)


def liquidate(ctx: Context, us: UserState, key: str | None) -> list[dict]:
    """Expire the account's open orders, sell assets to clear every debt; returns per-debt rows."""
    ctx.touch(us)
    for o in list(us.orders.values()):
        if o.is_open and o.account_key == key:
            engine.close(ctx, us, o, "EXPIRED")
    acct = us.account(key)
    rows = []
    debts = sorted((a for a, b in acct.items() if b.liability > 0), key=lambda a: -_value(ctx, acct[a].liability, a))
    for asset in debts:
        sources = _cover(ctx, us, key, asset)
        _, interest, principal = ledger.repay(ctx, us, key, asset, acct[asset].liability, "AUTO", "REPAY_LIQUIDATION")
        spent_asset, spent = max(sources.items(), key=lambda kv: kv[1], default=(asset, interest + principal))
        rows.append(
            {
                "asset": asset,
                "interest": f8(interest),
                "principal": f8(principal),
                "liabilityAsset": spent_asset,
                "liabilityQty": f8(spent),
            }
        )
    _write_off(ctx, us, key)
    return rows


def _value(ctx: Context, amount: Decimal, asset: str) -> Decimal:
    return amount * ctx.market.usdt_price(asset)


def _spare(acct: dict, asset: str) -> Decimal:
    """Free balance beyond what the asset's own debt needs."""
    balance = acct.get(asset)
    return ZERO if balance is None else max(balance.free - balance.liability, ZERO)


def _cover(ctx: Context, us: UserState, key: str | None, debt: str) -> dict[str, Decimal]:
    """Convert other assets into `debt` until its free balance covers the debt; returns amounts spent."""
    acct = us.account(key)
    spent: dict[str, Decimal] = {}
    others = sorted((a for a in acct if a != debt), key=lambda a: -_value(ctx, _spare(acct, a), a))
    for source in others:
        short = acct[debt].liability - acct[debt].free
        if short <= 0:
            break
        if _spare(acct, source) <= 0:
            continue
        used = _convert(ctx, us, key, source, debt, short)
        if used > 0:
            spent[source] = spent.get(source, ZERO) + used
    return spent


def _convert(ctx: Context, us: UserState, key: str | None, source: str, target: str, want: Decimal) -> Decimal:
    """Obtain up to `want` of target from source (direct pair, else through USDT); returns source spent."""
    if ctx.market.pair(source, target) is not None:
        return _hop(ctx, us, key, source, target, want)
    routed = ctx.market.pair(source, "USDT") is not None and ctx.market.pair("USDT", target) is not None
    if key is not None or "USDT" in (source, target) or not routed:
        return ZERO
    acct = us.account(key)
    usdt_before = acct["USDT"].free if "USDT" in acct else ZERO
    needed = _cost(ctx, "USDT", target, want)
    spent = _hop(ctx, us, key, source, "USDT", needed)
    got = ledger.bal(acct, "USDT").free - usdt_before
    if got > 0:
        _hop(ctx, us, key, "USDT", target, want, budget=got)
    return spent


def _cost(ctx: Context, source: str, target: str, want: Decimal) -> Decimal:
    """How much source buys `want` of target after the fee."""
    spec = ctx.market.pair(source, target)
    assert spec is not None
    price = ctx.market.prices[spec.symbol]
    gross = up8(want / (1 - FEE))
    return up8(gross * price) if spec.base == target else up8(gross / price)


def _hop(
    ctx: Context, us: UserState, key: str | None, source: str, target: str, want: Decimal, budget: Decimal | None = None
) -> Decimal:
    """One market trade source -> target at the last price, recorded as a liquidation order."""
    spec = ctx.market.pair(source, target)
    assert spec is not None
    acct = us.account(key)
    price = ctx.market.prices[spec.symbol]
    available = min(_spare(acct, source), budget) if budget is not None else _spare(acct, source)
    pay = min(_cost(ctx, source, target, want), available)
    if pay <= 0:
        return ZERO
    buying = spec.base == target
    qty = down8(pay / price) if buying else pay
    quote = q8(qty * price)
    gross = qty if buying else quote
    fee = q8(gross * FEE)
    ledger.bal(acct, source).free -= quote if buying else qty
    ledger.bal(acct, target).free += gross - fee
    _record(ctx, us, key, spec.symbol, "BUY" if buying else "SELL", qty, price, fee, target)
    return quote if buying else qty


def _record(
    ctx: Context, us: UserState, key: str | None, symbol: str, side: str, qty: Decimal, price: Decimal, fee: Decimal,
    fee_asset: str,
) -> None:  # fmt: skip
    order_id = ctx.next_id("order")
    us.rows("liquidation").append(
        {
            "avgPrice": f8(price),
            "executedQty": f8(qty),
            "orderId": order_id,
            "price": f8(price),
            "qty": f8(qty),
            "side": side,
            "symbol": symbol,
            "timeInForce": "IOC",
            "isIsolated": key is not None,
            "updatedTime": ctx.now(),
        }
    )
    spec = ctx.market.spec(symbol)
    ledger.flow(ctx, us, key, spec.base, f"{side}_LIQUIDATION", qty, order_id)
    ledger.flow(ctx, us, key, fee_asset, "LIQUIDATION_FEE", fee, order_id)


def _write_off(ctx: Context, us: UserState, key: str | None) -> None:
    """Debt nothing was left to pay: a cross account's becomes the USDC liquidation loan."""
    shortfall = ZERO
    for asset, balance in us.account(key).items():
        if balance.liability > 0:
            shortfall += _value(ctx, balance.liability, asset)
            ledger.flow(ctx, us, key, asset, "OTHER_LIQUIDATION", balance.liability, ctx.next_id("tran"))
            balance.borrowed = balance.interest = ZERO
    if shortfall > 0 and key is None:
        us.liq_loan_amount += up8(shortfall / ctx.market.usdt_price("USDC"))
