"""Settle requests whose outcome never reached the journal: the server was killed, or cut off, mid-send.

An intent with no outcome line is looked up the way its catalog entry declares (orders and lists by
their `agent-` id, borrow/repay by an unclaimed record) and gets an outcome line with `recovered: true`:
`reconciled` with its real status, or `UNKNOWN` with what to check. Another server may still be sending
an intent of its own, so only intents older than RECOVER_AFTER_MS (longer than any send plus its minute
of lookups) and not in flight in this process are touched. A lookup that gets no answer, or an account
that cannot be used, leaves the intent pending for the next run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from binance_margin_mcp.catalog import CATALOG
from binance_margin_mcp.errors import AccountError, McpToolError
from binance_margin_mcp.execution import Executor
from binance_margin_mcp.intents import PENDING, Intent, merge, pending_intents
from binance_margin_mcp.reconcile import Lookup, found_text, plan, settle, unknown_message
from binance_margin_mcp.transport import Credentials

log = logging.getLogger(__name__)
RECOVER_AFTER_MS = 120_000
SCAN_LINES = 20_000  # recovery and list_journal look at this many of the most recent lines

Resolve = Callable[[str, str], Credentials]  # (account name, environment it was sent on) -> credentials


@dataclass
class Report:
    """One recovery run: merged journal entries by what became of them."""

    resolved: list[dict[str, Any]] = field(default_factory=list)
    unknown: list[dict[str, Any]] = field(default_factory=list)
    waiting: list[dict[str, Any]] = field(default_factory=list)  # too young, or still being sent here
    unchecked: list[dict[str, Any]] = field(default_factory=list)  # the lookup got no answer: still pending


def service_credentials(service: Any) -> Resolve:
    """Credentials of the account an intent names, provided it is still on the same environment."""

    def resolve(name: str, environment: str) -> Credentials:
        account = service.resolve_account(name)
        if account.environment != environment:
            raise AccountError(
                f"Account '{name}' is now {account.environment}, but the request went to {environment}: check it "
                "by hand on that account."
            )
        return service.credentials(account)

    return resolve


def lookup_of(entry: dict[str, Any]) -> Lookup | None:
    """The lookup that settles a journal entry (intent or merged), or None when it cannot be looked up."""
    endpoint = CATALOG.get(str(entry.get("tool")))
    if endpoint is None or endpoint.endpoint_id != entry.get("endpoint") or not isinstance(entry.get("params"), dict):
        return None
    server_ms = entry.get("serverTime", entry.get("time"))
    try:
        return plan(endpoint, entry["params"], int(server_ms), str(entry.get("account")))  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError):
        return None


def check_of(entry: dict[str, Any]) -> str:
    """What the human (or agent) should run to see what became of a pending or UNKNOWN request."""
    lookup = lookup_of(entry)
    account = f" on account {entry.get('account')}"
    if lookup is None:
        return f"check the account{account} by hand (balances, open orders, records): it cannot be looked up"
    return f"{lookup.call_text()}{account}"


async def _no_wait(_seconds: float) -> None:
    return None


class Recovery:
    """Finds pending intents in the journal and settles them."""

    def __init__(self, executor: Executor, credentials: Resolve) -> None:
        self.executor = executor
        self.journal = executor.journal
        self._credentials = credentials
        self._lock = asyncio.Lock()
        self._started = False

    def start_once(self) -> None:
        """At the first tool call: one run in the background, so starting the server never waits on the network."""
        if self._started or not self.journal.enabled:
            return
        self._started = True
        task = asyncio.get_running_loop().create_task(self._quietly(), name="journal recovery")
        self.executor.background.add(task)  # a strong reference, and a killed server cancels it with the rest
        task.add_done_callback(self.executor.background.discard)

    async def _quietly(self) -> None:
        try:
            report = await self.run()
        except Exception as failure:  # a startup courtesy: recover_journal reports errors properly
            log.warning("journal recovery at start-up failed: %s", type(failure).__name__)
            return
        if report.resolved or report.unknown:
            log.warning(
                "journal recovery: %d interrupted request(s) resolved, %d UNKNOWN (see list_journal)",
                len(report.resolved),
                len(report.unknown),
            )

    async def run(self) -> Report:
        """Settle every pending intent old enough to belong to no running server (one run at a time)."""
        report = Report()
        async with self._lock:
            lines = await asyncio.to_thread(lambda: list(self.journal.newest_first(SCAN_LINES)))
            now = self.executor.clock_ms()
            for line in pending_intents(lines):
                try:
                    intent = Intent.from_line(line)
                except (KeyError, TypeError, ValueError):
                    continue  # a damaged line: list_journal still shows it
                if intent.id in self.executor.in_flight or now - intent.time_ms < RECOVER_AFTER_MS:
                    report.waiting.append(view_of(line))
                    continue
                await self._recover(intent, line, report)
        return report

    async def _recover(self, intent: Intent, line: dict[str, Any], report: Report) -> None:
        lookup = lookup_of(line)
        cause = McpToolError(f"The server stopped before {intent.endpoint} on {intent.account} was answered.")
        if lookup is None:
            endpoint = CATALOG.get(intent.tool)
            message = unknown_message(endpoint, None, cause) if endpoint else cause.message
            await self._settle_as(intent, line, report.unknown, "UNKNOWN", error=McpToolError(message))
            return
        try:
            creds = self._credentials(intent.account, intent.environment)
        except McpToolError as error:
            report.unchecked.append(view_of(line, error.message))
            return
        query, choose = self.executor.query(creds), self.executor.chooser(intent, lookup)
        settled = await settle(lookup, query, _no_wait, choose, delays=(0.0,))
        if settled.found is not None:
            found = settled.found
            await self._settle_as(
                intent,
                line,
                report.resolved,
                "reconciled",
                data=found.record,
                status=found.status,
                tran_id=found.tran_id,
                note=found_text(lookup, found),
            )
        elif settled.failed is not None:
            report.unchecked.append(view_of(line, f"the lookup failed: {settled.failed}"))
        else:
            error = McpToolError(unknown_message(CATALOG[intent.tool], lookup, cause, settled))
            await self._settle_as(intent, line, report.unknown, "UNKNOWN", error=error)

    async def _settle_as(
        self, intent: Intent, line: dict[str, Any], into: list[dict[str, Any]], outcome: str, note: str = "", **kw: Any
    ) -> None:
        entry = await self.executor.write_outcome(intent, outcome, recovered=True, **kw)
        (merged,) = merge([entry.to_dict(), line])
        into.append(view_of(merged, note or None))


def view_of(entry: dict[str, Any], note: str | None = None) -> dict[str, Any]:
    """A merged entry as recover_journal and list_journal show it: with what to check if still open."""
    view = dict(entry)
    if view.get("kind") == "intent":
        view = {k: v for k, v in view.items() if k != "kind"} | {"outcome": PENDING}
    if view.get("outcome") in (PENDING, "UNKNOWN"):
        view["check"] = check_of(view)
    if note:
        view["note"] = note
    return view
