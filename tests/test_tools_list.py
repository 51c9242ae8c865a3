"""`tools/list` is generated from the catalog: pinned by a snapshot, annotated and tagged per entry."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from binance_margin_mcp.catalog import CATALOG

SNAPSHOT = Path(__file__).parent / "snapshots" / "tools_list.json"
META_TOOLS = {
    "list_accounts",
    "show_account",
    "add_account",
    "remove_account",
    "confirm_transaction",
    "reset_paper_account",
    "set_paper_price",
    "list_journal",
    "recover_journal",
    "deposit_paper_funds",
}


async def listed(connect) -> list[dict]:
    async with connect() as client:
        result = await client.list_tools()
    return [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in result.tools]


async def test_tools_list_matches_the_snapshot(connect):
    """The advertised tools equal the checked-in snapshot (regenerate with UPDATE_SNAPSHOTS=1, on purpose)."""
    tools = await listed(connect)
    text = json.dumps(tools, indent=1, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(text)
    if not SNAPSHOT.exists():
        pytest.fail("tests/snapshots/tools_list.json is missing; create it with UPDATE_SNAPSHOTS=1 (never in CI)")
    assert text == SNAPSHOT.read_text(), "tools/list changed: review, then regenerate with UPDATE_SNAPSHOTS=1"


async def test_every_catalog_entry_is_a_tool_with_endpoint_meta_and_derived_annotations(connect):
    """One tool per entry plus the hand-written ones; `_meta.endpoint` and hints come from the entry."""
    tools = {tool["name"]: tool for tool in await listed(connect)}
    assert set(tools) == set(CATALOG) | META_TOOLS
    for name, entry in CATALOG.items():
        tool = tools[name]
        assert tool["_meta"]["endpoint"] == f"{entry.method} {entry.path}"
        hints = tool["annotations"]
        assert hints["readOnlyHint"] is (entry.method == "GET")
        assert hints["openWorldHint"] is True
        if entry.transaction:
            assert hints["destructiveHint"] is entry.destructive_hint and hints["readOnlyHint"] is False
        schema = tool["inputSchema"]
        required = {p.name for p in entry.params if p.required}
        assert set(schema.get("required", [])) == required, name
        assert set(schema["properties"]) == {p.name for p in entry.params} | {"account"}, name
        for param in entry.params:
            prop = schema["properties"][param.name]
            assert prop["description"], (name, param.name)
            if param.enum:
                assert prop["enum"] == list(param.enum)
