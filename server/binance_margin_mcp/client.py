"""The policies around one Binance request: server-time sync, weight budgets and bans, bounded read retries.

Reads (GET) are retried with exponential backoff on timeouts and 5XX, never on 4XX, 418 or 429; a read
rejected with -1021 is retried once after re-syncing the clock. Writes are never retried.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

from binance_margin_mcp.catalog.model import Endpoint
from binance_margin_mcp.errors import ApiError, IpBanned, OutcomeUnknown, RateLimited, TransportError
from binance_margin_mcp.ratelimit import WeightBook
from binance_margin_mcp.spot_endpoints import SERVER_TIME
from binance_margin_mcp.timesync import ServerClock
from binance_margin_mcp.transport import ApiResponse, BinanceHttp, Credentials, SentRequest

READ_ATTEMPTS = 3
BACKOFF_S = (0.25, 1.0)  # before the 2nd and 3rd attempt
log = logging.getLogger(__name__)


class BinanceClient:
    """Sends catalog requests with a synced clock, within the weight budget, retrying reads only."""

    def __init__(
        self,
        http: BinanceHttp,
        clock: ServerClock,
        weights: WeightBook,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.http = http
        self.clock = clock
        self.weights = weights
        self.sleep = sleep

    async def send(
        self, entry: Endpoint, pairs: Sequence[tuple[str, str]], creds: Credentials
    ) -> tuple[ApiResponse, SentRequest]:
        is_write = entry.method != "GET"
        resynced = False
        attempt = 1
        while True:
            try:
                return await self._send_once(entry, pairs, creds)
            except ApiError as error:
                if error.code != -1021 or not entry.security.signed:
                    raise
                self.clock.forget(creds.base_url)
                await self.sync(creds)
                if is_write or resynced:
                    raise error.with_hint(
                        "Binance rejected the timestamp, so nothing was executed. The clock offset is now "
                        "re-synchronised: the next attempt will carry a corrected timestamp."
                    ) from None
                resynced = True
            except OutcomeUnknown:
                raise
            except TransportError:
                if is_write or attempt >= READ_ATTEMPTS:
                    raise
                await self.sleep(BACKOFF_S[attempt - 1])
                attempt += 1

    async def _send_once(
        self, entry: Endpoint, pairs: Sequence[tuple[str, str]], creds: Credentials
    ) -> tuple[ApiResponse, SentRequest]:
        host, limit_type = creds.base_url, entry.weight.limit
        scope = creds.uid_scope if limit_type == "UID" else "ip"
        cost = entry.weight.cost(dict(pairs))
        self.weights.check(host, limit_type, scope, entry.endpoint_id, cost)
        timestamp = None
        if entry.security.signed:
            if self.clock.needs_sync(host):
                await self.sync(creds)
            timestamp = self.clock.now(host)
        try:
            response, sent = await self.http.send(entry, pairs, creds, timestamp)
        except (RateLimited, IpBanned) as error:
            why = "the IP is banned by Binance (HTTP 418)" if isinstance(error, IpBanned) else "Binance said 429"
            self.weights.block(host, error.retry_after or 60, why)
            raise
        except ApiError:
            self.weights.charge(host, limit_type, scope, entry.endpoint_id, cost, {})
            raise
        budget = self.weights.charge(host, limit_type, scope, entry.endpoint_id, cost, response.weights)
        return replace(response, budget=budget.as_meta()), sent

    async def sync(self, creds: Credentials) -> None:
        """Measure the offset to the server's clock with GET /api/v3/time (best effort)."""
        import httpx  # already imported by the transport when this runs

        host = creds.base_url
        unsigned = creds.unsigned()
        sent_ms = self.clock.local()
        try:
            response, _ = await self.http.send(SERVER_TIME, (), unsigned)
            server_ms = int(response.data["serverTime"])
        except (TransportError, ApiError, KeyError, TypeError, ValueError, httpx.HTTPError) as error:
            log.warning("could not read server time from %s (%s); using the local clock", host, type(error).__name__)
            self.clock.record(host, sent_ms, sent_ms, sent_ms)
            return
        offset = self.clock.record(host, sent_ms, server_ms, self.clock.local())
        log.info("server time offset for %s: %+d ms (round trip %d ms)", host, offset.offset_ms, offset.round_trip_ms)
