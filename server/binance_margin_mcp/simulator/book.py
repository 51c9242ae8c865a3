"""An order book for one pair: what a marketable order walks through, level by level.

The price source supplies it: the live depth when trading on Binance's public market data, or a
synthetic book around the simulated price otherwise (`synthetic_book`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

Level = tuple[Decimal, Decimal]  # (price, quantity)


@dataclass(frozen=True)
class Book:
    """Bids best (highest) first, asks best (lowest) first; quantities in the base asset."""

    bids: tuple[Level, ...]
    asks: tuple[Level, ...]

    def side_for(self, taker_side: str) -> tuple[Level, ...]:
        """The levels a taker order consumes: a BUY takes the asks, a SELL the bids."""
        return self.asks if taker_side == "BUY" else self.bids
