"""Argument rules: exact decimals, Binance spellings, and the `agent-` client id rules."""

from __future__ import annotations

import re

import pytest

from binance_margin_mcp.catalog.model import ClientIdRole, Endpoint, Param, Security, Weight
from binance_margin_mcp.errors import InvalidArguments
from binance_margin_mcp.params import (
    build_wire_params,
    generate_client_id,
    reject_unknown,
    stamp_client_id,
    wire_value,
)

DEC = Param("quantity", "decimal")
ORDER = Endpoint(
    name="create_test_order",
    title="t",
    method="POST",
    path="/sapi/v1/margin/order",
    group="Trade",
    toolset="trade",
    security=Security.TRADE,
    weight=Weight("UID", 6),
    transaction=True,
    description="d",
    params=(
        Param("symbol", "string", required=True),
        Param("side", "enum", required=True, enum=("BUY", "SELL")),
        Param("isIsolated", "enum", enum=("TRUE", "FALSE")),
        Param("quantity", "decimal"),
        Param("newClientOrderId", "string", client_id=ClientIdRole.NEW),
        Param("origClientOrderId", "string"),
        Param("autoRepayAtCancel", "boolean"),
        Param("recvWindow", "integer"),
    ),
)


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("0.001", "0.001"),
        ("1.50000000", "1.50000000"),  # trailing zeros are kept exactly as given
        ("12345678901234567890.12345678901234567890", "12345678901234567890.12345678901234567890"),
        (0.1, "0.1"),
        (1e-05, "0.00001"),  # a JSON number in exponent form still travels as a plain decimal
        (3, "3"),
        (30000.5, "30000.5"),
    ],
)
def test_decimals_travel_as_exact_plain_strings(given, sent):
    """Decimal parameters accept a string or a number and always send a plain decimal string."""
    assert wire_value(DEC, given) == sent


@pytest.mark.parametrize(
    "bad",
    [
        "1e-08",
        "1E5",
        "NaN",
        "inf",
        "-Infinity",
        "-0.1",
        "0",
        "0.000",
        "１２３",
        "0.1 ",
        " 1",
        ".5",
        "5.",
        "+1",
        "1,5",
        "",
        "0x10",
        float("nan"),
        float("inf"),
        -1.5,
        0,
        True,
        None,
        [],
        {},
        0.30000000000000004,
        "123456789012345678901",
    ],
)
def test_malformed_decimals_are_refused_naming_the_parameter(bad):
    """Exponents, NaN/inf, signs, zero, full-width digits, floats with rounding noise: refused before sending."""
    with pytest.raises(InvalidArguments) as info:
        wire_value(DEC, bad)
    assert info.value.param == "quantity"
    assert "quantity" in info.value.message


def test_booleans_and_isolated_flag_take_binance_spellings():
    """isIsolated travels as TRUE/FALSE; boolean parameters as lower-case true/false."""
    iso = ORDER.param("isIsolated")
    assert iso is not None
    assert wire_value(iso, True) == "TRUE"
    assert wire_value(iso, "FALSE") == "FALSE"
    with pytest.raises(InvalidArguments):
        wire_value(iso, "yes")
    flag = ORDER.param("autoRepayAtCancel")
    assert flag is not None
    assert wire_value(flag, False) == "false"
    assert wire_value(flag, "TRUE") == "true"


@pytest.mark.parametrize("bad", [60001, 0, -1, "5000.5", True, "abc"])
def test_recv_window_is_bounded_to_binance_maximum(bad):
    """recvWindow must be a whole number between 1 and 60000."""
    param = ORDER.param("recvWindow")
    assert param is not None
    with pytest.raises(InvalidArguments):
        wire_value(param, bad)
    assert wire_value(param, 60000) == "60000"


def test_generated_client_ids_are_agent_plus_18_alphanumerics():
    """An absent id becomes `agent-` + 18 random alphanumerics, and two are never the same."""
    ids = {generate_client_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"agent-[A-Za-z0-9]{18}", i) for i in ids)


def test_given_client_ids_are_prefixed_once():
    """A given id gets `agent-` unless it already starts with it."""
    assert stamp_client_id("newClientOrderId", "myorder1") == "agent-myorder1"
    assert stamp_client_id("newClientOrderId", "agent-myorder1") == "agent-myorder1"


def test_client_ids_over_36_characters_or_with_bad_characters_are_refused():
    """Binance's 36-character limit and alphabet are enforced after prefixing."""
    assert stamp_client_id("newClientOrderId", "x" * 30) == "agent-" + "x" * 30  # exactly 36
    with pytest.raises(InvalidArguments, match="36"):
        stamp_client_id("newClientOrderId", "x" * 31)
    with pytest.raises(InvalidArguments):
        stamp_client_id("newClientOrderId", "has space")
    with pytest.raises(InvalidArguments):
        stamp_client_id("newClientOrderId", "é")


def test_wire_params_follow_catalog_order_and_always_carry_new_client_ids():
    """Pairs come in catalog order; a NEW id is always sent; ids naming existing orders are untouched."""
    pairs = build_wire_params(
        ORDER,
        {"quantity": "0.5", "side": "BUY", "symbol": "btcusdt", "origClientOrderId": "web_123"},
        generate=lambda: "agent-FIXEDFIXEDFIXED123",
    )
    assert pairs == [
        ("symbol", "BTCUSDT"),
        ("side", "BUY"),
        ("quantity", "0.5"),
        ("newClientOrderId", "agent-FIXEDFIXEDFIXED123"),
        ("origClientOrderId", "web_123"),
    ]


def test_missing_required_parameter_is_refused():
    """A required parameter that is absent is named in the refusal."""
    with pytest.raises(InvalidArguments, match="side"):
        build_wire_params(ORDER, {"symbol": "BTCUSDT"})


def test_unknown_arguments_are_refused_with_a_suggestion():
    """A misspelt argument is never silently dropped."""
    with pytest.raises(InvalidArguments, match="Did you mean 'quantity'"):
        reject_unknown(ORDER, {"quantityy": "1"}, {"account"})
    reject_unknown(ORDER, {"quantity": "1", "account": "main"}, {"account"})


@pytest.mark.parametrize("bad", ["BTC/USDT", "BTC USDT", "x" * 40, "ＢＴＣ", ""])
def test_symbols_must_be_ascii_codes(bad):
    """Symbols and assets are ASCII letters/digits; they are sent upper-case."""
    with pytest.raises(InvalidArguments):
        wire_value(Param("symbol", "string"), bad)
