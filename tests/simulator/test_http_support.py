"""Helpers shared by the paper exchange front-end tests: a stub exchange, a settable clock, hand signing.

Signatures here are computed directly with hmac/cryptography, never with the project's signer.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from binance_margin_mcp.simulator.http import SimulatorApp
from binance_margin_mcp.simulator.keys import KeyRegistry
from binance_margin_mcp.simulator.limits import WeightLimiter

NOW = 1_700_000_000_000  # 20 s into a minute: a 429 now says Retry-After 40
KEY = "simKEYaaaa0000111122223333444455556666777788889999bbbbccccddddee"
SECRET = "simSECRETzz99998888777766665555444433332222111100yyyyxxxxwwwwvvv"
USER = "alice"
KEY_B = "simKEYbbbb0000111122223333444455556666777788889999bbbbccccddddee"
SECRET_B = "simSECRETyy99998888777766665555444433332222111100yyyyxxxxwwwwvvv"
USER_B = "bob"
ORDER_PATH = "/sapi/v1/margin/order"
ACCOUNT_PATH = "/sapi/v1/margin/account"
ORDER = [
    ("symbol", "BTCUSDT"),
    ("side", "BUY"),
    ("type", "LIMIT"),
    ("timeInForce", "GTC"),
    ("quantity", "0.001"),
    ("price", "30000"),
]


class Clock:
    """Settable millisecond clock."""

    def __init__(self, now: int = NOW) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


class StubExchange:
    """Records every call; answers `result` or raises `error`."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, str]]] = []
        self.public_calls: list[tuple[str, dict[str, str]]] = []
        self.ensured: list[str] = []
        self.result: Any = {"ok": True}
        self.error: BaseException | None = None

    def handle(self, user: str, endpoint: str, params: Mapping[str, str]) -> Any:
        self.calls.append((user, endpoint, dict(params)))
        if self.error is not None:
            raise self.error
        return self.result

    def public(self, path: str, params: Mapping[str, str]) -> Any:
        self.public_calls.append((path, dict(params)))
        return {"serverTime": NOW}

    def ensure_user(self, user: str) -> None:
        self.ensured.append(user)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw)

    @property
    def code(self) -> int:
        return self.json["code"]

    @property
    def msg(self) -> str:
        return self.json["msg"]


def encode(pairs: Sequence[tuple[str, str]]) -> bytes:
    """RFC 3986 encoding, as the client sends it."""
    return "&".join(f"{quote(n, safe='')}={quote(v, safe='')}" for n, v in pairs).encode("ascii")


def hmac_hex(secret: str, payload: bytes) -> str:
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def signed(pairs: Sequence[tuple[str, str]], secret: str = SECRET, *, timestamp: int | str | None = NOW) -> bytes:
    """`pairs` + timestamp (unless None), then `&signature=` over exactly those bytes."""
    payload = encode([*pairs, ("timestamp", str(timestamp))] if timestamp is not None else pairs)
    return payload + b"&signature=" + hmac_hex(secret, payload).encode()


def make_app(
    limiter: WeightLimiter | None = None, clock: Clock | None = None
) -> tuple[SimulatorApp, StubExchange, Clock]:
    clock = clock or Clock()
    keys = KeyRegistry()
    keys.add_hmac(KEY, SECRET, USER)
    keys.add_hmac(KEY_B, SECRET_B, USER_B)
    exchange = StubExchange()
    return SimulatorApp(exchange, keys, clock_ms=clock, limiter=limiter), exchange, clock


def call(
    app: SimulatorApp,
    method: str,
    path: str,
    query: bytes = b"",
    body: bytes = b"",
    *,
    key: str | None = KEY,
    headers: Mapping[str, str] | None = None,
    ip: str = "127.0.0.1",
) -> Answer:
    sent = {"X-MBX-APIKEY": key} if key is not None else {}
    if body:
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    sent.update(headers or {})
    status, out, raw = app.handle_request(method, path, query, body, sent, client_ip=ip)
    return Answer(status, out, raw)
