"""references/tools.md is generated from the catalog and must be current."""

from __future__ import annotations

from pathlib import Path

from binance_margin_mcp.catalog import CATALOG
from binance_margin_mcp.docs import render

REFERENCE = Path(__file__).parent.parent / "references" / "tools.md"


def test_generated_tool_reference_is_current():
    """Regenerate with `python -m binance_margin_mcp.docs` whenever the catalog changes."""
    assert REFERENCE.read_text(encoding="utf-8") == render(), "references/tools.md is stale: regenerate it"


def test_tool_reference_documents_every_tool():
    """Each catalog tool has its own section naming its endpoint."""
    text = REFERENCE.read_text(encoding="utf-8")
    for name, entry in CATALOG.items():
        assert f"### `{name}`" in text
        assert f"`{entry.method} {entry.path}`" in text
