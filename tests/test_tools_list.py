"""`tools/list` is generated from the catalog: pinned by a snapshot, compact, annotated and tagged per entry."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from binance_margin_mcp.catalog import CATALOG, CORE, TOOLSETS
from binance_margin_mcp.params import SERVER_SET

SNAPSHOT = Path(__file__).parent / "snapshots" / "tools_list.json"
META_TOOLS = {
    "list_accounts",
    "show_account",
    "add_account",
    "remove_account",
    "confirm_transaction",
    "list_journal",
    "recover_journal",
    "get_margin_risk",
    "watch_account",
    "get_positions_pnl",
}
PAPER_TOOLS = {"reset_paper_account", "set_paper_price", "deposit_paper_funds", "get_paper_status"}
DISCOVERY_TOOLS = {"search_tools", "describe_tool", "execute_tool"}
DEFAULT_LIST_LIMIT = 24_000  # "24 KB" read as 24,000 bytes
ALL_LIST_LIMIT = 70_000  # "70 KB" read as 70,000 bytes: the stricter reading
SPEC_DEFAULT_HINTS = {"readOnlyHint": False, "destructiveHint": True, "idempotentHint": False, "openWorldHint": True}


async def listed(connect, **settings) -> list[dict]:
    """The tools as MCP sends them, dumped the way the size budget is measured."""
    async with connect(**settings) as client:
        result = await client.list_tools()
    return [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in result.tools]


def wire_size(tools: list[dict]) -> int:
    return len(json.dumps(tools, separators=(",", ":")))


async def test_tools_list_matches_the_snapshot(connect):
    """The default list and `--toolsets all` equal the checked-in snapshot (regenerate with UPDATE_SNAPSHOTS=1,
    on purpose)."""
    both = {"default": await listed(connect), "all": await listed(connect, toolsets=TOOLSETS)}
    text = json.dumps(both, indent=1, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(text)
    if not SNAPSHOT.exists():
        pytest.fail("tests/snapshots/tools_list.json is missing; create it with UPDATE_SNAPSHOTS=1 (never in CI)")
    assert text == SNAPSHOT.read_text(), "tools/list changed: review, then regenerate with UPDATE_SNAPSHOTS=1"


async def test_the_default_list_is_the_core_the_hand_written_tools_and_discovery_within_24_kb(connect):
    """Without --toolsets: the catalog's CORE endpoints, the hand-written tools and search/describe/execute, at
    most 24 KB as MCP sends them."""
    tools = await listed(connect)
    assert {tool["name"] for tool in tools} == set(CORE) | META_TOOLS | DISCOVERY_TOOLS
    assert wire_size(tools) <= DEFAULT_LIST_LIMIT, wire_size(tools)


async def test_toolsets_all_lists_every_endpoint_within_70_kb(connect):
    """`--toolsets all`: every endpoint is its own typed tool, the whole list at most 70 KB."""
    tools = await listed(connect, toolsets=TOOLSETS)
    assert {tool["name"] for tool in tools} == set(CATALOG) | META_TOOLS | DISCOVERY_TOOLS
    assert wire_size(tools) <= ALL_LIST_LIMIT, wire_size(tools)


async def test_the_largest_lists_with_the_paper_tools_stay_within_budget(connect, tmp_path):
    """The built-in paper account (no TOOLS.md) lists the paper tools too: still within 24 KB / 70 KB."""
    none = tmp_path / "absent" / "TOOLS.md"
    default = await listed(connect, path=none)
    assert {tool["name"] for tool in default} == set(CORE) | META_TOOLS | PAPER_TOOLS | DISCOVERY_TOOLS
    assert wire_size(default) <= DEFAULT_LIST_LIMIT, wire_size(default)
    every = await listed(connect, path=none, toolsets=TOOLSETS)
    assert wire_size(every) <= ALL_LIST_LIMIT, wire_size(every)


async def test_every_tool_has_a_short_title(connect, tmp_path):
    """Hand-written tools included: a short, human-facing title."""
    for tool in await listed(connect, path=tmp_path / "absent" / "TOOLS.md", toolsets=TOOLSETS):
        assert tool.get("title") and len(tool["title"]) <= 60, tool["name"]


async def test_every_catalog_entry_is_a_typed_tool_with_endpoint_meta_and_derived_annotations(connect):
    """`_meta` is the endpoint only; hints come from the entry and omit MCP's defaults; every parameter is typed
    (enums, patterns, required) and described only where its description says more than the name."""
    tools = {tool["name"]: tool for tool in await listed(connect, toolsets=TOOLSETS)}
    for name, entry in CATALOG.items():
        tool = tools[name]
        assert tool["title"] == entry.title
        assert tool["_meta"] == {"endpoint": f"{entry.method} {entry.path}"}
        hints = tool.get("annotations", {})
        assert "title" not in hints, "the title is sent once, at the top level"
        assert all(SPEC_DEFAULT_HINTS[key] != value for key, value in hints.items()), (name, hints)
        assert hints.get("readOnlyHint", False) is entry.read_only
        if not entry.read_only:
            assert hints.get("destructiveHint", True) is entry.destructive_hint, name
            assert hints.get("idempotentHint", False) is entry.idempotent, name
        schema = tool["inputSchema"]
        shown = [p for p in entry.params if p.name not in SERVER_SET]
        assert set(schema.get("required", [])) == {p.name for p in shown if p.required}, name
        server_args = ["account", "dryRun"] if entry.transaction else ["account"]
        assert list(schema["properties"]) == [p.name for p in shown] + server_args, name
        assert schema["properties"]["account"] == {"type": "string"}
        for param in shown:
            prop = schema["properties"][param.name]
            assert "type" in prop, (name, param.name)
            assert ("description" in prop) is (not param.self_evident), (name, param.name)
            if param.enum:
                assert prop["enum"] == list(param.enum)
            if param.type == "decimal":
                assert prop["pattern"] == r"^[0-9]{1,20}(\.[0-9]{1,20})?$"


async def test_recv_window_is_in_no_schema(connect):
    """The server sets recvWindow: no tool advertises it."""
    tools = await listed(connect, toolsets=TOOLSETS)
    assert not [tool["name"] for tool in tools if "recvWindow" in tool["inputSchema"]["properties"]]


async def test_hand_written_tools_are_compact_too(connect):
    """No pydantic leftovers (titles, anyOf-null) in the hand-written tools' schemas; hints omit MCP's defaults."""
    tools = {tool["name"]: tool for tool in await listed(connect)}
    for name in META_TOOLS | DISCOVERY_TOOLS:
        assert tools[name]["title"], name
        text = json.dumps(tools[name]["inputSchema"])
        assert '"title"' not in text and '"null"' not in text and "anyOf" not in text, name
        hints = tools[name].get("annotations", {})
        assert all(SPEC_DEFAULT_HINTS[key] != value for key, value in hints.items()), (name, hints)
    assert tools["list_accounts"]["annotations"] == {"readOnlyHint": True, "openWorldHint": False}
