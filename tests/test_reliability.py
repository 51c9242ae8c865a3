"""Clock sync, weight budgets, 429/418 handling and read retries, against the fake Binance; cancelled calls and
killed servers against the loopback paper exchange."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
from mcp import Client

from binance_margin_mcp.app import build_server
from binance_margin_mcp.settings import Settings
from loopback_exchange import SharedClock, journal_lines, kill, loopback_exchange, mcp_server, until

from conftest import Sleeps, make_fake
from fakes.fake_binance import FakeBinance

ACCOUNT = "/sapi/v1/margin/account"
ORDER = "/sapi/v1/margin/order"
MARGIN_BUY = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "MARKET",
    "quantity": "0.001",
    "sideEffectType": "MARGIN_BUY",
    "account": "practice",
}


class LocalClock:
    """The server process's own clock (ms), settable."""

    def __init__(self) -> None:
        self.now = int(time.time() * 1000)

    def __call__(self) -> int:
        return self.now


def open_client(fake: FakeBinance, tools_md: Path, local: LocalClock, sleeps: Sleeps | None = None) -> Client:
    server = build_server(
        Settings(tools_md=tools_md), http_transport=fake.transport(), clock_ms=local, sleep=sleeps or Sleeps()
    )
    return Client(server)


def calls_to(fake: FakeBinance, path: str) -> int:
    return sum(1 for r in fake.requests if r.path == path)


@pytest.mark.parametrize("skew_ms", [-7000, 7000, 3000, -3000])
async def test_a_skewed_local_clock_is_corrected_by_the_server_time_offset(tools_md, skew_ms):
    """Local clock ±7 s off Binance's: timestamps use the measured offset, so requests are accepted."""
    local = LocalClock()
    fake = make_fake(lambda: local.now + skew_ms)
    async with open_client(fake, tools_md, local) as client:
        result = await client.call_tool("get_cross_margin_account", {})
    assert not result.is_error, result.content[0].text
    assert calls_to(fake, "/api/v3/time") == 1  # measured once, at first use
    assert calls_to(fake, ACCOUNT) == 1  # accepted the first time: no -1021 and retry needed


async def test_a_read_rejected_with_1021_is_retried_once_after_resync(tools_md):
    """The server clock jumps after the first sync: the read gets -1021, resyncs, and succeeds on the retry."""
    local = LocalClock()
    server_offset = [0]
    fake = make_fake(lambda: local.now + server_offset[0])
    async with open_client(fake, tools_md, local) as client:
        assert not (await client.call_tool("get_cross_margin_account", {})).is_error
        server_offset[0] = 9000
        result = await client.call_tool("get_cross_margin_account", {})
    assert not result.is_error, result.content[0].text
    assert calls_to(fake, "/api/v3/time") == 2
    assert calls_to(fake, ACCOUNT) == 3  # ok, rejected, retried


async def test_a_transaction_rejected_with_1021_is_not_retried_but_the_next_attempt_works(tools_md):
    """A write with a stale timestamp is reported (nothing executed) after a resync; sending again succeeds."""
    local = LocalClock()
    server_offset = [0]
    fake = make_fake(lambda: local.now + server_offset[0])
    args = {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.001", "account": "practice"}
    async with open_client(fake, tools_md, local) as client:
        await client.call_tool("get_cross_margin_account", {"account": "practice"})
        server_offset[0] = -9000
        first = await client.call_tool("create_margin_order", args)
        assert first.is_error and first.structured_content["code"] == -1021
        assert "re-synchronised" in first.structured_content["hint"]
        assert calls_to(fake, ORDER) == 1
        second = await client.call_tool("create_margin_order", args)
    assert not second.is_error
    assert calls_to(fake, ORDER) == 2


async def test_a_request_that_would_break_the_weight_budget_is_refused_locally(tools_md):
    """With 179,000 UID weight used this minute, a MARGIN_BUY (1500 UID) is not sent; the result says when."""
    local = LocalClock()
    local.now = (local.now // 60_000) * 60_000 + 10_000  # 10 s into a minute
    fake = make_fake(lambda: local.now)
    fake.respond("POST", ORDER, {"orderId": 1}, headers={"X-SAPI-USED-UID-WEIGHT-1M": "179000"})
    async with open_client(fake, tools_md, local) as client:
        first = await client.call_tool("create_margin_order", MARGIN_BUY)
        assert first.meta["rateLimit"] == {
            "limitType": "UID",
            "usedWeight1m": 179000,
            "limit1m": 180000,
            "remaining1m": 1000,
        }
        refused = await client.call_tool("create_margin_order", MARGIN_BUY)
        plain = await client.call_tool("create_margin_order", {**MARGIN_BUY, "sideEffectType": "NO_SIDE_EFFECT"})
        local.now += 50_000  # the next minute
        later = await client.call_tool("create_margin_order", MARGIN_BUY)
    assert refused.is_error and refused.structured_content["status"] == "rate_limited_locally"
    assert refused.structured_content["retryAfterSeconds"] == 50
    assert not plain.is_error  # 6 UID still fits
    assert not later.is_error
    assert calls_to(fake, ORDER) == 3


@pytest.mark.parametrize(("status", "code"), [(429, -1003), (418, -1003)])
async def test_after_429_or_418_nothing_is_sent_to_that_host_until_retry_after(tools_md, status, code):
    """Retry-After is honoured: requests to the host are refused locally until it passes, then flow again."""
    local = LocalClock()
    fake = make_fake(lambda: local.now)
    fake.fail_next(
        "GET", ACCOUNT, status=status, code=code, msg="Too much request weight used", headers={"Retry-After": "120"}
    )
    async with open_client(fake, tools_md, local) as client:
        hit = await client.call_tool("get_cross_margin_account", {})
        sent_before = len(fake.requests)
        blocked = await client.call_tool("get_margin_price_index", {"symbol": "BTCUSDT"})
        assert len(fake.requests) == sent_before  # nothing sent during the ban
        local.now += 121_000
        after = await client.call_tool("get_cross_margin_account", {})
    assert hit.is_error and hit.structured_content["httpStatus"] == status
    assert blocked.is_error and blocked.structured_content["retryAfterSeconds"] == 120
    assert not after.is_error


async def test_reads_are_retried_with_backoff_on_timeouts_but_never_on_4xx(tools_md):
    """A timed-out read is retried (bounded, with backoff); a 4XX answer is final."""
    local = LocalClock()
    fake = make_fake(lambda: local.now)
    sleeps = Sleeps()
    fake.timeout_next("GET", ACCOUNT)
    fake.fail_next("GET", "/sapi/v1/margin/priceIndex", status=400, code=-1121, msg="Invalid symbol.")
    async with open_client(fake, tools_md, local, sleeps) as client:
        read = await client.call_tool("get_cross_margin_account", {})
        bad = await client.call_tool("get_margin_price_index", {"symbol": "BTCUSDT"})
    assert not read.is_error and calls_to(fake, ACCOUNT) == 2
    assert bad.is_error and calls_to(fake, "/sapi/v1/margin/priceIndex") == 1
    assert sleeps.calls == [0.25]


# -- issue 8: a cancelled call or a killed server still leaves the request on the record ------------------

HELD_ORDER = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.001"}


class Hold:
    """A fault that keeps one request waiting at the exchange until released; then it is executed (or not)."""

    def __init__(self, execute: bool = True) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.done = threading.Event()
        self.execute = execute

    def __call__(self, name: str, params: dict) -> tuple | None:
        self.arrived.set()
        self.release.wait(10)
        self.done.set()
        return None if self.execute else (500, {}, {"code": -1000, "msg": "An unknown error occurred."})


def spy_on_cancellation(server) -> list[bool]:
    """Records when the server-side tool call is cancelled (the client's cancel reached the server)."""
    cancelled: list[bool] = []
    execute = server.service.executor.execute

    async def spy(*args, **kwargs):
        try:
            return await execute(*args, **kwargs)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    server.service.executor.execute = spy
    return cancelled


async def test_a_call_cancelled_while_its_order_is_in_flight_still_ends_with_the_outcome_on_record(tmp_path):
    """Attack: the client timed out (or the user pressed Stop) while the order was in flight; the order filled and
    the journal said "No journal entries yet". Now the intent is on disk before the first byte is sent, the send
    carries on in the background, and its outcome line follows."""
    clock, journal = SharedClock(), tmp_path / "journal.jsonl"
    with loopback_exchange(tmp_path, clock) as exchange:
        async with mcp_server(exchange, journal, clock) as server:
            hold = Hold()
            exchange.app.inject(hold, "create_margin_order")
            cancelled = spy_on_cancellation(server)
            call = server.call("create_margin_order", {**HELD_ORDER, "price": "50000", "newClientOrderId": "stop1"})
            await until(hold.arrived.is_set)
            call.cancel()
            await asyncio.gather(call, return_exceptions=True)
            await until(lambda: bool(cancelled))
            (intent,) = journal_lines(journal)  # on disk while the exchange still holds the order
            assert (intent["kind"], intent["clientIds"]) == ("intent", {"newClientOrderId": "agent-stop1"})
            hold.release.set()
            await server.idle()
            listed = await server.client.call_tool("list_journal", {})
        [order] = [o for o in exchange.orders() if o["clientOrderId"] == "agent-stop1"]
    _, outcome = journal_lines(journal)
    assert (outcome["kind"], outcome["intent"], outcome["outcome"]) == ("outcome", intent["intent"], "sent")
    assert (outcome["orderId"], outcome["status"]) == (order["orderId"], "NEW")
    (entry,) = listed.structured_content["entries"]
    assert (entry["outcome"], entry["orderId"]) == ("sent", order["orderId"])
    assert listed.structured_content["attention"] == []


@pytest.mark.parametrize("executed", [True, False])
async def test_a_server_killed_after_sending_is_settled_by_the_next_servers_recovery(tmp_path, executed):
    """Attack: the server was killed after sending; nothing was on record. Now its intent is, and the next server's
    recovery looks the order up by its client id: the real status (`recovered: true`), or UNKNOWN with what to
    check when the exchange never executed it."""
    clock, journal = SharedClock(), tmp_path / "journal.jsonl"
    with loopback_exchange(tmp_path, clock) as exchange:
        async with mcp_server(exchange, journal, clock) as first:
            hold = Hold(execute=executed)
            exchange.app.inject(hold, "create_margin_order")
            first.call("create_margin_order", {**HELD_ORDER, "price": "50000", "newClientOrderId": "kill1"})
            await until(hold.arrived.is_set)
            await kill(first)
        hold.release.set()  # the exchange goes on with the request after the server died

        def placed() -> list[dict]:
            return [o for o in exchange.orders() if o["clientOrderId"] == "agent-kill1"]

        await until(lambda: hold.done.is_set() and (bool(placed()) or not executed))
        assert [line["kind"] for line in journal_lines(journal)] == ["intent"]
        async with mcp_server(exchange, journal, clock) as second:
            listed = await second.client.call_tool("list_journal", {})  # too young to settle: shown as pending
            await second.idle()
            clock.advance(3 * 60_000)  # older than any send in flight: no live server still owns it
            recovered = await second.client.call_tool("recover_journal", {})
            again = await second.client.call_tool("recover_journal", {})
    (pending,) = listed.structured_content["attention"]
    assert pending["outcome"] == "pending" and "origClientOrderId=agent-kill1" in pending["check"]
    assert pending["state"] == "may still be in flight"
    data = recovered.structured_content
    outcome = journal_lines(journal)[-1]
    assert outcome["recovered"] is True and outcome["intent"] == pending["intent"]
    if executed:
        (order,) = placed()
        assert len(data["resolved"]) == 1 and data["unknown"] == []
        assert (outcome["outcome"], outcome["status"], outcome["orderId"]) == ("reconciled", "NEW", order["orderId"])
    else:
        assert placed() == [] and data["resolved"] == [] and len(data["unknown"]) == 1
        assert (outcome["outcome"], outcome["status"]) == ("UNKNOWN", "UNKNOWN")
        assert "get_margin_order(" in data["unknown"][0]["check"]
    assert again.structured_content["resolved"] == again.structured_content["unknown"] == []  # settled once
    assert len(journal_lines(journal)) == 2


async def test_a_call_cancelled_before_its_request_went_out_is_not_sent(tmp_path):
    """Stop pressed while the intent was being written: the request is not sent, and the journal says so."""
    clock, journal = SharedClock(), tmp_path / "journal.jsonl"
    with loopback_exchange(tmp_path, clock) as exchange:
        async with mcp_server(exchange, journal, clock) as server:
            writing, proceed = asyncio.Event(), asyncio.Event()
            write = server.service.journal.write

            async def slow_intent(entry):
                if entry.kind == "intent":
                    writing.set()
                    await proceed.wait()
                await write(entry)

            server.service.journal.write = slow_intent
            cancelled = spy_on_cancellation(server)
            call = server.call("create_margin_order", {**HELD_ORDER, "price": "50000", "newClientOrderId": "early1"})
            await writing.wait()
            call.cancel()
            await asyncio.gather(call, return_exceptions=True)
            await until(lambda: bool(cancelled))  # the server-side call is cancelled while the intent is written
            proceed.set()
            await server.idle()
    assert [r for r in exchange.received if r.tool == "POST /sapi/v1/margin/order"] == []
    intent, outcome = journal_lines(journal)
    assert (intent["kind"], outcome["kind"], outcome["outcome"]) == ("intent", "outcome", "not_sent")
    assert outcome["errorMsg"].startswith("Not sent: the call was cancelled")
