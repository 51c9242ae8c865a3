"""Fills against the order book: level-by-level walks, IOC/FOK/GTC remainders, maker and taker fees."""

from __future__ import annotations

from decimal import Decimal

import helpers
from helpers import USER, D, asset, limit, order

from binance_margin_mcp.simulator.book import Book, synthetic_book
from binance_margin_mcp.simulator.exchange import Exchange
from binance_margin_mcp.simulator.market import Market
from binance_margin_mcp.simulator.util import q8, up8

clock, ex = helpers.clock, helpers.ex  # shared fixtures (see helpers.py)
TAKER, MAKER = D("0.001"), D("0.0009")
LEVEL_1 = "60006.01"  # the second ask of the synthetic BTCUSDT book at 60000 (0.08887 + 0.11910 BTC up to it)


def first_interest(ex: Exchange) -> Decimal:
    """The hour of interest charged when the order borrowed (repayments pay interest first)."""
    return D(ex.handle(USER, "get_margin_interest_history", {})["rows"][0]["interest"])


def query(ex: Exchange, order_id: int) -> dict:
    return ex.handle(USER, "get_margin_order", {"symbol": "BTCUSDT", "orderId": str(order_id)})


def trades(ex: Exchange, order_id: int) -> list[dict]:
    return ex.handle(USER, "get_margin_trades", {"symbol": "BTCUSDT", "orderId": str(order_id)})


def test_the_synthetic_book_has_a_spread_of_ticks_and_growing_levels_and_is_deterministic() -> None:
    """20 levels a side around the price, best bid < price < best ask, deeper levels larger, same price same book."""
    spec = Market().spec("BTCUSDT")
    book = synthetic_book(spec, D("60000"))
    assert len(book.asks) == len(book.bids) == 20
    assert book.bids[0][0] < D("60000") < book.asks[0][0] and book.asks[0][0] - book.bids[0][0] <= 4 * spec.tick_size
    assert [p for p, _ in book.asks] == sorted(p for p, _ in book.asks)
    assert book.asks[-1][1] > 3 * book.asks[0][1]
    assert synthetic_book(spec, D("60000")) == book and synthetic_book(spec, D("60100")) != book


def test_a_large_market_order_walks_several_levels_at_a_worse_average_price(ex: Exchange) -> None:
    """0.3 BTC at market takes level after level: one fill and one taker trade per level, average above the best ask."""
    placed = order(ex, side="BUY", type="MARKET", quantity="0.3", sideEffectType="MARGIN_BUY")
    assert placed["status"] == "FILLED" and placed["executedQty"] == "0.30000000"
    prices = [D(f["price"]) for f in placed["fills"]]
    assert len(prices) >= 2 and prices == sorted(prices) and prices[0] == D("60000.01")
    assert sum(D(f["qty"]) for f in placed["fills"]) == D("0.3")
    average = D(placed["cummulativeQuoteQty"]) / D("0.3")
    assert average > prices[0]
    for fill in placed["fills"]:
        assert D(fill["commission"]) == q8(D(fill["qty"]) * TAKER) and fill["commissionAsset"] == "BTC"
    rows = trades(ex, placed["orderId"])
    assert [r["id"] for r in rows] == [f["tradeId"] for f in placed["fills"]]
    assert all(r["isMaker"] is False and r["isBuyer"] is True for r in rows)
    # the borrow covered exactly what the walk cost beyond the 10000 USDT held
    assert D(asset(ex, "USDT")["borrowed"]) == D(placed["cummulativeQuoteQty"]) - 10000


def test_an_ioc_limit_fills_what_the_book_has_up_to_its_price_and_expires_the_rest(ex: Exchange) -> None:
    """IOC takes the two levels within its price, then EXPIRED with executedQty > 0; the unused borrow is repaid."""
    placed = order(ex, **limit("BUY", "0.3", LEVEL_1, timeInForce="IOC", sideEffectType="MARGIN_BUY"))
    assert (placed["status"], placed["executedQty"]) == ("EXPIRED", "0.20797000")
    assert [f["price"] for f in placed["fills"]] == ["60000.01000000", "60006.01000000"]
    usdt = asset(ex, "USDT")
    assert (usdt["free"], usdt["locked"]) == ("0.00000000", "0.00000000")
    # only what was spent beyond the 10000 USDT held stays borrowed (the release paid the interest first)
    assert D(usdt["borrowed"]) == D(placed["cummulativeQuoteQty"]) - 10000 + first_interest(ex)
    assert ex.handle(USER, "get_open_margin_orders", {"symbol": "BTCUSDT"}) == []


def test_a_fok_that_the_book_cannot_fill_expires_with_nothing_filled(ex: Exchange) -> None:
    """FOK: all or nothing. 0.3 within 60006.01 is not there (EXPIRED, no trade, funds back); 0.2 is (FILLED)."""
    missed = order(ex, **limit("BUY", "0.3", LEVEL_1, timeInForce="FOK", sideEffectType="MARGIN_BUY"))
    assert (missed["status"], missed["executedQty"], missed["fills"]) == ("EXPIRED", "0.00000000", [])
    assert trades(ex, missed["orderId"]) == []
    usdt = asset(ex, "USDT")
    assert (usdt["locked"], usdt["borrowed"], usdt["interest"]) == ("0.00000000", "0.00000000", "0.00000000")
    assert D(usdt["free"]) == 10000 - first_interest(ex)  # the borrow was repaid with its hour of interest
    done = order(ex, **limit("BUY", "0.15", LEVEL_1, timeInForce="FOK"))
    assert (done["status"], len(done["fills"])) == ("FILLED", 2)


def test_a_gtc_marketable_limit_rests_its_remainder_and_completes_on_a_later_move(ex: Exchange) -> None:
    """GTC takes what its price allows (taker fee), rests PARTIALLY_FILLED holding only the rest, then makes."""
    placed = order(ex, **limit("BUY", "0.3", LEVEL_1, sideEffectType="MARGIN_BUY"))
    assert (placed["status"], placed["executedQty"], len(placed["fills"])) == ("PARTIALLY_FILLED", "0.20797000", 2)
    rest = D("0.3") - D("0.20797")
    assert asset(ex, "USDT")["locked"] == f"{up8(rest * D(LEVEL_1)):.8f}"
    assert [o["status"] for o in ex.handle(USER, "get_open_margin_orders", {"symbol": "BTCUSDT"})] == [
        "PARTIALLY_FILLED"
    ]
    ex.set_price("BTCUSDT", "59990")  # the book moves: its asks from 59990.01 reach the order's price
    done = query(ex, placed["orderId"])
    assert (done["status"], done["executedQty"]) == ("FILLED", "0.30000000")
    rows = trades(ex, placed["orderId"])
    assert [r["isMaker"] for r in rows] == [False, False, True]
    maker = rows[-1]
    assert (maker["price"], maker["qty"]) == ("60006.01000000", f"{rest:.8f}")
    assert D(maker["commission"]) == q8(rest * MAKER)
    assert [D(r["commission"]) for r in rows[:2]] == [q8(D(r["qty"]) * TAKER) for r in rows[:2]]
    assert asset(ex, "USDT")["locked"] == "0.00000000"


def test_maker_fills_pay_the_maker_rate_and_taker_fills_the_taker_rate(ex: Exchange) -> None:
    """The same 0.05 BTC sold resting (maker, 0.09%) and at market (taker, 0.1%), commission in USDT."""
    resting = order(ex, **limit("SELL", "0.05", "61000"))
    ex.set_price("BTCUSDT", "61010")
    maker = trades(ex, resting["orderId"])[0]
    assert (maker["isMaker"], maker["price"], maker["commission"]) == (True, "61000.00000000", "2.74500000")
    taker = order(ex, side="SELL", type="MARKET", quantity="0.05")["fills"][0]
    assert taker["price"] == "61009.99000000"  # the best bid, one tick under the last price
    assert D(taker["commission"]) == q8(D("0.05") * D("61009.99") * TAKER)


def test_a_partly_filled_oco_leg_expires_its_sibling_and_fills_the_rest_later(ex: Exchange) -> None:
    """A move to 61000.02 puts only 0.068 BTC of bids at the 61000 limit: PARTIALLY_FILLED, the stop EXPIRED."""
    params = {"symbol": "BTCUSDT", "side": "SELL", "quantity": "0.1", "price": "61000", "stopPrice": "55000"}
    placed = ex.handle(USER, "create_margin_oco_order", params)
    stop_id, limit_id = (o["orderId"] for o in placed["orders"])
    ex.set_price("BTCUSDT", "61000.02")
    assert (query(ex, limit_id)["status"], query(ex, limit_id)["executedQty"]) == ("PARTIALLY_FILLED", "0.06800000")
    assert query(ex, stop_id)["status"] == "EXPIRED"
    assert asset(ex, "BTC")["locked"] == "0.03200000"
    ex.set_price("BTCUSDT", "61100")
    assert query(ex, limit_id)["status"] == "FILLED"
    found = ex.handle(USER, "get_margin_order_list", {"orderListId": str(placed["orderListId"])})
    assert found["listOrderStatus"] == "ALL_DONE" and asset(ex, "BTC")["locked"] == "0.00000000"


def test_cancelling_a_partly_filled_margin_buy_repays_only_the_unused_borrow(ex: Exchange) -> None:
    """autoRepayAtCancel after a partial fill gives back what the cancel released, not the whole borrow."""
    placed = order(ex, **limit("BUY", "0.3", LEVEL_1, sideEffectType="MARGIN_BUY"))
    ex.handle(USER, "cancel_margin_order", {"symbol": "BTCUSDT", "orderId": str(placed["orderId"])})
    assert query(ex, placed["orderId"])["status"] == "CANCELED"
    usdt = asset(ex, "USDT")
    assert (usdt["free"], usdt["locked"]) == ("0.00000000", "0.00000000")
    assert D(usdt["borrowed"]) == D(placed["cummulativeQuoteQty"]) - 10000 + first_interest(ex)


class DepthMarket(Market):
    """A price source with its own depth: two thin ask levels."""

    def depth(self, symbol: str) -> Book | None:
        asks = ((Decimal("60100"), Decimal("0.01")), (Decimal("60200"), Decimal("0.01")))
        return Book(bids=((Decimal("59900"), Decimal("1")),), asks=asks)


def test_a_live_book_from_the_price_source_replaces_the_synthetic_one(clock: helpers.Clock) -> None:
    """Market.depth() wins over the synthetic book; a MARKET order larger than the book expires its rest."""
    live = Exchange(clock_ms=clock, market=DepthMarket())
    placed = order(live, side="BUY", type="MARKET", quantity="0.03")
    assert [(f["price"], f["qty"]) for f in placed["fills"]] == [
        ("60100.00000000", "0.01000000"),
        ("60200.00000000", "0.01000000"),
    ]
    assert (placed["status"], placed["executedQty"]) == ("EXPIRED", "0.02000000")
