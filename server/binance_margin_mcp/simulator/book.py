"""An order book for one pair: what a marketable order walks through, level by level.

The price source supplies it: the live depth when trading on Binance's public market data, or a
synthetic book around the simulated price otherwise (`synthetic_book`). The walking helpers are pure:
they say which (price, quantity) slices an order takes, the caller moves the money.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import ROUND_UP, Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .market import SymbolSpec

Level = tuple[Decimal, Decimal]  # (price, quantity)

D = Decimal
LEVELS = 20
SPREAD_TICKS = 1  # best bid and best ask sit this many ticks either side of the last price
LEVEL_GAP = D("0.0001")  # 1 basis point of the price between levels (at least one tick)
FIRST_LEVEL_NOTIONAL = D(5000)  # quote value of the best level (USDT-equivalent, see fills.book_for)
GROWTH = D("0.5")  # level i holds (1 + GROWTH x i) times the first level's size ...
JITTER = D("0.4")  # ... times a deterministic factor in [0.8, 1.2)


@dataclass(frozen=True)
class Book:
    """Bids best (highest) first, asks best (lowest) first; quantities in the base asset."""

    bids: tuple[Level, ...]
    asks: tuple[Level, ...]

    def side_for(self, taker_side: str) -> tuple[Level, ...]:
        """The levels a taker order consumes: a BUY takes the asks, a SELL the bids."""
        return self.asks if taker_side == "BUY" else self.bids

    def best(self, taker_side: str) -> Decimal | None:
        levels = self.side_for(taker_side)
        return levels[0][0] if levels else None


def _ceil_to(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_UP) * step


def _floor_to(value: Decimal, step: Decimal) -> Decimal:
    return (value // step) * step


def _jitter(symbol: str, price: Decimal, side: str, i: int) -> Decimal:
    digest = hashlib.sha256(f"{symbol}:{price}:{side}:{i}".encode()).digest()
    return D("0.8") + JITTER * D(int.from_bytes(digest[:4], "big")) / D(2**32)


def synthetic_book(
    spec: SymbolSpec, price: Decimal, *, levels: int = LEVELS, level_notional: Decimal = FIRST_LEVEL_NOTIONAL
) -> Book:
    """A book around `price`: a spread of 2 x SPREAD_TICKS ticks, levels 1 bp apart whose sizes grow
    with the distance (deeper liquidity is larger, as on real books). A pure function of its arguments."""
    tick, step = spec.tick_size, spec.step_size
    gap = max(tick, _floor_to(price * LEVEL_GAP, tick))
    best_ask = _ceil_to(price, tick) + tick * SPREAD_TICKS
    best_bid = _floor_to(price, tick) - tick * SPREAD_TICKS
    sides: dict[str, list[Level]] = {"ask": [], "bid": []}
    for i in range(levels):
        for side, level_price in (("ask", best_ask + gap * i), ("bid", best_bid - gap * i)):
            if level_price <= 0:
                continue
            size = level_notional * (1 + GROWTH * i) * _jitter(spec.symbol, price, side, i) / level_price
            sides[side].append((level_price, max(_floor_to(size, step), step)))
    return Book(bids=tuple(sides["bid"]), asks=tuple(sides["ask"]))


def crosses(taker_side: str, level_price: Decimal, limit: Decimal | None) -> bool:
    """Whether a level is within a taker's limit price (no limit: every level)."""
    if limit is None:
        return True
    return level_price <= limit if taker_side == "BUY" else level_price >= limit


def take(book: Book, taker_side: str, qty: Decimal, limit: Decimal | None = None) -> list[Level]:
    """The slices a taker of `qty` gets, best level first, stopping at its limit price."""
    slices: list[Level] = []
    left = qty
    for level_price, level_qty in book.side_for(taker_side):
        if left <= 0 or not crosses(taker_side, level_price, limit):
            break
        part = min(left, level_qty)
        slices.append((level_price, part))
        left -= part
    return slices


def take_quote(book: Book, taker_side: str, quote: Decimal, step: Decimal) -> list[Level]:
    """Slices for a quoteOrderQty order: spend (BUY) or receive (SELL) up to `quote`, in lot steps."""
    slices: list[Level] = []
    left = quote
    for level_price, level_qty in book.side_for(taker_side):
        part = min(level_qty, _floor_to(left / level_price, step))
        if part <= 0:
            break
        slices.append((level_price, part))
        left -= part * level_price
    return slices


def available(book: Book, taker_side: str, limit: Decimal | None) -> Decimal:
    """Quantity a taker could get within its limit price."""
    return sum((q for p, q in book.side_for(taker_side) if crosses(taker_side, p, limit)), D(0))


def cost(slices: list[Level]) -> Decimal:
    return sum((p * q for p, q in slices), D(0))
