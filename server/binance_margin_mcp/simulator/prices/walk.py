"""A seeded random walk: one geometric step per second for every asset against USDT, cross pairs derived.

Each step is a pure function of (seed, asset, second): N(0, 1) draws from a generator seeded with
`seed:asset:minute`, scaled by the asset's annualised volatility times sqrt(1 s / 1 year). Pairs not
quoted in USDT (ETHBTC, BNBBTC) are the ratio of their legs' USDT prices, so they stay consistent.
Replaying the same clock from the same prices gives the same prices.
"""

from __future__ import annotations

import math
import random
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from . import Paths

if TYPE_CHECKING:
    from ..book import Book
    from ..market import Market

SECONDS_PER_YEAR = 365 * 86400
MAX_GAP_S = 3600  # after a longer pause (a restart, a clock jump) the walk covers only the last hour


class WalkSource:
    """The walk, remembering only the second it last reached."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.name = f"walk:{seed}"
        self._last_s: int | None = None
        self._chunks: dict[tuple[str, int], list[float]] = {}
        self.last_update_ms: int | None = None

    def attach(self, market: Market) -> None:
        pass

    def book(self, symbol: str) -> Book | None:
        return None

    def status(self) -> dict[str, Any]:
        return {"seed": self.seed, "lastUpdate": self.last_update_ms}

    def close(self) -> None:
        pass

    def draw(self, asset: str, second: int) -> float:
        """The standard normal draw of `asset` at `second` (a pure function of seed, asset and second)."""
        minute, index = divmod(second, 60)
        chunk = self._chunks.get((asset, minute))
        if chunk is None:
            if len(self._chunks) > 4096:
                self._chunks.clear()
            rnd = random.Random(f"{self.seed}:{asset}:{minute}")
            chunk = self._chunks[(asset, minute)] = [rnd.gauss(0.0, 1.0) for _ in range(60)]
        return chunk[index]

    def advance(self, market: Market, now_ms: int, watched: set[str]) -> Paths:
        now_s = now_ms // 1000
        if self._last_s is None or now_s <= self._last_s:
            self._last_s = now_s if self._last_s is None else max(self._last_s, now_s)
            return {}
        seconds = range(max(self._last_s, now_s - MAX_GAP_S) + 1, now_s + 1)
        self._last_s, self.last_update_ms = now_s, now_ms
        usdt = {"USDT": [1.0] * len(seconds)}
        for spec in market.symbols.values():
            if spec.quote == "USDT":
                usdt[spec.base] = self._path(market, spec.base, float(market.prices[spec.symbol]), seconds)
        paths: Paths = {}
        for spec in market.symbols.values():
            base, quote = usdt.get(spec.base), usdt.get(spec.quote)
            if base is None or quote is None:
                continue
            paths[spec.symbol] = _extremes([b / q for b, q in zip(base, quote, strict=True)])
        return paths

    def _path(self, market: Market, asset: str, start: float, seconds: range) -> list[float]:
        vol = market.assets[asset].annual_vol if asset in market.assets else 0.8
        sigma = vol / math.sqrt(SECONDS_PER_YEAR)
        log_price, out = math.log(start), []
        for second in seconds:
            log_price += sigma * self.draw(asset, second) - sigma * sigma / 2
            out.append(math.exp(log_price))
        return out


def _extremes(path: list[float]) -> list[Decimal]:
    """The path reduced to what triggers need: its low and high in the order they came, then the close."""
    lo = min(range(len(path)), key=path.__getitem__)
    hi = max(range(len(path)), key=path.__getitem__)
    points = [path[i] for i in sorted({lo, hi}) if i != len(path) - 1] + [path[-1]]
    return [Decimal(repr(round(p, 12))) for p in points]
