"""Shared fixtures: a fake Binance behind the real httpx stack, a TOOLS.md, the server and MCP clients."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import ElicitResult

from binance_margin_mcp.app import build_server
from binance_margin_mcp.settings import Settings

from fakes.fake_binance import FakeBinance

# Binance's published example credentials (fact sheet §1.6): recognisable, never real.
MAIN_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
MAIN_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
TEST_KEY = "TESTkey0000111122223333444455556666777788889999aaaabbbbccccddddd"
TEST_SECRET = "TESTsecret999988887777666655554444333322221111000zzzzyyyyxxxxwww"
ALL_SECRETS = (MAIN_KEY, MAIN_SECRET, TEST_KEY, TEST_SECRET)


def account_block(name: str, key: str, secret: str, environment: str, base_url: str | None = None) -> str:
    lines = [
        f"### {name}",
        f"- API Key: {key}",
        f"- Secret: {secret}",
        "- Signing: HMAC",
        f"- Environment: {environment}",
    ]
    if base_url:
        lines.append(f"- Base URL: {base_url}")
    return "\n".join(lines) + "\n"


def write_tools_md(path: Path, blocks: list[str]) -> Path:
    path.write_text("# My tools\n\n## Binance Accounts\n\n" + "\n".join(blocks))
    os.chmod(path, 0o600)
    return path


# The order most gate and discovery tests place (a resting BUY far below the market), where it goes, and the two
# protocol eras every confirmation test runs in: 2026-07-28 (input_required rounds), 2025-11-25 (elicitation/create).
LIMIT_ORDER = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "quantity": "0.001",
    "price": "30000",
    "timeInForce": "GTC",
}
ORDER_PATH = "/sapi/v1/margin/order"
MODES = ["auto", "legacy"]


def requests_to(fake: FakeBinance, method: str, path: str) -> list:
    """What reached the fake exchange with that method on that path."""
    return [r for r in fake.requests if r.method == method and r.path == path]


# A symbol with no filters: request-shape and gate tests must not trip pre-trade validation
# (filters are tested against the paper exchange's real exchangeInfo).
PERMISSIVE_SYMBOL = {
    "symbol": "BTCUSDT",
    "baseAsset": "BTC",
    "quoteAsset": "USDT",
    "orderTypes": [
        "LIMIT",
        "LIMIT_MAKER",
        "MARKET",
        "STOP_LOSS",
        "STOP_LOSS_LIMIT",
        "TAKE_PROFIT",
        "TAKE_PROFIT_LIMIT",
    ],
    "filters": [],
}


def make_fake(server_ms: Callable[[], int] | None = None) -> FakeBinance:
    """The fake with both test keys and a permissive exchangeInfo."""
    exchange = FakeBinance(now_ms=server_ms)
    exchange.add_hmac_key(MAIN_KEY, MAIN_SECRET)
    exchange.add_hmac_key(TEST_KEY, TEST_SECRET)
    exchange.add_route("GET", "/api/v3/exchangeInfo")
    exchange.respond("GET", "/api/v3/exchangeInfo", {"symbols": [PERMISSIVE_SYMBOL]})
    return exchange


@pytest.fixture
def fake() -> FakeBinance:
    return make_fake()


@pytest.fixture
def tools_md(tmp_path: Path) -> Path:
    return write_tools_md(
        tmp_path / "TOOLS.md",
        [
            account_block("main", MAIN_KEY, MAIN_SECRET, "Mainnet"),
            account_block("practice", TEST_KEY, TEST_SECRET, "Testnet"),
        ],
    )


class Elicitor:
    """An elicitation callback that records every question and answers as scripted."""

    def __init__(self, action: str = "accept", text: str = "CONFIRM") -> None:
        self.action = action
        self.text = text
        self.messages: list[str] = []

    async def __call__(self, context: Any, params: Any) -> ElicitResult:
        self.messages.append(params.message)
        if self.action == "accept":
            return ElicitResult(action="accept", content={"confirmation": self.text})
        return ElicitResult(action=self.action)  # type: ignore[arg-type]


START_MS = 1_800_000_000_000  # 2027-01-15 08:00:00 UTC, on an hour boundary


class MsClock:
    """The one clock of a paper session: request timestamps and the exchange's time (interest, expiry)."""

    def __init__(self) -> None:
        self.now = START_MS

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def ms_clock() -> MsClock:
    return MsClock()


class Clock:
    """A settable monotonic clock for TTL tests."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


class Sleeps:
    """An injected asyncio.sleep that returns at once and records how long the code wanted to wait."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "journal.jsonl"


@pytest.fixture
def connect(fake: FakeBinance, tools_md: Path, clock: Clock, sleeps: Sleeps, journal_path: Path) -> Callable[..., Any]:
    """connect(mode=..., elicitor=..., **settings) -> async context manager yielding a connected Client."""

    @asynccontextmanager
    async def _connect(
        mode: str = "auto", elicitor: Elicitor | None = None, path: Path | None = None, **settings: Any
    ) -> AsyncIterator[Client]:
        server = build_server(
            Settings(
                tools_md=path or tools_md, **{"journal_path": str(journal_path), "approval_wait": 0.3, **settings}
            ),
            http_transport=fake.transport(),
            clock=clock,
            sleep=sleeps,
        )
        async with Client(server, mode=mode, elicitation_callback=elicitor) as client:  # type: ignore[arg-type]
            yield client

    return _connect


def text_of(result: Any) -> str:
    """The text blocks of a tool result, joined."""
    return "\n".join(block.text for block in result.content if hasattr(block, "text"))


def assert_no_secret(text: str) -> None:
    """No full key or secret, and no 8+ character fragment of one, appears in `text`."""
    for secret in ALL_SECRETS:
        for start in range(len(secret) - 7):
            fragment = secret[start : start + 8]
            assert fragment not in text, f"secret fragment {fragment[:2]}... leaked"


@pytest.fixture(autouse=True)
def _reads_leave_paper_accounts_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    """The paper exchange saves nothing for a GET; in tests every GET handler is checked to change nothing."""
    from binance_margin_mcp.simulator.exchange import Exchange

    monkeypatch.setattr(Exchange, "check_reads", True)
