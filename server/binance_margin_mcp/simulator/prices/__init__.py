"""Where the paper market's prices come from: `--prices auto|live|walk[:SEED]|replay:FILE[@SPEED]|static`.

A source hands the Market, inside the exchange's transaction, the path each pair's price took since the
last call (`advance`): a few points per pair, so that stops and liquidations see the highs and lows
between two updates. `open_source` builds the chosen one; auto tries Binance's public market data for
2 s and otherwise falls back to the seeded walk. The source's name never reaches a Binance response.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import httpx

    from ..book import Book
    from ..market import Market

log = logging.getLogger("binance_margin_mcp.simulator")

KINDS = ("auto", "live", "walk", "replay", "static")
DEFAULT_MARKET_DATA_URL = "https://api.binance.com"
PROBE_TIMEOUT = 2.0  # auto: Binance must answer within this many seconds
Paths = dict[str, list[Decimal]]


class PriceSource(Protocol):
    name: str

    def attach(self, market: Market) -> None:
        """Called once by the Market: a live source installs Binance's pairs and prices here."""

    def advance(self, market: Market, now_ms: int, watched: set[str]) -> Paths:
        """Each moved pair's price path since the last call (last point = the price now)."""

    def book(self, symbol: str) -> Book | None:
        """The pair's order book when the source has one."""

    def status(self) -> dict[str, Any]:
        """What get_paper_status shows besides the name."""

    def close(self) -> None: ...


class StaticSource:
    """Prices stay where they are until set_paper_price moves them (the tests' default)."""

    name = "static"

    def attach(self, market: Market) -> None:
        pass

    def advance(self, market: Market, now_ms: int, watched: set[str]) -> Paths:
        return {}

    def book(self, symbol: str) -> Book | None:
        return None

    def status(self) -> dict[str, Any]:
        return {}

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class PriceChoice:
    """A parsed --prices value."""

    kind: str
    seed: int | None = None
    file: Path | None = None
    speed: float = 1.0

    @property
    def text(self) -> str:
        if self.kind == "walk" and self.seed is not None:
            return f"walk:{self.seed}"
        if self.kind == "replay":
            return f"replay:{self.file}@{self.speed:g}"
        return self.kind


def parse_prices(text: str) -> PriceChoice:
    """`auto`, `live`, `static`, `walk`, `walk:SEED`, `replay:FILE` or `replay:FILE@SPEED` (FILE `sample`: the
    shipped BTCUSDT file); ValueError says why."""
    kind, _, rest = text.strip().partition(":")
    if kind not in KINDS:
        raise ValueError(
            f"--prices: unknown source {kind!r}; choose auto, live, walk[:SEED], replay:FILE[@SPEED] or static"
        )
    if kind in ("auto", "live", "static"):
        if rest:
            raise ValueError(f"--prices: {kind} takes no argument (got {text!r})")
        return PriceChoice(kind)
    if kind == "walk":
        if not rest:
            return PriceChoice("walk")
        if not rest.isdigit():
            raise ValueError(f"--prices: walk:SEED needs a whole number seed (got {rest!r})")
        return PriceChoice("walk", seed=int(rest))
    file, _, speed_text = rest.rpartition("@") if "@" in rest else (rest, "", "")
    if not file:
        raise ValueError("--prices: replay needs a kline CSV file: replay:FILE or replay:FILE@SPEED")
    try:
        speed = float(speed_text) if speed_text else 1.0
    except ValueError:
        speed = -1.0
    if not 0 < speed <= 100000:
        raise ValueError(f"--prices: replay speed must be a number > 0, e.g. @60 (got {speed_text!r})")
    path = _sample() if file == "sample" else Path(file).expanduser()
    if not path.is_file():
        raise ValueError(f"--prices: replay file not found: {path}")
    return PriceChoice("replay", file=path, speed=speed)


def _sample() -> Path:
    from .replay import SAMPLE

    return SAMPLE


def open_source(
    choice: PriceChoice | str,
    *,
    market_data_url: str | None = None,
    clock_ms: Callable[[], int] | None = None,
    transport: httpx.BaseTransport | None = None,
    environ: Mapping[str, str] | None = None,
) -> PriceSource:
    """The source for `choice`, started; the choice (and why, for auto) is logged on stderr."""
    if isinstance(choice, str):
        choice = parse_prices(choice)
    if choice.kind == "static":
        source: PriceSource = StaticSource()
    elif choice.kind == "walk":
        source = _walk(choice.seed)
    elif choice.kind == "replay":
        from .replay import ReplaySource

        assert choice.file is not None
        source = ReplaySource(choice.file, speed=choice.speed)
    else:
        source = _live_or_walk(choice.kind, market_data_url, clock_ms, transport)
    log.warning("paper exchange: prices from %s", source.name)
    return source


def _walk(seed: int | None) -> PriceSource:
    from .walk import WalkSource

    return WalkSource(seed if seed is not None else random.SystemRandom().randrange(1_000_000))


def _live_or_walk(
    kind: str, url: str | None, clock_ms: Callable[[], int] | None, transport: httpx.BaseTransport | None
) -> PriceSource:
    from binance_margin_mcp.base_urls import validate_base_url
    from binance_margin_mcp.errors import AccountError

    from .live import LiveSource, MarketDataUnavailable

    try:  # official Binance hosts (https) or loopback only, like an account's Base URL
        url = validate_base_url(url or DEFAULT_MARKET_DATA_URL, "Mainnet")
    except AccountError as exc:
        raise ValueError(f"--market-data-url: {exc}") from None
    source = LiveSource(url, clock_ms=clock_ms, transport=transport)
    try:
        source.load(timeout=PROBE_TIMEOUT)
    except MarketDataUnavailable as exc:
        source.close()
        if kind == "live":
            raise
        fallback = _walk(None)
        log.warning("paper exchange: Binance market data not reachable (%s); auto falls back to %s", exc, fallback.name)
        return fallback
    return source
