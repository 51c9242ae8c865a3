"""The paper market's price sources: the seeded walk, the offline pairs, parsing --prices, auto's fallback."""

from __future__ import annotations

from decimal import Decimal

import pytest
from helpers import NOW, Clock

from binance_margin_mcp.simulator.exchange import Exchange
from binance_margin_mcp.simulator.market import Market
from binance_margin_mcp.simulator.prices import StaticSource, open_source, parse_prices
from binance_margin_mcp.simulator.prices.walk import WalkSource

MAJORS = (
    "BTC",
    "ETH",
    "BNB",
    "SOL",
    "XRP",
    "ADA",
    "DOGE",
    "TRX",
    "LINK",
    "DOT",
    "LTC",
    "AVAX",
    "POL",
    "UNI",
    "ATOM",
    "ETC",
    "XLM",
    "FIL",
    "NEAR",
    "APT",
    "ARB",
    "OP",
)


def walked(seed: int, seconds: list[int]) -> list[dict[str, Decimal]]:
    market = Market(source=WalkSource(seed))
    out = []
    for second in seconds:
        for _ in market.advance(NOW + second * 1000):
            pass
        out.append(dict(market.prices))
    return out


def test_the_walk_is_a_pure_function_of_seed_and_clock() -> None:
    """Two walks with the same seed and the same clock agree price for price; another seed differs."""
    seconds = [0, 1, 2, 5, 60, 61, 900]
    assert walked(7, seconds) == walked(7, seconds)
    assert walked(7, seconds)[-1] != walked(8, seconds)[-1]
    assert walked(7, seconds)[-1]["BTCUSDT"] != Decimal(60000)


def test_the_walks_volatility_is_realistic_per_asset() -> None:
    """Over an hour BTC moves well under 10% and a stablecoin under 0.1%, while both move."""
    last = walked(3, [0, 3600])[-1]
    assert Decimal("0.9") < last["BTCUSDT"] / 60000 < Decimal("1.1") and last["BTCUSDT"] != 60000
    assert abs(last["USDCUSDT"] - 1) < Decimal("0.001")


def test_cross_rates_are_derived_from_the_usdt_legs() -> None:
    """ETHBTC and BNBBTC are ETHUSDT/BTCUSDT and BNBUSDT/BTCUSDT (to the tick), never walked on their own."""
    for prices in walked(11, [0, 30, 600, 3000]):
        for cross, base in (("ETHBTC", "ETHUSDT"), ("BNBBTC", "BNBUSDT")):
            assert abs(prices[cross] - prices[base] / prices["BTCUSDT"]) <= Decimal("0.00001")


def test_the_walk_moves_the_exchange_as_the_clock_runs() -> None:
    """With a walk the exchange's prices change as the clock runs, with no call moving them."""
    clock = Clock()
    ex = Exchange(clock_ms=clock, market=Market(walk_seed=5))
    start = ex.public("/api/v3/ticker/price", {"symbol": "BTCUSDT"})["price"]
    clock.now += 10_000
    assert ex.public("/api/v3/ticker/price", {"symbol": "BTCUSDT"})["price"] != start


def test_at_least_twenty_major_pairs_exist_offline_with_their_assets() -> None:
    """The offline market lists every major against USDT (SOLUSDT among them) plus ETHBTC, BNBBTC, USDCUSDT,
    and collateral ratios are 1 only for stablecoins."""
    market = Market()
    assert {f"{a}USDT" for a in MAJORS} | {"ETHBTC", "BNBBTC", "USDCUSDT"} <= set(market.symbols)
    assert market.spec("SOLUSDT").tick_size == Decimal("0.01")
    ratios = {name: a.collateral_ratio for name, a in market.assets.items()}
    assert ratios["USDT"] == ratios["USDC"] == 1 and Decimal("0.95") <= ratios["BTC"] < 1
    assert all(Decimal("0.5") <= ratios[a] <= Decimal("0.9") for a in MAJORS if a not in ("BTC", "ETH"))


def test_solusdt_trades_offline() -> None:
    """SOLUSDT answers exchangeInfo and takes an order on the offline market (it used to answer -1121)."""
    ex = Exchange(clock_ms=Clock())
    info = ex.public("/api/v3/exchangeInfo", {"symbol": "SOLUSDT"})
    assert info["symbols"][0]["symbol"] == "SOLUSDT"
    placed = ex.handle("alice", "create_margin_order", {"symbol": "SOLUSDT", "side": "BUY", "type": "MARKET",
                                                         "quantity": "1"})  # fmt: skip
    assert placed["status"] == "FILLED"


def test_the_quote_straddles_the_last_price() -> None:
    """Without a book, bid < last < ask on the tick grid (a one-tick minimum half spread)."""
    market = Market()
    bid, ask = market.quote("BTCUSDT")
    assert bid < market.price("BTCUSDT") < ask


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("random", "unknown source 'random'"),
        ("walk:abc", "whole number seed"),
        ("static:1", "takes no argument"),
        ("replay:", "needs a kline CSV file"),
        ("replay:/nonexistent.csv", "replay file not found"),
    ],
)
def test_bad_prices_values_are_explained(text: str, message: str) -> None:
    """Each malformed --prices value raises ValueError naming what is wrong."""
    with pytest.raises(ValueError, match=message):
        parse_prices(text)


def test_prices_values_parse() -> None:
    """walk, walk:SEED, static, auto and live parse to their kinds."""
    assert parse_prices("walk:42").seed == 42 and parse_prices("walk").seed is None
    assert [parse_prices(k).kind for k in ("auto", "live", "static")] == ["auto", "live", "static"]
    assert isinstance(open_source("static"), StaticSource)
    assert open_source("walk:9").name == "walk:9"


def test_the_ticker_applies_price_moves_between_calls() -> None:
    """A running Ticker moves the exchange's prices with no request at all, and stops when asked."""
    import time

    from binance_margin_mcp.simulator.prices.ticker import Ticker

    clock = Clock()
    ex = Exchange(clock_ms=clock, market=Market(walk_seed=2))
    ex.tick()
    start = dict(ex.market.prices)

    def tick() -> None:
        clock.now += 1000
        ex.tick()

    ticker = Ticker(tick, interval=0.01).start()
    deadline = time.monotonic() + 5
    while ex.market.prices == start and time.monotonic() < deadline:
        time.sleep(0.01)
    ticker.stop()
    assert ex.market.prices != start and not ticker.running


def test_replay_plays_the_sample_klines_at_the_chosen_speed(tmp_path) -> None:
    """replay:sample@60 plays one recorded minute per simulated second: after 10 s BTCUSDT opens the 11th
    candle, and ETHBTC follows BTCUSDT (ETHUSDT / BTCUSDT)."""
    from binance_margin_mcp.simulator.prices.replay import SAMPLE, read_klines

    candles = read_klines(SAMPLE)
    assert len(candles) >= 300
    clock = Clock()
    ex = Exchange(clock_ms=clock, market=Market(source=open_source("replay:sample@60")))
    ex.tick()
    assert ex.market.price("BTCUSDT") == candles[0][1]
    clock.now += 10_000
    ex.tick()
    assert ex.market.price("BTCUSDT") == candles[10][1]
    assert abs(ex.market.price("ETHBTC") - Decimal(3000) / candles[10][1]) <= Decimal("0.00001")


def test_replay_passes_each_candles_low_so_a_stop_in_it_fires() -> None:
    """A sell stop just above a replayed minute's low triggers even though no update landed on the low."""
    from binance_margin_mcp.simulator.prices.replay import SAMPLE, read_klines

    candles = read_klines(SAMPLE)
    clock = Clock()
    ex = Exchange(clock_ms=clock, market=Market(source=open_source("replay:sample@60")))
    ex.tick()
    lowest = min(candle[3] for candle in candles[:5])
    stop_price = str(lowest + Decimal("0.01"))
    assert all(candle[1] > lowest + 1 and candle[4] > lowest + 1 for candle in candles[:5] if candle[3] == lowest)
    placed = ex.handle(
        "alice",
        "create_margin_order",
        {"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_LOSS", "quantity": "0.01", "stopPrice": stop_price},
    )
    clock.now += 6_000
    ex.tick()
    order = ex.handle("alice", "get_margin_order", {"symbol": "BTCUSDT", "orderId": str(placed["orderId"])})
    assert order["status"] == "FILLED"


def test_a_malformed_replay_file_is_named_with_its_line(tmp_path) -> None:
    """A row that is not a kline fails with the file name and line number."""
    bad = tmp_path / "BTCUSDT-1m-bad.csv"
    bad.write_text("1767225600000,60000,60010,59990,60005,1,1767225659999,1,1,1,1,0\nnot,a,kline\n")
    with pytest.raises(ValueError, match=r"BTCUSDT-1m-bad\.csv line 2"):
        open_source(f"replay:{bad}")
