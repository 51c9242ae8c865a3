"""A fake Binance REST front end for tests: records requests, checks key, timestamp and signature.

Routes and security types come from tests/data/endpoints.tsv; replies are configured per route.
Serves httpx.MockTransport or a real loopback HTTP server with the same handling.
"""

from __future__ import annotations

import csv
import json
import re
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from .verify import split_signed, verify_ed25519, verify_hmac, verify_rsa

DEFAULT_TSV = Path(__file__).resolve().parents[1] / "data" / "endpoints.tsv"
SIGNED = frozenset({"USER_DATA", "TRADE", "MARGIN"})
JSON_TYPE = "application/json;charset=UTF-8"
NOT_FOUND_HTML = b"<html><body><h1>404 Not Found</h1></body></html>"

MSG_BAD_KEY = "Invalid API-key, IP, or permissions for action."
MSG_BAD_SIGNATURE = "Signature for this request is not valid."
MSG_OUTSIDE_WINDOW = "Timestamp for this request is outside of the recvWindow."
MSG_AHEAD = "Timestamp for this request was 1000ms ahead of the server's time."
MSG_RECV_WINDOW = "recvWindow must be less than 60000"

# recvWindow may carry up to three decimals (microseconds) since 2025; digits are ASCII only.
_RECV_WINDOW_RE = re.compile(r"[0-9]{1,9}(\.[0-9]{1,3})?")
_TIMESTAMP_RE = re.compile(r"[0-9]{1,19}")


def _mandatory(name: str) -> str:
    return f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."


def _parse_pairs(raw: bytes) -> list[tuple[str, str]]:
    # Raw non-ASCII bytes are malformed here; strict decoding raises UnicodeError, a ValueError.
    return parse_qsl(raw.decode("ascii"), keep_blank_values=True, strict_parsing=True, errors="strict")


@dataclass
class RecordedRequest:
    """One request as received: raw query and body bytes exactly as sent, header names lower-case."""

    method: str
    path: str
    raw_query: bytes
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def params(self) -> list[tuple[str, str]]:
        """Decoded pairs in order: query first, then a form body. Raises ValueError if malformed."""
        pairs = _parse_pairs(self.raw_query)
        content_type = self.headers.get("content-type", "application/x-www-form-urlencoded")
        if self.body and content_type.startswith("application/x-www-form-urlencoded"):
            pairs += _parse_pairs(self.body)
        return pairs

    def param(self, name: str) -> str | None:
        """First value of `name`; the query precedes the body, so the query value wins as on Binance."""
        return next((value for key, value in self.params() if key == name), None)


@dataclass(frozen=True)
class Route:
    security: str
    weight_text: str

    def weight_header(self, path: str) -> str:
        if path.startswith("/api/"):
            return "X-MBX-USED-WEIGHT-1M"
        return "X-SAPI-USED-UID-WEIGHT-1M" if "(UID)" in self.weight_text else "X-SAPI-USED-IP-WEIGHT-1M"

    def weight(self) -> int:
        # "Weight: 6(UID) or 1500(UID) when ..." -> 6: the first number is the base weight.
        match = re.search(r"[0-9]+", self.weight_text)
        return int(match.group()) if match else 1


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]


def json_reply(status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
    content = body if isinstance(body, bytes) else json.dumps({} if body is None else body).encode()
    return Reply(status, content, {"Content-Type": JSON_TYPE, **(headers or {})})


def error_reply(status: int, code: int, msg: str, headers: dict[str, str] | None = None) -> Reply:
    return json_reply(status, {"code": code, "msg": msg}, headers)


def load_routes(tsv_path: Path) -> dict[tuple[str, str], Route]:
    with tsv_path.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t")
        return {(row["method"].upper(), row["path"]): Route(row["security"], row["weight"]) for row in rows}


class FakeBinance:
    """Checks requests the way Binance documents it (fact sheet §1.7, §2) and answers canned replies."""

    def __init__(self, *, now_ms: Callable[[], int] | None = None, tsv_path: Path = DEFAULT_TSV) -> None:
        self._now_ms = now_ms or (lambda: time.time_ns() // 1_000_000)
        self._routes = load_routes(tsv_path)
        self._routes[("GET", "/api/v3/time")] = Route("NONE", "Weight(IP): 1")
        self._keys: dict[str, tuple[str, Any]] = {}
        self._replies: dict[tuple[str, str], Reply] = {}
        self._failures: dict[tuple[str, str], deque[Reply]] = defaultdict(deque)
        self._timeouts: dict[tuple[str, str], int] = defaultdict(int)
        self._weights: dict[tuple[str, str, str], tuple[int, int]] = {}
        self._lock = threading.Lock()
        self.requests: list[RecordedRequest] = []

    # -- configuration -------------------------------------------------------------------------
    def add_hmac_key(self, api_key: str, secret: str) -> None:
        self._keys[api_key] = ("HMAC", secret)

    def add_public_key(self, api_key: str, public_key: RSAPublicKey | Ed25519PublicKey) -> None:
        if isinstance(public_key, RSAPublicKey):
            self._keys[api_key] = ("RSA", public_key)
        elif isinstance(public_key, Ed25519PublicKey):
            self._keys[api_key] = ("Ed25519", public_key)
        else:
            raise TypeError(f"expected an RSA or Ed25519 public key, got {type(public_key).__name__}")

    def add_route(self, method: str, path: str, *, security: str = "NONE", weight: str = "Weight(IP): 1") -> None:
        """Serve a route that is not in endpoints.tsv (e.g. GET /api/v3/exchangeInfo)."""
        self._routes[(method.upper(), path)] = Route(security, weight)

    def respond(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Fixed reply for every request to the route that passes the checks (bytes sent as is)."""
        self._replies[self._route_key(method, path)] = json_reply(status, body, headers)

    def fail_next(
        self,
        method: str,
        path: str,
        *,
        status: int,
        code: int,
        msg: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        """One-shot error replacing the reply to the next request on the route that passes the checks."""
        self._failures[self._route_key(method, path)].append(error_reply(status, code, msg, headers))

    def timeout_next(self, method: str, path: str) -> None:
        """One-shot: record the next request on the route and never answer it (checks skipped)."""
        self._timeouts[self._route_key(method, path)] += 1

    def _route_key(self, method: str, path: str) -> tuple[str, str]:
        key = (method.upper(), path)
        if key not in self._routes:
            raise ValueError(f"{method} {path} is not a known route; typo, or use add_route()")
        return key

    # -- request handling ----------------------------------------------------------------------
    def dispatch(self, request: RecordedRequest) -> Reply | None:
        """Record, then answer; None means "send no answer" (a simulated timeout)."""
        with self._lock:
            self.requests.append(request)
            key = (request.method.upper(), request.path)
            route = self._routes.get(key)
            if route is None:
                # Like the real gateway: an HTML page, no JSON body, no weight header.
                return Reply(404, NOT_FOUND_HTML, {"Content-Type": "text/html"})
            if self._timeouts[key]:
                self._timeouts[key] -= 1
                return None
            reply = self._check(request, route) or self._answer(key)
            return self._with_weight(reply, key, route)

    def _check(self, request: RecordedRequest, route: Route) -> Reply | None:
        api_key = request.headers.get("x-mbx-apikey") or None
        if route.security == "NONE" or (route.security == "MARKET_DATA" and api_key is None):
            return None
        if api_key not in self._keys:
            return error_reply(401, -2015, MSG_BAD_KEY)
        if route.security not in SIGNED:
            return None  # USER_STREAM / MARKET_DATA: key only; a stray timestamp or signature is ignored
        try:
            request.params()
        except ValueError:
            return error_reply(400, -1100, "Illegal characters found in a parameter.")
        return self._check_timing(request) or self._check_signature(request, api_key)

    def _check_timing(self, request: RecordedRequest) -> Reply | None:
        timestamp = request.param("timestamp")
        if timestamp is None or not _TIMESTAMP_RE.fullmatch(timestamp):
            return error_reply(400, -1102, _mandatory("timestamp"))
        recv_text = request.param("recvWindow")
        recv_window = Decimal(5000)
        if recv_text is not None:
            if not _RECV_WINDOW_RE.fullmatch(recv_text):
                return error_reply(400, -1130, "Data sent for parameter 'recvWindow' is not valid.")
            recv_window = Decimal(recv_text)
            if recv_window > 60000:
                return error_reply(400, -1131, MSG_RECV_WINDOW)
        now = self._now_ms()
        # Binance's rule: strict '<' on the +1 s side, inclusive '<=' on the recvWindow side.
        if not int(timestamp) < now + 1000:
            return error_reply(400, -1021, MSG_AHEAD)
        if not now - int(timestamp) <= recv_window:
            return error_reply(400, -1021, MSG_OUTSIDE_WINDOW)
        return None

    def _check_signature(self, request: RecordedRequest, api_key: str) -> Reply | None:
        try:
            payload, signature = split_signed(request.raw_query, request.body)
        except ValueError:
            return error_reply(400, -1101, "Duplicate values for a parameter detected.")
        if not signature:
            return error_reply(400, -1102, _mandatory("signature"))
        kind, material = self._keys[api_key]
        if kind == "HMAC":
            valid = verify_hmac(material, payload, signature)
        elif kind == "RSA":
            valid = verify_rsa(material, payload, signature)
        else:
            valid = verify_ed25519(material, payload, signature)
        return None if valid else error_reply(400, -1022, MSG_BAD_SIGNATURE)

    def _answer(self, key: tuple[str, str]) -> Reply:
        if self._failures[key]:
            return self._failures[key].popleft()
        if key in self._replies:
            return self._replies[key]
        if key == ("GET", "/api/v3/time"):
            return json_reply(200, {"serverTime": self._now_ms()})
        return json_reply(200, {})

    def _with_weight(self, reply: Reply, key: tuple[str, str], route: Route) -> Reply:
        # Binance counts weight per endpoint per minute, rejected requests included.
        header = route.weight_header(key[1])
        minute = self._now_ms() // 60_000
        counter_key = (header, *key)
        start, used = self._weights.get(counter_key, (minute, 0))
        used = (used if start == minute else 0) + route.weight()
        self._weights[counter_key] = (minute, used)
        return Reply(reply.status, reply.body, {header: str(used), **reply.headers})

    # -- front ends ----------------------------------------------------------------------------
    def handle(self, request: httpx.Request) -> httpx.Response:
        """httpx.MockTransport handler; raises httpx.ReadTimeout for a timeout_next route."""
        recorded = RecordedRequest(
            method=request.method,
            path=request.url.path,
            raw_query=request.url.query,
            body=request.content,
            headers={name.lower(): value for name, value in request.headers.items()},
        )
        reply = self.dispatch(recorded)
        if reply is None:
            raise httpx.ReadTimeout("fake Binance sent no answer", request=request)
        return httpx.Response(reply.status, headers=reply.headers, content=reply.body)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Real loopback HTTP server; yields its base URL and stops on exit."""
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        # A short poll interval keeps shutdown() fast (the default 0.5 s adds up over many tests).
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-binance", daemon=True
        )
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


class _Server(ThreadingHTTPServer):
    fake: FakeBinance
    daemon_threads = True


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 so clients reuse connections, as they do against the real gateway.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY each reply waits ~40 ms.
    disable_nagle_algorithm = True
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        recorded = RecordedRequest(
            method=self.command,
            path=unquote(path),
            # http.server decodes the request line as latin-1; encoding back restores the exact bytes.
            raw_query=query.encode("latin-1"),
            body=body,
            headers={name.lower(): value for name, value in self.headers.items()},
        )
        reply = self.server.fake.dispatch(recorded)
        if reply is None:
            # Hang up without a status line: the client sees a dropped connection, as on a network cut.
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging to stderr."""
