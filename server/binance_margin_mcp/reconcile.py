"""After a write whose outcome is unknown: look it up by its `agent-` id instead of ever sending it again.

A timeout, a cut connection, a 5XX, -1006 or -1007 may hide an executed order. We query it (Binance's
data can lag, so for about a minute) and answer with its real status, or UNKNOWN with what to check.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from binance_margin_mcp.catalog.model import Endpoint, LoanSpec, ReconcileById, ReconcileByRecords
from binance_margin_mcp.errors import ApiError, McpToolError, TransportError

# Seconds between lookups: quick first, then patient; about a minute in all.
POLL_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0, 15.0)
NOT_FOUND = {-2013, -2011}  # "Order does not exist." / "Unknown order sent."
# Records are searched from this long before the send: our clock and Binance's record timestamps differ.
RECORD_WINDOW_MS = 60_000

Query = Callable[[str, dict[str, str]], Awaitable[Any]]


@dataclass(frozen=True)
class Lookup:
    """How to find the outcome of one write: which read tool, with which arguments, and what it means."""

    tool: str
    args: dict[str, str]
    what: str  # human description of the thing looked for
    reads_status: Callable[[Any], str | None]


def _shared(params: Mapping[str, str], *names: str) -> dict[str, str]:
    return {name: params[name] for name in names if name in params}


def _status_in(name: str) -> Callable[[Any], str | None]:
    """Reads the status from the lookup's answer (an order's `status`, a list's `listOrderStatus`)."""
    return lambda data: data.get(name) if isinstance(data, dict) else None


def plan(entry: Endpoint, params: Mapping[str, str], sent_at_ms: int) -> Lookup | None:
    """The lookup the entry declares for settling its outcome, or None when there is no way to look it up."""
    spec = entry.reconcile
    if isinstance(spec, ReconcileById):
        return _by_id(spec, params)
    if isinstance(spec, ReconcileByRecords) and entry.loan is not None:
        return _by_records(spec, entry.loan, params, sent_at_ms)
    return None


def _by_id(spec: ReconcileById, params: Mapping[str, str]) -> Lookup:
    """A new order/list by the client id it was given, or an existing one by the ids the cancel named."""
    base = _shared(params, *spec.scope)
    if spec.created_id is not None:
        cid = params[spec.created_id[0]]  # always present: every new order or list is stamped with an agent- id
        args = {**base, spec.created_id[1]: cid}
        return Lookup(spec.lookup, args, f"{spec.noun} {cid}", _status_in(spec.status_field))
    ref = {arg: params[name] for name, arg in spec.refs if name in params}
    return Lookup(spec.lookup, {**base, **ref}, f"{spec.noun} {ref}", _status_in(spec.status_field))


def _by_records(spec: ReconcileByRecords, loan: LoanSpec, params: Mapping[str, str], sent_at_ms: int) -> Lookup:
    """A loan or repayment of the same asset and amount, recorded since shortly before it was sent."""
    since = sent_at_ms - RECORD_WINDOW_MS
    direction, asset, amount = params[loan.direction], params[loan.asset], params[loan.amount]
    args = {"type": direction, "asset": asset, "startTime": str(since)}
    if params.get("isIsolated") == "TRUE" and "symbol" in params:
        args["isolatedSymbol"] = params["symbol"]

    def matching(data: Any) -> str | None:
        rows = data.get("rows", []) if isinstance(data, dict) else []
        hits = [r for r in rows if _same_amount(r.get("amount"), amount) and r.get("timestamp", 0) >= since]
        return str(hits[0].get("status", "CONFIRMED")) if hits else None

    return Lookup(spec.lookup, args, f"{direction.lower()} of {amount} {asset}", matching)


def _same_amount(recorded: Any, sent: str) -> bool:
    """Binance pads amounts ("10.50000000" for "10.5"): compare as exact decimals."""
    try:
        return Decimal(str(recorded)) == Decimal(sent)
    except (InvalidOperation, ValueError):
        return False


async def settle(lookup: Lookup, query: Query, sleep: Callable[[float], Awaitable[None]]) -> tuple[str | None, Any]:
    """Poll until the write shows up (its status and the record) or the window closes (None)."""
    for delay in POLL_DELAYS:
        await sleep(delay)
        try:
            data = await query(lookup.tool, lookup.args)
        except ApiError as error:
            if error.code in NOT_FOUND:
                continue
            raise
        except TransportError:
            continue  # the exchange is still unwell: keep looking until the window closes
        status = lookup.reads_status(data)
        if status is not None:
            return status, data
    return None, None


def unknown_message(entry: Endpoint, lookup: Lookup | None, cause: McpToolError) -> str:
    """Exactly what the human should check before trying again."""
    if lookup is None:
        return (
            f"{cause.message}\nOutcome UNKNOWN: {entry.name} cannot be looked up automatically. Check the account "
            "(balances, open orders, records) before doing anything else; do not resend blindly."
        )
    args = ", ".join(f"{k}={v}" for k, v in lookup.args.items())
    waited = int(sum(POLL_DELAYS))
    return (
        f"{cause.message}\nOutcome UNKNOWN: {lookup.what} was not found after {waited} s of checking with "
        f"{lookup.tool}({args}). It was probably not executed, but Binance's data can lag: look again with that "
        "call (and the open orders / records) before sending anything new; if you resend, reuse the same client "
        "id so Binance rejects a duplicate."
    )
