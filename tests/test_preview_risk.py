"""preview.risk: hand-computed fields, the text line, "unknown" when reads fail, and on the paper exchange the
estimate matches what the exchange reports after the fill and where it liquidates (within 1%)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from mcp import Client

from binance_margin_mcp.preview_risk import RiskInputs, risk_block
from binance_margin_mcp.validation import Leg
from test_dry_run import paper_client
from test_paper import ok

D = Decimal
TOLERANCE = D("0.01")


def close(estimate: Any, actual: Any) -> bool:
    estimate, actual = D(str(estimate)), D(str(actual))
    return abs(estimate - actual) <= TOLERANCE * abs(actual)


# -- hand-computed ------------------------------------------------------------------------------------------------

CROSS = {
    "userAssets": [
        {"asset": "BTC", "free": "0.1", "locked": "0", "borrowed": "0", "interest": "0"},
        {"asset": "USDT", "free": "10000", "locked": "0", "borrowed": "0", "interest": "0"},
    ]
}
BUY = Leg("order", "BUY", "MARKET", quantity=D("0.3"))
MARGIN_BUY = {"symbol": "BTCUSDT", "sideEffectType": "MARGIN_BUY"}


def test_a_margin_buy_borrows_the_shortfall_and_its_levels_are_hand_computed() -> None:
    """0.3 BTC at 60000 = 18000 USDT + 18 fee (0.1%, assumed) against 10000 USDT free: borrows 8018 USDT.
    After: assets 0.4 BTC x 60000 = 24000 USDT, debt 8018: level 24000 / 8018 = 2.9933. Liquidation at 1.1:
    0.4 P = 1.1 x 8018 -> P = 22049.5. Interest: 8018 x 0.0002 / 24 = 0.06681667 per hour."""
    inputs = RiskInputs(False, CROSS, (D("1.3"), D("1.1")), D("32000"), D("0.0002"))
    risk = risk_block(inputs, MARGIN_BUY, BUY, "BTC", "USDT", D("60000"), 1500)
    assert risk["estimatedNotional"] == {"amount": "18000", "asset": "USDT"}
    assert risk["estimatedFee"] == {"amount": "18", "asset": "USDT"}
    assert risk["impliedBorrow"] == {"asset": "USDT", "amount": "8018"}
    assert risk["maxBorrowable"] == {"asset": "USDT", "amount": "32000"}
    assert (risk["marginLevelNow"], risk["marginLevelAfter"]) == ("999 (no debt)", "2.9933")
    assert (risk["marginCallLevel"], risk["liquidationLevel"]) == ("1.3", "1.1")
    assert risk["liquidationPrice"] == {"asset": "BTC", "price": "22049.5", "quoteAsset": "USDT", "when": "at or below"}
    assert risk["hourlyInterest"] == {"amount": "0.06681667", "asset": "USDT"}
    assert risk["weight"] == 1500


def test_a_short_sale_borrows_the_base_asset_and_is_liquidated_above() -> None:
    """Sell 0.3 BTC holding 0.1: borrows 0.2 BTC. After: 10000 + 18000 - 18 = 27982 USDT, owes 0.2 BTC.
    Level at 60000: 27982 / 12000 = 2.3318; liquidation when 27982 = 1.1 x 0.2 P -> P = 127190.90909091."""
    sell = Leg("order", "SELL", "MARKET", quantity=D("0.3"))
    risk = risk_block(RiskInputs(False, CROSS, (D("1.3"), D("1.1"))), MARGIN_BUY, sell, "BTC", "USDT", D("60000"), 6)
    assert risk["impliedBorrow"] == {"asset": "BTC", "amount": "0.2"}
    assert risk["marginLevelAfter"] == "2.3318"
    assert risk["liquidationPrice"]["price"] == "127190.90909091"
    assert risk["liquidationPrice"]["when"] == "at or above"
    assert risk["hourlyInterest"] == "unknown" and risk["maxBorrowable"]["amount"] == "unknown"


def test_failed_reads_make_the_estimate_unknown_not_a_guess() -> None:
    """No account and no levels: borrow, levels and liquidation price are "unknown"; notional and fee remain."""
    risk = risk_block(RiskInputs(False), MARGIN_BUY, BUY, "BTC", "USDT", D("60000"), 1500)
    assert risk["impliedBorrow"] == {"asset": "USDT", "amount": "unknown"}
    for name in ("marginLevelNow", "marginLevelAfter", "marginCallLevel", "liquidationLevel", "liquidationPrice"):
        assert risk[name] == "unknown", name
    assert risk["estimatedNotional"] == {"amount": "18000", "asset": "USDT"}


# -- on the paper exchange ----------------------------------------------------------------------------------------


async def dry_run(client: Client, order: dict[str, Any]) -> tuple[dict[str, Any], str]:
    result = await client.call_tool("create_margin_order", {**order, "dryRun": True})
    assert not result.is_error, result.content[0].text
    return result.structured_content["preview"]["risk"], result.content[0].text


def row(rows: list[dict[str, Any]], asset: str) -> dict[str, str]:
    return next(r for r in rows if r["asset"] == asset)


async def liquidated_at(client: Client, symbol: str, price: D, isolated: bool) -> bool:
    await ok(client, "set_paper_price", {"symbol": symbol, "price": format(price, "f")})
    pair = {"isolatedSymbol": symbol} if isolated else {}
    return bool((await ok(client, "get_forced_liquidation_history", pair))["rows"])


async def check_liquidation(client: Client, risk: dict[str, Any], symbol: str, isolated: bool = False) -> None:
    """1% on the safe side: not liquidated; 1% past the estimate: liquidated."""
    where = risk["liquidationPrice"]
    price, below = D(where["price"]), where["when"] == "at or below"
    safe, past = (price * D("1.01"), price * D("0.99")) if below else (price * D("0.99"), price * D("1.01"))
    assert not await liquidated_at(client, symbol, safe, isolated)
    assert await liquidated_at(client, symbol, past, isolated)


async def test_cross_margin_buy_estimate_matches_the_paper_exchange(tmp_path: Path) -> None:
    """Long with MARGIN_BUY: the borrow and the margin level after match the account within 1%, and the exchange
    liquidates past the estimated price, not before it."""
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.3", "sideEffectType": "MARGIN_BUY"}
    async with paper_client(tmp_path) as client:
        risk, text = await dry_run(client, order)
        await ok(client, "create_margin_order", order)
        account = await ok(client, "get_cross_margin_account")
        assert close(risk["impliedBorrow"]["amount"], row(account["userAssets"], "USDT")["borrowed"])
        assert close(risk["marginLevelAfter"], account["marginLevel"])
        assert "Risk: borrows" in text and "liquidation if BTC ≤" in text
        await check_liquidation(client, risk, "BTCUSDT")


async def test_cross_short_sale_with_a_borrow_matches_the_paper_exchange(tmp_path: Path) -> None:
    """Short: SELL more BTC than held with MARGIN_BUY borrows BTC; liquidation comes when BTC rises past it."""
    order = {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.3", "sideEffectType": "MARGIN_BUY"}
    async with paper_client(tmp_path) as client:
        risk, text = await dry_run(client, order)
        await ok(client, "create_margin_order", order)
        account = await ok(client, "get_cross_margin_account")
        assert close(risk["impliedBorrow"]["amount"], row(account["userAssets"], "BTC")["borrowed"])
        assert close(risk["marginLevelAfter"], account["marginLevel"])
        assert "liquidation if BTC ≥" in text
        await check_liquidation(client, risk, "BTCUSDT")


async def test_isolated_long_estimate_matches_the_paper_exchange(tmp_path: Path) -> None:
    """Isolated BTCUSDT long on 1000 USDT of collateral: the pair's own account, its tier's liquidation ratio."""
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.05", "isIsolated": "TRUE"}
    order |= {"sideEffectType": "MARGIN_BUY"}
    async with paper_client(tmp_path) as client:
        await ok(client, "deposit_paper_funds", {"asset": "USDT", "amount": "1000", "isolated_symbol": "BTCUSDT"})
        risk, _ = await dry_run(client, order)
        await ok(client, "create_margin_order", order)
        pair = (await ok(client, "get_isolated_margin_account", {"symbols": "BTCUSDT"}))["assets"][0]
        assert close(risk["impliedBorrow"]["amount"], pair["quoteAsset"]["borrowed"])
        assert close(risk["marginLevelAfter"], pair["marginLevel"])
        assert close(risk["liquidationPrice"]["price"], pair["liquidatePrice"])
        await check_liquidation(client, risk, "BTCUSDT", isolated=True)
