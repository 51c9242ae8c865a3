"""Audit fixes in the account views: borrowEnabled agrees with maxBorrowable at every leverage."""

from __future__ import annotations

from decimal import Decimal

import helpers
from helpers import USER

from binance_margin_mcp.simulator.exchange import Exchange

clock, ex = helpers.clock, helpers.ex


def _state(ex: Exchange) -> tuple[Decimal, bool, Decimal]:
    account = ex.handle(USER, "get_cross_margin_account", {})
    most = ex.handle(USER, "get_max_borrowable", {"asset": "USDT"})
    return Decimal(account["marginLevel"]), account["borrowEnabled"], Decimal(most["amount"])


def test_borrow_enabled_agrees_with_max_borrowable_at_5x(ex: Exchange) -> None:
    """At 5x the borrowing bar is 1.25, not 3x's 1.5: at a level of 1.4 both say yes, under 1.25 both say no."""
    ex.handle(USER, "adjust_cross_margin_max_leverage", {"maxLeverage": "5"})
    borrow = {"asset": "USDT", "isIsolated": "FALSE", "type": "BORROW"}
    ex.handle(USER, "borrow_or_repay", {**borrow, "amount": "40000"})
    level, enabled, most = _state(ex)
    assert Decimal("1.25") < level < Decimal("1.5")
    assert (enabled, most > 0) == (True, True)
    ex.handle(USER, "borrow_or_repay", {**borrow, "amount": "20000"})
    ex.set_price("BTCUSDT", "10000")
    level, enabled, most = _state(ex)
    assert level < Decimal("1.25")
    assert (enabled, most) == (False, 0)
