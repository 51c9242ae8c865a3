"""Margin arithmetic against hand-computed cases (definitions: fact sheet §5.8, margin level = assets / debts)."""

from __future__ import annotations

from decimal import Decimal as D

from binance_margin_mcp.risk import Holding, apply_fill, hourly_interest, liquidation_price, margin_level

PRICES = {"BTC": D("60000"), "USDT": D("1")}


def test_margin_level_is_assets_over_liabilities_and_unknown_without_debt_or_price():
    """10,000 USDT + 0.1 BTC (16,000) owing 4,000 USDT: level 4; no debt or a missing price: unknown."""
    held = {"USDT": Holding("USDT", D("10000"), D("4000")), "BTC": Holding("BTC", D("0.1"))}
    assert margin_level(held, PRICES) == D(4)
    assert margin_level({"USDT": Holding("USDT", D("10"))}, PRICES) is None
    assert margin_level({"ETH": Holding("ETH", D("1"), D("0.5"))}, PRICES) is None


def test_a_margin_buy_borrows_what_the_free_quote_does_not_cover():
    """Buy 0.3 BTC at 60,000 with 10,000 USDT, fee 0.1%: needs 18,018, borrows 8,018 USDT."""
    held = {"USDT": Holding("USDT", D("10000"))}
    effect = apply_fill(
        held, side="BUY", base="BTC", quote="USDT", quantity=D("0.3"), price=D("60000"), fee_rate=D("0.001"),
        borrows=True,
    )  # fmt: skip
    assert (effect.borrow_asset, effect.borrow_amount, effect.fee) == ("USDT", D("8018.000"), D("18.000"))
    after = effect.holdings
    assert after["BTC"].total == D("0.3") and after["USDT"] == Holding("USDT", D("0.000"), D("8018.000"))
    # 18,000 of assets against 8,018 of debt.
    assert margin_level(after, PRICES) == D("18000") / D("8018")


def test_the_liquidation_price_of_a_long_and_a_short_solves_the_level_equation():
    """Long 0.3 BTC owing 8,018 USDT reaches level 1.1 at 8,018·1.1/0.3 = 29,399.33...; a short rises to it."""
    long = {"BTC": Holding("BTC", D("0.3")), "USDT": Holding("USDT", D("0"), D("8018"))}
    price = liquidation_price(long, PRICES, "BTC", D("1.1"))
    assert price == D("8018") * D("1.1") / D("0.3")
    assert margin_level(long, {**PRICES, "BTC": price}) == D("1.1")
    short = {"BTC": Holding("BTC", D("0"), D("0.1")), "USDT": Holding("USDT", D("10000"))}
    up = liquidation_price(short, PRICES, "BTC", D("1.1"))
    assert up == D("10000") / (D("1.1") * D("0.1"))  # 90,909.09...: above the price, as a short should be
    assert liquidation_price({"USDT": Holding("USDT", D("5"))}, PRICES, "BTC", D("1.1")) is None


def test_hourly_interest_is_the_daily_rate_over_24():
    assert hourly_interest(D("8018"), D("0.0003")) == D("8018") * D("0.0003") / 24
