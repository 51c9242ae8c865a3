"""Binance server time per host: an offset measured at first use, refreshed periodically and after -1021.

Signed requests carry `timestamp`; a local clock a few seconds off makes every one fail with -1021,
so timestamps are local time plus the last measured offset (midpoint of the round trip).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

REFRESH_MS = 10 * 60_000  # re-measure every 10 minutes; drift is slow, a -1021 forces it sooner


@dataclass(frozen=True)
class Offset:
    offset_ms: int
    measured_at_ms: int
    round_trip_ms: int


class ServerClock:
    """Local clock + per-host offset to the server's clock."""

    def __init__(self, local_ms: Callable[[], int], refresh_ms: int = REFRESH_MS) -> None:
        self._local_ms = local_ms
        self._refresh_ms = refresh_ms
        self._offsets: dict[str, Offset] = {}
        self._lock = threading.Lock()

    def local(self) -> int:
        return self._local_ms()

    def now(self, host: str) -> int:
        offset = self._offsets.get(host)
        return self._local_ms() + (offset.offset_ms if offset else 0)

    def needs_sync(self, host: str) -> bool:
        offset = self._offsets.get(host)
        return offset is None or self._local_ms() - offset.measured_at_ms >= self._refresh_ms

    def record(self, host: str, sent_ms: int, server_ms: int, received_ms: int) -> Offset:
        """Offset = server time minus the midpoint of the round trip."""
        offset = Offset(server_ms - (sent_ms + received_ms) // 2, received_ms, received_ms - sent_ms)
        with self._lock:
            self._offsets[host] = offset
        return offset

    def forget(self, host: str) -> None:
        """After a -1021 the offset is stale: the next signed request measures again."""
        with self._lock:
            self._offsets.pop(host, None)

    def offset(self, host: str) -> Offset | None:
        return self._offsets.get(host)
