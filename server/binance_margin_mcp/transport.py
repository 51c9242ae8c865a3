"""Send one Binance request: encode once, sign exactly those bytes, and map every answer or failure.

All parameters travel in the query string (as Binance's own SDK sends them), percent-encoded per
RFC 3986; the signature covers precisely the bytes before `&signature=`. One pooled
`httpx.AsyncClient` per base URL; the transport and clock are injected so tests use the real stack.

httpx is imported on first use, or earlier by `warm_up()` on a background thread (with the TLS context),
so neither the server's start nor its first request waits for them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from binance_margin_mcp.catalog.model import Endpoint
from binance_margin_mcp.errors import ApiError, IpBanned, OutcomeUnknown, RateLimited, TransportError
from binance_margin_mcp.signing import Signer

if TYPE_CHECKING:
    import httpx

    Route = httpx.AsyncBaseTransport | Callable[[], httpx.AsyncBaseTransport]

USER_AGENT = "binance-margin-trading/1.0.0 (Skill)"
WEIGHT_HEADERS = ("x-sapi-used-ip-weight-1m", "x-sapi-used-uid-weight-1m", "x-mbx-used-weight-1m")
# (connect, read, write, pool) seconds. Binance's front end waits up to 10 s for the matching engine, so a
# write gets a little longer.
READ_TIMEOUT = (5.0, 10.0, 10.0, 10.0)
WRITE_TIMEOUT = (5.0, 15.0, 15.0, 15.0)
_UNKNOWN_CODES = {-1006, -1007}  # "execution status unknown" in Binance's own words
# How long the warm-up waits before importing httpx: past the start-up (spawn -> tools/list is about 0.5 s).
WARM_IMPORT_DELAY_S = 1.0

log = logging.getLogger(__name__)
# httpx logs every URL at INFO; ours carry signatures and account activity: keep them quiet.
for _noisy in ("httpx", "httpcore"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)


def encode_params(pairs: Sequence[tuple[str, str]]) -> str:
    """RFC 3986 percent-encoding of name=value pairs (UTF-8; only A-Z a-z 0-9 - . _ ~ stay literal)."""
    return "&".join(f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in pairs)


@dataclass(frozen=True)
class Credentials:
    """What the transport needs from an account: where to send, which key header, how to sign."""

    base_url: str
    api_key: str | None
    signer: Signer | None
    environment: str = "Mainnet"
    recv_window: int | None = None  # the account's TOOLS.md `Recv Window` (ms); None: Binance's default

    def unsigned(self) -> Credentials:
        """Same host and environment, no key and no signer: for public endpoints that must not carry the key."""
        return Credentials(self.base_url, None, None, self.environment)

    @property
    def uid_scope(self) -> str:
        """UID limits are per account: a digest of the key names the account without holding the key."""
        return hashlib.sha256((self.api_key or "").encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ApiResponse:
    """A successful answer: Binance's JSON (floats kept exact as Decimal) plus response metadata."""

    data: Any
    http_status: int
    weights: dict[str, str] = field(default_factory=dict)
    url_path: str = ""
    budget: dict[str, Any] = field(default_factory=dict)  # this endpoint's weight budget after the request


@dataclass(frozen=True)
class SentRequest:
    """Exactly what went on the wire (minus the key header), for logs and the journal."""

    method: str
    path: str
    query: str  # without the signature


class BinanceHttp:
    """Pooled async HTTP to Binance hosts; the only place that builds signed URLs."""

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport | None = None,
        clock_ms: Callable[[], int] | None = None,
        routes: Mapping[str, Route] | None = None,
    ) -> None:
        self._transport = transport
        # base URL -> transport, or a function making it on first use (the in-process paper exchange)
        self._routes = dict(routes or {})
        self._clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        self._clients: dict[str, httpx.AsyncClient] = {}
        self._tls: ssl.SSLContext | None = None
        self._warming: threading.Thread | None = None
        self._needed = threading.Event()  # a request wants the HTTP stack now: the warm-up stops waiting

    def warm_up(self) -> None:
        """Build the TLS context now and import httpx/httpcore a little later, on a daemon thread, so that the
        first request pays for neither (about 40 ms) and start-up does not wait for them. Call it once the
        server is built."""
        if self._warming is None and self._transport is None:
            self._warming = threading.Thread(target=self._warm, name="http-warm-up", daemon=True)
            self._warming.start()

    def _warm(self) -> None:
        try:
            self._tls_context()  # OpenSSL reads the CA bundle without holding the GIL: start-up goes on meanwhile
            # The imports do hold the GIL: they wait until start-up is over, or until a request needs them.
            self._needed.wait(WARM_IMPORT_DELAY_S)
            import httpcore  # noqa: F401  (what the first client imports: h11, the connection pool)
            import httpx  # noqa: F401
        except Exception as exc:  # the first request tries again and reports it
            log.warning("HTTP warm-up failed (%s)", type(exc).__name__)

    def _tls_context(self) -> ssl.SSLContext:
        """One TLS context for every host: httpx's default (certifi's CA bundle), built once."""
        if self._tls is None:
            import certifi

            self._tls = ssl.create_default_context(cafile=certifi.where())
        return self._tls

    def _client(self, base_url: str) -> httpx.AsyncClient:
        client = self._clients.get(base_url)
        if client is None:
            if self._warming is not None:
                self._needed.set()
                self._warming.join()  # at most the rest of the warm-up, on the first request only
            import httpx

            transport = self._routes.get(base_url, self._transport)
            if transport is not None and not isinstance(transport, httpx.AsyncBaseTransport):
                transport = transport()
            client = httpx.AsyncClient(
                base_url=base_url,
                transport=transport,
                verify=self._tls_context() if transport is None else True,
                headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
                follow_redirects=False,  # a redirect could carry the key header somewhere else
                trust_env=False,  # no proxy from the environment sees signed requests
            )
            self._clients[base_url] = client
        return client

    def build_query(
        self, entry: Endpoint, pairs: Sequence[tuple[str, str]], creds: Credentials, timestamp_ms: int | None = None
    ) -> tuple[str, str]:
        """(query sent, query without signature); signed endpoints get timestamp then signature."""
        if not entry.security.signed:
            query = encode_params(pairs)
            return query, query
        if creds.signer is None:
            raise TransportError(f"{entry.name} needs a signature but the account has no signing key.")
        timestamp = self._clock_ms() if timestamp_ms is None else timestamp_ms
        if creds.recv_window is not None and all(name != "recvWindow" for name, _ in pairs):
            pairs = [*pairs, ("recvWindow", str(creds.recv_window))]
        payload = encode_params([*pairs, ("timestamp", str(timestamp))])
        signature = creds.signer.sign(payload.encode("ascii"))
        return f"{payload}&signature={quote(signature, safe='')}", payload

    async def send(
        self, entry: Endpoint, pairs: Sequence[tuple[str, str]], creds: Credentials, timestamp_ms: int | None = None
    ) -> tuple[ApiResponse, SentRequest]:
        import httpx

        query, unsigned = self.build_query(entry, pairs, creds, timestamp_ms)
        sent = SentRequest(entry.method, entry.path, unsigned)
        headers = {"X-MBX-APIKEY": creds.api_key} if creds.api_key else {}
        url = entry.path + (f"?{query}" if query else "")
        is_write = entry.method != "GET"
        try:
            response = await self._client(creds.base_url).request(
                entry.method, url, headers=headers, timeout=WRITE_TIMEOUT if is_write else READ_TIMEOUT
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # The connection never opened, so nothing reached Binance: safe to report as not sent.
            raise TransportError(
                f"Could not connect to {creds.base_url} ({type(exc).__name__}); nothing was sent."
            ) from None
        except httpx.HTTPError as exc:
            if is_write:
                raise OutcomeUnknown(
                    f"No answer from Binance for {entry.endpoint_id} ({type(exc).__name__}): the request may have "
                    "been executed. Do NOT resend; query the order/records first.",
                    client_ids_of(entry, pairs),
                ) from None
            raise TransportError(f"No answer from Binance for {entry.endpoint_id} ({type(exc).__name__}).") from None
        return self._interpret(entry, pairs, response, creds, is_write), sent

    def _interpret(
        self,
        entry: Endpoint,
        pairs: Sequence[tuple[str, str]],
        response: httpx.Response,
        creds: Credentials,
        is_write: bool,
    ) -> ApiResponse:
        weights = {name: response.headers[name] for name in WEIGHT_HEADERS if name in response.headers}
        body = _parse_json(response.content)
        status = response.status_code
        code, msg = _code_msg(body)
        unknown = status >= 500 or code in _UNKNOWN_CODES
        if unknown and is_write:
            detail = f"Binance {code}: {msg}" if code is not None else f"HTTP {status}"
            raise OutcomeUnknown(
                f"{detail} on {entry.endpoint_id}: execution status unknown. Do NOT resend; query the order/records "
                "first.",
                client_ids_of(entry, pairs),
            )
        if 200 <= status < 300 and code is None:
            if body is _INVALID:
                if is_write:
                    raise OutcomeUnknown(
                        f"Binance answered {entry.endpoint_id} with a body that is not JSON: the request may have been "
                        "executed. Do NOT resend; query first.",
                        client_ids_of(entry, pairs),
                    )
                raise TransportError(f"Binance answered {entry.endpoint_id} with a body that is not JSON.")
            return ApiResponse(body, status, weights, entry.path)
        retry_after = _retry_after(response)
        if status == 418:
            raise IpBanned(code, msg or "IP banned", status, entry.endpoint_id, retry_after)
        if status == 429:
            raise RateLimited(code, msg or "Too many requests", status, entry.endpoint_id, retry_after)
        if status == 404 and code is None:
            if creds.environment == "Testnet":
                raise ApiError(
                    None,
                    "Not found",
                    404,
                    entry.endpoint_id,
                    hint="Binance's spot testnet serves no margin endpoints; use a Paper account to practise margin.",
                )
            raise ApiError(None, "Not found", 404, entry.endpoint_id, hint="Check the account's Base URL.")
        if status >= 500:
            raise TransportError(f"Binance had an internal error (HTTP {status}) on {entry.endpoint_id}; try again.")
        return_msg = msg if msg is not None else f"HTTP {status} without a Binance error body"
        raise ApiError(code, return_msg, status, entry.endpoint_id)

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


_INVALID = object()


def _parse_json(content: bytes) -> Any:
    if not content:
        return _INVALID
    try:
        # Exact decimals: a bare JSON number must never pass through a binary float.
        return json.loads(content, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        return _INVALID


def _code_msg(body: Any) -> tuple[int | None, str | None]:
    if isinstance(body, dict) and isinstance(body.get("code"), int) and "msg" in body:
        code = body["code"]
        # Some SAPI success bodies carry {"code": 200, ...}; only negative codes are errors.
        if code < 0:
            return code, str(body["msg"])
    return None, None


def _retry_after(response: httpx.Response) -> int | None:
    value = response.headers.get("retry-after")
    return int(value) if value is not None and value.isdigit() else None


def client_ids_of(entry: Endpoint, pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """The client ids a request names (its NEW ids), by parameter name."""
    new_ids = {p.name for p in entry.params if p.client_id is not None}
    return {name: value for name, value in pairs if name in new_ids}
