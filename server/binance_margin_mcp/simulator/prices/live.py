"""Binance's public market data as the paper market's prices: unsigned GETs on a background thread.

Only /api/v3/{exchangeInfo, ticker/price, ticker/bookTicker, klines, depth} are called, never with a key,
and only on an official Binance host or a loopback URL. A poll every POLL_S seconds reads every last price
and quote (weight 4 + 4); pairs with open orders get their 1-minute klines every KLINE_S seconds (weight 2
each), whose new highs and lows since the last look join the price path so a stop crossed between two polls
still fires; a pair whose book was asked for gets its depth every DEPTH_S seconds (weight 5); exchangeInfo
(weight 20) is read again hourly. A sliding one-minute budget (WEIGHT_BUDGET, a tenth of Binance's 6000)
skips whatever would exceed it. Requests on the exchange's path never wait for the network.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx

from ..book import Book
from . import Paths, log
from .exchange_info import specs_from_exchange_info

if TYPE_CHECKING:
    from ..market import Market

WEIGHT_BUDGET = 600  # per rolling minute; worst case below: 20 x 8 + 4 x 2 x 10 + 12 x 5 x 4 + 20 = 420
POLL_S, KLINE_S, DEPTH_S, INFO_S = 3.0, 15.0, 5.0, 3600.0
MAX_KLINE_SYMBOLS, MAX_DEPTH_SYMBOLS, DEPTH_LIMIT = 10, 4, 20
MAX_PATH = 32
BOOK_WANTED_S = 60.0  # a book asked for is kept fresh this long
WEIGHTS = {"exchangeInfo": 20, "ticker/price": 4, "ticker/bookTicker": 4, "klines": 2, "depth": 5}
USER_AGENT = "binance-margin-mcp paper market data"


class MarketDataUnavailable(Exception):
    """Binance's public market data did not answer (in time, or sensibly)."""


class LiveSource:
    """Polls Binance; `advance` hands the Market what changed since its last call (under the exchange's lock)."""

    name = "live"

    def __init__(
        self,
        base_url: str,
        *,
        clock_ms: Callable[[], int] | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
        background: bool = True,
    ) -> None:
        self.base_url = base_url
        self._background = background  # False (tests): nothing polls unless poll_once is called
        self._clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        self._now = monotonic
        # No auth header, ever: these endpoints are public and a key must never travel with them.
        self._http = httpx.Client(
            base_url=base_url, timeout=timeout, transport=transport, headers={"User-Agent": USER_AGENT}
        )
        self._lock = threading.Lock()
        self._paths: Paths = {}
        self._specs: tuple[list, list] | None = None
        self._books: dict[str, Book] = {}
        self._quotes: dict[str, tuple[Decimal, Decimal]] = {}
        self._wanted: dict[str, float] = {}  # symbol -> when its book was last asked for
        self._watched: set[str] = set()
        self._candles: dict[str, tuple[int, Decimal, Decimal]] = {}  # symbol -> (open time, high, low) seen
        self._spent: deque[tuple[float, int]] = deque()
        self._last = {"info": -INFO_S, "klines": -KLINE_S, "depth": -DEPTH_S}
        self.last_update_ms: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the Market's side (called under the exchange's lock) --------------------------------------------
    def attach(self, market: Market) -> None:
        """Install Binance's margin pairs, then start polling."""
        with self._lock:
            specs, self._specs = self._specs, None
        if specs is not None:
            market.replace(*specs)
        if self._thread is None and self._background:
            self._thread = threading.Thread(target=self._run, name="paper-market-data", daemon=True)
            self._thread.start()

    def advance(self, market: Market, now_ms: int, watched: set[str]) -> Paths:
        with self._lock:
            self._watched = set(watched)
            specs, self._specs = self._specs, None
            paths, self._paths = self._paths, {}
        if specs is not None:
            market.replace(*specs)
        return paths

    def book(self, symbol: str) -> Book | None:
        with self._lock:
            self._wanted[symbol] = self._now()
            return self._books.get(symbol)

    def status(self) -> dict[str, Any]:
        return {
            "lastUpdate": self.last_update_ms,
            "marketDataUrl": self.base_url,
            "weightUsed1m": self.weight_used(),
            "weightBudget1m": WEIGHT_BUDGET,
        }

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._http.close()

    # -- polling ---------------------------------------------------------------------------------------
    def load(self, timeout: float = 2.0) -> None:
        """The first exchangeInfo and prices, synchronously; MarketDataUnavailable when Binance does not answer."""
        try:
            self._refresh_info(timeout=timeout)
            self.poll_prices(timeout=timeout)
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise MarketDataUnavailable(_why(exc)) from None

    def poll_once(self) -> None:
        """One round: prices always, klines, depth and exchangeInfo when due (each within the budget)."""
        now = self._now()
        self.poll_prices()
        if now - self._last["klines"] >= KLINE_S:
            self._last["klines"] = now
            self.poll_klines()
        if now - self._last["depth"] >= DEPTH_S:
            self._last["depth"] = now
            self.poll_depth()
        if now - self._last["info"] >= INFO_S:
            self._refresh_info()

    def _run(self) -> None:
        failing = False
        while not self._stop.wait(POLL_S):
            try:
                self.poll_once()
                failing = False
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                if not failing:
                    log.warning("paper exchange: market data poll failed (%s); prices hold until it answers", _why(exc))
                failing = True

    def _get(self, endpoint: str, params: dict[str, Any] | None = None, *, timeout: float | None = None) -> Any:
        weight = WEIGHTS[endpoint]
        if self.weight_used() + weight > WEIGHT_BUDGET:
            return None
        self._spent.append((self._now(), weight))
        kwargs: dict[str, Any] = {"params": params or {}}
        if timeout is not None:
            kwargs["timeout"] = timeout
        response = self._http.get(f"/api/v3/{endpoint}", **kwargs)
        response.raise_for_status()
        return response.json(parse_float=Decimal)

    def weight_used(self) -> int:
        """Request weight spent in the last minute."""
        horizon = self._now() - 60
        while self._spent and self._spent[0][0] <= horizon:
            self._spent.popleft()
        return sum(weight for _, weight in self._spent)

    def _refresh_info(self, timeout: float | None = None) -> None:
        info = self._get("exchangeInfo", timeout=timeout)
        if info is None:
            return
        specs = specs_from_exchange_info(info)
        if not specs[0]:
            raise ValueError("exchangeInfo lists no margin pair")
        self._last["info"] = self._now()
        with self._lock:
            self._specs = specs

    def poll_prices(self, timeout: float | None = None) -> None:
        prices = self._get("ticker/price", timeout=timeout)
        quotes = self._get("ticker/bookTicker", timeout=timeout)
        with self._lock:
            for row in prices or ():
                self._extend(row["symbol"], [Decimal(str(row["price"]))])
            for row in quotes or ():
                self._quotes[row["symbol"]] = (Decimal(str(row["bidPrice"])), Decimal(str(row["askPrice"])))
            if prices:
                self.last_update_ms = self._clock_ms()

    def poll_klines(self) -> None:
        """New highs and lows of the watched pairs' 1-minute candles join their paths, before the last price."""
        with self._lock:
            symbols = sorted(self._watched)[:MAX_KLINE_SYMBOLS]
        for symbol in symbols:
            rows = self._get("klines", {"symbol": symbol, "interval": "1m", "limit": 2})
            if not rows:
                continue
            extremes = self._new_extremes(symbol, rows)
            if extremes:
                with self._lock:
                    path = self._paths.get(symbol, [])
                    self._paths[symbol] = extremes + path[-1:] if path else extremes

    def _new_extremes(self, symbol: str, rows: list) -> list[Decimal]:
        """The candle highs/lows not seen at the last look (a new candle's are all new)."""
        seen = self._candles.get(symbol)
        points: list[Decimal] = []
        for row in rows:
            opened, high, low = int(row[0]), Decimal(str(row[2])), Decimal(str(row[3]))
            if seen is not None and opened < seen[0]:
                continue
            if seen is not None and opened == seen[0]:
                points += [low] if low < seen[2] else []
                points += [high] if high > seen[1] else []
            elif seen is not None:  # a candle the last look did not know
                points += [low, high]
        last = rows[-1]
        self._candles[symbol] = (int(last[0]), Decimal(str(last[2])), Decimal(str(last[3])))
        return points

    def poll_depth(self) -> None:
        now = self._now()
        with self._lock:
            wanted = [s for s, when in self._wanted.items() if now - when <= BOOK_WANTED_S][:MAX_DEPTH_SYMBOLS]
        for symbol in wanted:
            data = self._get("depth", {"symbol": symbol, "limit": DEPTH_LIMIT})
            if data is None:
                continue
            book = Book(
                bids=tuple((Decimal(str(p)), Decimal(str(q))) for p, q in data["bids"]),
                asks=tuple((Decimal(str(p)), Decimal(str(q))) for p, q in data["asks"]),
            )
            with self._lock:
                self._books[symbol] = book

    def _extend(self, symbol: str, points: list[Decimal]) -> None:
        path = self._paths.setdefault(symbol, [])
        path.extend(p for p in points if not path or p != path[-1])
        if len(path) > MAX_PATH:  # nobody advanced for a while: keep what triggers need
            lo, hi = path.index(min(path)), path.index(max(path))
            path[:] = [path[i] for i in sorted({lo, hi}) if i != len(path) - 1] + path[-1:]


def _why(exc: BaseException) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, httpx.TimeoutException):
        return "no answer within the timeout"
    if isinstance(exc, httpx.HTTPError):
        return type(exc).__name__
    return f"unexpected answer ({type(exc).__name__})"
