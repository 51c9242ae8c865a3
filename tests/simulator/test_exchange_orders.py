"""The paper exchange core: single orders, filters, persistence and transactions."""

from __future__ import annotations

import threading
from pathlib import Path

import helpers
import pytest
from helpers import HOUR, NOW, USER, Clock, asset, limit, order, rejected

from binance_margin_mcp.simulator.exchange import Exchange

SELL_OCO = {"symbol": "BTCUSDT", "side": "SELL", "quantity": "0.01", "price": "65000", "stopPrice": "55000"}
clock, ex = helpers.clock, helpers.ex  # shared fixtures (see helpers.py)


# --------------------------------------------------------------------------------------------
# orders
# --------------------------------------------------------------------------------------------


def test_a_margin_buy_limit_order_borrows_at_placement_and_fills_when_the_price_crosses(ex: Exchange) -> None:
    """MARGIN_BUY borrows the shortfall at once (FULL shows it); the order fills at its price as maker
    (0.09% commission) once the asks reach it: at 59500 they start at 59500.01, at 58900 below 59000."""
    placed = order(ex, **limit("BUY", "0.5", "59000", sideEffectType="MARGIN_BUY"))
    assert placed["status"] == "NEW" and placed["fills"] == []
    assert (placed["marginBuyBorrowAmount"], placed["marginBuyBorrowAsset"]) == ("19500.00000000", "USDT")
    assert asset(ex, "USDT")["locked"] == "29500.00000000"
    ex.set_price("BTCUSDT", "59500")
    assert (
        ex.handle(USER, "get_margin_order", {"symbol": "BTCUSDT", "orderId": str(placed["orderId"])})["status"] == "NEW"
    )
    ex.set_price("BTCUSDT", "58900")
    done = ex.handle(USER, "get_margin_order", {"symbol": "BTCUSDT", "orderId": str(placed["orderId"])})
    assert (done["status"], done["executedQty"], done["cummulativeQuoteQty"]) == (
        "FILLED",
        "0.50000000",
        "29500.00000000",
    )
    trade = ex.handle(USER, "get_margin_trades", {"symbol": "BTCUSDT"})[0]
    assert (trade["price"], trade["isMaker"], trade["isBuyer"]) == ("59000.00000000", True, True)
    assert (trade["commission"], trade["commissionAsset"]) == ("0.00045000", "BTC")
    usdt, btc = asset(ex, "USDT"), asset(ex, "BTC")
    assert (usdt["free"], usdt["locked"], usdt["borrowed"]) == ("0.00000000", "0.00000000", "19500.00000000")
    assert btc["free"] == "0.59955000"


def test_a_market_order_fills_at_once_with_fills_and_commission(ex: Exchange) -> None:
    """MARKET defaults to FULL: 0.05 BTC fits in the best bid (one tick under the last price), 0.1% taker
    commission in the asset received; quoteOrderQty buys what 100 USDT pays for at the best ask."""
    sold = order(ex, side="SELL", type="MARKET", quantity="0.05")
    assert sold["status"] == "FILLED" and sold["cummulativeQuoteQty"] == "2999.99950000"
    assert sold["fills"] == [
        {
            "price": "59999.99000000",
            "qty": "0.05000000",
            "commission": "2.99999950",
            "commissionAsset": "USDT",
            "tradeId": sold["fills"][0]["tradeId"],
        },
    ]
    assert "marginBuyBorrowAmount" not in sold
    bought = order(ex, side="BUY", type="MARKET", quoteOrderQty="100", newOrderRespType="RESULT")
    assert bought["origQty"] == "0.00166000" and "fills" not in bought
    assert bought["cummulativeQuoteQty"] == "99.60001660"  # 0.00166 x 60000.01
    assert asset(ex, "USDT")["free"] == "12897.39948390"


def test_auto_repay_uses_the_proceeds_to_repay_that_asset_interest_first(ex: Exchange) -> None:
    """A SELL with AUTO_REPAY repays the USDT debt from its proceeds."""
    ex.handle(USER, "borrow_or_repay", {"asset": "USDT", "isIsolated": "FALSE", "amount": "1000", "type": "BORROW"})
    order(ex, side="SELL", type="MARKET", quantity="0.05", sideEffectType="AUTO_REPAY")
    usdt = asset(ex, "USDT")
    assert (usdt["borrowed"], usdt["interest"]) == ("0.00000000", "0.00000000")
    assert usdt["free"] == "12996.98700050"  # 10000 + 1000 + (2999.9995 - 2.9999995) - 1000.0125
    repay = ex.handle(USER, "get_borrow_repay_records", {"type": "REPAY"})["rows"][0]
    assert (repay["type"], repay["interest"], repay["principal"]) == ("AUTO", "0.01250000", "1000.00000000")


def test_cancelling_a_margin_buy_order_repays_what_it_borrowed_unless_told_not_to(ex: Exchange) -> None:
    """autoRepayAtCancel (default true) repays the order's loan on cancel; false keeps the debt."""
    placed = order(ex, **limit("BUY", "0.5", "59000", sideEffectType="MARGIN_BUY"))
    cancel = ex.handle(USER, "cancel_margin_order", {"symbol": "BTCUSDT", "orderId": str(placed["orderId"])})
    assert cancel["status"] == "CANCELED" and cancel["origClientOrderId"] == placed["clientOrderId"]
    assert cancel["isIsolated"] is False
    usdt = asset(ex, "USDT")
    assert (usdt["borrowed"], usdt["interest"], usdt["locked"]) == ("0.00000000", "0.00000000", "0.00000000")
    assert usdt["free"] == "9999.75625000"  # one hour of interest on 19500 paid
    kept = order(ex, **limit("BUY", "0.5", "59000", sideEffectType="MARGIN_BUY", autoRepayAtCancel="false"))
    assert kept["marginBuyBorrowAmount"] == "19500.24375000"  # the shortfall now includes the interest paid
    ex.handle(USER, "cancel_margin_order", {"symbol": "BTCUSDT", "origClientOrderId": kept["clientOrderId"]})
    assert asset(ex, "USDT")["borrowed"] == "19500.24375000"
    rejected(
        ex, "cancel_margin_order", {"symbol": "BTCUSDT", "orderId": str(kept["orderId"])}, -2011, "Unknown order sent."
    )


def test_an_order_without_enough_balance_is_rejected(ex: Exchange) -> None:
    """NO_SIDE_EFFECT cannot spend more than the free balance (-2010)."""
    msg = "Account has insufficient balance for requested action."
    rejected(ex, "create_margin_order", {"symbol": "BTCUSDT", **limit("BUY", "1", "59000")}, -2010, msg)
    rejected(
        ex,
        "create_margin_order",
        {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.2"},
        -2010,
        msg,
    )


@pytest.mark.parametrize(
    ("params", "code", "msg"),
    [
        (limit("BUY", "0.0100000001", "59000"), -1111, "Precision is over the maximum defined for this asset."),
        (limit("BUY", "0.01", "59000.005"), -1013, "Filter failure: PRICE_FILTER"),
        (limit("BUY", "0.000015", "59000"), -1013, "Filter failure: LOT_SIZE"),
        (limit("BUY", "0.00005", "59000"), -1013, "Filter failure: NOTIONAL"),
        (limit("BUY", "0.01", "1000"), -1013, "Filter failure: PERCENT_PRICE_BY_SIDE"),
        ({"side": "SELL", "type": "MARKET", "quantity": "101"}, -1013, "Filter failure: MARKET_LOT_SIZE"),
        (
            {"side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01"},
            -1102,
            "Mandatory parameter 'price' was not sent, was empty/null, or malformed.",
        ),
        (
            {"side": "BUY", "type": "MARKET", "quantity": "0.01", "timeInForce": "GTC"},
            -1106,
            "Parameter 'timeInForce' sent when not required.",
        ),
        (
            {"side": "BUY", "type": "MARKET"},
            -1102,
            "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!",
        ),
        (
            {"side": "SELL", "type": "STOP_LOSS", "quantity": "0.01", "trailingDelta": "100"},
            -2010,
            "Trailing stop orders are not supported for this symbol.",
        ),
    ],
)
def test_orders_breaking_a_rule_get_binances_code_and_text(ex: Exchange, params: dict, code: int, msg: str) -> None:
    """Mandatory/superfluous parameters, precision and each exchangeInfo filter have their exact message."""
    rejected(ex, "create_margin_order", {"symbol": "BTCUSDT", **params}, code, msg)


def test_a_limit_maker_that_would_take_is_rejected(ex: Exchange) -> None:
    """LIMIT_MAKER at or through the best ask (60000.01): -2010 'Order would immediately match and take.'"""
    params = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT_MAKER", "quantity": "0.01", "price": "60000.01"}
    rejected(ex, "create_margin_order", params, -2010, "Order would immediately match and take.")
    resting = ex.handle(USER, "create_margin_order", {**params, "price": "60000"})
    assert "status" not in resting  # LIMIT_MAKER answers ACK by default
    query = {"symbol": "BTCUSDT", "orderId": str(resting["orderId"])}
    assert ex.handle(USER, "get_margin_order", query)["status"] == "NEW"


def test_a_stop_limit_triggers_when_the_price_crosses_its_stop(ex: Exchange) -> None:
    """A stop that would trigger now is refused; a valid one waits (isWorking false) and then trades."""
    stop = {"side": "SELL", "type": "STOP_LOSS_LIMIT", "quantity": "0.01", "timeInForce": "GTC"}
    rejected(
        ex,
        "create_margin_order",
        {"symbol": "BTCUSDT", **stop, "stopPrice": "61000", "price": "60900"},
        -2010,
        "Order would trigger immediately.",
    )
    placed = order(ex, **stop, stopPrice="59000", price="58900")
    assert set(placed) == {"symbol", "orderId", "clientOrderId", "isIsolated", "transactTime"}  # ACK
    query = {"symbol": "BTCUSDT", "orderId": str(placed["orderId"])}
    assert ex.handle(USER, "get_margin_order", query)["isWorking"] is False
    assert asset(ex, "BTC")["locked"] == "0.01000000"
    ex.set_price("BTCUSDT", "59500")
    assert ex.handle(USER, "get_margin_order", query)["status"] == "NEW"
    ex.set_price("BTCUSDT", "58950")
    done = ex.handle(USER, "get_margin_order", query)
    # triggered at 58950, it sells into the best bid 58949.99 (within its 58900 limit) as taker
    assert (done["status"], done["isWorking"], done["cummulativeQuoteQty"]) == ("FILLED", True, "589.49990000")
    assert ex.handle(USER, "get_margin_trades", {"symbol": "BTCUSDT"})[0]["isMaker"] is False


def test_client_order_ids_are_unique_among_open_orders(ex: Exchange) -> None:
    """A duplicate open newClientOrderId is refused; queries by origClientOrderId find the order."""
    order(ex, **limit("BUY", "0.01", "50000", newClientOrderId="mine-1"))
    again = {"symbol": "BTCUSDT", **limit("BUY", "0.01", "50000", newClientOrderId="mine-1")}
    rejected(ex, "create_margin_order", again, -2010, "Duplicate order sent.")
    found = ex.handle(USER, "get_margin_order", {"symbol": "BTCUSDT", "origClientOrderId": "mine-1"})
    assert found["clientOrderId"] == "mine-1" and found["isIsolated"] is False
    rejected(ex, "get_margin_order", {"symbol": "BTCUSDT", "orderId": "1"}, -2013, "Order does not exist.")


def test_cancel_all_returns_single_orders_and_lists_together(ex: Exchange) -> None:
    """DELETE openOrders cancels plain orders (orderListId -1) and order lists, in one mixed array."""
    order(ex, **limit("BUY", "0.01", "50000"))
    ex.handle(USER, "create_margin_oco_order", SELL_OCO)
    out = ex.handle(USER, "cancel_all_open_margin_orders", {"symbol": "BTCUSDT"})
    assert out[0]["orderListId"] == -1 and out[0]["status"] == "CANCELED"
    assert out[1]["contingencyType"] == "OCO" and out[1]["listOrderStatus"] == "ALL_DONE"
    assert [r["status"] for r in out[1]["orderReports"]] == ["CANCELED", "CANCELED"]
    assert ex.handle(USER, "get_open_margin_orders", {"symbol": "BTCUSDT"}) == []
    assert asset(ex, "BTC")["locked"] == "0.00000000" and asset(ex, "USDT")["locked"] == "0.00000000"


def test_order_history_queries_and_usage(ex: Exchange) -> None:
    """allOrders/openOrders/myTrades filter by symbol and account; usage counts placed orders."""
    first = order(ex, **limit("BUY", "0.01", "50000"))
    order(ex, side="SELL", type="MARKET", quantity="0.01")
    every = ex.handle(USER, "get_all_margin_orders", {"symbol": "BTCUSDT"})
    assert [o["status"] for o in every] == ["NEW", "FILLED"]
    assert (
        ex.handle(USER, "get_all_margin_orders", {"symbol": "BTCUSDT", "orderId": str(first["orderId"] + 1)})[0][
            "status"
        ]
        == "FILLED"
    )
    assert len(ex.handle(USER, "get_open_margin_orders", {})) == 1
    assert ex.handle(USER, "get_margin_trades", {"symbol": "ETHUSDT"}) == []
    usage = ex.handle(USER, "get_margin_order_rate_usage", {})
    assert [(u["interval"], u["count"]) for u in usage] == [("SECOND", 2), ("DAY", 2)]
    assert ex.handle(USER, "get_margin_prevented_matches", {"symbol": "BTCUSDT"}) == []


# --------------------------------------------------------------------------------------------
# persistence and transactions
# --------------------------------------------------------------------------------------------


def _busy_account(ex: Exchange, clock: Clock) -> None:
    ex.handle(USER, "borrow_or_repay", {"asset": "USDT", "isIsolated": "FALSE", "amount": "1000", "type": "BORROW"})
    order(ex, **limit("BUY", "0.01", "50000"))
    ex.handle(USER, "create_margin_oco_order", SELL_OCO)
    order(ex, side="SELL", type="MARKET", quantity="0.01")
    ex.deposit(USER, "USDT", "300", "ETHUSDT")
    ex.handle(USER, "start_margin_user_data_stream", {})
    ex.handle(USER, "create_margin_special_key", {"apiName": "bot"})
    clock.now += 2 * HOUR
    ex.tick()


def test_reopening_the_database_file_restores_everything(tmp_path: Path, clock: Clock) -> None:
    """A new Exchange on the same file sees the same balances, orders, lists, records, keys and counters."""
    path = tmp_path / "paper.db"
    first = Exchange(path, clock_ms=clock)
    _busy_account(first, clock)
    first.set_price("ETHUSDT", "3100")
    before = first.export_user(USER)
    answers = [first.handle(USER, name, params) for name, params in _READS]
    first.close()
    second = Exchange(path, clock_ms=clock)
    assert second.export_user(USER) == before
    assert [second.handle(USER, name, params) for name, params in _READS] == answers
    assert second.public("/api/v3/ticker/price", {"symbol": "ETHUSDT"})["price"] == "3100.00000000"
    next_order = order(second, **limit("BUY", "0.01", "50000"))
    assert next_order["orderId"] == max(o["orderId"] for o in answers[1]) + 1


_READS = [
    ("get_cross_margin_account", {}),
    ("get_all_margin_orders", {"symbol": "BTCUSDT"}),
    ("get_all_margin_order_lists", {}),
    ("get_margin_interest_history", {}),
    ("get_margin_capital_flow", {}),
    ("list_margin_special_keys", {}),
    ("get_isolated_margin_account", {}),
]


def test_calls_from_several_threads_are_serialised(tmp_path: Path, clock: Clock) -> None:
    """The HTTP server may call from many threads: every order is kept once, with a unique id."""
    ex = Exchange(tmp_path / "threads.db", clock_ms=clock)
    errors: list[BaseException] = []

    def place(user: str) -> None:
        try:
            for _ in range(15):
                ex.handle(user, "create_margin_order", {"symbol": "BTCUSDT", **limit("BUY", "0.001", "50000")})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=place, args=(f"user{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    ids = [o["orderId"] for i in range(4) for o in ex.handle(f"user{i}", "get_open_margin_orders", {})]
    assert len(ids) == len(set(ids)) == 60
    reopened = Exchange(tmp_path / "threads.db", clock_ms=clock)
    assert len(reopened.handle("user3", "get_open_margin_orders", {})) == 15


def test_capital_flow_records_every_movement_and_limits_the_span(ex: Exchange, clock: Clock) -> None:
    """Transfers, borrows, trades and commissions leave capital-flow rows; a span over 7 days is -4047."""
    ex.handle(USER, "borrow_or_repay", {"asset": "USDT", "isIsolated": "FALSE", "amount": "100", "type": "BORROW"})
    order(ex, side="BUY", type="MARKET", quantity="0.001")
    rows = ex.handle(USER, "get_margin_capital_flow", {})
    assert [r["type"] for r in rows] == [
        "TRANSFER",
        "TRANSFER",
        "BORROW",
        "BUY_EXPENSE",
        "BUY_INCOME",
        "TRADING_COMMISSION",
    ]
    assert set(rows[0]) == {"id", "tranId", "timestamp", "asset", "type", "amount"}
    assert [r["type"] for r in ex.handle(USER, "get_margin_capital_flow", {"type": "BORROW"})] == ["BORROW"]
    assert ex.handle(USER, "get_margin_capital_flow", {"fromId": str(rows[-1]["id"])}) == rows[-1:]
    span = {"startTime": str(NOW - 8 * 24 * HOUR), "endTime": str(NOW)}
    rejected(ex, "get_margin_capital_flow", span, -4047, "Time interval must be within 0-7 days")


def test_a_failing_call_changes_nothing(ex: Exchange) -> None:
    """A rejected order leaves balances, history and id counters exactly as they were."""
    ex.handle(USER, "get_cross_margin_account", {})
    before = ex.export_user(USER)
    rejected(
        ex,
        "create_margin_order",
        {"symbol": "BTCUSDT", **limit("BUY", "1", "59000", sideEffectType="MARGIN_BUY"), "quantity": "10"},
        -3006,
    )
    rejected(ex, "create_margin_order", {"symbol": "BTCUSDT", **limit("BUY", "1", "59000")}, -2010)
    assert ex.export_user(USER) == before
    assert order(ex, **limit("BUY", "0.01", "50000"))["orderId"] == 100001


def test_a_failure_after_funds_moved_is_rolled_back(ex: Exchange, monkeypatch: pytest.MonkeyPatch) -> None:
    """If a call dies after borrowing, locking and filling, none of it is kept (one transaction per call)."""
    from binance_margin_mcp.simulator import engine

    ex.handle(USER, "get_cross_margin_account", {})
    before = ex.export_user(USER)
    original = engine.place

    def place_then_crash(*args: object) -> list:
        original(*args)
        raise RuntimeError("crash after the order was placed")

    monkeypatch.setattr(engine, "place", place_then_crash)
    with pytest.raises(RuntimeError):
        order(ex, side="BUY", type="MARKET", quantity="0.5", sideEffectType="MARGIN_BUY")
    monkeypatch.undo()
    assert ex.export_user(USER) == before
    assert ex.handle(USER, "get_all_margin_orders", {"symbol": "BTCUSDT"}) == []
    assert asset(ex, "USDT")["borrowed"] == "0.00000000"
