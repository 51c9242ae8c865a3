"""Order life cycle against the price feed: placement, triggers, fills, cancels and order lists.

There is no order book: the only counterparty is the last price. A marketable order takes at the
last price when placed (or when its stop triggers); a resting limit order fills at its own price,
as maker, once the price reaches it. Fills are complete (no partial fills). OCO legs expire each
other; an OTO's pending orders are placed when its working order has filled.
"""

from __future__ import annotations

from decimal import Decimal

from . import fills
from .context import Context
from .errors import SimError
from .filters import STOP_TYPES
from .state import Order, OrderList, UserState

MAX_ROUNDS = 50


def triggered(o: Order, last: Decimal) -> bool:
    """Stops above the market (STOP_LOSS BUY, TAKE_PROFIT SELL) trigger at last >= stop."""
    rising = (o.type.startswith("STOP_LOSS")) == (o.side == "BUY")
    return last >= o.stop_price if rising else last <= o.stop_price


def marketable(o: Order, last: Decimal) -> bool:
    if o.type in ("MARKET", "STOP_LOSS", "TAKE_PROFIT"):
        return True
    return last <= o.price if o.side == "BUY" else last >= o.price


def order_list(us: UserState, o: Order) -> OrderList | None:
    return us.lists.get(o.order_list_id) if o.order_list_id != -1 else None


def start(ctx: Context, us: UserState, o: Order) -> None:
    """Mark an order live on the (imaginary) book."""
    now = ctx.now()
    o.status = "NEW"
    o.working = o.type not in STOP_TYPES
    o.working_time = now if o.working else -1
    o.update_time = now


def place(ctx: Context, us: UserState, o: Order) -> list[dict]:
    """Fund, lock and run a validated order; it fills at once if marketable."""
    last = ctx.market.price(o.symbol)
    amount = fills.need(o, last)
    fills.fund(ctx, us, o, amount)
    start(ctx, us, o)
    if o.type != "MARKET":
        fills.lock(ctx, us, o, amount)
    return advance(ctx, us, o, last, placement=True)


def advance(ctx: Context, us: UserState, o: Order, last: Decimal, placement: bool) -> list[dict]:
    """Apply the last price to one open order: trigger it, fill it, expire it or leave it resting."""
    taker = placement
    if not o.working:
        if not triggered(o, last):
            return []
        o.working, o.working_time, o.update_time, taker = True, ctx.now(), ctx.now(), True
        expire_siblings(ctx, us, o)
    if not marketable(o, last):
        keep = o.time_in_force == "GTC" or not taker
        if not keep or (holds_alone(us, o) and not fills.lock(ctx, us, o, fills.need(o, last) - o.lock)):
            close(ctx, us, o, "EXPIRED")
        return []
    if o.type == "LIMIT_MAKER" and taker:
        close(ctx, us, o, "EXPIRED")  # only reachable when an OTO pending leg is activated
        return []
    expire_siblings(ctx, us, o)
    try:
        fill = fills.execute(ctx, us, o, last if taker else o.price, maker=not taker)
    except fills.Short:
        close(ctx, us, o, "EXPIRED")
        return []
    after_fill(ctx, us, o)
    return [fill]


def close(ctx: Context, us: UserState, o: Order, status: str) -> None:
    """End an open order without a fill (CANCELED or EXPIRED) and release what it held."""
    if not o.is_open:
        return
    fills.unlock(ctx, us, o)
    o.status = status
    o.update_time = ctx.now()
    ctx.touch(us)
    lst = order_list(us, o)
    if lst is not None:
        if lst.kind != "OCO" and o.order_id == lst.order_ids[0]:
            for pending_id in lst.order_ids[1:]:
                close(ctx, us, us.orders[pending_id], status)
        refresh_list(us, lst)


def holds_alone(us: UserState, o: Order) -> bool:
    """False while an open OCO sibling still holds the pair's shared funds."""
    lst = order_list(us, o)
    if lst is None or o.order_id not in lst.oco_group:
        return True
    return not any(us.orders[i].is_open for i in lst.oco_group if i != o.order_id)


def expire_siblings(ctx: Context, us: UserState, o: Order) -> None:
    """One OCO leg triggering or filling expires the other."""
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
    amount = max(fills.need(o, last) for o in pending)
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


def process_symbol(ctx: Context, symbol: str) -> None:
    """Run every open order on `symbol`, for every user, against the current price."""
    last = ctx.market.price(symbol)
    for _ in range(MAX_ROUNDS):
        changed = False
        for us in list(ctx.users.values()):
            live = sorted((o for o in us.orders.values() if o.symbol == symbol and o.status == "NEW"), key=_by_id)
            for o in live:
                if o.status != "NEW":
                    continue
                before = (o.status, o.working)
                advance(ctx, us, o, last, placement=False)
                if (o.status, o.working) != before:
                    changed = True
                    ctx.touch(us)
        if not changed:
            return


def _by_id(o: Order) -> int:
    return o.order_id
