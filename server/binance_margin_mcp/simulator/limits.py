"""Request weight per minute, counted the way Binance documents it for /sapi and /api (fact sheet §3.2).

IP-limited /sapi endpoints count per client IP per endpoint (12000/min), UID-limited ones per user per
endpoint (180000/min), /api/* per IP shared by every endpoint (6000/min).

The escalation rule (fact sheet §3.2): over any limit the answer is 429 -1003 with Retry-After, the
seconds to the end of the minute, and the refused request adds no weight. Only the /api IP limit
escalates: an IP that keeps sending /api requests over that limit after its 429 (`strikes_before_ban`
of them in the minute) is banned, 418 -1003 with Retry-After, 120 s doubling on each new ban up to
3 days, and while banned every request from that IP gets the 418. /sapi limits (IP or UID weight)
answer 429 however often they are broken and never ban, so a /sapi burst never blocks /api/v3/time.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from binance_margin_mcp.simulator.errors import SimError

LimitKind = Literal["IP", "UID", "API"]
MINUTE_MS = 60_000
MSG_LIMITED = (
    "Too much request weight used; current limit is %s request weight per 1 MINUTE. "
    "Please use WebSocket Streams for live updates to avoid polling the API."
)
MSG_BANNED = (
    "Way too much request weight used; IP banned until %s. Please use WebSocket Streams for live updates to avoid bans."
)


@dataclass
class _Counter:
    minute: int
    used: int = 0
    strikes: int = 0  # requests refused with 429 in this minute (only /api's lead to a ban)


class WeightLimiter:
    """Per-minute weight counters with Binance's 429 (and, for /api, 418) answers; thread-safe, injected clock.

    `strikes_before_ban` is how many 429s the /api counter of an IP gives in one minute before the next
    over-limit /api request bans the IP. /sapi counters only ever answer 429. Refused requests add no weight.
    """

    def __init__(
        self,
        clock_ms: Callable[[], int] | None = None,
        *,
        ip_limit: int = 12_000,
        uid_limit: int = 180_000,
        api_limit: int = 6_000,
        ban_seconds: int = 120,
        max_ban_seconds: int = 3 * 24 * 3600,
        strikes_before_ban: int = 1,
    ) -> None:
        self._clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        self.limits: dict[str, int] = {"IP": ip_limit, "UID": uid_limit, "API": api_limit}
        self.ban_seconds = ban_seconds
        self.max_ban_seconds = max_ban_seconds
        self.strikes_before_ban = strikes_before_ban
        self._counters: dict[tuple[str, str, str], _Counter] = {}
        self._bans: dict[str, int] = {}  # ip -> banned until (ms)
        self._ban_count: dict[str, int] = {}
        self._pruned_minute = -1
        self._lock = threading.Lock()

    def charge(self, limit: LimitKind, endpoint: str, weight: int, *, ip: str, user: str | None = None) -> int:
        """Add `weight`; return the weight used this minute (for the header) or raise SimError 429/418."""
        now = self._clock_ms()
        with self._lock:
            banned = self._ban_error(ip, now)
            if banned is not None:
                raise banned
            counter = self._counter(limit, endpoint, ip, user, now)
            maximum = self.limits[limit]
            if counter.used + weight <= maximum:
                counter.used += weight
                return counter.used
            if limit != "API" or counter.strikes < self.strikes_before_ban:
                counter.strikes += 1
                retry = max(1, math.ceil(((counter.minute + 1) * MINUTE_MS - now) / 1000))
                raise SimError(-1003, MSG_LIMITED % maximum, 429, {"Retry-After": str(retry)})
            self._ban(ip, now)  # only the /api IP limit escalates
            raise self._ban_error(ip, now) or AssertionError("ban not recorded")

    def used(self, limit: LimitKind, endpoint: str, *, ip: str, user: str | None = None) -> int:
        """Weight used this minute on that counter (0 if none)."""
        now = self._clock_ms()
        with self._lock:
            counter = self._counters.get(self._key(limit, endpoint, ip, user))
            return counter.used if counter is not None and counter.minute == now // MINUTE_MS else 0

    def banned_until(self, ip: str) -> int | None:
        """End of the IP's ban in ms, or None when it is not banned."""
        with self._lock:
            until = self._bans.get(ip)
        return until if until is not None and until > self._clock_ms() else None

    def reset(self) -> None:
        """Forget all counters and bans."""
        with self._lock:
            self._counters.clear()
            self._bans.clear()
            self._ban_count.clear()

    @staticmethod
    def _key(limit: str, endpoint: str, ip: str, user: str | None) -> tuple[str, str, str]:
        if limit == "UID":
            if not user:
                raise ValueError("a UID-limited endpoint needs a user")
            return ("UID", user, endpoint)
        if limit == "API":
            return ("API", ip, "/api/*")  # /api/* shares one budget per IP
        if limit == "IP":
            return ("IP", ip, endpoint)
        raise ValueError(f"unknown limit type {limit!r}")

    def _counter(self, limit: str, endpoint: str, ip: str, user: str | None, now: int) -> _Counter:
        minute = now // MINUTE_MS
        if minute != self._pruned_minute:  # old windows are dead weight: drop them once a minute
            self._counters = {k: c for k, c in self._counters.items() if c.minute == minute}
            self._pruned_minute = minute
        key = self._key(limit, endpoint, ip, user)
        counter = self._counters.get(key)
        if counter is None or counter.minute != minute:
            counter = self._counters[key] = _Counter(minute)
        return counter

    def _ban(self, ip: str, now: int) -> None:
        count = self._ban_count.get(ip, 0)
        seconds = min(self.ban_seconds * 2**count, self.max_ban_seconds)
        self._ban_count[ip] = count + 1
        self._bans[ip] = now + seconds * 1000

    def _ban_error(self, ip: str, now: int) -> SimError | None:
        until = self._bans.get(ip)
        if until is None:
            return None
        if until <= now:
            del self._bans[ip]
            return None
        retry = max(1, math.ceil((until - now) / 1000))
        return SimError(-1003, MSG_BANNED % until, 418, {"Retry-After": str(retry)})
