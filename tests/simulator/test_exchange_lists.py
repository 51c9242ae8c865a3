"""Order lists on the paper exchange: OCO, OTO and OTOCO life cycles against the price feed."""

from __future__ import annotations

import helpers
import pytest
from helpers import USER
from helpers import asset as balance

from binance_margin_mcp.simulator.errors import SimError
from binance_margin_mcp.simulator.exchange import Exchange

clock, ex = helpers.clock, helpers.ex  # shared fixtures (see helpers.py)


def status(ex: Exchange, order_id: int) -> str:
    return ex.handle(USER, "get_margin_order", {"symbol": "BTCUSDT", "orderId": str(order_id)})["status"]


def oco(ex: Exchange, **params: str) -> dict:
    return ex.handle(USER, "create_margin_oco_order", {"symbol": "BTCUSDT", "quantity": "0.05", **params})


def rejected(ex: Exchange, endpoint: str, params: dict, code: int, msg: str) -> None:
    with pytest.raises(SimError) as info:
        ex.handle(USER, endpoint, params)
    assert (info.value.code, info.value.msg) == (code, msg)


OTO = {
    "symbol": "BTCUSDT",
    "workingType": "LIMIT",
    "workingSide": "BUY",
    "workingPrice": "59000",
    "workingQuantity": "0.01",
    "workingTimeInForce": "GTC",
    "pendingType": "LIMIT_MAKER",
    "pendingSide": "SELL",
    "pendingQuantity": "0.01",
    "pendingPrice": "62000",
}
OTOCO = {
    "symbol": "BTCUSDT",
    "workingType": "LIMIT",
    "workingSide": "BUY",
    "workingPrice": "59000",
    "workingQuantity": "0.01",
    "workingTimeInForce": "GTC",
    "pendingSide": "SELL",
    "pendingQuantity": "0.01",
    "pendingAboveType": "LIMIT_MAKER",
    "pendingAbovePrice": "65000",
    "pendingBelowType": "STOP_LOSS",
    "pendingBelowStopPrice": "55000",
}


# --------------------------------------------------------------------------------------------
# OCO
# --------------------------------------------------------------------------------------------


def test_a_sell_oco_has_binances_shape_and_holds_the_quantity_once(ex: Exchange) -> None:
    """The response lists the stop leg then the LIMIT_MAKER leg; 0.05 BTC is locked once for both."""
    placed = oco(ex, side="SELL", price="65000", stopPrice="55000", stopLimitPrice="54900", stopLimitTimeInForce="GTC")
    assert (placed["contingencyType"], placed["listStatusType"], placed["listOrderStatus"]) == (
        "OCO",
        "EXEC_STARTED",
        "EXECUTING",
    )
    assert placed["isIsolated"] is False and isinstance(placed["transactionTime"], int)
    assert [r["type"] for r in placed["orderReports"]] == ["STOP_LOSS_LIMIT", "LIMIT_MAKER"]
    assert placed["orderReports"][0]["stopPrice"] == "55000.00000000"
    assert [o["orderId"] for o in placed["orders"]] == [r["orderId"] for r in placed["orderReports"]]
    assert balance(ex, "BTC")["locked"] == "0.05000000"
    assert len(ex.handle(USER, "get_open_margin_order_lists", {})) == 1


def test_a_sell_oco_limit_leg_filling_expires_the_stop_leg(ex: Exchange) -> None:
    """Price reaching the limit: LIMIT_MAKER FILLED at its price, the stop EXPIRED, the list ALL_DONE."""
    placed = oco(ex, side="SELL", price="65000", stopPrice="55000")
    stop_id, limit_id = (o["orderId"] for o in placed["orders"])
    ex.set_price("BTCUSDT", "65100")
    assert (status(ex, limit_id), status(ex, stop_id)) == ("FILLED", "EXPIRED")
    found = ex.handle(USER, "get_margin_order_list", {"orderListId": str(placed["orderListId"])})
    assert (found["listStatusType"], found["listOrderStatus"]) == ("ALL_DONE", "ALL_DONE")
    assert balance(ex, "BTC")["locked"] == "0.00000000" and balance(ex, "BTC")["free"] == "0.05000000"
    assert ex.handle(USER, "get_margin_trades", {"symbol": "BTCUSDT"})[0]["price"] == "65000.00000000"
    assert ex.handle(USER, "get_open_margin_order_lists", {}) == []


def test_a_buy_oco_stop_leg_triggering_expires_the_limit_leg(ex: Exchange) -> None:
    """BUY OCO (limit < last < stop): a rise through the stop buys at the market and expires the limit."""
    placed = oco(ex, side="BUY", price="55000", stopPrice="65000", listClientOrderId="my-oco")
    stop_id, limit_id = (o["orderId"] for o in placed["orders"])
    assert balance(ex, "USDT")["locked"] == "3250.00000000"  # 0.05 x the higher of the two prices
    ex.set_price("BTCUSDT", "66000")
    assert (status(ex, stop_id), status(ex, limit_id)) == ("FILLED", "EXPIRED")
    # 0.05 bought at the best ask of 66000.01: 3300.0005 spent
    assert balance(ex, "USDT")["free"] == "6699.99950000" and balance(ex, "USDT")["locked"] == "0.00000000"
    found = ex.handle(USER, "get_margin_order_list", {"origClientOrderId": "my-oco"})
    assert found["listOrderStatus"] == "ALL_DONE"


def test_an_oco_with_prices_on_the_wrong_side_is_refused(ex: Exchange) -> None:
    """SELL needs limit > last > stop, BUY limit < last < stop; stopLimitPrice needs its time in force."""
    msg = "The relationship of the prices for the orders is not correct."
    base = {"symbol": "BTCUSDT", "quantity": "0.05"}
    rejected(
        ex, "create_margin_oco_order", {**base, "side": "SELL", "price": "59000", "stopPrice": "55000"}, -2010, msg
    )
    rejected(ex, "create_margin_oco_order", {**base, "side": "BUY", "price": "55000", "stopPrice": "59000"}, -2010, msg)
    rejected(
        ex,
        "create_margin_oco_order",
        {**base, "side": "SELL", "price": "65000", "stopPrice": "55000", "stopLimitPrice": "54900"},
        -1128,
        "Combination of optional parameters invalid. Recommendation: 'stopLimitTimeInForce' should also be sent.",
    )


def test_cancelling_one_oco_leg_cancels_the_list(ex: Exchange) -> None:
    """Cancelling either leg (or the list) cancels both and releases the hold."""
    placed = oco(ex, side="SELL", price="65000", stopPrice="55000")
    stop_id, limit_id = (o["orderId"] for o in placed["orders"])
    ex.handle(USER, "cancel_margin_order", {"symbol": "BTCUSDT", "orderId": str(stop_id)})
    assert (status(ex, stop_id), status(ex, limit_id)) == ("CANCELED", "CANCELED")
    assert balance(ex, "BTC")["locked"] == "0.00000000"
    again = oco(ex, side="SELL", price="65000", stopPrice="55000")
    out = ex.handle(USER, "cancel_margin_order_list", {"symbol": "BTCUSDT", "orderListId": str(again["orderListId"])})
    assert out["listStatusType"] == "ALL_DONE" and [r["status"] for r in out["orderReports"]] == ["CANCELED"] * 2
    cancel_again = {"symbol": "BTCUSDT", "orderListId": str(again["orderListId"])}
    rejected(ex, "cancel_margin_order_list", cancel_again, -2011, "Unknown order sent.")


def test_a_margin_buy_oco_reports_its_borrow(ex: Exchange) -> None:
    """MARGIN_BUY on an OCO borrows the missing hold and shows marginBuyBorrowAmount/Asset."""
    placed = oco(ex, side="SELL", quantity="0.3", price="65000", stopPrice="55000", sideEffectType="MARGIN_BUY")
    assert (placed["marginBuyBorrowAmount"], placed["marginBuyBorrowAsset"]) == ("0.20000000", "BTC")
    assert list(placed).index("marginBuyBorrowAmount") < list(placed).index("isIsolated")
    assert balance(ex, "BTC")["borrowed"] == "0.20000000"


# --------------------------------------------------------------------------------------------
# OTO
# --------------------------------------------------------------------------------------------


def test_an_oto_places_its_pending_order_only_when_the_working_order_fills(ex: Exchange) -> None:
    """The pending leg is PENDING_NEW until the working leg fills, then NEW, then fills in its turn."""
    placed = ex.handle(USER, "create_margin_oto_order", OTO)
    assert placed["contingencyType"] == "OTO"
    working, pending = placed["orderReports"]
    assert (working["status"], pending["status"]) == ("NEW", "PENDING_NEW")
    assert (
        ex.handle(USER, "get_margin_order", {"symbol": "BTCUSDT", "orderId": str(pending["orderId"])})["isWorking"]
        is False
    )
    assert len(ex.handle(USER, "get_open_margin_oto_order_lists", {})) == 1
    ex.set_price("BTCUSDT", "58990")
    assert (status(ex, working["orderId"]), status(ex, pending["orderId"])) == ("FILLED", "NEW")
    ex.set_price("BTCUSDT", "62000")
    assert status(ex, pending["orderId"]) == "NEW"  # the best bid is 61999.99: not yet at its price
    ex.set_price("BTCUSDT", "62010")
    assert status(ex, pending["orderId"]) == "FILLED"
    assert ex.handle(USER, "get_open_margin_oto_order_lists", {}) == []
    assert len(ex.handle(USER, "get_margin_trades", {"symbol": "BTCUSDT"})) == 2


def test_an_oto_whose_working_order_fills_at_once_still_answers_pending_new(ex: Exchange) -> None:
    """A marketable working order fills during placement; the response still shows PENDING_NEW."""
    placed = ex.handle(USER, "create_margin_oto_order", {**OTO, "workingPrice": "61000"})
    working, pending = placed["orderReports"]
    assert (working["status"], pending["status"]) == ("FILLED", "PENDING_NEW")
    assert status(ex, pending["orderId"]) == "NEW"


def test_cancelling_either_oto_order_cancels_the_other(ex: Exchange) -> None:
    """Cancelling the pending order cancels the working one too, and the hold is released."""
    placed = ex.handle(USER, "create_margin_oto_order", OTO)
    working, pending = (o["orderId"] for o in placed["orders"])
    ex.handle(USER, "cancel_margin_order", {"symbol": "BTCUSDT", "orderId": str(pending)})
    assert (status(ex, working), status(ex, pending)) == ("CANCELED", "CANCELED")
    assert balance(ex, "USDT")["locked"] == "0.00000000"


def test_oto_conditional_parameters_and_side_effects_are_checked(ex: Exchange) -> None:
    """A pending LIMIT needs pendingTimeInForce; AUTO_REPAY is not allowed on an OTO."""
    params = {**OTO, "pendingType": "LIMIT"}
    msg = "Mandatory parameter 'pendingTimeInForce' was not sent, was empty/null, or malformed."
    rejected(ex, "create_margin_oto_order", params, -1102, msg)
    params = {**OTO, "sideEffectType": "AUTO_REPAY"}
    rejected(ex, "create_margin_oto_order", params, -1130, "Data sent for parameter 'sideEffectType' is not valid.")
    msg = "Mandatory parameter 'workingTimeInForce' was not sent, was empty/null, or malformed."
    rejected(ex, "create_margin_oto_order", {k: v for k, v in OTO.items() if k != "workingTimeInForce"}, -1102, msg)


# --------------------------------------------------------------------------------------------
# OTOCO
# --------------------------------------------------------------------------------------------


def test_an_otoco_places_its_oco_pair_when_the_working_order_fills(ex: Exchange) -> None:
    """Working fills -> both pending legs NEW; the stop leg triggering expires the LIMIT_MAKER leg."""
    placed = ex.handle(USER, "create_margin_otoco_order", OTOCO)
    assert len(placed["orders"]) == 3
    assert [r["status"] for r in placed["orderReports"]] == ["NEW", "PENDING_NEW", "PENDING_NEW"]
    working, above, below = (o["orderId"] for o in placed["orders"])
    ex.set_price("BTCUSDT", "58990")
    assert [status(ex, i) for i in (working, above, below)] == ["FILLED", "NEW", "NEW"]
    assert balance(ex, "BTC")["locked"] == "0.01000000"  # the pair holds the quantity once
    ex.set_price("BTCUSDT", "54000")
    assert [status(ex, i) for i in (working, above, below)] == ["FILLED", "EXPIRED", "FILLED"]
    trades = ex.handle(USER, "get_margin_trades", {"symbol": "BTCUSDT"})
    assert [t["price"] for t in trades] == ["59000.00000000", "53999.99000000"]  # the stop sells at the best bid
    found = ex.handle(USER, "get_margin_order_list", {"orderListId": str(placed["orderListId"])})
    assert found["listOrderStatus"] == "ALL_DONE"


def test_cancelling_an_otoco_list_cancels_all_three_orders(ex: Exchange) -> None:
    """cancel_margin_order_list cancels the working order and both pending legs."""
    placed = ex.handle(USER, "create_margin_otoco_order", OTOCO)
    ids = [o["orderId"] for o in placed["orders"]]
    out = ex.handle(USER, "cancel_margin_order_list", {"symbol": "BTCUSDT", "orderListId": str(placed["orderListId"])})
    assert [r["status"] for r in out["orderReports"]] == ["CANCELED"] * 3
    assert [status(ex, i) for i in ids] == ["CANCELED"] * 3


def test_an_otoco_pair_must_be_a_limit_maker_and_a_stop_in_price_order(ex: Exchange) -> None:
    """A SELL pair needs LIMIT_MAKER above and a stop below, the above price higher than the below one."""
    both_makers = {**OTOCO, "pendingBelowType": "LIMIT_MAKER", "pendingBelowPrice": "55000"}
    rejected(ex, "create_margin_otoco_order", both_makers, -1014, "Unsupported order combination.")
    crossed = {**OTOCO, "pendingAbovePrice": "54000"}
    rejected(
        ex, "create_margin_otoco_order", crossed, -2010, "The relationship of the prices for the orders is not correct."
    )


def test_order_lists_count_against_max_num_orders(ex: Exchange) -> None:
    """OTO adds 2, OTOCO 3 and OCO 2 open orders; the symbol's MAX_NUM_ORDERS (200) is enforced."""
    small = {"workingQuantity": "0.0001", "pendingQuantity": "0.0001"}
    for _ in range(99):
        ex.handle(USER, "create_margin_oto_order", {**OTO, **small})
    assert len(ex.handle(USER, "get_open_margin_orders", {"symbol": "BTCUSDT"})) == 198
    with pytest.raises(SimError) as info:
        ex.handle(USER, "create_margin_otoco_order", {**OTOCO, **small})
    assert (info.value.code, info.value.msg) == (-1013, "Filter failure: MAX_NUM_ORDERS")
    oco(ex, side="SELL", quantity="0.0001", price="65000", stopPrice="55000")
    assert len(ex.handle(USER, "get_all_margin_order_lists", {"limit": "1000"})) == 100
