"""Composition root: settings + injected transport/clock -> service -> MCP server.

Nothing heavy is built here that tools/list does not need: the paper exchange opens on the first paper
call, httpx and the TLS context load on a background thread (`warm_http`) or on the first request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from binance_margin_mcp.adapter import build_mcp_server
from binance_margin_mcp.approval_page import ApprovalPage, open_in_browser
from binance_margin_mcp.catalog import CATALOG, CORE, Endpoint
from binance_margin_mcp.client import BinanceClient
from binance_margin_mcp.credentials import Account, ToolsMdStore
from binance_margin_mcp.gate import Gate
from binance_margin_mcp.journal import Journal
from binance_margin_mcp.paper import IN_PROCESS_URL, PaperVenue
from binance_margin_mcp.pipeline import Pipeline
from binance_margin_mcp.ratelimit import WeightBook
from binance_margin_mcp.service import MarginService
from binance_margin_mcp.settings import Settings
from binance_margin_mcp.timesync import ServerClock
from binance_margin_mcp.transport import BinanceHttp

if TYPE_CHECKING:
    import httpx


def build_service(
    settings: Settings,
    *,
    http_transport: httpx.AsyncBaseTransport | None = None,
    clock_ms: Callable[[], int] | None = None,
    environ: Mapping[str, str] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> MarginService:
    store = ToolsMdStore(
        settings.tools_md, allow_insecure_permissions=settings.allow_insecure_tools_md, given=settings.tools_md_given
    )
    state = settings.paper_state if settings.paper_state == ":memory:" else Path(settings.paper_state)
    # Opened on the first paper call; a state that cannot be opened leaves only the paper accounts unusable.
    venue = PaperVenue(
        state,
        clock_ms=clock_ms,
        environ=environ,
        prices=settings.paper_prices,
        market_data_url=settings.market_data_url,
        ticker=settings.paper_ticker,
    )
    local_ms = clock_ms or wall_clock_ms
    http = BinanceHttp(http_transport, local_ms, routes={IN_PROCESS_URL: venue.transport})
    client = BinanceClient(http, ServerClock(local_ms), WeightBook(local_ms), sleep=sleep)
    journal = Journal(Path(settings.journal_path) if settings.journal_path else None, clock_ms=local_ms)
    return MarginService(
        store,
        client,
        environ=environ,
        venue=venue,
        journal=journal,
        enabled_tools=enabled_tools(settings),
    )


def enabled_tools(settings: Settings) -> frozenset[str]:
    """The switched-off-by-default entries whose operator switch (declared in the catalog) is set."""
    return frozenset(
        entry.name
        for entry in CATALOG.values()
        if entry.enabled_by is not None and getattr(settings, entry.enabled_by.setting) is True
    )


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


def build_pipeline(service: MarginService, settings: Settings, clock: Callable[[], float] = time.monotonic) -> Pipeline:
    """The gate, the approval page (where a local browser can reach it) and the pipeline around the service."""
    remote = settings.transport == "http" and settings.allow_remote
    gate = Gate(clock)
    return Pipeline(
        service,
        gate,
        mode=settings.confirm_mode,
        page=None if remote else ApprovalPage(gate),  # a page on this machine's loopback cannot reach a remote human
        open_browser=open_in_browser if settings.open_browser else None,
        approval_wait=settings.approval_wait,
        check_code=check_account_code,
    )


def check_account_code(account: Account, code: str) -> int | None:
    """A TOTP code against the account's enrolled secret (wall clock: the authenticator's time base)."""
    from binance_margin_mcp.totp import check_code  # cryptography's TOTP: loaded only when a code is checked

    secret_file = getattr(account, "totp_secret_file", None)
    return check_code(secret_file, code, time.time()) if secret_file is not None else None


def build_server(  # type: ignore[no-untyped-def]
    settings: Settings, *, warm_http: bool = False, clock: Callable[[], float] = time.monotonic, **kwargs: object
):
    """The MCPServer with every tool registered (`clock`: the gate's monotonic clock; kwargs: see build_service).

    `warm_http` (the CLI sets it) then starts loading httpx and the TLS context on a background thread, once
    the server is built, so that neither start-up nor the first request waits for them."""
    service = build_service(settings, **kwargs)  # type: ignore[arg-type]
    pipeline = build_pipeline(service, settings, clock)
    server = build_mcp_server(
        pipeline,
        selected_entries(settings),
        log_level=settings.log_level,
        read_only=settings.read_only,
        listed=CORE if settings.toolsets is None else None,  # no --toolsets: the core listed, the rest discovered
    )
    if warm_http:
        service.executor.client.http.warm_up()
    return server


def selected_entries(settings: Settings) -> list[Endpoint]:
    """The catalog entries this server makes available (listed or found by search_tools): --toolsets and
    --read-only filter the same data."""
    return [
        entry
        for entry in CATALOG.values()
        if (settings.toolsets is None or entry.toolset in settings.toolsets)
        and (not settings.read_only or entry.read_only)
    ]
