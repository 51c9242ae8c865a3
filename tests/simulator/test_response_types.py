"""The response-type choices where Binance's examples and the SDK's models disagree (see SIMPLIFICATIONS)."""

from __future__ import annotations

import helpers
from helpers import USER, limit, order

from binance_margin_mcp.simulator.exchange import SIMPLIFICATIONS

clock, ex = helpers.clock, helpers.ex


def test_ids_are_integers_and_amounts_decimal_strings_in_order_cancel_and_margin_buy_answers(ex):
    """A MARGIN_BUY FULL answer carries marginBuyBorrowAmount as a decimal string; a cancel's orderId is an int."""
    bought = order(ex, side="BUY", type="MARKET", quantity="0.5", sideEffectType="MARGIN_BUY", newOrderRespType="FULL")
    assert isinstance(bought["orderId"], int)
    assert isinstance(bought["marginBuyBorrowAmount"], str) and bought["marginBuyBorrowAsset"] == "USDT"
    resting = order(ex, **limit("SELL", "0.001", "90000"))
    cancelled = ex.handle(USER, "cancel_margin_order", {"symbol": "BTCUSDT", "orderId": str(resting["orderId"])})
    assert isinstance(cancelled["orderId"], int) and cancelled["orderId"] == resting["orderId"]


def test_manual_liquidation_answers_the_documented_fields_with_decimal_strings(ex):
    """A list of {asset, interest, principal, liabilityAsset, liabilityQty}; liabilityQty is a decimal string."""
    ex.handle(USER, "borrow_or_repay", {"asset": "USDT", "amount": "1000", "type": "BORROW", "isIsolated": "FALSE"})
    rows = ex.handle(USER, "trigger_manual_liquidation", {"type": "MARGIN"})
    assert rows and all(
        set(row) == {"asset", "interest", "principal", "liabilityAsset", "liabilityQty"} for row in rows
    )
    assert all(isinstance(row["liabilityQty"], str) for row in rows)


def test_the_choices_are_written_down():
    assert any("marginBuyBorrowAmount" in line and "liabilityQty" in line for line in SIMPLIFICATIONS)
