"""recvWindow is the server's: absent unless the account's TOOLS.md sets `- Recv Window: N`, never an argument."""

from __future__ import annotations

from pathlib import Path

import pytest

from binance_margin_mcp.tools_md_parser import parse_accounts

from conftest import TEST_KEY, TEST_SECRET, account_block, text_of, write_tools_md

ACCOUNT_PATH = "/sapi/v1/margin/account"


def practice(tmp_path: Path, extra: str = "") -> Path:
    return write_tools_md(tmp_path / "TOOLS.md", [account_block("practice", TEST_KEY, TEST_SECRET, "Testnet") + extra])


@pytest.mark.parametrize(("value", "expected"), [("10000", 10000), ("1", 1), ("60000", 60000), ("7500 ms", 7500)])
def test_recv_window_is_read_in_milliseconds(tmp_path, value, expected):
    """`- Recv Window: N` (1-60000, optionally followed by ms) becomes the account's recv_window."""
    loaded = parse_accounts(practice(tmp_path, f"- Recv Window: {value}\n").read_text(), tmp_path)
    assert loaded.problems == [] and loaded.accounts["practice"].recv_window == expected


@pytest.mark.parametrize("value", ["0", "60001", "5e3", "-5", "5000.5", "five seconds", "99999999"])
def test_a_bad_recv_window_is_a_line_numbered_problem(tmp_path, value):
    """Out of range or not a whole number: the account does not load, the problem names the line and the field."""
    text = practice(tmp_path, f"- Recv Window: {value}\n").read_text()
    loaded = parse_accounts(text, tmp_path)
    line = text.splitlines().index(f"- Recv Window: {value}") + 1
    assert "practice" not in loaded.accounts
    assert [p.message for p in loaded.problems] == [
        f"TOOLS.md line {line}: 'Recv Window' must be a whole number of milliseconds from 1 to 60000"
    ]


async def test_without_the_setting_no_recv_window_is_sent(connect, fake):
    """Today's default: no recvWindow on the wire, so Binance applies its own (5000 ms)."""
    async with connect() as client:
        await client.call_tool("get_cross_margin_account", {"account": "practice"})
    request = next(r for r in fake.requests if r.path == ACCOUNT_PATH)
    assert request.param("recvWindow") is None


async def test_the_accounts_recv_window_goes_with_its_signed_requests(connect, fake, tmp_path):
    """Set in TOOLS.md, it is sent (before the timestamp) with the account's signed requests and shown by
    show_account."""
    path = practice(tmp_path, "- Recv Window: 12000\n")
    async with connect(path=path) as client:
        await client.call_tool("get_cross_margin_account", {"account": "practice"})
        shown = await client.call_tool("show_account", {"account": "practice"})
    request = next(r for r in fake.requests if r.path == ACCOUNT_PATH)
    assert [name for name, _ in request.params()][-3:] == ["recvWindow", "timestamp", "signature"]
    assert request.param("recvWindow") == "12000"
    assert shown.structured_content["recvWindow"] == "12000 ms"


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_passing_recv_window_is_refused_with_a_hint(connect, fake, mode):
    """An agent passing recvWindow is told that the server sets it and how the operator changes it."""
    async with connect(mode=mode) as client:
        result = await client.call_tool("get_cross_margin_account", {"account": "practice", "recvWindow": 5000})
    assert result.is_error and result.structured_content["param"] == "recvWindow"
    assert "the server sets recvWindow itself" in text_of(result) and "'- Recv Window: N'" in text_of(result)
    assert not [r for r in fake.requests if r.path == ACCOUNT_PATH]
