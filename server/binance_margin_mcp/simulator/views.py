"""Binance's JSON shapes for orders and order lists (field names, order and types as documented).

Ids are integers, times integer milliseconds, decimals 8-place strings and `isIsolated` a JSON
boolean, whatever the request used ("TRUE"/"FALSE").
"""

from __future__ import annotations

from .filters import STOP_TYPES
from .state import Order, OrderList, UserState
from .util import f8


def ack(o: Order, transact_time: int) -> dict:
    return {
        "symbol": o.symbol,
        "orderId": o.order_id,
        "clientOrderId": o.client_order_id,
        "isIsolated": o.isolated,
        "transactTime": transact_time,
    }


def result(o: Order, transact_time: int) -> dict:
    body = ack(o, transact_time)
    body.update(_execution(o))
    body["selfTradePreventionMode"] = o.stp
    return body


def full(o: Order, transact_time: int, fills: list[dict], borrow_asset: str) -> dict:
    body = result(o, transact_time)
    if o.borrowed > 0:
        body["marginBuyBorrowAmount"] = f8(o.borrowed)
        body["marginBuyBorrowAsset"] = borrow_asset
    body["fills"] = fills
    return body


def query(o: Order) -> dict:
    """GET /sapi/v1/margin/order, openOrders and allOrders rows."""
    return {
        "clientOrderId": o.client_order_id,
        "cummulativeQuoteQty": f8(o.cum_quote),
        "executedQty": f8(o.executed_qty),
        "icebergQty": f8(o.iceberg_qty),
        "isWorking": o.working and o.status != "PENDING_NEW",
        "orderId": o.order_id,
        "origQty": f8(o.orig_qty),
        "price": f8(o.price),
        "side": o.side,
        "status": o.status,
        "stopPrice": f8(o.stop_price),
        "symbol": o.symbol,
        "isIsolated": o.isolated,
        "time": o.time,
        "timeInForce": o.time_in_force,
        "type": o.type,
        "selfTradePreventionMode": o.stp,
        "updateTime": o.update_time,
    }


def cancelled(o: Order, cancel_id: str, *, in_list: bool = False) -> dict:
    """A cancel report: origClientOrderId is the order's id, clientOrderId the cancel's."""
    body: dict = {"symbol": o.symbol, "isIsolated": o.isolated, "origClientOrderId": o.client_order_id}
    body.update({"orderId": o.order_id, "orderListId": o.order_list_id, "clientOrderId": cancel_id})
    body.update(_execution(o))
    body["selfTradePreventionMode"] = o.stp
    _stop_and_iceberg(o, body)
    if in_list:
        del body["isIsolated"]
    return body


def report(o: Order, transact_time: int) -> dict:
    """One entry of an order list's orderReports when it is placed."""
    body = {"symbol": o.symbol, "orderId": o.order_id, "orderListId": o.order_list_id}
    body.update({"clientOrderId": o.client_order_id, "transactTime": transact_time})
    body.update(_execution(o))
    _stop_and_iceberg(o, body)
    body["selfTradePreventionMode"] = o.stp
    return body


def _execution(o: Order) -> dict:
    """Price, quantities, status and kind, in the order every placement and cancel report lists them."""
    return {
        "price": f8(o.price),
        "origQty": f8(o.orig_qty),
        "executedQty": f8(o.executed_qty),
        "cummulativeQuoteQty": f8(o.cum_quote),
        "status": o.status,
        "timeInForce": o.time_in_force,
        "type": o.type,
        "side": o.side,
    }


def _stop_and_iceberg(o: Order, body: dict) -> None:
    if o.type in STOP_TYPES:
        body["stopPrice"] = f8(o.stop_price)
    if o.iceberg_qty > 0:
        body["icebergQty"] = f8(o.iceberg_qty)


def order_list(us: UserState, lst: OrderList) -> dict:
    """The list summary used by the list queries (no orderReports)."""
    return {
        "orderListId": lst.order_list_id,
        "contingencyType": lst.contingency_type,
        "listStatusType": lst.list_status_type,
        "listOrderStatus": lst.list_order_status,
        "listClientOrderId": lst.list_client_order_id,
        "transactionTime": lst.transaction_time,
        "symbol": lst.symbol,
        "isIsolated": lst.isolated,
        "orders": [
            {"symbol": lst.symbol, "orderId": i, "clientOrderId": us.orders[i].client_order_id} for i in lst.order_ids
        ],
    }


def order_list_with_reports(us: UserState, lst: OrderList, reports: list[dict], transaction_time: int) -> dict:
    body = order_list(us, lst)
    body["transactionTime"] = transaction_time
    body["orderReports"] = reports
    return body
