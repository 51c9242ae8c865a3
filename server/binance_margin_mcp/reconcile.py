"""After a write whose outcome is unknown: look it up instead of ever sending it again.

Orders and lists are found only by their own `agent-` client id: that is proof. Borrow/repay carries
no id, so a record counts only if it appeared after the send (server time), matches asset, exact amount
and pair, is claimed by no other journal entry, and no other unresolved identical request could own it.
Anything less is UNKNOWN with what to check. Binance's data can lag, so lookups repeat for about a minute.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from binance_margin_mcp.catalog import CATALOG
from binance_margin_mcp.catalog.model import Endpoint, LoanSpec, ReconcileById, ReconcileByRecords
from binance_margin_mcp.errors import ApiError, McpToolError, TransportError

# Seconds between lookups: quick first, then patient; about a minute in all.
POLL_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0, 15.0)
NOT_FOUND = {-2013, -2011}  # "Order does not exist." / "Unknown order sent."
# A record this request created is stamped (server time) no earlier than a few seconds before our estimate of
# the server's clock at dispatch (the offset's error), and no later than its recvWindow plus the engine's 10 s
# and some slack after it: Binance refuses a request older than its recvWindow.
RECORD_EARLY_MS = 5_000
RECORD_LATE_MS = 30_000
DEFAULT_RECV_WINDOW_MS = 5_000

Query = Callable[[str, dict[str, str]], Awaitable[Any]]


@dataclass(frozen=True)
class Found:
    """A lookup's verdict: the status, the record that shows it, and the loan record's id it claims."""

    status: str
    record: Any
    tran_id: int | None = None


@dataclass(frozen=True)
class LoanMatch:
    """The borrow/repay records one request could have created."""

    account: str
    direction: str
    asset: str
    amount: Decimal
    isolated_symbol: str | None
    earliest_ms: int
    latest_ms: int

    def same_loan(self, other: LoanMatch) -> bool:
        mine = (self.account, self.direction, self.asset, self.amount, self.isolated_symbol)
        return mine == (other.account, other.direction, other.asset, other.amount, other.isolated_symbol)

    def covers(self, timestamp: int) -> bool:
        return self.earliest_ms <= timestamp <= self.latest_ms

    def matches(self, row: Any) -> bool:
        return (
            isinstance(row, dict)
            and row.get("asset") == self.asset
            and row.get("isolatedSymbol") == self.isolated_symbol
            and _decimal(row.get("amount")) == self.amount
            and isinstance(row.get("timestamp"), int)
            and self.covers(row["timestamp"])
        )


@dataclass(frozen=True)
class Lookup:
    """How to find the outcome of one write: which read tool, with which arguments, and what it means."""

    tool: str
    args: dict[str, str]
    what: str  # human description of the thing looked for
    how: str  # "client id" (a new order/list), "ids" (an existing one a cancel named), "records" (a loan)
    status_field: str = "status"
    loan: LoanMatch | None = None

    def call_text(self) -> str:
        return f"{self.tool}({', '.join(f'{k}={v}' for k, v in self.args.items())})"


def plan(entry: Endpoint, params: Mapping[str, str], server_ms: int, account: str = "") -> Lookup | None:
    """The lookup the entry declares for settling its outcome, or None when there is no way to look it up."""
    spec = entry.reconcile
    if isinstance(spec, ReconcileById):
        return _by_id(spec, params)
    if isinstance(spec, ReconcileByRecords) and entry.loan is not None:
        return _by_records(spec, entry.loan, params, server_ms, account)
    return None


def _by_id(spec: ReconcileById, params: Mapping[str, str]) -> Lookup:
    """A new order/list by the client id it was given, or an existing one by the ids the cancel named."""
    base = {name: params[name] for name in spec.scope if name in params}
    if spec.created_id is not None:
        cid = params[spec.created_id[0]]  # always present: every new order or list is stamped with an agent- id
        args = {**base, spec.created_id[1]: cid}
        return Lookup(spec.lookup, args, f"{spec.noun} {cid}", "client id", spec.status_field)
    ref = {arg: params[name] for name, arg in spec.refs if name in params}
    return Lookup(spec.lookup, {**base, **ref}, f"{spec.noun} {ref}", "ids", spec.status_field)


def _by_records(
    spec: ReconcileByRecords, loan: LoanSpec, params: Mapping[str, str], server_ms: int, account: str
) -> Lookup:
    direction, asset, amount = params[loan.direction], params[loan.asset], params[loan.amount]
    recv_window = _decimal(params.get("recvWindow")) or Decimal(DEFAULT_RECV_WINDOW_MS)
    isolated = params.get("symbol") if params.get("isIsolated") == "TRUE" else None
    match = LoanMatch(
        account,
        direction,
        asset,
        _decimal(amount) or Decimal(0),
        isolated,
        server_ms - RECORD_EARLY_MS,
        server_ms + int(recv_window) + RECORD_LATE_MS,
    )
    args = {"type": direction, "asset": asset, "startTime": str(match.earliest_ms), "endTime": str(match.latest_ms)}
    if isolated is not None:
        args["isolatedSymbol"] = isolated
    return Lookup(spec.lookup, args, f"{direction.lower()} of {amount} {asset}", "records", loan=match)


def _decimal(value: Any) -> Decimal | None:
    """Binance pads amounts ("10.50000000" for "10.5"): compare as exact decimals."""
    try:
        return Decimal(str(value)) if value is not None else None
    except (InvalidOperation, ValueError):
        return None


# -- claiming a loan record -------------------------------------------------------------------------


def choose_record(
    rows: Iterable[Any], match: LoanMatch, intent_id: str, lines: Iterable[dict[str, Any]], claimed: set[int]
) -> Found | str | None:
    """The record this request may claim; a reason (str) when matching records exist but none is provably
    ours; None when nothing matches. `lines` are recent journal lines, `claimed` ids claimed in this process."""
    lines = list(lines)
    taken = claimed | {line["tranId"] for line in lines if _claims(line, match.account)}
    candidates = [row for row in rows if match.matches(row)]
    free = [row for row in candidates if row.get("txId") not in taken]
    if not candidates:
        return None
    if not free:
        return f"the matching record(s) {_ids(candidates)} are already claimed by other requests"
    rivals = [
        rival
        for rival in _unresolved_loans(lines, intent_id)
        if rival.same_loan(match) and any(rival.covers(row["timestamp"]) for row in free)
    ]
    if rivals:
        return (
            f"record(s) {_ids(free)} match, but {len(rivals)} other identical request(s) are unresolved, so which "
            "one executed cannot be told"
        )
    row = min(free, key=lambda r: (r["timestamp"], str(r.get("txId"))))
    tran_id = row.get("txId") if isinstance(row.get("txId"), int) else None
    return Found(str(row.get("status", "CONFIRMED")), row, tran_id)


def _claims(line: dict[str, Any], account: str) -> bool:
    return line.get("account") == account and isinstance(line.get("tranId"), int) and "outcome" in line


def _ids(rows: list[Any]) -> str:
    return ", ".join(str(row.get("txId")) for row in rows)


def _unresolved_loans(lines: list[dict[str, Any]], intent_id: str) -> list[LoanMatch]:
    """Other loan intents with no outcome, or only UNKNOWN: any of them might own a matching record."""
    settled = {
        line["intent"]
        for line in lines
        if line.get("kind") == "outcome" and line.get("outcome") != "UNKNOWN" and isinstance(line.get("intent"), str)
    }
    found = []
    for line in lines:
        if line.get("kind") != "intent" or line.get("intent") in settled or line.get("intent") == intent_id:
            continue
        entry = CATALOG.get(str(line.get("tool")))
        try:
            lookup = plan(entry, line["params"], int(line["serverTime"]), str(line["account"])) if entry else None
        except (KeyError, TypeError, ValueError):
            continue
        if lookup is not None and lookup.loan is not None:
            found.append(lookup.loan)
    return found


# -- polling --------------------------------------------------------------------------------------

Chooser = Callable[[list[Any]], Awaitable["Found | str | None"]]


@dataclass(frozen=True)
class Settled:
    """What the lookups ended with: the verdict, why a match was not claimed, whether the last one failed."""

    found: Found | None
    reason: str | None = None
    failed: str | None = None  # the last lookup got no usable answer (transport trouble, an API error)


async def settle(
    lookup: Lookup,
    query: Query,
    sleep: Callable[[float], Awaitable[None]],
    choose: Chooser | None = None,
    delays: tuple[float, ...] = POLL_DELAYS,
) -> Settled:
    """Poll until the write shows up or the window closes."""
    reason = failed = None
    for delay in delays:
        await sleep(delay)
        try:
            data = await query(lookup.tool, lookup.args)
        except ApiError as error:
            failed = None if error.code in NOT_FOUND else error.message.splitlines()[0]
            continue
        except McpToolError as error:  # the exchange is still unwell, or the budget is spent: keep looking
            failed = error.message.splitlines()[0] if isinstance(error, TransportError) else error.message
            continue
        failed = None
        verdict = await _read(lookup, data, choose)
        if isinstance(verdict, Found):
            return Settled(verdict)
        reason = verdict or reason
    return Settled(None, reason, failed)


async def _read(lookup: Lookup, data: Any, choose: Chooser | None) -> Found | str | None:
    if lookup.loan is None:
        status = data.get(lookup.status_field) if isinstance(data, dict) else None
        return Found(str(status), data) if status is not None else None
    rows = data.get("rows", []) if isinstance(data, dict) else []
    if choose is None:
        return "no journal to tell this request's record from another's"
    return await choose(rows if isinstance(rows, list) else [])


def found_text(lookup: Lookup, found: Found) -> str:
    """How the outcome was established, in words that claim no more than the lookup proved."""
    if lookup.how == "client id":
        return f"{lookup.what} was found by its client id with {lookup.tool}: its status is {found.status}."
    if lookup.how == "ids":
        return f"{lookup.what} was looked up with {lookup.tool}: its status is now {found.status}."
    return (
        f"a {lookup.what} record (tranId {found.tran_id}) appeared after it was sent and no other request can "
        f"claim it ({lookup.tool}): its status is {found.status}."
    )


def unknown_message(entry: Endpoint, lookup: Lookup | None, cause: McpToolError, settled: Settled | None = None) -> str:
    """Exactly what the human should check before trying again."""
    if lookup is None:
        return (
            f"{cause.message}\nOutcome UNKNOWN: {entry.name} cannot be looked up automatically. Check the account "
            "(balances, open orders, records) before doing anything else; do not resend blindly."
        )
    why = f" ({settled.reason})" if settled is not None and settled.reason else ""
    failed = f" The last lookup failed: {settled.failed}." if settled is not None and settled.failed else ""
    return (
        f"{cause.message}\nOutcome UNKNOWN: {lookup.what} was not established{why} by checking with "
        f"{lookup.call_text()}.{failed} Binance's data can lag: look again with that call (and the open orders / "
        "records) before sending anything new; if you resend an order, reuse the same client id so Binance rejects "
        "a duplicate."
    )
