"""SKILL.md describes what exists: its counts, tool names and toolset table come from the declarations."""

from __future__ import annotations

import re
from pathlib import Path

from binance_margin_mcp import local_tools
from binance_margin_mcp.catalog import CATALOG, TOOLSETS

SKILL = (Path(__file__).resolve().parent.parent / "SKILL.md").read_text()
GROUPS = ("ACCOUNT_TOOLS", "JOURNAL_TOOLS", "PAPER_TOOLS", "VIEW_TOOLS")
DISCOVERY = (local_tools.SEARCH_TOOLS, local_tools.DESCRIBE_TOOL)


def hand_written() -> list[str]:
    names = [tool.name for group in GROUPS for tool in getattr(local_tools, group)]
    return [*names, *(tool.name for tool in DISCOVERY), "execute_tool"]


def test_the_counts_match_the_catalog_and_the_hand_written_tools():
    counted = re.search(r"typed tool \((\d+) of them.*?plus (\d+)\s+hand-written tools", SKILL, re.S)
    assert counted is not None
    assert int(counted.group(1)) == len(CATALOG)
    assert int(counted.group(2)) == len(hand_written())


def test_every_hand_written_tool_is_named_and_every_example_exists():
    for name in hand_written():
        assert f"`{name}`" in SKILL, name
    table = SKILL[SKILL.index("## Map of the tools") :]
    rows = dict(re.findall(r"^\| ([a-z-]+) \| (.+) \|$", table, re.M))
    assert set(rows) - {"group"} == set(TOOLSETS)
    for toolset, cell in rows.items():
        if toolset == "group":
            continue
        for name in re.findall(r"`([a-z_0-9]+)`", cell):
            assert name in CATALOG and CATALOG[name].toolset == toolset, (toolset, name)
