"""The catalog: every Binance margin endpoint as one declarative entry, checked at import."""

from __future__ import annotations

from binance_margin_mcp.catalog.entries import ENTRIES
from binance_margin_mcp.catalog.model import ClientIdRole, Endpoint, Param, Security, Weight

TOOLSETS: tuple[str, ...] = (
    "account",
    "borrow-repay",
    "market-data",
    "trade",
    "transfer",
    "user-data-stream",
    "special-key",
)

# The endpoints listed as their own tools when the operator names no --toolsets: what everyday margin trading
# needs on every turn. Read the balances (cross and isolated) and a price, see how much can be borrowed,
# borrow or repay, place an order or an OCO bracket (take-profit + stop-loss), look an order up, list the
# open orders and cancel one (cancelling one order of a list cancels the whole list, so no list-cancel tool
# is needed here). With the hand-written tools (accounts, confirmation, the journal, paper controls) and the
# three discovery tools this keeps `tools/list` under 24 KB; every other endpoint stays one search_tools ->
# describe_tool -> execute_tool away, through the same pipeline.
CORE: tuple[str, ...] = (
    "get_cross_margin_account",
    "get_isolated_margin_account",
    "get_margin_price_index",
    "get_max_borrowable",
    "borrow_or_repay",
    "create_margin_order",
    "create_margin_oco_order",
    "cancel_margin_order",
    "get_margin_order",
    "get_open_margin_orders",
)


def _index(entries: tuple[Endpoint, ...]) -> dict[str, Endpoint]:
    by_name: dict[str, Endpoint] = {}
    seen_routes: set[str] = set()
    for entry in entries:
        if entry.name in by_name:
            raise ValueError(f"duplicate tool name {entry.name!r}")
        if entry.endpoint_id in seen_routes:
            raise ValueError(f"duplicate endpoint {entry.endpoint_id!r}")
        if entry.toolset not in TOOLSETS:
            raise ValueError(f"{entry.name}: unknown toolset {entry.toolset!r}")
        names = [p.name for p in entry.params]
        if len(set(names)) != len(names):
            raise ValueError(f"{entry.name}: duplicate parameter")
        by_name[entry.name] = entry
        seen_routes.add(entry.endpoint_id)
    return by_name


CATALOG: dict[str, Endpoint] = _index(ENTRIES)
_unknown_core = [name for name in CORE if name not in CATALOG]
if _unknown_core:
    raise ValueError(f"CORE names unknown tools: {_unknown_core}")

__all__ = ["CATALOG", "CORE", "ENTRIES", "TOOLSETS", "ClientIdRole", "Endpoint", "Param", "Security", "Weight"]
