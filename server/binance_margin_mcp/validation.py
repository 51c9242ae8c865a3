"""Pre-trade checks of an order (each leg of an OCO/OTO/OTOCO) against the symbol's exchangeInfo filters, run
before signing: each refusal names the rule, the allowed values and, when one exists, a corrected wire value."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any

from binance_margin_mcp.catalog.model import Endpoint, LegShape, OrderKind, OrderShape

WIRE_DECIMAL = re.compile(r"^[0-9]{1,20}(\.[0-9]{1,20})?$", re.ASCII)  # Binance's own grammar (-1100)
ZERO = Decimal(0)
SIDES = ("BUY", "SELL")
STOPS = ("STOP_LOSS", "STOP_LOSS_LIMIT")
LIMIT_PRICED = frozenset({"LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"})
DECIMALS = ("price", "stopPrice", "quantity", "quoteOrderQty", "icebergQty")
# Mandatory fields by order type (stopPrice may be replaced by trailingDelta).
REQUIRED = {"LIMIT": ("timeInForce", "quantity", "price"), "MARKET": (), "LIMIT_MAKER": ("quantity", "price")}
REQUIRED |= dict.fromkeys(("STOP_LOSS", "TAKE_PROFIT"), ("quantity", "stopPrice"))
REQUIRED |= dict.fromkeys(("STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"), ("timeInForce", "quantity", "price", "stopPrice"))


@dataclass(frozen=True)
class Violation:
    """One broken rule: where, which wire parameter, which rule, why, and the corrected value if any."""

    leg: str
    param: str
    rule: str
    message: str
    suggestion: str | None = None


@dataclass(frozen=True)
class Leg:
    """One order of a request; `names` maps each field to the wire parameter it came from."""

    label: str
    side: str | None
    type: str | None
    price: Decimal | None = None
    stopPrice: Decimal | None = None  # camelCase: field names are the base wire names
    quantity: Decimal | None = None
    quoteOrderQty: Decimal | None = None
    icebergQty: Decimal | None = None
    timeInForce: str | None = None
    trailingDelta: str | None = None
    names: Mapping[str, str] = field(default_factory=dict)

    def name(self, fld: str) -> str:
        return self.names.get(fld, "symbol" if fld == "type" else fld)


@dataclass(frozen=True)
class _Ctx:
    info: Mapping[str, Any]
    filters: Mapping[str, Mapping[str, Any]]
    last: Decimal | None


def _parse(text: str | None) -> Decimal | None:
    return Decimal(text) if isinstance(text, str) and WIRE_DECIMAL.match(text) else None


def _leg(shape: LegShape, params: Mapping[str, str]) -> Leg:
    names = shape.names
    raw = {fld: params.get(wire) or None for fld, wire in names.items()}
    decimals = {fld: _parse(raw.get(fld)) for fld in DECIMALS}
    strings = {fld: raw.get(fld) for fld in ("side", "timeInForce", "trailingDelta")}
    type_ = shape.type
    if shape.type_if_sent is not None and params.get(shape.type_if_sent[0]):
        type_ = shape.type_if_sent[1]
    return Leg(shape.label, type=type_ or raw.get("type"), names=names, **strings, **decimals)


def _shape(entry: Endpoint) -> OrderShape:
    if entry.order_shape is None:
        raise ValueError(f"not an order-creating tool: {entry.name}")
    return entry.order_shape


def order_legs(entry: Endpoint, params: Mapping[str, str]) -> list[Leg]:
    """The orders `entry`'s wire params describe, leg by leg as its shape declares; a malformed decimal is None."""
    return [_leg(leg, params) for leg in _shape(entry).legs]


def _d(value: Any) -> Decimal:
    """A filter field as a Decimal; anything that is not a plain decimal counts as 0 (disabled)."""
    return _parse(str(value)) or ZERO


def _show(value: Decimal, step: Decimal = ZERO) -> str:
    """Plain digits, never an exponent; with a step, exactly the step's decimals (0.01000000 -> 2 decimals)."""
    places = max(0, -int(step.normalize().as_tuple().exponent))
    return format(value.quantize(Decimal(1).scaleb(-places)) if step > 0 else value.normalize(), "f")


def _unit(value: Decimal) -> Decimal:
    """The last decimal place `value` was written with: the grid used when a filter has no step."""
    return Decimal(1).scaleb(min(0, int(value.as_tuple().exponent)))


def _snap(value: Decimal, step: Decimal, mode: str) -> Decimal:
    """`value` on the step grid: "floor", "ceil" or "nearest" (an exact tie goes down); step 0 = no grid."""
    if step <= 0:
        return value
    whole, rest = divmod(value, step)
    up = rest > 0 and (mode == "ceil" or (mode == "nearest" and 2 * rest > step))
    return (whole + (1 if up else 0)) * step


def _v(leg: Leg, fld: str, rule: str, text: str, suggestion: str | None = None, hint: str = "") -> Violation:
    """A violation; a suggestion that Binance would not accept on the wire is dropped."""
    suggestion = suggestion if suggestion is None or WIRE_DECIMAL.match(suggestion) or suggestion == "GTC" else None
    message = f"{text}; {hint or 'nearest valid'}: {suggestion}" if suggestion is not None else text
    return Violation(leg.label, leg.name(fld), rule, message, suggestion)


def _grid(leg: Leg, fld: str, rule: str, f: Mapping[str, Any], keys: tuple[str, ...]) -> Violation | None:
    """PRICE_FILTER / LOT_SIZE / MARKET_LOT_SIZE on one value: bounds (0 = none) and the step grid (0 = none)."""
    value, (lo, hi, step) = getattr(leg, fld), (_d(f.get(k)) for k in keys)
    if value is None:
        return None
    found = [f"below {keys[0]} {_show(lo)}" if lo > 0 and value < lo else ""]
    found.append(f"above {keys[1]} {_show(hi)}" if hi > 0 and value > hi else "")
    found.append(f"not a multiple of {keys[2]} {_show(step)}" if step > 0 and value % step else "")
    if not any(found):
        return None
    allowed = [f"from {_show(lo)}" if lo > 0 else "", f"up to {_show(hi)}" if hi > 0 else ""]
    allowed.append(f"in steps of {_show(step)}" if step > 0 else "")
    problems = f"{' and '.join(p for p in found if p)} (allowed: {' '.join(p for p in allowed if p)})"
    text, smallest = f"{leg.name(fld)} {value:f} is {problems}", _snap(max(lo, step), step, "ceil")
    if rule == "PRICE_FILTER":  # nearest tick, clamped into [minPrice, maxPrice]
        best, hint = max(_snap(value, step, "nearest"), smallest), "nearest valid"
    else:  # a quantity is only ever rounded down: never suggest more than was asked
        best, hint = _snap(min(value, hi) if hi > 0 else value, step, "floor"), "rounded down to a valid value"
    best = min(best, _snap(hi, step, "floor")) if hi > 0 else best
    if best > 0 and best >= lo and (hi <= 0 or best <= hi):
        return _v(leg, fld, rule, text, _show(best, step), hint)
    return _v(leg, fld, rule, f"{text}; the smallest valid {leg.name(fld)} is {_show(smallest, step)}")


def _grids(leg: Leg, f: Mapping[str, Any], ctx: _Ctx) -> list[Violation]:
    """PRICE_FILTER on price and stopPrice; LOT_SIZE on quantity and icebergQty of every order, MARKET included
    (Binance applies it to MARKET quantities too); MARKET_LOT_SIZE on a MARKET quantity."""
    rule, keys = str(f.get("filterType")), ("minQty", "maxQty", "stepSize")
    fields = ("quantity", "icebergQty") if rule == "LOT_SIZE" else ("quantity",) if leg.type == "MARKET" else ()
    if rule == "PRICE_FILTER":
        fields, keys = ("price", "stopPrice"), ("minPrice", "maxPrice", "tickSize")
    return [v for fld in fields if (v := _grid(leg, fld, rule, f, keys))]


def _percent_price(leg: Leg, f: Mapping[str, Any], ctx: _Ctx) -> list[Violation]:
    """PERCENT_PRICE(_BY_SIDE): a limit price within [last × down, last × up] (up 0 = no upper bound)."""
    rule, price, last = str(f.get("filterType")), leg.price, ctx.last
    if last is None or price is None or leg.type not in LIMIT_PRICED or leg.side not in SIDES:
        return []
    keys = ("multiplierDown", "multiplierUp")
    if rule == "PERCENT_PRICE_BY_SIDE":
        keys = tuple(("bid" if leg.side == "BUY" else "ask") + k[0].upper() + k[1:] for k in keys)
    down, up = _d(f.get(keys[0])), _d(f.get(keys[1]))
    lo, hi = last * down, last * up
    if price >= lo and (up <= 0 or price <= hi):
        return []
    tick = _d(ctx.filters.get("PRICE_FILTER", {}).get("tickSize"))
    best = _snap(lo, tick, "ceil") if price < lo else _snap(hi, tick, "floor")
    band = f"from {_show(lo)} (last price {_show(last)} × {keys[0]} {_show(down)})"
    band += f" to {_show(hi)} (× {keys[1]} {_show(up)})" if up > 0 else ""
    text = f"{leg.name('price')} {price:f} is outside the {leg.side} price band {band}"
    ok = best > 0 and lo <= best and (up <= 0 or best <= hi)
    return [_v(leg, "price", rule, text, _show(best, tick) if ok else None)]


def _iceberg_parts(leg: Leg, f: Mapping[str, Any], ctx: _Ctx) -> list[Violation]:
    """ceil(quantity / icebergQty) <= limit; suggests the smallest icebergQty on the LOT_SIZE grid that fits."""
    limit, qty, ice = _snap(_d(f.get("limit")), Decimal(1), "floor"), leg.quantity, leg.icebergQty
    if limit <= 0 or qty is None or ice is None or _snap(qty, ice, "ceil") / ice <= limit:
        return []
    step = _d(ctx.filters.get("LOT_SIZE", {}).get("stepSize")) or _unit(qty)
    best = _snap(qty, limit * step, "ceil") / limit
    text = f"{leg.name('quantity')} {qty:f} in slices of {leg.name('icebergQty')} {ice:f} makes"
    text += f" {_show(_snap(qty, ice, 'ceil') / ice)} parts, above the ICEBERG_PARTS limit {_show(limit)}"
    return [_v(leg, "icebergQty", "ICEBERG_PARTS", text, _show(best, step), f"smallest valid {leg.name('icebergQty')}")]


def _notional_of(leg: Leg, last: Decimal | None) -> tuple[Decimal, Decimal | None, str] | None:
    """(notional, its reference price or None when it is quoteOrderQty itself, how it was computed)."""
    if leg.type == "MARKET" and leg.quoteOrderQty is not None:
        return leg.quoteOrderQty, None, f"{leg.name('quoteOrderQty')} {leg.quoteOrderQty:f}"
    ref, what = (leg.price, "price") if leg.type in LIMIT_PRICED else (leg.stopPrice, "stopPrice")
    ref, shown = (last, "last price") if leg.type == "MARKET" else (ref, leg.name(what))
    if ref is None or leg.quantity is None:
        return None
    amount = ref * leg.quantity
    return amount, ref, f"{_show(amount)} ({shown} {ref:f} × {leg.name('quantity')} {leg.quantity:f})"


def _notional(leg: Leg, f: Mapping[str, Any], ctx: _Ctx) -> list[Violation]:
    """NOTIONAL / MIN_NOTIONAL (a MARKET order only sees the bounds applied to market; 0 = no bound);
    suggests the smallest (largest) quantity on the step grid that meets the bound."""
    rule, found = str(f.get("filterType")), _notional_of(leg, ctx.last)
    keys = ("applyToMarket", "") if rule == "MIN_NOTIONAL" else ("applyMinToMarket", "applyMaxToMarket")
    lo, hi = (
        _d(f.get(bound)) if key and (leg.type != "MARKET" or str(f.get(key)).lower() == "true") else ZERO
        for bound, key in zip(("minNotional", "maxNotional"), keys, strict=True)
    )
    if found is None or not ((lo > 0 and found[0] < lo) or (hi > 0 and found[0] > hi)):
        return []
    (_, ref, how), below = found, lo > 0 and found[0] < lo
    text = f"notional {how} is {'below minNotional' if below else 'above maxNotional'} {_show(lo if below else hi)}"
    fld, step, best = "quoteOrderQty", ZERO, (lo if below else hi)
    if ref is not None:
        step = _d(ctx.filters.get("MARKET_LOT_SIZE", {}).get("stepSize")) if leg.type == "MARKET" else ZERO
        step = step or _d(ctx.filters.get("LOT_SIZE", {}).get("stepSize")) or _unit(leg.quantity or Decimal(1))
        min_qty = _snap(_d(ctx.filters.get("LOT_SIZE", {}).get("minQty")), step, "ceil")
        fld, best = "quantity", _snap(best, ref * step, "ceil" if below else "floor") / ref
        best = max(best, min_qty) if below else best
    value = best * (ref or 1)
    ok = best > 0 and value >= lo and (hi <= 0 or value <= hi)
    hint = f"{'smallest' if below else 'largest'} valid {leg.name(fld)}"
    return [_v(leg, fld, rule, text, _show(best, step) if ok else None, hint)]


CHECKS: dict[str, Callable[[Leg, Mapping[str, Any], _Ctx], list[Violation]]] = {"ICEBERG_PARTS": _iceberg_parts}
CHECKS |= dict.fromkeys(("PRICE_FILTER", "LOT_SIZE", "MARKET_LOT_SIZE"), _grids)
CHECKS |= dict.fromkeys(("PERCENT_PRICE", "PERCENT_PRICE_BY_SIDE"), _percent_price)
CHECKS |= dict.fromkeys(("NOTIONAL", "MIN_NOTIONAL"), _notional)


def _leg_type(leg: Leg, info: Mapping[str, Any]) -> list[Violation]:
    """MANDATORY side/type and ORDER_TYPE; a non-empty answer means the type-dependent checks cannot run."""
    missing = [_v(leg, f, "MANDATORY", f"{leg.name(f)} is required") for f in ("side", "type") if not getattr(leg, f)]
    if missing:
        return missing
    if leg.side not in SIDES:
        return [_v(leg, "side", "MANDATORY", f"{leg.name('side')} must be BUY or SELL, not {leg.side}")]
    allowed = info.get("orderTypes") or list(REQUIRED)
    if leg.type not in REQUIRED or leg.type not in allowed:
        text = f"{leg.name('type')}: order type {leg.type} is not allowed on {info.get('symbol', 'this symbol')}"
        return [_v(leg, "type", "ORDER_TYPE", f"{text}; allowed: {', '.join(map(str, allowed))}")]
    return []


def _leg_rules(leg: Leg, info: Mapping[str, Any]) -> list[Violation]:
    """ORDER_TYPE flags of the symbol, then MANDATORY fields for the leg's type."""
    symbol, out, kind = info.get("symbol", "this symbol"), [], leg.type or ""
    if leg.type == "MARKET" and leg.quoteOrderQty is not None and info.get("quoteOrderQtyMarketAllowed") is False:
        text = f"{symbol} does not allow MARKET orders by quoteOrderQty; send quantity instead"
        out.append(_v(leg, "quoteOrderQty", "ORDER_TYPE", text))
    if leg.icebergQty is not None and info.get("icebergAllowed") is False:
        out.append(_v(leg, "icebergQty", "ORDER_TYPE", f"{symbol} does not allow iceberg orders"))
    if leg.trailingDelta is not None and info.get("allowTrailingStop") is False:
        out.append(_v(leg, "trailingDelta", "ORDER_TYPE", f"{symbol} does not allow trailing stops"))
    for fld in REQUIRED[kind]:
        if getattr(leg, fld) is None and not (fld == "stopPrice" and leg.trailingDelta is not None):
            alt = f" (or {leg.name('trailingDelta')})" if fld == "stopPrice" and "trailingDelta" in leg.names else ""
            out.append(_v(leg, fld, "MANDATORY", f"{leg.name(fld)}{alt} is required for a {kind} order"))
    if kind == "MARKET" and (leg.quantity is None) == (leg.quoteOrderQty is None):
        text = f"a MARKET order needs exactly one of {leg.name('quantity')} or {leg.name('quoteOrderQty')}"
        out.append(_v(leg, "quantity", "MANDATORY", text))
    if leg.icebergQty is not None and leg.timeInForce not in (None, "GTC"):
        text = f"{leg.name('icebergQty')} requires {leg.name('timeInForce')} GTC, not {leg.timeInForce}"
        out.append(_v(leg, "timeInForce", "MANDATORY", text, "GTC", "use"))
    return out


def _oco_prices(limit: Leg, stop: Leg, last: Decimal | None, ref: str = "last price") -> list[Violation]:
    """SELL: limit price > reference > stop price; BUY: limit price < reference < stop price."""
    price, trigger, side = limit.price, stop.stopPrice, limit.side
    if price is None or trigger is None or side not in SIDES:
        return []
    sell, p_name, s_name = side == "SELL", limit.name("price"), stop.name("stopPrice")
    rule = f"a {side} OCO needs {p_name} {'>' if sell else '<'} {ref} {'>' if sell else '<'} {s_name}"
    word = "above" if sell else "below"
    if (price <= trigger) if sell else (price >= trigger):
        return [_v(limit, "price", "OCO_PRICES", f"{rule}, but {p_name} {price:f} is not {word} {s_name} {trigger:f}")]
    out = []
    if last is not None and ((price <= last) if sell else (price >= last)):
        text = f"{rule}, but {p_name} {price:f} is not {word} the {ref} {_show(last)}"
        out.append(_v(limit, "price", "OCO_PRICES", text))
    if last is not None and ((trigger >= last) if sell else (trigger <= last)):
        text = f"{rule}, but {s_name} {trigger:f} is not {'below' if sell else 'above'} the {ref} {_show(last)}"
        out.append(_v(stop, "stopPrice", "OCO_PRICES", text))
    return out


def _list_rules(shape: OrderShape, legs: list[Leg], ctx: _Ctx) -> list[Violation]:
    """ocoAllowed/otoAllowed, the OTO working type, OCO_PRICES (OCO and the OTOCO pending pair).

    MAX_NUM_ORDERS is left to Binance: counting the open orders would cost a signed request per order, and
    Binance enforces the limit itself (its refusal carries a hint, see errors.MESSAGE_HINTS)."""
    out, flag, symbol = [], shape.list_flag, ctx.info.get("symbol", "this symbol")
    if flag and ctx.info.get(flag) is False:
        text = f"{symbol} does not allow {'OCO' if flag == 'ocoAllowed' else 'OTO/OTOCO'} order lists ({flag} is false)"
        out.append(Violation("order", "symbol", "ORDER_TYPE", text))
    working = shape.kind in (OrderKind.OTO, OrderKind.OTOCO)  # legs[0] is the working order
    if working and legs[0].type and legs[0].type not in ("LIMIT", "LIMIT_MAKER"):
        text = f"the working order must be LIMIT or LIMIT_MAKER, not {legs[0].type}"
        out.append(_v(legs[0], "type", "ORDER_TYPE", text))
    if shape.kind is OrderKind.OCO:
        out += _oco_prices(legs[0], legs[1], ctx.last)
    if shape.kind is OrderKind.OTOCO and legs[1].type and legs[2].type and legs[1].side in SIDES:
        above, below, sell = legs[1], legs[2], legs[1].side == "SELL"
        limit, stop = (above, below) if sell else (below, above)
        if limit.type == "LIMIT_MAKER" and stop.type in STOPS:
            # The pair is placed when the working order fills, i.e. at the working price, not at today's last.
            if legs[0].price is not None:
                out += _oco_prices(limit, stop, legs[0].price, "workingPrice")
            else:
                out += _oco_prices(limit, stop, ctx.last)
        else:
            text = f"with {above.name('side')} {above.side} the pending {'above' if sell else 'below'} order must be"
            text += f" LIMIT_MAKER, the other STOP_LOSS or STOP_LOSS_LIMIT (got {above.type} above, {below.type} below)"
            out.append(_v(above, "type", "ORDER_TYPE", text))
    return out


def validate_order(
    entry: Endpoint,
    params: Mapping[str, str],
    symbol_info: Mapping[str, Any],
    last_price: Decimal | None,
) -> list[Violation]:
    """Every rule the order breaks ([] when it passes); the checks needing last_price are skipped without it."""
    legs, found = order_legs(entry, params), []
    for leg, fld in ((leg, fld) for leg in legs for fld in DECIMALS if fld in leg.names):
        text = params.get(leg.names[fld])
        if text is not None and not _parse(text):  # malformed, or zero: nothing else can be checked meaningfully
            why = f"{leg.name(fld)} {text!r} must be a plain decimal above 0, up to 20 digits each side of the point"
            found.append(_v(leg, fld, "MANDATORY", why))
    if found:
        return _unique(found)
    with localcontext() as dctx:
        dctx.prec = 200  # exact: wire values have at most 20+20 digits
        ok_last = isinstance(last_price, Decimal) and last_price.is_finite() and 0 < last_price < Decimal("1e40")
        filters = {str(f.get("filterType")): f for f in symbol_info.get("filters") or [] if isinstance(f, Mapping)}
        ctx = _Ctx(symbol_info, filters, last_price if ok_last else None)
        for leg in legs:
            basic = _leg_type(leg, symbol_info)
            found += basic or _leg_rules(leg, symbol_info)
            for f in filters.values() if not basic else ():
                found += CHECKS.get(str(f.get("filterType")), lambda *_: [])(leg, f, ctx)
        return _unique(found + _list_rules(_shape(entry), legs, ctx))


def _unique(found: list[Violation]) -> list[Violation]:
    """An OCO/OTOCO shares quantity between legs: a shared problem is reported once."""
    unique: dict[tuple[str, str, str], Violation] = {}
    for v in found:
        unique.setdefault((v.param, v.rule, v.message), v)
    return list(unique.values())


def format_violations(violations: list[Violation]) -> str:
    """A readable multi-line refusal, or "" when there is nothing to refuse."""
    if not violations:
        return ""
    lines = [f"- {v.leg}, {v.param} [{v.rule}]: {v.message}" for v in violations]
    return "\n".join(["Order refused before sending:", *lines])
