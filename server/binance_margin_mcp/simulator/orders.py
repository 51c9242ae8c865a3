"""Single-order endpoints: new, cancel, cancel-all, query, open/all orders, trades, usage."""

from __future__ import annotations

from . import engine, ledger, legs, views
from .context import Context
from .errors import SimError
from .fills import hold_asset
from .state import Order, UserState
from .util import DAY_MS, Params, either, mandatory, stable_id

RESP_TYPES = ("ACK", "RESULT", "FULL")


def _account(ctx: Context, us: UserState, p: Params, symbol_required: bool = True) -> tuple[str | None, bool]:
    """(symbol, isolated) of the request, checking the pair and the isolated account exist."""
    isolated = p.isolated()
    symbol = p.required("symbol") if symbol_required or isolated else p.str("symbol")
    if symbol is not None:
        ctx.market.spec(symbol)
    ledger.account_key(ctx, us, isolated, symbol)
    return symbol, isolated


def common(p: Params) -> legs.Common:
    return legs.Common(
        side_effect=p.str("sideEffectType") or "NO_SIDE_EFFECT",
        auto_repay=p.bool("autoRepayAtCancel", True),
        stp=p.str("selfTradePreventionMode") or "EXPIRE_MAKER",
    )


def create_order(ctx: Context, us: UserState, p: Params) -> dict:
    symbol, isolated = _account(ctx, us, p)
    assert symbol is not None
    spec = ctx.market.spec(symbol)
    leg = legs.LegInput(
        side=p.required("side"),
        type=p.required("type"),
        qty=p.dec("quantity"),
        price=p.dec("price"),
        stop=p.dec("stopPrice"),
        iceberg=p.dec("icebergQty"),
        quote_qty=p.dec("quoteOrderQty"),
        tif=p.str("timeInForce"),
        trailing=p.str("trailingDelta"),
        client_id=p.client_id("newClientOrderId"),
    )
    legs.validate(leg)
    settings = common(p)
    last = ctx.market.price(symbol)
    legs.check_client_ids(ctx, us, symbol, isolated, [leg.client_id])
    legs.check_market(ctx, spec, leg, last)
    legs.check_counts(ctx, spec, us, isolated, [leg])
    legs.check_immediate(ctx, symbol, leg, last)
    o = legs.make_order(ctx, spec, isolated, leg, settings)
    us.orders[o.order_id] = o
    fills = engine.place(ctx, us, o)
    note_order(ctx, us, 1)
    resp = p.str("newOrderRespType") or ("FULL" if leg.type in ("MARKET", "LIMIT") else "ACK")
    now = ctx.now()
    if resp == "ACK":
        return views.ack(o, now)
    if resp == "RESULT":
        return views.result(o, now)
    return views.full(o, now, fills, hold_asset(ctx, o))


RECENT_MS = 10_000  # the SECOND x 10 interval of the order-count usage


def note_order(ctx: Context, us: UserState, count: int) -> None:
    """Count placements for the order-count usage endpoint: the last 10 s by time, the UTC day as a number
    (a list of every placement of the day would grow with the history and be rewritten on every order)."""
    now = ctx.now()
    day_start = now - now % DAY_MS
    if us.orders_day != day_start:
        us.orders_day = day_start
        us.orders_today = sum(1 for t in us.order_times if t >= day_start)  # older state kept a day of times
    us.order_times = [t for t in us.order_times if t > now - RECENT_MS] + [now] * count
    us.orders_today += count


def find_order(us: UserState, symbol: str, isolated: bool, p: Params, missing: SimError) -> Order:
    order_id, client_id = p.int("orderId"), p.str("origClientOrderId")
    if order_id is None and client_id is None:
        raise either("orderId", "origClientOrderId")
    mine = [o for o in us.orders.values() if o.symbol == symbol and o.isolated == isolated]
    if order_id is not None:
        found = [o for o in mine if o.order_id == order_id]
    else:
        found = sorted((o for o in mine if o.client_order_id == client_id), key=lambda o: o.order_id)
    if not found:
        raise missing
    return found[-1]


def cancel_order(ctx: Context, us: UserState, p: Params) -> dict:
    symbol, isolated = _account(ctx, us, p)
    assert symbol is not None
    o = find_order(us, symbol, isolated, p, SimError(-2011, "Unknown order sent."))
    if not o.is_open:
        raise SimError(-2011, "Unknown order sent.")
    cancel_id = p.client_id("newClientOrderId") or stable_id("cancel", o.order_id)
    lst = engine.order_list(us, o)
    targets = [us.orders[i] for i in lst.order_ids if us.orders[i].is_open] if lst else [o]
    engine.cancel_orders(ctx, us, targets)
    return views.cancelled(o, cancel_id)


def cancel_all(ctx: Context, us: UserState, p: Params) -> list:
    symbol, isolated = _account(ctx, us, p)
    assert symbol is not None
    live = sorted(legs.open_on(ctx, us, symbol, isolated), key=lambda o: o.order_id)
    if not live:
        raise SimError(-2011, "Unknown order sent.")
    singles = [o for o in live if o.order_list_id == -1]
    list_ids = sorted({o.order_list_id for o in live if o.order_list_id != -1})
    engine.cancel_orders(ctx, us, live)
    now = ctx.now()
    out: list = [views.cancelled(o, stable_id("cancel", o.order_id)) for o in singles]
    for list_id in list_ids:
        lst = us.lists[list_id]
        reports = [views.cancelled(us.orders[i], stable_id("cancel", i), in_list=True) for i in lst.order_ids]
        out.append(views.order_list_with_reports(us, lst, reports, now))
    return out


def get_order(ctx: Context, us: UserState, p: Params) -> dict:
    symbol, isolated = _account(ctx, us, p)
    assert symbol is not None
    return views.query(find_order(us, symbol, isolated, p, SimError(-2013, "Order does not exist.")))


def open_orders(ctx: Context, us: UserState, p: Params) -> list:
    symbol, isolated = _account(ctx, us, p, symbol_required=False)
    found = [o for o in us.orders.values() if o.is_open and o.isolated == isolated and symbol in (None, o.symbol)]
    return [views.query(o) for o in sorted(found, key=lambda o: o.order_id)]


def _window(p: Params) -> tuple[int | None, int | None]:
    start, end = p.int("startTime"), p.int("endTime")
    if start is not None and end is not None and end - start >= DAY_MS:
        raise SimError(-1127, "More than 24 hours between startTime and endTime.")
    return start, end


def _in_window(t: int, start: int | None, end: int | None) -> bool:
    return (start is None or t >= start) and (end is None or t <= end)


def all_orders(ctx: Context, us: UserState, p: Params) -> list:
    symbol, isolated = _account(ctx, us, p)
    start, end = _window(p)
    from_id, limit = p.int("orderId"), p.limit("limit", 500, 500)
    rows = sorted(
        (o for o in us.orders.values() if o.symbol == symbol and o.isolated == isolated), key=lambda o: o.order_id
    )
    rows = [o for o in rows if _in_window(o.time, start, end) and (from_id is None or o.order_id >= from_id)]
    rows = rows[:limit] if from_id is not None else rows[-limit:]
    return [views.query(o) for o in rows]


def my_trades(ctx: Context, us: UserState, p: Params) -> list:
    symbol, isolated = _account(ctx, us, p)
    start, end = _window(p)
    order_id, from_id, limit = p.int("orderId"), p.int("fromId"), p.limit("limit", 500, 1000)
    rows = [t for t in us.trades if t["symbol"] == symbol and t["isIsolated"] == isolated]
    rows = [
        t
        for t in rows
        if _in_window(t["time"], start, end)
        and (order_id is None or t["orderId"] == order_id)
        and (from_id is None or t["id"] >= from_id)
    ]
    return rows[:limit] if from_id is not None else rows[-limit:]


def prevented_matches(ctx: Context, us: UserState, p: Params) -> list:
    _account(ctx, us, p)
    return []  # every trade is against the price feed, never against the account's own orders


def rate_usage(ctx: Context, us: UserState, p: Params) -> list:
    if p.isolated() and not p.has("symbol"):
        raise mandatory("symbol")
    now = ctx.now()
    day_start = now - now % DAY_MS
    recent = sum(1 for t in us.order_times if t > now - RECENT_MS)
    today = us.orders_today if us.orders_day == day_start else 0
    return [
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100, "count": recent},
        {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000, "count": today},
    ]


HANDLERS = {
    "create_margin_order": create_order,
    "cancel_margin_order": cancel_order,
    "cancel_all_open_margin_orders": cancel_all,
    "get_margin_order": get_order,
    "get_open_margin_orders": open_orders,
    "get_all_margin_orders": all_orders,
    "get_margin_trades": my_trades,
    "get_margin_prevented_matches": prevented_matches,
    "get_margin_order_rate_usage": rate_usage,
}
