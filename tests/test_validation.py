"""Pre-trade validation against exchangeInfo filters: every rule passes and fails, with exact suggestions."""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from binance_margin_mcp.catalog import CATALOG, Endpoint
from binance_margin_mcp.validation import WIRE_DECIMAL, Violation, format_violations, order_legs, validate_order

# BTCUSDT exactly as the paper exchange emits it (GET /api/v3/exchangeInfo?symbol=BTCUSDT).
BTCUSDT: dict[str, Any] = {
    "symbol": "BTCUSDT",
    "status": "TRADING",
    "baseAsset": "BTC",
    "baseAssetPrecision": 8,
    "quoteAsset": "USDT",
    "quotePrecision": 8,
    "quoteAssetPrecision": 8,
    "baseCommissionPrecision": 8,
    "quoteCommissionPrecision": 8,
    "orderTypes": [
        "LIMIT",
        "LIMIT_MAKER",
        "MARKET",
        "STOP_LOSS",
        "STOP_LOSS_LIMIT",
        "TAKE_PROFIT",
        "TAKE_PROFIT_LIMIT",
    ],
    "icebergAllowed": True,
    "ocoAllowed": True,
    "otoAllowed": True,
    "quoteOrderQtyMarketAllowed": True,
    "allowTrailingStop": False,
    "cancelReplaceAllowed": False,
    "amendAllowed": False,
    "isSpotTradingAllowed": True,
    "isMarginTradingAllowed": True,
    "filters": [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": "0.01000000",
            "maxPrice": "1000000.00000000",
            "tickSize": "0.01000000",
        },
        {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000.00000000", "stepSize": "0.00001000"},
        {"filterType": "ICEBERG_PARTS", "limit": 100},
        {"filterType": "MARKET_LOT_SIZE", "minQty": "0.00000000", "maxQty": "100.00000000", "stepSize": "0.00000000"},
        {
            "filterType": "PERCENT_PRICE_BY_SIDE",
            "bidMultiplierUp": "5",
            "bidMultiplierDown": "0.2",
            "askMultiplierUp": "5",
            "askMultiplierDown": "0.2",
            "avgPriceMins": 0,
        },
        {
            "filterType": "NOTIONAL",
            "minNotional": "5.00000000",
            "applyMinToMarket": True,
            "maxNotional": "9000000.00000000",
            "applyMaxToMarket": False,
            "avgPriceMins": 0,
        },
        {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
        {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
        {"filterType": "MAX_NUM_ORDER_LISTS", "maxNumOrderLists": 20},
    ],
    "permissions": [],
    "permissionSets": [["SPOT", "MARGIN"]],
    "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
    "allowedSelfTradePreventionModes": ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
}
LAST = Decimal("60000")
ORDER, OCO, OTO, OTOCO = (
    CATALOG[name]
    for name in (
        "create_margin_order",
        "create_margin_oco_order",
        "create_margin_oto_order",
        "create_margin_otoco_order",
    )
)


def limit(**over: str) -> dict[str, str]:
    return {"side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.001", "price": "60000.00"} | over


def oco(side: str, price: str, stop: str, **over: str) -> dict[str, str]:
    return {"side": side, "quantity": "0.001", "price": price, "stopPrice": stop} | over


def otoco(above: tuple[str, str, str], below: tuple[str, str, str], side: str = "SELL") -> dict[str, str]:
    """A BUY working LIMIT with a pending pair; above/below = (type, wire suffix, value)."""
    params = {"workingType": "LIMIT", "workingSide": "BUY", "workingPrice": "59000.00", "workingQuantity": "0.001"}
    params |= {"workingTimeInForce": "GTC", "pendingSide": side, "pendingQuantity": "0.001"}
    params |= {"pendingAboveType": above[0], "pendingAbove" + above[1]: above[2]}
    return params | {"pendingBelowType": below[0], "pendingBelow" + below[1]: below[2]}


def info_with(**filters: dict[str, Any]) -> dict[str, Any]:
    """BTCUSDT with some filters replaced (by filterType) and the rest kept."""
    info = copy.deepcopy(BTCUSDT)
    info["filters"] = [filters.get(f["filterType"], f) for f in info["filters"]]
    return info


def check(tool: Endpoint, params: dict[str, str], info: dict[str, Any] | None = None, last=LAST):
    return validate_order(tool, params, info or BTCUSDT, last)


def only(found: list[Violation], rule: str) -> Violation:
    hits = [v for v in found if v.rule == rule]
    assert len(hits) == 1, found
    return hits[0]


def rules(found: list[Violation]) -> set[str]:
    return {v.rule for v in found}


def test_a_well_formed_limit_order_passes_every_rule():
    """A LIMIT order on the grid, inside every bound, gives no violation."""
    assert check(ORDER, limit()) == []


def test_every_order_shape_passes_when_it_is_valid():
    """A valid MARKET, STOP_LOSS_LIMIT, OCO, OTO and OTOCO pass."""
    assert check(ORDER, {"side": "SELL", "type": "MARKET", "quantity": "0.5"}) == []
    stop_limit = limit(type="STOP_LOSS_LIMIT", side="SELL", price="58000.00", stopPrice="58100.00")
    assert check(ORDER, stop_limit) == []
    assert check(OCO, oco("SELL", "61000.00", "59000.00")) == []
    oto = {"workingType": "LIMIT_MAKER", "workingSide": "BUY", "workingPrice": "59000", "workingQuantity": "0.001"}
    oto |= {"pendingType": "LIMIT", "pendingSide": "SELL", "pendingQuantity": "0.001", "pendingPrice": "62000"}
    assert check(OTO, oto | {"pendingTimeInForce": "GTC"}) == []
    assert check(OTOCO, otoco(("LIMIT_MAKER", "Price", "62000"), ("STOP_LOSS", "StopPrice", "58000"))) == []


# --- PRICE_FILTER ---


def test_a_price_off_the_tick_is_refused_with_the_nearest_tick():
    """price 60000.006 with tickSize 0.01 suggests 60000.01 and names the rule and the allowed values."""
    v = only(check(ORDER, limit(price="60000.006")), "PRICE_FILTER")
    assert (v.leg, v.param, v.suggestion) == ("order", "price", "60000.01")
    assert "not a multiple of tickSize 0.01" in v.message
    assert "allowed: from 0.01 up to 1000000 in steps of 0.01" in v.message


def test_a_price_exactly_between_two_ticks_rounds_down():
    """The documented tie rule: 60000.005 with tickSize 0.01 suggests 60000.00."""
    v = only(check(ORDER, limit(price="60000.005")), "PRICE_FILTER")
    assert v.suggestion == "60000.00"
    assert v.message.endswith("nearest valid: 60000.00")


def test_more_decimals_than_the_tick_count_as_off_the_tick_even_when_zero():
    """60000.000 is a multiple of 0.01 (exact arithmetic): trailing zeros are fine."""
    assert check(ORDER, limit(price="60000.000")) == []


def test_prices_outside_min_and_max_are_clamped_into_range():
    """Below minPrice suggests minPrice; above maxPrice suggests maxPrice, with the tick's decimals."""
    info = info_with(PERCENT_PRICE_BY_SIDE={"filterType": "PERCENT_PRICE_BY_SIDE"})
    low = only(check(ORDER, limit(price="0.001", quantity="9000"), info), "PRICE_FILTER")
    assert (low.suggestion, "below minPrice 0.01" in low.message) == ("0.01", True)
    high = only(check(ORDER, limit(price="2000000", quantity="0.001"), info), "PRICE_FILTER")
    assert (high.suggestion, "above maxPrice 1000000" in high.message) == ("1000000.00", True)


def test_the_stop_price_and_the_oco_stop_limit_price_are_price_filtered_too():
    """stopPrice and stopLimitPrice are checked against PRICE_FILTER under their own wire names."""
    v = only(check(ORDER, limit(type="STOP_LOSS_LIMIT", stopPrice="59000.123")), "PRICE_FILTER")
    assert (v.param, v.suggestion) == ("stopPrice", "59000.12")
    params = oco("SELL", "61000", "59000", stopLimitPrice="58999.999", stopLimitTimeInForce="GTC")
    v = only(check(OCO, params), "PRICE_FILTER")
    assert (v.leg, v.param, v.suggestion) == ("stop leg", "stopLimitPrice", "59000.00")


def test_zero_in_price_filter_fields_disables_each_bound():
    """minPrice, maxPrice and tickSize of 0 mean no bound and no grid."""
    info = info_with(
        PRICE_FILTER={"filterType": "PRICE_FILTER", "minPrice": "0", "maxPrice": "0", "tickSize": "0"},
        PERCENT_PRICE_BY_SIDE={"filterType": "PERCENT_PRICE_BY_SIDE"},
        NOTIONAL={"filterType": "NOTIONAL", "minNotional": "0", "maxNotional": "0"},
    )
    assert check(ORDER, limit(price="0.00000000000000000001"), info) == []
    assert check(ORDER, limit(price="99999999999999999999.123456789"), info) == []


# --- LOT_SIZE / MARKET_LOT_SIZE ---


def test_a_quantity_off_the_step_is_rounded_down_to_the_step():
    """quantity 0.123456 with stepSize 0.00001000 suggests 0.12345 (never more than asked)."""
    v = only(check(ORDER, limit(quantity="0.123456")), "LOT_SIZE")
    assert (v.param, v.suggestion) == ("quantity", "0.12345")
    assert "quantity 0.123456 is not a multiple of stepSize 0.00001" in v.message


def test_a_quantity_below_min_qty_gets_no_suggestion_but_says_the_minimum():
    """Rounding down would fall below minQty, so the message names the smallest valid quantity instead."""
    found = check(ORDER, limit(quantity="0.000009"))
    v = only(found, "LOT_SIZE")
    assert v.suggestion is None
    assert "below minQty 0.00001" in v.message and "the smallest valid quantity is 0.00001" in v.message


def test_a_quantity_above_max_qty_suggests_max_qty():
    """9000.5 with maxQty 9000 suggests 9000.00000."""
    info = info_with(NOTIONAL={"filterType": "NOTIONAL", "minNotional": "5"})
    v = only(check(ORDER, limit(quantity="9000.5"), info), "LOT_SIZE")
    assert v.suggestion == "9000.00000"


def test_the_iceberg_quantity_is_lot_size_checked_under_its_own_name():
    """icebergQty 0.0012345 is off the step: LOT_SIZE on icebergQty, suggestion 0.00123."""
    v = only(check(ORDER, limit(quantity="0.01", icebergQty="0.0012345")), "LOT_SIZE")
    assert (v.param, v.suggestion) == ("icebergQty", "0.00123")


def test_a_market_quantity_above_market_max_qty_fails_market_lot_size():
    """MARKET quantity 150 breaks MARKET_LOT_SIZE maxQty 100; its stepSize 0 disables the grid."""
    v = only(check(ORDER, {"side": "BUY", "type": "MARKET", "quantity": "150"}, last=Decimal("1")), "MARKET_LOT_SIZE")
    assert (v.suggestion, "above maxQty 100" in v.message) == ("100", True)
    assert check(ORDER, {"side": "BUY", "type": "MARKET", "quantity": "99.5"}, last=Decimal("1")) == []


def test_a_market_quantity_still_obeys_the_lot_size_step():
    """Binance applies LOT_SIZE to MARKET quantities as well: 0.123456 is refused, suggestion 0.12345."""
    v = only(check(ORDER, {"side": "BUY", "type": "MARKET", "quantity": "0.123456"}), "LOT_SIZE")
    assert v.suggestion == "0.12345"


def test_a_market_order_by_quote_quantity_skips_the_lot_size_checks():
    """quoteOrderQty 123.456789 is not a base quantity: no LOT_SIZE/MARKET_LOT_SIZE, only NOTIONAL."""
    assert check(ORDER, {"side": "BUY", "type": "MARKET", "quoteOrderQty": "123.456789"}) == []


# --- NOTIONAL / MIN_NOTIONAL ---


def test_a_limit_notional_below_the_minimum_suggests_the_smallest_quantity_on_the_grid():
    """60000 × 0.00001 = 0.6 < 5: the smallest step-grid quantity reaching 5 is 0.00009."""
    v = only(check(ORDER, limit(quantity="0.00001")), "NOTIONAL")
    assert (v.param, v.suggestion) == ("quantity", "0.00009")
    assert "notional 0.6 (price 60000.00 × quantity 0.00001) is below minNotional 5" in v.message


def test_a_notional_above_the_maximum_suggests_the_largest_quantity():
    """60000 × 200 = 12 000 000 > 9 000 000: the largest quantity is 150.00000."""
    v = only(check(ORDER, limit(quantity="200")), "NOTIONAL")
    assert (v.suggestion, "above maxNotional 9000000" in v.message) == ("150.00000", True)


def test_a_market_notional_uses_the_last_price_and_is_skipped_without_it():
    """MARKET 0.00001 at last 60000 is 0.6 < 5; with no last price the check is skipped."""
    market = {"side": "SELL", "type": "MARKET", "quantity": "0.00001"}
    v = only(check(ORDER, market), "NOTIONAL")
    assert v.suggestion == "0.00009" and "last price 60000" in v.message
    assert check(ORDER, market, last=None) == []


def test_a_market_order_by_quote_quantity_below_the_minimum_suggests_the_minimum():
    """quoteOrderQty 1 < minNotional 5 suggests quoteOrderQty 5."""
    v = only(check(ORDER, {"side": "BUY", "type": "MARKET", "quoteOrderQty": "1"}, last=None), "NOTIONAL")
    assert (v.param, v.suggestion) == ("quoteOrderQty", "5")


def test_market_orders_only_see_the_notional_bounds_applied_to_market():
    """applyMinToMarket false lets a tiny MARKET through; applyMaxToMarket false ignores the maximum."""
    info = info_with(NOTIONAL={"filterType": "NOTIONAL", "minNotional": "5", "applyMinToMarket": False})
    assert check(ORDER, {"side": "BUY", "type": "MARKET", "quantity": "0.00001"}, info) == []
    assert check(ORDER, {"side": "BUY", "type": "MARKET", "quoteOrderQty": "99999999"}) == []


def test_a_stop_market_order_uses_the_stop_price_for_its_notional():
    """STOP_LOSS 0.00001 at stopPrice 59000 is 0.59 < 5."""
    found = check(ORDER, {"side": "SELL", "type": "STOP_LOSS", "quantity": "0.00001", "stopPrice": "59000"})
    v = only(found, "NOTIONAL")
    assert "stopPrice 59000 × quantity 0.00001" in v.message and v.suggestion == "0.00009"


def test_the_legacy_min_notional_filter_is_checked_and_apply_to_market_is_honoured():
    """MIN_NOTIONAL minNotional 10: a limit of 6 fails; a MARKET passes when applyToMarket is false."""
    legacy = {"filterType": "MIN_NOTIONAL", "minNotional": "10.00000000", "applyToMarket": False, "avgPriceMins": 5}
    info = info_with(NOTIONAL=legacy)
    v = only(check(ORDER, limit(quantity="0.0001"), info), "MIN_NOTIONAL")
    assert v.suggestion == "0.00017"
    assert check(ORDER, {"side": "BUY", "type": "MARKET", "quantity": "0.0001"}, info) == []
    assert check(ORDER, limit(quantity="0.0002"), info) == []


# --- PERCENT_PRICE_BY_SIDE ---


def test_a_buy_price_below_the_bid_band_is_refused_with_the_band_edge():
    """BUY at 100 with last 60000 × bidMultiplierDown 0.2 = 12000 suggests 12000.00."""
    v = only(check(ORDER, limit(price="100", quantity="1")), "PERCENT_PRICE_BY_SIDE")
    assert v.suggestion == "12000.00"
    assert "outside the BUY price band from 12000" in v.message and "bidMultiplierDown 0.2" in v.message


def test_a_sell_price_above_the_ask_band_is_refused_with_the_band_edge():
    """SELL at 400000 with last 60000 × askMultiplierUp 5 = 300000 suggests 300000.00."""
    v = only(check(ORDER, limit(side="SELL", price="400000")), "PERCENT_PRICE_BY_SIDE")
    assert v.suggestion == "300000.00"


def test_the_price_band_is_skipped_without_a_last_price_and_for_stop_market_orders():
    """No last price: no band check. A STOP_LOSS has no limit price to band."""
    assert check(ORDER, limit(price="100", quantity="1"), last=None) == []
    assert check(ORDER, {"side": "SELL", "type": "STOP_LOSS", "quantity": "1", "stopPrice": "100"}) == []


def test_the_plain_percent_price_filter_is_checked_too():
    """PERCENT_PRICE multiplierUp 1.1 / multiplierDown 0.9 around 60000: 70000 is refused, 66000.00 suggested."""
    plain = {"filterType": "PERCENT_PRICE", "multiplierUp": "1.1", "multiplierDown": "0.9", "avgPriceMins": 5}
    v = only(check(ORDER, limit(price="70000"), info_with(PERCENT_PRICE_BY_SIDE=plain)), "PERCENT_PRICE")
    assert v.suggestion == "66000.00"


# --- ICEBERG_PARTS ---


def test_too_many_iceberg_parts_suggests_the_smallest_iceberg_quantity():
    """quantity 1 / icebergQty 0.001 = 1000 parts > 100: smallest icebergQty is 0.01000."""
    v = only(check(ORDER, limit(quantity="1", price="60000", icebergQty="0.001")), "ICEBERG_PARTS")
    assert (v.param, v.suggestion) == ("icebergQty", "0.01000")
    assert "makes 1000 parts, above the ICEBERG_PARTS limit 100" in v.message


def test_iceberg_parts_at_the_limit_pass_and_parts_round_up():
    """1 / 0.01 = 100 parts passes; 1 / 0.00999 = 100.1 rounds up to 101 parts and fails."""
    assert check(ORDER, limit(quantity="1", icebergQty="0.01")) == []
    assert "makes 101 parts" in only(check(ORDER, limit(quantity="1", icebergQty="0.00999")), "ICEBERG_PARTS").message


# --- MAX_NUM_ORDERS ---


def test_max_num_orders_is_left_to_binance():
    """MAX_NUM_ORDERS needs the open orders, which the server does not read (Binance enforces it): an order list
    on a symbol with maxNumOrders 1 passes validation, whatever it adds."""
    tight = copy.deepcopy(BTCUSDT)
    for f in tight["filters"]:
        if f["filterType"] == "MAX_NUM_ORDERS":
            f["maxNumOrders"] = 1
    assert check(ORDER, limit(), tight) == []
    assert "MAX_NUM_ORDERS" not in rules(check(OCO, oco("SELL", "61000", "59000"), tight))
    pair = otoco(("LIMIT_MAKER", "Price", "62000"), ("STOP_LOSS", "StopPrice", "58000"))
    assert check(OTOCO, pair, tight) == []


# --- OCO_PRICES ---


def test_a_sell_oco_needs_limit_above_last_above_stop():
    """SELL: price > last > stopPrice; a limit price under the last price is refused with the numbers."""
    assert check(OCO, oco("SELL", "61000", "59000")) == []
    v = only(check(OCO, oco("SELL", "59500", "59000")), "OCO_PRICES")
    assert (v.leg, v.param) == ("limit leg", "price")
    assert v.message == (
        "a SELL OCO needs price > last price > stopPrice, but price 59500 is not above the last price 60000"
    )
    v = only(check(OCO, oco("SELL", "61000", "60000")), "OCO_PRICES")
    assert (v.leg, v.param) == ("stop leg", "stopPrice")


def test_a_buy_oco_needs_limit_below_last_below_stop():
    """BUY: price < last < stopPrice; the reverse order is refused."""
    assert check(OCO, oco("BUY", "59000", "61000")) == []
    v = only(check(OCO, oco("BUY", "61000", "59000")), "OCO_PRICES")
    assert "a BUY OCO needs price < last price < stopPrice" in v.message
    assert "price 61000 is not below stopPrice 59000" in v.message


def test_without_a_last_price_only_the_limit_and_stop_order_is_checked():
    """last None: SELL price 59500 > stopPrice 59000 passes; price 58000 under stopPrice 59000 still fails."""
    assert check(OCO, oco("SELL", "59500", "59000"), last=None) == []
    assert rules(check(OCO, oco("SELL", "58000", "59000"), last=None)) == {"OCO_PRICES"}


def test_an_oco_stop_limit_price_requires_its_time_in_force():
    """stopLimitPrice without stopLimitTimeInForce is refused as MANDATORY."""
    v = only(check(OCO, oco("SELL", "61000", "59000", stopLimitPrice="58900")), "MANDATORY")
    assert (v.leg, v.param) == ("stop leg", "stopLimitTimeInForce")
    assert check(OCO, oco("SELL", "61000", "59000", stopLimitPrice="58900", stopLimitTimeInForce="GTC")) == []


def test_the_otoco_pending_pair_obeys_the_oco_price_rule_around_the_working_price():
    """The pair is placed when the working order fills: SELL needs pendingAbovePrice > workingPrice >
    pendingBelowStopPrice (here 59000), whatever the last price is now; a BUY pair the mirror."""
    take_profit = otoco(("LIMIT_MAKER", "Price", "59500"), ("STOP_LOSS", "StopPrice", "58000"))
    assert check(OTOCO, take_profit) == []  # below today's last (60000) but above the fill price: valid
    bad = otoco(("LIMIT_MAKER", "Price", "58500"), ("STOP_LOSS", "StopPrice", "58000"))
    v = only(check(OTOCO, bad), "OCO_PRICES")
    assert (v.leg, v.param) == ("pending above", "pendingAbovePrice")
    assert "pendingAbovePrice > workingPrice > pendingBelowStopPrice" in v.message
    buy = otoco(("STOP_LOSS", "StopPrice", "61000"), ("LIMIT_MAKER", "Price", "58000"), side="BUY")
    assert check(OTOCO, buy) == []
    buy_bad = otoco(("STOP_LOSS", "StopPrice", "58900"), ("LIMIT_MAKER", "Price", "58000"), side="BUY")
    assert only(check(OTOCO, buy_bad), "OCO_PRICES").param == "pendingAboveStopPrice"


def test_an_otoco_pending_pair_with_the_wrong_types_is_an_order_type_violation():
    """For a SELL pair the above leg must be LIMIT_MAKER and the below leg STOP_LOSS(_LIMIT)."""
    wrong = otoco(("STOP_LOSS", "StopPrice", "62000"), ("LIMIT_MAKER", "Price", "58000"))
    v = only(check(OTOCO, wrong), "ORDER_TYPE")
    assert v.param == "pendingAboveType" and "must be LIMIT_MAKER" in v.message


# --- ORDER_TYPE ---


def test_an_order_type_the_symbol_does_not_list_is_refused():
    """TAKE_PROFIT missing from orderTypes: ORDER_TYPE with the allowed list."""
    info = copy.deepcopy(BTCUSDT)
    info["orderTypes"] = ["LIMIT", "MARKET"]
    v = only(
        check(ORDER, {"side": "BUY", "type": "TAKE_PROFIT", "quantity": "1", "stopPrice": "61000"}, info), "ORDER_TYPE"
    )
    assert (v.param, "allowed: LIMIT, MARKET" in v.message) == ("type", True)
    assert rules(check(ORDER, {"side": "BUY", "type": "BOGUS", "quantity": "1"})) == {"ORDER_TYPE"}


def test_symbol_flags_refuse_quote_market_iceberg_oco_oto_and_trailing_orders():
    """quoteOrderQtyMarketAllowed, icebergAllowed, ocoAllowed, otoAllowed and allowTrailingStop false."""
    info = copy.deepcopy(BTCUSDT)
    info |= {"quoteOrderQtyMarketAllowed": False, "icebergAllowed": False, "ocoAllowed": False, "otoAllowed": False}
    quote = only(check(ORDER, {"side": "BUY", "type": "MARKET", "quoteOrderQty": "100"}, info), "ORDER_TYPE")
    assert quote.param == "quoteOrderQty"
    assert only(check(ORDER, limit(quantity="0.01", icebergQty="0.001"), info), "ORDER_TYPE").param == "icebergQty"
    assert "ocoAllowed is false" in only(check(OCO, oco("SELL", "61000", "59000"), info), "ORDER_TYPE").message
    pair = otoco(("LIMIT_MAKER", "Price", "62000"), ("STOP_LOSS", "StopPrice", "58000"))
    assert "otoAllowed is false" in only(check(OTOCO, pair, info), "ORDER_TYPE").message
    trailing = {"side": "SELL", "type": "STOP_LOSS", "quantity": "1", "trailingDelta": "100"}
    assert only(check(ORDER, trailing), "ORDER_TYPE").param == "trailingDelta"


def test_an_oto_working_order_must_be_limit_or_limit_maker():
    """workingType MARKET is refused for the working order."""
    oto = {"workingType": "MARKET", "workingSide": "BUY", "workingQuantity": "0.001", "workingPrice": "59000"}
    oto |= {"pendingType": "LIMIT_MAKER", "pendingSide": "SELL", "pendingQuantity": "0.001", "pendingPrice": "62000"}
    v = only(check(OTO, oto), "ORDER_TYPE")
    assert (v.leg, v.param) == ("working order", "workingType")


# --- MANDATORY ---


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"side": "BUY", "type": "LIMIT", "quantity": "1", "price": "60000"}, "timeInForce"),
        ({"side": "BUY", "type": "LIMIT_MAKER", "quantity": "1"}, "price"),
        ({"side": "BUY", "type": "STOP_LOSS", "quantity": "1"}, "stopPrice"),
        (
            {"side": "BUY", "type": "TAKE_PROFIT_LIMIT", "quantity": "1", "stopPrice": "61000", "price": "61000"},
            "timeInForce",
        ),
        ({"side": "BUY", "type": "MARKET"}, "quantity"),
        ({"side": "BUY", "type": "MARKET", "quantity": "0.1", "quoteOrderQty": "100"}, "quantity"),
        ({"type": "MARKET", "quantity": "0.1"}, "side"),
        ({"side": "BUY", "quantity": "0.1"}, "type"),
        (limit(timeInForce="IOC", quantity="0.01", icebergQty="0.001"), "timeInForce"),
    ],
)
def test_mandatory_parameters_by_order_type_are_enforced(params, param):
    """Each order type's required fields, MARKET's exactly-one quantity, and iceberg's GTC rule."""
    v = only(check(ORDER, params), "MANDATORY")
    assert v.param == param


def test_an_iceberg_with_a_non_gtc_time_in_force_suggests_gtc():
    """icebergQty requires timeInForce GTC; the suggestion is GTC."""
    v = only(check(ORDER, limit(timeInForce="FOK", quantity="0.01", icebergQty="0.001")), "MANDATORY")
    assert v.suggestion == "GTC" and "icebergQty requires timeInForce GTC, not FOK" in v.message


def test_a_trailing_delta_stands_in_for_the_stop_price_when_trailing_stops_are_allowed():
    """STOP_LOSS with trailingDelta and no stopPrice passes on a symbol that allows trailing stops."""
    info = copy.deepcopy(BTCUSDT) | {"allowTrailingStop": True}
    assert check(ORDER, {"side": "SELL", "type": "STOP_LOSS", "quantity": "1", "trailingDelta": "100"}, info) == []


def test_oto_legs_need_their_own_time_in_force_price_and_stop():
    """workingType LIMIT needs workingTimeInForce; pendingType LIMIT needs pendingPrice and pendingTimeInForce."""
    oto = {"workingType": "LIMIT", "workingSide": "BUY", "workingPrice": "59000", "workingQuantity": "0.001"}
    oto |= {"pendingType": "LIMIT", "pendingSide": "SELL", "pendingQuantity": "0.001"}
    found = check(OTO, oto)
    assert {(v.leg, v.param) for v in found if v.rule == "MANDATORY"} == {
        ("working order", "workingTimeInForce"),
        ("pending order", "pendingPrice"),
        ("pending order", "pendingTimeInForce"),
    }
    stop = oto | {"workingTimeInForce": "GTC", "pendingType": "STOP_LOSS_LIMIT", "pendingPrice": "58000"}
    found = check(OTO, stop | {"pendingTimeInForce": "GTC"})
    assert [v.param for v in found] == ["pendingStopPrice"]
    assert "pendingStopPrice (or pendingTrailingDelta) is required" in found[0].message


@pytest.mark.parametrize("bad", ["1e5", "-1", "0", "0.000", "abc", "", " 1", "1.", ".5", "1" * 21, "0." + "1" * 21])
def test_malformed_decimals_are_refused_before_any_filter(bad):
    """Anything but a plain positive decimal of at most 20+20 digits is refused as MANDATORY."""
    found = check(ORDER, limit(quantity=bad))
    assert [(v.param, v.rule) for v in found] == [("quantity", "MANDATORY")]
    assert "plain decimal above 0" in found[0].message


@pytest.mark.parametrize(
    "value", ["0.00000000000000000001", "99999999999999999999", "99999999999999999999.99999999999999999999"]
)
@pytest.mark.parametrize("param", ["quantity", "price", "icebergQty"])
def test_huge_and_tiny_decimals_give_violations_not_exceptions(value, param):
    """Extreme wire values are compared exactly and refused by a rule."""
    found = check(ORDER, limit(**{param: value}))
    assert found and all(isinstance(v, Violation) for v in found)
    assert not [v for v in found if re.search(r"\d[eE][+-]?\d", v.message)]  # never exponent notation


def test_a_shared_oco_quantity_problem_is_reported_once():
    """Both OCO legs carry quantity; a LOT_SIZE problem on it appears once."""
    found = check(OCO, oco("SELL", "61000", "59000") | {"quantity": "0.0012345"})
    assert [(v.rule, v.param, v.suggestion) for v in found] == [("LOT_SIZE", "quantity", "0.00123")]


def test_unknown_filters_are_ignored():
    """A filter type this module does not know never refuses an order."""
    info = copy.deepcopy(BTCUSDT)
    info["filters"].append({"filterType": "SOMETHING_NEW", "limit": 0})
    assert check(ORDER, limit(), info) == []


# --- legs and formatting ---


def test_order_legs_names_every_value_after_its_wire_parameter():
    """An OTOCO splits into working/pending above/pending below legs with their wire names."""
    legs = order_legs(OTOCO, otoco(("LIMIT_MAKER", "Price", "62000"), ("STOP_LOSS", "StopPrice", "58000")))
    assert [leg.label for leg in legs] == ["working order", "pending above", "pending below"]
    assert legs[1].price == Decimal("62000") and legs[1].names["price"] == "pendingAbovePrice"
    assert legs[2].stopPrice == Decimal("58000") and legs[2].name("stopPrice") == "pendingBelowStopPrice"
    assert legs[2].quantity == Decimal("0.001") and legs[2].name("quantity") == "pendingQuantity"
    oco_legs = order_legs(OCO, oco("BUY", "59000", "61000", stopLimitPrice="61100", limitIcebergQty="0.0001"))
    assert [(leg.label, leg.type) for leg in oco_legs] == [
        ("limit leg", "LIMIT_MAKER"),
        ("stop leg", "STOP_LOSS_LIMIT"),
    ]
    assert oco_legs[0].name("icebergQty") == "limitIcebergQty" and oco_legs[1].name("price") == "stopLimitPrice"
    with pytest.raises(ValueError):
        order_legs(CATALOG["get_cross_margin_account"], {})


def test_format_violations_reads_as_a_refusal_with_one_line_per_rule():
    """The text starts with the refusal header and lists leg, parameter, rule and message."""
    text = format_violations(check(ORDER, limit(quantity="0.123456", price="60000.005")))
    lines = text.splitlines()
    assert lines[0] == "Order refused before sending:"
    assert lines[1].startswith("- order, price [PRICE_FILTER]: price 60000.005 is not a multiple of tickSize 0.01")
    assert lines[2].endswith("rounded down to a valid value: 0.12345")
    assert format_violations([]) == ""


# --- property ---

DECIMAL_TEXT = st.builds(
    lambda whole, frac: whole + ("." + frac if frac else ""),
    st.text("0123456789", min_size=1, max_size=20),
    st.one_of(st.just(""), st.text("0123456789", min_size=1, max_size=20)),
)
SIDE = st.sampled_from(["BUY", "SELL"])
TYPE = st.sampled_from(BTCUSDT["orderTypes"])
TIF = st.sampled_from(["GTC", "IOC", "FOK"])


@st.composite
def requests(draw: st.DrawFn) -> tuple[Endpoint, dict[str, str]]:
    """A create tool and wire params: random decimals for every decimal parameter, some left out."""
    tool = draw(st.sampled_from([ORDER, OCO, OTO, OTOCO]))
    decimals = {
        ORDER: ["quantity", "quoteOrderQty", "price", "stopPrice", "icebergQty"],
        OCO: ["quantity", "price", "stopPrice", "stopLimitPrice", "limitIcebergQty", "stopIcebergQty"],
        OTO: ["workingPrice", "workingQuantity", "workingIcebergQty", "pendingQuantity", "pendingPrice"],
        OTOCO: ["workingPrice", "workingQuantity", "pendingQuantity", "pendingAbovePrice", "pendingBelowStopPrice"],
    }[tool]
    params = {name: draw(DECIMAL_TEXT) for name in decimals if draw(st.booleans())}
    strings = {
        ORDER: {"side": SIDE, "type": TYPE, "timeInForce": TIF},
        OCO: {"side": SIDE, "stopLimitTimeInForce": TIF},
        OTO: {"workingSide": SIDE, "workingType": TYPE, "pendingSide": SIDE, "pendingType": TYPE},
        OTOCO: {"workingSide": SIDE, "workingType": TYPE, "pendingSide": SIDE},
    }[tool]
    params |= {name: draw(strategy) for name, strategy in strings.items() if draw(st.booleans())}
    if tool == OTOCO:
        params |= {"pendingAboveType": "LIMIT_MAKER", "pendingBelowType": "STOP_LOSS"}
    return tool, params


FILTER_VALUE = st.one_of(st.sampled_from(["0", "0.00000000", "0.00001", "0.01", "0.2", "1", "5", "100"]), DECIMAL_TEXT)


@st.composite
def symbols(draw: st.DrawFn) -> dict[str, Any]:
    """BTCUSDT with random filter values (0 included, so bounds get disabled) in some fields."""
    info = copy.deepcopy(BTCUSDT)
    for f in info["filters"]:
        for key in [
            k for k, value in f.items() if k not in ("filterType", "avgPriceMins") and not isinstance(value, bool)
        ]:
            f[key] = draw(FILTER_VALUE) if draw(st.booleans()) else f[key]
    return info


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    requests(),
    st.one_of(st.none(), DECIMAL_TEXT.map(Decimal)),
    st.one_of(st.just(BTCUSDT), symbols()),
)
def test_validation_never_raises_and_every_suggestion_passes_its_own_rule(request, last, info):
    """For random wire decimals, validate_order returns violations; feeding a suggestion back clears that rule."""
    tool, params = request
    found = validate_order(tool, params, info, last)
    for v in found:
        if v.suggestion is None:
            continue
        assert v.suggestion == "GTC" or WIRE_DECIMAL.match(v.suggestion), v
        again = validate_order(tool, params | {v.param: v.suggestion}, info, last)
        assert not [w for w in again if (w.leg, w.param, w.rule) == (v.leg, v.param, v.rule)], (v, again)
