"""The account views through the real MCP client: get_margin_risk, get_positions_pnl and watch_account."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from binance_margin_mcp import risk
from binance_margin_mcp.adapter import build_mcp_server
from binance_margin_mcp.app import build_pipeline, build_service
from binance_margin_mcp.risk import Holding
from binance_margin_mcp.settings import Settings

from conftest import MsClock


@pytest.fixture
def paper(tmp_path: Path, ms_clock: MsClock):
    """An MCP client on the built-in paper account (static prices: BTCUSDT 60000, ETHUSDT 3000)."""

    @asynccontextmanager
    async def _open() -> AsyncIterator[tuple[Client, Any]]:
        settings = Settings(tools_md=tmp_path / "none" / "TOOLS.md", paper_state=":memory:")
        service = build_service(settings, clock_ms=ms_clock)
        async with Client(build_mcp_server(build_pipeline(service, settings))) as client:
            yield client, service
        service.venue.exchange.close()

    return _open


async def ok(client: Client, tool: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
    result = await client.call_tool(tool, args or {})
    assert not result.is_error, (tool, result.content[0].text)
    return result.structured_content


def market(symbol: str, side: str, quantity: str, **extra: str) -> dict[str, str]:
    return {"symbol": symbol, "side": side, "type": "MARKET", "quantity": quantity, **extra}


async def three_positions(client: Client) -> None:
    """Cross long BTC bought with a USDT borrow, cross short ETH sold with an ETH borrow, an isolated BTC long."""
    await ok(client, "create_margin_order", market("BTCUSDT", "BUY", "0.2", sideEffectType="MARGIN_BUY"))
    await ok(client, "create_margin_order", market("ETHUSDT", "SELL", "1", sideEffectType="MARGIN_BUY"))
    await ok(client, "deposit_paper_funds", {"asset": "USDT", "amount": "1000", "isolated_symbol": "BTCUSDT"})
    iso = market("BTCUSDT", "BUY", "0.03", sideEffectType="MARGIN_BUY", isIsolated="TRUE")
    await ok(client, "create_margin_order", iso)


async def test_margin_risk_shows_level_thresholds_debts_and_liquidation_prices_on_paper(paper):
    """Cross long + short and an isolated long: the level is the account's, the thresholds tradeCoeff's, every
    debt has its hourly interest, and each liquidation price equals risk.liquidation_price on the account's own
    balances (isolated: Binance's liquidatePrice too)."""
    async with paper() as (client, _):
        await three_positions(client)
        data = await ok(client, "get_margin_risk")
        account = await ok(client, "get_cross_margin_account")
    cross = data["cross"]
    assert cross["marginLevel"] == account["marginLevel"]
    assert cross["thresholds"] == {"normal": "1.5", "marginCall": "1.3", "liquidation": "1.1"}
    debts = {d["asset"]: d for d in cross["debts"]}
    assert set(debts) == {"USDT", "ETH"}
    usdt = debts["USDT"]
    assert Decimal(usdt["hourlyInterest"]) == (Decimal(usdt["borrowed"]) * Decimal("0.0003") / 24).quantize(
        Decimal("1e-8")
    )
    holdings = {
        row["asset"]: Holding(
            row["asset"],
            Decimal(row["free"]) + Decimal(row["locked"]),
            Decimal(row["borrowed"]),
            Decimal(row["interest"]),
        )
        for row in account["userAssets"]
    }
    prices = {"USDT": Decimal(1), "BTC": Decimal(60000), "ETH": Decimal(3000), "BNB": Decimal(600)}
    positions = {p["asset"]: p for p in cross["positions"]}
    for asset in ("BTC", "ETH"):
        expected = risk.liquidation_price(holdings, prices, asset, Decimal("1.1"))
        assert Decimal(positions[asset]["liquidationPrice"]) == expected.quantize(Decimal("1e-8"))
    assert Decimal(positions["BTC"]["liquidationDistancePct"]) < 0 < Decimal(positions["ETH"]["liquidationDistancePct"])
    assert Decimal(positions["BTC"]["marginCallPrice"]) > Decimal(positions["BTC"]["liquidationPrice"])
    (pair,) = data["isolated"]
    assert pair["symbol"] == "BTCUSDT" and pair["thresholds"]["liquidation"] == "1.05"
    assert abs(Decimal(pair["liquidationPrice"]) - Decimal(pair["binanceLiquidatePrice"])) < Decimal("0.01")
    assert pair["debts"][0]["asset"] == "USDT" and pair["debts"][0]["hourlyInterest"] != "unknown"


async def test_margin_risk_for_one_symbol_keeps_only_that_pair(paper):
    """symbol=BTCUSDT: the cross BTC/USDT rows and the BTCUSDT isolated pair, no ETH."""
    async with paper() as (client, _):
        await three_positions(client)
        data = await ok(client, "get_margin_risk", {"symbol": "BTCUSDT"})
    assert [p["asset"] for p in data["cross"]["positions"]] == ["BTC"]
    assert [d["asset"] for d in data["cross"]["debts"]] == ["USDT"]
    assert [p["symbol"] for p in data["isolated"]] == ["BTCUSDT"]
    assert len(json.dumps(data)) < 2048


async def test_the_account_views_are_found_by_search_tools(paper):
    """search_tools finds the hand-written views by their words (they are listed: called directly)."""
    async with paper() as (client, _):
        found = await ok(client, "search_tools", {"query": "margin risk liquidation price"})
    names = [row["name"] for row in found["results"]]
    assert "get_margin_risk" in names


def test_average_cost_replay_is_hand_checked():
    """Buy 1 @ 100, buy 1 @ 200 (entry 150), sell 0.5 @ 300 (realised 0.5 x 150 = 75), no fees; then a sell of 2
    goes through zero: 1.5 closed at 300 (+225), a 0.5 short opens at 300."""
    from binance_margin_mcp.positions import replay

    def fill(buy: bool, qty: str, price: str, t: int) -> dict[str, Any]:
        return {"isBuyer": buy, "qty": qty, "price": price, "commission": "0", "commissionAsset": "USDT", "time": t}

    trades = [fill(True, "1", "100", 1), fill(True, "1", "200", 2), fill(False, "0.5", "300", 3)]
    book = replay(trades, "BTC", "USDT")
    assert (book.size, book.entry, book.realised) == (Decimal("1.5"), Decimal(150), Decimal(75))
    book = replay([*trades, fill(False, "2", "300", 4)], "BTC", "USDT")
    assert (book.size, book.entry, book.realised) == (Decimal("-0.5"), Decimal(300), Decimal(300))


def test_fees_count_in_the_average_cost():
    """A base-asset fee shrinks what a buy adds (1 BTC for 100 USDT, fee 0.001 BTC: entry 100 / 0.999); a quote
    fee lowers what a sell realises."""
    from binance_margin_mcp.positions import replay

    buy = {"isBuyer": True, "qty": "1", "price": "100", "commission": "0.001", "commissionAsset": "BTC", "time": 1}
    sell = {"isBuyer": False, "qty": "0.999", "price": "110", "commission": "0.1", "commissionAsset": "USDT", "time": 2}
    book = replay([buy, sell], "BTC", "USDT")
    entry = Decimal(100) / Decimal("0.999")
    assert book.size == 0
    assert book.realised == (Decimal("0.999") * 110 - Decimal("0.1")) / Decimal("0.999") * Decimal("0.999") - (
        entry * Decimal("0.999")
    )


async def test_positions_pnl_after_two_buys_at_different_prices_and_one_sell(paper):
    """Buy 0.01 BTC at 60000, move to 62000, buy 0.01, sell 0.005 at 64000: size, average entry, realised and
    unrealised PnL match the paper trades worked by hand (fees in BTC on buys, in USDT on the sell)."""
    async with paper() as (client, _):
        await ok(client, "create_margin_order", market("BTCUSDT", "BUY", "0.01"))
        await ok(client, "set_paper_price", {"symbol": "BTCUSDT", "price": "62000"})
        await ok(client, "create_margin_order", market("BTCUSDT", "BUY", "0.01"))
        await ok(client, "set_paper_price", {"symbol": "BTCUSDT", "price": "64000"})
        await ok(client, "create_margin_order", market("BTCUSDT", "SELL", "0.005"))
        trades = (await client.call_tool("get_margin_trades", {"symbol": "BTCUSDT"})).structured_content["result"]
        data = await ok(client, "get_positions_pnl", {"symbol": "BTCUSDT"})
    (row,) = [p for p in data["positions"] if not p["isolated"]]
    buys = [t for t in trades if t["isBuyer"]]
    sells = [t for t in trades if not t["isBuyer"]]
    got = [Decimal(t["qty"]) - Decimal(t["commission"]) for t in buys]  # fee taken in BTC
    cost = sum(Decimal(t["qty"]) * Decimal(t["price"]) for t in buys)
    entry = cost / sum(got)
    sold = sum(Decimal(t["qty"]) for t in sells)
    proceeds = sum(Decimal(t["qty"]) * Decimal(t["price"]) - Decimal(t["commission"]) for t in sells)
    size = sum(got) - sold
    assert Decimal(row["size"]) == size
    assert Decimal(row["avgEntry"]) == entry.quantize(Decimal("1e-8"))
    assert 60000 < entry < 62000
    assert Decimal(row["realisedPnl"]) == (proceeds - sold * entry).quantize(Decimal("1e-4"))
    assert Decimal(row["unrealisedPnl"]) == ((Decimal(row["mark"]) - entry) * size).quantize(Decimal("1e-4"))
    assert row["trades"] == len(trades)
    assert data["history"].startswith("trades since 2027-01-08T") and "older trades are not included" in data["history"]


async def test_positions_pnl_fits_in_about_5_kb_for_a_typical_account(paper):
    """Cross BTC, ETH, BNB, SOL, XRP positions with borrows and three isolated pairs: the answer stays under 5 KB."""
    async with paper() as (client, _):
        await ok(client, "deposit_paper_funds", {"asset": "USDT", "amount": "50000"})
        for symbol, qty in (
            ("BTCUSDT", "0.05"),
            ("ETHUSDT", "1"),
            ("BNBUSDT", "2"),
            ("SOLUSDT", "5"),
            ("XRPUSDT", "100"),
        ):
            await ok(client, "create_margin_order", market(symbol, "BUY", qty, sideEffectType="MARGIN_BUY"))
            await ok(
                client,
                "create_margin_order",
                market(symbol, "SELL", str(Decimal(qty) / 2), sideEffectType="AUTO_REPAY"),
            )
            await ok(client, "create_margin_order", market(symbol, "BUY", qty, sideEffectType="MARGIN_BUY"))
        for symbol in ("BTCUSDT", "ETHUSDT", "BNBUSDT"):
            await ok(client, "deposit_paper_funds", {"asset": "USDT", "amount": "1000", "isolated_symbol": symbol})
        result = await client.call_tool("get_positions_pnl", {})
        risk_result = await client.call_tool("get_margin_risk", {})
    assert not result.is_error, result.content[0].text
    assert len(result.structured_content["positions"]) >= 8
    size = len(result.content[0].text)
    print(f"\nget_positions_pnl: {size} bytes; get_margin_risk: {len(risk_result.content[0].text)} bytes")
    assert size <= 5 * 1024, size


# -- watch_account ---------------------------------------------------------------------------------------------


async def test_watch_reports_the_margin_level_crossing_when_the_price_moves_from_another_task(paper):
    """A leveraged BTC long; watch_account(marginLevelBelow=1.5) waits while another task moves BTC down, and
    answers with the crossing well before its timeout."""
    import anyio

    async with paper() as (client, _):
        await ok(client, "create_margin_order", market("BTCUSDT", "BUY", "0.4", sideEffectType="MARGIN_BUY"))
        answers: list[dict[str, Any]] = []

        async def watcher() -> None:
            args = {"events": "marginLevel", "marginLevelBelow": "1.5", "timeout_s": 20}
            answers.append(await ok(client, "watch_account", args))

        async with anyio.create_task_group() as tg:
            tg.start_soon(watcher)
            await anyio.sleep(0.3)
            assert not answers  # still waiting: the level is about 2.1
            await ok(client, "set_paper_price", {"symbol": "BTCUSDT", "price": "36000"})  # about 1.28
    (answer,) = answers
    event = answer["events"][0]
    assert event["type"] == "marginLevel" and Decimal(event["marginLevel"]) < Decimal("1.5")
    assert event["status"] == "MARGIN_CALL"  # the exchange's risk event
    assert answer["how"] == "paper exchange events" and answer["waitedSeconds"] < 5


async def test_watch_times_out_quietly_when_nothing_happens(paper):
    """No order, no move: the answer comes at timeout_s with no events and timedOut true."""
    async with paper() as (client, _):
        answer = await ok(client, "watch_account", {"events": "orders,liquidation", "timeout_s": 1})
    assert answer["events"] == [] and answer["timedOut"] is True and answer["waitedSeconds"] >= 1


async def test_watch_reports_a_resting_order_filled_by_a_price_move(paper):
    """A LIMIT buy below the market fills when another task moves the price through it: a FILLED order event."""
    import anyio

    async with paper() as (client, _):
        limit = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01"}
        placed = await ok(client, "create_margin_order", {**limit, "price": "59000"})
        answers: list[dict[str, Any]] = []

        async def watcher() -> None:
            args = {"events": "orders", "symbol": "BTCUSDT", "timeout_s": 20}
            answers.append(await ok(client, "watch_account", args))

        async with anyio.create_task_group() as tg:
            tg.start_soon(watcher)
            await anyio.sleep(0.3)
            await ok(client, "set_paper_price", {"symbol": "BTCUSDT", "price": "58000"})
    (event,) = answers[0]["events"]
    assert event["type"] == "order" and event["status"] == "FILLED"
    assert str(event["orderId"]) == str(placed["orderId"])


def test_watch_refuses_a_margin_level_watch_without_a_threshold():
    """events including marginLevel need marginLevelBelow; unknown event names are refused."""
    from binance_margin_mcp.errors import InvalidArguments
    from binance_margin_mcp.watch import Watch, parse_events

    with pytest.raises(InvalidArguments):
        parse_events("orders,fills")
    with pytest.raises(InvalidArguments):
        Watch(None, parse_events(None), None, None)  # type: ignore[arg-type]


class FillAfter:
    """An injected sleep that returns at once; after `rounds` sleeps the fake's open order has filled."""

    def __init__(self, fake: Any, rounds: int) -> None:
        self.fake, self.rounds, self.calls = fake, rounds, []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if len(self.calls) == self.rounds:
            self.fake.respond("GET", "/sapi/v1/margin/openOrders", [])


@pytest.fixture
def sleeps(fake):
    return FillAfter(fake, rounds=2)


OPEN = {"symbol": "BTCUSDT", "orderId": 7, "clientOrderId": "agent-x", "side": "BUY", "status": "NEW"}


async def test_watch_polls_a_testnet_account_and_reports_the_fill_and_the_weight_used(connect, fake, sleeps):
    """Testnet (fake Binance): open orders are polled every 3 s; when the order leaves the list it is looked up
    (FILLED) and reported, with the weight of every read: 10 + 2 rounds x (10 + 1) + 10 for the lookup."""
    fake.respond("GET", "/sapi/v1/margin/openOrders", [{**OPEN, "executedQty": "0", "origQty": "0.01"}])
    fake.respond("GET", "/sapi/v1/margin/order", {**OPEN, "status": "FILLED", "executedQty": "0.01", "origQty": "0.01"})
    fake.respond("GET", "/sapi/v1/margin/forceLiquidationRec", {"rows": [], "total": 0})
    async with connect() as client:
        answer = await ok(client, "watch_account", {"account": "practice", "events": "orders,liquidation"})
    (event,) = answer["events"]
    assert event["status"] == "FILLED" and event["orderId"] == 7
    assert answer["how"] == "polled every 3 s" and sleeps.calls == [3.0, 3.0]
    assert answer["weightUsed"] == 10 + 2 * 11 + 10
    paths = [r.path for r in fake.requests if r.path.startswith("/sapi")]
    assert paths.count("/sapi/v1/margin/openOrders") == 3 and paths.count("/sapi/v1/margin/order") == 1


async def test_watch_on_testnet_times_out_after_its_polls_and_stops_early_over_budget(connect, fake, sleeps):
    """Nothing happens: the polls fit in timeout_s (3 of 3 s in 10 s). A minute already near its IP limit makes
    the watch stop early, saying so, instead of spending the rest."""
    sleeps.rounds = 99
    fake.respond("GET", "/sapi/v1/margin/openOrders", [])
    fake.respond("GET", "/sapi/v1/margin/forceLiquidationRec", {"rows": [], "total": 0})
    async with connect() as client:
        quiet = await ok(
            client, "watch_account", {"account": "practice", "events": "orders,liquidation", "timeout_s": 10}
        )
        fake.respond("GET", "/sapi/v1/margin/openOrders", [], headers={"X-SAPI-USED-IP-WEIGHT-1M": "6000"})
        busy = await ok(client, "watch_account", {"account": "practice", "events": "orders", "timeout_s": 10})
    assert quiet["events"] == [] and quiet["timedOut"] is True and quiet["weightUsed"] == 10 + 3 * 11
    assert "stoppedEarly" in busy and busy["timedOut"] is False
