"""Progressive discovery: search_tools -> describe_tool -> execute_tool reaches every available endpoint, and
execute_tool is the same call as the tool itself: argument checks, the human's approval, operator limits, the
journal, --read-only and --toolsets all hold."""

from __future__ import annotations

import json

import pytest

from binance_margin_mcp.catalog import CATALOG, CORE, TOOLSETS

from conftest import (
    LIMIT_ORDER,
    MODES,
    ORDER_PATH,
    TEST_KEY,
    TEST_SECRET,
    Elicitor,
    account_block,
    requests_to,
    text_of,
    write_tools_md,
)

LEVERAGE_PATH = "/sapi/v1/margin/max-leverage"
ORDER = LIMIT_ORDER


def signed_params(request) -> list[tuple[str, str]]:
    return [(name, value) for name, value in request.params() if name not in ("timestamp", "signature")]


async def execute(client, name: str, arguments: dict | str | None = None):
    return await client.call_tool("execute_tool", {"name": name, "arguments": arguments or {}})


# -- search_tools and describe_tool ---------------------------------------------------------------------------


async def test_search_ranks_by_matched_words_and_is_bounded(connect):
    """Words match names, titles and descriptions; more matched words rank first; `limit` bounds the answer."""
    async with connect() as client:
        found = await client.call_tool("search_tools", {"query": "interest history"})
        few = await client.call_tool("search_tools", {"query": "margin", "limit": 3})
        none = await client.call_tool("search_tools", {"query": "zzzz"})
    names = [row["name"] for row in found.structured_content["results"]]
    assert names[:2] == ["get_margin_interest_history", "get_margin_interest_rate_history"]
    assert len(names) <= 10 and all(row["summary"] for row in found.structured_content["results"])
    assert len(few.structured_content["results"]) == 3 and few.structured_content["more"] > 0
    assert "refine the query" in text_of(few)
    assert none.structured_content["results"] == [] and "Toolsets:" in text_of(none)


@pytest.mark.parametrize("query", ["user-data-stream", "user data stream"])
async def test_a_toolset_name_lists_that_toolset(connect, query):
    """A toolset name answers every tool of that toolset (a whole toolset fits the bound)."""
    async with connect() as client:
        found = await client.call_tool("search_tools", {"query": query})
    names = {row["name"] for row in found.structured_content["results"]}
    assert names == {name for name, entry in CATALOG.items() if entry.toolset == "user-data-stream"}
    async with connect() as client:
        trade = await client.call_tool("search_tools", {"query": "trade"})
    assert len(trade.structured_content["results"]) == sum(e.toolset == "trade" for e in CATALOG.values())


async def test_describe_tool_shows_the_schema_toolsets_all_lists(connect):
    """describe_tool's schema, description and hints are exactly what `--toolsets all` lists for that tool."""
    async with connect(toolsets=TOOLSETS) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
    async with connect() as client:
        for name in CATALOG:
            described = (await client.call_tool("describe_tool", {"name": name})).structured_content
            tool = listed[name]
            assert described["inputSchema"] == tool.input_schema, name
            assert described["description"] == tool.description
            hints = tool.annotations.model_dump(by_alias=True, exclude_none=True) if tool.annotations else {}
            assert described["annotations"] == hints
            assert described["listed"] is (name in CORE)
        unknown = await client.call_tool("describe_tool", {"name": "get_margin_tradez"})
    assert unknown.is_error and "get_margin_trades" in text_of(unknown)


# -- execute_tool is the same call --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_execute_tool_runs_an_unlisted_endpoint_exactly_like_calling_it(connect, fake, mode):
    """The same request reaches Binance and the same answer comes back, by execute_tool or by name."""
    fake.respond("GET", "/sapi/v1/margin/interestHistory", {"rows": [{"asset": "BTC", "interest": "0.1"}], "total": 1})
    args = {"asset": "BTC", "size": 5, "account": "practice"}
    async with connect(mode=mode) as client:
        assert "get_margin_interest_history" not in {t.name for t in (await client.list_tools()).tools}
        through = await execute(client, "get_margin_interest_history", args)
        direct = await client.call_tool("get_margin_interest_history", args)
    assert not through.is_error, text_of(through)
    assert through.structured_content == direct.structured_content
    assert through.structured_content["rows"][0]["interest"] == "0.1"
    first, second = requests_to(fake, "GET", "/sapi/v1/margin/interestHistory")
    assert signed_params(first) == signed_params(second) == [("asset", "BTC"), ("size", "5")]


async def test_execute_tool_accepts_its_arguments_as_json_text(connect, fake):
    """Some clients send an object argument as JSON text; it is read as the object."""
    async with connect() as client:
        result = await execute(client, "get_margin_price_index", json.dumps({"symbol": "BTCUSDT"}))
    assert not result.is_error, text_of(result)
    assert requests_to(fake, "GET", "/sapi/v1/margin/priceIndex")[0].param("symbol") == "BTCUSDT"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("arguments", "needle"),
    [
        ({"symbol": "BTCUSDT", "foo": 1}, "does not take an argument named 'foo'"),
        ({"symbol": "BTCUSDT", "recvWindow": 5000}, "Recv Window"),
        ({}, "symbol is required"),
    ],
)
async def test_execute_tool_refuses_bad_arguments_and_sends_nothing(connect, fake, mode, arguments, needle):
    """Unknown arguments, recvWindow (the server sets it) and missing required ones are refused before sending."""
    async with connect(mode=mode) as client:
        result = await execute(client, "get_margin_trades", {**arguments, "account": "practice"})
    assert result.is_error and result.structured_content["status"] == "invalid_arguments"
    assert needle in text_of(result)
    assert requests_to(fake, "GET", "/sapi/v1/margin/myTrades") == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("through_execute", [False, True])
@pytest.mark.parametrize(
    ("change", "param", "needle"),
    [
        ({"quantity": [1]}, "quantity", "quantity must be"),
        ({"symbol": 123}, "symbol", "symbol must be a string"),
        ({"type": "LIMITED"}, "type", "type must be one of"),
        ({"timeInForce": True}, "timeInForce", "timeInForce must be one of"),
        ({"account": 5}, "account", "account must be a TOOLS.md account name"),
    ],
)
async def test_a_wrong_typed_argument_is_refused_naming_it(connect, fake, mode, through_execute, change, param, needle):
    """No SDK-side model validates arguments: the server's own checks refuse a wrong type with a message naming
    the parameter, in both protocol eras, by name or through execute_tool; nothing is sent."""
    arguments = {**ORDER, "account": "practice", **change}
    async with connect(mode=mode) as client:
        if through_execute:
            result = await execute(client, "create_margin_order", arguments)
        else:
            result = await client.call_tool("create_margin_order", arguments)
    assert result.is_error, text_of(result)
    assert result.structured_content == {"status": "invalid_arguments", "message": text_of(result), "param": param}
    assert needle in text_of(result)
    assert requests_to(fake, "POST", ORDER_PATH) == []


async def test_execute_tool_refuses_a_name_it_cannot_run(connect):
    """A hand-written tool, an unknown name or no name: refused with what to do instead."""
    async with connect() as client:
        local = await execute(client, "list_accounts")
        typo = await execute(client, "get_margin_tradez")
        missing = await client.call_tool("execute_tool", {})
    assert local.is_error and "call it directly" in text_of(local)
    assert typo.is_error and "get_margin_trades" in text_of(typo)
    assert missing.is_error and "name is required" in text_of(missing)


# -- the gate, limits, journal and switches hold through execute_tool ---------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_a_mainnet_transaction_through_execute_tool_is_sent_only_after_the_typed_confirm(connect, fake, mode):
    """The human's dialog runs for execute_tool as for the tool itself (2026-07-28: input_required rounds resumed
    through execute_tool); only CONFIRM sends, once, and the journal records how it was confirmed."""
    fake.respond("POST", LEVERAGE_PATH, {"success": True})
    elicitor = Elicitor("accept", "CONFIRM")
    async with connect(mode=mode, elicitor=elicitor) as client:
        result = await execute(client, "adjust_cross_margin_max_leverage", {"maxLeverage": 5})
    assert not result.is_error, text_of(result)
    assert len(elicitor.messages) == 1 and "POST /sapi/v1/margin/max-leverage" in elicitor.messages[0]
    assert len(requests_to(fake, "POST", LEVERAGE_PATH)) == 1
    assert result.meta["confirmedBy"] == "elicitation" and result.meta["account"] == "main"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("action", ["decline", "cancel"])
async def test_a_mainnet_order_through_execute_tool_without_approval_sends_nothing(
    connect, fake, journal_path, mode, action
):
    """Declined or cancelled in the dialog: not sent, and the journal says so."""
    async with connect(mode=mode, elicitor=Elicitor(action)) as client:
        result = await execute(client, "create_margin_order", ORDER)
    assert result.is_error and result.structured_content["status"] == "not_sent"
    assert requests_to(fake, "POST", ORDER_PATH) == []
    lines = [json.loads(line) for line in journal_path.read_text().splitlines()]
    assert [(e["kind"], e["account"], e.get("outcome")) for e in lines] == [("attempt", "main", "not_sent")]


@pytest.mark.parametrize("mode", MODES)
async def test_without_a_dialog_a_mainnet_order_through_execute_tool_waits_on_the_approval_page(connect, fake, mode):
    """No elicitation: the approval page is opened and the call answers approval_pending; confirm_transaction
    sends nothing while the human has not approved on the page."""
    async with connect(mode=mode) as client:
        pending = await execute(client, "create_margin_order", ORDER)
        confirmed = await client.call_tool(
            "confirm_transaction", {"approvalId": pending.structured_content["approvalId"]}
        )
    assert pending.structured_content["status"] == "approval_pending"
    assert pending.structured_content["channel"] == "browser" and "approvalUrl" in pending.structured_content
    assert confirmed.structured_content["status"] == "approval_pending"
    assert requests_to(fake, "POST", ORDER_PATH) == []


async def test_with_no_channel_the_human_can_answer_execute_tool_refuses(connect, fake):
    """--confirm-mode elicitation and a client without the dialog: refused, nothing sent."""
    async with connect(confirm_mode="elicitation") as client:
        result = await execute(client, "create_margin_order", ORDER)
    assert result.is_error and "Not sent" in text_of(result)
    assert requests_to(fake, "POST", ORDER_PATH) == []


async def test_a_testnet_order_through_execute_tool_is_journalled_before_and_after_sending(connect, fake, journal_path):
    """Write-ahead journal: an intent line before the order goes out, its outcome after."""
    fake.respond("POST", ORDER_PATH, {"orderId": 9, "status": "NEW"})
    async with connect() as client:
        result = await execute(client, "create_margin_order", {**ORDER, "account": "practice"})
    assert not result.is_error, text_of(result)
    lines = [json.loads(line) for line in journal_path.read_text().splitlines()]
    assert [(e["kind"], e["account"], e.get("outcome")) for e in lines] == [
        ("intent", "practice", None),
        ("outcome", "practice", "sent"),
    ]
    assert lines[0]["params"]["newClientOrderId"].startswith("agent-")


async def test_operator_limits_hold_through_execute_tool(connect, fake, tmp_path):
    """`- Trading: disabled` refuses an order through execute_tool exactly as by name."""
    block = account_block("practice", TEST_KEY, TEST_SECRET, "Testnet") + "- Trading: disabled\n"
    path = write_tools_md(tmp_path / "limits.md", [block])
    async with connect(path=path) as client:
        result = await execute(client, "create_margin_order", {**ORDER, "account": "practice"})
    assert result.is_error and result.structured_content["status"] == "refused_by_operator_limit"
    assert requests_to(fake, "POST", ORDER_PATH) == []


async def test_an_endpoint_switched_off_by_the_operator_stays_off_through_execute_tool(connect, fake):
    """create_margin_special_key needs --enable-special-key-creation, through execute_tool too."""
    async with connect() as client:
        result = await execute(client, "create_margin_special_key", {"apiName": "bot", "account": "practice"})
    assert result.is_error and "--enable-special-key-creation" in text_of(result)
    assert requests_to(fake, "POST", "/sapi/v1/margin/apiKey") == []


async def test_read_only_refuses_transactions_through_execute_tool_and_search_does_not_find_them(connect, fake):
    """--read-only: a transaction is neither found, described nor run (even on Testnet); reads still work."""
    async with connect(read_only=True) as client:
        order = await execute(client, "create_margin_order", {**ORDER, "account": "practice"})
        described = await client.call_tool("describe_tool", {"name": "borrow_or_repay"})
        found = await client.call_tool("search_tools", {"query": "order cancel borrow repay create"})
        trade = await client.call_tool("search_tools", {"query": "trade"})
        read = await execute(client, "get_margin_trades", {"symbol": "BTCUSDT", "account": "practice"})
    assert order.is_error and "not available on this server" in text_of(order)
    assert described.is_error and "not available on this server" in text_of(described)
    names = {row["name"] for row in found.structured_content["results"] + trade.structured_content["results"]}
    assert names and not any(CATALOG[name].transaction or not CATALOG[name].read_only for name in names)
    assert not read.is_error, text_of(read)
    assert requests_to(fake, "POST", ORDER_PATH) == []


async def test_toolsets_restrict_execute_tool_and_search(connect, fake):
    """--toolsets market-data: endpoints of other toolsets are neither found nor run."""
    async with connect(toolsets=("market-data",)) as client:
        account = await execute(client, "get_cross_margin_account", {"account": "practice"})
        found = await client.call_tool("search_tools", {"query": "cross margin account balances"})
        price = await execute(client, "get_margin_price_index", {"symbol": "BTCUSDT"})
        listed = {tool.name for tool in (await client.list_tools()).tools}
    assert account.is_error and "not available on this server" in text_of(account)
    assert {CATALOG[row["name"]].toolset for row in found.structured_content["results"]} <= {"market-data"}
    assert not price.is_error, text_of(price)
    assert requests_to(fake, "GET", "/sapi/v1/margin/account") == []
    assert listed & set(CATALOG) == {n for n, e in CATALOG.items() if e.toolset == "market-data"}


async def test_an_unlisted_endpoint_still_answers_a_call_by_its_name(connect, fake):
    """Not listed by default, but available: a client may call it by the name search_tools gave."""
    async with connect() as client:
        result = await client.call_tool("get_margin_trades", {"symbol": "BTCUSDT", "account": "practice"})
    assert not result.is_error, text_of(result)
    assert len(requests_to(fake, "GET", "/sapi/v1/margin/myTrades")) == 1
