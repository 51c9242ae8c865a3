"""Property tests over tool arguments: every input ends in a correct signed request or a clear refusal."""

from __future__ import annotations

import asyncio
import re
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from binance_margin_mcp.app import build_server
from binance_margin_mcp.catalog import CATALOG
from binance_margin_mcp.params import SERVER_SET
from binance_margin_mcp.settings import Settings

from conftest import TEST_KEY, TEST_SECRET, Sleeps, account_block, make_fake, write_tools_md
from fakes.verify import split_signed, verify_hmac

DECIMAL = re.compile(r"^[0-9]{1,20}(\.[0-9]{1,20})?$")
ENCODED = re.compile(rb"^([A-Za-z0-9\-._~=&]|%[0-9A-F]{2})*$")
KNOWN_REFUSALS = {"invalid_arguments", "account_error", "refused_by_operator_limit", "rate_limited_locally"}

wild = st.one_of(
    st.text(max_size=50),
    st.text(min_size=1, max_size=20, alphabet=st.characters(codec="utf-8")).map(lambda t: (t * 10_000)[:10_000]),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.sampled_from(
        [
            "1e-08",
            "1E5",
            "NaN",
            "-0.5",
            "0",
            "０.５",
            "0.1 ",
            "99999999999999999999.99999999999999999999",
            "0.00000000000000000001",
            "TRUE",
            "true",
            "BUY",
            "GTC",
            "BTCUSDT",
            "agent-x",
        ]
    ),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


@st.composite
def tool_calls(draw: Any) -> tuple[str, dict[str, Any]]:
    name = draw(st.sampled_from(sorted(CATALOG)))
    entry = CATALOG[name]
    args: dict[str, Any] = {}
    for param in entry.params:
        if param.name in SERVER_SET:  # recvWindow: refused as an argument (tests/test_recv_window.py)
            continue
        choice = draw(st.integers(0, 3))
        if choice == 0 and not param.required:
            continue
        if choice == 1 and param.enum:
            args[param.name] = draw(st.sampled_from(param.enum))
        else:
            args[param.name] = draw(wild)
    if draw(st.booleans()):
        args[draw(st.text(min_size=1, max_size=20))] = draw(wild)
    return name, {**args, "account": "practice"}


# One server per test (building one costs ~0.15 s; 80 examples would spend most of the test on it). Each
# example clears the fake's request log; nothing else a call leaves behind changes what the next one sends.
_SERVERS: dict[str, tuple[Any, Any]] = {}


def server_for(test: str, tmp_path_factory: Any) -> tuple[Any, Any]:
    if test not in _SERVERS:
        directory = tmp_path_factory.mktemp("fuzz")
        tools_md = write_tools_md(directory / "TOOLS.md", [account_block("practice", TEST_KEY, TEST_SECRET, "Testnet")])
        fake = make_fake()
        settings_ = Settings(tools_md=tools_md, enable_special_key_creation=True, enable_manual_liquidation=True)
        _SERVERS[test] = fake, build_server(settings_, http_transport=fake.transport(), sleep=Sleeps())
    return _SERVERS[test]


async def call_once(fake: Any, server: Any, name: str, args: dict[str, Any]) -> tuple[Any, list]:
    fake.requests.clear()
    async with Client(server) as client:
        result = await client.call_tool(name, args)
    return result, [r for r in fake.requests if r.path.startswith("/sapi/")]


def check_request(name: str, request: Any) -> None:
    """What reached the exchange is well-formed: encoded once, signed right, exact decimals, valid enums."""
    assert ENCODED.match(request.raw_query), request.raw_query[:200]
    entry = CATALOG[name]
    params = dict(request.params())
    if entry.security.signed:
        payload, signature = split_signed(request.raw_query, request.body)
        assert signature is not None and verify_hmac(TEST_SECRET, payload, signature)
    for param in entry.params:
        value = params.get(param.name)
        if value is None:
            continue
        if param.type == "decimal":
            assert DECIMAL.match(value), (param.name, value)
        elif param.type == "integer":
            assert value.isascii() and value.isdigit(), (param.name, value)
        elif param.type == "enum":
            assert value in param.enum, (param.name, value)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(call=tool_calls())
def test_any_arguments_end_in_a_correct_request_or_a_clear_refusal(tmp_path_factory, call):
    """Random unicode, huge/tiny/exponent/negative numbers, wrong types, unknown and 10,000-char arguments:
    never a crash, never a malformed or mis-signed request."""
    name, args = call
    result, requests = asyncio.run(call_once(*server_for("any", tmp_path_factory), name, args))
    text = result.content[0].text if result.content else ""
    assert text != f"Error executing tool {name}", "a crash reached the client"
    if result.is_error:
        assert requests == [] or result.structured_content.get("status") == "binance_error"
        status = (result.structured_content or {}).get("status")
        assert status in KNOWN_REFUSALS | {"binance_error"} or text.startswith(f"Error executing tool {name}:"), text
        if status == "binance_error":
            assert result.structured_content["code"] not in (-1022, -1100, -1102), text  # never mis-signed/malformed
    else:
        assert len(requests) == 1
    for request in requests:
        check_request(name, request)


decimal_like = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats(allow_nan=True, allow_infinity=True),
    st.from_regex(r"[+-]?[0-9０-９]{0,25}(\.[0-9]{0,25})?([eE][+-]?[0-9]{1,3})?", fullmatch=True),
    st.integers(min_value=-(10**25), max_value=10**25),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tool=st.sampled_from(["borrow_or_repay", "repay_liquidation_loan"]), amount=decimal_like)
def test_money_amounts_are_sent_as_plain_decimals_or_refused(tmp_path_factory, tool, amount):
    """An amount travels only as Binance's plain decimal grammar, with the value the caller meant; else refused."""
    args = {"asset": "USDT", "amount": amount, "account": "practice"}
    if tool == "borrow_or_repay":
        args |= {"isIsolated": "FALSE", "type": "BORROW"}
    result, requests = asyncio.run(call_once(*server_for("money", tmp_path_factory), tool, args))
    if result.is_error:
        assert result.structured_content["status"] == "invalid_arguments" and requests == []
        return
    (request,) = requests
    sent = dict(request.params())["amount"]
    assert DECIMAL.match(sent), sent
    assert Decimal(sent) == Decimal(str(amount)) > 0  # exactly the value given, never rounded
    check_request(tool, request)
