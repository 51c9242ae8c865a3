"""After a write whose outcome is unknown: look it up by its `agent-` id instead of ever sending it again.

A timeout, a cut connection, a 5XX, -1006 or -1007 may hide an executed order. We query it (Binance's
data can lag, so for about a minute) and answer with its real status, or UNKNOWN with what to check.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from binance_margin_mcp.errors import ApiError, McpToolError, TransportError

# Seconds between lookups: quick first, then patient; about a minute in all.
POLL_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 15.0, 15.0)
NOT_FOUND = {-2013, -2011}  # "Order does not exist." / "Unknown order sent."

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


def _order_status(data: Any) -> str | None:
    return data.get("status") if isinstance(data, dict) else None


def _list_status(data: Any) -> str | None:
    return data.get("listOrderStatus") if isinstance(data, dict) else None


def plan(tool: str, params: Mapping[str, str], sent_at_ms: int) -> Lookup | None:
    """The lookup that settles `tool`'s outcome, or None when there is no way to look it up."""
    base = _shared(params, "symbol", "isIsolated")
    if tool == "create_margin_order":
        cid = params["newClientOrderId"]
        return Lookup("get_margin_order", {**base, "origClientOrderId": cid}, f"order {cid}", _order_status)
    if tool in ("create_margin_oco_order", "create_margin_oto_order", "create_margin_otoco_order"):
        cid = params["listClientOrderId"]
        return Lookup("get_margin_order_list", {**base, "origClientOrderId": cid}, f"order list {cid}", _list_status)
    if tool == "cancel_margin_order":
        ref = _shared(params, "orderId", "origClientOrderId")
        return Lookup("get_margin_order", {**base, **ref}, f"order {ref}", _order_status)
    if tool == "cancel_margin_order_list":
        ref = _shared(params, "orderListId")
        if "listClientOrderId" in params:
            ref["origClientOrderId"] = params["listClientOrderId"]
        return Lookup("get_margin_order_list", {**base, **ref}, f"order list {ref}", _list_status)
    if tool == "borrow_or_repay":
        args = {"type": params["type"], "asset": params["asset"], "startTime": str(sent_at_ms - 60_000)}
        if params.get("isIsolated") == "TRUE" and "symbol" in params:
            args["isolatedSymbol"] = params["symbol"]

        def matching(data: Any) -> str | None:
            rows = data.get("rows", []) if isinstance(data, dict) else []
            hits = [
                r
                for r in rows
                if _same_amount(r.get("amount"), params["amount"]) and r.get("timestamp", 0) >= sent_at_ms - 60_000
            ]
            return str(hits[0].get("status", "CONFIRMED")) if hits else None

        return Lookup(
            "get_borrow_repay_records",
            args,
            f"{params['type'].lower()} of {params['amount']} {params['asset']}",
            matching,
        )
    return None


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


def unknown_message(tool: str, lookup: Lookup | None, cause: McpToolError) -> str:
    """Exactly what the human should check before trying again."""
    if lookup is None:
        return (
            f"{cause.message}\nOutcome UNKNOWN: {tool} cannot be looked up automatically. Check the account "
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
