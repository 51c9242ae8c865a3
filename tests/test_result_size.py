"""An answer too long to read is cut to valid JSON with a note on how to narrow the query."""

from __future__ import annotations

import json

import pytest

from binance_margin_mcp.result_size import MAX_TEXT, fit, narrowing_hints, render

from conftest import text_of

TRADES_PATH = "/sapi/v1/margin/myTrades"


def trade(index: int) -> dict:
    return {
        "commission": "0.00006000",
        "commissionAsset": "BTC",
        "id": 100000 + index,
        "isBestMatch": True,
        "isBuyer": index % 2 == 0,
        "isMaker": False,
        "orderId": 200000 + index,
        "price": "60123.45000000",
        "qty": "0.00100000",
        "symbol": "BTCUSDT",
        "isIsolated": False,
        "time": 1_700_000_000_000 + index * 1000,
    }


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize("through_execute", [False, True])
async def test_five_thousand_trades_are_cut_to_valid_json_with_a_note(connect, fake, mode, through_execute):
    """5,000 trades (~1.2 MB) come back as at most 60,000 characters of valid JSON, the same in text and
    structuredContent, with the first rows kept, how many were left out, and get_margin_trades' own narrowing
    parameters."""
    fake.respond("GET", TRADES_PATH, [trade(i) for i in range(5000)])
    args = {"symbol": "BTCUSDT", "account": "practice"}
    async with connect(mode=mode) as client:
        if through_execute:
            result = await client.call_tool("execute_tool", {"name": "get_margin_trades", "arguments": args})
        else:
            result = await client.call_tool("get_margin_trades", args)
    assert not result.is_error
    text = text_of(result)
    assert len(text) <= MAX_TEXT
    parsed = json.loads(text)
    assert parsed == result.structured_content
    note = parsed["truncated"]
    shown = len(parsed["result"])
    assert 0 < shown < 5000 and note["shown"] == shown and note["total"] == 5000 and note["field"] == "result"
    assert parsed["result"] == [trade(i) for i in range(shown)]
    assert f"Shown {shown:,} of 5,000 rows" in note["note"]
    assert "limit, startTime/endTime, fromId" in note["note"]
    assert len(text) > MAX_TEXT - 400, "the cut keeps as many rows as fit"


async def test_a_short_answer_is_untouched(connect, fake):
    """Below the limit nothing changes: no note, every row."""
    fake.respond("GET", TRADES_PATH, [trade(i) for i in range(10)])
    async with connect() as client:
        result = await client.call_tool("get_margin_trades", {"symbol": "BTCUSDT", "account": "practice"})
    assert result.structured_content == {"result": [trade(i) for i in range(10)]}
    assert "truncated" not in text_of(result)


def test_the_largest_list_one_level_down_is_cut_and_the_rest_kept():
    """A nested list (e.g. {"data": {"rows": [...]}}) is cut; smaller lists and other fields stay whole."""
    data = {"total": 5000, "small": [1, 2, 3], "data": {"page": 1, "rows": [trade(i) for i in range(5000)]}}
    text = render(data)
    cut = fit(data, text, narrowing_hints(["size", "current", "startTime", "endTime"]))
    assert cut is not None
    trimmed, body = cut
    assert len(body) <= MAX_TEXT and json.loads(body) == trimmed
    assert trimmed["small"] == [1, 2, 3] and trimmed["total"] == 5000 and trimmed["data"]["page"] == 1
    assert trimmed["truncated"]["field"] == "data.rows"
    assert "narrow the query with size, startTime/endTime" in trimmed["truncated"]["note"]


def test_nothing_to_cut_leaves_the_answer_as_it_is():
    """A long answer without a list is not mangled."""
    data = {"blob": "x" * (MAX_TEXT + 10)}
    assert fit(data, render(data)) is None
    assert fit({"rows": [1]}, "short") is None
