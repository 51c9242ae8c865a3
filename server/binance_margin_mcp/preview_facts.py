"""What a confirmation preview looks up: an order's assets and last price, or the order(s) a cancel targets.

Every lookup failure becomes a note on the facts, never an exception: a preview is always produced.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from binance_margin_mcp.catalog import CATALOG, Endpoint
from binance_margin_mcp.catalog.model import ClientIdRole
from binance_margin_mcp.errors import ApiError, McpToolError
from binance_margin_mcp.params import build_wire_params
from binance_margin_mcp.prepared import PreparedRequest
from binance_margin_mcp.preview_risk import RiskInputs, gather_risk
from binance_margin_mcp.validation import Leg, order_legs

Read = Callable[[Endpoint, list[tuple[str, str]]], Awaitable[Any]]
MAX_LISTED = 10  # orders listed for cancel-all (and members of an order list); the rest are counted
ORDER_NOT_FOUND = -2013
# A cancel names an order list's client id listClientOrderId; the read at the same path calls it origClientOrderId.
_RENAMED_FOR_READ = {"listClientOrderId": "origClientOrderId"}
_ORDER_READ = ("GET", "/sapi/v1/margin/order")  # one order by orderId: the members of an order list
_FAILED = object()


@dataclass(frozen=True)
class PreviewFacts:
    """What was looked up for a preview; `notes` says which lookups failed."""

    last_price: Decimal | None = None
    quote_asset: str | None = None
    base_asset: str | None = None
    target: dict[str, str] | None = None  # what a cancel targets: one order, an order list, or the open orders
    notes: tuple[str, ...] = ()
    risk: RiskInputs | None = None  # an order's account, levels, borrow limit and rate (preview_risk)


async def gather_facts(
    request: PreparedRequest,
    read: Read,
    market_price: Callable[[str], Awaitable[Decimal | None]],
    symbol_info: Callable[[str], Awaitable[dict[str, Any] | None]],
) -> PreviewFacts:
    """Orders: the symbol's assets, last price and risk inputs. Cancels: the target, read by GET at the cancel's
    path."""
    params = dict(request.params)
    legs = order_legs_of(request)
    if legs is not None:
        return await _order_facts(params, legs, read, market_price, symbol_info)
    found = target_read(request.entry, params)
    return PreviewFacts() if found is None else await _cancel_facts(params, *found, read)


def order_legs_of(request: PreparedRequest) -> list[Leg] | None:
    """The orders an order-creating request places; None for every other request."""
    try:
        return order_legs(request.entry, dict(request.params))
    except ValueError:
        return None


def target_read(entry: Endpoint, params: Mapping[str, str]) -> tuple[Endpoint, dict[str, str]] | None:
    """`GET <the same path>` and the request's arguments for it, when that GET takes every parameter naming the target.

    The cancel's own new client id names nothing that exists, so it is left out. Entries whose GET cannot take
    their parameters (disabling an isolated account, deleting a special key) have no target to show.
    """
    reader = _catalog_entry("GET", entry.path) if entry.method == "DELETE" else None
    if reader is None:
        return None
    renamed: dict[str, str] = {}
    for param in entry.params:
        if param.client_id is ClientIdRole.NEW:
            continue
        name = param.name if reader.param(param.name) else _RENAMED_FOR_READ.get(param.name)
        if name is None or reader.param(name) is None:
            return None
        renamed[param.name] = name
    return reader, {renamed[name]: value for name, value in params.items() if name in renamed}


def _catalog_entry(method: str, path: str) -> Endpoint | None:
    return next((e for e in CATALOG.values() if e.method == method and e.path == path), None)


async def _attempt(call: Callable[[], Awaitable[Any]], notes: list[str], what: str) -> Any:
    """`await call()`, or `_FAILED` with a note when it raises a tool error."""
    try:
        return await call()
    except McpToolError as error:
        if isinstance(error, ApiError) and error.code == ORDER_NOT_FOUND:
            what = "order not found"
        notes.append(f"{what}: {error.message.splitlines()[0] if error.message else type(error).__name__}")
        return _FAILED


async def _signed_read(read: Read, reader: Endpoint, args: dict[str, str]) -> Any:
    """`read` with the arguments validated into wire pairs (a refusal is a tool error like any other)."""
    return await read(reader, build_wire_params(reader, args))


async def _order_facts(
    params: Mapping[str, str],
    legs: list[Leg],
    read: Read,
    market_price: Callable[[str], Awaitable[Decimal | None]],
    symbol_info: Callable[[str], Awaitable[dict[str, Any] | None]],
) -> PreviewFacts:
    """The assets first (the risk reads need them), then the last price and the risk reads together."""
    symbol = params.get("symbol", "")
    notes: list[str] = []
    info = await _attempt(lambda: symbol_info(symbol), notes, f"assets of {symbol} unknown")
    assets = (info.get("quoteAsset"), info.get("baseAsset")) if isinstance(info, Mapping) else (None, None)
    quote, base = (a if isinstance(a, str) and a else None for a in assets)
    if info is not _FAILED and (quote is None or base is None):
        notes.append(f"assets of {symbol} unknown: exchangeInfo does not list them")
    price_read = _attempt(lambda: market_price(symbol), notes, "price unknown")
    if quote is None or base is None or not legs:
        price, risk = await price_read, None
    else:
        price, risk = await asyncio.gather(price_read, gather_risk(params, legs[0], base, quote, read, market_price))
    last = usable_price(price)
    if price is not _FAILED and last is None:
        notes.append(f"price unknown: no last price for {symbol}")
    return PreviewFacts(last, quote, base, None, tuple(notes), risk)


async def _cancel_facts(params: Mapping[str, str], reader: Endpoint, args: dict[str, str], read: Read) -> PreviewFacts:
    notes: list[str] = []
    data = await _attempt(partial(_signed_read, read, reader, args), notes, "cancel target unknown")
    target: dict[str, str] | None = None
    if isinstance(data, list):
        target = _open_orders_target(params.get("symbol", ""), data)
    elif isinstance(data, Mapping) and isinstance(data.get("orders"), list):
        target = await _list_target(params, data, read, notes)
    elif isinstance(data, Mapping) and "orderId" in data:
        target = _order_fields(data)
    elif data is not _FAILED:
        notes.append("cancel target unknown: unexpected answer from the exchange")
    return PreviewFacts(target=target, notes=tuple(notes))


def _open_orders_target(symbol: str, orders: list[Any]) -> dict[str, str]:
    target = {"symbol": symbol, "openOrders": str(len(orders))}
    for index, order in enumerate(orders[:MAX_LISTED], 1):
        target[f"order {index}"] = _order_line(order) if isinstance(order, Mapping) else "(unreadable)"
    if len(orders) > MAX_LISTED:
        target["more"] = f"{len(orders) - MAX_LISTED} more not listed"
    return target


async def _list_target(
    params: Mapping[str, str], data: Mapping[str, Any], read: Read, notes: list[str]
) -> dict[str, str]:
    """The list's own fields, then one line per member order, each read by orderId."""
    names = ("symbol", "orderListId", "listClientOrderId", "contingencyType", "listStatusType", "listOrderStatus")
    target = {name: text for name in names if (text := _text(data.get(name))) is not None}
    members = data["orders"]
    target["orders"] = str(len(members))
    reader = _catalog_entry(*_ORDER_READ)
    for index, member in enumerate(members[:MAX_LISTED], 1):
        order_id = _text(member.get("orderId")) if isinstance(member, Mapping) else None
        detail: Any = _FAILED
        if reader is not None and order_id is not None:
            args = {k: v for k, v in params.items() if k in ("symbol", "isIsolated")} | {"orderId": order_id}
            what = f"order {order_id} of the list unknown"
            detail = await _attempt(partial(_signed_read, read, reader, args), notes, what)
        shown = detail if isinstance(detail, Mapping) else member if isinstance(member, Mapping) else {}
        target[f"order {index}"] = _order_line(shown)
    if len(members) > MAX_LISTED:
        target["more"] = f"{len(members) - MAX_LISTED} more not listed"
    return target


_ORDER_FIELDS = (("symbol", "symbol"), ("side", "side"), ("type", "type"), ("quantity", "origQty"))
_ORDER_FIELDS += (("executedQty", "executedQty"), ("price", "price"), ("stopPrice", "stopPrice"))
_ORDER_FIELDS += (("status", "status"), ("orderId", "orderId"), ("clientOrderId", "clientOrderId"))


def _order_fields(order: Mapping[str, Any]) -> dict[str, str]:
    """One order as the exchange reports it; a zero stopPrice or executedQty is left out."""
    shown = {}
    for name, source in _ORDER_FIELDS:
        text = _text(order.get(source))
        if text is not None and not (name in ("stopPrice", "executedQty") and _is_zero(text)):
            shown[name] = text
    return shown


def _order_line(order: Mapping[str, Any]) -> str:
    """`BUY LIMIT 0.001 @ 70000 stop 69000 (NEW, orderId 7, clientOrderId x)` from what the order carries."""
    f = _order_fields(order)
    head = " ".join(f[k] for k in ("side", "type", "quantity") if k in f)
    head += f" @ {f['price']}" if "price" in f and not _is_zero(f["price"]) else ""
    head += f" stop {f['stopPrice']}" if "stopPrice" in f else ""
    head += f", filled {f['executedQty']}" if "executedQty" in f else ""
    ids = [f.get("status"), f"orderId {f['orderId']}" if "orderId" in f else None]
    ids.append(f"clientOrderId {f['clientOrderId']}" if "clientOrderId" in f else None)
    tail = ", ".join(i for i in ids if i)
    return f"{head} ({tail})" if head else f"{tail} (details unknown)"


def _text(value: Any) -> str | None:
    """A scalar from an exchange answer as plain text (decimals without exponent); None for anything else."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int):
        return str(value)
    if isinstance(value, float | Decimal):
        number = Decimal(repr(value)) if isinstance(value, float) else value
        return format(number, "f") if number.is_finite() else None
    return None


def _is_zero(text: str) -> bool:
    try:
        return Decimal(text) == 0
    except InvalidOperation:
        return False


def usable_price(value: Any) -> Decimal | None:
    """A last price that can be multiplied: a finite Decimal above zero."""
    return value if isinstance(value, Decimal) and value.is_finite() and value > 0 else None
