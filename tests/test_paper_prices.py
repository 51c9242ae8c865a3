"""--prices through the server: the status tool, the CLI's clear refusals, the paper venue's source and ticker."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

from binance_margin_mcp.adapter import build_mcp_server
from binance_margin_mcp.app import build_pipeline, build_service
from binance_margin_mcp.cli import main
from binance_margin_mcp.paper import PaperVenue
from binance_margin_mcp.settings import Settings


async def status_of(tmp_path: Path, **settings: object) -> dict:
    chosen = Settings(tools_md=tmp_path / "none" / "TOOLS.md", **settings)  # type: ignore[arg-type]
    service = build_service(chosen, clock_ms=lambda: 1_800_000_000_000)
    async with Client(build_mcp_server(build_pipeline(service, chosen))) as client:
        result = await client.call_tool("get_paper_status", {})
        price = await client.call_tool("get_margin_price_index", {"symbol": "SOLUSDT"})
    service.venue.close()
    assert not result.is_error and not price.is_error
    assert "walk" not in str(price.structured_content)  # the source never shows in Binance's JSON
    return result.structured_content or {}


async def test_get_paper_status_shows_the_source_and_the_pairs(tmp_path: Path) -> None:
    """The status tool names the price source and counts the pairs; the library default is static."""
    assert (await status_of(tmp_path))["source"] == "static"
    status = await status_of(tmp_path, paper_prices="walk:42")
    assert status["source"] == "walk:42" and status["symbols"] >= 25 and status["ticker"] is False


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--prices", "random"], "unknown source 'random'"),
        (["--prices", "walk:x"], "whole number seed"),
        (["simulator", "--prices", "replay:/nope.csv"], "replay file not found"),
        (["--market-data-url", "https://example.com"], "official Binance API host"),
    ],
)
def test_bad_price_flags_are_a_usage_error_without_a_traceback(argv, message, capsys) -> None:
    """A bad --prices or --market-data-url exits 2 with one clear line on stderr, no traceback."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err
    assert info.value.code == 2 and message in err and "Traceback" not in err


def test_the_venue_ticker_moves_prices_by_itself_and_stops_on_close() -> None:
    """With ticker=True (the CLI's choice) the paper market moves between calls; close() stops the thread."""
    import time

    venue = PaperVenue(prices="walk:1", ticker=True)
    exchange = venue.exchange
    start = dict(exchange.market.prices)
    deadline = time.monotonic() + 5
    while exchange.market.prices == start and time.monotonic() < deadline:
        time.sleep(0.05)
    assert exchange.market.prices != start and venue.status()["ticker"] is True
    venue.close()
    assert venue.status()["ticker"] is False
