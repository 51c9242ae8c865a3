"""Request-weight budgets and bans, so the server refuses locally what Binance would answer 429/418.

SAPI limits are per endpoint and per minute: each IP-limited endpoint has 12,000 per IP, each
UID-limited one 180,000 per account; `/api/*` shares 6,000 per IP. Usage comes from the catalog's
weights and, authoritative when present, from the X-SAPI-USED-*-WEIGHT-1M / X-MBX-USED-WEIGHT-1M headers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from binance_margin_mcp.errors import McpToolError

LIMITS = {"IP": 12_000, "UID": 180_000, "API": 6_000}
MINUTE_MS = 60_000
HEADER_FOR = {
    "IP": "x-sapi-used-ip-weight-1m",
    "UID": "x-sapi-used-uid-weight-1m",
    "API": "x-mbx-used-weight-1m",
}


class LocallyRefused(McpToolError):
    """Not sent: sending now would break a rate limit or a ban is in force."""

    status = "rate_limited_locally"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s

    def payload(self) -> dict[str, object]:
        return {**super().payload(), "retryAfterSeconds": self.retry_after_s}


@dataclass(frozen=True)
class Budget:
    limit_type: str
    used: int
    limit: int

    def as_meta(self) -> dict[str, object]:
        return {
            "limitType": self.limit_type,
            "usedWeight1m": self.used,
            "limit1m": self.limit,
            "remaining1m": max(0, self.limit - self.used),
        }


class WeightBook:
    """Per-minute weight per (host, limit type, scope, endpoint), plus per-host bans and back-offs."""

    def __init__(self, clock_ms: Callable[[], int], limits: Mapping[str, int] | None = None) -> None:
        self._clock_ms = clock_ms
        self._limits = dict(limits or LIMITS)
        self._used: dict[tuple[str, str, str, str], tuple[int, int]] = {}  # key -> (minute, used)
        self._blocked: dict[str, tuple[int, str]] = {}  # host -> (until ms, why)
        self._lock = threading.Lock()

    def _minute(self) -> int:
        return self._clock_ms() // MINUTE_MS

    def used(self, key: tuple[str, str, str, str]) -> int:
        minute, used = self._used.get(key, (-1, 0))
        return used if minute == self._minute() else 0

    def check(self, host: str, limit_type: str, scope: str, endpoint: str, cost: int) -> None:
        """Raise LocallyRefused if the host is banned/backing off or `cost` would break this minute's limit."""
        now = self._clock_ms()
        blocked = self._blocked.get(host)
        if blocked and blocked[0] > now:
            wait = -(-(blocked[0] - now) // 1000)
            raise LocallyRefused(f"Not sent: {blocked[1]} for {host}; nothing will be sent there for {wait} s.", wait)
        limit = self._limits[limit_type]
        used = self.used((host, limit_type, scope, endpoint))
        if used + cost > limit:
            wait = -(-(MINUTE_MS - now % MINUTE_MS) // 1000)
            raise LocallyRefused(
                f"Not sent: {endpoint} would use {cost} {limit_type} weight with {used} of {limit} already used this "
                f"minute. Retry in {wait} s, when the minute's budget resets.",
                wait,
            )

    def charge(
        self, host: str, limit_type: str, scope: str, endpoint: str, cost: int, headers: Mapping[str, str]
    ) -> Budget:
        """Count a sent request; the server's header, when present, is the truth."""
        key = (host, limit_type, scope, endpoint)
        reported = headers.get(HEADER_FOR[limit_type])
        with self._lock:
            used = int(reported) if reported is not None and reported.isdigit() else self.used(key) + cost
            self._used[key] = (self._minute(), used)
        return Budget(limit_type, used, self._limits[limit_type])

    def block(self, host: str, retry_after_s: int, why: str) -> None:
        """Honour Retry-After: after a 429 back off, after a 418 the IP is banned; either way send nothing."""
        until = self._clock_ms() + max(1, retry_after_s) * 1000
        with self._lock:
            if until > self._blocked.get(host, (0, ""))[0]:
                self._blocked[host] = (until, why)

    def budget(self, host: str, limit_type: str, scope: str, endpoint: str) -> Budget:
        return Budget(limit_type, self.used((host, limit_type, scope, endpoint)), self._limits[limit_type])
