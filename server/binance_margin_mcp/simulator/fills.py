"""Money side of an order: the book it trades against, what it must hold, auto-borrowing, locking,
and executing one fill (one level of the book, one trade).

A BUY holds quote asset (quantity x limit or stop price; a MARKET BUY what walking the book costs),
a SELL holds base asset. Commission is taken from the asset received: the taker rate for fills at
placement or trigger, the maker rate for resting orders. MARGIN_BUY / AUTO_BORROW_REPAY borrow the
shortfall when the order is placed; AUTO_REPAY / AUTO_BORROW_REPAY repay debt in the received asset
after each fill.
"""

from __future__ import annotations

from decimal import Decimal

from . import ledger
from .book import FIRST_LEVEL_NOTIONAL, Book, Level, synthetic_book, take, take_quote
from .context import Context
from .errors import SimError
from .state import Order, UserState
from .util import INSUFFICIENT, ZERO, f8, q8, rejected, up8

BORROWING = frozenset({"MARGIN_BUY", "AUTO_BORROW_REPAY"})
REPAYING = frozenset({"AUTO_REPAY", "AUTO_BORROW_REPAY"})
MARKET_TYPES = frozenset({"MARKET", "STOP_LOSS", "TAKE_PROFIT"})


class Short(Exception):
    """The account cannot pay for a fill (only possible for stops triggered past their price)."""


def hold_asset(ctx: Context, o: Order) -> str:
    spec = ctx.market.spec(o.symbol)
    return spec.quote if o.side == "BUY" else spec.base


def book_for(ctx: Context, symbol: str) -> Book:
    """The live depth when the price source has one, else a synthetic book around the last price
    whose best level is worth about FIRST_LEVEL_NOTIONAL USDT."""
    live = ctx.market.depth(symbol)
    if live is not None:
        return live
    spec = ctx.market.spec(symbol)
    try:
        notional = FIRST_LEVEL_NOTIONAL / ctx.market.usdt_price(spec.quote)
    except ValueError:
        notional = FIRST_LEVEL_NOTIONAL
    return synthetic_book(spec, ctx.market.price(symbol), level_notional=notional)


def remaining(o: Order) -> Decimal:
    return o.orig_qty - o.executed_qty


def is_quote_order(o: Order) -> bool:
    return o.type == "MARKET" and o.quote_order_qty > 0 and o.executed_qty == 0


def plan(ctx: Context, o: Order, book: Book | None = None) -> list[Level]:
    """The (price, qty) slices the order would take as a taker now, within its limit price."""
    book = book if book is not None else book_for(ctx, o.symbol)
    if is_quote_order(o):
        return take_quote(book, o.side, o.quote_order_qty, ctx.market.spec(o.symbol).step_size)
    return take(book, o.side, remaining(o), None if o.type in MARKET_TYPES else o.price)


def need(ctx: Context, o: Order) -> Decimal:
    """What the order must hold: base quantity to sell, or quote to pay at its worst price."""
    qty = remaining(o)
    if o.side == "SELL":
        return qty
    if o.type == "MARKET":
        return sum((up8(p * q) for p, q in plan(ctx, o)), ZERO)
    reference = o.stop_price if o.type in ("STOP_LOSS", "TAKE_PROFIT") else o.price
    return up8(qty * reference)


def fund(ctx: Context, us: UserState, o: Order, amount: Decimal) -> None:
    """Make `amount` free, auto-borrowing the shortfall if the side effect allows it."""
    asset = hold_asset(ctx, o)
    free = ledger.bal(us.account(o.account_key), asset).free
    short = amount - free
    if short <= 0:
        return
    if o.side_effect not in BORROWING:
        raise rejected(INSUFFICIENT)
    borrowable, _ = ledger.max_borrowable(ctx, us, o.account_key, asset)
    if short > borrowable:
        raise SimError(-3006, "Your borrow amount has exceed maximum borrow amount.")
    ledger.borrow(ctx, us, o.account_key, asset, short, "AUTO")
    o.borrowed += short


def lock(ctx: Context, us: UserState, o: Order, amount: Decimal) -> bool:
    """Move `amount` more of the held asset from free to locked for this order."""
    balance = ledger.bal(us.account(o.account_key), hold_asset(ctx, o))
    if amount <= 0:
        return True
    if balance.free < amount:
        return False
    balance.free -= amount
    balance.locked += amount
    o.lock += amount
    return True


def unlock(ctx: Context, us: UserState, o: Order, keep: Decimal = ZERO) -> Decimal:
    """Release what the order holds beyond `keep`; returns the amount released."""
    excess = o.lock - max(keep, ZERO)
    if excess <= 0:
        return ZERO
    balance = ledger.bal(us.account(o.account_key), hold_asset(ctx, o))
    balance.locked -= excess
    balance.free += excess
    o.lock -= excess
    return excess


def execute(ctx: Context, us: UserState, o: Order, price: Decimal, qty: Decimal, maker: bool) -> dict:
    """Fill `qty` of `o` at `price` (one trade); returns the FULL-response fill. Raises Short if unpayable."""
    spec = ctx.market.spec(o.symbol)
    key, acct = o.account_key, us.account(o.account_key)
    quote = q8(qty * price)
    pay_asset, pay, get_asset, get = (
        (spec.quote, quote, spec.base, qty) if o.side == "BUY" else (spec.base, qty, spec.quote, quote)
    )
    fee = q8(get * (ledger.MAKER_FEE_RATE if maker else ledger.TAKER_FEE_RATE))
    payer = ledger.bal(acct, pay_asset)
    from_lock = min(o.lock, pay)
    if payer.free < pay - from_lock:
        raise Short
    payer.locked -= from_lock
    o.lock -= from_lock
    payer.free -= pay - from_lock
    ledger.bal(acct, get_asset).free += get - fee
    o.executed_qty += qty
    o.cum_quote += quote
    o.status = "FILLED" if o.executed_qty >= o.orig_qty else "PARTIALLY_FILLED"
    o.update_time = ctx.now()
    trade_id = _record_trade(ctx, us, o, price, qty, fee, get_asset, maker)
    direction = "BUY" if o.side == "BUY" else "SELL"
    ledger.flow(ctx, us, key, pay_asset, f"{direction}_EXPENSE", pay, trade_id)
    ledger.flow(ctx, us, key, get_asset, f"{direction}_INCOME", get, trade_id)
    ledger.flow(ctx, us, key, get_asset, "TRADING_COMMISSION", fee, trade_id)
    if o.status == "FILLED":
        unlock(ctx, us, o)
    if o.side_effect in REPAYING:
        ledger.repay(ctx, us, key, get_asset, get - fee, "AUTO")
    ctx.touch(us)
    return {
        "price": f8(price),
        "qty": f8(qty),
        "commission": f8(fee),
        "commissionAsset": get_asset,
        "tradeId": trade_id,
    }


def _record_trade(
    ctx: Context, us: UserState, o: Order, price: Decimal, qty: Decimal, fee: Decimal, fee_asset: str, maker: bool
) -> int:
    trade_id = ctx.next_id("trade")
    us.trades.append(
        {
            "commission": f8(fee),
            "commissionAsset": fee_asset,
            "id": trade_id,
            "isBestMatch": True,
            "isBuyer": o.side == "BUY",
            "isMaker": maker,
            "orderId": o.order_id,
            "price": f8(price),
            "qty": f8(qty),
            "symbol": o.symbol,
            "isIsolated": o.isolated,
            "time": ctx.now(),
        }
    )
    return trade_id


def repay_order_debt(ctx: Context, us: UserState, o: Order) -> None:
    """autoRepayAtCancel: give back what this order borrowed, from the free balance it left. An order
    that never traded repays its whole borrow and the interest on that asset; a partly filled one
    repays at most its borrow (what it spent stays borrowed)."""
    if o.borrowed <= 0 or not o.auto_repay_at_cancel:
        return
    asset = hold_asset(ctx, o)
    balance = ledger.bal(us.account(o.account_key), asset)
    amount = o.borrowed + balance.interest if o.executed_qty == 0 else o.borrowed
    ledger.repay(ctx, us, o.account_key, asset, min(amount, balance.free), "AUTO")
    o.borrowed = ZERO
