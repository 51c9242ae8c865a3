"""Binance changes after the seed documents (issue 12 item 6): each is declared in the catalog, checked before
anything is sent where it is a rule, dated in the tool descriptions and listed in references/tools.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from binance_margin_mcp.catalog import CATALOG, TOOLSETS
from binance_margin_mcp.errors import InvalidArguments, hint_for
from binance_margin_mcp.params import build_wire_params
from binance_margin_mcp.simulator.http import build_routes

from conftest import text_of

REFERENCES = Path(__file__).parent.parent / "references"
DAY_MS = 86_400_000
START = 1_767_225_600_000  # 2026-01-01T00:00:00Z
ORDER_TOOLS = ("create_margin_order", "create_margin_oco_order", "create_margin_oto_order", "create_margin_otoco_order")
LISTEN_KEY_TOOLS = tuple(name for name, entry in CATALOG.items() if entry.path.endswith("/margin/listen-key"))
OTO = {
    "symbol": "BTCUSDT",
    "workingType": "LIMIT",
    "workingSide": "BUY",
    "workingPrice": "59000",
    "workingQuantity": "0.001",
    "workingTimeInForce": "GTC",
    "pendingType": "STOP_LOSS",
    "pendingSide": "SELL",
    "pendingQuantity": "0.001",
    "pendingTrailingDelta": "100",
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
    "pendingAbovePrice": "62000",
    "pendingBelowType": "STOP_LOSS",
    "pendingBelowTrailingDelta": "100",
}


def _documented(name: str) -> str:
    """What a model reads about a tool: its description and every parameter description."""
    entry = CATALOG[name]
    return " ".join([entry.description, *(p.description for p in entry.params)])


async def _refused_unsent(connect, fake, tool: str, args: dict) -> str:
    """Call `tool`; it must be refused as invalid_arguments with nothing sent to Binance. Returns the message."""
    async with connect(toolsets=TOOLSETS) as client:
        result = await client.call_tool(tool, args)
    assert result.is_error and result.structured_content["status"] == "invalid_arguments", text_of(result)
    assert [r.path for r in fake.requests if r.path.startswith("/sapi")] == []
    return text_of(result)


def test_every_declared_change_is_dated_in_what_the_tool_says() -> None:
    """Each tool touched by a change names the change's date in its description or parameter descriptions."""
    for name, entry in CATALOG.items():
        for change in entry.changes:
            assert change.date in _documented(name), f"{name} does not mention {change.date}"


def test_the_changes_section_of_tools_md_lists_every_change() -> None:
    text = (REFERENCES / "tools.md").read_text(encoding="utf-8")
    section = text.split("## Binance changes since the seed documents", 1)[1].split("## Toolset", 1)[0]
    for date in ("2026-02-02", "2026-02-20", "2026-04-13", "2026-04-16", "2026-05-07", "2026-06-15", "2026-07-10"):
        assert f"| {date} |" in section, date


# --- 2026-04-13: leverageBracket retired ---


async def test_leverage_bracket_is_refused_with_the_date_and_nothing_is_sent(connect, fake) -> None:
    entry = CATALOG["get_cross_margin_pro_leverage_brackets"]
    assert entry.path == "/sapi/v1/margin/leverageBracket" and entry.retired is not None
    assert entry.retired.startswith("2026-04-13")
    message = await _refused_unsent(connect, fake, entry.name, {})
    assert "2026-04-13" in message and "no longer supports" in message and "Nothing was sent" in message


# --- 2026-04-16: maxBorrowable weight ---


def test_max_borrowable_costs_750_uid_here_and_in_the_paper_exchange() -> None:
    entry = CATALOG["get_max_borrowable"]
    assert (entry.weight.limit, entry.weight.cost({"asset": "USDT"})) == ("UID", 750)
    assert "750 (UID), since 2026-04-16" in entry.description
    route = build_routes()[("GET", "/sapi/v1/margin/maxBorrowable")]
    assert (route.weight.limit, route.weight.cost({})) == ("UID", 750)


# --- 2026-05-07: borrowing orders cost 1500 ---


@pytest.mark.parametrize("name", ORDER_TOOLS)
def test_borrowing_orders_cost_1500_uid(name: str) -> None:
    weight = CATALOG[name].weight
    assert weight.limit == "UID"
    for side_effect in ("MARGIN_BUY", "AUTO_BORROW_REPAY"):
        assert weight.cost({"sideEffectType": side_effect}) == 1500
    assert weight.cost({"sideEffectType": "NO_SIDE_EFFECT"}) == weight.cost({}) == 6
    assert "1500 (UID) when sideEffectType is MARGIN_BUY or AUTO_BORROW_REPAY, since 2026-05-07" in (
        CATALOG[name].description
    )


# --- 2026-06-15: pending prices with trailing deltas ---


async def test_oto_trailing_delta_without_pending_price_is_refused_naming_both(connect, fake) -> None:
    message = await _refused_unsent(connect, fake, "create_margin_oto_order", OTO)
    assert "pendingTrailingDelta requires pendingPrice" in message and "2026-06-15" in message


@pytest.mark.parametrize("side", ["Above", "Below"])
async def test_otoco_trailing_delta_without_its_price_is_refused_naming_both(connect, fake, side: str) -> None:
    args = {k: v for k, v in OTOCO.items() if not k.startswith(("pendingAbove", "pendingBelow"))}
    args |= {"pendingAboveType": "LIMIT_MAKER", "pendingBelowType": "STOP_LOSS", "pendingAbovePrice": "62000"}
    args |= {"pendingBelowStopPrice": "57000", f"pending{side}TrailingDelta": "100"}
    args.pop(f"pending{side}Price", None)
    message = await _refused_unsent(connect, fake, "create_margin_otoco_order", args)
    assert f"pending{side}TrailingDelta requires pending{side}Price" in message


def test_a_trailing_delta_with_its_price_passes_the_rule() -> None:
    build_wire_params(CATALOG["create_margin_oto_order"], OTO | {"pendingPrice": "58000"})
    build_wire_params(CATALOG["create_margin_otoco_order"], OTOCO | {"pendingBelowPrice": "57000"})
    with pytest.raises(InvalidArguments) as refused:
        build_wire_params(CATALOG["create_margin_otoco_order"], OTOCO)
    assert refused.value.param == "pendingBelowPrice"


# --- 2026-02-02 / 2026-07-10: capital flow ---


async def test_capital_flow_span_over_7_days_is_refused_and_nothing_is_sent(connect, fake) -> None:
    args = {"startTime": START, "endTime": START + 7 * DAY_MS + 1}
    message = await _refused_unsent(connect, fake, "get_margin_capital_flow", args)
    assert "at most 7 days" in message and "2026-02-02" in message and "-4047" in message


def test_capital_flow_span_of_7_days_or_one_end_passes() -> None:
    entry = CATALOG["get_margin_capital_flow"]
    build_wire_params(entry, {"startTime": START, "endTime": START + 7 * DAY_MS})
    build_wire_params(entry, {"startTime": START})


def test_capital_flow_error_and_note_field_are_explained() -> None:
    assert "7 days" in hint_for(-4047, "Time interval must be within 0-7 days")
    assert "-4047" in (REFERENCES / "errors.md").read_text(encoding="utf-8")
    description = CATALOG["get_margin_capital_flow"].description
    assert "2026-02-02" in description and "2026-07-10" in description and "note" in description


# --- 2026-02-20: listen keys serve the risk data stream only ---


@pytest.mark.parametrize("name", LISTEN_KEY_TOOLS)
def test_listen_key_tools_say_they_serve_the_risk_stream_not_order_updates(name: str) -> None:
    description = CATALOG[name].description
    assert "risk" in description.lower() and "2026-02-20" in description
    assert "not order updates" in description or "not for order" in description


def test_listen_key_tools_are_the_six_risk_stream_routes() -> None:
    assert len(LISTEN_KEY_TOOLS) == 6
    assert "userListenToken" in CATALOG["start_margin_user_data_stream"].description
