"""The account views as tool answers: get_margin_risk, get_positions_pnl and watch_account (reads only).

Each resolves the account like an endpoint call, reads through the client (weight budget, retries) and
turns a refusal into an isError outcome; the arithmetic lives in account_risk, positions and watch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from binance_margin_mcp.account_reads import AccountReads
from binance_margin_mcp.account_risk import margin_risk
from binance_margin_mcp.catalog.model import Param
from binance_margin_mcp.errors import McpToolError
from binance_margin_mcp.params import wire_value
from binance_margin_mcp.positions import positions_pnl
from binance_margin_mcp.service import MarginService, Outcome, error_outcome
from binance_margin_mcp.watch import parse_events, watch


class AccountViews:
    """The three read-only account views over the service's accounts."""

    def __init__(self, service: MarginService) -> None:
        self.service = service

    async def _run(
        self, account: str | None, symbol: str | None, view: Callable[[AccountReads, str | None], Awaitable[Any]]
    ) -> Outcome:
        try:
            pair = wire_value(Param("symbol", "string"), symbol) if symbol else None
            reads = AccountReads(self.service, self.service.resolve_account(account))
            data = await view(reads, pair)
        except McpToolError as error:
            return error_outcome(error)
        return Outcome(data)

    async def margin_risk(self, account: str | None, symbol: str | None) -> Outcome:
        return await self._run(account, symbol, margin_risk)

    async def positions_pnl(self, account: str | None, symbol: str | None) -> Outcome:
        return await self._run(account, symbol, positions_pnl)

    async def watch(self, a: dict[str, Any]) -> Outcome:
        async def view(reads: AccountReads, pair: str | None) -> Any:
            below = a["marginLevelBelow"]
            if below is not None:
                below = wire_value(Param("marginLevelBelow", "decimal"), below)
            return await watch(reads, parse_events(a["events"]), pair, below, a["timeout_s"])

        return await self._run(a["account"], a["symbol"], view)
