"""What a wrong or prompt-injected agent would try against the gate, through the real MCP client.

The agent can call any tool with any arguments, replay protocol rounds and relay any text; it cannot
answer the client's dialog or operate the human's browser. None of that may send a Mainnet request.
"""

from __future__ import annotations

import asyncio
import itertools
import re

import httpx
import pytest
from mcp import Client
from mcp.types import ElicitResult, InputRequiredResult

from binance_margin_mcp.app import build_server
from binance_margin_mcp.settings import Settings

from conftest import (
    LIMIT_ORDER,
    MAIN_KEY,
    MAIN_SECRET,
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

ORDER = LIMIT_ORDER
BORROW = {"asset": "USDT", "amount": "100", "type": "BORROW", "isIsolated": "FALSE"}
BORROW_PATH = "/sapi/v1/margin/borrow-repay"


def writes(fake, path: str) -> list:
    return requests_to(fake, "POST", path)


async def approve_in_browser(
    url: str, *, decision: str = "approve", typed: str = "CONFIRM", csrf: str | None = None
) -> httpx.Response:
    """What the human's browser does: load the page, then post its form from the page's own origin."""
    origin = re.match(r"^(http://127\.0\.0\.1:\d+)", url)
    assert origin is not None, url
    async with httpx.AsyncClient() as browser:
        if csrf is None:
            csrf = page_csrf((await browser.get(url)).text)
        form = {"csrf": csrf, "decision": decision, "confirmation": typed}
        return await browser.post(url, data=form, headers={"Origin": origin.group(1)})


def page_csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, html[:500]
    return found.group(1)


@pytest.mark.parametrize(
    ("tool", "args", "path"), [("create_margin_order", ORDER, ORDER_PATH), ("borrow_or_repay", BORROW, BORROW_PATH)]
)
async def test_a_replayed_final_round_never_sends_twice(connect, fake, tool, args, path):
    """2026-07-28: replaying the confirmed round (same requestState, same answers) is refused as already used."""
    fake.respond("POST", path, {"orderId": 1, "tranId": 9})
    async with connect(mode="auto", elicitor=Elicitor()) as client:
        if tool == "create_margin_order":
            args = {**args, "newClientOrderId": "my-own-id"}
        first = await client.session.call_tool(tool, args, allow_input_required=True)
        assert isinstance(first, InputRequiredResult)
        answer = {"confirm": ElicitResult(action="accept", content={"confirmation": "CONFIRM"})}
        rounds = [
            await client.session.call_tool(
                tool, args, input_responses=answer, request_state=first.request_state, allow_input_required=True
            )
            for _ in range(3)
        ]
    assert not rounds[0].is_error, text_of(rounds[0])
    for replay in rounds[1:]:
        assert replay.is_error and "already used" in text_of(replay)
    assert len(writes(fake, path)) == 1


async def test_a_request_state_from_another_call_cannot_approve_different_arguments(connect, fake):
    """The sealed requestState of one call, echoed on a call with other arguments, sends nothing new."""
    async with connect(mode="auto", elicitor=Elicitor()) as client:
        first = await client.session.call_tool("create_margin_order", ORDER, allow_input_required=True)
        bigger = {**ORDER, "quantity": "5"}
        answer = {"confirm": ElicitResult(action="accept", content={"confirmation": "CONFIRM"})}
        try:
            result = await client.session.call_tool(
                "create_margin_order",
                bigger,
                input_responses=answer,
                request_state=first.request_state,
                allow_input_required=True,
            )
        except Exception:  # the SDK's sealed state is bound to the request: a protocol error is fine too
            result = None
    assert result is None or isinstance(result, InputRequiredResult) or result.is_error
    assert all(r.param("quantity") != "5" for r in writes(fake, ORDER_PATH))


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_the_account_swapped_while_the_dialog_is_open_is_refused(connect, fake, tools_md, mode):
    """The key behind 'main' replaced while the human reads the dialog: the CONFIRM no longer applies."""

    class SwapThenConfirm(Elicitor):
        async def __call__(self, context, params):
            write_tools_md(tools_md, [account_block("main", "OTHERkey" * 8, "OTHERsecret" * 6, "Mainnet")])
            return await super().__call__(context, params)

    fake.respond("POST", ORDER_PATH, {"orderId": 1})
    async with connect(mode=mode, elicitor=SwapThenConfirm()) as client:
        result = await client.call_tool("create_margin_order", ORDER)
    assert result.is_error and "changed since approval" in text_of(result)
    assert writes(fake, ORDER_PATH) == []


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_declined_dialog_stays_declined_when_the_account_becomes_testnet(connect, fake, tools_md, mode):
    """Declined, then 'main' switched to Testnet meanwhile: nothing is sent ('not required' never applies)."""

    class SwitchThenDecline(Elicitor):
        async def __call__(self, context, params):
            write_tools_md(tools_md, [account_block("main", TEST_KEY, TEST_SECRET, "Testnet")])
            return await super().__call__(context, params)

    async with connect(mode=mode, elicitor=SwitchThenDecline("decline")) as client:
        result = await client.call_tool("create_margin_order", ORDER)
    assert result.is_error and "final" in text_of(result)
    assert writes(fake, ORDER_PATH) == []


async def test_an_agent_that_only_relays_text_never_gets_a_mainnet_order_sent(connect, fake):
    """No dialog: every id, token and URL fragment the agent sees, with any text, sends nothing."""
    fake.respond("POST", ORDER_PATH, {"orderId": 1})
    async with connect() as client:
        seen: set[str] = set()
        for args in (ORDER, {**ORDER, "quantity": "0.002"}):
            pending = await client.call_tool("create_margin_order", args)
            data = pending.structured_content
            assert data["status"] == "approval_pending" and data["channel"] == "browser"
            seen |= {data["approvalId"], data["approvalUrl"], data["approvalUrl"].rsplit("/", 1)[-1]}
            seen |= set(re.findall(r"[A-Za-z0-9_-]{16,}", text_of(pending)))
        texts = [None, "CONFIRM", "CONFIRM 123456", "approve", "yes, CONFIRM", ""]
        for candidate, text in itertools.product(sorted(seen), texts):
            args = {"approvalId": candidate} | ({} if text is None else {"confirmation": text})
            result = await client.call_tool("confirm_transaction", args)
            assert result.is_error, text_of(result)
        # A plain GET of the page (all a fetch tool could do) decides nothing either.
        async with httpx.AsyncClient() as fetcher:
            page = await fetcher.get(data["approvalUrl"])
            assert page.status_code == 200 and "CONFIRM" in page.text
        again = await client.call_tool("confirm_transaction", {"approvalId": data["approvalId"]})
        assert again.is_error and again.structured_content["status"] == "approval_pending"
    assert writes(fake, ORDER_PATH) == []


async def test_the_approval_page_sends_exactly_once_even_under_concurrent_confirms(connect, fake):
    """The human approves on the page; five concurrent confirm calls send the order once, the rest are refused."""
    fake.respond("POST", ORDER_PATH, {"orderId": 3, "status": "NEW"})
    async with connect() as client:
        pending = (await client.call_tool("create_margin_order", ORDER)).structured_content
        assert writes(fake, ORDER_PATH) == []
        answer = await approve_in_browser(pending["approvalUrl"])
        assert answer.status_code == 200 and "Approved" in answer.text
        results = await asyncio.gather(
            *(client.call_tool("confirm_transaction", {"approvalId": pending["approvalId"]}) for _ in range(5))
        )
    sent = [r for r in results if not r.is_error]
    assert len(sent) == 1 and sent[0].structured_content["orderId"] == 3
    assert all("already used" in text_of(r) for r in results if r.is_error)
    orders = writes(fake, ORDER_PATH)
    assert len(orders) == 1
    assert orders[0].param("newClientOrderId") == pending["preview"]["parameters"]["newClientOrderId"]


async def test_a_page_rejection_is_final(connect, fake):
    """Rejected on the page: confirm_transaction refuses for good, and a later approve POST changes nothing."""
    async with connect() as client:
        pending = (await client.call_tool("create_margin_order", ORDER)).structured_content
        async with httpx.AsyncClient() as browser:
            csrf = page_csrf((await browser.get(pending["approvalUrl"])).text)
        await approve_in_browser(pending["approvalUrl"], decision="reject", csrf=csrf)
        late = await approve_in_browser(pending["approvalUrl"], csrf=csrf)  # a replayed approve POST
        result = await client.call_tool("confirm_transaction", {"approvalId": pending["approvalId"]})
    assert "Approved" not in late.text
    assert result.is_error and "final" in text_of(result)
    assert writes(fake, ORDER_PATH) == []


async def test_the_tool_call_waits_for_the_page_and_sends_when_approved(connect, fake):
    """Within --approval-wait the original call itself returns the sent order once the human approves."""
    fake.respond("POST", ORDER_PATH, {"orderId": 4})
    async with connect(approval_wait=10) as client:
        call = asyncio.create_task(client.call_tool("create_margin_order", ORDER))  # blocks until the page decides
        url = None
        for _ in range(250):
            await asyncio.sleep(0.02)
            url = _latest_page_url()
            if url is not None:
                break
        assert url is not None and not call.done()
        await approve_in_browser(url)
        result = await asyncio.wait_for(call, 10)
    assert not result.is_error and result.structured_content == {"orderId": 4}
    assert len(writes(fake, ORDER_PATH)) == 1


def _latest_page_url() -> str | None:
    """The page URL of the newest approval, read from the server side (the human's browser would be opened)."""
    gate = _PIPELINES[-1].gate if _PIPELINES else None
    if gate is None:
        return None
    approvals = list(gate._approvals.values())  # test-only peek: the human's browser gets this URL
    return _PIPELINES[-1].page.url_for(approvals[-1]) if approvals else None


_PIPELINES: list = []


@pytest.fixture(autouse=True)
def _record_pipelines(monkeypatch):
    """Remember each pipeline the app builds, so a test can play the human's browser."""
    from binance_margin_mcp import app

    original = app.build_pipeline

    def recording(*args, **kwargs):
        pipeline = original(*args, **kwargs)
        _PIPELINES.append(pipeline)
        return pipeline

    monkeypatch.setattr(app, "build_pipeline", recording)
    yield
    _PIPELINES.clear()


async def test_approvals_belong_to_the_session_that_asked(fake, tools_md, journal_path):
    """Two clients of one server: B cannot use A's approval, even after the human approved it for A."""
    fake.respond("POST", ORDER_PATH, {"orderId": 8})
    server = build_server(
        Settings(tools_md=tools_md, journal_path=str(journal_path), approval_wait=0.2), http_transport=fake.transport()
    )
    async with Client(server, mode="legacy") as a, Client(server, mode="legacy") as b:
        pending = (await a.call_tool("create_margin_order", ORDER)).structured_content
        await approve_in_browser(pending["approvalUrl"])
        stolen = await b.call_tool("confirm_transaction", {"approvalId": pending["approvalId"]})
        assert stolen.is_error and "unknown in this session" in text_of(stolen)
        assert writes(fake, ORDER_PATH) == []
        own = await a.call_tool("confirm_transaction", {"approvalId": pending["approvalId"]})
    assert not own.is_error
    assert len(writes(fake, ORDER_PATH)) == 1


async def test_the_agent_cannot_add_or_remove_mainnet_accounts_alone(connect, fake, tools_md, tmp_path):
    """Adding or removing a Mainnet account waits for the human; TOOLS.md is untouched until then."""
    creds = tmp_path / "creds.txt"
    creds.write_text(f"{'NEWkey00' * 8}\n{'NEWsecret0' * 6}abcd\n")
    creds.chmod(0o600)
    before = tools_md.read_bytes()
    async with connect() as client:
        added = await client.call_tool(
            "add_account", {"name": "live2", "environment": "Mainnet", "credentials_file": str(creds)}
        )
        removed = await client.call_tool("remove_account", {"name": "main"})
        for pending in (added, removed):
            data = pending.structured_content
            assert data["status"] == "approval_pending", text_of(pending)
            for text in (None, "CONFIRM"):
                args = {"approvalId": data["approvalId"]} | ({} if text is None else {"confirmation": text})
                assert (await client.call_tool("confirm_transaction", args)).is_error
        assert tools_md.read_bytes() == before
        assert_no_secret(text_of(added) + text_of(removed))
        assert str(creds) not in text_of(added)
        # Testnet changes need no approval.
        testnet = await client.call_tool(
            "add_account", {"name": "sandbox", "environment": "Testnet", "credentials_file": str(creds)}
        )
        assert not testnet.is_error and testnet.structured_content["status"] == "added"
        # The human approves the Mainnet addition on the page: then it is written, once.
        await approve_in_browser(added.structured_content["approvalUrl"])
        done = await client.call_tool("confirm_transaction", {"approvalId": added.structured_content["approvalId"]})
        assert not done.is_error and done.structured_content["status"] == "added"
        again = await client.call_tool("confirm_transaction", {"approvalId": added.structured_content["approvalId"]})
        assert again.is_error
    text = tools_md.read_text()
    assert "### live2" in text and "### main" in text


async def test_an_approved_account_addition_is_refused_if_the_key_file_changed(connect, tools_md, tmp_path):
    """The approval binds the key fingerprint: a different key in the file at apply time is refused."""
    creds = tmp_path / "creds.txt"
    creds.write_text(f"{'NEWkey00' * 8}\n{'NEWsecret0' * 6}abcd\n")
    creds.chmod(0o600)
    async with connect() as client:
        pending = (
            await client.call_tool(
                "add_account", {"name": "live2", "environment": "Mainnet", "credentials_file": str(creds)}
            )
        ).structured_content
        await approve_in_browser(pending["approvalUrl"])
        creds.write_text(f"{'SWAPkey0' * 8}\n{'SWAPsecret' * 6}abcd\n")
        result = await client.call_tool("confirm_transaction", {"approvalId": pending["approvalId"]})
    assert result.is_error and "changed since approval" in text_of(result)
    assert "### live2" not in tools_md.read_text()


async def test_a_cancel_preview_shows_the_order_it_cancels(connect, fake):
    """The human sees which order a cancel targets (looked up), and the host, before approving."""
    fake.respond(
        "GET",
        ORDER_PATH,
        {
            "symbol": "BTCUSDT",
            "orderId": 42,
            "side": "SELL",
            "type": "LIMIT",
            "origQty": "0.5",
            "price": "71000",
            "status": "NEW",
            "clientOrderId": "agent-abc",
        },
    )
    elicitor = Elicitor("decline")
    async with connect(elicitor=elicitor) as client:
        await client.call_tool("cancel_margin_order", {"symbol": "BTCUSDT", "orderId": 42})
    question = elicitor.messages[0]
    for needle in ("SELL", "LIMIT", "0.5", "71000", "42", "https://api.binance.com"):
        assert needle in question, needle


async def test_a_loopback_host_is_shown_as_not_binance(connect, fake, tmp_path):
    """A Mainnet account aimed at a loopback simulator says so in the preview."""
    path = write_tools_md(
        tmp_path / "loop.md", [account_block("main", MAIN_KEY, MAIN_SECRET, "Mainnet", "http://127.0.0.1:8765")]
    )
    elicitor = Elicitor("decline")
    async with connect(elicitor=elicitor, path=path) as client:
        await client.call_tool("create_margin_order", ORDER)
    assert "127.0.0.1:8765" in elicitor.messages[0] and "not a Binance host" in elicitor.messages[0]


async def test_totp_mode_sends_once_per_fresh_code_and_refuses_the_rest(connect, fake, tools_md, tmp_path):
    """--confirm-mode totp: the human's 'CONFIRM <code>' relayed by the agent sends once; a reused code does not."""
    import time

    from cryptography.hazmat.primitives.hashes import SHA1
    from cryptography.hazmat.primitives.twofactor.totp import TOTP

    from binance_margin_mcp.totp import enrol, read_secret

    enrol(tools_md, "main", tmp_path / "main.totp", {})
    code = TOTP(read_secret(tmp_path / "main.totp"), 6, SHA1(), 30).generate(time.time()).decode()
    fake.respond("POST", ORDER_PATH, {"orderId": 11})
    async with connect(confirm_mode="totp") as client:
        first = (await client.call_tool("create_margin_order", ORDER)).structured_content
        second = (await client.call_tool("create_margin_order", {**ORDER, "quantity": "0.002"})).structured_content
        assert first["status"] == "approval_pending" and first["channel"] == "totp"
        for wrong in ("CONFIRM", "CONFIRM 000000", code, f"confirm {code}"):
            refused = await client.call_tool(
                "confirm_transaction", {"approvalId": first["approvalId"], "confirmation": wrong}
            )
            assert refused.is_error
        sent = await client.call_tool(
            "confirm_transaction", {"approvalId": first["approvalId"], "confirmation": f"CONFIRM {code}"}
        )
        reused = await client.call_tool(
            "confirm_transaction", {"approvalId": second["approvalId"], "confirmation": f"CONFIRM {code}"}
        )
    assert not sent.is_error, text_of(sent)
    assert reused.is_error and "accepted once" in text_of(reused)
    assert len(writes(fake, ORDER_PATH)) == 1


async def test_totp_mode_refuses_an_account_that_is_not_enrolled(connect, fake):
    """No enrolment, no channel: refused with how to enrol; nothing is sent."""
    async with connect(confirm_mode="totp") as client:
        result = await client.call_tool("create_margin_order", ORDER)
    assert result.is_error and "totp-enroll" in text_of(result)
    assert writes(fake, ORDER_PATH) == []


async def test_over_http_session_b_cannot_use_session_a_approval(fake, tools_md, journal_path):
    """Streamable HTTP with the bearer token: an approval issued to one Mcp-Session-Id is unknown to another."""
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    from test_http_auth import TOKEN, serving

    fake.respond("POST", ORDER_PATH, {"orderId": 21})
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with serving(tools_md, "127.0.0.1", fake.transport(), journal_path=str(journal_path), approval_wait=0.2) as url:
        async with (
            httpx2.AsyncClient(headers=auth) as http_a,
            httpx2.AsyncClient(headers=auth) as http_b,
            Client(streamable_http_client(url, http_client=http_a), mode="legacy") as a,
            Client(streamable_http_client(url, http_client=http_b), mode="legacy") as b,
        ):
            pending = (await a.call_tool("create_margin_order", ORDER)).structured_content
            assert pending["status"] == "approval_pending", pending
            await approve_in_browser(pending["approvalUrl"])
            stolen = await b.call_tool("confirm_transaction", {"approvalId": pending["approvalId"]})
            assert stolen.is_error and "unknown in this session" in text_of(stolen)
            assert writes(fake, ORDER_PATH) == []
            own = await a.call_tool("confirm_transaction", {"approvalId": pending["approvalId"]})
            assert not own.is_error, text_of(own)
    assert len(writes(fake, ORDER_PATH)) == 1


async def test_a_limit_tightened_while_the_approval_waits_is_applied_at_send(connect, fake, tools_md):
    """The operator lowers Max Order Notional after the human approved: the send is refused by the new limit."""
    async with connect() as client:
        pending = (await client.call_tool("create_margin_order", ORDER)).structured_content
        await approve_in_browser(pending["approvalUrl"])
        text = tools_md.read_text().replace(
            "- Environment: Mainnet\n", "- Environment: Mainnet\n- Max Order Notional: 1 USDT\n"
        )
        tools_md.write_text(text)
        result = await client.call_tool("confirm_transaction", {"approvalId": pending["approvalId"]})
    assert result.is_error and "Max Order Notional" in text_of(result)
    assert writes(fake, ORDER_PATH) == []


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_url_mode_elicitation_opens_the_page_and_the_call_sends_after_approval(connect, fake, mode):
    """--confirm-mode browser with a client that opens URLs: the client is asked to open the page (URL-mode
    elicitation), the human approves there, and the same call sends the order once."""
    fake.respond("POST", ORDER_PATH, {"orderId": 31})
    asked: list = []

    async def human_opens_the_link(context, params):
        asked.append(params)
        if getattr(params, "mode", None) != "url":
            return ElicitResult(action="decline")
        # The human's browser, not the agent: approve on the page, then the client reports the link was opened.
        asyncio.get_running_loop().call_later(0.05, lambda: asyncio.ensure_future(approve_in_browser(params.url)))
        return ElicitResult(action="accept")

    async with connect(mode=mode, elicitor=human_opens_the_link, confirm_mode="browser", approval_wait=10) as client:
        result = await client.call_tool("create_margin_order", ORDER)
    assert [getattr(p, "mode", None) for p in asked] == ["url"]
    assert asked[0].url.startswith("http://127.0.0.1:")
    assert not result.is_error, text_of(result)
    assert len(writes(fake, ORDER_PATH)) == 1


async def test_waiting_for_the_page_reports_progress_then_answers_pending(connect, fake):
    """While the call waits for the page it sends progress notifications; undecided, it answers approval_pending."""
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with connect(approval_wait=0.5) as client:
        _PIPELINES[-1].progress_every = 0.1
        result = await client.call_tool("create_margin_order", ORDER, progress_callback=on_progress)
    assert result.structured_content["status"] == "approval_pending"
    assert len(seen) >= 2 and all(total == 0.5 and "approval" in (message or "") for _, total, message in seen)
    assert writes(fake, ORDER_PATH) == []


async def test_the_waiting_call_and_a_concurrent_confirm_both_wake_and_send_once(connect, fake):
    """Two waiters on one approval (the call itself and confirm_transaction): one approval, one order."""
    fake.respond("POST", ORDER_PATH, {"orderId": 41})
    async with connect(approval_wait=10) as client:
        _PIPELINES[-1].progress_every = 5  # neither waiter may rely on polling: the decision must wake both
        call = asyncio.create_task(client.call_tool("create_margin_order", ORDER))
        while _latest_page_url() is None:
            await asyncio.sleep(0.01)
        approval = list(_PIPELINES[-1].gate._approvals.values())[-1]  # test-only: the id the agent would relay
        confirm = asyncio.create_task(client.call_tool("confirm_transaction", {"approvalId": approval.id}))
        await asyncio.sleep(0.05)
        await approve_in_browser(_latest_page_url())
        results = await asyncio.wait_for(asyncio.gather(call, confirm), 3)
    assert sorted(r.is_error for r in results) == [False, True]
    assert len(writes(fake, ORDER_PATH)) == 1
