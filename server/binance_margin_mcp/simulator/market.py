"""The simulated market: assets, margin pairs with their filters, and the price feed.

Prices are fixed unless a test moves them (`Exchange.set_price`) or a seeded random walk is
switched on (`Market(walk_seed=42)`), which steps every pair once per simulated minute. The walk is
a pure function of (seed, symbol, minute), so replaying the same clock gives the same prices.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from .book import Book
from .util import ONE, bad_asset, bad_symbol, floor_to

D = Decimal
_0, _1, _5, _FIFTH = D(0), D(1), D(5), D("0.2")
_100, _MILLION = D(100), D(1000000)
_SIGMA = D("0.001")


@dataclass(frozen=True)
class AssetSpec:
    """One margin asset: its lending terms (daily rate, per-account limit) and the lending pool."""

    name: str
    full_name: str
    daily_rate: Decimal
    borrow_limit: Decimal
    inventory: Decimal
    user_min_borrow: Decimal = _0
    collateral_ratio: Decimal = _1


@dataclass(frozen=True)
class SymbolSpec:
    """One margin pair and the exchangeInfo filters its orders must pass."""

    symbol: str
    base: str
    quote: str
    price: Decimal
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    market_max_qty: Decimal
    min_notional: Decimal
    max_notional: Decimal
    leverage: int = 10  # isolated margin tier 1
    iso_base_limit: Decimal = _100
    iso_quote_limit: Decimal = _MILLION
    min_price: Decimal | None = None
    max_price: Decimal = _MILLION
    max_num_orders: int = 200
    max_num_algo_orders: int = 5
    iceberg_parts: int = 100
    multiplier_up: Decimal = _5
    multiplier_down: Decimal = _FIFTH
    price_band: bool = False  # listed by limit-price-pairs: limit orders within ±15% of the index

    @property
    def lowest_price(self) -> Decimal:
        return self.min_price if self.min_price is not None else self.tick_size

    @property
    def initial_ratio(self) -> Decimal:
        return _TIER_RATIOS[self.leverage][0]

    @property
    def liquidation_ratio(self) -> Decimal:
        return _TIER_RATIOS[self.leverage][1]


# isolated tier leverage -> (initialRiskRatio, liquidationRiskRatio), as on isolatedMarginTier
_TIER_RATIOS = {10: (D("1.111"), D("1.05")), 5: (D("1.25"), D("1.1")), 3: (D("1.5"), D("1.1"))}

DEFAULT_ASSETS: tuple[AssetSpec, ...] = (
    AssetSpec("BTC", "Bitcoin", D("0.00005"), D("180"), D("1500")),
    AssetSpec("ETH", "Ethereum", D("0.00008"), D("3000"), D("25000")),
    AssetSpec("BNB", "BNB", D("0.0005"), D("10000"), D("150000"), D("0.01")),
    AssetSpec("USDT", "TetherUS", D("0.0003"), D("3000000"), D("90000000"), D("1")),
    AssetSpec("USDC", "USD Coin", D("0.0003"), D("3000000"), D("60000000"), D("1")),
)

DEFAULT_SYMBOLS: tuple[SymbolSpec, ...] = (
    SymbolSpec(
        "BTCUSDT", "BTC", "USDT", D("60000"), D("0.01"), D("0.00001"), D("0.00001"), D("9000"), D("100"),
        D("5"), D("9000000"), 10, D("9"), D("70000"),
    ),
    SymbolSpec(
        "ETHUSDT", "ETH", "USDT", D("3000"), D("0.01"), D("0.0001"), D("0.0001"), D("9000"), D("1000"),
        D("5"), D("9000000"), 10, D("150"), D("70000"),
    ),
    SymbolSpec(
        "BNBUSDT", "BNB", "USDT", D("600"), D("0.01"), D("0.001"), D("0.001"), D("9000"), D("2000"),
        D("5"), D("9000000"), 5, D("800"), D("60000"),
    ),
    SymbolSpec(
        "ETHBTC", "ETH", "BTC", D("0.05"), D("0.00001"), D("0.0001"), D("0.0001"), D("100000"), D("1000"),
        D("0.0001"), D("100"), 5, D("100"), D("5"), price_band=True,
    ),
    SymbolSpec(
        "USDCUSDT", "USDC", "USDT", D("1"), D("0.0001"), D("1"), D("1"), D("9000000"), D("5000000"),
        D("5"), D("9000000"), 3, D("200000"), D("200000"),
    ),
)  # fmt: skip


class Market:
    """Pairs, assets and live prices; valuation of any asset in USDT or BTC."""

    def __init__(
        self,
        symbols: Iterable[SymbolSpec] = DEFAULT_SYMBOLS,
        assets: Iterable[AssetSpec] = DEFAULT_ASSETS,
        *,
        walk_seed: int | None = None,
        walk_sigma: Decimal = _SIGMA,
        delist_schedule: tuple[dict, ...] = (),
        list_schedule: tuple[dict, ...] = (),
    ) -> None:
        self.symbols = {s.symbol: s for s in symbols}
        self.assets = {a.name: a for a in assets}
        self.prices = {s.symbol: s.price for s in self.symbols.values()}
        self.walk_seed = walk_seed
        self.walk_sigma = walk_sigma
        self.delist_schedule = delist_schedule
        self.list_schedule = list_schedule
        for spec in self.symbols.values():
            if spec.base not in self.assets or spec.quote not in self.assets:
                raise ValueError(f"{spec.symbol}: unknown asset")

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
        return None

    def pair(self, a: str, b: str) -> SymbolSpec | None:
        """The pair trading a against b, either way round."""
        return self.symbols.get(a + b) or self.symbols.get(b + a)

    def walk(self, minute: int) -> list[str]:
        """Advance every price one random-walk step for `minute`; returns the symbols that moved."""
        if self.walk_seed is None:
            return []
        moved = []
        for symbol, spec in sorted(self.symbols.items()):
            rnd = random.Random(f"{self.walk_seed}:{symbol}:{minute}")
            change = D(repr(round(rnd.gauss(0.0, 1.0), 6))) * self.walk_sigma
            new = max(floor_to(self.prices[symbol] * (ONE + change), spec.tick_size), spec.tick_size)
            if new != self.prices[symbol]:
                self.prices[symbol] = new
                moved.append(symbol)
        return moved
