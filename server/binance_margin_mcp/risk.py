"""Margin arithmetic, pure and exact: margin level, what an order does to it, and where liquidation starts.

Definitions (Binance's margin FAQ, fact sheet §5.8): margin level = total asset value / total liabilities
(borrowed + unpaid interest), both valued at the same prices; a margin call comes at the account's
margin-call level and forced liquidation at its liquidation level (cross 3x: 1.3 and 1.1). No floats:
every amount is a Decimal. Where an input is missing the answer is None ("unknown"), never a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

ZERO = Decimal(0)


@dataclass(frozen=True)
class Holding:
    """One asset of one margin account: what it holds (free + locked) and what it owes."""

    asset: str
    total: Decimal = ZERO
    borrowed: Decimal = ZERO
    interest: Decimal = ZERO

    @property
    def liability(self) -> Decimal:
        return self.borrowed + self.interest


Holdings = Mapping[str, Holding]


def margin_level(holdings: Holdings, prices: Mapping[str, Decimal]) -> Decimal | None:
    """Total asset value / total liabilities at `prices` (value of one unit, any common currency).

    None: a price is missing, or the account owes nothing (no finite level; Binance shows 999)."""
    assets = value(holdings, prices, "total")
    debts = value(holdings, prices, "liability")
    if assets is None or debts is None or debts == 0:
        return None
    return assets / debts


def value(holdings: Holdings, prices: Mapping[str, Decimal], what: str) -> Decimal | None:
    """Sum of `what` ("total" or "liability") over the holdings, valued at `prices`; None if a price is missing."""
    total = ZERO
    for holding in holdings.values():
        amount = getattr(holding, what)
        if amount == 0:
            continue
        price = prices.get(holding.asset)
        if price is None:
            return None
        total += amount * price
    return total


def liquidation_price(holdings: Holdings, prices: Mapping[str, Decimal], base: str, level: Decimal) -> Decimal | None:
    """The price of `base` (other prices held) at which the margin level reaches `level`.

    With A0/L0 the assets/liabilities valued without `base`, and a/l what is held/owed of `base`:
    (A0 + a·P) / (L0 + l·P) = level  =>  P = (level·L0 − A0) / (a − level·l).
    A long position (a > level·l) is liquidated when P falls to it, a short when P rises to it.
    None when no positive price reaches the level (the account cannot be liquidated by `base` alone)
    or a price is missing."""
    others = {name: h for name, h in holdings.items() if name != base}
    a0, l0 = value(others, prices, "total"), value(others, prices, "liability")
    if a0 is None or l0 is None:
        return None
    held = holdings.get(base, Holding(base))
    slope = held.total - level * held.liability
    if slope == 0:
        return None
    price = (level * l0 - a0) / slope
    return price if price > 0 else None


@dataclass(frozen=True)
class OrderEffect:
    """What a fully filled order does to the account: the holdings after it and what it borrows."""

    holdings: dict[str, Holding]
    borrow_asset: str | None
    borrow_amount: Decimal
    fee: Decimal  # in the quote asset


def apply_fill(
    holdings: Holdings,
    *,
    side: str,
    base: str,
    quote: str,
    quantity: Decimal,
    price: Decimal,
    fee_rate: Decimal,
    borrows: bool,
) -> OrderEffect:
    """The account after `quantity` of base is bought or sold at `price` (fee charged in the quote asset).

    A borrowing order (MARGIN_BUY / AUTO_BORROW_REPAY) borrows whatever the free amount does not cover:
    the quote asset for a BUY, the base asset for a SELL. A non-borrowing order is assumed to be covered.
    (Binance takes the commission from the asset received; valued at `price` the difference is within the
    fee itself, which is why the fee is reported separately.)"""
    after = dict(holdings)
    base_h = after.get(base, Holding(base))
    quote_h = after.get(quote, Holding(quote))
    notional = quantity * price
    fee = notional * fee_rate
    borrow_asset, borrow = None, ZERO
    if side == "BUY":
        need = notional + fee
        if borrows and need > quote_h.total:
            borrow_asset, borrow = quote, need - quote_h.total
            quote_h = replace(quote_h, total=quote_h.total + borrow, borrowed=quote_h.borrowed + borrow)
        quote_h = replace(quote_h, total=quote_h.total - need)
        base_h = replace(base_h, total=base_h.total + quantity)
    else:
        if borrows and quantity > base_h.total:
            borrow_asset, borrow = base, quantity - base_h.total
            base_h = replace(base_h, total=base_h.total + borrow, borrowed=base_h.borrowed + borrow)
        base_h = replace(base_h, total=base_h.total - quantity)
        quote_h = replace(quote_h, total=quote_h.total + notional - fee)
    after[base], after[quote] = base_h, quote_h
    return OrderEffect(after, borrow_asset, borrow, fee)


def hourly_interest(amount: Decimal, daily_rate: Decimal) -> Decimal:
    """One hour of interest on `amount` at a daily rate (Binance charges daily rate / 24 each hour)."""
    return amount * daily_rate / 24
