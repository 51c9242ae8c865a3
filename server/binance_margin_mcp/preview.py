"""The confirmation preview: the JSON-ready preview of a prepared request and its exact text.

Every key and value shown passes through `escape_text`, so neither a parameter nor an exchange answer can fake
lines, reorder text or hide characters in the human's dialog. The facts it shows come from preview_facts.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from collections.abc import Mapping
from decimal import Context, Decimal
from typing import Any
from urllib.parse import urlsplit

from binance_margin_mcp.base_urls import HOST_NETWORK
from binance_margin_mcp.catalog.model import OrderKind
from binance_margin_mcp.paper import IN_PROCESS_URL, PAPER_BASE_URL
from binance_margin_mcp.prepared import PreparedRequest
from binance_margin_mcp.preview_facts import PreviewFacts, gather_facts, order_legs_of, usable_price
from binance_margin_mcp.preview_risk import UNKNOWN, risk_block
from binance_margin_mcp.validation import LIMIT_PRICED, Leg

__all__ = ["PreviewFacts", "build_preview", "describe_host", "escape_text", "gather_facts", "preview_text"]

BORROWING = frozenset({"MARGIN_BUY", "AUTO_BORROW_REPAY"})
# Invisible or layout-changing code points outside categories C*/Z*: the Default_Ignorable letters and marks
# (combining grapheme joiner, Hangul fillers, Khmer inherent vowels, Mongolian variation selectors, variation
# selectors) and the blank braille pattern, which renders as a space.
_INVISIBLE = ((0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x2800, 0x2800))
_INVISIBLE += ((0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0xE0100, 0xE01EF))
_EXACT = Context(prec=200)  # wire decimals have at most 20+20 digits: products and sums stay exact


def escape_text(value: str) -> str:
    """`value` with every character that could fake a line, reorder or hide text written as an escape.

    The one form used: a backslash becomes `\\\\`; C0/C1 controls, DEL, U+2028/U+2029, non-ASCII spaces, every
    format character (Cf: bidi controls, zero-width characters, BOM), surrogates, private-use and unassigned
    code points and the other invisible characters become `\\uXXXX` (`\\UXXXXXXXX` above U+FFFF), upper-case hex.
    Every other character is shown as is, so the result reads unambiguously back to `value`.
    """
    if value.isascii() and value.isprintable() and "\\" not in value:
        return value
    return "".join(ch if _shown_as_is(ch) else _escape(ch) for ch in value)


def _shown_as_is(ch: str) -> bool:
    if " " <= ch <= "~":
        return ch != "\\"
    category = unicodedata.category(ch)
    if category[0] in "CZ":  # Cc Cf Cs Co Cn, and Zl Zp Zs (U+0020 was handled above)
        return False
    return not any(low <= ord(ch) <= high for low, high in _INVISIBLE)


def _escape(ch: str) -> str:
    code = ord(ch)
    if ch == "\\":
        return "\\\\"
    return f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}"


def plain(value: Decimal) -> str:
    """Digits and an optional point: no exponent, no trailing zeros."""
    return format(_EXACT.normalize(value), "f")


# -- the preview ------------------------------------------------------------------------------------------------


def build_preview(request: PreparedRequest, facts: PreviewFacts) -> dict[str, Any]:
    """Account, environment, host, endpoint, every wire parameter in sent order, the orders or cancel target.

    Every key and string value is escaped (`escape_text`); decimals are plain strings.
    """
    host, host_note = describe_host(request.base_url)
    params = dict(request.params)
    data: dict[str, Any] = {
        "account": request.account,
        "environment": request.environment,
        "host": host,
        "hostNote": host_note,
        "endpoint": request.entry.endpoint_id,
        "tool": request.entry.name,
        "parameters": params,
    }
    notes = list(facts.notes)
    legs = order_legs_of(request)
    if legs is not None:
        kind = request.entry.order_shape.kind if request.entry.order_shape else None
        data["order"] = _order_block(kind, params, legs, facts, notes)
        data["risk"] = _risk(request, params, legs, facts, notes)
    if facts.target is not None:
        data["target"] = dict(facts.target)
    if notes:
        data["notes"] = notes
    return _escaped(data)


def _risk(
    request: PreparedRequest, params: Mapping[str, str], legs: list[Leg], facts: PreviewFacts, notes: list[str]
) -> dict[str, Any]:
    """preview.risk: for the first (working) leg; every field "unknown" whose inputs could not be read."""
    weight = request.entry.weight.cost(params)
    if facts.risk is None or not facts.base_asset or not facts.quote_asset or not legs:
        return {"weight": weight, "estimate": UNKNOWN}
    notes.extend(facts.risk.notes)
    if len(legs) > 1:
        notes.append(f"risk: estimated for {legs[0].label} only")
    block = risk_block(
        facts.risk, params, legs[0], facts.base_asset, facts.quote_asset, usable_price(facts.last_price), weight
    )
    return block


def describe_host(base_url: str) -> tuple[str, str]:
    """scheme://host[:port] (never a path, query or user info) and what it is: Binance, loopback or paper."""
    if base_url in (PAPER_BASE_URL, IN_PROCESS_URL):
        return base_url, "paper exchange (in process)"
    try:
        parts = urlsplit(base_url.strip())
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return "(unreadable URL)", "not a Binance host"
    shown = f"{parts.scheme}://{f'[{host}]' if ':' in host else host}" + (f":{port}" if port is not None else "")
    network = HOST_NETWORK.get(host)
    if network is not None and parts.scheme == "https" and port in (None, 443):
        return shown, f"official Binance {network} host"
    return shown, "not a Binance host (loopback)" if _loopback(host) else "not a Binance host"


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _order_block(
    kind: OrderKind | None, params: Mapping[str, str], legs: list[Leg], facts: PreviewFacts, notes: list[str]
) -> dict[str, Any]:
    last = usable_price(facts.last_price)
    shown_legs, amounts = [], []
    for leg in legs:
        shown, amount = _leg_block(leg, params, last, notes)
        shown_legs.append(shown)
        amounts.append(amount)
    block: dict[str, Any] = {"symbol": params.get("symbol", "")}
    block["margin"] = "isolated" if params.get("isIsolated") == "TRUE" else "cross"
    block |= {k: v for k, v in (("quoteAsset", facts.quote_asset), ("baseAsset", facts.base_asset)) if v}
    block["lastPrice"] = plain(last) if last is not None else "unknown"
    block["legs"] = shown_legs
    total, block["totalBasis"] = _total(kind, amounts)
    block["total"] = plain(total) if total is not None else "unknown"
    effect = params.get("sideEffectType", "NO_SIDE_EFFECT")
    block["sideEffectType"] = effect
    block["borrows"] = effect in BORROWING
    if block["borrows"]:  # a BUY borrows the quote asset, a SELL the base asset, when the balance is short
        quote, base = facts.quote_asset or "quote asset", facts.base_asset or "base asset"
        block["borrowAssets"] = sorted({quote if leg.side == "BUY" else base for leg in legs})
    return block


_LEG_FIELDS = ("quantity", "price", "stopPrice", "quoteOrderQty", "icebergQty", "timeInForce", "trailingDelta")


def _leg_block(
    leg: Leg, params: Mapping[str, str], last: Decimal | None, notes: list[str]
) -> tuple[dict[str, str], Decimal | None]:
    """One leg with its wire values exactly as sent, and its estimated notional in the quote asset."""
    shown = {"leg": leg.label, "side": leg.side or "", "type": leg.type or ""}
    shown |= {fld: params[leg.names[fld]] for fld in _LEG_FIELDS if params.get(leg.names.get(fld, ""))}
    amount, basis = _notional(leg, last)
    shown["estimatedNotional"] = plain(amount) if amount is not None else "unknown"
    shown["notionalBasis"] = basis
    if amount is None:
        notes.append(f"{leg.label}: notional unknown ({basis})")
    return shown, amount


def _notional(leg: Leg, last: Decimal | None) -> tuple[Decimal | None, str]:
    """quoteOrderQty as it is; a limit price, else a stop price, else the current price, times the quantity."""
    if leg.quoteOrderQty is not None:
        return leg.quoteOrderQty, "quoteOrderQty"
    if leg.quantity is None:
        return None, "no quantity"
    if leg.type in LIMIT_PRICED:
        if leg.price is None:
            return None, "no price"
        return _EXACT.multiply(leg.price, leg.quantity), "price × quantity"
    if leg.type != "MARKET" and leg.stopPrice is not None:
        return _EXACT.multiply(leg.stopPrice, leg.quantity), "stopPrice × quantity"
    if last is None:
        return None, "no current price"
    return _EXACT.multiply(last, leg.quantity), f"at current price {plain(last)} × quantity"


def _total(kind: OrderKind | None, amounts: list[Decimal | None]) -> tuple[Decimal | None, str]:
    """The most the request can trade: one leg of an OCO pair fills, the other is cancelled."""
    known = [a for a in amounts if a is not None]
    if len(known) != len(amounts) or not known:
        return None, "unknown: a leg's notional is unknown"
    if kind is OrderKind.OCO:
        return max(known), "the larger leg; an OCO fills only one"
    if kind is OrderKind.OTOCO:
        return _EXACT.add(
            known[0], max(known[1:])
        ), "working order + the larger pending leg; only one of the pair fills"
    total = Decimal(0)
    for amount in known:
        total = _EXACT.add(total, amount)
    return total, "sum of the legs"


def _escaped(value: Any) -> Any:
    """Every string in a JSON-ready structure, keys included, through escape_text."""
    if isinstance(value, str):
        return escape_text(value)
    if isinstance(value, Mapping):
        return {escape_text(str(key)): _escaped(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_escaped(item) for item in value]
    return value


# -- the text ---------------------------------------------------------------------------------------------------


def preview_text(preview: Mapping[str, Any], *, header: str, footer: str) -> str:
    """The preview as deterministic text, one line per item; the same preview always gives the same text.

    `preview` is what build_preview returned (already escaped). `header` and `footer` are shown verbatim: they
    are the caller's own wording and must not carry untrusted text (the account is shown escaped below them).
    """
    lines = [header] if header else []
    lines.append(f"  Account: {preview['account']} ({preview['environment']})")
    lines.append(f"  Host: {preview['host']} - {preview['hostNote']}")
    lines.append(f"  Endpoint: {preview['endpoint']} ({preview['tool']})")
    if "order" in preview:
        lines += _order_lines(preview["order"])
    if "risk" in preview:
        lines += _risk_lines(preview["risk"])
    if "target" in preview:
        lines.append("  Cancels:")
        lines += [f"    {name}: {value}" for name, value in preview["target"].items()]
    lines += [f"  Note: {note}" for note in preview.get("notes", ())]
    lines.append("  Parameters as they will be sent:")
    lines += [f"    {name} = {value}" for name, value in preview["parameters"].items()]
    if footer:
        lines.append(footer)
    return "\n".join(lines)


def _order_lines(order: Mapping[str, Any]) -> list[str]:
    quote, base = order.get("quoteAsset"), order.get("baseAsset")
    in_quote, in_base = (f" {quote}" if quote else ""), (f" {base}" if base else "")
    lines = [f"  Order on {order['symbol']} ({order['margin']} margin), last price {order['lastPrice']}{in_quote}:"]
    for leg in order["legs"]:
        text = f"{leg['side']} {leg['type']}" + (f" {leg['timeInForce']}" if "timeInForce" in leg else "")
        text += f" {leg['quantity']}{in_base}" if "quantity" in leg else ""
        text += f" for {leg['quoteOrderQty']}{in_quote}" if "quoteOrderQty" in leg else ""
        text += f" @ {leg['price']}{in_quote}" if "price" in leg else ""
        text += f", stop {leg['stopPrice']}{in_quote}" if "stopPrice" in leg else ""
        text += f", trailingDelta {leg['trailingDelta']}" if "trailingDelta" in leg else ""
        text += f", iceberg {leg['icebergQty']}{in_base}" if "icebergQty" in leg else ""
        amount = leg["estimatedNotional"]
        value = f"≈ {amount}{in_quote}" if amount != "unknown" else "notional unknown"
        lines.append(f"    {leg['leg']}: {text} {value} ({leg['notionalBasis']})")
    if len(order["legs"]) > 1:
        total = order["total"]
        shown = f"≈ {total}{in_quote}" if total != "unknown" else "unknown"
        lines.append(f"    Total: {shown} ({order['totalBasis']})")
    effect = f"sideEffectType {order['sideEffectType']}"
    borrow = f"may BORROW {', '.join(order['borrowAssets'])}" if order["borrows"] else "no borrowing"
    lines.append(f"  Borrowing: {effect}: {borrow}")
    return lines


def _risk_lines(risk: Mapping[str, Any]) -> list[str]:
    """`borrows 7700 USDT (max 9000); margin level 3.2 → 1.6 (margin call 1.3, liquidation 1.1); liquidation if
    BTC ≤ 51230`, then the fee, the interest and the weight."""
    if "marginLevelAfter" not in risk:
        return [f"  Risk: unknown (weight {risk['weight']})"]
    borrow = risk["impliedBorrow"]
    if isinstance(borrow, Mapping):
        most = risk["maxBorrowable"]["amount"]
        text = f"borrows {borrow['amount']} {borrow['asset']} (max borrowable {most})"
    else:
        text = "borrows nothing"
    text += f"; margin level {risk['marginLevelNow']} → {risk['marginLevelAfter']}"
    text += f" (margin call {risk['marginCallLevel']}, liquidation {risk['liquidationLevel']})"
    where = risk["liquidationPrice"]
    if isinstance(where, Mapping):
        sign = "≤" if where["when"] == "at or below" else "≥"
        text += f"; liquidation if {where['asset']} {sign} {where['price']} {where['quoteAsset']}"
    else:
        text += f"; liquidation price {where}"
    costs = f"fee ≈ {_amount(risk['estimatedFee'])} (assumed 0.1% taker)"
    if "hourlyInterest" in risk:
        costs += f"; interest ≈ {_amount(risk['hourlyInterest'])} per hour"
    return [f"  Risk: {text}", f"  Costs: {costs}; request weight {risk['weight']}"]


def _amount(value: Any) -> str:
    return f"{value['amount']} {value['asset']}" if isinstance(value, Mapping) else str(value)
