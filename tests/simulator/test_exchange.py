"""The paper exchange core: accounts, loans and interest, public routes, and coverage of every tool."""

from __future__ import annotations

import json

import helpers
import pytest
from helpers import HOUR, NOW, USER, Clock, D, asset, limit, order, rejected

from binance_margin_mcp.catalog import CATALOG
from binance_margin_mcp.simulator.errors import SimError
from binance_margin_mcp.simulator.exchange import SIMPLIFICATIONS, STARTING_BALANCES, Exchange

SYMBOL_FIELDS = (
    "baseAssetPrecision",
    "quoteAssetPrecision",
    "orderTypes",
    "ocoAllowed",
    "otoAllowed",
    "isMarginTradingAllowed",
    "defaultSelfTradePreventionMode",
    "allowedSelfTradePreventionModes",
)
clock, ex = helpers.clock, helpers.ex  # shared fixtures (see helpers.py)


# --------------------------------------------------------------------------------------------
# accounts
# --------------------------------------------------------------------------------------------


def test_a_new_account_starts_with_the_documented_balances_and_no_debt(ex: Exchange) -> None:
    """A first call creates the account with STARTING_BALANCES in cross margin and margin level 999."""
    account = ex.handle(USER, "get_cross_margin_account", {})
    assert STARTING_BALANCES == {"USDT": "10000", "BTC": "0.1"}
    assert account["marginLevel"] == "999"
    assert account["accountType"] == "MARGIN_1"
    assert account["created"] is True and account["tradeEnabled"] is True
    for field in ("transferInEnabled", "transferOutEnabled", "borrowEnabled", "TotalCollateralValueInUSDT"):
        assert field in account
    assert account["totalAssetOfBtc"] == "0.26666667"  # 0.1 BTC + 10000 USDT at 60000
    assert account["totalLiabilityOfBtc"] == "0.00000000"
    assert asset(ex, "USDT")["free"] == "10000.00000000"
    assert asset(ex, "BTC")["netAsset"] == "0.10000000"
    assert {a["asset"] for a in account["userAssets"]} >= {"BTC", "ETH", "BNB", "USDT", "USDC"}


def test_net_asset_and_margin_level_follow_the_balances_after_a_borrow(ex: Exchange) -> None:
    """netAsset = free + locked - borrowed - interest, and marginLevel = total asset / liabilities."""
    ex.handle(USER, "borrow_or_repay", {"asset": "USDT", "isIsolated": "FALSE", "amount": "1000", "type": "BORROW"})
    order(ex, **limit("BUY", "0.01", "50000"))  # locks 500 USDT
    account = ex.handle(USER, "get_cross_margin_account", {})
    for row in account["userAssets"]:
        net = D(row["free"]) + D(row["locked"]) - D(row["borrowed"]) - D(row["interest"])
        assert D(row["netAsset"]) == net
    usdt = asset(ex, "USDT")
    assert (usdt["free"], usdt["locked"], usdt["borrowed"]) == ("10500.00000000", "500.00000000", "1000.00000000")
    assert usdt["interest"] == "0.01250000"  # one hour at 0.0003/24 charged at once
    level = D(account["totalAssetOfBtc"]) / D(account["totalLiabilityOfBtc"])
    assert abs(D(account["marginLevel"]) - level) < D("0.0001")
    assert D(account["totalNetAssetOfBtc"]) == D(account["totalAssetOfBtc"]) - D(account["totalLiabilityOfBtc"])


def test_margin_level_summary_and_leverage_switch_follow_the_account_mode(ex: Exchange) -> None:
    """tradeCoeff shows the 3x bars; max leverage 10 makes the account Cross Margin Pro (MARGIN_2)."""
    assert ex.handle(USER, "get_margin_level_summary", {}) == {
        "normalBar": "1.5",
        "marginCallBar": "1.3",
        "forceLiquidationBar": "1.1",
    }
    assert ex.handle(USER, "adjust_cross_margin_max_leverage", {"maxLeverage": "10"}) == {"success": True}
    assert ex.handle(USER, "get_cross_margin_account", {})["accountType"] == "MARGIN_2"
    rejected(ex, "adjust_cross_margin_max_leverage", {"maxLeverage": "7"}, -3026)


def test_an_isolated_pair_is_funded_by_deposit_and_reported_per_symbol(ex: Exchange) -> None:
    """deposit() creates the isolated account; totals are omitted when symbols is sent."""
    ex.deposit(USER, "USDT", "500", "BTCUSDT")
    everything = ex.handle(USER, "get_isolated_margin_account", {})
    assert {"totalAssetOfBtc", "totalLiabilityOfBtc", "totalNetAssetOfBtc"} <= everything.keys()
    some = ex.handle(USER, "get_isolated_margin_account", {"symbols": "BTCUSDT"})
    assert set(some) == {"assets"}
    entry = some["assets"][0]
    assert entry["symbol"] == "BTCUSDT" and entry["isolatedCreated"] is True and entry["enabled"] is True
    assert entry["quoteAsset"]["free"] == "500.00000000"
    assert entry["baseAsset"]["asset"] == "BTC"
    assert ex.handle(USER, "get_isolated_margin_account_limit", {}) == {"enabledAccount": 1, "maxAccount": 20}
    transfers = ex.handle(USER, "get_margin_transfer_history", {"isolatedSymbol": "BTCUSDT"})["rows"]
    assert transfers[0]["type"] == "ROLL_IN" and transfers[0]["transTo"] == "ISOLATED_MARGIN"


def test_isolated_borrowing_needs_the_pair_and_stays_inside_it(ex: Exchange) -> None:
    """An isolated borrow needs symbol and an existing account, and lands in that pair only."""
    params = {"asset": "USDT", "isIsolated": "TRUE", "amount": "100", "type": "BORROW"}
    rejected(
        ex, "borrow_or_repay", params, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."
    )
    rejected(ex, "borrow_or_repay", {**params, "symbol": "BTCUSDT"}, -3003)
    ex.deposit(USER, "USDT", "500", "BTCUSDT")
    ex.handle(USER, "borrow_or_repay", {**params, "symbol": "BTCUSDT"})
    entry = ex.handle(USER, "get_isolated_margin_account", {"symbols": "BTCUSDT"})["assets"][0]
    assert entry["quoteAsset"]["borrowed"] == "100.00000000"
    assert asset(ex, "USDT")["borrowed"] == "0.00000000"
    history = ex.handle(USER, "get_margin_interest_history", {"isolatedSymbol": "BTCUSDT"})["rows"]
    assert history[0]["isolatedSymbol"] == "BTCUSDT" and "rawAsset" not in history[0]


# --------------------------------------------------------------------------------------------
# borrow, interest, repay
# --------------------------------------------------------------------------------------------


def test_a_borrow_charges_one_hour_at_once_then_one_hour_at_each_boundary(ex: Exchange, clock: Clock) -> None:
    """ON_BORROW interest immediately, then PERIODIC at 14:00, 15:00 and 16:00 (principal x daily/24)."""
    tran = ex.handle(
        USER, "borrow_or_repay", {"asset": "USDT", "isIsolated": "FALSE", "amount": "1000", "type": "BORROW"}
    )
    assert isinstance(tran["tranId"], int)
    clock.now += 3 * HOUR
    rows = ex.handle(USER, "get_margin_interest_history", {"asset": "USDT"})["rows"]
    assert [r["type"] for r in rows] == ["PERIODIC", "PERIODIC", "PERIODIC", "ON_BORROW"]
    assert all(r["interest"] == "0.01250000" and r["principal"] == "1000.00000000" for r in rows)
    assert rows[0]["interestAccuredTime"] % HOUR == 0
    assert rows[-1]["interestRate"] == "0.00030000" and rows[-1]["rawAsset"] == "USDT"
    assert asset(ex, "USDT")["interest"] == "0.05000000"
    borrows = ex.handle(USER, "get_borrow_repay_records", {"type": "BORROW"})
    assert borrows["total"] == 1 and borrows["rows"][0]["txId"] == tran["tranId"]
    assert borrows["rows"][0]["status"] == "CONFIRMED"


def test_tick_accrues_interest_without_any_request(ex: Exchange, clock: Clock) -> None:
    """Hourly interest is a time event: tick() applies it even if the account makes no call."""
    ex.handle(USER, "borrow_or_repay", {"asset": "BTC", "isIsolated": "FALSE", "amount": "0.24", "type": "BORROW"})
    clock.now += 2 * HOUR
    ex.tick()
    interest = ex.export_user(USER)["cross"]["BTC"]["interest"]
    assert D(interest) == D("0.0000015")  # 3 x 0.24 x 0.00005 / 24


def test_a_repay_pays_interest_first_then_principal(ex: Exchange, clock: Clock) -> None:
    """Repaying less than the interest leaves the principal; the rest clears both."""
    ex.handle(USER, "borrow_or_repay", {"asset": "USDT", "isIsolated": "FALSE", "amount": "1000", "type": "BORROW"})
    clock.now += HOUR  # one more hour: 0.025 interest
    repay = {"asset": "USDT", "isIsolated": "FALSE", "type": "REPAY"}
    ex.handle(USER, "borrow_or_repay", {**repay, "amount": "0.02"})
    assert (asset(ex, "USDT")["interest"], asset(ex, "USDT")["borrowed"]) == ("0.00500000", "1000.00000000")
    ex.handle(USER, "borrow_or_repay", {**repay, "amount": "500.005"})
    assert (asset(ex, "USDT")["interest"], asset(ex, "USDT")["borrowed"]) == ("0.00000000", "500.00000000")
    rows = ex.handle(USER, "get_borrow_repay_records", {"type": "REPAY"})["rows"]
    assert (rows[0]["interest"], rows[0]["principal"]) == ("0.00500000", "500.00000000")
    assert (rows[1]["interest"], rows[1]["principal"]) == ("0.02000000", "0.00000000")
    rejected(ex, "borrow_or_repay", {**repay, "amount": "500.1"}, -3015, "Repay amount exceeds borrow amount.")


def test_a_repay_needs_the_free_balance(ex: Exchange) -> None:
    """-3041 when the debt is larger than what is free in that asset."""
    ex.handle(USER, "borrow_or_repay", {"asset": "ETH", "isIsolated": "FALSE", "amount": "1", "type": "BORROW"})
    params = {"asset": "ETH", "isIsolated": "FALSE", "amount": "1.00000001", "type": "REPAY"}
    rejected(ex, "borrow_or_repay", params, -3041, "Balance is not enough")


def test_max_borrowable_is_the_leverage_limit_and_more_is_refused(ex: Exchange) -> None:
    """Classic 3x: up to 2 x net equity (16000 USDT -> 32000); one unit more gives -3006."""
    assert ex.handle(USER, "get_max_borrowable", {"asset": "USDT"}) == {
        "amount": "32000.00000000",
        "borrowLimit": "3000000.00000000",
    }
    assert ex.handle(USER, "get_max_borrowable", {"asset": "BTC"})["amount"] == "0.53333333"
    params = {"asset": "USDT", "isIsolated": "FALSE", "amount": "32000.00000001", "type": "BORROW"}
    rejected(ex, "borrow_or_repay", params, -3006, "Your borrow amount has exceed maximum borrow amount.")
    ex.handle(USER, "borrow_or_repay", {**params, "amount": "20000"})
    assert ex.handle(USER, "get_max_borrowable", {"asset": "USDT"})["amount"] == "11999.25000000"


def test_next_hourly_rates_and_rate_history_use_the_daily_rate(ex: Exchange) -> None:
    """nextHourlyInterestRate = daily / 24; the rate history lists the daily rate."""
    rates = ex.handle(USER, "get_next_hourly_interest_rates", {"assets": "USDT,BTC", "isIsolated": "FALSE"})
    assert rates == [
        {"asset": "USDT", "nextHourlyInterestRate": "0.00001250"},
        {"asset": "BTC", "nextHourlyInterestRate": "0.00000208"},
    ]
    history = ex.handle(USER, "get_margin_interest_rate_history", {"asset": "ETH"})
    assert history[0]["dailyInterestRate"] == "0.00008000" and isinstance(history[0]["timestamp"], int)


# --------------------------------------------------------------------------------------------
# public routes, the market and coverage
# --------------------------------------------------------------------------------------------


def test_exchange_info_lists_symbols_with_their_filters(ex: Exchange) -> None:
    """exchangeInfo has Binance's fields; BTCUSDT tick 0.01, step 0.00001, min notional 5."""
    info = ex.public("/api/v3/exchangeInfo", {"symbol": "BTCUSDT"})
    assert {"timezone", "serverTime", "rateLimits", "exchangeFilters", "symbols"} <= info.keys()
    (symbol,) = info["symbols"]
    assert set(SYMBOL_FIELDS) <= symbol.keys()
    filters = {f["filterType"]: f for f in symbol["filters"]}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.01000000"
    assert filters["LOT_SIZE"]["stepSize"] == "0.00001000"
    assert filters["NOTIONAL"]["minNotional"] == "5.00000000"
    assert {"MARKET_LOT_SIZE", "PERCENT_PRICE_BY_SIDE", "ICEBERG_PARTS", "MAX_NUM_ORDERS"} <= filters.keys()
    every = ex.public("/api/v3/exchangeInfo", {})
    assert {s["symbol"] for s in every["symbols"]} >= {"BTCUSDT", "ETHUSDT", "BNBUSDT", "ETHBTC"}
    assert ex.public("/api/v3/time", {}) == {"serverTime": NOW}
    assert ex.public("/api/v3/ticker/price", {"symbol": "ETHBTC"}) == {"symbol": "ETHBTC", "price": "0.05000000"}
    with pytest.raises(SimError) as info_error:
        ex.public("/api/v3/exchangeInfo", {"symbol": "NOPE"})
    assert info_error.value.code == -1121


def test_the_random_walk_is_deterministic_per_seed(clock: Clock) -> None:
    """Market(walk_seed=42) steps once a simulated minute; the same clock gives the same prices."""
    from binance_margin_mcp.simulator.market import Market

    a, b = Exchange(clock_ms=clock, market=Market(walk_seed=42)), Exchange(clock_ms=clock, market=Market(walk_seed=42))
    start = a.public("/api/v3/ticker/price", {"symbol": "BTCUSDT"})["price"]
    b.tick()
    clock.now += 30 * 60_000
    prices_a, prices_b = a.public("/api/v3/ticker/price", {}), b.public("/api/v3/ticker/price", {})
    assert prices_a == prices_b
    assert next(p["price"] for p in prices_a if p["symbol"] == "BTCUSDT") != start


def test_the_simplifications_are_listed_for_the_release_note() -> None:
    """SIMPLIFICATIONS names what the simulator does differently from Binance."""
    assert len(SIMPLIFICATIONS) >= 5 and all(isinstance(s, str) and s for s in SIMPLIFICATIONS)


_MINIMAL: dict[str, dict[str, str]] = {
    "get_cross_margin_fee_data": {"coin": "BTC"},
    "disable_isolated_margin_account": {"symbol": "BNBUSDT"},
    "enable_isolated_margin_account": {"symbol": "BNBUSDT"},
    "get_isolated_margin_fee_data": {"symbol": "BTCUSDT"},
    "adjust_cross_margin_max_leverage": {"maxLeverage": "5"},
    "get_borrow_repay_records": {"type": "BORROW"},
    "borrow_or_repay": {"asset": "USDT", "isIsolated": "FALSE", "amount": "100", "type": "BORROW"},
    "get_margin_interest_rate_history": {"asset": "BTC"},
    "get_max_borrowable": {"asset": "BTC"},
    "get_max_transferable": {"asset": "USDT"},
    "get_next_hourly_interest_rates": {"assets": "BTC", "isIsolated": "FALSE"},
    "get_margin_available_inventory": {"type": "MARGIN"},
    "get_isolated_margin_tiers": {"symbol": "BTCUSDT"},
    "get_margin_price_index": {"symbol": "BTCUSDT"},
    "get_all_margin_orders": {"symbol": "BTCUSDT"},
    "list_small_liability_exchanges": {"current": "1", "size": "10"},
    "get_margin_prevented_matches": {"symbol": "BTCUSDT"},
    "get_margin_trades": {"symbol": "BTCUSDT"},
    "cancel_all_open_margin_orders": {"symbol": "BTCUSDT"},
    "cancel_margin_order": {"symbol": "BTCUSDT", "orderId": "100001"},
    "get_margin_order": {"symbol": "BTCUSDT", "orderId": "100001"},
    "create_margin_order": {"symbol": "BTCUSDT", **limit("BUY", "0.001", "50000")},
    "create_margin_oco_order": {
        "symbol": "BTCUSDT",
        "side": "SELL",
        "quantity": "0.001",
        "price": "65000",
        "stopPrice": "55000",
    },
    "create_margin_oto_order": {
        "symbol": "BTCUSDT",
        "workingType": "LIMIT",
        "workingSide": "BUY",
        "workingPrice": "50000",
        "workingQuantity": "0.001",
        "workingTimeInForce": "GTC",
        "pendingType": "LIMIT_MAKER",
        "pendingSide": "SELL",
        "pendingQuantity": "0.001",
        "pendingPrice": "70000",
    },
    "create_margin_otoco_order": {
        "symbol": "BTCUSDT",
        "workingType": "LIMIT",
        "workingSide": "BUY",
        "workingPrice": "50000",
        "workingQuantity": "0.001",
        "workingTimeInForce": "GTC",
        "pendingSide": "SELL",
        "pendingQuantity": "0.001",
        "pendingAboveType": "LIMIT_MAKER",
        "pendingAbovePrice": "70000",
        "pendingBelowType": "STOP_LOSS",
        "pendingBelowStopPrice": "45000",
    },
    "cancel_margin_order_list": {"symbol": "BTCUSDT", "orderListId": "10003"},
    "get_margin_order_list": {"orderListId": "10001"},
    "trigger_manual_liquidation": {"type": "MARGIN"},
    "repay_liquidation_loan": {"asset": "USDC", "amount": "1"},
    "exchange_small_liability": {"assetNames": "BTC"},
    "create_margin_special_key": {"apiName": "bot"},
    "delete_margin_special_key": {"apiName": "bot"},
    "update_margin_special_key_ip": {"ip": "10.0.0.1"},
}
# state-changing tools that need something to act on run after the creators, in this order
_LATE = (
    "close_margin_user_data_stream",
    "close_margin_user_data_stream_v2",
    "update_margin_special_key_ip",
    "get_margin_special_key",
    "delete_margin_special_key",
    "cancel_margin_order",
    "cancel_margin_order_list",
    "cancel_all_open_margin_orders",
    "disable_isolated_margin_account",
    "trigger_manual_liquidation",
    "exit_margin_special_key_mode",
    "exchange_small_liability",
    "repay_liquidation_loan",
)
# business rejections that are the right answer for a fresh account
_EXPECTED_REJECTIONS = {"exchange_small_liability": -3026, "repay_liquidation_loan": -3015}


def test_every_catalog_tool_is_handled(ex: Exchange) -> None:
    """All 69 catalog tool names reach a handler: none is unknown (-1000) or crashes."""
    assert len(CATALOG) == 69
    names = sorted(
        CATALOG, key=lambda n: (n in _LATE, _LATE.index(n) if n in _LATE else 0, not n.startswith("create"), n)
    )
    for name in names:
        params = dict(_MINIMAL.get(name, {}))
        if name.startswith("keepalive"):
            start = name.replace("keepalive", "start")
            params["listenKey"] = ex.handle(USER, start, {})["listenKey"]
        try:
            json.dumps(ex.handle(USER, name, params))  # JSON-able: no Decimal, no dataclass
        except SimError as error:
            assert error.code == _EXPECTED_REJECTIONS.get(name), (name, error.code, error.msg)
    with pytest.raises(SimError) as unknown:
        ex.handle(USER, "no_such_tool", {})
    assert (unknown.value.code, unknown.value.msg) == (-1000, "An unknown error occurred while processing the request.")
