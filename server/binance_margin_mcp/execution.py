"""Send one prepared request and account for it: intent on disk, the send, reconciliation, the outcome line.

The intent line is fsynced before the first byte goes out: if it cannot be written, nothing is sent.
The send and any reconciliation run in a task of their own that a cancelled tool call cannot cut
short; it ends with the outcome line. A write whose answer was lost is looked up (by its client id, or
as an unclaimed loan record), never sent again.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from binance_margin_mcp.catalog import CATALOG, Endpoint
from binance_margin_mcp.client import BinanceClient
from binance_margin_mcp.errors import ApiError, JournalUnavailable, McpToolError, OutcomeUnknown
from binance_margin_mcp.intents import Intent, journalled_params
from binance_margin_mcp.journal import Journal, JournalEntry
from binance_margin_mcp.params import build_wire_params
from binance_margin_mcp.prepared import PreparedRequest
from binance_margin_mcp.reconcile import (
    Found,
    Lookup,
    Settled,
    choose_record,
    found_text,
    plan,
    settle,
    unknown_message,
)
from binance_margin_mcp.transport import ApiResponse, Credentials, client_ids_of

log = logging.getLogger(__name__)
# Journal lines read back when claiming a loan record: those written since this long before the intent.
CLAIM_LOOKBACK_MS = 15 * 60_000
CLAIM_SCAN_LINES = 20_000


def jsonable(value: Any) -> Any:
    """Binance JSON with exact decimals kept as strings (a Decimal only appears for a bare JSON float)."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value if isinstance(value, str | int | bool | type(None)) else str(value)


@dataclass
class _Flight:
    request: PreparedRequest
    confirmed_by: str
    abandoned: bool = False  # the tool call was cancelled: if not dispatched yet, it never will be


class Executor:
    """The last step before Binance, and the record of what happened."""

    def __init__(self, client: BinanceClient, journal: Journal, clock_ms: Callable[[], int]) -> None:
        self.client = client
        self.journal = journal
        self.clock_ms = clock_ms
        self.background: set[asyncio.Task[Any]] = set()  # strong references: a running send is never collected
        self.in_flight: set[str] = set()  # intent ids this process is still sending or reconciling
        self._claimed: dict[str, set[int]] = {}  # account -> loan tranIds claimed here (even if a line was lost)

    async def execute(self, request: PreparedRequest, creds: Credentials, confirmed_by: str) -> tuple[Any, ApiResponse]:
        """Binance's answer, or a raised McpToolError. A cancelled caller leaves a write running to its outcome."""
        if request.entry.read_only:  # reads change nothing: not journalled, and a cancelled one simply stops
            response, _ = await self.client.send(request.entry, request.params, creds)
            return jsonable(response.data), response
        flight = _Flight(request, confirmed_by)
        task = asyncio.get_running_loop().create_task(self._run(flight, creds), name=f"send {request.entry.name}")
        self.background.add(task)
        task.add_done_callback(self._settled)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            flight.abandoned = True
            raise

    def _settled(self, task: asyncio.Task[Any]) -> None:
        self.background.discard(task)
        if task.cancelled():
            return
        error = task.exception()  # retrieved here too, for a caller that is gone
        if error is not None and not isinstance(error, McpToolError):
            log.error("%s failed unexpectedly: %s", task.get_name(), type(error).__name__)

    async def _run(self, flight: _Flight, creds: Credentials) -> tuple[Any, ApiResponse]:
        request = flight.request
        server_ms = await self._server_now(request.entry, creds)
        if flight.abandoned:
            self.record(request, flight.confirmed_by, "not_sent", error=_cancelled())
            raise _cancelled()
        intent = Intent.of(request, flight.confirmed_by, self.clock_ms(), server_ms)
        try:
            await self.journal.write(intent.entry())
        except OSError as failure:
            log.error(
                "audit journal write failed for %s on %s: %s; not sent",
                intent.endpoint,
                intent.account,
                _reason(failure),
            )
            raise JournalUnavailable(
                f"Not sent: the audit journal could not be written ({_reason(failure)}). Every request is recorded "
                "before it is sent; free disk space or fix the journal file, then try again."
            ) from None
        self.in_flight.add(intent.id)
        try:
            if flight.abandoned:
                await self.write_outcome(intent, "not_sent", error=_cancelled())
                raise _cancelled()
            return await self._dispatch(intent, request, creds)
        finally:
            self.in_flight.discard(intent.id)

    async def _server_now(self, entry: Endpoint, creds: Credentials) -> int:
        """Binance's clock now (measured first if needed: a record's timestamp is compared with it)."""
        if entry.security.signed and self.client.clock.needs_sync(creds.base_url):
            await self.client.sync(creds)
        return self.client.clock.now(creds.base_url)

    async def _dispatch(self, intent: Intent, request: PreparedRequest, creds: Credentials) -> tuple[Any, ApiResponse]:
        try:
            response, _ = await self.client.send(request.entry, request.params, creds)
        except OutcomeUnknown as unknown:
            return await self._reconcile(intent, request.entry, dict(request.params), creds, unknown)
        except McpToolError as error:
            await self.write_outcome(intent, _outcome_of(error), error=error)
            raise
        except Exception:
            # A failure we did not foresee, after the intent: whether it went out is not known.
            await self.write_outcome(intent, "UNKNOWN", error=McpToolError("unexpected failure while sending"))
            raise
        data = jsonable(response.data)
        await self.write_outcome(intent, "sent", data=data, weight=_weight_used(response))
        return data, response

    async def _reconcile(
        self, intent: Intent, entry: Endpoint, params: dict[str, str], creds: Credentials, unknown: OutcomeUnknown
    ) -> tuple[Any, ApiResponse]:
        lookup = plan(entry, params, intent.server_ms, intent.account)
        settled = Settled(None)
        if lookup is not None:
            settled = await settle(lookup, self.query(creds), self.client.sleep, self.chooser(intent, lookup))
        found = settled.found
        if lookup is None or found is None:
            error = OutcomeUnknown(unknown_message(entry, lookup, unknown, settled), unknown.client_ids)
            await self.write_outcome(intent, "UNKNOWN", error=error)
            raise error
        await self.write_outcome(intent, "reconciled", data=found.record, status=found.status, tran_id=found.tran_id)
        data = {
            "status": found.status,
            "reconciled": True,
            "detail": f"No answer came back ({unknown.message.splitlines()[0]}); {found_text(lookup, found)}",
            "record": found.record,
        }
        return data, ApiResponse(found.record, 200)

    def query(self, creds: Credentials) -> Callable[[str, dict[str, str]], Any]:
        """A catalog read on the same account, for lookups."""

        async def read(tool: str, args: dict[str, str]) -> Any:
            entry = CATALOG[tool]
            response, _ = await self.client.send(entry, build_wire_params(entry, args), creds)
            return jsonable(response.data)

        return read

    def chooser(self, intent: Intent, lookup: Lookup) -> Callable[[list[Any]], Any] | None:
        """For a loan: which matching record this intent may claim, judged against the journal."""
        match = lookup.loan
        if match is None:
            return None

        async def choose(rows: list[Any]) -> Found | str | None:
            since = intent.time_ms - CLAIM_LOOKBACK_MS
            lines = await asyncio.to_thread(_recent_lines, self.journal, since)
            return choose_record(rows, match, intent.id, lines, self._claimed.get(intent.account, set()))

        return choose

    async def write_outcome(self, intent: Intent, outcome: str, **details: Any) -> JournalEntry:
        """The outcome line for `intent`. After a send, a failed write is logged, never turned into an error result
        (the agent might send again); the intent is on disk, so recovery settles it later."""
        entry = intent.outcome(self.clock_ms(), outcome, **details)
        if entry.tran_id is not None:
            self._claimed.setdefault(intent.account, set()).add(entry.tran_id)
        try:
            await self.journal.write(entry)
        except OSError as failure:
            log.error("audit journal write failed for %s on %s: %s", entry.endpoint, entry.account, _reason(failure))
        return entry

    def record(
        self, request: PreparedRequest, confirmed_by: str, outcome: str, *, error: McpToolError | None = None
    ) -> None:
        """One `attempt` line for a write refused before dispatch (nothing was sent); reads are not journalled."""
        if request.entry.read_only:
            return
        entry = JournalEntry(
            time_ms=self.clock_ms(),
            account=request.account,
            environment=request.environment,
            endpoint=request.entry.endpoint_id,
            tool=request.entry.name,
            params=journalled_params(request.params),
            confirmed_by=confirmed_by,
            outcome=outcome,
            error_code=error.code if isinstance(error, ApiError) else None,
            error_msg=error.message.splitlines()[0][:300] if error is not None else None,
            client_ids=client_ids_of(request.entry, request.params),
        )
        try:
            self.journal.append(entry)
        except OSError as failure:  # nothing was sent: the refusal stands, the lost line is only logged
            log.error("audit journal write failed for %s on %s: %s", entry.endpoint, entry.account, _reason(failure))


def _cancelled() -> McpToolError:
    return McpToolError("Not sent: the call was cancelled before the request went out.")


def _recent_lines(journal: Journal, since_ms: int) -> list[dict[str, Any]]:
    lines = []
    for line in journal.newest_first(CLAIM_SCAN_LINES):
        if isinstance(line.get("time"), int) and line["time"] < since_ms:
            break
        lines.append(line)
    return lines


def _reason(failure: OSError) -> str:
    """An OSError without its file name: the journal's path is not for results or logs."""
    return failure.strerror or (os.strerror(failure.errno) if failure.errno else type(failure).__name__)


def _outcome_of(error: McpToolError) -> str:
    return "refused" if error.status in ("rate_limited_locally", "invalid_arguments") else "error"


def _weight_used(response: ApiResponse) -> int | None:
    used = response.budget.get("usedWeight1m") if response.budget else None
    return used if isinstance(used, int) else None
