"""Live prices from Binance's public market data, against a scripted loopback fake (no network here)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from helpers import NOW, Clock

from binance_margin_mcp.simulator.exchange import Exchange
from binance_margin_mcp.simulator.market import Market
from binance_margin_mcp.simulator.prices import open_source
from binance_margin_mcp.simulator.prices.live import WEIGHT_BUDGET, LiveSource, MarketDataUnavailable
from binance_margin_mcp.simulator.prices.walk import WalkSource

from fakes.fake_market_data import FakeMarketData, kline


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def live(fake: FakeMarketData, mono: Monotonic | None = None) -> LiveSource:
    source = LiveSource(
        "http://127.0.0.1:1", transport=fake.transport(), monotonic=mono or Monotonic(), background=False
    )
    source.load()
    return source


def test_live_installs_every_margin_pair_with_its_real_filters() -> None:
    """exchangeInfo's margin pairs (and only those) trade, with Binance's tick and step sizes and prices."""
    fake = FakeMarketData()
    ex = Exchange(clock_ms=Clock(), market=Market(source=live(fake)))
    info = ex.public("/api/v3/exchangeInfo", {"symbol": "PEPEUSDT"})["symbols"][0]
    price_filter = next(f for f in info["filters"] if f["filterType"] == "PRICE_FILTER")
    assert price_filter["tickSize"] == "0.00000001"
    assert set(ex.market.symbols) == {"BTCUSDT", "ETHUSDT", "ETHBTC", "PEPEUSDT"}
    assert ex.public("/api/v3/ticker/price", {"symbol": "BTCUSDT"})["price"] == "60000.00000000"


def test_prices_follow_the_polls_and_no_key_is_ever_sent() -> None:
    """A changed ticker reaches the exchange at its next tick; every request is an unsigned public GET."""
    fake, clock = FakeMarketData(), Clock()
    source = live(fake)
    ex = Exchange(clock_ms=clock, market=Market(source=source))
    fake.prices["BTCUSDT"] = "61234.56"
    source.poll_once()
    ex.tick()
    assert ex.public("/api/v3/ticker/price", {"symbol": "BTCUSDT"})["price"] == "61234.56000000"
    assert fake.requests and all(r.method == "GET" and r.url.path.startswith("/api/v3/") for r in fake.requests)
    assert not any("x-mbx-apikey" in r.headers or "signature" in r.url.params for r in fake.requests)


def test_a_stop_crossed_between_two_polls_fires_from_the_kline_low() -> None:
    """The ticker reads 60000 then 60100, but the 1-minute kline's low (58500) crossed the 59000 stop: it fires;
    a stop at 58000, below the low, does not."""
    fake, clock, mono = FakeMarketData(), Clock(), Monotonic()
    source = live(fake, mono)
    ex = Exchange(clock_ms=clock, market=Market(source=source))
    minute = NOW // 60_000 * 60_000
    fake.klines["BTCUSDT"] = [kline(minute, "60000", "60050", "59950", "60000")]
    stop = ex.handle(
        "alice",
        "create_margin_order",
        {"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_LOSS", "quantity": "0.01", "stopPrice": "59000"},
    )
    below = ex.handle(
        "alice",
        "create_margin_order",
        {"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_LOSS", "quantity": "0.01", "stopPrice": "58000"},
    )
    ex.tick()  # the exchange now watches BTCUSDT
    source.poll_klines()  # the first look at the candle: nothing new yet
    fake.klines["BTCUSDT"] = [kline(minute, "60000", "60050", "58500", "60100")]
    fake.prices["BTCUSDT"] = "60100.00"
    mono.now += 20
    source.poll_once()
    ex.tick()
    order = ex.handle("alice", "get_margin_order", {"symbol": "BTCUSDT", "orderId": str(stop["orderId"])})
    assert order["status"] == "FILLED"
    untouched = ex.handle("alice", "get_margin_order", {"symbol": "BTCUSDT", "orderId": str(below["orderId"])})
    assert untouched["status"] == "NEW"  # the low never reached 58000
    assert ex.market.price("BTCUSDT") == Decimal("60100.00")


def test_depth_comes_from_binance_once_asked_for() -> None:
    """Market.depth is None until the poller fetched the book asked for; then it is Binance's levels."""
    fake = FakeMarketData()
    source = live(fake)
    market = Market(source=source)
    assert market.depth("BTCUSDT") is None
    source.poll_depth()
    book = market.depth("BTCUSDT")
    assert book is not None and book.bids[0] == (Decimal("59999.99"), Decimal("1.5"))
    assert market.quote("BTCUSDT") == (Decimal("59999.99"), Decimal("60000.01"))


def test_the_weight_budget_is_never_exceeded() -> None:
    """However often it polls, the source spends at most WEIGHT_BUDGET weight in any minute and reports it."""
    fake, mono = FakeMarketData(), Monotonic()
    source = live(fake, mono)
    market = Market(source=source)
    market.depth("BTCUSDT")
    for _ in range(200):
        mono.now += 0.5
        source.poll_once()
        assert source.weight_used() <= WEIGHT_BUDGET
    assert source.status()["weightUsed1m"] > 0 and source.status()["weightBudget1m"] == WEIGHT_BUDGET


def test_live_fails_clearly_when_binance_does_not_answer() -> None:
    """HTTP errors become MarketDataUnavailable with a short reason."""
    fake = FakeMarketData()
    fake.status = 503
    with pytest.raises(MarketDataUnavailable, match="HTTP 503"):
        live(fake)


def test_auto_falls_back_to_the_walk_when_binance_is_unreachable() -> None:
    """Nothing listens on the URL: auto answers with a seeded walk."""
    source = open_source("auto", market_data_url="http://127.0.0.1:9")
    assert isinstance(source, WalkSource)


def test_auto_uses_live_data_when_binance_answers() -> None:
    """A loopback fake that answers: auto chooses live and installs its pairs."""
    fake = FakeMarketData()
    with fake.serve() as url:
        source = open_source("auto", market_data_url=url)
        try:
            assert isinstance(source, LiveSource)
            assert "PEPEUSDT" in Market(source=source).symbols
        finally:
            source.close()


def test_a_market_data_url_off_binance_is_refused() -> None:
    """Only official Binance hosts (https) or loopback are called for market data."""
    with pytest.raises(ValueError, match="market-data-url"):
        open_source("live", market_data_url="https://example.com")
