"""Send one prepared request and account for it: reconcile an unknown outcome, journal every transaction.

A transaction's journal line is on disk (fsync) before its result is returned; a write whose answer
was lost is looked up by its client id rather than sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from binance_margin_mcp.account import mask_api_key
from binance_margin_mcp.catalog import CATALOG
from binance_margin_mcp.client import BinanceClient
from binance_margin_mcp.errors import ApiError, McpToolError, OutcomeUnknown
from binance_margin_mcp.journal import Journal, JournalEntry
from binance_margin_mcp.params import build_wire_params
from binance_margin_mcp.prepared import PreparedRequest
from binance_margin_mcp.reconcile import plan, settle, unknown_message
from binance_margin_mcp.transport import ApiResponse, Credentials, client_ids_of

log = logging.getLogger(__name__)


def jsonable(value: Any) -> Any:
    """Binance JSON with exact decimals kept as strings (a Decimal only appears for a bare JSON float)."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value if isinstance(value, str | int | bool | type(None)) else str(value)


class Executor:
    """The last step before Binance, and the record of what happened."""

    def __init__(self, client: BinanceClient, journal: Journal, clock_ms: Callable[[], int]) -> None:
        self.client = client
        self.journal = journal
        self._clock_ms = clock_ms

    async def execute(self, request: PreparedRequest, creds: Credentials, confirmed_by: str) -> tuple[Any, ApiResponse]:
        """Binance's answer, or a raised McpToolError; reconciles and journals transactions on the way."""
        sent_at = self._clock_ms()
        try:
            response, _ = await self.client.send(request.entry, request.params, creds)
        except OutcomeUnknown as unknown:
            return await self._reconcile(request, creds, confirmed_by, unknown, sent_at)
        except McpToolError as error:
            self.record(request, confirmed_by, _outcome_of(error), error=error)
            raise
        data = jsonable(response.data)
        self.record(request, confirmed_by, "sent", data=data, weight=_weight_used(response))
        return data, response

    async def _reconcile(
        self, request: PreparedRequest, creds: Credentials, confirmed_by: str, unknown: OutcomeUnknown, sent_at: int
    ) -> tuple[Any, ApiResponse]:
        lookup = plan(request.entry, dict(request.params), sent_at)
        status, found = (None, None)
        if lookup is not None:

            async def query(tool: str, args: dict[str, str]) -> Any:
                entry = CATALOG[tool]
                response, _ = await self.client.send(entry, build_wire_params(entry, args), creds)
                return jsonable(response.data)

            status, found = await settle(lookup, query, self.client.sleep)
        if status is None:
            error = OutcomeUnknown(unknown_message(request.entry, lookup, unknown), unknown.client_ids)
            self.record(request, confirmed_by, "UNKNOWN", error=error)
            raise error
        self.record(request, confirmed_by, "reconciled", data=found, status=status)
        data = {
            "status": status,
            "reconciled": True,
            "detail": f"No answer came back ({unknown.message.splitlines()[0]}); {lookup.what} was then found with "
            f"{lookup.tool}: its status is {status}. It was sent exactly once.",
            "record": found,
        }
        return data, ApiResponse(found, 200)

    def record(
        self,
        request: PreparedRequest,
        confirmed_by: str,
        outcome: str,
        *,
        data: Any = None,
        error: McpToolError | None = None,
        status: str | None = None,
        weight: int | None = None,
    ) -> None:
        """One journal line per write attempt: transactions, and listen-key create/keepalive/close (reads are not)."""
        if request.entry.read_only:
            return
        record = data if isinstance(data, dict) else {}
        entry = JournalEntry(
            time_ms=self._clock_ms(),
            account=request.account,
            environment=request.environment,
            endpoint=request.entry.endpoint_id,
            tool=request.entry.name,
            params={name: _journalled(name, value) for name, value in request.params},
            confirmed_by=confirmed_by,
            outcome=outcome,
            weight=weight,
            order_id=_int(record.get("orderId", record.get("orderListId"))),
            tran_id=_int(record.get("tranId")),
            status=status
            or record.get("status")
            or record.get("listOrderStatus")
            or ("UNKNOWN" if outcome == "UNKNOWN" else None),
            error_code=error.code if isinstance(error, ApiError) else None,
            error_msg=error.message.splitlines()[0][:300] if error is not None else None,
            client_ids=client_ids_of(request.entry, request.params),
        )
        try:
            self.journal.append(entry)
        except OSError as failure:
            # The request has already happened: a failed audit write must never turn its result into an error
            # (the agent might then send it again). Say so loudly on stderr instead.
            log.error("audit journal write failed for %s on %s: %s", entry.endpoint, entry.account, failure)


def _journalled(name: str, value: str) -> str:
    # A listen key lets anyone read the account's stream: the journal keeps only its masked form.
    return mask_api_key(value) if name == "listenKey" else value


def _outcome_of(error: McpToolError) -> str:
    return "refused" if error.status in ("rate_limited_locally", "invalid_arguments") else "error"


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _weight_used(response: ApiResponse) -> int | None:
    used = response.budget.get("usedWeight1m") if response.budget else None
    return used if isinstance(used, int) else None
