"""Operator limits value every order at its worst case, and never block what can only lower risk.

Through the real MCP client against the fake Binance (a filter-free BTCUSDT, last price 60000) with Testnet
accounts, so the confirmation gate stays out of the way; one scenario runs on the paper exchange.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from binance_margin_mcp.app import build_server
from binance_margin_mcp.catalog import CATALOG
from binance_margin_mcp.catalog.model import OrderKind
from binance_margin_mcp.settings import Settings

from conftest import TEST_KEY, TEST_SECRET, account_block, text_of, write_tools_md
from fakes.fake_binance import FakeBinance

LAST = Decimal(60000)
FAR_BELOW = "12000"  # a price far below the market: the old valuation took it at face value
BELOW_STOP = "50000"  # the stop of a stop-limit leg whose limit price is FAR_BELOW
OVER, SUM, WITHIN = "0.02", "0.006", "0.004"  # 1200 per leg; 360 per leg (720 for two); 240 per leg
LIMITS = {
    "capped": "- Max Order Notional: 500 USDT\n",
    "symbols": "- Allowed Symbols: ETHUSDT, BNBUSDT\n",
    "disabled": "- Trading: disabled\n",
    "closing": "- Trading: disabled\n- Max Order Notional: 500 USDT\n",
}
LIMIT_OF = {"capped": "Max Order Notional", "symbols": "Allowed Symbols", "disabled": "Trading"}
CROSS_ACCOUNT = "/sapi/v1/margin/account"
ISOLATED_ACCOUNT = "/sapi/v1/margin/isolated/account"


@pytest.fixture
def limited(fake: FakeBinance, tmp_path: Path, connect):
    """connect() to a TOOLS.md holding one Testnet account per limit, with BTCUSDT last traded at 60000."""
    blocks = [account_block(name, TEST_KEY, TEST_SECRET, "Testnet") + extra for name, extra in LIMITS.items()]
    path = write_tools_md(tmp_path / "TOOLS.md", blocks)
    fake.add_route("GET", "/api/v3/ticker/price")
    fake.respond("GET", "/api/v3/ticker/price", {"symbol": "BTCUSDT", "price": str(LAST)})
    return lambda: connect(path=path)


def writes(fake: FakeBinance, since: int) -> list[tuple[str, str]]:
    """Requests after `since` that could change the account (anything but a GET)."""
    return [(r.method, r.path) for r in fake.requests[since:] if r.method != "GET"]


async def call(client: Client, fake: FakeBinance, tool: str, args: dict[str, Any], account: str) -> tuple[Any, list]:
    since = len(fake.requests)
    result = await client.call_tool(tool, {**args, "account": account})
    return result, writes(fake, since)


def assert_refused(result: Any, sent: list, limit: str, account: str) -> None:
    """Refused by `limit`, naming its TOOLS.md line, and nothing that writes was sent."""
    assert result.is_error, text_of(result)
    assert result.structured_content["status"] == "refused_by_operator_limit", text_of(result)
    assert result.structured_content["limit"] == limit, text_of(result)
    assert f"'- {limit}:' under '### {account}' in TOOLS.md" in text_of(result)
    assert sent == []


def assert_sent(result: Any, sent: list, tool: str) -> None:
    assert not result.is_error, text_of(result)
    assert sent == [(CATALOG[tool].method, CATALOG[tool].path)]


# --- the orders: every type x side x list kind, each with prices chosen to look cheap ---------------------------


def _fields(kind: str, prefix: str = "") -> dict[str, str]:
    """Price fields of a leg of type `kind` (wire names under `prefix`), priced far below the market."""

    def key(name: str) -> str:
        return prefix + name[0].upper() + name[1:] if prefix else name

    stop_limit = {key("stopPrice"): BELOW_STOP, key("price"): FAR_BELOW, key("timeInForce"): "GTC"}
    return {
        "LIMIT": {key("price"): FAR_BELOW, key("timeInForce"): "GTC"},
        "MARKET": {},
        "LIMIT_MAKER": {key("price"): FAR_BELOW},
        "STOP_LOSS": {key("stopPrice"): FAR_BELOW},
        "TAKE_PROFIT": {key("stopPrice"): FAR_BELOW},
        "STOP_LOSS_LIMIT": stop_limit,
        "TAKE_PROFIT_LIMIT": stop_limit,
    }[kind]


def other(side: str) -> str:
    return "SELL" if side == "BUY" else "BUY"


def single(kind: str, side: str, qty: str) -> tuple[str, dict[str, str]]:
    args = {"symbol": "BTCUSDT", "side": side, "type": kind}
    if kind == "MARKET_QUOTE":  # the same worth, stated as quote: it counts as it is
        return "create_margin_order", {**args, "type": "MARKET", "quoteOrderQty": str(Decimal(qty) * LAST)}
    return "create_margin_order", {**args, "quantity": qty, **_fields(kind)}


def oco(stop: str, side: str, qty: str) -> tuple[str, dict[str, str]]:
    """limit > last > stop for SELL, limit < last < stop for BUY; a stop-limit priced far below its stop."""
    prices = {"price": "61000", "stopPrice": "50000"} if side == "SELL" else {"price": "30000", "stopPrice": "70000"}
    extra = {"stopLimitPrice": FAR_BELOW, "stopLimitTimeInForce": "GTC"} if stop == "STOP_LOSS_LIMIT" else {}
    return "create_margin_oco_order", {"symbol": "BTCUSDT", "side": side, "quantity": qty, **prices, **extra}


def _working(side: str, qty: str) -> dict[str, str]:
    kind = "LIMIT" if side == "BUY" else "LIMIT_MAKER"
    return {"symbol": "BTCUSDT", "workingType": kind, "workingSide": side, "workingQuantity": qty,
            **_fields(kind, "working")}  # fmt: skip


def oto(pending: str, side: str, qty: str) -> tuple[str, dict[str, str]]:
    legs = {"pendingType": pending, "pendingSide": other(side), "pendingQuantity": qty, **_fields(pending, "pending")}
    return "create_margin_oto_order", {**_working(side, qty), **legs}


def otoco(stop: str, side: str, qty: str) -> tuple[str, dict[str, str]]:
    """The pending pair (side `side`) around the working price 12000: limit 13000/11000, stop 11000/13000."""
    limit_at, stop_at, limit_pos, stop_pos = ("13000", "11000", "Above", "Below")
    if side == "BUY":
        limit_at, stop_at, limit_pos, stop_pos = ("11000", "13000", "Below", "Above")
    pending = {"pendingSide": side, "pendingQuantity": qty, f"pending{limit_pos}Type": "LIMIT_MAKER",
               f"pending{limit_pos}Price": limit_at, f"pending{stop_pos}Type": stop,
               f"pending{stop_pos}StopPrice": stop_at}  # fmt: skip
    if stop == "STOP_LOSS_LIMIT":
        below = str(Decimal(stop_at) - 1000)  # priced below its stop
        pending |= {f"pending{stop_pos}Price": below, f"pending{stop_pos}TimeInForce": "GTC"}
    return "create_margin_otoco_order", {**_working(other(side), qty), "workingPrice": FAR_BELOW, **pending}


TYPES = ("LIMIT", "MARKET", "LIMIT_MAKER", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT")
STOPS = ("STOP_LOSS", "STOP_LOSS_LIMIT")  # the stop leg of an OCO pair; the other leg is LIMIT_MAKER
MATRIX = [
    *[(OrderKind.SINGLE, t, s) for t in (*TYPES, "MARKET_QUOTE") for s in ("BUY", "SELL")],
    *[(OrderKind.OCO, t, s) for t in STOPS for s in ("BUY", "SELL")],
    *[(OrderKind.OTO, t, s) for t in TYPES for s in ("BUY", "SELL")],
    *[(OrderKind.OTOCO, t, s) for t in STOPS for s in ("BUY", "SELL")],
]
BUILD = {OrderKind.SINGLE: single, OrderKind.OCO: oco, OrderKind.OTO: oto, OrderKind.OTOCO: otoco}


@pytest.mark.parametrize(("kind", "type_", "side"), MATRIX, ids=lambda v: str(v))
async def test_no_order_gets_past_a_limit_whatever_its_type_side_or_list(limited, fake, kind, type_, side):
    """Every leg at its worst case, the legs that can all fill together, Allowed Symbols and Trading: disabled
    refuse every order shape before anything is sent; the same order within every limit is sent."""
    build = BUILD[kind]
    async with limited() as client:
        tool, over = build(type_, side, OVER)
        result, sent = await call(client, fake, tool, over, "capped")
        assert_refused(result, sent, "Max Order Notional", "capped")
        assert "can be worth up to 12" in text_of(result)  # 0.02 x 60000 (61000: an OCO SELL's limit leg)

        tool, two = build(type_, side, SUM)  # every leg within the limit on its own
        result, sent = await call(client, fake, tool, two, "capped")
        if kind in (OrderKind.OTO, OrderKind.OTOCO):  # working and pending can both fill: 720 USDT
            assert_refused(result, sent, "Max Order Notional", "capped")
            assert "can be worth up to 720 USDT together" in text_of(result)
        else:  # a single order, or an OCO pair of which only one leg fills: 360 USDT
            assert_sent(result, sent, tool)

        tool, within = build(type_, side, WITHIN)
        for account in ("symbols", "disabled"):
            result, sent = await call(client, fake, tool, within, account)
            assert_refused(result, sent, LIMIT_OF[account], account)
        result, sent = await call(client, fake, tool, within, "capped")
        assert_sent(result, sent, tool)


async def test_a_limit_sell_far_below_the_market_is_valued_at_the_market(limited, fake):
    """Issue 8: LIMIT SELL 0.04 BTC @ 12000 looked like 480 USDT but fills at ~60000: worth 2400, refused."""
    order = {"symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.04",
             "price": "12000"}  # fmt: skip
    async with limited() as client:
        result, sent = await call(client, fake, "create_margin_order", order, "capped")
    assert_refused(result, sent, "Max Order Notional", "capped")
    assert "up to 2400 USDT (quantity 0.04 x 60000, the highest of its price, stop price and the last price" in (
        text_of(result)
    )


async def test_an_order_is_refused_when_no_last_price_can_be_read(fake, tmp_path, connect):
    """Without the market price the worst case is unknown: Max Order Notional refuses rather than being skipped."""
    block = account_block("capped", TEST_KEY, TEST_SECRET, "Testnet") + LIMITS["capped"]
    path = write_tools_md(tmp_path / "T.md", [block])
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.001",
             "price": "100"}  # fmt: skip
    async with connect(path=path) as client:
        result, sent = await call(client, fake, "create_margin_order", order, "capped")
    assert_refused(result, sent, "Max Order Notional", "capped")
    assert "last price" in text_of(result)


# --- requests that can only lower risk --------------------------------------------------------------------------


def holdings(**assets: tuple[str, str, str, str]) -> list[dict[str, str]]:
    """userAssets rows from asset=(free, locked, borrowed, interest)."""
    keys = ("free", "locked", "borrowed", "interest")
    return [{"asset": a, **dict(zip(keys, v, strict=True)), "netAsset": "0"} for a, v in assets.items()]


LONG = holdings(BTC=("0.05", "0", "0", "0"), USDT=("0", "0", "1000", "1"))  # BTC held, USDT owed
SHORT = holdings(BTC=("0", "0", "0.01", "0.0001"), USDT=("5000", "0", "0", "0"))  # BTC owed
FLAT = holdings(BTC=("0.05", "0", "0", "0"), USDT=("5000", "0", "0", "0"))  # nothing owed
MARKET_SELL = {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.004"}
MARKET_BUY = {**MARKET_SELL, "side": "BUY"}
AUTO_REPAY = {"sideEffectType": "AUTO_REPAY"}
ISOLATED_LONG = {
    "assets": [
        {"symbol": "BTCUSDT", "baseAsset": LONG[0], "quoteAsset": LONG[1]},
    ]
}

# (tool, args, account read: (path, body) or None)
REDUCING = {
    "cancel order": ("cancel_margin_order", {"symbol": "BTCUSDT", "orderId": 1}, None),
    "cancel order list": ("cancel_margin_order_list", {"symbol": "BTCUSDT", "orderListId": 1}, None),
    "cancel all on a symbol": ("cancel_all_open_margin_orders", {"symbol": "BTCUSDT"}, None),
    "repay (isolated)": (
        "borrow_or_repay",
        {"asset": "BTC", "isIsolated": "TRUE", "symbol": "BTCUSDT", "amount": "0.01", "type": "REPAY"},
        None,
    ),
    "repay liquidation loan": ("repay_liquidation_loan", {"asset": "USDC", "amount": "10"}, None),
    "closing MARKET SELL": ("create_margin_order", {**MARKET_SELL, **AUTO_REPAY}, (CROSS_ACCOUNT, LONG)),
    "closing MARKET BUY of the whole debt": (
        "create_margin_order",
        {**MARKET_BUY, **AUTO_REPAY, "quantity": "0.0101"},
        (CROSS_ACCOUNT, SHORT),
    ),
    "closing isolated LIMIT IOC SELL": (
        "create_margin_order",
        {**MARKET_SELL, **AUTO_REPAY, "isIsolated": "TRUE", "type": "LIMIT", "price": "59000", "timeInForce": "IOC"},
        (ISOLATED_ACCOUNT, ISOLATED_LONG),
    ),
}

RAISING = {
    "borrow": (
        "borrow_or_repay",
        {"asset": "BTC", "isIsolated": "TRUE", "symbol": "BTCUSDT", "amount": "0.01", "type": "BORROW"},
        None,
    ),
    "opening order": ("create_margin_order", MARKET_SELL, (CROSS_ACCOUNT, LONG)),
    "MARGIN_BUY order": ("create_margin_order", {**MARKET_BUY, "sideEffectType": "MARGIN_BUY"}, (CROSS_ACCOUNT, SHORT)),
    "AUTO_BORROW_REPAY order": (
        "create_margin_order",
        {**MARKET_BUY, "sideEffectType": "AUTO_BORROW_REPAY"},
        (CROSS_ACCOUNT, SHORT),
    ),
    "AUTO_REPAY SELL of more than is held": (
        "create_margin_order",
        {**MARKET_SELL, **AUTO_REPAY, "quantity": "0.06"},
        (CROSS_ACCOUNT, LONG),
    ),
    "AUTO_REPAY BUY of more than is owed": (
        "create_margin_order",
        {**MARKET_BUY, **AUTO_REPAY, "quantity": "0.0102"},
        (CROSS_ACCOUNT, SHORT),
    ),
    "AUTO_REPAY SELL with no debt to repay": (
        "create_margin_order",
        {**MARKET_SELL, **AUTO_REPAY},
        (CROSS_ACCOUNT, FLAT),
    ),
    "AUTO_REPAY resting LIMIT GTC": (
        "create_margin_order",
        {**MARKET_SELL, **AUTO_REPAY, "type": "LIMIT", "price": "59000", "timeInForce": "GTC"},
        (CROSS_ACCOUNT, LONG),
    ),
    "AUTO_REPAY MARKET by quoteOrderQty": (
        "create_margin_order",
        {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quoteOrderQty": "100", **AUTO_REPAY},
        (CROSS_ACCOUNT, LONG),
    ),
    "AUTO_REPAY OCO": (
        "create_margin_oco_order",
        {**oco("STOP_LOSS", "SELL", WITHIN)[1], **AUTO_REPAY},
        (CROSS_ACCOUNT, LONG),
    ),
    "AUTO_REPAY when the account read fails": ("create_margin_order", {**MARKET_SELL, **AUTO_REPAY}, None),
}


def serve_account(fake: FakeBinance, read: tuple[str, Any] | None) -> None:
    if read is not None:
        fake.respond("GET", read[0], {"userAssets": read[1]} if read[0] == CROSS_ACCOUNT else read[1])
    else:
        fake.respond("GET", CROSS_ACCOUNT, {"code": -1000, "msg": "An unknown error occurred."}, status=400)


@pytest.mark.parametrize("case", list(REDUCING))
async def test_risk_reducing_requests_pass_trading_disabled_and_allowed_symbols(limited, fake, case):
    """Cancels, repayments and pure closes are sent under Trading: disabled and on a symbol not allowed."""
    tool, args, read = REDUCING[case]
    serve_account(fake, read)
    async with limited() as client:
        for account in ("disabled", "symbols"):
            result, sent = await call(client, fake, tool, args, account)
            assert_sent(result, sent, tool)


@pytest.mark.parametrize("case", list(RAISING))
async def test_requests_that_can_raise_risk_stay_blocked(limited, fake, case):
    """A borrow, a borrowing order, an opening order and any AUTO_REPAY order not proven to be a pure close
    (too large, nothing to repay, resting, by quote, a list, or the account unreadable) are refused."""
    tool, args, read = RAISING[case]
    serve_account(fake, read)
    async with limited() as client:
        for account in ("disabled", "symbols"):
            result, sent = await call(client, fake, tool, args, account)
            assert_refused(result, sent, LIMIT_OF[account], account)
            assert "Cancels, repayments and orders that only close a position (sideEffectType AUTO_REPAY" in (
                text_of(result)
            )


async def test_a_closing_order_says_why_it_is_not_a_pure_close(limited, fake):
    """The refusal tells the agent what stopped the exemption (here: more than the account holds)."""
    tool, args, read = RAISING["AUTO_REPAY SELL of more than is held"]
    serve_account(fake, read)
    async with limited() as client:
        result, _ = await call(client, fake, tool, args, "disabled")
    assert "it sells 0.06 BTC, more than the 0.05 BTC held free beyond debt" in text_of(result)


async def test_max_order_notional_still_applies_to_a_closing_order(limited, fake):
    """A pure close passes Trading: disabled but not Max Order Notional: 0.02 BTC at 60000 is 1200 > 500 USDT."""
    serve_account(fake, (CROSS_ACCOUNT, LONG))
    async with limited() as client:
        small, sent = await call(client, fake, "create_margin_order", {**MARKET_SELL, **AUTO_REPAY}, "closing")
        assert_sent(small, sent, "create_margin_order")
        large = {**MARKET_SELL, **AUTO_REPAY, "quantity": OVER}
        result, sent = await call(client, fake, "create_margin_order", large, "closing")
    assert_refused(result, sent, "Max Order Notional", "closing")


async def test_a_small_liability_exchange_is_not_exempt(limited, fake):
    """It turns small debts into a debt in another asset; nothing is repaid, so Trading: disabled refuses it."""
    async with limited() as client:
        result, sent = await call(client, fake, "exchange_small_liability", {"assetNames": "ETH"}, "disabled")
    assert_refused(result, sent, "Trading", "disabled")


def test_the_catalog_declares_which_requests_reduce_risk_and_which_legs_exclude_each_other():
    """Exactly cancels, repayments and the single order (as a pure close) are declared; OCO pairs exclude each other."""
    reducing = {name: e.reduces_risk for name, e in CATALOG.items() if e.reduces_risk is not None}
    assert set(reducing) == {
        "cancel_margin_order",
        "cancel_margin_order_list",
        "cancel_all_open_margin_orders",
        "borrow_or_repay",
        "repay_liquidation_loan",
        "create_margin_order",
    }
    assert reducing["borrow_or_repay"].when == (("type", ("REPAY",)),)
    closing = reducing["create_margin_order"]
    assert closing.when == (("sideEffectType", ("AUTO_REPAY",)),) and closing.position is not None
    assert CATALOG[closing.position.cross].read_only and CATALOG[closing.position.isolated].read_only
    assert all(r.position is None for name, r in reducing.items() if name != "create_margin_order")
    groups = {e.order_shape.kind: e.order_shape.executable_together() for e in CATALOG.values() if e.order_shape}
    assert groups == {
        OrderKind.SINGLE: ((0,),),
        OrderKind.OCO: ((0, 1),),
        OrderKind.OTO: ((0,), (1,)),
        OrderKind.OTOCO: ((0,), (1, 2)),
    }


# --- on the paper exchange: a real short closed under Trading: disabled -------------------------------------------

PAPER_KEY = "PAPERkey" + "0" * 56
PAPER_SECRET = "PAPERsecret" + "1" * 53


async def test_a_short_is_closed_on_paper_under_trading_disabled_and_no_further(tmp_path):
    """Borrow and sell BTC, then disable trading: buying back the debt with AUTO_REPAY is sent and repays it; a
    second buy-back (nothing left to repay) and a fresh opening order are refused."""
    path = tmp_path / "TOOLS.md"
    block = account_block("desk", PAPER_KEY, PAPER_SECRET, "Paper")
    write_tools_md(path, [block])
    server = build_server(Settings(tools_md=path, journal_path=str(tmp_path / "journal.jsonl")))
    async with Client(server) as client:
        borrow = {"asset": "BTC", "isIsolated": "FALSE", "amount": "0.05", "type": "BORROW"}
        assert not (await client.call_tool("borrow_or_repay", borrow)).is_error
        sell = {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.15"}  # all of it: short 0.05
        assert not (await client.call_tool("create_margin_order", sell)).is_error, "paper sell"
        write_tools_md(path, [block + "- Trading: disabled\n"])
        close = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.05", **AUTO_REPAY}
        closed = await client.call_tool("create_margin_order", close)
        again = await client.call_tool("create_margin_order", close)
        opening = await client.call_tool("create_margin_order", {**close, "sideEffectType": "NO_SIDE_EFFECT"})
        account = await client.call_tool("get_cross_margin_account", {})
    assert not closed.is_error, text_of(closed)
    assert again.is_error and again.structured_content["limit"] == "Trading", text_of(again)
    assert opening.is_error and opening.structured_content["limit"] == "Trading"
    btc = next(a for a in account.structured_content["userAssets"] if a["asset"] == "BTC")
    assert Decimal(btc["borrowed"]) < Decimal("0.05")  # the fill repaid the loan
