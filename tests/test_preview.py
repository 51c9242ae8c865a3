"""The confirmation preview: escaping, order and cancel summaries, the host, the exact text, and the lookups."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal, localcontext
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from binance_margin_mcp.catalog import CATALOG, Endpoint
from binance_margin_mcp.client import BinanceClient
from binance_margin_mcp.errors import TransportError
from binance_margin_mcp.paper import IN_PROCESS_URL, PAPER_BASE_URL, PaperVenue
from binance_margin_mcp.params import build_wire_params
from binance_margin_mcp.prepared import PreparedRequest
from binance_margin_mcp.preview import PreviewFacts, build_preview, escape_text, gather_facts, preview_text
from binance_margin_mcp.preview_facts import MAX_LISTED, target_read
from binance_margin_mcp.ratelimit import WeightBook
from binance_margin_mcp.signing import make_signer
from binance_margin_mcp.spot_endpoints import EXCHANGE_INFO, TICKER_PRICE
from binance_margin_mcp.timesync import ServerClock
from binance_margin_mcp.transport import BinanceHttp, Credentials

MAINNET = "https://api.binance.com"
FACTS = PreviewFacts(last_price=Decimal("65000.5"), quote_asset="USDT", base_asset="BTC")
_ESCAPE = re.compile(r"\\\\|\\u[0-9A-F]{4}|\\U[0-9A-F]{8}")


def request(tool: str, args: dict[str, Any], base_url: str = MAINNET, **extra: str) -> PreparedRequest:
    """A prepared request as the service builds it; `extra` appends raw wire pairs that skip validation."""
    entry = CATALOG[tool]
    params = tuple(build_wire_params(entry, args)) + tuple(extra.items())
    return PreparedRequest("main", "Mainnet", base_url, "0123456789abcdef", entry, params)


def unescape(text: str) -> str:
    """The reading escape_text promises: `\\\\` is a backslash, `\\uXXXX`/`\\UXXXXXXXX` a code point."""
    return _ESCAPE.sub(lambda m: "\\" if m[0] == "\\\\" else chr(int(m[0][2:], 16)), text)


def strings(value: Any) -> list[str]:
    """Every key and string value of a JSON-ready structure."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *strings(v)]]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return []


# -- escape_text ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x00", "\\u0000"),
        ("\t", "\\u0009"),
        ("\n", "\\u000A"),
        ("\r", "\\u000D"),
        ("\x1b[2J", "\\u001B[2J"),
        ("\x7f", "\\u007F"),
        ("\x85", "\\u0085"),
        ("\x9b", "\\u009B"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
        ("\u00a0", "\\u00A0"),
        ("\u3000", "\\u3000"),
    ],
)
def test_controls_separators_and_odd_spaces_are_escaped(raw: str, shown: str) -> None:
    """C0, C1, DEL, the line/paragraph separators and non-ASCII spaces are written as \\uXXXX."""
    assert escape_text(f"a{raw}b") == f"a{shown}b"


@pytest.mark.parametrize(
    "code", [0x200E, 0x200F, 0x061C, *range(0x202A, 0x202F), *range(0x2066, 0x206A)], ids=lambda c: f"U+{c:04X}"
)
def test_every_bidi_control_is_escaped(code: int) -> None:
    """Bidi marks, embeddings, overrides and isolates cannot reorder the dialog's text."""
    assert escape_text(f"1{chr(code)}2") == f"1\\u{code:04X}2"


@pytest.mark.parametrize(
    "code",
    [0x00AD, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x034F, 0x3164, 0xFE0F, 0xE0041, 0xE0100, 0xD800, 0xE000, 0x0378],
    ids=lambda c: f"U+{c:04X}",
)
def test_invisible_format_surrogate_private_and_unassigned_code_points_are_escaped(code: int) -> None:
    """Zero-width characters, BOM, tags, variation selectors, fillers, surrogates, private use and unassigned."""
    escaped = escape_text(f"x{chr(code)}y")
    assert escaped == (f"x\\u{code:04X}y" if code <= 0xFFFF else f"x\\U{code:08X}y")


def test_a_backslash_is_escaped_so_an_escape_cannot_be_faked() -> None:
    """A literal `\\u000A` in the input reads differently from an escaped newline."""
    assert escape_text("a\\b") == "a\\\\b"
    assert escape_text("\\u000A") == "\\\\u000A" != escape_text("\n")


def test_visible_text_is_shown_as_is() -> None:
    """Printable ASCII, accented letters, CJK and symbols are left alone."""
    for text in ("BTCUSDT agent-x.y:z/_-", "café", "比特币", "≈ × ₿"):
        assert escape_text(text) == text


@given(st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from(["\\", "\n", "\u202e", "\u200b"])))
def test_escaping_is_unambiguous_and_leaves_no_hidden_character(text: str) -> None:
    """Property: the result reads back to the input, and contains no control, format or separator character."""
    escaped = escape_text(text)
    assert unescape(escaped) == text
    assert not any(unicodedata.category(ch)[0] == "C" or unicodedata.category(ch) in ("Zl", "Zp") for ch in escaped)


def test_an_injected_newline_cannot_fake_a_parameter_line() -> None:
    """A value carrying a line break (any kind) plus `    quantity = 1` stays on its own line."""
    for brk in ("\n", "\r", "\r\n", "\u2028", "\u2029", "\x85", "\x0b", "\x0c"):
        req = request("create_margin_order", LIMIT, note=f"x{brk}    quantity = 1")
        text = preview_text(build_preview(req, FACTS), header="Confirm:", footer="Type CONFIRM.")
        faked = [line for line in text.splitlines() if re.match(r"\s+quantity = ", line)]
        assert faked == ["    quantity = 0.002"], brk


def test_right_to_left_override_is_shown_escaped_in_both_channels() -> None:
    """U+202E in the account, a key or a value never reaches the dialog raw."""
    req = request("create_margin_order", LIMIT, **{"evil\u202ekey": "1\u202e0"})
    req = replace(req, account="ma\u202ein")
    data = build_preview(req, FACTS)
    text = preview_text(data, header="H", footer="F")
    assert "\u202e" not in text and "\u202e" not in json.dumps(data, ensure_ascii=False)
    assert "Account: ma\\u202Ein (Mainnet)" in text
    assert "    evil\\u202Ekey = 1\\u202E0" in text


def test_exchange_text_in_a_cancel_target_is_escaped() -> None:
    """What the exchange reports (a client id, say) is escaped like a parameter."""
    facts = PreviewFacts(target={"clientOrderId": "a\nb\u200bc", "k\u2066ey": "v"})
    data = build_preview(request("cancel_margin_order", {"symbol": "BTCUSDT", "orderId": 5}), facts)
    assert data["target"] == {"clientOrderId": "a\\u000Ab\\u200Bc", "k\\u2066ey": "v"}
    assert all(s.isprintable() for s in strings(data))


# -- build_preview: orders --------------------------------------------------------------------------------------

LIMIT = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.002"}
LIMIT |= {"price": "70000.01", "newClientOrderId": "agent-fixed"}


def test_a_limit_order_shows_its_notional_as_exact_price_times_quantity() -> None:
    """price × quantity as an exact Decimal string, in the quote asset, with every parameter in sent order."""
    req = request("create_margin_order", LIMIT)
    data = build_preview(req, FACTS)
    assert data["account"] == "main" and data["environment"] == "Mainnet"
    assert data["endpoint"] == "POST /sapi/v1/margin/order" and data["tool"] == "create_margin_order"
    assert list(data["parameters"].items()) == list(req.params)
    (leg,) = data["order"]["legs"]
    assert leg == {
        "leg": "order",
        "side": "BUY",
        "type": "LIMIT",
        "quantity": "0.002",
        "price": "70000.01",
        "timeInForce": "GTC",
        "estimatedNotional": "140.00002",
        "notionalBasis": "price × quantity",
    }
    assert data["order"]["total"] == "140.00002" and data["order"]["quoteAsset"] == "USDT"
    assert data["order"]["borrows"] is False and data["order"]["sideEffectType"] == "NO_SIDE_EFFECT"


def test_a_notional_of_forty_digit_wire_values_is_not_rounded() -> None:
    """20+20-digit prices and quantities multiply exactly (28-digit default context would round), no exponent."""
    price, qty = "12345678901234567890.12345678901234567891", "1.00000000000000000001"
    data = build_preview(request("create_margin_order", LIMIT | {"price": price, "quantity": qty}), FACTS)
    shown = data["order"]["legs"][0]["estimatedNotional"]
    with localcontext() as ctx:
        ctx.prec = 100
        assert Decimal(shown) == Decimal(price) * Decimal(qty)
    assert "E" not in shown and len(shown) > 40


def test_a_market_order_is_valued_at_the_current_price_and_says_so() -> None:
    """MARKET by quantity: last price × quantity, marked "at current price" in both channels."""
    req = request("create_margin_order", {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.002"})
    data = build_preview(req, FACTS)
    leg = data["order"]["legs"][0]
    assert leg["estimatedNotional"] == "130.001"
    assert leg["notionalBasis"] == "at current price 65000.5 × quantity"
    assert data["order"]["lastPrice"] == "65000.5"
    text = preview_text(data, header="H", footer="F")
    assert "    order: SELL MARKET 0.002 BTC ≈ 130.001 USDT (at current price 65000.5 × quantity)" in text


def test_a_market_order_without_a_price_shows_unknown_and_a_note() -> None:
    """No last price: the notional is the string "unknown" and a note says why; the preview is still built."""
    req = request("create_margin_order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "1"})
    data = build_preview(req, PreviewFacts(notes=("price unknown: no last price for BTCUSDT",)))
    assert data["order"]["legs"][0]["estimatedNotional"] == "unknown"
    assert data["order"]["total"] == "unknown" and data["order"]["lastPrice"] == "unknown"
    assert data["notes"] == ["price unknown: no last price for BTCUSDT", "order: notional unknown (no current price)"]
    assert "  Note: order: notional unknown (no current price)" in preview_text(data, header="H", footer="F")


def test_a_market_order_by_quote_quantity_counts_that_amount_as_it_is() -> None:
    """quoteOrderQty is the notional itself, whatever the price; no quantity is invented."""
    args = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quoteOrderQty": "100.50"}
    data = build_preview(request("create_margin_order", args), PreviewFacts(quote_asset="USDT", base_asset="BTC"))
    leg = data["order"]["legs"][0]
    assert leg["quoteOrderQty"] == "100.50" and "quantity" not in leg
    assert (leg["estimatedNotional"], leg["notionalBasis"]) == ("100.5", "quoteOrderQty")
    assert "    order: BUY MARKET for 100.50 USDT ≈ 100.5 USDT (quoteOrderQty)" in preview_text(
        data, header="H", footer="F"
    )


def test_an_oco_shows_both_legs_and_a_total_of_the_leg_that_can_fill() -> None:
    """Two legs with their own prices; the total is the larger leg (an OCO fills one); MARGIN_BUY borrows."""
    args = {"symbol": "BTCUSDT", "side": "SELL", "quantity": "0.5", "price": "72000", "stopPrice": "60000"}
    args |= {"stopLimitPrice": "59900", "stopLimitTimeInForce": "GTC", "sideEffectType": "MARGIN_BUY"}
    data = build_preview(request("create_margin_oco_order", args), FACTS)
    limit, stop = data["order"]["legs"]
    assert (limit["type"], limit["price"], limit["estimatedNotional"]) == ("LIMIT_MAKER", "72000", "36000")
    assert (stop["type"], stop["price"], stop["stopPrice"]) == ("STOP_LOSS_LIMIT", "59900", "60000")
    assert stop["estimatedNotional"] == "29950"
    assert data["order"]["total"] == "36000"
    assert data["order"]["borrows"] is True and data["order"]["borrowAssets"] == ["BTC"]
    text = preview_text(data, header="H", footer="F")
    assert "    limit leg: SELL LIMIT_MAKER 0.5 BTC @ 72000 USDT ≈ 36000 USDT (price × quantity)" in text
    assert "    stop leg: SELL STOP_LOSS_LIMIT GTC 0.5 BTC @ 59900 USDT, stop 60000 USDT ≈ 29950 USDT" in text
    assert "    Total: ≈ 36000 USDT (the larger leg; an OCO fills only one)" in text
    assert "  Borrowing: sideEffectType MARGIN_BUY: may BORROW BTC" in text


def test_an_otoco_total_is_the_working_order_plus_the_larger_pending_leg() -> None:
    """Working order fills first, then one of the pending pair."""
    args = {"symbol": "BTCUSDT", "workingType": "LIMIT", "workingSide": "BUY", "workingPrice": "60000"}
    args |= {"workingQuantity": "0.1", "workingTimeInForce": "GTC", "pendingSide": "SELL", "pendingQuantity": "0.1"}
    args |= {"pendingAboveType": "LIMIT_MAKER", "pendingAbovePrice": "66000"}
    args |= {"pendingBelowType": "STOP_LOSS", "pendingBelowStopPrice": "57000"}
    data = build_preview(request("create_margin_otoco_order", args), FACTS)
    assert [leg["estimatedNotional"] for leg in data["order"]["legs"]] == ["6000", "6600", "5700"]
    assert data["order"]["legs"][2]["notionalBasis"] == "stopPrice × quantity"
    assert data["order"]["total"] == "12600"


# -- build_preview: cancels, host, text -------------------------------------------------------------------------


def test_a_cancel_shows_its_target() -> None:
    """The looked-up order is shown as a target block, one line per field, before the parameters."""
    target = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.00100000"}
    target |= {"price": "50000.00000000", "status": "NEW", "orderId": "100001", "clientOrderId": "agent-abc"}
    req = request("cancel_margin_order", {"symbol": "BTCUSDT", "orderId": 100001, "newClientOrderId": "agent-c"})
    data = build_preview(req, PreviewFacts(target=target))
    assert data["target"] == target and "order" not in data
    text = preview_text(data, header="H", footer="F")
    lines = text.splitlines()
    start = lines.index("  Cancels:")
    assert lines[start + 1 : start + 9] == [f"    {k}: {v}" for k, v in target.items()]
    assert lines.index("  Parameters as they will be sent:") > start + 8


@pytest.mark.parametrize(
    ("url", "host", "note"),
    [
        ("https://api.binance.com", "https://api.binance.com", "official Binance Mainnet host"),
        ("https://api3.binance.com:443", "https://api3.binance.com:443", "official Binance Mainnet host"),
        ("https://testnet.binance.vision", "https://testnet.binance.vision", "official Binance Testnet host"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080", "not a Binance host (loopback)"),
        ("http://[::1]:9000", "http://[::1]:9000", "not a Binance host (loopback)"),
        ("http://localhost:9000", "http://localhost:9000", "not a Binance host (loopback)"),
        ("http://api.binance.com", "http://api.binance.com", "not a Binance host"),
        ("https://api.binance.com.evil.example", "https://api.binance.com.evil.example", "not a Binance host"),
        ("http://u:pw@127.0.0.1:1/p?secret=1", "http://127.0.0.1:1", "not a Binance host (loopback)"),
        (PAPER_BASE_URL, PAPER_BASE_URL, "paper exchange (in process)"),
        (IN_PROCESS_URL, IN_PROCESS_URL, "paper exchange (in process)"),
    ],
)
def test_the_host_says_whether_it_is_binance_loopback_or_paper(url: str, host: str, note: str) -> None:
    """scheme://host[:port] only (no user info, path or query), and a note no one can mistake."""
    data = build_preview(request("create_margin_order", LIMIT, base_url=url), FACTS)
    assert (data["host"], data["hostNote"]) == (host, note)
    assert f"  Host: {host} - {note}" in preview_text(data, header="H", footer="F")


def test_the_text_is_deterministic_and_depends_only_on_the_preview() -> None:
    """Same request and facts: equal previews; the same preview (even after a JSON round trip): the same text."""
    req = request("create_margin_order", LIMIT | {"sideEffectType": "AUTO_BORROW_REPAY"})
    first, second = build_preview(req, FACTS), build_preview(req, FACTS)
    assert first == second
    text = preview_text(first, header="Confirm:", footer="Type CONFIRM.")
    assert text == preview_text(second, header="Confirm:", footer="Type CONFIRM.")
    assert text == preview_text(json.loads(json.dumps(first)), header="Confirm:", footer="Type CONFIRM.")
    lines = text.splitlines()
    assert lines[0] == "Confirm:" and lines[-1] == "Type CONFIRM."
    assert lines[1:5] == [
        "  Account: main (Mainnet)",
        "  Host: https://api.binance.com - official Binance Mainnet host",
        "  Endpoint: POST /sapi/v1/margin/order (create_margin_order)",
        "  Order on BTCUSDT (cross margin), last price 65000.5 USDT:",
    ]
    assert "  Borrowing: sideEffectType AUTO_BORROW_REPAY: may BORROW USDT" in lines
    start = lines.index("  Parameters as they will be sent:")
    assert lines[start + 1 : -1] == [f"    {k} = {v}" for k, v in req.params]


# -- gather_facts against the paper exchange --------------------------------------------------------------------

NOW_MS = 1_800_000_000_000


class Paper:
    """The in-process paper exchange reached through the real client: signed reads and market data."""

    def __init__(self) -> None:
        self.venue = PaperVenue(":memory:", clock_ms=lambda: NOW_MS)
        account = self.venue.builtin
        self.venue.admit(account)
        http = BinanceHttp(None, lambda: NOW_MS, routes={IN_PROCESS_URL: self.venue.transport()})
        self.client = BinanceClient(http, ServerClock(lambda: NOW_MS), WeightBook(lambda: NOW_MS))
        signer = make_signer("HMAC", secret=account.secret.reveal())
        self.creds = Credentials(IN_PROCESS_URL, account.api_key.reveal(), signer, "Paper")
        self.reads: list[str] = []

    async def read(self, entry: Endpoint, pairs: list[tuple[str, str]]) -> Any:
        self.reads.append(entry.endpoint_id)
        response, _ = await self.client.send(entry, pairs, self.creds)
        return response.data

    async def market_price(self, symbol: str) -> Decimal | None:
        return Decimal(str((await self.read(TICKER_PRICE, [("symbol", symbol)]))["price"]))

    async def symbol_info(self, symbol: str) -> dict[str, Any] | None:
        return next(iter((await self.read(EXCHANGE_INFO, [("symbol", symbol)]))["symbols"]), None)

    async def send(self, tool: str, args: dict[str, Any]) -> Any:
        entry = CATALOG[tool]
        return await self.read(entry, build_wire_params(entry, args))

    async def facts(self, tool: str, args: dict[str, Any]) -> PreviewFacts:
        req = request(tool, args, base_url=PAPER_BASE_URL)
        return await gather_facts(req, self.read, self.market_price, self.symbol_info)


@pytest.fixture
async def paper() -> AsyncIterator[Paper]:
    exchange = Paper()
    yield exchange
    exchange.venue.exchange.close()


async def test_order_facts_are_the_symbols_assets_last_price_and_risk_inputs(paper: Paper) -> None:
    """An order-creating request looks up exchangeInfo and the ticker, and for its risk the margin account and
    the account's levels (a non-borrowing order reads no borrow limit or rate)."""
    facts = await paper.facts("create_margin_order", LIMIT)
    ticker = await paper.market_price("BTCUSDT")
    assert (facts.last_price, facts.quote_asset, facts.base_asset, facts.notes) == (ticker, "USDT", "BTC", ())
    assert ticker is not None and ticker > 0
    assert facts.risk is not None and facts.risk.account is not None
    assert facts.risk.levels == (Decimal("1.3"), Decimal("1.1"))
    assert (facts.risk.max_borrowable, facts.risk.daily_rate) == (None, None)
    assert "POST /sapi/v1/margin/order" not in paper.reads


async def test_a_cancels_target_order_is_read_at_the_same_path(paper: Paper) -> None:
    """DELETE /sapi/v1/margin/order -> GET /sapi/v1/margin/order: the order's fields, exactly as reported."""
    placed = await paper.send("create_margin_order", LIMIT | {"price": "50000"})
    paper.reads.clear()
    facts = await paper.facts("cancel_margin_order", {"symbol": "BTCUSDT", "orderId": placed["orderId"]})
    assert paper.reads == ["GET /sapi/v1/margin/order"]
    assert facts.notes == ()
    assert facts.target == {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "quantity": "0.00200000",
        "price": "50000.00000000",
        "status": "NEW",
        "orderId": str(placed["orderId"]),
        "clientOrderId": "agent-fixed",
    }


async def test_an_order_list_cancel_shows_the_list_and_each_member(paper: Paper) -> None:
    """DELETE orderList (by listClientOrderId) reads GET orderList (origClientOrderId), then each member order."""
    args = {"symbol": "BTCUSDT", "side": "SELL", "quantity": "0.001", "price": "200000", "stopPrice": "40000"}
    args |= {"stopLimitPrice": "39000", "stopLimitTimeInForce": "GTC", "listClientOrderId": "agent-mylist"}
    await paper.send("create_margin_oco_order", args)
    paper.reads.clear()
    facts = await paper.facts("cancel_margin_order_list", {"symbol": "BTCUSDT", "listClientOrderId": "agent-mylist"})
    assert paper.reads == ["GET /sapi/v1/margin/orderList"] + ["GET /sapi/v1/margin/order"] * 2
    assert facts.target is not None and facts.notes == ()
    assert facts.target["listClientOrderId"] == "agent-mylist" and facts.target["contingencyType"] == "OCO"
    assert facts.target["orders"] == "2"
    members = sorted(facts.target[k] for k in ("order 1", "order 2"))
    assert members[0].startswith("SELL LIMIT_MAKER 0.00100000 @ 200000.00000000 (NEW, orderId ")
    assert members[1].startswith("SELL STOP_LOSS_LIMIT 0.00100000 @ 39000.00000000 stop 40000.00000000 (NEW")


async def test_cancel_all_counts_the_open_orders_and_lists_at_most_ten(paper: Paper) -> None:
    """DELETE openOrders -> GET openOrders: the count, the first MAX_LISTED orders, and how many more."""
    for i in range(MAX_LISTED + 2):
        await paper.send("create_margin_order", LIMIT | {"price": str(50000 + i), "newClientOrderId": f"agent-o{i}"})
    facts = await paper.facts("cancel_all_open_margin_orders", {"symbol": "BTCUSDT"})
    assert facts.target is not None
    assert facts.target["symbol"] == "BTCUSDT" and facts.target["openOrders"] == str(MAX_LISTED + 2)
    assert [k for k in facts.target if k.startswith("order ")] == [f"order {i}" for i in range(1, MAX_LISTED + 1)]
    assert facts.target["more"] == "2 more not listed"
    assert facts.target["order 1"].startswith("BUY LIMIT 0.00200000 @ ")


async def test_failed_lookups_become_notes_and_never_raise(paper: Paper) -> None:
    """An unknown order, an unknown symbol, a transport failure and a nonsense answer all yield notes."""
    missing = await paper.facts("cancel_margin_order", {"symbol": "BTCUSDT", "orderId": 424242})
    assert missing.target is None
    assert missing.notes == (
        "order not found: Binance error -2013 on GET /sapi/v1/margin/order: Order does not exist.",
    )

    unknown = await paper.facts("create_margin_order", LIMIT | {"symbol": "NOPEUSDT"})
    assert (unknown.last_price, unknown.quote_asset, unknown.base_asset) == (None, None, None)
    assert [n.split(":")[0] for n in unknown.notes] == ["assets of NOPEUSDT unknown", "price unknown"]

    async def broken(entry: Endpoint, pairs: list[tuple[str, str]]) -> Any:
        raise TransportError("connection reset")

    async def nonsense(entry: Endpoint, pairs: list[tuple[str, str]]) -> Any:
        return "<html>maintenance</html>"

    async def odd_price(symbol: str) -> Decimal | None:
        return Decimal("NaN")

    async def no_info(symbol: str) -> dict[str, Any] | None:
        return {"symbol": symbol, "quoteAsset": 7}

    cancel = request("cancel_margin_order", {"symbol": "BTCUSDT", "orderId": 1})
    assert (await gather_facts(cancel, broken, odd_price, no_info)).notes == (
        "cancel target unknown: connection reset",
    )
    assert (await gather_facts(cancel, nonsense, odd_price, no_info)).notes == (
        "cancel target unknown: unexpected answer from the exchange",
    )
    order = await gather_facts(request("create_margin_order", LIMIT), broken, odd_price, no_info)
    assert order.notes == (
        "assets of BTCUSDT unknown: exchangeInfo does not list them",
        "price unknown: no last price for BTCUSDT",
    )
    assert order.last_price is None


async def test_requests_without_a_readable_target_look_nothing_up(paper: Paper) -> None:
    """A GET, a borrow, disabling an isolated account or deleting a special key: no reads, empty facts."""
    for tool, args in [
        ("get_cross_margin_account", {}),
        ("disable_isolated_margin_account", {"symbol": "BTCUSDT"}),
        ("delete_margin_special_key", {"symbol": "BTCUSDT"}),
    ]:
        assert await paper.facts(tool, args) == PreviewFacts()
    assert paper.reads == []


def test_every_order_cancel_reads_its_target_at_the_same_path() -> None:
    """Structural: each DELETE whose identifying parameters GET <same path> takes is read there, renamed."""
    readable = {e.name: target_read(e, {}) for e in CATALOG.values() if e.method == "DELETE"}
    found = {name: (r[0].endpoint_id, CATALOG[name].path) for name, r in readable.items() if r is not None}
    assert found == {
        "cancel_margin_order": ("GET /sapi/v1/margin/order", "/sapi/v1/margin/order"),
        "cancel_margin_order_list": ("GET /sapi/v1/margin/orderList", "/sapi/v1/margin/orderList"),
        "cancel_all_open_margin_orders": ("GET /sapi/v1/margin/openOrders", "/sapi/v1/margin/openOrders"),
    }
    params = {"symbol": "BTCUSDT", "listClientOrderId": "x", "newClientOrderId": "agent-c", "isIsolated": "TRUE"}
    found_list = target_read(CATALOG["cancel_margin_order_list"], params)
    assert found_list is not None
    assert found_list[1] == {"symbol": "BTCUSDT", "origClientOrderId": "x", "isIsolated": "TRUE"}


async def test_open_orders_with_odd_rows_still_give_a_target() -> None:
    """A partly filled order shows what is filled; a row that is not an order is counted and marked unreadable."""
    row = {"side": "BUY", "type": "LIMIT", "origQty": "1.0", "executedQty": "0.4", "price": Decimal("5.10")}
    row |= {"stopPrice": "0", "status": "PARTIALLY_FILLED", "orderId": 3, "clientOrderId": "c"}

    async def rows(entry: Endpoint, pairs: list[tuple[str, str]]) -> Any:
        assert entry.endpoint_id == "GET /sapi/v1/margin/openOrders" and pairs == [("symbol", "BTCUSDT")]
        return [row, "junk"]

    async def never(symbol: str) -> Any:
        raise AssertionError("a cancel looks up no market data")

    req = request("cancel_all_open_margin_orders", {"symbol": "BTCUSDT"})
    facts = await gather_facts(req, rows, never, never)
    assert facts.target == {
        "symbol": "BTCUSDT",
        "openOrders": "2",
        "order 1": "BUY LIMIT 1.0 @ 5.10, filled 0.4 (PARTIALLY_FILLED, orderId 3, clientOrderId c)",
        "order 2": "(unreadable)",
    }
