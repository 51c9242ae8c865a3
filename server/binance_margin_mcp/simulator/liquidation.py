"""Margin calls, forced and manual liquidation, and the liquidation loan a bankrupt cross account leaves.

After every price move each account's margin level (total assets / total liabilities) is checked.
The cross account's status band (EXCESSIVE, NORMAL, MARGIN_CALL, PRE_LIQUIDATION, FORCE_LIQUIDATION)
is kept, and each change is recorded as the MARGIN_LEVEL_STATUS_CHANGE event the risk data stream
sends. At or below the forced-liquidation bar (cross: tradeCoeff's forceLiquidationBar; isolated: the
tier's liquidationRiskRatio) open orders expire and other assets are sold into the book, level by
level (through a direct pair or via USDT), until each debt can be repaid. Each liquidation trade pays
the taker commission plus LIQUIDATION_FEE_RATE of its value. A cross shortfall left after everything
is sold becomes a USDC liquidation loan.
"""

from __future__ import annotations

from decimal import Decimal

from . import accounts, engine, fills, ledger
from .book import Book, Level, take
from .context import Context
from .market import SymbolSpec
from .state import UserState
from .util import ZERO, down8, f8, q8, up8

# Binance does not publish its liquidation fee for margin; this simulator charges 2% of the liquidated
# value (on top of the 0.1% taker commission), taken from what each liquidation trade receives.
LIQUIDATION_FEE_RATE = Decimal("0.02")
RISK_EVENTS_KEPT = 100


def keep_rate() -> Decimal:
    """Share of a liquidation trade's proceeds left after commission and liquidation fee."""
    return 1 - ledger.TAKER_FEE_RATE - LIQUIDATION_FEE_RATE


def check_all(ctx: Context) -> None:
    """Note every cross account's margin status; liquidate accounts at their forced-liquidation bar."""
    for us in list(ctx.users.values()):
        for key in [None, *sorted(us.isolated)]:
            if key is not None and not us.isolated[key].enabled:
                continue
            _, liabilities = ledger.values(ctx, us, key)
            level = ledger.margin_level(ctx, us, key)
            if key is None:
                note_status(ctx, us)
            if liabilities > 0 and level <= ledger.bars(ctx, us, key)[2]:
                liquidate(ctx, us, key)
                if key is None:
                    note_status(ctx, us)


def status(ctx: Context, us: UserState, key: str | None) -> tuple[Decimal, str]:
    """(margin level, marginLevelStatus) of one account."""
    level = ledger.margin_level(ctx, us, key)
    return level, accounts.level_status(level, ledger.bars(ctx, us, key))


def note_status(ctx: Context, us: UserState) -> None:
    """Record a MARGIN_LEVEL_STATUS_CHANGE risk event when the cross status band changes."""
    level, now_status = status(ctx, us, None)
    if now_status == us.margin_status:
        return
    us.margin_status = now_status
    event = {"e": "MARGIN_LEVEL_STATUS_CHANGE", "E": ctx.now(), "l": accounts.level_text(level), "s": now_status}
    us.risk_events = [*us.risk_events[-(RISK_EVENTS_KEPT - 1) :], event]
    ctx.touch(us)


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
    needed = _spend(*_plan(ctx, "USDT", target, want)[1:])
    spent = _hop(ctx, us, key, source, "USDT", up8(needed / keep_rate()) if needed else ZERO)
    got = ledger.bal(acct, "USDT").free - usdt_before
    if got > 0:
        _hop(ctx, us, key, "USDT", target, want, budget=got)
    return spent


def _sell_for(book: Book, quote: Decimal) -> list[Level]:
    """Bids to hit (in 8-decimal quantities) until at least `quote` comes in."""
    slices: list[Level] = []
    left = quote
    for price, qty in book.bids:
        if left <= 0:
            break
        part = min(qty, up8(left / price))
        slices.append((price, part))
        left -= q8(part * price)
    return slices


def _plan(ctx: Context, source: str, target: str, want: Decimal) -> tuple[SymbolSpec, bool, list[Level]]:
    """The book levels that turn source into `want` of target after commission and the liquidation fee."""
    spec = ctx.market.pair(source, target)
    assert spec is not None
    book = fills.book_for(ctx, spec.symbol)
    gross = up8(want / keep_rate())
    buying = spec.base == target
    return spec, buying, take(book, "BUY", gross) if buying else _sell_for(book, gross)


def _spend(buying: bool, slices: list[Level]) -> Decimal:
    """Source asset a plan uses: quote paid when buying, base sold when selling."""
    return sum((q8(p * q) if buying else q for p, q in slices), ZERO)


def _cap(buying: bool, slices: list[Level], budget: Decimal) -> list[Level]:
    """The plan cut so that it spends at most `budget` of the source asset."""
    kept: list[Level] = []
    left = budget
    for price, qty in slices:
        cost = q8(price * qty) if buying else qty
        part = qty if cost <= left else (down8(left / price) if buying else left)
        if part <= 0:
            break
        kept.append((price, part))
        left -= q8(price * part) if buying else part
    return kept


def _hop(
    ctx: Context, us: UserState, key: str | None, source: str, target: str, want: Decimal, budget: Decimal | None = None
) -> Decimal:
    """One liquidation order source -> target walking the book; returns the source spent."""
    spec, buying, slices = _plan(ctx, source, target, want)
    acct = us.account(key)
    available = min(_spare(acct, source), budget) if budget is not None else _spare(acct, source)
    slices = _cap(buying, slices, available)
    if not slices:
        return ZERO
    qty = sum((q for _, q in slices), ZERO)
    quote = sum((q8(p * q) for p, q in slices), ZERO)
    gross = qty if buying else quote
    fee, liquidation_fee = q8(gross * ledger.TAKER_FEE_RATE), q8(gross * LIQUIDATION_FEE_RATE)
    ledger.bal(acct, source).free -= quote if buying else qty
    ledger.bal(acct, target).free += gross - fee - liquidation_fee
    order_id = _record(ctx, us, key, spec.symbol, "BUY" if buying else "SELL", slices)
    ledger.flow(ctx, us, key, target, "TRADING_COMMISSION", fee, order_id)
    ledger.flow(ctx, us, key, target, "LIQUIDATION_FEE", liquidation_fee, order_id)
    return quote if buying else qty


def _record(ctx: Context, us: UserState, key: str | None, symbol: str, side: str, slices: list[Level]) -> int:
    """A forceLiquidationRec row: an IOC at the worst level's price, filled at the average price."""
    order_id = ctx.next_id("order")
    qty = sum((q for _, q in slices), ZERO)
    quote = sum((p * q for p, q in slices), ZERO)
    us.rows("liquidation").append(
        {
            "avgPrice": f8(quote / qty),
            "executedQty": f8(qty),
            "orderId": order_id,
            "price": f8(slices[-1][0]),
            "qty": f8(qty),
            "side": side,
            "symbol": symbol,
            "timeInForce": "IOC",
            "isIsolated": key is not None,
            "updatedTime": ctx.now(),
        }
    )
    ledger.flow(ctx, us, key, ctx.market.spec(symbol).base, f"{side}_LIQUIDATION", qty, order_id)
    return order_id


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
