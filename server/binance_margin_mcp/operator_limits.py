"""Per-account operator limits from TOOLS.md, enforced in the server before any confirmation is asked.

- Trading: disabled                  no transaction on this account, except those that can only lower risk
- Allowed Symbols: BTCUSDT, ETHUSDT  transactions only on these pairs, except those that can only lower risk
- Max Order Notional: 500 USDT       every new order at its worst case, leg by leg and all legs that can fill
- Max Borrow: BTC 0.05, USDT 1000    each explicit borrow at most this much of that asset

Worst case. A leg is worth quantity x the highest of its price, its stop price and the symbol's last price (a
LIMIT SELL far below the market fills at the market; a stop-limit priced below its stop fills near the stop), or
its quoteOrderQty as it is; then converted into the limit's asset. No last price: refused, never skipped. Each leg
must be within the limit, and so must the legs that can all fill: a single order its leg; OTO working + pending;
OCO the larger leg (the fill of one cancels the other); OTOCO working + the larger of the pending pair.

Never blocked by Trading / Allowed Symbols (the catalog declares it per endpoint, `Endpoint.reduces_risk`):
cancels (nothing can fill or be borrowed because of one), repayments (borrow-repay with type REPAY, liquidation
loan repay), and an order that is a pure close: sideEffectType AUTO_REPAY (so it cannot borrow), one leg that
executes at once (MARKET by quantity, or LIMIT IOC/FOK: a resting order could fill after the debt is gone), and,
from the account's balances read just before (a failed read refuses), a BUY of at most the net debt in the base
asset (borrowed + interest - free - locked), or a SELL of at most the free base beyond its debt (free - borrowed
- interest) while the quote asset is owed. A small liability exchange is not exempt: it turns small debts into a
debt in another asset at Binance's rate; it does not pay anything back. Max Order Notional and Max Borrow apply
to risk-reducing requests as to any other (a large close is sent in parts).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from binance_margin_mcp.catalog.model import Endpoint, OrderShape
from binance_margin_mcp.errors import McpToolError
from binance_margin_mcp.validation import Leg

_CODE = re.compile(r"^[A-Z0-9]{2,20}$")
_AMOUNT = re.compile(r"^[0-9]{1,20}(\.[0-9]{1,20})?$")
IMMEDIATE = ("IOC", "FOK")  # a LIMIT order with these never rests on the book


class LimitRefused(McpToolError):
    """Refused by an operator limit in TOOLS.md: nothing was sent and nobody was asked to confirm."""

    status = "refused_by_operator_limit"

    def __init__(self, message: str, limit: str) -> None:
        super().__init__(message)
        self.limit = limit

    def payload(self) -> dict[str, object]:
        return {**super().payload(), "limit": self.limit}


@dataclass(frozen=True)
class AccountLimits:
    trading_enabled: bool = True
    allowed_symbols: frozenset[str] | None = None
    max_order_notional: tuple[Decimal, str] | None = None  # (amount, asset)
    max_borrow: dict[str, Decimal] = field(default_factory=dict)


def _amount(text: str, what: str) -> Decimal:
    if not _AMOUNT.match(text):
        raise ValueError(f"{what}: {text!r} is not a plain decimal amount")
    return Decimal(text)


def parse_limits(raw: Mapping[str, str]) -> AccountLimits:
    """Read the raw `- Field: value` limits; a malformed one raises ValueError naming it."""
    trading = raw.get("Trading", "enabled").strip().lower()
    if trading not in ("enabled", "disabled"):
        raise ValueError("Trading must be 'enabled' or 'disabled'")
    symbols = None
    if "Allowed Symbols" in raw:
        symbols = frozenset(s.strip().upper() for s in raw["Allowed Symbols"].split(",") if s.strip())
        if not symbols or not all(_CODE.match(s) for s in symbols):
            raise ValueError("Allowed Symbols must be a comma-separated list like BTCUSDT, ETHUSDT")
    notional = None
    if "Max Order Notional" in raw:
        parts = raw["Max Order Notional"].split()
        if len(parts) != 2 or not _CODE.match(parts[1].upper()):
            raise ValueError("Max Order Notional must look like '500 USDT'")
        notional = (_amount(parts[0], "Max Order Notional"), parts[1].upper())
    borrow: dict[str, Decimal] = {}
    for item in filter(None, (p.strip() for p in raw.get("Max Borrow", "").split(","))):
        parts = item.split()
        if len(parts) != 2 or not _CODE.match(parts[0].upper()):
            raise ValueError("Max Borrow must look like 'BTC 0.05, USDT 1000'")
        borrow[parts[0].upper()] = _amount(parts[1], "Max Borrow")
    return AccountLimits(trading == "enabled", symbols, notional, borrow)


def _hint(account: str, field_name: str) -> str:
    return f"An operator can change '- {field_name}:' under '### {account}' in TOOLS.md."


def _show(value: Decimal) -> str:
    """Plain digits, at most 8 decimals, no trailing zeros and never an exponent."""
    return format(value.quantize(Decimal("0.00000001")).normalize(), "f")


_STILL_ALLOWED = (
    "Cancels, repayments and orders that only close a position (sideEffectType AUTO_REPAY, MARKET or LIMIT IOC/FOK, "
    "no larger than the debt or holding they close) are still allowed"
)


def blocking_refusal(
    account: str, limits: AccountLimits, params: Mapping[str, str], why_not: str = ""
) -> LimitRefused | None:
    """The Trading / Allowed Symbols refusal of a request that is not risk-reducing (`why_not` says why not)."""
    note = f"{_STILL_ALLOWED}; this request is not one of them: {why_not}." if why_not else f"{_STILL_ALLOWED}."
    if not limits.trading_enabled:
        text = f"Not sent: trading is disabled for account '{account}'. {note} "
        return LimitRefused(text + _hint(account, "Trading"), "Trading")
    symbol = params.get("symbol")
    if limits.allowed_symbols is not None and symbol is not None and symbol not in limits.allowed_symbols:
        allowed = ", ".join(sorted(limits.allowed_symbols))
        text = f"Not sent: {symbol} is not among the symbols allowed for account '{account}' ({allowed}). {note} "
        return LimitRefused(text + _hint(account, "Allowed Symbols"), "Allowed Symbols")
    return None


def check_borrow(account: str, limits: AccountLimits, entry: Endpoint, params: Mapping[str, str]) -> None:
    """Max Borrow on an explicit borrow (a MARGIN_BUY order's loan has no amount of its own: its notional counts)."""
    loan = entry.loan
    if loan is None or params.get(loan.direction) != "BORROW":
        return
    asset = params[loan.asset]
    cap = limits.max_borrow.get(asset)
    if cap is not None and Decimal(params[loan.amount]) > cap:
        raise LimitRefused(
            f"Not sent: borrowing {params[loan.amount]} {asset} exceeds the limit of {cap} "
            f"{asset} per borrow for account '{account}'. " + _hint(account, "Max Borrow"),
            "Max Borrow",
        )


def worst_case(leg: Leg, last: Decimal | None) -> tuple[Decimal, str] | None:
    """(the most the leg can be worth in its quote asset, how), or None when it needs a last price it lacks."""
    if leg.quoteOrderQty is not None:
        return leg.quoteOrderQty, f"{leg.name('quoteOrderQty')} {leg.quoteOrderQty:f}"
    if last is None or not last.is_finite() or last <= 0 or leg.quantity is None:
        return None
    top = max(p for p in (leg.price, leg.stopPrice, last) if p is not None)
    how = f"{leg.name('quantity')} {leg.quantity:f} x {_show(top)}, the highest of its price, stop price and the"
    return leg.quantity * top, f"{how} last price {_show(last)}"


def check_notional(
    account: str, limits: AccountLimits, shape: OrderShape, legs: list[Leg], last: Decimal | None, rate: Decimal
) -> None:
    """Each leg, and the legs that can all fill, within Max Order Notional (`rate`: quote asset -> limit asset)."""
    if limits.max_order_notional is None:
        return
    cap, asset = limits.max_order_notional
    hint = _hint(account, "Max Order Notional")
    values = []
    for leg in legs:
        found = worst_case(leg, last)
        if found is None:
            raise LimitRefused(
                "Not sent: the last price of this order's symbol could not be read, so its worst case cannot be "
                f"valued and the Max Order Notional limit cannot be checked (a limit is never skipped). {hint}",
                "Max Order Notional",
            )
        value, how = found[0] * rate, found[1]
        if value > cap:
            raise LimitRefused(
                f"Not sent: the {leg.label} can be worth up to {_show(value)} {asset} ({how}), above the {cap} "
                f"{asset} limit per order for account '{account}'. {hint}",
                "Max Order Notional",
            )
        values.append(value)
    groups = shape.executable_together()
    total = sum((max(values[i] for i in group) for group in groups), Decimal(0))
    if len(groups) > 1 and total > cap:
        parts = [
            legs[g[0]].label if len(g) == 1 else "the larger of " + " and ".join(legs[i].label for i in g)
            for g in groups
        ]
        raise LimitRefused(
            f"Not sent: the orders of this list that can all fill ({' + '.join(parts)}) can be worth up to "
            f"{_show(total)} {asset} together, above the {cap} {asset} limit per order for account '{account}'. "
            + hint,
            "Max Order Notional",
        )


@dataclass(frozen=True)
class Holding:
    """One asset of a margin account, as the account endpoints list it."""

    asset: str
    free: Decimal
    locked: Decimal
    borrowed: Decimal
    interest: Decimal

    @classmethod
    def read(cls, row: Any) -> Holding | None:
        """From a userAssets / isolated baseAsset-quoteAsset row; None when it is missing or malformed."""
        try:
            numbers = [Decimal(str(row[k])) for k in ("free", "locked", "borrowed", "interest")]
            if not all(n.is_finite() and n >= 0 for n in numbers):
                return None
            return cls(str(row["asset"]), *numbers)
        except (KeyError, TypeError, InvalidOperation):
            return None


def closing_problem(legs: list[Leg], base: Holding | None, quote: Holding | None) -> str | None:
    """None when an AUTO_REPAY order only closes a position (module docstring), else why it does not."""
    if len(legs) != 1:
        return "an order list is never treated as a pure close"
    leg = legs[0]
    at_once = leg.type == "MARKET" and leg.quoteOrderQty is None
    if not (at_once or (leg.type == "LIMIT" and leg.timeInForce in IMMEDIATE)) or leg.quantity is None:
        return "only a MARKET order by quantity or a LIMIT order with timeInForce IOC or FOK can be a pure close"
    if base is None or quote is None:
        return "the account's balances of the symbol's assets could not be read"
    if leg.side == "BUY":
        short = base.borrowed + base.interest - base.free - base.locked
        if leg.quantity > short:
            owed = _show(max(short, Decimal(0)))
            return f"it buys {leg.quantity:f} {base.asset}, more than the {owed} {base.asset} owed beyond holdings"
        return None
    if leg.side != "SELL":
        return "its side is neither BUY nor SELL"
    if quote.borrowed + quote.interest <= 0:
        return f"the account owes no {quote.asset} for the proceeds to repay"
    spare = base.free - base.borrowed - base.interest
    if leg.quantity > spare:
        held = _show(max(spare, Decimal(0)))
        return f"it sells {leg.quantity:f} {base.asset}, more than the {held} {base.asset} held free beyond debt"
    return None


def parse_or_refuse(account: str, raw: Mapping[str, str]) -> AccountLimits:
    try:
        return parse_limits(raw)
    except (ValueError, InvalidOperation) as error:
        # A limit we cannot read must not silently become "no limit".
        raise LimitRefused(
            f"Not sent: an operator limit for '{account}' is malformed in TOOLS.md: {error}.", "TOOLS.md"
        ) from None
