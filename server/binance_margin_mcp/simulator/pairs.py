"""The offline market: 25 major margin pairs and their 24 assets, with filters like Binance's.

Prices sit near recent levels (kept round where tests rely on them: BTCUSDT 60000, ETHUSDT 3000, BNBUSDT 600,
ETHBTC 0.05, USDCUSDT 1). Collateral ratios: stablecoins 1, BTC/ETH 0.95, BNB 0.9, other alts 0.5-0.85.
Volatilities are annualised (the random walk scales them to its one-second steps).
"""

from __future__ import annotations

from decimal import Decimal

from .specs import AssetSpec, SymbolSpec

D = Decimal
_M9 = D("9000000")


def _asset(name: str, full: str, rate: str, limit: str, pool: str, ratio: str, vol: float, min_borrow: str = "0"):
    return AssetSpec(name, full, D(rate), D(limit), D(pool), D(min_borrow), D(ratio), vol)


DEFAULT_ASSETS: tuple[AssetSpec, ...] = (
    _asset("BTC", "Bitcoin", "0.00005", "180", "1500", "0.95", 0.50),
    _asset("ETH", "Ethereum", "0.00008", "3000", "25000", "0.95", 0.65),
    _asset("BNB", "BNB", "0.0005", "10000", "150000", "0.9", 0.60, "0.01"),
    _asset("USDT", "TetherUS", "0.0003", "3000000", "90000000", "1", 0.001, "1"),
    _asset("USDC", "USD Coin", "0.0003", "3000000", "60000000", "1", 0.001, "1"),
    _asset("SOL", "Solana", "0.0002", "40000", "500000", "0.85", 0.80),
    _asset("XRP", "XRP", "0.0002", "5000000", "80000000", "0.85", 0.80),
    _asset("ADA", "Cardano", "0.0002", "5000000", "60000000", "0.8", 0.85),
    _asset("DOGE", "Dogecoin", "0.0002", "20000000", "400000000", "0.8", 1.00),
    _asset("TRX", "TRON", "0.0002", "20000000", "300000000", "0.8", 0.60),
    _asset("LINK", "ChainLink", "0.00025", "200000", "3000000", "0.8", 0.85),
    _asset("DOT", "Polkadot", "0.00025", "400000", "6000000", "0.7", 0.85),
    _asset("LTC", "Litecoin", "0.0002", "30000", "400000", "0.8", 0.75),
    _asset("AVAX", "Avalanche", "0.00025", "80000", "1500000", "0.75", 0.90),
    _asset("POL", "Polygon Ecosystem Token", "0.0003", "4000000", "50000000", "0.65", 0.90),
    _asset("UNI", "Uniswap", "0.0003", "200000", "3000000", "0.65", 0.90),
    _asset("ATOM", "Cosmos", "0.0003", "200000", "3000000", "0.7", 0.85),
    _asset("ETC", "Ethereum Classic", "0.0003", "80000", "1000000", "0.7", 0.80),
    _asset("XLM", "Stellar Lumens", "0.0003", "10000000", "150000000", "0.65", 0.75),
    _asset("FIL", "Filecoin", "0.0003", "300000", "4000000", "0.6", 0.95),
    _asset("NEAR", "NEAR Protocol", "0.0003", "300000", "5000000", "0.6", 0.95),
    _asset("APT", "Aptos", "0.0003", "200000", "3000000", "0.5", 1.00),
    _asset("ARB", "Arbitrum", "0.0003", "2000000", "30000000", "0.5", 1.00),
    _asset("OP", "Optimism", "0.0003", "1000000", "15000000", "0.5", 1.00),
)


def _usdt(base: str, price: str, tick: str, step: str, leverage: int = 5, iso_base: str = "100000") -> SymbolSpec:
    """A USDT pair with Binance's usual filter shape: min qty one step, 5 USDT min notional."""
    return SymbolSpec(
        f"{base}USDT", base, "USDT", D(price), D(tick), D(step), D(step), _M9, D("900000"), D("5"), _M9,
        leverage, D(iso_base), D("200000"),
    )  # fmt: skip


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
    SymbolSpec(
        "BNBBTC", "BNB", "BTC", D("0.01"), D("0.000001"), D("0.001"), D("0.001"), D("100000"), D("1000"),
        D("0.0001"), D("100"), 5, D("500"), D("5"),
    ),
    _usdt("SOL", "150", "0.01", "0.001", 5, "2000"),
    _usdt("XRP", "0.6", "0.0001", "0.1", 5, "500000"),
    _usdt("ADA", "0.45", "0.0001", "0.1"),
    _usdt("DOGE", "0.12", "0.00001", "1", 5, "3000000"),
    _usdt("TRX", "0.12", "0.0001", "0.1", 5, "3000000"),
    _usdt("LINK", "14", "0.01", "0.01", 5, "20000"),
    _usdt("DOT", "6", "0.001", "0.01", 5, "50000"),
    _usdt("LTC", "80", "0.01", "0.001", 5, "3000"),
    _usdt("AVAX", "30", "0.01", "0.01", 5, "10000"),
    _usdt("POL", "0.5", "0.0001", "0.1", 3),
    _usdt("UNI", "8", "0.001", "0.01", 3, "30000"),
    _usdt("ATOM", "8", "0.001", "0.01", 3, "30000"),
    _usdt("ETC", "25", "0.01", "0.01", 3, "10000"),
    _usdt("XLM", "0.1", "0.0001", "1", 3, "2000000"),
    _usdt("FIL", "5", "0.001", "0.01", 3, "50000"),
    _usdt("NEAR", "5", "0.001", "0.1", 3, "50000"),
    _usdt("APT", "8", "0.01", "0.01", 3, "30000"),
    _usdt("ARB", "0.8", "0.0001", "0.1", 3, "300000"),
    _usdt("OP", "1.8", "0.001", "0.01", 3, "150000"),
)  # fmt: skip
