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

__all__ = ["CATALOG", "ENTRIES", "TOOLSETS", "ClientIdRole", "Endpoint", "Param", "Security", "Weight"]
