"""Account choice never guesses: a broken default or a broken only account fails with the line to fix."""

from __future__ import annotations

import io

from binance_margin_mcp.cli import report_tools_md
from binance_margin_mcp.settings import Settings

from conftest import MAIN_KEY, MAIN_SECRET, TEST_KEY, TEST_SECRET, account_block, text_of, write_tools_md

MARKET_BUY = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
BROKEN_MAIN = f"### main\n- API Key: {TEST_KEY}\n- Secret: {TEST_SECRET}\n- Environment: Moon\n"


def names(listed) -> list[str]:
    return [row["name"] for row in listed.structured_content["accounts"]]


async def test_when_every_account_is_malformed_orders_do_not_go_to_the_built_in_paper_account(connect, tmp_path, fake):
    """TOOLS.md has an entry that does not load: the order fails naming its line, and paper is not offered."""
    path = write_tools_md(tmp_path / "T.md", [BROKEN_MAIN])
    async with connect(path=path) as client:
        order = await client.call_tool("create_margin_order", MARKET_BUY)
        listed = await client.call_tool("list_accounts", {})
        reset = await client.call_tool("reset_paper_account", {})
    assert order.is_error and order.structured_content["status"] == "account_error"
    text = text_of(order)
    assert "Account 'main' cannot be used" in text and "TOOLS.md line 8" in text and "'Environment'" in text
    assert "fix that entry in TOOLS.md" in text and "never fall back" in text
    assert str(tmp_path) not in text
    assert names(listed) == [] and "paper" not in text_of(listed)
    assert any("line 8" in problem for problem in listed.structured_content["problems"])
    assert reset.is_error  # there is no paper account to reset either
    assert fake.requests == []


async def test_a_malformed_main_is_an_error_even_when_one_other_account_loads(connect, tmp_path, fake):
    """`main` broken and `live` (Mainnet) the only other account: calls without `account` fail, nothing goes to live."""
    path = write_tools_md(tmp_path / "T.md", [BROKEN_MAIN, account_block("live", MAIN_KEY, MAIN_SECRET, "Mainnet")])
    async with connect(path=path) as client:
        read = await client.call_tool("get_cross_margin_account", {})
        order = await client.call_tool("create_margin_order", MARKET_BUY)
        shown = await client.call_tool("show_account", {})
        assert fake.requests == []
        explicit = await client.call_tool("get_cross_margin_account", {"account": "live"})
    for result in (read, order, shown):
        assert result.is_error and "Account 'main' cannot be used" in text_of(result)
        assert "pass another account: live" in text_of(result)
        assert result.structured_content["accounts"] == ["main", "live"]
    assert not explicit.is_error, text_of(explicit)
    assert fake.requests[-1].headers["x-mbx-apikey"] == MAIN_KEY


async def test_the_only_account_is_used_only_if_it_loads(connect, tmp_path, fake):
    """No `main` and one entry that does not load: an error naming it, not the built-in paper account."""
    broken = BROKEN_MAIN.replace("### main", "### solo")
    path = write_tools_md(tmp_path / "T.md", [broken])
    async with connect(path=path) as client:
        result = await client.call_tool("get_cross_margin_account", {})
    assert result.is_error and "Account 'solo' cannot be used" in text_of(result)
    assert "TOOLS.md line 8" in text_of(result)
    assert fake.requests == []


async def test_without_main_one_good_and_one_broken_account_means_ask_which(connect, tmp_path, fake):
    """Two entries, one loading: the loading one is not picked silently; the answer lists both and the problem."""
    broken = BROKEN_MAIN.replace("### main", "### beta")
    path = write_tools_md(tmp_path / "T.md", [account_block("alpha", TEST_KEY, TEST_SECRET, "Testnet"), broken])
    async with connect(path=path) as client:
        result = await client.call_tool("get_cross_margin_account", {})
        beta = await client.call_tool("get_cross_margin_account", {"account": "beta"})
    assert result.is_error and "Ask the user" in text_of(result)
    assert result.structured_content["accounts"] == ["alpha", "beta"]
    assert "Not usable: TOOLS.md line" in text_of(result)
    assert beta.is_error and "Account 'beta' cannot be used" in text_of(beta)
    assert fake.requests == []


async def test_a_main_defined_twice_is_refused_rather_than_using_the_first(connect, tmp_path, fake):
    """A second `### main` (say, a corrected copy pasted below) makes `main` an error, not the old copy."""
    first = account_block("main", MAIN_KEY, MAIN_SECRET, "Mainnet")
    second = account_block("main", TEST_KEY, TEST_SECRET, "Testnet")
    path = write_tools_md(tmp_path / "T.md", [first, second])
    async with connect(path=path) as client:
        result = await client.call_tool("get_cross_margin_account", {})
    assert result.is_error and "already defined at line" in text_of(result)
    assert fake.requests == []


async def test_a_stray_field_line_with_no_account_is_not_an_empty_tools_md(connect, tmp_path, fake):
    """Field lines without a `### name` heading are a problem, not "no accounts": no built-in paper account."""
    path = tmp_path / "T.md"
    path.write_text(f"## Binance Accounts\n- API Key: {TEST_KEY}\n- Environment: Testnet\n")
    path.chmod(0o600)
    async with connect(path=path) as client:
        result = await client.call_tool("get_cross_margin_account", {})
        listed = await client.call_tool("list_accounts", {})
    assert result.is_error and "TOOLS.md has no usable account" in text_of(result)
    assert "line 2" in text_of(result)
    assert names(listed) == []


async def test_the_built_in_paper_account_is_offered_only_with_no_entries_and_says_so(connect, tmp_path):
    """A TOOLS.md with other notes but no account entries: the built-in paper account, and list_accounts says why."""
    path = tmp_path / "T.md"
    path.write_text("# My tools\n\n## Binance Accounts\n\nnothing yet\n")
    path.chmod(0o600)
    async with connect(path=path) as client:
        listed = await client.call_tool("list_accounts", {})
        used = await client.call_tool("get_cross_margin_account", {})
    assert names(listed) == ["paper"]
    assert listed.structured_content["notes"] == ["built-in paper account: no accounts in TOOLS.md"]
    assert not used.is_error, text_of(used)


async def test_a_tools_md_path_given_at_start_that_does_not_exist_is_reported(connect, tmp_path):
    """--tools-md naming a missing file: the server starts (built-in paper) and list_accounts says it was not found."""
    missing = tmp_path / "typo" / "TOOLS.md"
    async with connect(path=missing, tools_md_given=True) as client:
        listed = await client.call_tool("list_accounts", {})
    text = text_of(listed)
    assert "was not found" in text and "built-in paper account" in text
    assert str(missing) not in text
    assert names(listed) == ["paper"]


def test_start_up_reports_a_missing_tools_md_given_by_flag_or_environment_in_one_stderr_line(tmp_path):
    """A mistyped --tools-md / $BINANCE_MARGIN_TOOLS_MD is one clear line at start; the default path is not."""
    missing = tmp_path / "typo.md"
    by_flag, by_env, default, present = io.StringIO(), io.StringIO(), io.StringIO(), io.StringIO()
    report_tools_md(Settings.from_env({}, tools_md=str(missing)), by_flag)
    report_tools_md(Settings.from_env({"BINANCE_MARGIN_TOOLS_MD": str(missing)}), by_env)
    report_tools_md(Settings.from_env({"XDG_CONFIG_HOME": str(tmp_path / "cfg")}), default)
    (tmp_path / "real.md").write_text("")
    report_tools_md(Settings.from_env({}, tools_md=str(tmp_path / "real.md")), present)
    for stream in (by_flag, by_env):
        assert stream.getvalue().count("\n") == 1
        assert f"TOOLS.md not found at {missing}" in stream.getvalue()
    assert default.getvalue() == present.getvalue() == ""
