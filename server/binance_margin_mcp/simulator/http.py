"""Binance's REST front end for the paper exchange: route, authenticate, charge weight, validate, execute.

`SimulatorApp.handle_request` takes a request as raw bytes and answers (status, headers, body) after
Binance's checks in Binance's order (fact sheet §1.7, §2, §3, §9). `transport()` serves it in process
to httpx; `serve.serve()` puts it on a loopback port.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import httpx

from binance_margin_mcp.catalog import CATALOG, Param, Security, Weight
from binance_margin_mcp.simulator.errors import SimError
from binance_margin_mcp.simulator.keys import API_KEY_RE, KeyRegistry, verify
from binance_margin_mcp.simulator.limits import LimitKind, WeightLimiter
from binance_margin_mcp.simulator.request_params import (
    Pair,
    mandatory,
    params_of,
    parse_pairs,
    unsigned_payload,
    validate,
)

logger = logging.getLogger("binance_margin_mcp.simulator")

JSON_TYPE = "application/json"
ANONYMOUS = "anonymous"
NOT_FOUND_HTML = b"<html><body><h1>404 Not Found</h1></body></html>"
BAD_GATEWAY_HTML = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
MSG_UNKNOWN = "An unknown error occurred while processing the request."
# Fault markers (see SimulatorApp.inject).
FAULT_KINDS = (
    "http_500",
    "http_500_after_apply",
    "html_502",
    "timeout_before_apply",
    "timeout_after_apply",
    "reset_after_apply",
    "truncated_json",
)

_TIMESTAMP_RE = re.compile(r"[0-9]{1,20}")
# recvWindow may carry up to three decimals (microseconds) since 2025.
_RECV_WINDOW_RE = re.compile(r"[0-9]{1,12}(\.[0-9]{1,3})?")

Reply = tuple[int, dict[str, str], bytes]
FaultAction = str | Callable[[str, dict[str, str]], "Reply | None"]


class Exchange(Protocol):
    """What the front end needs from the exchange core."""

    def handle(self, user: str, endpoint: str, params: Mapping[str, str]) -> Any: ...
    def public(self, path: str, params: Mapping[str, str]) -> Any: ...
    def ensure_user(self, user: str) -> None: ...


class ConnectionDropped(Exception):
    """Answer nothing: the in-process transport raises httpx.ReadTimeout, the server hangs up."""

    def __init__(self, endpoint: str, reset: bool = False) -> None:
        super().__init__(endpoint)
        self.reset = reset  # a connection reset rather than a silent timeout


@dataclass(frozen=True)
class Route:
    """One served endpoint: a catalog entry, or one of the public /api/v3 routes (security "NONE")."""

    name: str  # catalog tool name; the path for a public route
    method: str
    path: str
    security: str
    weight: Weight
    params: tuple[Param, ...]

    @property
    def public(self) -> bool:
        return self.security == "NONE"

    @property
    def signed(self) -> bool:
        return self.security != "NONE" and Security(self.security).signed

    @property
    def limit(self) -> LimitKind:
        return "API" if self.public else self.weight.limit

    @property
    def weight_header(self) -> str:
        if self.public:
            return "X-MBX-USED-WEIGHT-1M"
        return f"X-SAPI-USED-{self.weight.limit}-WEIGHT-1M"


def _public(path: str, weight: Weight, *params: Param) -> Route:
    return Route(path, "GET", path, "NONE", weight, params)


PUBLIC_ROUTES: tuple[Route, ...] = (
    _public("/api/v3/time", Weight("IP", 1)),
    _public(
        "/api/v3/exchangeInfo",
        Weight("IP", 20),
        Param("symbol", "string"),
        Param("symbols", "string"),
        Param("permissions", "string"),
        Param("showPermissionSets", "boolean"),
        Param("symbolStatus", "enum", enum=("TRADING", "HALT", "BREAK")),
    ),
    # 2 for one symbol, 4 for all or a list.
    _public(
        "/api/v3/ticker/price", Weight("IP", 2, "symbol", (), 4), Param("symbol", "string"), Param("symbols", "string")
    ),
)


def build_routes() -> dict[tuple[str, str], Route]:
    routes = {
        (e.method, e.path): Route(e.name, e.method, e.path, e.security.value, e.weight, e.params)
        for e in CATALOG.values()
    }
    routes.update({(r.method, r.path): r for r in PUBLIC_ROUTES})
    return routes


@dataclass(frozen=True)
class Fault:
    """A one-shot fault for the next executable request matching `endpoint` (None: any)."""

    action: FaultAction
    endpoint: str | None = None  # catalog tool name, path, or "METHOD /path"

    def matches(self, route: Route) -> bool:
        return self.endpoint in (None, route.name, route.path, f"{route.method} {route.path}")


class SimulatorApp:
    """The paper exchange's HTTP front end, independent of any socket.

    Faults (`inject`) act on the next request that passed every check and would execute:
    "http_500" answers 500 -1000 without executing; "http_500_after_apply" executes, then answers that;
    "html_502" answers an HTML 502 without executing; "timeout_before_apply" drops the request
    unexecuted; "timeout_after_apply" executes, then drops the answer (httpx.ReadTimeout in process, a
    closed connection on the server); "reset_after_apply" executes, then resets the connection;
    "truncated_json" executes and sends the first half of the JSON. A
    callable `fn(endpoint_name, params)` may return a reply tuple (used instead of executing) or None.
    """

    def __init__(
        self,
        exchange: Exchange,
        keys: KeyRegistry,
        *,
        clock_ms: Callable[[], int] | None = None,
        limiter: WeightLimiter | None = None,
    ) -> None:
        self.exchange = exchange
        self.keys = keys
        exchange_clock = getattr(exchange, "clock_ms", None)
        self.clock_ms = clock_ms or (exchange_clock if callable(exchange_clock) else _wall_clock_ms)
        self.limiter = limiter or WeightLimiter(self.clock_ms)
        self.routes = build_routes()
        self.faults: deque[Fault | FaultAction] = deque()
        self._faults_lock = threading.Lock()
        self._exchange_lock = threading.RLock()  # the exchange core is not required to be thread-safe
        self._ensured: set[str] = set()

    # -- faults -----------------------------------------------------------------------------------
    def inject(self, fault: FaultAction, endpoint: str | None = None) -> Fault:
        """Queue a one-shot fault (a FAULT_KINDS marker or a callable) for the next matching request."""
        if not callable(fault) and fault not in FAULT_KINDS:
            raise ValueError(f"unknown fault {fault!r}; use one of {', '.join(FAULT_KINDS)} or a callable")
        item = Fault(fault, endpoint)
        if endpoint is not None and not any(item.matches(route) for route in self.routes.values()):
            raise ValueError(f"no route matches {endpoint!r}")
        with self._faults_lock:
            self.faults.append(item)
        return item

    def _take_fault(self, route: Route) -> Fault | None:
        with self._faults_lock:
            for item in self.faults:
                fault = item if isinstance(item, Fault) else Fault(item)
                if fault.matches(route):
                    self.faults.remove(item)
                    return fault
        return None

    # -- front ends -------------------------------------------------------------------------------
    def transport(self, client_ip: str = "127.0.0.1") -> SimulatorTransport:
        """In-process transport for httpx.AsyncClient (or httpx.Client): no socket involved."""
        return SimulatorTransport(self, client_ip)

    def handle_request(
        self,
        method: str,
        path: str,
        raw_query: bytes,
        body: bytes,
        headers: Mapping[str, str],
        client_ip: str = "127.0.0.1",
    ) -> Reply:
        """Answer one request; raises ConnectionDropped when a fault says to answer nothing."""
        route = self.routes.get((method.upper(), path))
        if route is None:  # like Binance's gateway: an HTML page, no JSON, no weight charged
            return 404, {"Content-Type": "text/html"}, NOT_FOUND_HTML
        out = {"Content-Type": JSON_TYPE}
        try:
            return self._process(route, bytes(raw_query), bytes(body), headers, client_ip, out)
        except SimError as exc:
            return exc.http_status, {**out, **exc.headers}, _dumps(exc.body())
        except ConnectionDropped:
            raise
        except Exception:
            logger.exception("paper exchange: internal error on %s %s", route.method, route.path)
            return 500, out, _dumps({"code": -1000, "msg": MSG_UNKNOWN})

    # -- the pipeline -----------------------------------------------------------------------------
    def _process(
        self, route: Route, raw_query: bytes, body: bytes, headers: Mapping[str, str], ip: str, out: dict[str, str]
    ) -> Reply:
        lowered = {name.lower(): value for name, value in headers.items()}
        content_type = lowered.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in ("", "application/x-www-form-urlencoded"):
            body = b""  # only a form body carries (and signs) parameters
        query, form = parse_pairs(raw_query), parse_pairs(body)
        params = params_of(query)
        for name, value in params_of(form).items():
            params.setdefault(name, value)  # the query value wins
        user = self._authenticate(route, lowered.get("x-mbx-apikey"), query, form, params)
        self._charge(route, params, ip, user, out)
        return self._execute(route, user, validate(route.params, params), out)

    def _authenticate(
        self, route: Route, api_key: str | None, query: list[Pair], form: list[Pair], params: dict[str, str]
    ) -> str:
        if route.public:  # security NONE: no key needed
            return ANONYMOUS
        # Every other route, MARKET_DATA included (fact sheet 1.1, 3.1), needs a known key in X-MBX-APIKEY.
        # MARKET_DATA and USER_STREAM take no signature: a signed call is accepted, its signature not checked.
        if not api_key:
            raise SimError(-2014, "API-key format invalid.", 401)
        if not API_KEY_RE.fullmatch(api_key):
            raise SimError(-2014, "API-key format invalid.", 401)
        entry = self.keys.lookup(api_key)
        if entry is None:
            raise SimError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        if route.signed:
            self._check_timestamp(params)
            signatures = [p.value for p in query if p.name == "signature"]
            signatures += [p.value for p in form if p.name == "signature"]
            if len(signatures) > 1:  # one in the query and one in the body
                raise SimError(-1101, "Duplicate values for a parameter detected.")
            if not signatures or not signatures[0]:
                raise SimError(-1102, mandatory("signature"))
            if not verify(entry, unsigned_payload(query) + unsigned_payload(form), signatures[0]):
                raise SimError(-1022, "Signature for this request is not valid.")
        return entry.user

    def _check_timestamp(self, params: dict[str, str]) -> None:
        timestamp = params.get("timestamp", "")
        if not _TIMESTAMP_RE.fullmatch(timestamp):
            raise SimError(-1102, mandatory("timestamp"))
        window_us = 5_000_000
        recv_window = params.get("recvWindow", "")
        if recv_window:
            if not _RECV_WINDOW_RE.fullmatch(recv_window):
                raise SimError(-1130, "Data sent for parameter 'recvWindow' is not valid.")
            if Decimal(recv_window) > 60000:
                raise SimError(-1131, "recvWindow must be less than 60000")
            window_us = int(Decimal(recv_window) * 1000)
        now_us = self.clock_ms() * 1000
        # Milliseconds, or microseconds (16+ digits) as Binance also accepts.
        ts_us = int(timestamp) if len(timestamp.lstrip("0")) >= 16 else int(timestamp) * 1000
        # Binance's rule: strict '<' on the +1 s side, inclusive '<=' on the recvWindow side.
        if not ts_us < now_us + 1_000_000:
            raise SimError(-1021, "Timestamp for this request was 1000ms ahead of the server's time.")
        if not now_us - ts_us <= window_us:
            raise SimError(-1021, "Timestamp for this request is outside of the recvWindow.")

    def _charge(self, route: Route, params: dict[str, str], ip: str, user: str, out: dict[str, str]) -> None:
        counter = (route.limit, f"{route.method} {route.path}")
        try:
            used = self.limiter.charge(*counter, route.weight.cost(params), ip=ip, user=user)
        except SimError:
            out[route.weight_header] = str(self.limiter.used(*counter, ip=ip, user=user))
            raise
        out[route.weight_header] = str(used)

    def _execute(self, route: Route, user: str, params: dict[str, str], out: dict[str, str]) -> Reply:
        fault = self._take_fault(route)
        action = fault.action if fault is not None else None
        if callable(action):
            reply = action(route.name, dict(params))
            if reply is not None:
                status, headers, content = reply
                return status, {**out, **headers}, content if isinstance(content, bytes) else _dumps(content)
            action = None
        if action == "http_500":
            return 500, out, _dumps({"code": -1000, "msg": MSG_UNKNOWN})
        if action == "html_502":
            return 502, {**out, "Content-Type": "text/html"}, BAD_GATEWAY_HTML
        if action == "timeout_before_apply":
            raise ConnectionDropped(route.name)
        if action is not None and action not in FAULT_KINDS:
            raise ValueError(f"unknown fault {action!r}")
        try:
            status, headers, content = 200, out, _dumps(self._call(route, user, params))
        except SimError as exc:
            if action is None:
                raise
            # "after apply" means whatever the exchange decided, a rejection included, is lost in transit.
            status, headers, content = exc.http_status, {**out, **exc.headers}, _dumps(exc.body())
        if action in ("timeout_after_apply", "reset_after_apply"):
            raise ConnectionDropped(route.name, reset=action == "reset_after_apply")
        if action == "http_500_after_apply":
            return 500, out, _dumps({"code": -1000, "msg": MSG_UNKNOWN})
        if action == "truncated_json":
            return status, headers, content[: max(1, len(content) // 2)]
        return status, headers, content

    def _call(self, route: Route, user: str, params: dict[str, str]) -> Any:
        with self._exchange_lock:
            if route.path == "/api/v3/time":
                # The time we report must be the clock we judge timestamps by.
                result = {"serverTime": self.clock_ms()}
            elif route.public:
                result = self.exchange.public(route.path, params)
            else:
                if user != ANONYMOUS and user not in self._ensured:
                    self.exchange.ensure_user(user)
                    self._ensured.add(user)
                result = self.exchange.handle(user, route.name, params)
        return {} if result is None else result


class SimulatorTransport(httpx.AsyncBaseTransport, httpx.BaseTransport):
    """httpx transport into a SimulatorApp: the raw query bytes and body go in exactly as sent."""

    def __init__(self, app: SimulatorApp, client_ip: str = "127.0.0.1") -> None:
        self._app = app
        self._client_ip = client_ip

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return self._respond(request, await request.aread())

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._respond(request, request.read())

    def _respond(self, request: httpx.Request, body: bytes) -> httpx.Response:
        path = request.url.raw_path.split(b"?", 1)[0].decode("ascii", "replace")
        headers = dict(request.headers)
        try:
            status, out, content = self._app.handle_request(
                request.method, path, request.url.query, body, headers, client_ip=self._client_ip
            )
        except ConnectionDropped as dropped:
            if dropped.reset:
                raise httpx.RemoteProtocolError("connection reset by the paper exchange", request=request) from None
            raise httpx.ReadTimeout("paper exchange sent no answer", request=request) from None
        return httpx.Response(status, headers=out, content=content, request=request)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000
