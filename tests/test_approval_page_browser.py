"""The approval page in a real headless Chromium: the human's clicks decide, a foreign page's form does not.

Needs a Chromium binary (CI installs Debian's `chromium`); Playwright only drives it, nothing is downloaded.
`UPDATE_SCREENSHOTS=1` rewrites references/approval-page.png from the pending page.
"""

from __future__ import annotations

import html
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from binance_margin_mcp.approval_page import ApprovalPage
from binance_margin_mcp.gate import Approval, Channel, Gate, State

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
SCREENSHOT = Path(__file__).resolve().parent.parent / "references" / "approval-page.png"
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PREVIEW = """Approve a MAINNET change on account 'main':
  Account: main (Mainnet)
  Host: api.binance.com - Binance's production API: real funds
  Endpoint: POST /sapi/v1/margin/order (create_margin_order)
  Order on BTCUSDT (cross margin), last price 64250.10 USDT:
    1: BUY LIMIT GTC 0.001 BTC @ 64000 USDT ≈ 64.00 USDT (price × quantity)
  Borrowing: sideEffectType MARGIN_BUY: may BORROW USDT
  Parameters as they will be sent:
    symbol = BTCUSDT
    side = BUY
    type = LIMIT
    quantity = 0.001
    price = 64000
    timeInForce = GTC
    sideEffectType = MARGIN_BUY
    newClientOrderId = agent-7Qm2xK9pLw4Rt8Vb
Type CONFIRM and press Approve to send it, or Reject. Nothing is sent otherwise."""

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (apt-get install chromium); CI installs it"),
    pytest.mark.asyncio(loop_scope="module"),
]


@dataclass(frozen=True)
class Order:
    account: str = "main"
    action: str = "create_margin_order"

    def binding(self) -> str:
        return "main|POST /sapi/v1/margin/order|BTCUSDT BUY 0.001 @ 64000"


@pytest.fixture(scope="module")
def gate() -> Gate:
    return Gate(lambda: 1000.0)  # a still clock: nothing expires during the test


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def approval_page(gate: Gate):
    page = ApprovalPage(gate)
    await page.start()
    yield page
    await page.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser():
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@pytest_asyncio.fixture(loop_scope="module")
async def tab(browser):
    context = await browser.new_context(viewport={"width": 900, "height": 760})
    page = await context.new_page()
    yield page
    await context.close()


def open_approval(gate: Gate) -> Approval:
    return gate.open(Order(), "session-1", Channel.BROWSER, {"account": "main"}, PREVIEW)


async def test_typing_confirm_and_clicking_approve_approves(gate, approval_page, tab):
    """The human's path: open the URL, read the preview, type CONFIRM, click Approve -> APPROVED."""
    approval = open_approval(gate)
    await tab.goto(approval_page.url_for(approval))
    assert await tab.title() == "Approve a Binance Margin transaction"
    assert "newClientOrderId = agent-7Qm2xK9pLw4Rt8Vb" in await tab.inner_text("pre")
    assert approval.state is State.PENDING  # showing the page decided nothing
    await tab.fill("input[name=confirmation]", "CONFIRM")
    async with tab.expect_navigation():
        await tab.click("button[value=approve]")
    assert approval.state is State.APPROVED
    assert await tab.inner_text(".state") == "Approved. You can close this tab; the agent will send it."


async def test_clicking_reject_rejects(gate, approval_page, tab):
    """Reject needs no typing and is final: the page shows it and offers no form any more."""
    approval = open_approval(gate)
    await tab.goto(approval_page.url_for(approval))
    async with tab.expect_navigation():
        await tab.click("button[value=reject]")
    assert approval.state is State.REJECTED
    assert (await tab.inner_text(".state")).startswith("Rejected: rejected on the approval page.")
    assert await tab.locator("form").count() == 0


async def test_a_form_on_another_page_in_the_same_browser_cannot_approve(gate, approval_page, tab):
    """Cross-site forgery, even knowing the URL and csrf value: Chromium sends the foreign Origin, 403."""
    approval = open_approval(gate)
    forged = (
        f'<form method="post" action="{html.escape(approval_page.url_for(approval))}">'
        f'<input name="csrf" value="{html.escape(approval.csrf)}"><input name="confirmation" value="CONFIRM">'
        '<button name="decision" value="approve">go</button></form>'
    )
    await tab.set_content(forged)
    async with tab.expect_navigation():
        await tab.click("button")
    assert "Refused" in await tab.inner_text("body")
    assert approval.state is State.PENDING


async def test_an_order_through_mcp_is_sent_once_after_the_human_approves_in_chromium(fake, tools_md, tmp_path):
    """End to end: an MCP client without a dialog orders on Mainnet, the server opens its page, Chromium types
    CONFIRM and clicks Approve, and the waiting tool call sends exactly one order to the exchange."""
    import asyncio

    from mcp import Client
    from playwright.async_api import async_playwright

    from binance_margin_mcp.adapter import build_mcp_server
    from binance_margin_mcp.app import build_pipeline, build_service
    from binance_margin_mcp.settings import Settings

    fake.respond("POST", "/sapi/v1/margin/order", {"orderId": 99, "status": "NEW"})
    fake.add_route("GET", "/api/v3/ticker/price")
    fake.respond("GET", "/api/v3/ticker/price", {"symbol": "BTCUSDT", "price": "64250.10"})
    settings = Settings(tools_md=tools_md, journal_path=str(tmp_path / "journal.jsonl"), approval_wait=20)
    pipeline = build_pipeline(build_service(settings, http_transport=fake.transport()), settings)
    opened: list[str] = []
    pipeline.open_browser = opened.append  # what the server would open in the default browser
    order = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "quantity": "0.001",
        "price": "64000",
        "timeInForce": "GTC",
        "sideEffectType": "MARGIN_BUY",
    }
    async with async_playwright() as playwright, Client(build_mcp_server(pipeline)) as client:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        call = asyncio.create_task(client.call_tool("create_margin_order", order))
        while not opened:
            assert not call.done(), call.result()
            await asyncio.sleep(0.02)
        tab = await (await chromium.new_context(viewport={"width": 900, "height": 760})).new_page()
        await tab.goto(opened[0])
        assert "POST /sapi/v1/margin/order" in await tab.inner_text("pre")
        if os.environ.get("UPDATE_SCREENSHOTS") == "1":
            await tab.screenshot(path=str(SCREENSHOT), full_page=True)
        assert [r for r in fake.requests if r.path == "/sapi/v1/margin/order"] == []
        await tab.fill("input[name=confirmation]", "CONFIRM")
        async with tab.expect_navigation():
            await tab.click("button[value=approve]")
        result = await asyncio.wait_for(call, 20)
        await chromium.close()
    assert not result.is_error and result.structured_content == {"orderId": 99, "status": "NEW"}
    assert len([r for r in fake.requests if r.method == "POST" and r.path == "/sapi/v1/margin/order"]) == 1
