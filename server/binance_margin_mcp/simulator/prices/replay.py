"""Replay a 1-minute kline CSV (Binance's column order) as the paper market's prices, at a chosen speed.

Columns: open time (ms), open, high, low, close, volume, close time, quote volume, trades, taker buy base,
taker buy quote, ignore; a header line is skipped. The file's name starts with its pair (BTCUSDT-1m-....csv).
Simulated time maps to file time as `first open + elapsed x speed`; each minute the replay passes adds its
open, its low and high (in the order a candle that closed up or down makes likely) and its close to the
price path, so stops between two updates fire. At the end it starts over. Pairs quoted in the replayed
one's base follow it (ETHBTC = ETHUSDT / BTCUSDT); every other pair holds its price.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import Paths

if TYPE_CHECKING:
    from ..book import Book
    from ..market import Market

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "BTCUSDT-1m-sample.csv"
MINUTE_MS = 60_000

Candle = tuple[int, Decimal, Decimal, Decimal, Decimal]  # open time, open, high, low, close


def read_klines(path: Path) -> list[Candle]:
    """The file's candles, oldest first; ValueError naming the line when one is malformed."""
    candles = []
    with path.open(newline="") as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            if not row or (number == 1 and not row[0].strip().isdigit()):
                continue
            try:
                candles.append((int(row[0]), *(Decimal(row[i]) for i in range(1, 5))))  # type: ignore[arg-type]
            except (IndexError, ValueError, ArithmeticError):
                raise ValueError(
                    f"{path.name} line {number}: not a kline row (open time, open, high, low, close, ...)"
                ) from None
    if not candles:
        raise ValueError(f"{path.name}: no kline rows")
    return sorted(candles)


class ReplaySource:
    """One pair's recorded minutes, played back against the simulated clock."""

    def __init__(self, path: Path, *, speed: float = 1.0, symbol: str | None = None) -> None:
        self.path, self.speed = path, speed
        self.symbol = symbol or path.name.split("-")[0].split(".")[0].upper()
        self.candles = read_klines(path)
        self.name = f"replay:{path.name}@{speed:g}"
        self._start_ms: int | None = None
        self._done = -1  # index (over the looping sequence) of the last candle whose path was handed out
        self.last_update_ms: int | None = None

    def attach(self, market: Market) -> None:
        if self.symbol not in market.symbols:
            raise ValueError(f"replay file {self.path.name}: {self.symbol} is not a pair of this market")
        market.prices[self.symbol] = self.candles[0][1]

    def book(self, symbol: str) -> Book | None:
        return None

    def status(self) -> dict[str, Any]:
        return {"lastUpdate": self.last_update_ms, "symbol": self.symbol, "minutes": len(self.candles)}

    def close(self) -> None:
        pass

    def advance(self, market: Market, now_ms: int, watched: set[str]) -> Paths:
        if self._start_ms is None:
            self._start_ms = now_ms
        index = int((now_ms - self._start_ms) * self.speed) // MINUTE_MS  # the candle playing now
        if index <= self._done:
            return {}
        first = max(self._done + 1, index - len(self.candles) + 1)  # a long pause skips whole loops
        path: list[Decimal] = []
        for i in range(first, index + 1):
            _, o, h, low, c = self.candles[i % len(self.candles)]
            path += [o] if i == index else ([o, low, h, c] if c >= o else [o, h, low, c])
        self._done, self.last_update_ms = index - 1, now_ms
        return self._with_crosses(market, path)

    def _with_crosses(self, market: Market, path: list[Decimal]) -> Paths:
        """The replayed pair's path, and the paths of the pairs quoted in its base asset (ETHBTC from BTCUSDT)."""
        paths: Paths = {self.symbol: path}
        spec = market.symbols[self.symbol]
        if spec.quote != "USDT":
            return paths
        for other in market.symbols.values():
            leg = f"{other.base}USDT"
            if other.quote == spec.base and leg in market.prices:
                paths[other.symbol] = [market.prices[leg] / p for p in path]
        return paths
