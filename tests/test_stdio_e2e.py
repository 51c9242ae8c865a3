"""End to end over the real stdio wire: the installed server process, the SDK client, a loopback fake Binance."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from binance_margin_mcp.catalog import CORE
from binance_margin_mcp.local_tools import VIEW_TOOLS

from conftest import MAIN_KEY, MAIN_SECRET, Elicitor, account_block, assert_no_secret, write_tools_md

ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_stdio_server_lists_tools_reads_and_sends_a_confirmed_order_once(fake, tmp_path, mode):
    """Over stdio: all tools listed, a signed read answered, a mainnet order sent once after CONFIRM."""
    fake.respond("GET", "/sapi/v1/margin/account", {"marginLevel": "999.00000000"})
    fake.respond("POST", "/sapi/v1/margin/order", {"orderId": 42})
    with fake.serve() as base_url:
        tools_md = write_tools_md(
            tmp_path / "TOOLS.md", [account_block("main", MAIN_KEY, MAIN_SECRET, "Mainnet", base_url)]
        )
        params = StdioServerParameters(
            command=sys.executable,
            args=[
                "-m",
                "binance_margin_mcp",
                "--tools-md",
                str(tools_md),
                "--paper-state",
                ":memory:",
                "--journal",
                str(tmp_path / "journal.jsonl"),  # never the user's data directory
                "--no-browser",
            ],
            cwd=str(ROOT),
        )
        elicitor = Elicitor("accept", "CONFIRM")
        async with Client(params, mode=mode, elicitation_callback=elicitor) as client:
            tools = await client.list_tools()
            read = await client.call_tool("get_cross_margin_account", {})
            order = await client.call_tool(
                "create_margin_order",
                {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.001"},
            )
    # the core, seven hand-written tools (no paper account: no paper tools), the account views, three for discovery
    assert len(tools.tools) == len(CORE) + 10 + len(VIEW_TOOLS)
    assert read.structured_content == {"marginLevel": "999.00000000"}
    assert not order.is_error and order.structured_content == {"orderId": 42}
    assert len(elicitor.messages) == 1
    assert [r.path for r in fake.requests].count("/sapi/v1/margin/order") == 1
    assert_no_secret(str(read) + str(order) + elicitor.messages[0])
    assert (tmp_path / "journal.jsonl").read_text().count('"outcome":"sent"') == 1
