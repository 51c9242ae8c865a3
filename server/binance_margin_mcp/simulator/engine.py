"""Order life cycle against the book: placement, triggers, fills, cancels and order lists.

A marketable order takes liquidity level by level (one trade per level) when placed or when its stop
triggers: MARKET and IOC expire what the book cannot fill, FOK fills completely or expires untouched,
GTC rests its remainder (PARTIALLY_FILLED). A resting limit order fills at its own price, as maker,
once a later price move brings the opposite side of the book to it, as far as that side's
liquidity within its price goes. OCO legs expire each other when one triggers or trades; an OTO's
pending orders are placed when its working order has filled completely.
"""

from __future__ import annotations

from decimal import Decimal

from . import fills
from .book import available, crosses
from .context import Context
from .errors import SimError
from .filters import STOP_TYPES
from .state import Order, OrderList, UserState
from .util import ZERO

MAX_ROUNDS = 50


def triggered(o: Order, last: Decimal) -> bool:
    """Stops above the market (STOP_LOSS BUY, TAKE_PROFIT SELL) trigger at last >= stop."""
    rising = (o.type.startswith("STOP_LOSS")) == (o.side == "BUY")
    return last >= o.stop_price if rising else last <= o.stop_price


def marketable(ctx: Context, o: Order) -> bool:
    """Market-type orders always; a limit order when the best opposite level is within its price."""
    if o.type in fills.MARKET_TYPES:
        return True
    best = fills.book_for(ctx, o.symbol).best(o.side)
    return best is not None and crosses(o.side, best, o.price)


def order_list(us: UserState, o: Order) -> OrderList | None:
    return us.lists.get(o.order_list_id) if o.order_list_id != -1 else None


def start(ctx: Context, us: UserState, o: Order) -> None:
    """Mark an order live on the book."""
    now = ctx.now()
    o.status = "NEW"
    o.working = o.type not in STOP_TYPES
    o.working_time = now if o.working else -1
    o.update_time = now


def place(ctx: Context, us: UserState, o: Order) -> list[dict]:
    """Fund, lock and run a validated order; it trades at once if marketable."""
    amount = fills.need(ctx, o)
    fills.fund(ctx, us, o, amount)
    start(ctx, us, o)
    if o.type != "MARKET":
        fills.lock(ctx, us, o, amount)
    return advance(ctx, us, o, ctx.market.price(o.symbol), placement=True)


def advance(ctx: Context, us: UserState, o: Order, last: Decimal, placement: bool) -> list[dict]:
    """Apply the market to one open order: trigger it, fill it, expire it or leave it resting."""
    taker = placement
    if not o.working:
        if not triggered(o, last):
            return []
        o.working, o.working_time, o.update_time, taker = True, ctx.now(), ctx.now(), True
        expire_siblings(ctx, us, o)
    if not marketable(ctx, o):
        keep = o.time_in_force == "GTC" or not taker
        if not keep or (holds_alone(us, o) and not fills.lock(ctx, us, o, fills.need(ctx, o) - o.lock)):
            expire_rest(ctx, us, o)
        return []
    if o.type == "LIMIT_MAKER" and taker:
        close(ctx, us, o, "EXPIRED")  # only reachable when an OTO pending leg is activated
        return []
    expire_siblings(ctx, us, o)
    done = take(ctx, us, o) if taker else make(ctx, us, o)
    if o.status == "FILLED":
        after_fill(ctx, us, o)
    elif o.is_open and holds_alone(us, o):
        fills.unlock(ctx, us, o, keep=fills.need(ctx, o))  # a partly filled order holds only its rest
    return done


def take(ctx: Context, us: UserState, o: Order) -> list[dict]:
    """Walk the book as taker; what cannot fill expires (MARKET, IOC, FOK) or rests (GTC)."""
    book = fills.book_for(ctx, o.symbol)
    limit = None if o.type in fills.MARKET_TYPES else o.price
    if o.time_in_force == "FOK" and available(book, o.side, limit) < fills.remaining(o):
        expire_rest(ctx, us, o)
        return []
    quote_order = fills.is_quote_order(o)
    done = []
    short = False
    for price, qty in fills.plan(ctx, o, book):
        try:
            done.append(fills.execute(ctx, us, o, price, qty, maker=False))
        except fills.Short:
            short = True
            break
    if quote_order and o.executed_qty > 0:
        o.orig_qty, o.status = o.executed_qty, "FILLED"  # quoteOrderQty: origQty is what it bought
        fills.unlock(ctx, us, o)
    if o.status != "FILLED" and (short or o.type in fills.MARKET_TYPES or o.time_in_force != "GTC"):
        expire_rest(ctx, us, o)
    return done


def make(ctx: Context, us: UserState, o: Order) -> list[dict]:
    """A resting order reached by the book: one maker fill at its own price, up to the crossing liquidity."""
    qty = min(fills.remaining(o), available(fills.book_for(ctx, o.symbol), o.side, o.price))
    try:
        return [fills.execute(ctx, us, o, o.price, qty, maker=True)]
    except fills.Short:
        close(ctx, us, o, "EXPIRED")
        return []


def expire_rest(ctx: Context, us: UserState, o: Order) -> None:
    """The exchange ends the order (EXPIRED, fills kept); a single order gives back unused borrowing."""
    close(ctx, us, o, "EXPIRED")
    if order_list(us, o) is None:
        fills.repay_order_debt(ctx, us, o)


def close(ctx: Context, us: UserState, o: Order, status: str) -> Decimal:
    """End an open order (CANCELED or EXPIRED) and release what it held; returns the amount released."""
    if not o.is_open:
        return ZERO
    released = fills.unlock(ctx, us, o)
    o.status = status
    o.update_time = ctx.now()
    ctx.touch(us)
    lst = order_list(us, o)
    if lst is not None:
        if lst.kind != "OCO" and o.order_id == lst.order_ids[0]:
            for pending_id in lst.order_ids[1:]:
                close(ctx, us, us.orders[pending_id], status)
        refresh_list(us, lst)
    return released


def holds_alone(us: UserState, o: Order) -> bool:
    """False while an open OCO sibling still holds the pair's shared funds."""
    lst = order_list(us, o)
    if lst is None or o.order_id not in lst.oco_group:
        return True
    return not any(us.orders[i].is_open for i in lst.oco_group if i != o.order_id)


def expire_siblings(ctx: Context, us: UserState, o: Order) -> None:
    """One OCO leg triggering or trading (even partly) expires the other."""
    lst = order_list(us, o)
    if lst is None or o.order_id not in lst.oco_group:
        return
    for other_id in lst.oco_group:
        if other_id != o.order_id:
            close(ctx, us, us.orders[other_id], "EXPIRED")


def after_fill(ctx: Context, us: UserState, o: Order) -> None:
    lst = order_list(us, o)
    if lst is None:
        return
    if lst.kind != "OCO" and o.order_id == lst.order_ids[0]:
        if ctx.defer_activation:
            ctx.deferred.append(lambda: activate_pending(ctx, us, lst))
        else:
            activate_pending(ctx, us, lst)
    refresh_list(us, lst)


def activate_pending(ctx: Context, us: UserState, lst: OrderList) -> None:
    """The working order filled: place the pending order(s); an OTOCO pair shares one hold."""
    pending = [us.orders[i] for i in lst.order_ids[1:] if us.orders[i].status == "PENDING_NEW"]
    if not pending:
        return
    last = ctx.market.price(lst.symbol)
    amount = max(fills.need(ctx, o) for o in pending)
    try:
        fills.fund(ctx, us, pending[0], amount)
    except SimError:
        for o in pending:
            close(ctx, us, o, "EXPIRED")
        return
    for o in pending:
        start(ctx, us, o)
    if pending[0].type != "MARKET":
        fills.lock(ctx, us, pending[0], amount)
    for o in pending:
        if o.status == "NEW":
            advance(ctx, us, o, last, placement=True)
    refresh_list(us, lst)
    ctx.touch(us)


def refresh_list(us: UserState, lst: OrderList) -> None:
    if any(us.orders[i].is_open for i in lst.order_ids):
        lst.list_status_type, lst.list_order_status = "EXEC_STARTED", "EXECUTING"
    else:
        lst.list_status_type, lst.list_order_status = "ALL_DONE", "ALL_DONE"


def cancel_orders(ctx: Context, us: UserState, orders: list[Order]) -> None:
    """User cancels: CANCELED, locks released, then autoRepayAtCancel for what they borrowed."""
    for o in orders:
        close(ctx, us, o, "CANCELED")
    for o in orders:
        fills.repay_order_debt(ctx, us, o)


LIVE = ("NEW", "PARTIALLY_FILLED")


def process_symbol(ctx: Context, symbol: str) -> None:
    """Run every open order on `symbol`, for every user, against the current price and book."""
    last = ctx.market.price(symbol)
    traded: set[int] = set()  # one maker fill per order and move: the book is not rebuilt in between
    for _ in range(MAX_ROUNDS):
        changed = False
        for us in list(ctx.users.values()):
            live = sorted((o for o in us.orders.values() if o.symbol == symbol and o.status in LIVE), key=_by_id)
            for o in live:
                if o.status not in LIVE or o.order_id in traded:
                    continue
                before = (o.status, o.working, o.executed_qty)
                advance(ctx, us, o, last, placement=False)
                if o.executed_qty != before[2]:
                    traded.add(o.order_id)
                if (o.status, o.working, o.executed_qty) != before:
                    changed = True
                    ctx.touch(us)
        if not changed:
            return


def _by_id(o: Order) -> int:
    return o.order_id
