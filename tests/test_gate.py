"""The CONFIRM gate: nothing that changes a mainnet account is sent until the human typed CONFIRM."""

from __future__ import annotations

import json

import pytest

from binance_margin_mcp.gate import TOKEN_TTL_SECONDS

from conftest import (
    LIMIT_ORDER,
    MODES,
    ORDER_PATH,
    TEST_KEY,
    TEST_SECRET,
    Elicitor,
    account_block,
    assert_no_secret,
    requests_to,
    text_of,
    write_tools_md,
)

ORDER = {**LIMIT_ORDER, "sideEffectType": "MARGIN_BUY"}


def orders_sent(fake) -> list:
    return requests_to(fake, "POST", ORDER_PATH)


@pytest.mark.parametrize("mode", MODES)
async def test_typed_confirm_through_elicitation_sends_exactly_once(connect, fake, mode):
    """Accepting the dialog with CONFIRM sends the order once, with the previewed client id."""
    fake.respond("POST", ORDER_PATH, {"symbol": "BTCUSDT", "orderId": 1, "clientOrderId": "x"})
    elicitor = Elicitor("accept", "CONFIRM")
    async with connect(mode=mode, elicitor=elicitor) as client:
        result = await client.call_tool("create_margin_order", ORDER)
    assert not result.is_error, text_of(result)
    assert result.structured_content == {"symbol": "BTCUSDT", "orderId": 1, "clientOrderId": "x"}
    sent = orders_sent(fake)
    assert len(sent) == 1
    params = dict(sent[0].params())
    assert len(elicitor.messages) == 1
    question = elicitor.messages[0]
    # The preview names the account, endpoint, essentials, whether it borrows and every parameter as sent.
    for needle in (
        "main",
        "Mainnet",
        "POST /sapi/v1/margin/order",
        "BUY",
        "BTCUSDT",
        "0.001",
        "30000",
        "MARGIN_BUY",
        "BORROW",
        "https://api.binance.com",
        params["newClientOrderId"],
    ):
        assert needle in question, needle
    assert params["newClientOrderId"].startswith("agent-")
    assert_no_secret(question + text_of(result))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("action", "typed"),
    [("accept", "confirm"), ("accept", "CONFIRM "), ("accept", "yes"), ("decline", ""), ("cancel", "")],
)
async def test_anything_but_confirm_sends_nothing(connect, fake, mode, action, typed):
    """Declining, cancelling or typing anything other than exactly CONFIRM leaves Binance untouched."""
    async with connect(mode=mode, elicitor=Elicitor(action, typed)) as client:
        result = await client.call_tool("create_margin_order", ORDER)
    assert result.is_error
    assert "Not sent" in text_of(result)
    assert result.structured_content["status"] == "not_sent"
    if action != "accept":
        spelled = {"decline": "declined", "cancel": "cancelled"}[action]
        assert f"the user {spelled} the confirmation dialog" in text_of(result)
    assert orders_sent(fake) == []


async def test_token_mode_gives_a_preview_and_token_that_sends_once(connect, fake):
    """--confirm-mode token: nothing is sent at first; the token then sends exactly the previewed request once."""
    fake.respond("POST", ORDER_PATH, {"orderId": 7})
    async with connect(confirm_mode="token") as client:
        first = await client.call_tool("create_margin_order", ORDER)
        assert not first.is_error
        data = first.structured_content
        assert data["status"] == "approval_pending" and data["channel"] == "token"
        assert "agent itself could" in data["warning"] and "agent itself could" in text_of(first)
        assert orders_sent(fake) == []
        previewed = data["preview"]["parameters"]
        assert data["preview"]["order"]["borrows"] is True
        sent = await client.call_tool("confirm_transaction", {"approvalId": data["token"], "confirmation": "CONFIRM"})
        assert not sent.is_error, text_of(sent)
        assert sent.structured_content == {"orderId": 7}
        again = await client.call_tool("confirm_transaction", {"approvalId": data["token"], "confirmation": "CONFIRM"})
        assert again.is_error and "already used" in text_of(again)
    orders = orders_sent(fake)
    assert len(orders) == 1
    wire = dict(orders[0].params())
    assert {k: wire[k] for k in previewed} == previewed  # exactly the previewed parameters
    assert set(wire) - set(previewed) == {"timestamp", "signature"}


async def test_token_with_wrong_text_is_refused_and_stays_usable(connect, fake):
    """A confirmation other than CONFIRM is refused; the token still works for the real CONFIRM."""
    async with connect(confirm_mode="token") as client:
        token = (await client.call_tool("create_margin_order", ORDER)).structured_content["token"]
        wrong = await client.call_tool("confirm_transaction", {"approvalId": token, "confirmation": "confirm"})
        assert wrong.is_error and orders_sent(fake) == []
        right = await client.call_tool("confirm_transaction", {"approvalId": token, "confirmation": "CONFIRM"})
        assert not right.is_error
    assert len(orders_sent(fake)) == 1


async def test_expired_and_unknown_tokens_are_refused(connect, fake, clock):
    """Tokens expire after 120 seconds; unknown tokens are refused; nothing is sent."""
    async with connect(confirm_mode="token") as client:
        token = (await client.call_tool("create_margin_order", ORDER)).structured_content["token"]
        clock.now += TOKEN_TTL_SECONDS + 1
        expired = await client.call_tool("confirm_transaction", {"approvalId": token, "confirmation": "CONFIRM"})
        unknown = await client.call_tool("confirm_transaction", {"approvalId": "nope", "confirmation": "CONFIRM"})
    assert expired.is_error and "expired" in text_of(expired)
    assert unknown.is_error
    assert orders_sent(fake) == []


async def test_token_is_void_when_the_account_changes_after_the_preview(connect, fake, tools_md):
    """A token is bound to the account as previewed: a different key or host in TOOLS.md voids it."""
    async with connect(confirm_mode="token") as client:
        token = (await client.call_tool("create_margin_order", ORDER)).structured_content["token"]
        write_tools_md(tools_md, [account_block("main", "OTHERkey" * 8, "OTHERsecret" * 6, "Mainnet")])
        result = await client.call_tool("confirm_transaction", {"approvalId": token, "confirmation": "CONFIRM"})
    assert result.is_error and "changed" in text_of(result)
    assert orders_sent(fake) == []


async def test_each_preview_gets_its_own_token_and_ids(connect, fake):
    """Two previews of the same order are two requests: distinct tokens and client ids."""
    async with connect(confirm_mode="token") as client:
        a = (await client.call_tool("create_margin_order", ORDER)).structured_content
        b = (await client.call_tool("create_margin_order", ORDER)).structured_content
    assert a["token"] != b["token"]
    ids = {x["preview"]["parameters"]["newClientOrderId"] for x in (a, b)}
    assert len(ids) == 2


async def test_elicitation_only_mode_refuses_clients_that_cannot_elicit(connect, fake):
    """--confirm-mode elicitation: no token, no page; a client without any elicitation cannot send."""
    async with connect(confirm_mode="elicitation") as client:
        result = await client.call_tool("create_margin_order", ORDER)
    assert result.is_error and "Not sent" in text_of(result) and "--confirm-mode" in text_of(result)
    assert "token" not in json.dumps(result.structured_content)
    assert "approvalId" not in json.dumps(result.structured_content)
    assert orders_sent(fake) == []


@pytest.mark.parametrize("mode", MODES)
async def test_testnet_transactions_and_mainnet_reads_are_not_gated(connect, fake, mode):
    """Testnet transactions and any read go straight through: the human is never asked."""
    elicitor = Elicitor("decline")
    async with connect(mode=mode, elicitor=elicitor) as client:
        order = await client.call_tool("create_margin_order", {**ORDER, "account": "practice"})
        read = await client.call_tool("get_cross_margin_account", {})
    assert not order.is_error and not read.is_error
    assert elicitor.messages == []
    assert len(orders_sent(fake)) == 1


async def test_paper_accounts_are_never_gated(connect, fake, tmp_path):
    """Paper accounts never ask for CONFIRM (they are served by the built-in exchange)."""
    path = write_tools_md(tmp_path / "paper.md", [account_block("sim", TEST_KEY, TEST_SECRET, "Paper")])
    elicitor = Elicitor("decline")
    async with connect(elicitor=elicitor, path=path) as client:
        await client.call_tool("create_margin_order", {**ORDER, "account": "sim"})
    assert elicitor.messages == []


async def test_invalid_arguments_are_refused_before_any_question(connect, fake):
    """A malformed order is refused with the parameter named; the human is not asked, nothing is sent."""
    elicitor = Elicitor("accept", "CONFIRM")
    async with connect(elicitor=elicitor) as client:
        result = await client.call_tool("create_margin_order", {**ORDER, "quantity": "1e-3"})
    assert result.is_error and "quantity" in text_of(result)
    assert elicitor.messages == []
    assert fake.requests == []


async def test_every_transaction_attempt_is_journalled_with_how_it_was_confirmed(connect, fake, journal_path):
    """Token sends, dialog refusals and Testnet sends each leave one journal line; reads leave none; no secret."""
    import json as _json

    from conftest import ALL_SECRETS

    fake.respond("POST", ORDER_PATH, {"orderId": 77, "status": "NEW"})
    async with connect(elicitor=Elicitor("decline")) as client:
        await client.call_tool("create_margin_order", ORDER)  # declined in the dialog
        await client.call_tool("create_margin_order", {**ORDER, "account": "practice"})  # Testnet: not gated
        await client.call_tool("get_cross_margin_account", {})  # a read: not journalled
        listed = await client.call_tool("list_journal", {"limit": 10})
    lines = [_json.loads(line) for line in journal_path.read_text().splitlines()]
    assert [(e["kind"], e["account"], e["confirmedBy"], e.get("outcome")) for e in lines] == [
        ("attempt", "main", "elicitation", "not_sent"),  # nothing was sent: one line
        ("intent", "practice", "not_required", None),  # on disk before the order went out
        ("outcome", "practice", "not_required", "sent"),
    ]
    assert lines[1]["intent"] == lines[2]["intent"]
    assert lines[2]["orderId"] == 77 and lines[2]["status"] == "NEW"
    assert lines[1]["params"]["newClientOrderId"].startswith("agent-") and "signature" not in lines[1]["params"]
    listed_entries = listed.structured_content["entries"]
    assert [(e["account"], e["outcome"]) for e in listed_entries] == [("main", "not_sent"), ("practice", "sent")]
    assert listed_entries[1]["orderId"] == 77 and listed_entries[1]["intent"] == lines[1]["intent"]
    assert listed.structured_content["attention"] == []
    raw = journal_path.read_text()
    assert not any(secret in raw for secret in ALL_SECRETS)


async def test_mainnet_listen_keys_are_journalled_but_not_gated(connect, fake, journal_path):
    """Listen-key create, keepalive and close on Mainnet go straight out and each leaves a journal line."""
    import json as _json

    path = "/sapi/v1/margin/listen-key"
    fake.respond("POST", path, {"listenKey": "LK" * 30})
    fake.respond("PUT", path, {})
    fake.respond("DELETE", path, {})
    elicitor = Elicitor("decline")
    async with connect(elicitor=elicitor) as client:
        started = await client.call_tool("start_margin_user_data_stream", {})
        kept = await client.call_tool("keepalive_margin_user_data_stream", {"listenKey": "LK" * 30})
        closed = await client.call_tool("close_margin_user_data_stream", {})
    assert not (started.is_error or kept.is_error or closed.is_error)
    assert elicitor.messages == []
    lines = [_json.loads(line) for line in journal_path.read_text().splitlines() if '"kind":"outcome"' in line]
    assert [(e["endpoint"], e["environment"], e["confirmedBy"], e["outcome"]) for e in lines] == [
        ("POST " + path, "Mainnet", "not_required", "sent"),
        ("PUT " + path, "Mainnet", "not_required", "sent"),
        ("DELETE " + path, "Mainnet", "not_required", "sent"),
    ]
    assert "LK" * 30 not in journal_path.read_text()  # the listen key itself is kept masked


@pytest.mark.parametrize("mode", MODES)
async def test_a_confirmed_order_resolves_the_account_twice_and_checks_once(connect, fake, mode, monkeypatch):
    """One pipeline: the account is read once to prepare and once to re-check at send; pre-trade runs once."""
    from binance_margin_mcp.credentials import ToolsMdStore
    from binance_margin_mcp.pretrade import PreTrade

    counts = {"load": 0, "check": 0}
    load, check = ToolsMdStore.load, PreTrade.check

    def counting_load(self):
        counts["load"] += 1
        return load(self)

    async def counting_check(self, *args):
        counts["check"] += 1
        return await check(self, *args)

    monkeypatch.setattr(ToolsMdStore, "load", counting_load)
    monkeypatch.setattr(PreTrade, "check", counting_check)
    fake.respond("POST", ORDER_PATH, {"orderId": 1})
    async with connect(mode=mode, elicitor=Elicitor()) as client:
        await client.list_tools()  # listing reads TOOLS.md too (which tools exist); count the order alone
        counts.update(load=0, check=0)
        result = await client.call_tool("create_margin_order", ORDER)
    assert not result.is_error
    assert counts == {"load": 2, "check": 1}
