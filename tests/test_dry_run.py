"""dryRun: true previews a transaction (risk estimate included) and sends nothing, on every environment."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from mcp import Client

from binance_margin_mcp.adapter import build_mcp_server
from binance_margin_mcp.app import build_pipeline, build_service
from binance_margin_mcp.settings import Settings
from test_paper import asset_row, ok

from conftest import LIMIT_ORDER, START_MS, Elicitor, text_of

ORDER = {**LIMIT_ORDER, "sideEffectType": "MARGIN_BUY"}


async def test_a_mainnet_dry_run_posts_nothing_and_never_asks_the_human(connect, fake):
    """Mainnet is gated, yet a dry run only reads: no POST reaches the exchange and no dialog opens."""
    elicitor = Elicitor("accept", "CONFIRM")
    async with connect(elicitor=elicitor) as client:
        result = await client.call_tool("create_margin_order", {**ORDER, "dryRun": True})
    assert not result.is_error, text_of(result)
    assert [r for r in fake.requests if r.method != "GET"] == []
    assert elicitor.messages == []
    data = result.structured_content
    assert data["status"] == "dry_run" and data["sent"] is False
    assert data["preview"]["environment"] == "Mainnet"
    assert "dryRun" not in data["preview"]["parameters"]
    assert text_of(result).startswith("DRY RUN - NOT SENT.")


async def test_a_dry_run_is_journalled_as_a_dry_run(connect, journal_path):
    """The journal holds one attempt line with confirmedBy and outcome `dry_run`, and no intent."""
    async with connect() as client:
        result = await client.call_tool("create_margin_order", {**ORDER, "dryRun": True})
    assert not result.is_error, text_of(result)
    lines = [json.loads(line) for line in journal_path.read_text().splitlines()]
    assert [(x["kind"], x["confirmedBy"], x["outcome"]) for x in lines] == [("attempt", "dry_run", "dry_run")]


async def test_dry_run_works_through_execute_tool_and_must_be_a_boolean(connect, fake):
    """execute_tool takes dryRun like the tool itself; a non-boolean dryRun is refused, naming it."""
    async with connect() as client:
        wrapped = {"name": "create_margin_order", "arguments": {**ORDER, "dryRun": True}}
        via = await client.call_tool("execute_tool", wrapped)
        bad = await client.call_tool("create_margin_order", {**ORDER, "dryRun": "yes"})
        read = await client.call_tool("get_cross_margin_account", {"dryRun": True})
    assert not via.is_error and via.structured_content["status"] == "dry_run", text_of(via)
    assert bad.is_error and "dryRun" in text_of(bad)
    assert read.is_error and "dryRun" in text_of(read)  # reads send nothing anyway: no dryRun to take
    assert [r for r in fake.requests if r.method != "GET"] == []


@asynccontextmanager
async def paper_client(tmp_path: Path) -> AsyncIterator[Client]:
    """The built-in paper account through the MCP client, at a fixed time."""
    settings = Settings(tools_md=tmp_path / "no-accounts" / "TOOLS.md", paper_state=":memory:")
    service = build_service(settings, clock_ms=lambda: START_MS)
    async with Client(build_mcp_server(build_pipeline(service, settings))) as client:
        yield client
    service.venue.exchange.close()


async def test_a_paper_dry_run_leaves_the_exchange_unchanged(tmp_path: Path) -> None:
    """On Paper (never gated) a dry run places no order and moves no balance."""
    data: Any
    async with paper_client(tmp_path) as client:
        before = await ok(client, "get_cross_margin_account")
        market = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.5"}
        data = await ok(client, "create_margin_order", {**market, "sideEffectType": "MARGIN_BUY", "dryRun": True})
        after = await ok(client, "get_cross_margin_account")
        orders = await ok(client, "get_all_margin_orders", {"symbol": "BTCUSDT"})
    assert data["status"] == "dry_run" and data["preview"]["environment"] == "Paper"
    assert orders == []
    for asset in ("BTC", "USDT"):
        assert asset_row(after, asset) == asset_row(before, asset)
