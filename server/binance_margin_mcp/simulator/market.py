"""The simulated market: assets, margin pairs with their filters, and the prices the price source feeds it.

Prices move by `Exchange.set_price` and by the Market's `source` (simulator/prices): static (never by
itself), a seeded walk, a replayed kline file, or Binance's public market data. `advance(now)` applies
what the source brought since the last call, in rounds, so the exchange can match orders after each
round and stops crossed between two updates still fire. `Market(walk_seed=42)` is the walk with seed 42.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import ROUND_HALF_EVEN, Decimal

from .book import Book
from .pairs import DEFAULT_ASSETS, DEFAULT_SYMBOLS
from .prices import PriceSource, StaticSource
from .specs import _TIER_RATIOS, AssetSpec, SymbolSpec
from .util import ONE, bad_asset, bad_symbol

__all__ = ["DEFAULT_ASSETS", "DEFAULT_SYMBOLS", "_TIER_RATIOS", "AssetSpec", "Market", "SymbolSpec"]

# half the bid/ask spread, as a share of the price, around the last price when the source has no book
_HALF_SPREAD = {"BTC": Decimal("0.00001"), "ETH": Decimal("0.00002"), "USDC": Decimal(0)}
_ALT_HALF_SPREAD = Decimal("0.0001")


class Market:
    """Pairs, assets and live prices; valuation of any asset in USDT or BTC."""

    def __init__(
        self,
        symbols: Iterable[SymbolSpec] = DEFAULT_SYMBOLS,
        assets: Iterable[AssetSpec] = DEFAULT_ASSETS,
        *,
        source: PriceSource | None = None,
        walk_seed: int | None = None,
        delist_schedule: tuple[dict, ...] = (),
        list_schedule: tuple[dict, ...] = (),
    ) -> None:
        self.replace(symbols, assets)
        self.delist_schedule = delist_schedule
        self.list_schedule = list_schedule
        if source is None and walk_seed is not None:
            from .prices.walk import WalkSource

            source = WalkSource(walk_seed)
        self.source: PriceSource = source or StaticSource()
        self.source.attach(self)

    def replace(self, symbols: Iterable[SymbolSpec], assets: Iterable[AssetSpec]) -> None:
        """Install a new set of pairs and assets (a live source's exchangeInfo); known prices are kept."""
        new_symbols = {s.symbol: s for s in symbols}
        new_assets = {a.name: a for a in assets}
        for spec in new_symbols.values():
            if spec.base not in new_assets or spec.quote not in new_assets:
                raise ValueError(f"{spec.symbol}: unknown asset")
        old = getattr(self, "prices", {})
        self.symbols, self.assets = new_symbols, new_assets
        self.prices = {s: old.get(s, spec.price) for s, spec in new_symbols.items()}

    @property
    def walk_seed(self) -> int | None:
        return getattr(self.source, "seed", None)

    def spec(self, symbol: str) -> SymbolSpec:
        spec = self.symbols.get(symbol)
        if spec is None:
            raise bad_symbol()
        return spec

    def asset(self, name: str) -> AssetSpec:
        spec = self.assets.get(name)
        if spec is None:
            raise bad_asset()
        return spec

    def price(self, symbol: str) -> Decimal:
        return self.prices[self.spec(symbol).symbol]

    def set_price(self, symbol: str, price: Decimal) -> None:
        self.spec(symbol)
        if price <= 0:
            raise ValueError("price must be positive")
        self.prices[symbol] = price

    def quote(self, symbol: str) -> tuple[Decimal, Decimal]:
        """(bid, ask): the book's best levels, else a spread around the last price, on the tick grid."""
        spec, last = self.spec(symbol), self.price(symbol)
        book = self.depth(symbol)
        if book is not None and book.bids and book.asks:
            return book.bids[0][0], book.asks[0][0]
        half = max(_snap(last * _HALF_SPREAD.get(spec.base, _ALT_HALF_SPREAD), spec.tick_size), spec.tick_size)
        return max(last - half, spec.tick_size), last + half

    def usdt_price(self, asset: str) -> Decimal:
        """Value of one unit in USDT, through a USDT pair or a BTC pair."""
        if asset == "USDT":
            return ONE
        if f"{asset}USDT" in self.symbols:
            return self.prices[f"{asset}USDT"]
        if f"USDT{asset}" in self.symbols:
            return ONE / self.prices[f"USDT{asset}"]
        if f"{asset}BTC" in self.symbols and asset != "BTC":
            return self.prices[f"{asset}BTC"] * self.usdt_price("BTC")
        raise ValueError(f"no USDT valuation for {asset}")

    def btc_price(self, asset: str) -> Decimal:
        return self.usdt_price(asset) / self.usdt_price("BTC")

    def depth(self, symbol: str) -> Book | None:
        """The pair's book from the price source when it has one (live depth); None: the fills build a
        synthetic book around the price (see book.synthetic_book)."""
        return self.source.book(symbol)

    def pair(self, a: str, b: str) -> SymbolSpec | None:
        """The pair trading a against b, either way round."""
        return self.symbols.get(a + b) or self.symbols.get(b + a)

    def advance(self, now_ms: int, watched: set[str] | frozenset[str] = frozenset()) -> Iterator[list[str]]:
        """Apply the source's price paths up to `now_ms` in rounds; yields each round's moved symbols after
        setting their prices (the caller matches orders before asking for the next round).

        `watched`: pairs with open orders, which a live source follows more closely (klines between polls)."""
        paths = self.source.advance(self, now_ms, set(watched))
        rounds = max((len(path) for path in paths.values()), default=0)
        for i in range(rounds):
            moved = []
            for symbol, path in sorted(paths.items()):
                spec = self.symbols.get(symbol)
                if spec is None or i >= len(path) or not path[i] > 0:
                    continue
                price = max(_snap(path[i], spec.tick_size), spec.tick_size)
                if price != self.prices[symbol]:
                    self.prices[symbol] = price
                    moved.append(symbol)
            if moved:
                yield moved


def _snap(value: Decimal, step: Decimal) -> Decimal:
    """The multiple of `step` nearest to `value`."""
    return (value / step).to_integral_value(rounding=ROUND_HALF_EVEN) * step
