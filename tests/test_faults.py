"""Fault injection against the paper exchange: nothing is sent twice, every ambiguity is reconciled or UNKNOWN."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from binance_margin_mcp.adapter import build_mcp_server
from binance_margin_mcp.app import build_pipeline, build_service
from binance_margin_mcp.settings import Settings

from conftest import START_MS, MsClock, Sleeps

AFTER_APPLY = ("timeout_after_apply", "reset_after_apply", "http_500_after_apply", "truncated_json")
BEFORE_APPLY = ("timeout_before_apply", "http_500", "html_502")
RESTING = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.001",
    "price": "50000",
}
MARKET = {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.001"}


@pytest.fixture
def session(tmp_path: Path):
    """session() -> (client, venue, journal path, sleeps, clock) on the built-in paper account."""

    @asynccontextmanager
    async def _open() -> AsyncIterator[tuple[Client, Any, Path, Sleeps, MsClock]]:
        clock, sleeps = MsClock(), Sleeps()
        journal = tmp_path / "journal.jsonl"
        settings = Settings(tools_md=tmp_path / "none" / "TOOLS.md", journal_path=str(journal))
        service = build_service(settings, clock_ms=clock, sleep=sleeps)
        async with Client(build_mcp_server(build_pipeline(service, settings))) as client:
            yield client, service.venue, journal, sleeps, clock

    return _open


def journal_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def outcomes(path: Path) -> list[dict]:
    """The outcome lines, each checked to answer an intent line written before it."""
    lines = journal_lines(path)
    found = []
    for n, line in enumerate(lines):
        if line.get("kind") == "outcome":
            assert any(x.get("kind") == "intent" and x["intent"] == line["intent"] for x in lines[:n]), line
            found.append(line)
    return found


async def orders_with_id(client: Client, client_id: str) -> list[dict]:
    """How many orders the exchange holds under this client id (queried without faults)."""
    result = await client.call_tool("get_all_margin_orders", {"symbol": "BTCUSDT"})
    return [o for o in result.structured_content["result"] if o["clientOrderId"] == client_id]


@pytest.mark.parametrize("fault", AFTER_APPLY)
@pytest.mark.parametrize(("order", "status"), [(RESTING, "NEW"), (MARKET, "FILLED")])
async def test_an_order_whose_answer_is_lost_is_reconciled_by_its_client_id(session, fault, order, status):
    """Executed but unanswered: the result is the order's real status, found by its agent- id; sent once."""
    async with session() as (client, venue, journal, _, _):
        venue.app.inject(fault, "create_margin_order")
        result = await client.call_tool("create_margin_order", {**order, "newClientOrderId": "fx1"})
        assert not result.is_error, result.content[0].text
        data = result.structured_content
        assert (data["status"], data["reconciled"]) == (status, True)
        assert len(await orders_with_id(client, "agent-fx1")) == 1
        assert "found by its client id" in data["detail"] and "exactly once" not in data["detail"]
    (entry,) = outcomes(journal)
    assert (entry["outcome"], entry["status"]) == ("reconciled", status)


@pytest.mark.parametrize("fault", BEFORE_APPLY)
async def test_an_order_that_never_arrived_is_reported_unknown_after_a_minute_of_lookups(session, fault):
    """Not executed and unanswered: UNKNOWN (never 'failed'), with what to check; nothing was placed."""
    async with session() as (client, _venue, journal, sleeps, _):
        _venue.app.inject(fault, "create_margin_order")
        result = await client.call_tool("create_margin_order", {**RESTING, "newClientOrderId": "fx2"})
        assert result.is_error and result.structured_content["status"] == "UNKNOWN"
        text = result.content[0].text
        assert "get_margin_order" in text and "origClientOrderId=agent-fx2" in text
        assert await orders_with_id(client, "agent-fx2") == []
    assert sum(sleeps.calls) >= 60  # looked for about a minute (Binance's data can lag)
    assert [e["outcome"] for e in outcomes(journal)] == ["UNKNOWN"]


async def test_a_borrow_whose_answer_is_lost_is_found_in_the_borrow_records(session):
    """Borrow/repay has no client id: it is reconciled through the borrow records, and happened once."""
    async with session() as (client, venue, _, _, _):
        venue.app.inject("timeout_after_apply", "borrow_or_repay")
        args = {"asset": "USDT", "isIsolated": "FALSE", "amount": "10.5", "type": "BORROW"}
        result = await client.call_tool("borrow_or_repay", args)
        assert not result.is_error, result.content[0].text
        assert result.structured_content["reconciled"] is True
        records = await client.call_tool("get_borrow_repay_records", {"type": "BORROW"})
    assert records.structured_content["total"] == 1


@pytest.mark.parametrize("fault", ["http_500", "html_502", "truncated_json", "timeout_before_apply"])
async def test_reads_survive_transient_faults_by_retrying(session, fault):
    """A read hit by a 5XX, an HTML page, cut JSON or a timeout is retried and answers."""
    async with session() as (client, venue, _, sleeps, _):
        venue.app.inject(fault, "get_cross_margin_account")
        result = await client.call_tool("get_cross_margin_account", {})
    assert not result.is_error, result.content[0].text
    assert sleeps.calls == [0.25]


@pytest.mark.parametrize("skew_ms", [5000, -5000])
async def test_paper_exchange_clock_skew_is_absorbed_by_the_offset(session, skew_ms):
    """The exchange's clock runs ±5 s from ours: signed requests still pass (offset measured at first use)."""
    async with session() as (client, venue, _, _, clock):
        venue.app.clock_ms = lambda: clock() + skew_ms
        result = await client.call_tool("create_margin_order", RESTING)
    assert not result.is_error, result.content[0].text


async def test_after_429_then_418_nothing_reaches_the_exchange_until_the_ban_ends(session):
    """Retry-After is honoured for 429 and 418: requests are refused locally, the exchange sees none."""
    async with session() as (client, venue, _, _, clock):
        seen: list[str] = []
        original = venue.app.handle_request

        def counting(method: str, path: str, *args: Any, **kwargs: Any) -> Any:
            seen.append(path)
            return original(method, path, *args, **kwargs)

        venue.app.handle_request = counting
        body = {"code": -1003, "msg": "Too much request weight used"}
        venue.app.inject(lambda name, params: (429, {"Retry-After": "30"}, body), "get_cross_margin_account")
        assert (await client.call_tool("get_cross_margin_account", {})).structured_content["httpStatus"] == 429
        count = len(seen)
        refused = await client.call_tool("get_open_margin_orders", {"symbol": "BTCUSDT"})
        assert refused.structured_content["retryAfterSeconds"] == 30 and len(seen) == count
        clock.now += 31_000
        venue.app.inject(lambda name, params: (418, {"Retry-After": "120"}, body), "get_cross_margin_account")
        assert (await client.call_tool("get_cross_margin_account", {})).structured_content["httpStatus"] == 418
        count = len(seen)
        for _ in range(3):
            banned = await client.call_tool("create_margin_order", RESTING)
            assert banned.structured_content["status"] == "rate_limited_locally"
        assert len(seen) == count  # not one request during the ban
        clock.now += 121_000
        assert not (await client.call_tool("get_cross_margin_account", {})).is_error


async def test_randomized_faults_never_place_an_order_twice_and_lose_no_journal_line(session):
    """Many random runs: at most one order per request, ambiguous cases reconciled or UNKNOWN, one line each."""
    rng = random.Random(20261121)
    faults = (None, *AFTER_APPLY, *BEFORE_APPLY)
    runs = 30  # the chaos test (test_chaos.py) runs 300 more, with cancellations and kills
    async with session() as (client, venue, journal, _, _):
        for run in range(runs):
            fault = rng.choice(faults)
            order = dict(rng.choice((RESTING, MARKET)))
            if fault:
                venue.app.inject(fault, "create_margin_order")
            cid = f"run{run}"
            result = await client.call_tool("create_margin_order", {**order, "newClientOrderId": cid})
            placed = await orders_with_id(client, f"agent-{cid}")
            assert len(placed) <= 1, (run, fault)
            data = result.structured_content
            if placed:
                assert not result.is_error, (run, fault, result.content[0].text)
                assert data["status"] == placed[0]["status"]
                assert data.get("reconciled", False) is (fault in AFTER_APPLY)
            else:
                assert fault in BEFORE_APPLY and data["status"] == "UNKNOWN", (run, fault)
    lines = outcomes(journal)
    assert len(lines) == runs
    assert {line["outcome"] for line in lines} <= {"sent", "reconciled", "UNKNOWN"}


async def test_a_delayed_answer_is_waited_for_and_counted_once(session):
    """A slow exchange (an injected delay) is not a failure: the order is answered once, nothing duplicated."""
    import time as _time

    def slow(name: str, params: dict) -> None:
        _time.sleep(0.05)  # the answer comes late; returning None lets the request proceed normally

    async with session() as (client, venue, journal, _, _):
        venue.app.inject(slow, "create_margin_order")
        result = await client.call_tool("create_margin_order", {**RESTING, "newClientOrderId": "slow1"})
        assert not result.is_error and result.structured_content["status"] == "NEW"
        assert len(await orders_with_id(client, "agent-slow1")) == 1
    assert [line["outcome"] for line in outcomes(journal)] == ["sent"]


async def test_confirmed_mainnet_orders_over_http_are_never_duplicated_under_random_faults(tmp_path):
    """A Mainnet account on the loopback paper exchange: each request confirmed once by the human, random faults
    on the wire, and the exchange never holds two orders for one confirmed request."""
    from binance_margin_mcp.app import build_server
    from binance_margin_mcp.simulator.serve import serve
    from binance_margin_mcp.simulator.standalone import build_app

    from conftest import MAIN_KEY, MAIN_SECRET, Elicitor, account_block, write_tools_md

    rng = random.Random(7)
    exchange_md = write_tools_md(tmp_path / "exchange.md", [account_block("main", MAIN_KEY, MAIN_SECRET, "Paper")])
    app = build_app(exchange_md, ":memory:")
    runs = 15
    with serve(app, port=0) as base_url:
        tools_md = write_tools_md(
            tmp_path / "TOOLS.md", [account_block("main", MAIN_KEY, MAIN_SECRET, "Mainnet", base_url)]
        )
        elicitor = Elicitor("accept", "CONFIRM")
        server = build_server(Settings(tools_md=tools_md, journal_path=str(tmp_path / "j.jsonl")), sleep=Sleeps())
        async with Client(server, elicitation_callback=elicitor) as client:
            for run in range(runs):
                fault = rng.choice((None, *AFTER_APPLY, *BEFORE_APPLY))
                if fault:
                    app.inject(fault, "create_margin_order")
                result = await client.call_tool("create_margin_order", {**RESTING, "newClientOrderId": f"m{run}"})
                placed = await orders_with_id(client, f"agent-m{run}")
                assert len(placed) <= 1, (run, fault)
                status = result.structured_content["status"]
                assert status == (placed[0]["status"] if placed else "UNKNOWN"), (run, fault, status)
    assert len(elicitor.messages) == runs  # one human confirmation per request, never a second send
    assert len(outcomes(tmp_path / "j.jsonl")) == runs


BORROW = {"asset": "USDT", "isIsolated": "FALSE", "amount": "10.5", "type": "BORROW"}


async def test_a_second_identical_borrow_that_was_not_executed_is_unknown_not_the_first_ones_record(session):
    """Attack: a second identical borrow that Binance did NOT execute (HTTP 500, -1000) used to come back
    `CONFIRMED, reconciled: true ... sent exactly once`, matched to the FIRST borrow's record. That record is
    claimed by the first borrow's journal line, so the second one is UNKNOWN."""
    async with session() as (client, venue, journal, _, clock):
        first = await client.call_tool("borrow_or_repay", BORROW)
        assert not first.is_error, first.content[0].text
        clock.now += 2_000
        venue.app.inject("http_500", "borrow_or_repay")  # answered 500 and NOT executed
        second = await client.call_tool("borrow_or_repay", BORROW)
        records = await client.call_tool("get_borrow_repay_records", {"type": "BORROW"})
    assert second.is_error and second.structured_content["status"] == "UNKNOWN"
    text = second.content[0].text
    assert "CONFIRMED" not in text and "exactly once" not in text and "already claimed" in text
    assert "get_borrow_repay_records(type=BORROW, asset=USDT" in text
    assert records.structured_content["total"] == 1  # the exchange did borrow once
    tran_id = first.structured_content["tranId"]
    assert [(o["outcome"], o.get("tranId")) for o in outcomes(journal)] == [("sent", tran_id), ("UNKNOWN", None)]


async def test_a_lost_borrow_answer_claims_the_record_that_appeared_after_the_send(session):
    """Executed, answer lost: the one record of that asset and amount from after the send is claimed (its tranId
    goes into the journal) and reported without claiming more than the lookup proved."""
    async with session() as (client, venue, journal, _, _):
        venue.app.inject("http_500_after_apply", "borrow_or_repay")
        result = await client.call_tool("borrow_or_repay", BORROW)
        records = await client.call_tool("get_borrow_repay_records", {"type": "BORROW"})
    assert not result.is_error, result.content[0].text
    data = result.structured_content
    assert data["reconciled"] is True and data["status"] == "CONFIRMED"
    assert "appeared after it was sent" in data["detail"] and "exactly once" not in data["detail"]
    (row,) = records.structured_content["rows"]
    (line,) = outcomes(journal)
    assert (line["outcome"], line["tranId"]) == ("reconciled", row["txId"])


async def test_a_matching_borrow_record_from_before_the_send_is_not_claimed(session):
    """A record of the same asset and amount made 30 s before our borrow (elsewhere, no journal line) is too old to
    be ours: in server time it predates the send, so our unexecuted borrow is UNKNOWN."""
    async with session() as (client, venue, _, _, clock):
        await client.call_tool("get_cross_margin_account", {})  # the paper user exists; the clock offset is measured
        venue.exchange.handle("paper", "borrow_or_repay", BORROW)  # a borrow made outside this server
        clock.now += 30_000
        venue.app.inject("http_500", "borrow_or_repay")
        result = await client.call_tool("borrow_or_repay", BORROW)
        records = await client.call_tool("get_borrow_repay_records", {"type": "BORROW"})
    assert records.structured_content["total"] == 1
    assert result.is_error and result.structured_content["status"] == "UNKNOWN"


async def test_an_order_is_only_ever_matched_by_its_own_client_id(session):
    """An identical order under another client id is on the book; ours never arrived: UNKNOWN, not the other one."""
    async with session() as (client, venue, journal, _, _):
        placed = await client.call_tool("create_margin_order", {**RESTING, "newClientOrderId": "twin1"})
        assert not placed.is_error
        venue.app.inject("http_500", "create_margin_order")
        result = await client.call_tool("create_margin_order", {**RESTING, "newClientOrderId": "twin2"})
        assert result.is_error and result.structured_content["status"] == "UNKNOWN"
        assert await orders_with_id(client, "agent-twin2") == []
    assert [o["outcome"] for o in outcomes(journal)] == ["sent", "UNKNOWN"]


def test_a_record_two_unresolved_identical_borrows_could_own_is_claimed_by_neither():
    """Two identical borrows in flight, one record: which one executed cannot be told, so neither claims it; a
    record already claimed by a journal line is never claimed again."""
    from binance_margin_mcp.catalog import CATALOG
    from binance_margin_mcp.reconcile import Found, choose_record, plan

    params = {**BORROW}
    mine = plan(CATALOG["borrow_or_repay"], params, START_MS, "paper")
    row = {"txId": 9, "asset": "USDT", "amount": "10.50000000", "timestamp": START_MS + 300, "status": "CONFIRMED"}
    rival = {"kind": "intent", "intent": "r" * 16, "account": "paper", "tool": "borrow_or_repay", "params": params}
    rival |= {"serverTime": START_MS + 100, "time": START_MS}
    assert isinstance(choose_record([row], mine.loan, "m" * 16, [], set()), Found)
    assert "unresolved" in str(choose_record([row], mine.loan, "m" * 16, [rival], set()))
    answered = {"kind": "outcome", "intent": "r" * 16, "account": "paper", "outcome": "error"}
    assert isinstance(choose_record([row], mine.loan, "m" * 16, [answered, rival], set()), Found)  # rival failed
    claimed = {"kind": "outcome", "intent": "r" * 16, "account": "paper", "outcome": "sent", "tranId": 9}
    assert "already claimed" in str(choose_record([row], mine.loan, "m" * 16, [claimed, rival], set()))
    assert "already claimed" in str(choose_record([row], mine.loan, "m" * 16, [], {9}))
    other_amount = {**row, "amount": "10.5000001"}
    assert choose_record([other_amount], mine.loan, "m" * 16, [], set()) is None
