"""What one order costs on a warm server: one HTTP request, no TOOLS.md re-parse, no failed imports per request;
and the open-order limit is left to Binance, whose refusal tells the agent what to do."""

from __future__ import annotations

import importlib.abc
import sys
from pathlib import Path

import pytest
from mcp import Client

from binance_margin_mcp.adapter import build_mcp_server
from binance_margin_mcp.app import build_pipeline, build_service
from binance_margin_mcp.errors import HINTS, ApiError
from binance_margin_mcp.settings import Settings

from conftest import PERMISSIVE_SYMBOL, TEST_KEY, TEST_SECRET, account_block, text_of, write_tools_md
from fakes.fake_binance import FakeBinance

ORDER_PATH = "/sapi/v1/margin/order"
ORDER = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.001"}


def order(n: int) -> dict[str, str]:
    return {**ORDER, "price": str(59000 + n), "account": "practice"}


def serve_orders(fake: FakeBinance) -> FakeBinance:
    """Orders accepted; the symbol limits its open orders, as every real symbol does."""
    symbol = {**PERMISSIVE_SYMBOL, "filters": [{"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200}]}
    fake.respond("GET", "/api/v3/exchangeInfo", {"symbols": [symbol]})
    fake.add_route("GET", "/api/v3/ticker/price")
    fake.respond("GET", "/api/v3/ticker/price", {"symbol": "BTCUSDT", "price": "60000"})
    fake.respond("POST", ORDER_PATH, {"orderId": 1, "status": "NEW"})
    return fake


def requests_of(fake: FakeBinance) -> list[str]:
    return [f"{r.method} {r.path}" for r in fake.requests]


async def test_a_warm_testnet_order_makes_exactly_one_http_request(connect, fake):
    """After one earlier order, exchangeInfo, the last price and the server time come from caches and nothing
    counts the open orders (Binance enforces MAX_NUM_ORDERS): the order is the only request."""
    serve_orders(fake)
    async with connect() as client:
        first = await client.call_tool("create_margin_order", order(0))
        cold = requests_of(fake)
        fake.requests.clear()
        for n in range(1, 4):
            result = await client.call_tool("create_margin_order", order(n))
            assert not result.is_error, text_of(result)
            assert requests_of(fake) == [f"POST {ORDER_PATH}"], requests_of(fake)
            fake.requests.clear()
    assert not first.is_error, text_of(first)
    assert cold[-1] == f"POST {ORDER_PATH}" and "GET /sapi/v1/margin/openOrders" not in cold
    assert set(cold[:-1]) == {"GET /api/v3/time", "GET /api/v3/exchangeInfo", "GET /api/v3/ticker/price"}


async def test_tools_md_is_parsed_at_most_once_per_call(tmp_path, fake):
    """Orders on an unchanged TOOLS.md parse it not at all after the first call; an edit costs one parse."""
    serve_orders(fake)
    path = write_tools_md(tmp_path / "T.md", [account_block("practice", TEST_KEY, TEST_SECRET, "Testnet")])
    settings = Settings(tools_md=path, journal_path=str(tmp_path / "journal.jsonl"))
    service = build_service(settings, http_transport=fake.transport())
    async with Client(build_mcp_server(build_pipeline(service, settings))) as client:
        for n in range(4):
            before = service.store.parses
            assert not (await client.call_tool("create_margin_order", order(n))).is_error
            assert service.store.parses - before == (1 if n == 0 else 0)
        path.write_text(path.read_text() + "\n")  # an edit: the next call parses once more, and only once
        before = service.store.parses
        assert not (await client.call_tool("create_margin_order", order(9))).is_error
        assert service.store.parses - before == 1


class _ImportWatch(importlib.abc.MetaPathFinder):
    """Records every import that reaches the finders (a module already imported never does); finds nothing."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(self, fullname, path, target=None):  # type: ignore[no-untyped-def]
        self.names.append(fullname)
        return None


async def test_requests_over_real_http_attempt_no_imports(tmp_path: Path):
    """httpcore imports sniffio on every request; with the dependency installed that import is a dictionary
    lookup, not a failed search of sys.path (~0.7 ms per request when it is missing)."""
    fake = FakeBinance()
    fake.add_hmac_key(TEST_KEY, TEST_SECRET)
    with fake.serve() as base_url:
        path = write_tools_md(
            tmp_path / "T.md", [account_block("practice", TEST_KEY, TEST_SECRET, "Testnet", base_url)]
        )
        settings = Settings(tools_md=path, journal_path=str(tmp_path / "journal.jsonl"))
        service = build_service(settings)
        async with Client(build_mcp_server(build_pipeline(service, settings))) as client:
            assert not (await client.call_tool("get_cross_margin_account", {})).is_error  # warm: connection, clock
            watch = _ImportWatch()
            sys.meta_path.insert(0, watch)
            try:
                for _ in range(5):
                    assert not (await client.call_tool("get_cross_margin_account", {})).is_error
            finally:
                sys.meta_path.remove(watch)
        await service.executor.client.http.aclose()
    assert "sniffio" in sys.modules
    assert watch.names == [], watch.names
    assert len(fake.requests) == 1 + 1 + 5  # server time, then one request per call


@pytest.mark.parametrize(
    ("code", "msg"),
    [
        (-1013, "Filter failure: MAX_NUM_ORDERS"),
        (-1013, "Filter failure: MAX_NUM_ALGO_ORDERS"),
        (-1013, "Filter failure: EXCHANGE_MAX_NUM_ORDERS"),
        (-2010, "Account has too many open orders on the symbol."),
    ],
)
def test_binances_open_order_limit_refusal_tells_the_agent_to_cancel_first(code, msg):
    """Matched on the message, whatever the code: list the open orders, cancel some, then place it again."""
    error = ApiError(code, msg, 400, "POST /sapi/v1/margin/order")
    assert "open-order limit is reached" in error.hint and "get_open_margin_orders" in error.hint
    assert "cancel_margin_order" in error.message and error.payload()["hint"] == error.hint


def test_other_refusals_keep_the_hint_of_their_code():
    """A tick-size -1013 is not about open orders."""
    assert ApiError(-1013, "Filter failure: PRICE_FILTER", 400, "x").hint == HINTS[-1013]
    assert ApiError(None, "Not found", 404, "x").hint == ""
