"""The shapes of the market's static data: one margin asset (lending terms) and one pair (its filters)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

D = Decimal
_0, _1, _5, _FIFTH = D(0), D(1), D(5), D("0.2")
_100, _MILLION = D(100), D(1000000)


@dataclass(frozen=True)
class AssetSpec:
    """One margin asset: its lending terms (daily rate, per-account limit), the lending pool, its collateral
    ratio (the share of its value that counts as collateral) and the annualised volatility of the random walk."""

    name: str
    full_name: str
    daily_rate: Decimal
    borrow_limit: Decimal
    inventory: Decimal
    user_min_borrow: Decimal = _0
    collateral_ratio: Decimal = _1
    annual_vol: float = 0.8


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
