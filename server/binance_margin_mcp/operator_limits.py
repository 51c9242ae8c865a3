"""Per-account operator limits from TOOLS.md, enforced in the server before any confirmation is asked.

- Trading: disabled                  no transaction at all on this account
- Allowed Symbols: BTCUSDT, ETHUSDT  transactions only on these pairs
- Max Order Notional: 500 USDT       each new order (every leg) at most this value
- Max Borrow: BTC 0.05, USDT 1000    each explicit borrow at most this much of that asset
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from binance_margin_mcp.catalog.model import Endpoint
from binance_margin_mcp.errors import McpToolError

_CODE = re.compile(r"^[A-Z0-9]{2,20}$")
_AMOUNT = re.compile(r"^[0-9]{1,20}(\.[0-9]{1,20})?$")


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


def check_static(account: str, limits: AccountLimits, entry: Endpoint, params: Mapping[str, str]) -> None:
    """The limits that need no market data: trading switch, allowed symbols, borrow caps."""
    if not limits.trading_enabled:
        raise LimitRefused(
            f"Not sent: trading is disabled for account '{account}'. {_hint(account, 'Trading')}", "Trading"
        )
    symbol = params.get("symbol")
    if limits.allowed_symbols is not None and symbol is not None and symbol not in limits.allowed_symbols:
        allowed = ", ".join(sorted(limits.allowed_symbols))
        raise LimitRefused(
            f"Not sent: {symbol} is not among the symbols allowed for account '{account}' ({allowed}). "
            + _hint(account, "Allowed Symbols"),
            "Allowed Symbols",
        )
    loan = entry.loan  # only an explicit borrow counts: a MARGIN_BUY order's loan has no amount to check
    if loan is not None and params.get(loan.direction) == "BORROW":
        asset = params[loan.asset]
        cap = limits.max_borrow.get(asset)
        if cap is not None and Decimal(params[loan.amount]) > cap:
            raise LimitRefused(
                f"Not sent: borrowing {params[loan.amount]} {asset} exceeds the limit of {cap} "
                f"{asset} per borrow for account '{account}'. " + _hint(account, "Max Borrow"),
                "Max Borrow",
            )


def check_notional(account: str, limits: AccountLimits, leg_values: list[tuple[str, Decimal]]) -> None:
    """Each leg's value (already converted into the limit's asset) must stay within Max Order Notional."""
    if limits.max_order_notional is None:
        return
    cap, asset = limits.max_order_notional
    for leg, value in leg_values:
        if value > cap:
            raise LimitRefused(
                f"Not sent: the {leg} is worth about {value.quantize(Decimal('0.01'))} {asset}, above the "
                f"{cap} {asset} limit per order for account '{account}'. " + _hint(account, "Max Order Notional"),
                "Max Order Notional",
            )


def parse_or_refuse(account: str, raw: Mapping[str, str]) -> AccountLimits:
    try:
        return parse_limits(raw)
    except (ValueError, InvalidOperation) as error:
        # A limit we cannot read must not silently become "no limit".
        raise LimitRefused(
            f"Not sent: an operator limit for '{account}' is malformed in TOOLS.md: {error}.", "TOOLS.md"
        ) from None
