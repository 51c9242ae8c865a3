"""Refused before asking and before signing: exchange filters, operator limits, switched-off tools, tool filters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp import Client

from binance_margin_mcp.app import build_server
from binance_margin_mcp.catalog import CATALOG, TOOLSETS
from binance_margin_mcp.settings import Settings

from conftest import MAIN_KEY, MAIN_SECRET, Elicitor, account_block, write_tools_md

ORDER = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.001",
    "price": "59000",
}


def text_of(result) -> str:
    return result.content[0].text


@pytest.fixture
def paper_client(tmp_path: Path):
    def _open(**settings) -> Client:
        journal = str(tmp_path / "journal.jsonl")
        server = build_server(Settings(tools_md=tmp_path / "none.md", journal_path=journal, **settings))
        return Client(server)

    return _open


@pytest.mark.parametrize(
    ("change", "rule", "suggestion"),
    [
        ({"quantity": "0.123456"}, "LOT_SIZE", "rounded down to a valid value: 0.12345"),
        ({"price": "59000.005"}, "PRICE_FILTER", "59000.00"),
        ({"quantity": "0.00001", "price": "100"}, "NOTIONAL", None),
        ({"price": "1000"}, "PERCENT_PRICE_BY_SIDE", None),
    ],
)
async def test_filter_violations_are_refused_before_sending_with_a_correction(
    paper_client, tmp_path, change, rule, suggestion
):
    """Against the paper exchange's real exchangeInfo: the rule, the allowed values, a corrected value."""
    async with paper_client() as client:
        result = await client.call_tool("create_margin_order", {**ORDER, **change})
        orders = await client.call_tool("get_all_margin_orders", {"symbol": "BTCUSDT"})
    assert result.is_error and result.structured_content["status"] == "invalid_arguments"
    assert rule in text_of(result)
    if suggestion:
        assert suggestion in text_of(result)
    assert orders.structured_content["result"] == []  # nothing reached the exchange
    (line,) = [json.loads(x) for x in (tmp_path / "journal.jsonl").read_text().splitlines()]
    assert line["outcome"] == "refused"


LIMITS = {
    "Trading: disabled": ("create_margin_order", ORDER, "Trading"),
    "Allowed Symbols: ETHUSDT, BNBUSDT": ("create_margin_order", ORDER, "Allowed Symbols"),
    "Max Order Notional: 50 USDT": ("create_margin_order", ORDER, "Max Order Notional"),
    "Max Borrow: USDT 1000, BTC 0.05": (
        "borrow_or_repay",
        {"asset": "BTC", "isIsolated": "FALSE", "amount": "0.06", "type": "BORROW"},
        "Max Borrow",
    ),
}


@pytest.mark.parametrize("line", list(LIMITS))
async def test_operator_limits_refuse_before_the_human_is_asked(connect, fake, tmp_path, line):
    """A TOOLS.md limit refuses a mainnet transaction without asking for CONFIRM and without sending."""
    tool, args, limit = LIMITS[line]
    path = write_tools_md(tmp_path / "T.md", [account_block("main", MAIN_KEY, MAIN_SECRET, "Mainnet") + f"- {line}\n"])
    elicitor = Elicitor("accept", "CONFIRM")
    async with connect(elicitor=elicitor, path=path) as client:
        result = await client.call_tool(tool, args)
    assert result.is_error and result.structured_content["limit"] == limit
    assert "TOOLS.md" in text_of(result)  # says how to change it
    assert elicitor.messages == []
    assert [r for r in fake.requests if r.path.startswith("/sapi/")] == []


async def test_orders_within_the_limits_go_through(connect, fake, tmp_path):
    """The same limits let a compliant order pass (after CONFIRM)."""
    extra = "- Allowed Symbols: BTCUSDT\n- Max Order Notional: 100 USDT\n- Max Borrow: BTC 0.05\n"
    path = write_tools_md(tmp_path / "T.md", [account_block("main", MAIN_KEY, MAIN_SECRET, "Mainnet") + extra])
    fake.add_route("GET", "/api/v3/ticker/price")
    fake.respond("GET", "/api/v3/ticker/price", {"symbol": "BTCUSDT", "price": "58000"})
    async with connect(elicitor=Elicitor("accept", "CONFIRM"), path=path) as client:
        result = await client.call_tool("create_margin_order", ORDER)  # 0.001 x max(59000, 58000) = 59 USDT
    assert not result.is_error, text_of(result)


async def test_a_malformed_limit_refuses_instead_of_meaning_no_limit(connect, fake, tmp_path):
    """A limit that cannot be read blocks transactions rather than silently allowing everything."""
    path = write_tools_md(
        tmp_path / "T.md", [account_block("main", MAIN_KEY, MAIN_SECRET, "Testnet") + "- Max Order Notional: lots\n"]
    )
    async with connect(path=path) as client:
        result = await client.call_tool("create_margin_order", ORDER)
    assert result.is_error and "malformed" in text_of(result)


@pytest.mark.parametrize(
    ("tool", "args", "flag"),
    [
        ("create_margin_special_key", {"apiName": "bot"}, "--enable-special-key-creation"),
        ("trigger_manual_liquidation", {"type": "MARGIN"}, "--enable-manual-liquidation"),
    ],
)
async def test_special_key_creation_and_manual_liquidation_are_off_unless_enabled(paper_client, tool, args, flag):
    """Both are refused by default with the flag that enables them; enabled, they work."""
    async with paper_client() as client:
        refused = await client.call_tool(tool, args)
    assert refused.is_error and flag in text_of(refused)
    enabled = {"enable_special_key_creation": True, "enable_manual_liquidation": True}
    async with paper_client(**enabled) as client:
        allowed = await client.call_tool(tool, args)
    assert not allowed.is_error, text_of(allowed)


async def test_read_only_registers_only_read_tools(paper_client):
    """--read-only: every listed tool is read-only (execute_tool too: it can only run reads then); no transaction
    or local write is offered."""
    local = {
        "list_accounts",
        "show_account",
        "list_journal",
        "get_paper_status",
        "get_margin_risk",
        "watch_account",
        "get_positions_pnl",
        "search_tools",
        "describe_tool",
        "execute_tool",
    }
    async with paper_client(read_only=True, toolsets=TOOLSETS) as client:
        tools = (await client.list_tools()).tools
    names = {t.name for t in tools}
    assert all(t.annotations.read_only_hint for t in tools)
    assert names == {n for n, e in CATALOG.items() if e.read_only} | local


async def test_toolsets_register_only_the_chosen_groups(paper_client):
    """--toolsets market-data,borrow-repay: only those catalog groups (plus the account tools)."""
    async with paper_client(toolsets=("market-data", "borrow-repay")) as client:
        names = {t.name for t in (await client.list_tools()).tools}
    catalog_names = names & set(CATALOG)
    assert catalog_names == {n for n, e in CATALOG.items() if e.toolset in ("market-data", "borrow-repay")}
    assert "create_margin_order" not in names


async def test_max_num_orders_is_left_to_binance_and_its_refusal_says_to_cancel_first(paper_client):
    """With the symbol's maxNumOrders (200) reached, the exchange refuses the next order (-1013 "Filter failure:
    MAX_NUM_ORDERS"); the server did not count open orders itself, and the answer tells the agent to cancel."""
    async with paper_client() as client:
        refused = None
        for attempt in range(201):
            order = {**ORDER, "quantity": "0.0002", "price": str(50000 + attempt)}  # 200 x ~10 USDT fits the balance
            result = await client.call_tool("create_margin_order", order)
            if result.is_error:
                refused = result
                break
    assert refused is not None, "maxNumOrders (200) was never reached"
    assert attempt == 200 and "MAX_NUM_ORDERS" in text_of(refused)
    answer = refused.structured_content
    assert answer["status"] == "binance_error" and answer["code"] == -1013  # refused by the exchange, not here
    assert "open-order limit is reached" in answer["hint"] and "cancel_margin_order" in answer["hint"]
