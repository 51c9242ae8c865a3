"""The account views through the real MCP client: get_margin_risk, get_positions_pnl and watch_account."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from binance_margin_mcp import risk
from binance_margin_mcp.adapter import build_mcp_server
from binance_margin_mcp.app import build_pipeline, build_service
from binance_margin_mcp.risk import Holding
from binance_margin_mcp.settings import Settings

START_MS = 1_800_000_000_000


class MsClock:
    def __init__(self) -> None:
        self.now = START_MS

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def ms_clock() -> MsClock:
    return MsClock()


@pytest.fixture
def paper(tmp_path: Path, ms_clock: MsClock):
    """An MCP client on the built-in paper account (static prices: BTCUSDT 60000, ETHUSDT 3000)."""

    @asynccontextmanager
    async def _open() -> AsyncIterator[tuple[Client, Any]]:
        settings = Settings(tools_md=tmp_path / "none" / "TOOLS.md", paper_state=":memory:")
        service = build_service(settings, clock_ms=ms_clock)
        async with Client(build_mcp_server(build_pipeline(service, settings))) as client:
            yield client, service
        service.venue.exchange.close()

    return _open


async def ok(client: Client, tool: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
    result = await client.call_tool(tool, args or {})
    assert not result.is_error, (tool, result.content[0].text)
    return result.structured_content


def market(symbol: str, side: str, quantity: str, **extra: str) -> dict[str, str]:
    return {"symbol": symbol, "side": side, "type": "MARKET", "quantity": quantity, **extra}


async def three_positions(client: Client) -> None:
    """Cross long BTC bought with a USDT borrow, cross short ETH sold with an ETH borrow, an isolated BTC long."""
    await ok(client, "create_margin_order", market("BTCUSDT", "BUY", "0.2", sideEffectType="MARGIN_BUY"))
    await ok(client, "create_margin_order", market("ETHUSDT", "SELL", "1", sideEffectType="MARGIN_BUY"))
    await ok(client, "deposit_paper_funds", {"asset": "USDT", "amount": "1000", "isolated_symbol": "BTCUSDT"})
    iso = market("BTCUSDT", "BUY", "0.03", sideEffectType="MARGIN_BUY", isIsolated="TRUE")
    await ok(client, "create_margin_order", iso)


async def test_margin_risk_shows_level_thresholds_debts_and_liquidation_prices_on_paper(paper):
    """Cross long + short and an isolated long: the level is the account's, the thresholds tradeCoeff's, every
    debt has its hourly interest, and each liquidation price equals risk.liquidation_price on the account's own
    balances (isolated: Binance's liquidatePrice too)."""
    async with paper() as (client, _):
        await three_positions(client)
        data = await ok(client, "get_margin_risk")
        account = await ok(client, "get_cross_margin_account")
    cross = data["cross"]
    assert cross["marginLevel"] == account["marginLevel"]
    assert cross["thresholds"] == {"normal": "1.5", "marginCall": "1.3", "liquidation": "1.1"}
    debts = {d["asset"]: d for d in cross["debts"]}
    assert set(debts) == {"USDT", "ETH"}
    usdt = debts["USDT"]
    assert Decimal(usdt["hourlyInterest"]) == (Decimal(usdt["borrowed"]) * Decimal("0.0003") / 24).quantize(
        Decimal("1e-8")
    )
    holdings = {
        row["asset"]: Holding(
            row["asset"],
            Decimal(row["free"]) + Decimal(row["locked"]),
            Decimal(row["borrowed"]),
            Decimal(row["interest"]),
        )
        for row in account["userAssets"]
    }
    prices = {"USDT": Decimal(1), "BTC": Decimal(60000), "ETH": Decimal(3000), "BNB": Decimal(600)}
    positions = {p["asset"]: p for p in cross["positions"]}
    for asset in ("BTC", "ETH"):
        expected = risk.liquidation_price(holdings, prices, asset, Decimal("1.1"))
        assert Decimal(positions[asset]["liquidationPrice"]) == expected.quantize(Decimal("1e-8"))
    assert Decimal(positions["BTC"]["liquidationDistancePct"]) < 0 < Decimal(positions["ETH"]["liquidationDistancePct"])
    assert Decimal(positions["BTC"]["marginCallPrice"]) > Decimal(positions["BTC"]["liquidationPrice"])
    (pair,) = data["isolated"]
    assert pair["symbol"] == "BTCUSDT" and pair["thresholds"]["liquidation"] == "1.05"
    assert abs(Decimal(pair["liquidationPrice"]) - Decimal(pair["binanceLiquidatePrice"])) < Decimal("0.01")
    assert pair["debts"][0]["asset"] == "USDT" and pair["debts"][0]["hourlyInterest"] != "unknown"


async def test_margin_risk_for_one_symbol_keeps_only_that_pair(paper):
    """symbol=BTCUSDT: the cross BTC/USDT rows and the BTCUSDT isolated pair, no ETH."""
    async with paper() as (client, _):
        await three_positions(client)
        data = await ok(client, "get_margin_risk", {"symbol": "BTCUSDT"})
    assert [p["asset"] for p in data["cross"]["positions"]] == ["BTC"]
    assert [d["asset"] for d in data["cross"]["debts"]] == ["USDT"]
    assert [p["symbol"] for p in data["isolated"]] == ["BTCUSDT"]
    assert len(json.dumps(data)) < 2048


async def test_the_account_views_are_found_by_search_tools(paper):
    """search_tools finds the hand-written views by their words (they are listed: called directly)."""
    async with paper() as (client, _):
        found = await ok(client, "search_tools", {"query": "margin risk liquidation price"})
    names = [row["name"] for row in found["results"]]
    assert "get_margin_risk" in names
