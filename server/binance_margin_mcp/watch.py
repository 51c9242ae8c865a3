"""watch_account: answer as soon as an order fills/part-fills/cancels/expires, the cross margin level falls below
a threshold, or a liquidation happens; otherwise at the timeout.

Paper: waits on the exchange's own change counter (Exchange.wait_change, in a worker thread) and reads its
order states, risk events and liquidation records. Live: polls every POLL_S seconds (open orders 10, the
order that left the list 10, the cross account 10, forceLiquidationRec 1), stopping early before the
minute's IP weight would pass BUDGET_SHARE of the limit; it reports the weight it used.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

from binance_margin_mcp.account_reads import AccountReads, dec
from binance_margin_mcp.catalog import CATALOG
from binance_margin_mcp.errors import InvalidArguments, McpToolError
from binance_margin_mcp.ratelimit import LIMITS, LocallyRefused

EVENTS = ("orders", "marginLevel", "liquidation")
POLL_S = 3.0
PAPER_SLICE_S = 1.0  # a paper wait re-checks at least this often (a change seen between read and wait)
BUDGET_SHARE = Decimal("0.5")  # never take more than half of a minute's IP weight
REPORTED = frozenset({"FILLED", "PARTIALLY_FILLED", "CANCELED", "EXPIRED", "EXPIRED_IN_MATCH", "REJECTED"})


def parse_events(raw: str | None) -> tuple[str, ...]:
    if raw is None or not raw.strip():
        return EVENTS
    chosen = tuple(dict.fromkeys(e.strip() for e in raw.split(",") if e.strip()))
    unknown = [e for e in chosen if e not in EVENTS]
    if unknown:
        raise InvalidArguments(f"events: unknown {', '.join(unknown)}; use any of {', '.join(EVENTS)}.", "events")
    return chosen


class Watch:
    """One watch: what to look for, and the state seen at its start."""

    def __init__(self, reads: AccountReads, events: tuple[str, ...], symbol: str | None, below: Decimal | None):
        self.reads, self.events, self.symbol, self.below = reads, events, symbol, below
        if "marginLevel" in events and below is None:
            raise InvalidArguments(
                "marginLevelBelow is needed to watch the margin level, e.g. 1.5.", "marginLevelBelow"
            )

    async def level_event(self) -> list[dict[str, Any]]:
        if "marginLevel" not in self.events or self.below is None:
            return []
        account = await self.reads.get("get_cross_margin_account")
        level = dec(account.get("marginLevel"))
        if level and level < self.below:
            return [{"type": "marginLevel", "marginLevel": account.get("marginLevel"), "below": str(self.below)}]
        return []


async def watch(reads: AccountReads, events: tuple[str, ...], symbol: str | None, below: Any, timeout_s: int) -> dict:
    threshold = dec(below) if below is not None else None
    watcher = Watch(reads, events, symbol, threshold)
    venue = reads.service.venue
    started = time.monotonic()
    if venue is not None and venue.serves(reads.account):
        found, note = await _paper(watcher, venue.exchange, timeout_s), None
        how = "paper exchange events"
    else:
        found, note = await _poll(watcher, timeout_s)
        how = f"polled every {POLL_S:g} s"
    data: dict[str, Any] = {
        "account": reads.account.name,
        "events": found,
        "timedOut": not found and note is None,
        "waitedSeconds": round(time.monotonic() - started, 1),
        "how": how,
        "weightUsed": reads.weight,
    }
    if note:
        data["stoppedEarly"] = note
    return data


# -- paper: the exchange's own state -------------------------------------------------------------------------


def _paper_state(exchange: Any, user: str, symbol: str | None) -> dict[str, Any]:
    state = exchange.export_user(user)
    orders = {
        str(o.get("order_id")): o
        for o in (state.get("orders") or {}).values()
        if isinstance(o, dict) and (symbol is None or o.get("symbol") == symbol)
    }
    records = state.get("records") or {}
    return {
        "orders": orders,
        "liquidations": list(records.get("liquidation") or []),
        "risk": list(state.get("risk_events") or []),
    }


def _paper_events(watcher: Watch, before: dict[str, Any], now: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    if "orders" in watcher.events:
        for oid, order in now["orders"].items():
            old = before["orders"].get(oid, {})
            changed = old.get("status") != order.get("status") or old.get("executed_qty") != order.get("executed_qty")
            if changed and order.get("status") in REPORTED:
                found.append(
                    _order_event(
                        order.get("symbol"),
                        oid,
                        order.get("client_order_id"),
                        order.get("side"),
                        order.get("status"),
                        order.get("executed_qty"),
                        order.get("orig_qty"),
                    )
                )
    if "marginLevel" in watcher.events and watcher.below is not None:
        # The risk stream's MARGIN_LEVEL_STATUS_CHANGE events: a level that crossed and was liquidated at once.
        for risk in now["risk"][len(before["risk"]) :]:
            if dec(risk.get("l")) < watcher.below:
                found.append({"type": "marginLevel", "marginLevel": risk.get("l"), "status": risk.get("s")})
    if "liquidation" in watcher.events:
        for row in now["liquidations"][len(before["liquidations"]) :]:
            found.append(
                {
                    "type": "liquidation",
                    **{k: row.get(k) for k in ("symbol", "side", "executedQty", "avgPrice", "isIsolated")},
                }
            )
    return found


def _order_event(symbol: Any, oid: Any, client_id: Any, side: Any, status: Any, executed: Any, orig: Any) -> dict:
    return {
        "type": "order",
        "symbol": symbol,
        "orderId": oid,
        "clientOrderId": client_id,
        "side": side,
        "status": status,
        "executedQty": str(executed),
        "origQty": str(orig),
    }


async def _paper(watcher: Watch, exchange: Any, timeout_s: int) -> list[dict[str, Any]]:
    user = watcher.reads.account.name
    deadline = time.monotonic() + timeout_s
    seen = exchange.version
    before = _paper_state(exchange, user, watcher.symbol)
    found = await watcher.level_event()
    while not found:
        seen = exchange.version
        left = deadline - time.monotonic()
        if left <= 0:
            return []
        seen = await asyncio.to_thread(exchange.wait_change, seen, min(left, PAPER_SLICE_S))
        now = _paper_state(exchange, user, watcher.symbol)
        found = _paper_events(watcher, before, now)
        found = found or await watcher.level_event()
        before = now
    return found


# -- live: polling within the weight budget ------------------------------------------------------------------


async def _poll(watcher: Watch, timeout_s: int) -> tuple[list[dict[str, Any]], str | None]:
    reads = watcher.reads
    sleep = reads.service.executor.client.sleep
    started = reads.service.executor.clock_ms()
    try:
        found = await watcher.level_event()
        if found:
            return found, None
        open_orders = await _open_orders(watcher) if "orders" in watcher.events else {}
        waited = 0.0
        began = time.monotonic()
        while max(waited, time.monotonic() - began) + POLL_S <= timeout_s:
            await sleep(POLL_S)
            waited += POLL_S
            refusal = _over_budget(watcher)
            if refusal:
                return [], refusal
            found, open_orders = await _round(watcher, open_orders, started)
            if found:
                return found, None
    except LocallyRefused as refusal:
        return [], f"the weight budget would be exceeded: {refusal.message}"
    except McpToolError as error:
        return [], f"a read failed: {error.message}"
    return [], None


async def _open_orders(watcher: Watch) -> dict[int, dict[str, Any]]:
    args = {"symbol": watcher.symbol} if watcher.symbol else {}
    rows = await watcher.reads.get("get_open_margin_orders", args)
    return {int(o["orderId"]): o for o in rows or [] if isinstance(o, dict) and "orderId" in o}


async def _round(
    watcher: Watch, before: dict[int, dict[str, Any]], started: int
) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
    found: list[dict[str, Any]] = []
    now = before
    if "orders" in watcher.events:
        now = await _open_orders(watcher)
        for oid, order in now.items():
            if oid in before and order.get("executedQty") != before[oid].get("executedQty"):
                found.append(_live_event(order))
        for oid in before.keys() - now.keys():
            gone = before[oid]
            final = await watcher.reads.get("get_margin_order", {"symbol": gone.get("symbol"), "orderId": oid})
            if isinstance(final, dict) and final.get("status") in REPORTED:
                found.append(_live_event(final))
    if "liquidation" in watcher.events:
        rec = await watcher.reads.get("get_forced_liquidation_history", {"startTime": started})
        for row in (rec or {}).get("rows") or [] if isinstance(rec, dict) else []:
            found.append(
                {"type": "liquidation", **{k: row.get(k) for k in ("symbol", "side", "executedQty", "avgPrice")}}
            )
    return found + await watcher.level_event(), now


def _live_event(order: dict[str, Any]) -> dict[str, Any]:
    return _order_event(
        order.get("symbol"),
        order.get("orderId"),
        order.get("clientOrderId"),
        order.get("side"),
        order.get("status"),
        order.get("executedQty"),
        order.get("origQty"),
    )


def _over_budget(watcher: Watch) -> str | None:
    """Stop before a round would take the minute's IP weight past BUDGET_SHARE of the limit (any endpoint)."""
    reads = watcher.reads
    weights = reads.service.executor.client.weights
    host = reads.service.credentials(reads.account).base_url
    tools = ["get_cross_margin_account", "get_open_margin_orders", "get_margin_order", "get_forced_liquidation_history"]
    for tool in tools:
        entry = CATALOG[tool]
        used = weights.budget(host, entry.weight.limit, "ip", entry.endpoint_id).used
        if used + entry.weight.base * 2 > LIMITS[entry.weight.limit] * BUDGET_SHARE:
            return f"{entry.endpoint_id} has used {used} of {LIMITS[entry.weight.limit]} weight this minute"
    return None
