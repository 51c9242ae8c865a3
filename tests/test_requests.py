"""Every endpoint's request, as it reaches the (independently verifying) fake Binance over real httpx."""

from __future__ import annotations

import csv
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from mcp import Client

from binance_margin_mcp.app import build_server
from binance_margin_mcp.catalog import CATALOG, Endpoint, Param
from binance_margin_mcp.params import SERVER_SET
from binance_margin_mcp.settings import Settings

from conftest import (
    MAIN_KEY,
    MAIN_SECRET,
    TEST_KEY,
    TEST_SECRET,
    account_block,
    assert_no_secret,
    write_tools_md,
)
from fakes.verify import split_signed, verify_hmac

TSV = Path(__file__).parent / "data" / "endpoints.tsv"
SIGNED = {"USER_DATA", "TRADE", "MARGIN"}
USER_AGENT = "binance-margin-trading/1.0.0 (Skill)"
SAMPLE_BY_NAME = {
    "symbol": "BTCUSDT",
    "isolatedSymbol": "BTCUSDT",
    "symbols": "BTCUSDT,ETHUSDT",
    "asset": "BTC",
    "coin": "BNB",
    "assets": "BTC,ETH",
    "assetNames": "BTC,ETH",
    "listenKey": "abc123",
    "apiName": "bot 1",
    "ip": "1.2.3.4",
    "publicKey": "MCowBQYDK2VwAyEA/key+with=chars",
    "maxLeverage": 5,
    "type": None,
}
# Prices that satisfy the OCO rule (limit above the stop for a SELL pair, around the 0.5 working price).
SAMPLE_BY_NAME |= {
    "price": "0.7",
    "stopPrice": "0.3",
    "stopLimitPrice": "0.29",
    "pendingAbovePrice": "0.7",
    "pendingBelowPrice": "0.29",
    "pendingBelowStopPrice": "0.3",
    "pendingAboveType": "LIMIT_MAKER",
}
# Iceberg quantities need GTC (checked before sending), so every time-in-force sample is GTC.
SAMPLE_BY_NAME |= dict.fromkeys(
    (
        "timeInForce",
        "stopLimitTimeInForce",
        "workingTimeInForce",
        "pendingTimeInForce",
        "pendingAboveTimeInForce",
        "pendingBelowTimeInForce",
    ),
    "GTC",
)


def security_of_tsv() -> dict[str, str]:
    with TSV.open(newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))[1:]
    return {f"{row[1]} {row[0]}": row[4] for row in rows}


def sample(param: Param) -> object:
    value = SAMPLE_BY_NAME.get(param.name)
    if value is not None:
        return value
    if param.type == "enum":
        return param.enum[-1]
    if param.client_id is not None:
        return "myid-1"
    return {"decimal": "0.5", "integer": 3, "boolean": False}.get(param.type, "value_1")


def all_args(entry: Endpoint) -> dict[str, object]:
    return {p.name: sample(p) for p in entry.params if p.name not in SERVER_SET}


def api_requests(fake) -> list:
    """The requests the tools made, without the /api/v3 probes (server time, exchangeInfo, ticker)."""
    return [r for r in fake.requests if not r.path.startswith("/api/v3/")]


def header(request, name: str) -> str | None:
    return request.headers.get(name.lower())


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_every_endpoint_sends_a_correctly_encoded_and_signed_request(connect, fake, mode, tmp_path):
    """Each of the 69 tools sends its method and path, params in catalog order (recvWindow from the account's
    `Recv Window`), the skill UA, key header and, for SIGNED endpoints, timestamp then signature over exactly the
    bytes before it (checked independently)."""
    security = security_of_tsv()
    block = account_block("practice", TEST_KEY, TEST_SECRET, "Testnet") + "- Recv Window: 5000\n"
    path = write_tools_md(tmp_path / "recv.md", [block])
    options = {"enable_special_key_creation": True, "enable_manual_liquidation": True}
    async with connect(mode=mode, path=path, **options) as client:
        for entry in CATALOG.values():
            if entry.retired is not None:  # refused before sending (tests/test_binance_2026.py)
                continue
            before = len(api_requests(fake))
            result = await client.call_tool(entry.name, {**all_args(entry), "account": "practice"})
            assert not result.is_error, (entry.name, result.content)
            assert len(api_requests(fake)) == before + 1, entry.name
            request = api_requests(fake)[-1]
            assert (request.method, request.path) == (entry.method, entry.path)
            assert header(request, "User-Agent") == USER_AGENT
            assert header(request, "X-MBX-APIKEY") == TEST_KEY
            assert request.body == b""
            names = [name for name, _ in request.params()]
            expected = [p.name for p in entry.params]
            if security[entry.endpoint_id] in SIGNED:
                # Where the catalog lists no recvWindow the transport adds the account's before the timestamp.
                window = [] if "recvWindow" in expected else ["recvWindow"]
                assert names == [*expected, *window, "timestamp", "signature"], entry.name
                assert request.param("recvWindow") == "5000", entry.name
                payload, signature = split_signed(request.raw_query, request.body)
                assert signature is not None and verify_hmac(TEST_SECRET, payload, signature)
            else:
                assert names == expected, entry.name
            assert_no_secret(str(result.content) + str(result.structured_content))


async def test_non_ascii_and_reserved_characters_are_percent_encoded_once(connect, fake):
    """UTF-8 percent-encoding per RFC 3986: spaces as %20, '+', '/', '=' encoded, non-ASCII as UTF-8 bytes."""
    async with connect(enable_special_key_creation=True) as client:
        result = await client.call_tool(
            "create_margin_special_key",
            {"apiName": "bot ümlaut+1/=", "account": "practice"},
        )
    assert not result.is_error, result.content
    raw = fake.requests[-1].raw_query.decode("ascii")
    assert raw.startswith("apiName=" + quote("bot ümlaut+1/=", safe="") + "&")
    assert "apiName=bot%20%C3%BCmlaut%2B1%2F%3D&" in raw


async def test_mainnet_reads_carry_the_main_key_and_return_binance_json_unchanged(connect, fake):
    """structuredContent is Binance's JSON as sent (decimals stay strings); lists are wrapped in `result`."""
    body = {
        "borrowEnabled": True,
        "marginLevel": "11.64405625",
        "userAssets": [{"asset": "BTC", "free": "0.00499500"}],
    }
    fake.respond("GET", "/sapi/v1/margin/account", body)
    fake.respond("GET", "/sapi/v1/margin/openOrders", [{"orderId": 1, "price": "0.10000000"}])
    async with connect() as client:
        account = await client.call_tool("get_cross_margin_account", {})
        orders = await client.call_tool("get_open_margin_orders", {"symbol": "BTCUSDT"})
    assert account.structured_content == body
    assert orders.structured_content == {"result": [{"orderId": 1, "price": "0.10000000"}]}
    assert header(api_requests(fake)[0], "X-MBX-APIKEY") == MAIN_KEY
    assert account.meta["endpoint"] == "GET /sapi/v1/margin/account"


@pytest.mark.parametrize(
    ("code", "status", "hint"),
    [
        (-1022, 400, "Signing"),
        (-2015, 401, "permissions"),
        (-1013, 400, "filter"),
        (-2010, 400, "rejected"),
    ],
)
async def test_binance_errors_come_back_with_code_msg_and_hint(connect, fake, code, status, hint):
    """A Binance error is an isError result with its code, msg and a one-line hint, never a traceback."""
    fake.fail_next("GET", "/sapi/v1/margin/account", status=status, code=code, msg="the exchange said no")
    async with connect() as client:
        result = await client.call_tool("get_cross_margin_account", {})
    assert result.is_error
    data = result.structured_content
    assert (data["code"], data["msg"], data["httpStatus"]) == (code, "the exchange said no", status)
    assert hint in data["hint"]
    text = result.content[0].text
    assert str(code) in text and "Traceback" not in text


async def test_a_timeout_on_an_order_is_reported_as_unknown_with_the_client_id(connect, fake):
    """An order whose answer never came is UNKNOWN (not failed), with the agent- id to reconcile by."""
    fake.timeout_next("POST", "/sapi/v1/margin/order")
    args = {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.01", "account": "practice"}
    async with connect() as client:
        result = await client.call_tool("create_margin_order", args)
    assert result.is_error
    data = result.structured_content
    assert data["status"] == "UNKNOWN"
    assert data["clientIds"]["newClientOrderId"].startswith("agent-")
    assert "Do NOT resend" in result.content[0].text
    assert "Outcome UNKNOWN" in result.content[0].text and "get_margin_order" in result.content[0].text
    order_calls = [r.method for r in fake.requests if r.path == "/sapi/v1/margin/order"]
    assert order_calls.count("POST") == 1  # never sent twice
    assert order_calls.count("GET") == 8  # looked up by its client id for about a minute


async def test_a_5xx_on_an_order_is_unknown_but_on_a_read_is_a_plain_failure(connect, fake, sleeps):
    """HTTP 5XX means 'execution status unknown' for writes; a read that keeps failing is a plain failure."""
    fake.fail_next("POST", "/sapi/v1/margin/order", status=503, code=-1006, msg="Unexpected response")
    for _ in range(3):  # every attempt of the read fails
        fake.fail_next("GET", "/sapi/v1/margin/account", status=502, code=-1001, msg="Internal error")
    args = {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.01", "account": "practice"}
    async with connect() as client:
        order = await client.call_tool("create_margin_order", args)
        read = await client.call_tool("get_cross_margin_account", {})
    assert order.structured_content["status"] == "UNKNOWN"
    assert read.is_error and read.structured_content["status"] == "transport_error"
    assert [r.method for r in fake.requests if r.path == "/sapi/v1/margin/order"].count("POST") == 1  # not retried
    assert sum(1 for r in fake.requests if r.path == "/sapi/v1/margin/account") == 3
    # the order's reconciliation polls (0.5 ... 15 s), then the read's bounded backoff between attempts
    assert sleeps.calls == [0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0, 15.0, 0.25, 1.0]


async def test_testnet_404_says_testnet_has_no_margin(tools_md):
    """The spot testnet answers margin paths with a 404 page: the result says so plainly."""

    def not_found(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text="<html>404 Not Found</html>")

    server = build_server(Settings(tools_md=tools_md), http_transport=httpx.MockTransport(not_found))
    async with Client(server) as client:
        result = await client.call_tool("get_cross_margin_account", {"account": "practice"})
    assert result.is_error
    assert "testnet serves no margin endpoints" in result.structured_content["hint"]


def test_signed_query_matches_the_fact_sheet_vector_byte_for_byte():
    """Our encoder + signer reproduce the fact sheet's known-answer query for a borrow (published secret)."""
    from binance_margin_mcp.params import build_wire_params
    from binance_margin_mcp.signing import HmacSigner
    from binance_margin_mcp.transport import BinanceHttp, Credentials

    entry = CATALOG["borrow_or_repay"]
    args = {"asset": "USDT", "isIsolated": "FALSE", "amount": "10.5", "type": "BORROW"}
    pairs = build_wire_params(entry, args, server_values={"recvWindow": 5000})  # the account's Recv Window
    http = BinanceHttp(clock_ms=lambda: 1499827319559)
    creds = Credentials("https://api.binance.com", MAIN_KEY, HmacSigner(MAIN_SECRET))
    query, unsigned = http.build_query(entry, pairs, creds)
    assert unsigned == "asset=USDT&isIsolated=FALSE&amount=10.5&type=BORROW&recvWindow=5000&timestamp=1499827319559"
    assert query == unsigned + "&signature=6527772999fb5dd757a2d26dfa489817972939737b31ad8b6fc4708d1198a4a0"
