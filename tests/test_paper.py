"""Paper trading through the MCP tools: every endpoint, a margin scenario, order lists, persistence, reset."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from binance_margin_mcp.adapter import build_mcp_server
from binance_margin_mcp.app import build_pipeline, build_service
from binance_margin_mcp.catalog import CATALOG
from binance_margin_mcp.settings import Settings

from conftest import (
    MAIN_KEY,
    MAIN_SECRET,
    TEST_KEY,
    TEST_SECRET,
    MsClock,
    account_block,
    text_of,
    write_tools_md,
)

HOUR = 3_600_000


@pytest.fixture
def paper(tmp_path: Path, ms_clock: MsClock):
    """paper(state=":memory:") -> async context manager yielding (client, service) on the built-in paper account."""

    @asynccontextmanager
    async def _open(state: str = ":memory:") -> AsyncIterator[tuple[Client, Any]]:
        settings = Settings(
            tools_md=tmp_path / "no-accounts" / "TOOLS.md",
            paper_state=state,
            enable_special_key_creation=True,  # off by default; this suite exercises every endpoint
            enable_manual_liquidation=True,
        )
        service = build_service(settings, clock_ms=ms_clock)
        async with Client(build_mcp_server(build_pipeline(service, settings))) as client:
            yield client, service
        service.venue.exchange.close()

    return _open


async def ok(client: Client, tool: str, args: dict[str, Any] | None = None) -> Any:
    result = await client.call_tool(tool, args or {})
    assert not result.is_error, (tool, result.content[0].text)
    data = result.structured_content
    return data["result"] if set(data) == {"result"} else data


def asset_row(account: dict, asset: str) -> dict[str, Decimal]:
    row = next(a for a in account["userAssets"] if a["asset"] == asset)
    return {k: Decimal(v) for k, v in row.items() if k != "asset"}


LIMIT_BUY = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.001"}


async def test_every_endpoint_answers_through_the_mcp_tools_on_paper(paper):
    """All 69 tools succeed against the paper exchange in a plausible order, with Binance-shaped answers."""
    called: set[str] = set()

    async def call(tool: str, args: dict[str, Any] | None = None) -> Any:
        called.add(tool)
        return await ok(client, tool, args)

    async with paper() as (client, _):
        for tool in (
            "get_bnb_burn_settings",
            "get_cross_margin_account",
            "get_margin_capital_flow",
            "get_cross_margin_fee_data",
            "get_isolated_margin_account_limit",
            "get_isolated_margin_fee_data",
            "get_margin_level_summary",
            "list_margin_assets",
            "list_cross_margin_pairs",
            "get_cross_margin_collateral_ratios",
            "get_margin_delist_schedule",
            "list_isolated_margin_pairs",
            "list_margin_limit_price_pairs",
            "get_margin_listing_schedule",
            "list_margin_restricted_assets",
            "get_margin_risk_based_liquidation_ratios",
            "get_margin_interest_history",
            "get_margin_order_rate_usage",
            "get_forced_liquidation_history",
            "get_liquidation_loan",
            "get_liquidation_loan_repay_history",
            "get_margin_transfer_history",
            "list_small_liability_exchange_assets",
            "get_all_margin_order_lists",
            "get_open_margin_order_lists",
            "get_open_margin_oto_order_lists",
            "list_margin_special_keys",
        ):
            await call(tool)
        await call("enable_isolated_margin_account", {"symbol": "BTCUSDT"})
        isolated = await call("get_isolated_margin_account", {"symbols": "BTCUSDT"})
        assert isolated["assets"][0]["symbol"] == "BTCUSDT"
        await call("disable_isolated_margin_account", {"symbol": "BTCUSDT"})
        await call("adjust_cross_margin_max_leverage", {"maxLeverage": 5})
        await call("get_margin_available_inventory", {"type": "MARGIN"})
        await call("get_isolated_margin_tiers", {"symbol": "BTCUSDT"})
        assert (await call("get_margin_price_index", {"symbol": "BTCUSDT"}))["symbol"] == "BTCUSDT"
        # special keys (exiting special-key mode needs an account without debt)
        created = await call("create_margin_special_key", {"apiName": "bot1"})
        assert created["apiKey"] and created["secretKey"]
        await call("get_margin_special_key")
        await call("update_margin_special_key_ip", {"ip": "1.2.3.4"})
        await call("exit_margin_special_key_mode")
        await call("delete_margin_special_key", {"apiName": "bot1"})
        # borrow and repay
        borrow = {"asset": "USDT", "isIsolated": "FALSE", "type": "BORROW"}
        tran = await call("borrow_or_repay", {**borrow, "amount": "100"})
        records = await call("get_borrow_repay_records", {"type": "BORROW", "txId": tran["tranId"]})
        assert records["rows"][0]["amount"] in ("100", "100.00000000")
        await call("get_margin_interest_rate_history", {"asset": "USDT"})
        await call("get_max_borrowable", {"asset": "USDT"})
        await call("get_next_hourly_interest_rates", {"assets": "USDT,BTC", "isIsolated": "FALSE"})
        await call("borrow_or_repay", {**borrow, "type": "REPAY", "amount": "50"})
        await call("get_max_transferable", {"asset": "USDT"})
        # single orders
        await call("create_margin_order", {**LIMIT_BUY, "price": "50000", "newClientOrderId": "rest1"})
        found = await call("get_margin_order", {"symbol": "BTCUSDT", "origClientOrderId": "agent-rest1"})
        assert found["status"] == "NEW"
        assert len(await call("get_open_margin_orders", {"symbol": "BTCUSDT"})) == 1
        cancelled = await call("cancel_margin_order", {"symbol": "BTCUSDT", "origClientOrderId": "agent-rest1"})
        assert cancelled["status"] == "CANCELED"
        await call("get_all_margin_orders", {"symbol": "BTCUSDT"})
        await call("create_margin_order", {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.001"})
        assert len(await call("get_margin_trades", {"symbol": "BTCUSDT"})) == 1
        await call("get_margin_prevented_matches", {"symbol": "BTCUSDT"})
        # order lists
        oco = await call(
            "create_margin_oco_order",
            {"symbol": "BTCUSDT", "side": "SELL", "quantity": "0.001", "price": "65000", "stopPrice": "55000"},
        )
        await call("get_margin_order_list", {"orderListId": oco["orderListId"]})
        await call("cancel_margin_order_list", {"symbol": "BTCUSDT", "orderListId": oco["orderListId"]})
        await call("create_margin_oto_order", OTO)
        await call("create_margin_otoco_order", OTOCO)
        await call("cancel_all_open_margin_orders", {"symbol": "BTCUSDT"})
        # small liability, streams, special keys
        await call("borrow_or_repay", {**borrow, "asset": "ETH", "amount": "0.001"})
        await call("exchange_small_liability", {"assetNames": "ETH"})
        await call("list_small_liability_exchanges", {"current": 1, "size": 10})
        for suffix in ("", "_v2"):
            key = (await call(f"start_margin_user_data_stream{suffix}"))["listenKey"]
            await call(f"keepalive_margin_user_data_stream{suffix}", {"listenKey": key})
            await call(f"close_margin_user_data_stream{suffix}")
        await call("trigger_manual_liquidation", {"type": "MARGIN"})
        # the liquidation-loan repay needs a bankrupt account: see the liquidation test
        called.add("repay_liquidation_loan")
        # retired by Binance on 2026-04-13: refused before sending (tests/test_binance_2026.py)
        retired = await client.call_tool("get_cross_margin_pro_leverage_brackets", {})
        assert retired.is_error and "2026-04-13" in retired.content[0].text
        called.add("get_cross_margin_pro_leverage_brackets")
    assert called == set(CATALOG)


OTO = {
    "symbol": "BTCUSDT",
    "workingType": "LIMIT",
    "workingSide": "BUY",
    "workingPrice": "59000",
    "workingQuantity": "0.001",
    "workingTimeInForce": "GTC",
    "pendingType": "LIMIT",
    "pendingSide": "SELL",
    "pendingQuantity": "0.001",
    "pendingPrice": "70000",
    "pendingTimeInForce": "GTC",
}
OTOCO = {
    "symbol": "BTCUSDT",
    "workingType": "LIMIT",
    "workingSide": "BUY",
    "workingPrice": "59000",
    "workingQuantity": "0.001",
    "workingTimeInForce": "GTC",
    "pendingSide": "SELL",
    "pendingQuantity": "0.001",
    "pendingAboveType": "LIMIT_MAKER",
    "pendingAbovePrice": "70000",
    "pendingBelowType": "STOP_LOSS",
    "pendingBelowStopPrice": "50000",
}


async def test_margin_scenario_borrow_margin_buy_margin_call_repay_and_hourly_interest(paper, ms_clock):
    """Seeded balances; borrow; MARGIN_BUY fills on a move; a fall brings a margin call; repay pays interest first."""
    async with paper() as (client, _):
        start = await ok(client, "get_cross_margin_account")
        assert asset_row(start, "USDT")["free"] == 10000 and asset_row(start, "BTC")["free"] == Decimal("0.1")
        await ok(
            client, "borrow_or_repay", {"asset": "USDT", "isIsolated": "FALSE", "amount": "10000", "type": "BORROW"}
        )
        order = await ok(
            client,
            "create_margin_order",
            {**LIMIT_BUY, "quantity": "0.5", "price": "59000", "sideEffectType": "MARGIN_BUY"},
        )
        assert order["status"] == "NEW"
        await ok(client, "set_paper_price", {"symbol": "BTCUSDT", "price": "58900"})
        assert (await ok(client, "get_margin_order", {"symbol": "BTCUSDT", "orderId": order["orderId"]}))[
            "status"
        ] == "FILLED"
        account = await ok(client, "get_cross_margin_account")
        assert asset_row(account, "USDT")["borrowed"] > 10000  # the MARGIN_BUY borrowed the shortfall
        # the price falls until the account is in the margin-call band
        await ok(client, "set_paper_price", {"symbol": "BTCUSDT", "price": "40000"})
        account = await ok(client, "get_cross_margin_account")
        bars = await ok(client, "get_margin_level_summary")
        level = Decimal(account["marginLevel"])
        assert Decimal(bars["forceLiquidationBar"]) < level <= Decimal(bars["marginCallBar"]), level
        # three simulated hours: one charge at borrow time plus one per hour boundary
        ms_clock.now += 3 * HOUR
        history = await ok(client, "get_margin_interest_history", {"asset": "USDT"})
        assert [row["type"] for row in history["rows"]].count("PERIODIC") >= 3
        assert any(row["type"] == "ON_BORROW" for row in history["rows"])
        # free USDT went into the MARGIN_BUY; sell a little BTC to have something to repay with
        await ok(
            client, "create_margin_order", {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.01"}
        )
        before = asset_row(await ok(client, "get_cross_margin_account"), "USDT")
        assert before["interest"] > 0 and before["free"] >= 100
        await ok(client, "borrow_or_repay", {"asset": "USDT", "isIsolated": "FALSE", "amount": "100", "type": "REPAY"})
        after = asset_row(await ok(client, "get_cross_margin_account"), "USDT")
        assert after["interest"] == 0  # interest first
        assert after["borrowed"] == before["borrowed"] - (100 - before["interest"])


async def test_a_crash_force_liquidates_and_a_shortfall_becomes_a_repayable_liquidation_loan(paper):
    """Below the liquidation bar the account is liquidated, recorded, and a bankrupt shortfall can be repaid."""
    async with paper() as (client, service):
        await ok(
            client, "borrow_or_repay", {"asset": "USDT", "isIsolated": "FALSE", "amount": "20000", "type": "BORROW"}
        )
        await ok(
            client,
            "create_margin_order",
            {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.49", "sideEffectType": "MARGIN_BUY"},
        )
        await ok(client, "set_paper_price", {"symbol": "BTCUSDT", "price": "5000"})
        records = await ok(client, "get_forced_liquidation_history")
        assert records["total"] >= 1 and records["rows"][0]["symbol"] == "BTCUSDT"
        loan = await ok(client, "get_liquidation_loan")
        service.venue.exchange.deposit("paper", "USDC", "100000")
        owed = loan_amount(loan)
        assert owed > 0
        await ok(client, "repay_liquidation_loan", {"asset": "USDC", "amount": str(owed)})
        assert loan_amount(await ok(client, "get_liquidation_loan")) == 0
        assert (await ok(client, "get_liquidation_loan_repay_history"))["total"] >= 1


def loan_amount(loan: dict[str, str]) -> Decimal:
    """What is still owed on the liquidation loan."""
    return Decimal(loan["remainingAmount"])


async def test_oco_one_leg_fills_the_other_is_cancelled(paper):
    """SELL OCO: limit > last > stop; when the price reaches the limit, the stop leg is cancelled."""
    async with paper() as (client, _):
        oco = await ok(
            client,
            "create_margin_oco_order",
            {"symbol": "BTCUSDT", "side": "SELL", "quantity": "0.01", "price": "61000", "stopPrice": "59000"},
        )
        assert oco["contingencyType"] == "OCO" and len(oco["orders"]) == 2
        await ok(client, "set_paper_price", {"symbol": "BTCUSDT", "price": "61500"})
        done = await ok(client, "get_margin_order_list", {"orderListId": oco["orderListId"]})
        assert done["listOrderStatus"] == "ALL_DONE"
        statuses = []
        for leg in oco["orders"]:
            statuses.append(
                (await ok(client, "get_margin_order", {"symbol": "BTCUSDT", "orderId": leg["orderId"]}))["status"]
            )
        statuses.sort()
        assert statuses in (["EXPIRED", "FILLED"], ["CANCELED", "FILLED"])
        bad = await client.call_tool(
            "create_margin_oco_order",
            {"symbol": "BTCUSDT", "side": "SELL", "quantity": "0.01", "price": "50000", "stopPrice": "59000"},
        )
        # refused before sending, by the local check of Binance's OCO price rule
        assert bad.is_error and bad.structured_content["status"] == "invalid_arguments"
        assert "OCO_PRICES" in bad.content[0].text


async def test_oto_pending_order_is_placed_when_the_working_order_fills(paper):
    """OTO: the pending leg is PENDING_NEW until the working order fully fills, then it rests on the book."""
    async with paper() as (client, _):
        oto = await ok(client, "create_margin_oto_order", OTO)
        pending = oto["orderReports"][-1]
        assert pending["status"] == "PENDING_NEW"
        await ok(client, "set_paper_price", {"symbol": "BTCUSDT", "price": "58500"})
        placed = await ok(client, "get_margin_order", {"symbol": "BTCUSDT", "orderId": pending["orderId"]})
        assert placed["status"] == "NEW" and placed["side"] == "SELL"


async def test_otoco_places_an_oco_pair_after_the_working_fill_and_cancelling_cascades(paper):
    """OTOCO: after the working fill both pending legs rest; cancelling the list cancels them all."""
    async with paper() as (client, _):
        otoco = await ok(client, "create_margin_otoco_order", OTOCO)
        await ok(client, "set_paper_price", {"symbol": "BTCUSDT", "price": "58500"})
        open_orders = await ok(client, "get_open_margin_orders", {"symbol": "BTCUSDT"})
        assert len(open_orders) == 2
        await ok(client, "cancel_margin_order_list", {"symbol": "BTCUSDT", "orderListId": otoco["orderListId"]})
        assert await ok(client, "get_open_margin_orders", {"symbol": "BTCUSDT"}) == []


async def test_paper_state_survives_a_restart(paper, tmp_path):
    """Balances, loans and open orders are in SQLite: a new server process on the same file sees them."""
    state = str(tmp_path / "paper.sqlite")
    async with paper(state) as (client, _):
        await ok(
            client, "borrow_or_repay", {"asset": "USDT", "isIsolated": "FALSE", "amount": "123.45", "type": "BORROW"}
        )
        order = await ok(client, "create_margin_order", {**LIMIT_BUY, "price": "50000"})
        before = await ok(client, "get_cross_margin_account")
    async with paper(state) as (client, _):
        after = await ok(client, "get_cross_margin_account")
        open_orders = await ok(client, "get_open_margin_orders", {"symbol": "BTCUSDT"})
    assert asset_row(after, "USDT") == asset_row(before, "USDT")
    assert [o["orderId"] for o in open_orders] == [order["orderId"]]


async def test_reset_paper_account_restores_the_starting_balances(paper):
    """reset_paper_account forgets orders and loans and restores 10000 USDT / 0.1 BTC."""
    async with paper() as (client, _):
        await ok(client, "borrow_or_repay", {"asset": "USDT", "isIsolated": "FALSE", "amount": "500", "type": "BORROW"})
        await ok(client, "create_margin_order", {**LIMIT_BUY, "price": "50000"})
        await ok(client, "reset_paper_account")
        account = await ok(client, "get_cross_margin_account")
        assert await ok(client, "get_open_margin_orders", {"symbol": "BTCUSDT"}) == []
    usdt = asset_row(account, "USDT")
    assert (usdt["free"], usdt["borrowed"]) == (10000, 0)


async def test_paper_controls_refuse_real_accounts(connect):
    """reset_paper_account and set_paper_price never act on a non-paper account."""
    async with connect() as client:
        reset = await client.call_tool("reset_paper_account", {"account": "main"})
        price = await client.call_tool("set_paper_price", {"symbol": "BTCUSDT", "price": "1"})
    assert reset.is_error and "not a built-in paper account" in reset.content[0].text
    assert price.is_error


async def test_isolated_margin_on_paper_funded_then_borrow_and_trade(paper):
    """deposit_paper_funds funds an isolated pair; then isolated borrow and an isolated order work."""
    async with paper() as (client, _):
        await ok(client, "deposit_paper_funds", {"asset": "USDT", "amount": "1000", "isolated_symbol": "BTCUSDT"})
        await ok(
            client,
            "borrow_or_repay",
            {"asset": "USDT", "isIsolated": "TRUE", "symbol": "BTCUSDT", "amount": "500", "type": "BORROW"},
        )
        order = await ok(client, "create_margin_order", {**LIMIT_BUY, "isIsolated": "TRUE", "price": "59000"})
        isolated = await ok(client, "get_isolated_margin_account", {"symbols": "BTCUSDT"})
    quote = isolated["assets"][0]["quoteAsset"]
    assert Decimal(quote["borrowed"]) == 500 and order["isIsolated"] is True
    assert Decimal(quote["locked"]) > 0  # the resting isolated order holds its funds


# -- a damaged state file -------------------------------------------------------------------------------------

GARBAGE = b"this is not an SQLite database\n" * 64


async def test_a_damaged_paper_state_file_stops_only_the_paper_accounts(connect, tmp_path, fake, caplog):
    """The server starts; Mainnet and Testnet work; paper calls say what is wrong; reset moves the file aside."""
    state = tmp_path / "paperdata" / "paper.sqlite"
    state.parent.mkdir()
    state.write_bytes(GARBAGE)
    path = write_tools_md(
        tmp_path / "T.md",
        [
            account_block("main", MAIN_KEY, MAIN_SECRET, "Mainnet"),
            account_block("practice", TEST_KEY, TEST_SECRET, "Testnet"),
            account_block("sim", TEST_KEY.lower(), TEST_SECRET.lower(), "Paper"),
        ],
    )
    async with connect(path=path, paper_state=str(state)) as client:
        testnet = await client.call_tool("get_cross_margin_account", {"account": "practice"})
        mainnet = await client.call_tool("get_cross_margin_account", {"account": "main"})
        cancel = await client.call_tool("cancel_margin_order", {"symbol": "BTCUSDT", "orderId": 1, "account": "main"})
        paper = await client.call_tool("get_cross_margin_account", {"account": "sim"})
        price = await client.call_tool("set_paper_price", {"symbol": "BTCUSDT", "price": "1"})
        deposit = await client.call_tool("deposit_paper_funds", {"account": "sim", "asset": "USDT", "amount": "1"})
        reset = await client.call_tool("reset_paper_account", {"account": "sim"})
        after = await client.call_tool("get_cross_margin_account", {"account": "sim"})
    assert not testnet.is_error and not mainnet.is_error
    assert cancel.structured_content["status"] == "approval_pending"  # a Mainnet cancel reaches the human
    for result in (paper, price, deposit):
        assert result.is_error and "state file is damaged" in text_of(result)
        assert "reset_paper_account moves it aside" in text_of(result)
    assert not reset.is_error, text_of(reset)
    moved = reset.structured_content["movedAside"]
    assert moved.startswith("paper.sqlite.corrupt-") and "moved aside" in text_of(reset)
    assert (state.parent / moved).read_bytes() == GARBAGE  # kept, not deleted
    assert not after.is_error and asset_row(after.structured_content, "USDT")["free"] == 10000
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "binance_margin_mcp.paper")
    assert str(tmp_path) not in "".join(text_of(r) for r in (paper, price, deposit, reset)) + logged
    assert "paper exchange: the state file (--paper-state) is damaged" in logged


async def test_a_damaged_state_with_no_tools_md_still_lists_the_built_in_account_and_reset_recovers(tmp_path, ms_clock):
    """With no TOOLS.md the built-in paper account is listed; it answers the damage until reset starts fresh."""
    state = tmp_path / "paper.sqlite"
    state.write_bytes(GARBAGE)
    settings = Settings(tools_md=tmp_path / "absent.md", paper_state=str(state))
    service = build_service(settings, clock_ms=ms_clock)
    async with Client(build_mcp_server(build_pipeline(service, settings))) as client:
        listed = await client.call_tool("list_accounts", {})
        broken = await client.call_tool("get_cross_margin_account", {})
        await ok(client, "reset_paper_account")
        fixed = await ok(client, "get_cross_margin_account")
        again = await ok(client, "reset_paper_account")  # nothing damaged now: a plain reset
    assert "paper (Paper)" in listed.content[0].text
    assert broken.is_error and "state file is damaged" in broken.content[0].text
    assert asset_row(fixed, "BTC")["free"] == Decimal("0.1")
    assert "movedAside" not in again
    assert len(list(tmp_path.glob("paper.sqlite.corrupt-*"))) == 1
    service.venue.close()


async def test_a_state_file_that_cannot_be_opened_is_reported_and_reset_tries_again(tmp_path, ms_clock):
    """An unopenable path (its directory is a file) is not "damaged": nothing is moved, reset opens it once fixed."""
    blocker = tmp_path / "data"
    blocker.write_text("a file where the directory should be")
    settings = Settings(tools_md=tmp_path / "absent.md", paper_state=str(blocker / "paper.sqlite"))
    service = build_service(settings, clock_ms=ms_clock)
    async with Client(build_mcp_server(build_pipeline(service, settings))) as client:
        broken = await client.call_tool("get_cross_margin_account", {})
        still = await client.call_tool("reset_paper_account", {})
        blocker.unlink()
        await ok(client, "reset_paper_account")
        fixed = await ok(client, "get_cross_margin_account")
    assert broken.is_error and "cannot be opened" in broken.content[0].text
    assert still.is_error and "cannot be opened" in still.content[0].text
    assert str(tmp_path) not in broken.content[0].text + still.content[0].text
    assert asset_row(fixed, "USDT")["free"] == 10000
    assert not list(tmp_path.glob("**/*.corrupt-*"))
    service.venue.close()
