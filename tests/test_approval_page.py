"""The approval page over real HTTP on 127.0.0.1: only the human's own form, from the page's own origin, decides."""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
import threading
import time
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio

from binance_margin_mcp.approval_page import SECURITY_HEADERS, ApprovalPage, open_in_browser
from binance_margin_mcp.gate import APPROVAL_TTL_SECONDS, Approval, Channel, Gate, State

PREVIEW = "Approve a MAINNET change on account 'main':\n  Order on BTCUSDT: BUY LIMIT GTC 0.001 BTC @ 30000 USDT"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class Order:
    account: str = "main"
    action: str = "create_margin_order"

    def binding(self) -> str:
        return "main|POST /sapi/v1/margin/order|BTCUSDT BUY 0.001 @ 30000"


# One page server for the module (each stop takes uvicorn ~0.2 s); every test opens its own approvals.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def gate(clock: Clock) -> Gate:
    return Gate(clock)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def page(gate: Gate):
    approval_page = ApprovalPage(gate)
    await approval_page.start()
    yield approval_page
    await approval_page.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def http(page: ApprovalPage):
    async with httpx.AsyncClient(base_url=page.origin) as client:
        yield client


def open_approval(gate: Gate, text: str = PREVIEW, channel: Channel = Channel.BROWSER) -> Approval:
    return gate.open(Order(), "session-1", channel, {"account": "main"}, text)


def path_of(approval: Approval) -> str:
    return f"/approve/{approval.page_token}"


async def post(
    http: httpx.AsyncClient,
    page: ApprovalPage,
    approval: Approval,
    decision: str = "approve",
    confirmation: str = "CONFIRM",
    *,
    csrf: str | None = None,
    origin: str | None = "own",
    host: str | None = None,
) -> httpx.Response:
    headers = {}
    if origin is not None:
        headers["Origin"] = page.origin if origin == "own" else origin
    if host is not None:
        headers["Host"] = host
    form = {"csrf": approval.csrf if csrf is None else csrf, "decision": decision, "confirmation": confirmation}
    return await http.post(path_of(approval), data=form, headers=headers)


async def test_get_shows_the_servers_own_preview_and_decides_nothing(gate, page, http):
    """A GET renders approval.text and the form; no GET (with any query string) ever approves."""
    approval = open_approval(gate)
    for query in ("", "?decision=approve&confirmation=CONFIRM&text=SELL+EVERYTHING", f"?csrf={approval.csrf}"):
        response = await http.get(path_of(approval) + query)
        assert response.status_code == 200
        assert "Approve a Binance Margin transaction" in response.text
        assert "BUY LIMIT GTC 0.001 BTC @ 30000 USDT" in response.text
        assert "SELL EVERYTHING" not in response.text
        assert 'name="confirmation"' in response.text
        assert 'name="decision" value="approve"' in response.text
        assert 'name="decision" value="reject"' in response.text
        assert f'name="csrf" value="{approval.csrf}"' in response.text
        assert "the AI agent cannot use your browser" in response.text
    assert approval.state is State.PENDING


async def test_a_post_without_origin_is_refused_and_decides_nothing(gate, page, http):
    """No Origin header: 403, whatever the form says."""
    approval = open_approval(gate)
    response = await post(http, page, approval, origin=None)
    assert response.status_code == 403
    assert approval.state is State.PENDING
    assert PREVIEW.splitlines()[1].strip() not in response.text  # a refusal shows no detail


@pytest.mark.parametrize(
    "origin",
    ["http://evil.example", "null", "https://127.0.0.1:{port}", "http://localhost:{port}", "http://127.0.0.1:1"],
)
async def test_a_post_from_any_other_origin_is_refused(gate, page, http, origin):
    """Only this server's exact origin counts; another site, port, scheme or host name gets 403."""
    approval = open_approval(gate)
    port = page.origin.rsplit(":", 1)[1]
    response = await post(http, page, approval, origin=origin.format(port=port))
    assert response.status_code == 403
    assert approval.state is State.PENDING


@pytest.mark.parametrize("csrf", ["", "wrong", "x" * 32])
async def test_a_wrong_anti_forgery_value_is_refused_and_stays_pending(gate, page, http, csrf):
    """The right Origin is not enough: the form must carry the page's own csrf value."""
    approval = open_approval(gate)
    for decision in ("approve", "reject"):
        response = await post(http, page, approval, decision, csrf=csrf)
        assert response.status_code == 403
        assert approval.state is State.PENDING


@pytest.mark.parametrize("host", ["evil.example:{port}", "localhost:{port}", "127.0.0.1", "127.0.0.1:1"])
async def test_a_foreign_host_header_is_refused_against_dns_rebinding(gate, page, http, host):
    """A page reached under another host name (DNS rebinding) is neither shown nor answered."""
    approval = open_approval(gate)
    port = page.origin.rsplit(":", 1)[1]
    shown = await http.get(path_of(approval), headers={"Host": host.format(port=port)})
    assert shown.status_code == 421
    assert approval.csrf not in shown.text
    answered = await post(http, page, approval, host=host.format(port=port))
    assert answered.status_code == 421
    assert approval.state is State.PENDING


@pytest.mark.parametrize("path", ["/approve/not-a-token", "/approve/", "/", "/favicon.ico", "/approve/x/y"])
async def test_an_unknown_page_is_a_plain_404(gate, page, http, path):
    """Unknown tokens and other paths: 404 with no detail about any approval."""
    approval = open_approval(gate)
    response = await http.get(path)
    assert response.status_code == 404
    assert "Not found." in response.text
    assert PREVIEW.splitlines()[1].strip() not in response.text
    assert approval.csrf not in response.text
    posted = await http.post("/approve/not-a-token", data={"csrf": approval.csrf}, headers={"Origin": page.origin})
    assert posted.status_code == 404


async def test_other_channels_approvals_have_no_page(gate, page, http):
    """An approval decided in the client's dialog (or by TOTP) cannot be shown or answered on the page."""
    approval = open_approval(gate, channel=Channel.ELICITATION)
    assert (await http.get(path_of(approval))).status_code == 404
    assert (await post(http, page, approval)).status_code == 404
    assert approval.state is State.PENDING


async def test_typing_confirm_and_approving_approves(gate, page, http):
    """The one way to approve: the page's form, its csrf, its own Origin, and exactly CONFIRM."""
    approval = open_approval(gate)
    response = await post(http, page, approval)
    assert response.status_code == 200
    assert approval.state is State.APPROVED
    assert "Approved. You can close this tab; the agent will send it." in response.text
    assert 'name="confirmation"' not in response.text  # no form once decided


@pytest.mark.parametrize("typed", ["", "confirm", "CONFIRM ", "CONFIRMED", "yes"])
async def test_a_wrong_confirmation_text_asks_again_and_stays_pending(gate, page, http, typed):
    """A typo is not a decision: the form comes back with the message, the approval stays pending."""
    approval = open_approval(gate)
    response = await post(http, page, approval, confirmation=typed)
    assert response.status_code == 400
    assert "Type CONFIRM exactly to approve." in response.text
    assert 'name="confirmation"' in response.text
    assert approval.state is State.PENDING
    assert (await post(http, page, approval)).status_code == 200
    assert approval.state is State.APPROVED


async def test_an_unknown_decision_decides_nothing(gate, page, http):
    approval = open_approval(gate)
    response = await post(http, page, approval, decision="approve-all")
    assert response.status_code == 400
    assert approval.state is State.PENDING


async def test_reject_is_final_and_a_later_approve_changes_nothing(gate, page, http):
    """Rejected on the page: final, whatever is posted afterwards."""
    approval = open_approval(gate)
    response = await post(http, page, approval, "reject", "")
    assert response.status_code == 200
    assert approval.state is State.REJECTED
    assert "Rejected: rejected on the approval page. This is final" in response.text
    later = await post(http, page, approval)
    assert later.status_code == 409
    assert approval.state is State.REJECTED
    assert "Rejected" in (await http.get(path_of(approval))).text


async def test_a_replayed_post_after_approval_changes_nothing(gate, page, http):
    """Replaying the approve POST, or posting reject after approval, leaves the approval as decided."""
    approval = open_approval(gate)
    assert (await post(http, page, approval)).status_code == 200
    for decision in ("approve", "reject"):
        replay = await post(http, page, approval, decision)
        assert replay.status_code == 409
        assert "already decided; nothing changed" in replay.text
        assert approval.state is State.APPROVED
    gate.redeem(approval.id, "session-1", approval.request.binding)
    after_use = await post(http, page, approval)
    assert after_use.status_code == 409
    assert approval.state is State.USED
    assert "Approved and sent" in (await http.get(path_of(approval))).text


async def test_an_expired_approval_shows_expired_and_cannot_be_approved(gate, page, http, clock):
    """Past its TTL the page says expired, offers no form, and an approve POST is refused."""
    approval = open_approval(gate)
    clock.now += APPROVAL_TTL_SECONDS + 1
    shown = await http.get(path_of(approval))
    assert shown.status_code == 200
    assert "Expired: the approval expired before it was used." in shown.text
    assert 'name="confirmation"' not in shown.text
    posted = await post(http, page, approval)
    assert posted.status_code == 409
    assert approval.state is State.EXPIRED


async def test_every_response_carries_the_security_headers(gate, page, http):
    """CSP, no framing, no referrer leak, no caching: on pages, refusals and 404s alike."""
    approval = open_approval(gate)
    port = page.origin.rsplit(":", 1)[1]
    responses = [
        await http.get(path_of(approval)),
        await http.get("/approve/unknown"),
        await http.get(path_of(approval), headers={"Host": f"evil.example:{port}"}),
        await post(http, page, approval, origin=None),
        await http.put(path_of(approval)),
        await post(http, page, approval),
    ]
    assert [r.status_code for r in responses] == [200, 404, 421, 403, 405, 200]
    for response in responses:
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value
    csp = responses[0].headers["Content-Security-Policy"]
    assert csp == "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    assert responses[0].headers["X-Frame-Options"] == "DENY"
    assert responses[0].headers["Cache-Control"] == "no-store"
    assert "server" not in responses[0].headers
    assert "<script" not in responses[0].text.lower()


async def test_a_preview_with_markup_is_shown_escaped(gate, page, http):
    """The preview is text: markup in it is displayed, never interpreted."""
    approval = open_approval(gate, text='note: <script>alert("x")</script> & <b>bold</b>')
    response = await http.get(path_of(approval))
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in response.text
    assert "<script" not in response.text
    assert "<b>" not in response.text


async def test_only_this_pages_own_form_encoding_is_read(gate, page, http):
    """JSON, multipart and oversized bodies are refused before the form is parsed."""
    approval = open_approval(gate)
    headers = {"Origin": page.origin}
    body = {"csrf": approval.csrf, "decision": "approve", "confirmation": "CONFIRM"}
    as_json = await http.post(path_of(approval), json=body, headers=headers)
    as_multipart = await http.post(path_of(approval), data=body, files={"f": b"x"}, headers=headers)
    oversized = await http.post(path_of(approval), data={**body, "pad": "x" * 20_000}, headers=headers)
    assert [as_json.status_code, as_multipart.status_code, oversized.status_code] == [415, 415, 413]
    assert approval.state is State.PENDING


async def test_the_server_writes_nothing_to_stdout(gate, capfd):
    """stdout is the MCP stdio channel: starting, serving, refusing and stopping print nothing there."""
    approval_page = ApprovalPage(gate)
    await approval_page.start()
    approval = open_approval(gate)
    async with httpx.AsyncClient(base_url=approval_page.origin) as client:
        await client.get(path_of(approval))
        await client.get("/nope")
        await post(client, approval_page, approval, origin=None)
        await post(client, approval_page, approval)
    await approval_page.stop()
    assert capfd.readouterr().out == ""


async def test_start_is_idempotent_binds_loopback_and_stop_closes_the_port(gate):
    """start() twice serves one port on 127.0.0.1; after stop() nothing listens there."""
    approval_page = ApprovalPage(gate)
    assert not approval_page.started
    with pytest.raises(RuntimeError):
        _ = approval_page.origin
    await approval_page.start()
    origin = approval_page.origin
    await approval_page.start()
    assert approval_page.started
    assert approval_page.origin == origin
    assert origin.startswith("http://127.0.0.1:")
    approval = open_approval(gate)
    assert approval_page.url_for(approval) == f"{origin}/approve/{approval.page_token}"
    port = int(origin.rsplit(":", 1)[1])
    await approval_page.stop()
    assert not approval_page.started
    await approval_page.stop()  # stopping twice is harmless
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::"])
async def test_the_page_refuses_to_bind_anything_but_loopback(gate, host):
    with pytest.raises(ValueError, match="loopback"):
        ApprovalPage(gate, host=host)


async def test_open_in_browser_never_blocks_the_loop_and_never_raises(caplog):
    """A slow browser does not block the caller; a broken one is logged at INFO, never raised."""
    release, opened = threading.Event(), []

    def slow(url: str) -> bool:
        release.wait(5)
        opened.append(url)
        return True

    def broken(url: str) -> bool:
        raise OSError("no browser")

    display = {"DISPLAY": ":0"}
    started = time.monotonic()
    open_in_browser("http://127.0.0.1:1/approve/t", opener=slow, environ=display)
    assert time.monotonic() - started < 0.5
    release.set()
    with caplog.at_level(logging.INFO, logger="binance_margin_mcp.approval_page"):
        open_in_browser("http://127.0.0.1:1/approve/t", opener=broken, environ=display)
        open_in_browser("http://127.0.0.1:1/approve/t", opener=lambda url: False, environ=display)
        for _ in range(100):
            if len(opened) == 1 and len(caplog.records) >= 2:
                break
            await asyncio.sleep(0.01)
    assert opened == ["http://127.0.0.1:1/approve/t"]
    messages = [record.getMessage() for record in caplog.records]
    assert any("failed: OSError" in message for message in messages)
    assert any("no browser could be opened" in message for message in messages)
    assert all("/approve/" not in message for message in messages)  # the page URL is a secret: never logged


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="macOS and Windows always have a graphical browser")
async def test_open_in_browser_without_a_display_starts_no_console_browser():
    """Headless Linux: webbrowser would pick lynx/w3m on our stdin/stdout (the MCP channel), so nothing runs."""
    called = []
    open_in_browser("http://127.0.0.1:1/approve/t", opener=called.append, environ={"TERM": "xterm"})
    await asyncio.sleep(0.05)
    assert called == []
