"""Risk and keys on the paper exchange: margin calls, liquidation, liquidation loans, listen and special keys."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import helpers
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key
from helpers import USER, Clock
from helpers import asset as balance

from binance_margin_mcp.simulator.errors import SimError
from binance_margin_mcp.simulator.exchange import Exchange

MINUTE = 60_000
RESTING_SELL = {"symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01"}
RESTING_SELL["price"] = "70000"
LIQUIDATION_ROW = {
    "avgPrice",
    "executedQty",
    "orderId",
    "price",
    "qty",
    "side",
    "symbol",
    "timeInForce",
    "isIsolated",
    "updatedTime",
}
clock = helpers.clock  # shared fixture (see helpers.py); `ex` below also reports new keys


@pytest.fixture
def new_keys() -> list[tuple[str, str, str, str]]:
    return []


@pytest.fixture
def ex(clock: Clock, new_keys: list) -> Exchange:
    return Exchange(clock_ms=clock, on_new_key=lambda *args: new_keys.append(args))


def leveraged_long(ex: Exchange) -> None:
    """0.5 BTC bought with MARGIN_BUY: 0.5995 BTC held against a ~20005 USDT debt (margin level ~1.8)."""
    ex.handle(
        USER,
        "create_margin_order",
        {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.5", "sideEffectType": "MARGIN_BUY"},
    )


def test_a_price_drop_moves_the_account_into_margin_call_without_liquidating(ex: Exchange) -> None:
    """At 42000 the margin level is below marginCallBar 1.3 but above 1.1: nothing is sold."""
    leveraged_long(ex)
    assert balance(ex, "USDT")["borrowed"] == "20005.08598000"  # 0.5 BTC walks four ask levels from 60000.01
    ex.set_price("BTCUSDT", "42000")
    level = Decimal(ex.handle(USER, "get_cross_margin_account", {})["marginLevel"])
    assert Decimal("1.1") < level <= Decimal("1.3")
    assert ex.handle(USER, "get_forced_liquidation_history", {})["total"] == 0


def test_falling_to_the_liquidation_bar_sells_assets_expires_orders_and_records_it(ex: Exchange) -> None:
    """At margin level <= 1.1 open orders expire, BTC is sold into the book and the debt is repaid."""
    leveraged_long(ex)
    resting = ex.handle(USER, "create_margin_order", RESTING_SELL)
    ex.set_price("BTCUSDT", "36000")
    query = {"symbol": "BTCUSDT", "orderId": str(resting["orderId"])}
    assert ex.handle(USER, "get_margin_order", query)["status"] == "EXPIRED"
    usdt, btc = balance(ex, "USDT"), balance(ex, "BTC")
    assert (usdt["borrowed"], usdt["interest"], btc["locked"]) == ("0.00000000", "0.00000000", "0.00000000")
    assert Decimal(btc["free"]) > 0  # only what the debt needed was sold
    records = ex.handle(USER, "get_forced_liquidation_history", {})
    assert records["total"] == 1
    row = records["rows"][0]
    assert set(row) == LIQUIDATION_ROW
    assert (row["side"], row["symbol"], row["isIsolated"]) == ("SELL", "BTCUSDT", False)
    assert Decimal(row["price"]) < Decimal(row["avgPrice"]) < Decimal("36000")  # sold into the bids, level by level
    flows = {r["type"] for r in ex.handle(USER, "get_margin_capital_flow", {})}
    assert {"SELL_LIQUIDATION", "REPAY_LIQUIDATION", "LIQUIDATION_FEE"} <= flows
    assert ex.handle(USER, "get_cross_margin_account", {})["marginLevel"] == "999"
    assert ex.handle(USER, "get_liquidation_loan", {})["amount"] == "0.00000000"


def test_a_margin_call_status_and_risk_event_come_before_liquidation(ex: Exchange) -> None:
    """1.1 < level <= 1.3 is MARGIN_CALL: a MARGIN_LEVEL_STATUS_CHANGE event, nothing sold; then liquidation."""
    leveraged_long(ex)
    ex.set_price("BTCUSDT", "58000")
    assert ex.export_user(USER)["margin_status"] == "NORMAL"
    ex.set_price("BTCUSDT", "42000")
    state = ex.export_user(USER)
    event = state["risk_events"][-1]
    assert (state["margin_status"], event["e"], event["s"], event["E"]) == (
        "MARGIN_CALL",
        "MARGIN_LEVEL_STATUS_CHANGE",
        "MARGIN_CALL",
        helpers.NOW,
    )
    assert Decimal(event["l"]) == Decimal(ex.handle(USER, "get_cross_margin_account", {})["marginLevel"])
    assert ex.handle(USER, "get_forced_liquidation_history", {})["total"] == 0
    ex.set_price("BTCUSDT", "36000")
    assert [e["s"] for e in ex.export_user(USER)["risk_events"]] == [
        "NORMAL",
        "MARGIN_CALL",
        "FORCE_LIQUIDATION",
        "EXCESSIVE",
    ]
    assert ex.handle(USER, "get_forced_liquidation_history", {})["total"] == 1


def test_a_liquidation_walks_the_book_and_costs_more_than_the_trading_fee(ex: Exchange) -> None:
    """The forced sale hits several bid levels below the price and pays 2% liquidation fee besides 0.1% commission."""
    leveraged_long(ex)
    btc_before = Decimal(balance(ex, "BTC")["free"])
    ex.set_price("BTCUSDT", "36000")
    row = ex.handle(USER, "get_forced_liquidation_history", {})["rows"][0]
    sold, average = Decimal(row["executedQty"]), Decimal(row["avgPrice"])
    assert average < Decimal("35999.99") and Decimal(row["price"]) < average  # more than one level
    flows = ex.handle(USER, "get_margin_capital_flow", {"type": "LIQUIDATION_FEE"})
    fee = sum(Decimal(f["amount"]) for f in flows)
    commission = sum(
        Decimal(f["amount"])
        for f in ex.handle(USER, "get_margin_capital_flow", {"type": "TRADING_COMMISSION"})
        if f["asset"] == "USDT"
    )
    assert fee == (sold * average * Decimal("0.02")).quantize(Decimal("0.00000001"))
    assert fee > 10 * commission > 0
    # what is left is less than a sale at exactly 36000 with only the trading fee would have left
    debt = Decimal("20005.08598000")
    naive_sold = debt / (Decimal(36000) * Decimal("0.999"))
    assert Decimal(balance(ex, "BTC")["free"]) < btc_before - naive_sold


def test_a_gap_past_bankruptcy_leaves_a_usdc_liquidation_loan_that_can_be_repaid(ex: Exchange) -> None:
    """Selling everything at 30000 cannot cover the debt: the shortfall becomes a USDC liquidation loan."""
    leveraged_long(ex)
    ex.set_price("BTCUSDT", "30000")
    loan = ex.handle(USER, "get_liquidation_loan", {})
    assert loan["asset"] == "USDC" and Decimal(loan["amount"]) > Decimal("2000")
    assert loan["remainingAmount"] == loan["amount"] and loan["repaidAmount"] == "0.00000000"
    assert balance(ex, "USDT")["borrowed"] == "0.00000000" and balance(ex, "BTC")["free"] == "0.00000000"
    ex.deposit(USER, "USDC", "100")
    paid = ex.handle(USER, "repay_liquidation_loan", {"asset": "USDC", "amount": "100"})
    assert (paid["asset"], paid["amount"], paid["status"]) == ("USDC", "100.00000000", "SUCCESS")
    assert ex.handle(USER, "get_liquidation_loan", {})["repaidAmount"] == "100.00000000"
    history = ex.handle(USER, "get_liquidation_loan_repay_history", {})
    assert history["total"] == 1 and history["rows"][0]["repayId"] == paid["repayId"]
    with pytest.raises(SimError) as info:
        ex.handle(USER, "repay_liquidation_loan", {"asset": "USDC", "amount": "1"})
    assert info.value.code == -3041


def test_an_isolated_pair_is_liquidated_on_its_own(ex: Exchange) -> None:
    """An isolated long below its tier's liquidation ratio is liquidated; cross margin is untouched."""
    ex.deposit(USER, "USDT", "1000", "BTCUSDT")
    ex.handle(
        USER,
        "create_margin_order",
        {
            "symbol": "BTCUSDT",
            "isIsolated": "TRUE",
            "side": "BUY",
            "type": "MARKET",
            "quantity": "0.15",
            "sideEffectType": "MARGIN_BUY",
        },
    )
    ex.set_price("BTCUSDT", "54000")
    entry = ex.handle(USER, "get_isolated_margin_account", {"symbols": "BTCUSDT"})["assets"][0]
    assert entry["quoteAsset"]["borrowed"] == "0.00000000"
    rows = ex.handle(USER, "get_forced_liquidation_history", {"isolatedSymbol": "BTCUSDT"})["rows"]
    assert rows and rows[0]["isIsolated"] is True
    assert balance(ex, "USDT")["free"] == "10000.00000000"


def test_manual_liquidation_clears_the_debt_and_reports_each_liability(ex: Exchange) -> None:
    """trigger_manual_liquidation sells what is needed and lists asset, interest, principal, what was used."""
    ex.handle(USER, "borrow_or_repay", {"asset": "ETH", "isIsolated": "FALSE", "amount": "1", "type": "BORROW"})
    ex.handle(USER, "create_margin_order", {"symbol": "ETHUSDT", "side": "SELL", "type": "MARKET", "quantity": "1"})
    rows = ex.handle(USER, "trigger_manual_liquidation", {"type": "MARGIN"})
    assert [(r["asset"], r["principal"], r["interest"], r["liabilityAsset"]) for r in rows] == [
        ("ETH", "1.00000000", "0.00000333", "USDT")
    ]
    assert balance(ex, "ETH")["borrowed"] == "0.00000000" and balance(ex, "ETH")["interest"] == "0.00000000"
    with pytest.raises(SimError) as info:
        ex.handle(USER, "trigger_manual_liquidation", {"type": "ISOLATED"})
    assert info.value.code == -1102


def test_small_debts_can_be_exchanged_into_one_usdt_debt(ex: Exchange) -> None:
    """A debt worth under 10 USDT is listed and can be moved into USDT once every 6 hours."""
    ex.handle(USER, "borrow_or_repay", {"asset": "ETH", "isIsolated": "FALSE", "amount": "0.002", "type": "BORROW"})
    listed = ex.handle(USER, "list_small_liability_exchange_assets", {})
    assert [(r["asset"], r["liabilityAsset"]) for r in listed] == [("ETH", "USDT")]
    assert ex.handle(USER, "exchange_small_liability", {"assetNames": "ETH"}) == {}
    assert balance(ex, "ETH")["borrowed"] == "0.00000000"
    assert Decimal(balance(ex, "USDT")["borrowed"]) == Decimal(listed[0]["liabilityQty"])
    history = ex.handle(USER, "list_small_liability_exchanges", {"current": "1", "size": "10"})
    assert history["total"] == 1 and history["rows"][0]["targetAsset"] == "USDT"


# --------------------------------------------------------------------------------------------
# listen keys
# --------------------------------------------------------------------------------------------


def test_a_listen_key_lives_sixty_minutes_from_its_last_keepalive(ex: Exchange, clock: Clock) -> None:
    """Asking again returns the same key; keepalive extends it; after 60 quiet minutes it is gone (-1125)."""
    key = ex.handle(USER, "start_margin_user_data_stream", {})["listenKey"]
    assert ex.handle(USER, "start_margin_user_data_stream", {})["listenKey"] == key
    clock.now += 59 * MINUTE
    assert ex.handle(USER, "keepalive_margin_user_data_stream", {"listenKey": key}) == {}
    clock.now += 59 * MINUTE
    assert ex.handle(USER, "keepalive_margin_user_data_stream", {"listenKey": key}) == {}
    clock.now += 61 * MINUTE
    with pytest.raises(SimError) as info:
        ex.handle(USER, "keepalive_margin_user_data_stream", {"listenKey": key})
    assert (info.value.code, info.value.msg) == (-1125, "This listenKey does not exist.")
    fresh = ex.handle(USER, "start_margin_user_data_stream", {})["listenKey"]
    assert fresh != key


def test_v1_and_v2_listen_keys_are_separate_and_can_be_closed(ex: Exchange) -> None:
    """v2 keys are their own; a closed key no longer accepts keepalives."""
    v1 = ex.handle(USER, "start_margin_user_data_stream", {})["listenKey"]
    v2 = ex.handle(USER, "start_margin_user_data_stream_v2", {})["listenKey"]
    assert v1 != v2
    assert ex.handle(USER, "close_margin_user_data_stream_v2", {}) == {}
    with pytest.raises(SimError):
        ex.handle(USER, "keepalive_margin_user_data_stream_v2", {"listenKey": v2})
    assert ex.handle(USER, "keepalive_margin_user_data_stream", {"listenKey": v1}) == {}


# --------------------------------------------------------------------------------------------
# special keys
# --------------------------------------------------------------------------------------------


def _pem(private: object) -> str:
    public = private.public_key()  # type: ignore[attr-defined]
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def test_creating_an_hmac_special_key_reports_its_secret_to_on_new_key(ex: Exchange, new_keys: list) -> None:
    """Without publicKey the key is HMAC: apiKey and secretKey come back and on_new_key gets the secret."""
    created = ex.handle(USER, "create_margin_special_key", {"apiName": "bot", "ip": "1.2.3.4"})
    assert created["type"] == "HMAC_SHA256" and len(created["apiKey"]) == 64 and len(created["secretKey"]) == 64
    assert new_keys == [(USER, created["apiKey"], "HMAC", created["secretKey"])]
    listed = ex.handle(USER, "list_margin_special_keys", {})
    assert listed == [
        {
            "apiName": "bot",
            "apiKey": created["apiKey"],
            "ip": "1.2.3.4",
            "type": "HMAC_SHA256",
            "permissionMode": "TRADE",
        }
    ]


def test_rsa_and_ed25519_special_keys_have_no_secret(ex: Exchange, new_keys: list) -> None:
    """A publicKey makes an RSA or Ed25519 key (detected from the key); secretKey is null."""
    rsa_pem = _pem(generate_private_key(public_exponent=65537, key_size=2048))
    ed_pem = _pem(Ed25519PrivateKey.generate())
    rsa = ex.handle(USER, "create_margin_special_key", {"apiName": "rsa", "publicKey": rsa_pem})
    ed = ex.handle(USER, "create_margin_special_key", {"apiName": "ed", "publicKey": ed_pem, "permissionMode": "READ"})
    assert (rsa["type"], rsa["secretKey"], ed["type"], ed["secretKey"]) == ("RSA", None, "Ed25519", None)
    assert [k[2:] for k in new_keys] == [("RSA", rsa_pem), ("Ed25519", ed_pem)]
    shown = ex.handle(USER, "get_margin_special_key", {"apiKey": ed["apiKey"]})
    assert (shown["apiName"], shown["permissionMode"]) == ("ed", "READ")
    with pytest.raises(SimError) as info:
        ex.handle(USER, "create_margin_special_key", {"apiName": "bad", "publicKey": "not a key"})
    assert info.value.code == -1130


def test_special_keys_can_be_edited_deleted_and_special_mode_left(ex: Exchange, new_keys: list) -> None:
    """IP edits apply, delete by apiName removes keys, exiting special key mode needs no debt."""
    ex.handle(USER, "create_margin_special_key", {"apiName": "bot"})
    ex.handle(USER, "create_margin_special_key", {"apiName": "iso", "symbol": "BTCUSDT"})
    assert ex.handle(USER, "update_margin_special_key_ip", {"ip": "10.0.0.1,10.0.0.2"}) == {}
    assert ex.handle(USER, "get_margin_special_key", {})["ip"] == "10.0.0.1,10.0.0.2"
    assert [k["apiName"] for k in ex.handle(USER, "list_margin_special_keys", {"symbol": "BTCUSDT"})] == ["iso"]
    assert ex.handle(USER, "delete_margin_special_key", {"apiName": "bot"}) == {}
    assert ex.handle(USER, "list_margin_special_keys", {}) == []
    ex.handle(USER, "create_margin_special_key", {"apiName": "again"})
    assert ex.handle(USER, "exit_margin_special_key_mode", {}) == {}
    assert ex.handle(USER, "list_margin_special_keys", {}) == []
    assert len(ex.handle(USER, "list_margin_special_keys", {"symbol": "BTCUSDT"})) == 1
    with pytest.raises(SimError):  # a 24 h cooldown follows the exit
        ex.handle(USER, "create_margin_special_key", {"apiName": "too-soon"})
    assert len(new_keys) == 3


def test_special_keys_are_registered_again_when_the_database_is_reopened(tmp_path: Path, clock: Clock) -> None:
    """A restarted server must still accept special keys made before: on_new_key is replayed on open."""
    seen: list = []
    first = Exchange(tmp_path / "keys.db", clock_ms=clock, on_new_key=lambda *args: seen.append(args))
    created = first.handle(USER, "create_margin_special_key", {"apiName": "bot"})
    first.close()
    replayed: list = []
    Exchange(tmp_path / "keys.db", clock_ms=clock, on_new_key=lambda *args: replayed.append(args))
    assert replayed == seen == [(USER, created["apiKey"], "HMAC", created["secretKey"])]


def test_a_failed_call_reports_no_new_key(ex: Exchange, new_keys: list) -> None:
    """on_new_key runs only after the call has been committed."""
    with pytest.raises(SimError):
        ex.handle(USER, "create_margin_special_key", {"apiName": "bot", "symbol": "NOPE"})
    assert new_keys == []


def test_reset_user_brings_back_the_starting_state(ex: Exchange) -> None:
    """reset_user forgets debt, orders and history; the account starts over with STARTING_BALANCES."""
    ex.handle(USER, "borrow_or_repay", {"asset": "USDT", "isIsolated": "FALSE", "amount": "100", "type": "BORROW"})
    ex.reset_user(USER)
    assert balance(ex, "USDT") == {
        "asset": "USDT",
        "borrowed": "0.00000000",
        "free": "10000.00000000",
        "interest": "0.00000000",
        "locked": "0.00000000",
        "netAsset": "10000.00000000",
    }
    assert ex.handle(USER, "get_borrow_repay_records", {"type": "BORROW"})["total"] == 0
