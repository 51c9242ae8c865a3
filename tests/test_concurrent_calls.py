"""Identical tool calls made at once are independent: each is prepared, sent and answered on its own."""

from __future__ import annotations

import asyncio
import json

import httpx

from conftest import text_of

ORDER = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001", "account": "practice"}
CALLS = 100


async def test_a_hundred_identical_orders_at_once_each_get_their_own_answer_and_agent_id(connect, fake):
    """100 concurrent identical create_margin_order calls on a Testnet account: 100 successes, 100 distinct
    `agent-` ids, each answer carrying the id of its own request (the old shared-id design failed 57 of them)."""

    def echo(request: httpx.Request) -> httpx.Response:
        """The fake checks key, timestamp and signature; a new order's answer echoes its client order id."""
        response = fake.handle(request)
        if request.method == "POST" and request.url.path == "/sapi/v1/margin/order" and response.status_code == 200:
            sent = dict(httpx.QueryParams(request.url.query.decode() or request.content.decode()))
            body = {"symbol": sent["symbol"], "clientOrderId": sent["newClientOrderId"], "status": "FILLED"}
            return httpx.Response(200, headers=dict(response.headers), content=json.dumps(body).encode())
        return response

    fake.transport = lambda: httpx.MockTransport(echo)  # the same fake, answering orders with their own ids
    async with connect() as client:
        results = await asyncio.gather(*(client.call_tool("create_margin_order", ORDER) for _ in range(CALLS)))
    failures = [text_of(r) for r in results if r.is_error]
    assert failures == []
    answered = [r.structured_content["clientOrderId"] for r in results]
    sent = [r.param("newClientOrderId") for r in fake.requests if r.path == "/sapi/v1/margin/order"]
    assert len(set(answered)) == CALLS and all(i.startswith("agent-") for i in answered)
    assert sorted(sent) == sorted(answered)  # every answer belongs to exactly one request that was sent
