"""A scripted stand-in for Binance's public market data (/api/v3 exchangeInfo, ticker/price, ticker/bookTicker,
klines, depth), as an httpx.MockTransport or on a loopback port. Tests change `prices`, `klines` and `book`
between polls and read `requests` to check what was sent."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx


def _lot(tick: str, step: str) -> list[dict[str, Any]]:
    return [
        {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "1000000.00000000", "tickSize": tick},
        {"filterType": "LOT_SIZE", "minQty": step, "maxQty": "9000000.00000000", "stepSize": step},
        {"filterType": "MARKET_LOT_SIZE", "minQty": "0", "maxQty": "100.00000000", "stepSize": "0"},
        {"filterType": "NOTIONAL", "minNotional": "5.00000000", "maxNotional": "9000000.00000000"},
        {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
    ]


def _row(symbol: str, base: str, quote: str, tick: str, step: str, margin: bool = True) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "status": "TRADING",
        "baseAsset": base,
        "quoteAsset": quote,
        "isMarginTradingAllowed": margin,
        "permissionSets": [["SPOT", "MARGIN"] if margin else ["SPOT"]],
        "filters": _lot(tick, step),
    }


class FakeMarketData:
    """Binance's public market data, scripted."""

    def __init__(self) -> None:
        self.symbols = [
            _row("BTCUSDT", "BTC", "USDT", "0.01000000", "0.00001000"),
            _row("ETHUSDT", "ETH", "USDT", "0.01000000", "0.00010000"),
            _row("ETHBTC", "ETH", "BTC", "0.00001000", "0.00010000"),
            _row("PEPEUSDT", "PEPE", "USDT", "0.00000001", "1.00000000"),
            _row("SPOTONLYUSDT", "SPOTONLY", "USDT", "0.01000000", "1.00000000", margin=False),
        ]
        self.prices = {"BTCUSDT": "60000.00", "ETHUSDT": "3000.00", "ETHBTC": "0.05000", "PEPEUSDT": "0.00001000"}
        self.klines: dict[str, list[list[Any]]] = {}
        self.book = {"bids": [["59999.99", "1.5"], ["59999.00", "2"]], "asks": [["60000.01", "0.7"], ["60001", "3"]]}
        self.requests: list[httpx.Request] = []
        self.status = 200

    def answer(self, path: str, params: dict[str, str]) -> Any:
        if path == "/api/v3/exchangeInfo":
            return {"timezone": "UTC", "serverTime": 0, "rateLimits": [], "symbols": self.symbols}
        if path == "/api/v3/ticker/price":
            return [{"symbol": s, "price": p} for s, p in self.prices.items()]
        if path == "/api/v3/ticker/bookTicker":
            return [
                {"symbol": s, "bidPrice": p, "bidQty": "1", "askPrice": p, "askQty": "1"}
                for s, p in self.prices.items()
            ]
        if path == "/api/v3/klines":
            return self.klines.get(params["symbol"], [])
        if path == "/api/v3/depth":
            return {"lastUpdateId": 1, **self.book}
        return None

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        data = self.answer(request.url.path, dict(request.url.params))
        if self.status != 200 or data is None:
            return httpx.Response(self.status if self.status != 200 else 404, json={"code": -1, "msg": "no"})
        return httpx.Response(200, json=data)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    @contextlib.contextmanager
    def serve(self) -> Iterator[str]:
        """The fake on a loopback port (daemon thread); yields its base URL."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                body = json.dumps(fake.answer(url.path, dict(parse_qsl(url.query)))).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


def kline(open_ms: int, o: str, h: str, low: str, c: str) -> list[Any]:
    """One 1-minute kline row in Binance's column order."""
    return [open_ms, o, h, low, c, "10.0", open_ms + 59_999, "600000.0", 100, "5.0", "300000.0", "0"]
