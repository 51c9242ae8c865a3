"""Order-list endpoints: OCO, OTO and OTOCO placement, list cancel and the list queries.

OCO: a LIMIT_MAKER leg and a STOP_LOSS(_LIMIT) leg sharing one hold (SELL: limit > last > stop,
BUY: limit < last < stop). OTO: a working LIMIT/LIMIT_MAKER and a pending order placed when the
working order has filled. OTOCO: the same with a pendingAbove/pendingBelow OCO pair.
"""

from __future__ import annotations

from decimal import Decimal

from . import engine, fills, legs, views
from .context import Context
from .errors import SimError
from .orders import _account, common, note_order
from .state import Order, OrderList, UserState
from .util import ZERO, Params, either, f8, invalid, mandatory, not_required, rejected, stable_id

BAD_PRICES = "The relationship of the prices for the orders is not correct."
STOPS = ("STOP_LOSS", "STOP_LOSS_LIMIT")


def _new_list(ctx: Context, us: UserState, symbol: str, isolated: bool, kind: str, p: Params) -> OrderList:
    client_id = p.client_id("listClientOrderId")
    if client_id is not None and any(
        lst.list_client_order_id == client_id and lst.list_order_status == "EXECUTING" for lst in us.lists.values()
    ):
        raise rejected("Duplicate order sent.")
    list_id = ctx.next_id("list")
    client_id = client_id or stable_id("list", list_id)
    return OrderList(list_id, kind, client_id, symbol, isolated, [], ctx.now())


def _register(us: UserState, lst: OrderList, orders: list[Order]) -> None:
    us.lists[lst.order_list_id] = lst
    for o in orders:
        us.orders[o.order_id] = o
        lst.order_ids.append(o.order_id)


def _list_response(ctx: Context, us: UserState, lst: OrderList, borrower: Order | None = None) -> dict:
    now = ctx.now()
    body = views.order_list_with_reports(us, lst, [views.report(us.orders[i], now) for i in lst.order_ids], now)
    if borrower is not None and borrower.borrowed > 0:
        ordered = {}
        for key, value in body.items():
            if key == "isIsolated":
                ordered["marginBuyBorrowAmount"] = f8(borrower.borrowed)
                ordered["marginBuyBorrowAsset"] = fills.hold_asset(ctx, borrower)
            ordered[key] = value
        body = ordered
    return body


def create_oco(ctx: Context, us: UserState, p: Params) -> dict:
    symbol, isolated = _account(ctx, us, p)
    assert symbol is not None
    spec = ctx.market.spec(symbol)
    side, qty = p.required("side"), p.req_dec("quantity")
    price, stop, stop_limit = p.req_dec("price"), p.req_dec("stopPrice"), p.dec("stopLimitPrice")
    stop_tif = p.str("stopLimitTimeInForce")
    if stop_limit is not None and stop_tif is None:
        raise SimError(
            -1128,
            "Combination of optional parameters invalid. Recommendation: 'stopLimitTimeInForce' should also be sent.",
        )
    if stop_tif is not None and stop_limit is None:
        raise not_required("stopLimitTimeInForce")
    limit_leg = legs.LegInput(side, "LIMIT_MAKER", qty=qty, price=price, iceberg=p.dec("limitIcebergQty"))
    limit_leg.client_id, limit_leg.names = p.client_id("limitClientOrderId"), {"iceberg": "limitIcebergQty"}
    stop_leg = legs.LegInput(side, "STOP_LOSS_LIMIT" if stop_limit is not None else "STOP_LOSS", qty=qty)
    stop_leg.price, stop_leg.stop, stop_leg.tif, stop_leg.iceberg = stop_limit, stop, stop_tif, p.dec("stopIcebergQty")
    stop_leg.client_id = p.client_id("stopClientOrderId")
    stop_leg.names = {"price": "stopLimitPrice", "tif": "stopLimitTimeInForce", "iceberg": "stopIcebergQty"}
    for leg in (limit_leg, stop_leg):
        legs.validate(leg)
    last = ctx.market.price(symbol)
    if not (price > last > stop if side == "SELL" else price < last < stop):
        raise rejected(BAD_PRICES)
    return _place_oco(ctx, us, p, spec.symbol, isolated, [stop_leg, limit_leg])


def _place_oco(ctx: Context, us: UserState, p: Params, symbol: str, isolated: bool, leg_inputs: list) -> dict:
    spec, last = ctx.market.spec(symbol), ctx.market.price(symbol)
    settings = common(p)
    legs.check_client_ids(ctx, us, symbol, isolated, [leg.client_id for leg in leg_inputs])
    for leg in leg_inputs:
        legs.check_market(ctx, spec, leg, last)
    legs.check_counts(ctx, spec, us, isolated, leg_inputs)
    lst = _new_list(ctx, us, symbol, isolated, "OCO", p)
    orders = [legs.make_order(ctx, spec, isolated, leg, settings, lst.order_list_id) for leg in leg_inputs]
    _register(us, lst, orders)
    holder = orders[1]  # the LIMIT_MAKER leg holds the pair's funds
    amount = max(fills.need(ctx, o) for o in orders)
    fills.fund(ctx, us, holder, amount)
    for o in orders:
        engine.start(ctx, us, o)
    fills.lock(ctx, us, holder, amount)
    note_order(ctx, us, 2)
    return _list_response(ctx, us, lst, holder)


def _working_leg(p: Params) -> legs.LegInput:
    leg = legs.LegInput(p.required("workingSide"), p.required("workingType"), qty=p.req_dec("workingQuantity"))
    leg.price, leg.iceberg, leg.tif = p.req_dec("workingPrice"), p.dec("workingIcebergQty"), p.str("workingTimeInForce")
    leg.client_id = p.client_id("workingClientOrderId")
    leg.names = {"qty": "workingQuantity", "price": "workingPrice", "iceberg": "workingIcebergQty"}
    leg.names["tif"] = "workingTimeInForce"
    if leg.type not in ("LIMIT", "LIMIT_MAKER"):
        raise invalid("workingType")
    return leg


def _pending_leg(p: Params, prefix: str, type_param: str) -> legs.LegInput:
    """pendingX / pendingAboveX / pendingBelowX parameters as one leg."""
    leg = legs.LegInput(p.required("pendingSide"), p.required(type_param), qty=p.req_dec("pendingQuantity"))
    names = {"price": "Price", "stop": "StopPrice", "trailing": "TrailingDelta", "iceberg": "IcebergQty"}
    names["tif"] = "TimeInForce"
    leg.names = {logical: prefix + suffix for logical, suffix in names.items()}
    leg.names["qty"] = "pendingQuantity"
    leg.price, leg.stop = p.dec(prefix + "Price"), p.dec(prefix + "StopPrice")
    leg.trailing, leg.iceberg = p.str(prefix + "TrailingDelta"), p.dec(prefix + "IcebergQty")
    leg.tif, leg.client_id = p.str(prefix + "TimeInForce"), p.client_id(prefix + "ClientOrderId")
    if leg.trailing is not None and leg.price is None:  # Binance since 2026-06-15: the price goes with the delta
        raise mandatory(prefix + "Price")
    return leg


def create_oto(ctx: Context, us: UserState, p: Params) -> dict:
    working, pending = _working_leg(p), _pending_leg(p, "pending", "pendingType")
    return _place_oto(ctx, us, p, "OTO", working, [pending])


def create_otoco(ctx: Context, us: UserState, p: Params) -> dict:
    if not p.has("pendingBelowType"):
        raise mandatory("pendingBelowType")
    working = _working_leg(p)
    above = _pending_leg(p, "pendingAbove", "pendingAboveType")
    below = _pending_leg(p, "pendingBelow", "pendingBelowType")
    maker_above = above.type == "LIMIT_MAKER" and below.type in STOPS
    maker_below = below.type == "LIMIT_MAKER" and above.type in STOPS
    if not (maker_above if above.side == "SELL" else maker_below):
        raise SimError(-1014, "Unsupported order combination.")
    for leg in (above, below):
        legs.validate(leg)
    if _reference(above) <= _reference(below):
        raise rejected(BAD_PRICES)
    return _place_oto(ctx, us, p, "OTOCO", working, [above, below])


def _reference(leg: legs.LegInput) -> Decimal:
    value = leg.price if leg.type == "LIMIT_MAKER" else leg.stop
    return value if value is not None else ZERO


def _place_oto(ctx: Context, us: UserState, p: Params, kind: str, working: legs.LegInput, pending: list) -> dict:
    symbol, isolated = _account(ctx, us, p)
    assert symbol is not None
    spec, last = ctx.market.spec(symbol), ctx.market.price(symbol)
    settings = common(p)
    if settings.side_effect == "AUTO_REPAY":
        raise invalid("sideEffectType")
    for leg in (working, *pending):
        legs.validate(leg)
    for leg in (working, *pending):
        legs.check_market(ctx, spec, leg, last)
    legs.check_client_ids(ctx, us, symbol, isolated, [leg.client_id for leg in (working, *pending)])
    legs.check_counts(ctx, spec, us, isolated, [working, *pending])
    legs.check_immediate(ctx, symbol, working, last)
    lst = _new_list(ctx, us, symbol, isolated, kind, p)
    orders = [legs.make_order(ctx, spec, isolated, leg, settings, lst.order_list_id) for leg in (working, *pending)]
    for o in orders[1:]:
        o.status, o.working = "PENDING_NEW", False
    _register(us, lst, orders)
    ctx.defer_activation = True
    try:
        engine.place(ctx, us, orders[0])
        body = _list_response(ctx, us, lst)
    finally:
        ctx.defer_activation = False
    deferred, ctx.deferred = ctx.deferred, []
    for job in deferred:
        job()
    note_order(ctx, us, len(orders))
    return body


def _find_list(us: UserState, p: Params, isolated: bool, symbol: str | None, id_param: str) -> OrderList:
    list_id, client_id = p.int("orderListId"), p.str(id_param)
    if list_id is None and client_id is None:
        raise either("orderListId", id_param)
    for lst in sorted(us.lists.values(), key=lambda x: -x.order_list_id):
        if lst.isolated != isolated or (isolated and lst.symbol != symbol):
            continue
        if (list_id is not None and lst.order_list_id == list_id) or (
            list_id is None and lst.list_client_order_id == client_id
        ):
            return lst
    raise SimError(-2013, "Order list does not exist.")


def cancel_list(ctx: Context, us: UserState, p: Params) -> dict:
    symbol, isolated = _account(ctx, us, p)
    try:
        lst = _find_list(us, p, isolated, symbol, "listClientOrderId")
    except SimError as exc:
        if exc.code == -1102:
            raise
        raise SimError(-2011, "Unknown order sent.") from None
    if lst.symbol != symbol or lst.list_order_status != "EXECUTING":
        raise SimError(-2011, "Unknown order sent.")
    engine.cancel_orders(ctx, us, [us.orders[i] for i in lst.order_ids if us.orders[i].is_open])
    cancel_id = p.client_id("newClientOrderId")
    reports = [views.cancelled(us.orders[i], cancel_id or stable_id("cancel", i), in_list=True) for i in lst.order_ids]
    return views.order_list_with_reports(us, lst, reports, ctx.now())


def _list_scope(ctx: Context, us: UserState, p: Params) -> tuple[bool, str | None]:
    symbol, isolated = _account(ctx, us, p, symbol_required=False)
    return isolated, symbol if isolated else None


def get_list(ctx: Context, us: UserState, p: Params) -> dict:
    isolated, symbol = _list_scope(ctx, us, p)
    return views.order_list(us, _find_list(us, p, isolated, symbol, "origClientOrderId"))


def _scoped(us: UserState, isolated: bool, symbol: str | None) -> list[OrderList]:
    found = [lst for lst in us.lists.values() if lst.isolated == isolated and (symbol is None or lst.symbol == symbol)]
    return sorted(found, key=lambda lst: lst.order_list_id)


def all_lists(ctx: Context, us: UserState, p: Params) -> list:
    isolated, symbol = _list_scope(ctx, us, p)
    from_id, start, end = p.int("fromId"), p.int("startTime"), p.int("endTime")
    if from_id is not None and (start is not None or end is not None):
        raise not_required("startTime" if start is not None else "endTime")
    rows = [
        lst
        for lst in _scoped(us, isolated, symbol)
        if (from_id is None or lst.order_list_id >= from_id)
        and (start is None or lst.transaction_time >= start)
        and (end is None or lst.transaction_time <= end)
    ]
    limit = p.limit("limit", 500, 1000)
    rows = rows[:limit] if from_id is not None else rows[-limit:]
    return [views.order_list(us, lst) for lst in rows]


def open_lists(ctx: Context, us: UserState, p: Params) -> list:
    isolated, symbol = _list_scope(ctx, us, p)
    rows = [lst for lst in _scoped(us, isolated, symbol) if lst.kind == "OCO" and lst.list_order_status == "EXECUTING"]
    return [views.order_list(us, lst) for lst in rows]


def open_oto_lists(ctx: Context, us: UserState, p: Params) -> list:
    symbol = p.str("symbol")
    if symbol is not None:
        ctx.market.spec(symbol)
    rows = sorted(
        (
            lst
            for lst in us.lists.values()
            if lst.kind != "OCO" and lst.list_order_status == "EXECUTING" and symbol in (None, lst.symbol)
        ),
        key=lambda lst: lst.order_list_id,
    )
    return [views.order_list(us, lst) for lst in rows]


HANDLERS = {
    "create_margin_oco_order": create_oco,
    "create_margin_oto_order": create_oto,
    "create_margin_otoco_order": create_otoco,
    "cancel_margin_order_list": cancel_list,
    "get_margin_order_list": get_list,
    "get_all_margin_order_lists": all_lists,
    "get_open_margin_order_lists": open_lists,
    "get_open_margin_oto_order_lists": open_oto_lists,
}
