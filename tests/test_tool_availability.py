"""Tools that cannot work in the current configuration are not listed (issue 12 item 5)."""

from __future__ import annotations

import pytest

from binance_margin_mcp.adapter import can_need_confirmation

from conftest import MAIN_KEY, MAIN_SECRET, TEST_KEY, TEST_SECRET, account_block, text_of, write_tools_md

PAPER = {"set_paper_price", "deposit_paper_funds", "reset_paper_account", "get_paper_status"}


async def names(client) -> set[str]:
    return {tool.name for tool in (await client.list_tools()).tools}


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_paper_tools_follow_tools_md_at_list_time(connect, tools_md, mode):
    """No paper account: no paper tools (and calling one anyway is refused clearly); a Paper account added to
    TOOLS.md while the server runs lists them at the next tools/list, in both protocol eras."""
    async with connect(mode=mode) as client:
        assert not PAPER & await names(client)
        refused = await client.call_tool("get_paper_status", {})
        assert refused.is_error and "No paper account is configured" in text_of(refused)
        write_tools_md(
            tools_md,
            [
                account_block("main", MAIN_KEY, MAIN_SECRET, "Mainnet"),
                account_block("sim", TEST_KEY, TEST_SECRET, "Paper"),
            ],
        )
        assert await names(client) >= PAPER


async def test_the_builtin_paper_account_lists_the_paper_tools(connect, tmp_path):
    async with connect(path=tmp_path / "absent" / "TOOLS.md") as client:
        assert await names(client) >= PAPER


@pytest.mark.parametrize(
    ("settings", "shown"),
    [
        ({}, True),
        ({"confirm_mode": "token"}, True),
        ({"confirm_mode": "totp"}, True),
        ({"confirm_mode": "elicitation"}, True),  # the page can be served: URL-capable clients get it
        ({"confirm_mode": "elicitation", "transport": "http", "allow_remote": True}, False),  # no page
        ({"confirm_mode": "browser", "transport": "http", "allow_remote": True}, False),
        ({"read_only": True}, False),
    ],
)
async def test_confirm_transaction_is_listed_only_when_a_channel_can_need_it(connect, settings, shown):
    async with connect(**settings) as client:
        assert ("confirm_transaction" in await names(client)) is shown


def test_the_confirmation_rule_follows_choose_channel():
    assert can_need_confirmation("auto", page=False)  # TOTP for an enrolled account
    assert not can_need_confirmation("elicitation", page=False)
    assert not can_need_confirmation("browser", page=False)
    assert can_need_confirmation("browser", page=True)
