"""The paper exchange on a loopback port with an injected clock, and MCP servers that can be killed mid-send.

A "kill" drops a server the way a dead process would: its tool calls and background sends are cancelled
where they stand, its journal writer is drained (a line already being written lands, as it would on a
crash after write()), its sockets are closed, and nothing of it runs again. A new server then opens the
same journal file against the same exchange.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from mcp import Client

from binance_margin_mcp.adapter import build_mcp_server
from binance_margin_mcp.app import build_pipeline, build_service
from binance_margin_mcp.service import MarginService
from binance_margin_mcp.settings import Settings
from binance_margin_mcp.simulator.exchange import Exchange
from binance_margin_mcp.simulator.http import SimulatorApp
from binance_margin_mcp.simulator.keys import KeyRegistry
from binance_margin_mcp.simulator.serve import serve

from conftest import START_MS, TEST_KEY, TEST_SECRET, Sleeps, account_block, write_tools_md

ACCOUNT = "chaos"


class SharedClock:
    """One settable clock (ms) for the exchange and every server, so a jump moves both."""

    def __init__(self) -> None:
        self.now = START_MS
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            return self.now

    def advance(self, ms: int) -> None:
        with self._lock:
            self.now += ms


@dataclass
class Received:
    """A write request as the exchange received it (before any fault acted on it)."""

    tool: str
    params: dict[str, str]


@dataclass
class LoopbackExchange:
    app: SimulatorApp
    exchange: Exchange
    base_url: str
    tools_md: Path
    received: list[Received] = field(default_factory=list)

    def orders(self) -> list[dict[str, Any]]:
        return self.exchange.handle(ACCOUNT, "get_all_margin_orders", {"symbol": "BTCUSDT", "limit": "1000"})

    def order_lists(self) -> list[dict[str, Any]]:
        return self.exchange.handle(ACCOUNT, "get_all_margin_order_lists", {"limit": "1000"})

    def loan_records(self, direction: str) -> list[dict[str, Any]]:
        """Every borrow (or repay) record of the run: it starts at START_MS and lasts far less than 29 days."""
        window = {"type": direction, "asset": "USDT", "size": "100", "startTime": str(START_MS - 60_000)}
        window["endTime"] = str(START_MS + 29 * 24 * 3_600_000)
        rows: list[dict[str, Any]] = []
        while True:
            found = self.exchange.handle(
                ACCOUNT, "get_borrow_repay_records", {**window, "current": str(len(rows) // 100 + 1)}
            )
            rows += found["rows"]
            if not found["rows"] or len(rows) >= found["total"]:
                return rows


@contextlib.contextmanager
def loopback_exchange(tmp_path: Path, clock: SharedClock) -> Iterator[LoopbackExchange]:
    """The exchange serving one Testnet account (`chaos`) on 127.0.0.1, recording every write it receives."""
    keys = KeyRegistry()
    exchange = Exchange(":memory:", clock_ms=clock, on_new_key=keys.on_new_key)
    exchange_md = write_tools_md(tmp_path / "exchange.md", [account_block(ACCOUNT, TEST_KEY, TEST_SECRET, "Paper")])
    from binance_margin_mcp.credentials import ToolsMdStore

    keys.from_accounts(list(ToolsMdStore(exchange_md).load().accounts.values()), {})
    exchange.ensure_user(ACCOUNT)
    app = SimulatorApp(exchange, keys, clock_ms=clock)
    received: list[Received] = []
    lock = threading.Lock()
    original = app.handle_request

    def recording(method: str, path: str, query: bytes, *args: Any, **kwargs: Any) -> Any:
        if method != "GET":
            params = dict(parse_qsl(query.decode("latin-1")))
            params.pop("signature", None)
            params.pop("timestamp", None)
            with lock:
                received.append(Received(f"{method} {path}", params))
        return original(method, path, query, *args, **kwargs)

    app.handle_request = recording  # type: ignore[method-assign]
    with serve(app, port=0) as base_url:
        tools_md = write_tools_md(
            tmp_path / "TOOLS.md", [account_block(ACCOUNT, TEST_KEY, TEST_SECRET, "Testnet", base_url)]
        )
        yield LoopbackExchange(app, exchange, base_url, tools_md, received)


@dataclass
class Running:
    """One MCP server process, in process: its client, its service, and its calls in flight."""

    client: Client
    service: MarginService
    calls: set[asyncio.Task[Any]] = field(default_factory=set)

    def call(self, tool: str, args: dict[str, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(self.client.call_tool(tool, {**args, "account": ACCOUNT}))
        self.calls.add(task)
        task.add_done_callback(self.calls.discard)
        return task

    async def idle(self, timeout: float = 10.0) -> None:
        """Wait until no tool call and no background send of this server is running."""
        deadline = time.monotonic() + timeout
        while self.calls or self.service.executor.background:
            if time.monotonic() > deadline:
                raise TimeoutError("the server did not settle")
            await asyncio.sleep(0.005)


@contextlib.asynccontextmanager
async def mcp_server(
    exchange: LoopbackExchange, journal: Path, clock: SharedClock, sleeps: Sleeps | None = None
) -> AsyncIterator[Running]:
    """A server on `journal` trading through the loopback exchange; `kill(running)` ends it abruptly."""
    settings = Settings(tools_md=exchange.tools_md, journal_path=str(journal))
    service = build_service(settings, clock_ms=clock, sleep=sleeps or Sleeps())
    async with Client(build_mcp_server(build_pipeline(service, settings))) as client:
        yield Running(client, service)


async def kill(running: Running, end_session: Callable[[], Awaitable[Any]] | None = None) -> None:
    """Stop everything the server was doing, where it stands (see the module docstring). `end_session` closes its
    MCP session first, so no tool call still on its way can start a send after the kill."""
    calls = list(running.calls)
    for task in calls:
        task.cancel()
    await asyncio.gather(*calls, return_exceptions=True)
    if end_session is not None:
        await end_session()
    tasks = list(running.service.executor.background)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.to_thread(running.service.journal.close)
    await running.service.executor.client.http.aclose()


def journal_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.005)
