"""No tool result names a full file path (SKILL.md: never reveal where files are), whatever goes wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from binance_margin_mcp.catalog import TOOLSETS

from conftest import MAIN_KEY, MAIN_SECRET, account_block, write_tools_md

HAND_WRITTEN_CALLS = [
    ("list_accounts", {}),
    ("show_account", {}),
    ("show_account", {"account": "main"}),
    ("add_account", {"name": "new", "environment": "Testnet", "credentials_file": "{tmp}/missing-creds.txt"}),
    ("add_account", {"name": "new2", "environment": "Testnet", "credentials_file": "{tmp}/bad-creds.txt"}),
    ("add_account", {"name": "new3", "environment": "Testnet", "signing": "RSA", "private_key_file": "{tmp}/k.pem"}),
    ("remove_account", {"name": "ghost"}),
    ("confirm_transaction", {"approvalId": "nope"}),
    ("list_journal", {}),
    ("recover_journal", {}),
    ("get_paper_status", {}),
    ("deposit_paper_funds", {"asset": "USDT", "amount": "10"}),
    ("set_paper_price", {"symbol": "BTCUSDT", "price": "30000"}),
    ("reset_paper_account", {}),
    ("get_margin_risk", {}),
    ("get_positions_pnl", {}),
    ("watch_account", {"timeout_s": 1}),
    ("search_tools", {"query": "interest"}),
    ("describe_tool", {"name": "get_cross_margin_account"}),
    ("execute_tool", {"name": "get_cross_margin_account", "arguments": {}}),
]
ENDPOINT_CALLS = [
    ("get_cross_margin_account", {}),
    ("get_max_borrowable", {"asset": "BTC"}),
    ("create_margin_order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}),
    ("borrow_or_repay", {"asset": "USDT", "amount": "1", "type": "BORROW", "isIsolated": "FALSE", "symbol": ""}),
    ("get_margin_trades", {"symbol": "BTCUSDT"}),
]


def _scenarios(tmp: Path) -> dict[str, dict]:
    (tmp / "bad-creds.txt").write_text("only one line\n")
    (tmp / "k.pem").write_text("not a key\n")
    directory = tmp / "tools-dir"
    directory.mkdir()
    damaged = tmp / "paper.sqlite"
    damaged.write_bytes(b"this is not a sqlite database" * 100)
    blocker = tmp / "blocker"
    blocker.write_text("a file where a directory should be")
    paper_md = write_tools_md(tmp / "paper-TOOLS.md", [account_block("main", MAIN_KEY, MAIN_SECRET, "Paper")])
    return {
        "missing TOOLS.md": {"path": tmp / "absent" / "TOOLS.md", "tools_md_given": True},
        "unreadable TOOLS.md": {"path": directory},
        "journal in an unwritable place": {"journal_path": str(blocker / "journal.jsonl")},
        "damaged paper state": {"path": paper_md, "paper_state": str(damaged)},
        "damaged built-in paper state": {"path": tmp / "none" / "TOOLS.md", "paper_state": str(damaged)},
    }


@pytest.mark.parametrize(
    "scenario",
    [
        "missing TOOLS.md",
        "unreadable TOOLS.md",
        "journal in an unwritable place",
        "damaged paper state",
        "damaged built-in paper state",
    ],
)
async def test_no_absolute_path_in_any_tool_result(connect, tmp_path, scenario):
    settings = _scenarios(tmp_path)[scenario]
    forbidden = [str(tmp_path), str(Path.home())]
    async with connect(toolsets=TOOLSETS, **settings) as client:
        for name, arguments in HAND_WRITTEN_CALLS + ENDPOINT_CALLS:
            filled = json.loads(json.dumps(arguments).replace("{tmp}", str(tmp_path)))
            result = await client.call_tool(name, filled)
            seen = json.dumps([block.model_dump() for block in result.content]) + json.dumps(result.structured_content)
            for path in forbidden:
                assert path not in seen, (scenario, name, seen)
            assert "Error executing tool" not in seen, (scenario, name, seen)  # a handled refusal, not a crash
