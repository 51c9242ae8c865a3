"""`binance-margin-mcp simulator`: the paper exchange on a loopback port for any Binance client.

Every account of the TOOLS.md can sign requests (HMAC with its secret; RSA/Ed25519 verified with the
public key derived from its PEM); each account is its own user with its own balances.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from binance_margin_mcp.credentials import ToolsMdStore
from binance_margin_mcp.simulator.exchange import Exchange
from binance_margin_mcp.simulator.http import SimulatorApp
from binance_margin_mcp.simulator.keys import KeyRegistry
from binance_margin_mcp.simulator.market import Market
from binance_margin_mcp.simulator.prices import open_source
from binance_margin_mcp.simulator.prices.ticker import Ticker
from binance_margin_mcp.simulator.serve import run_forever

log = logging.getLogger(__name__)


def build_app(
    tools_md: Path, state: str, *, prices: str = "static", market_data_url: str | None = None
) -> SimulatorApp:
    """The app over a fresh or reopened exchange; `prices` as --prices (see simulator/prices)."""
    accounts = list(ToolsMdStore(tools_md).load().accounts.values())
    if state != ":memory:":
        Path(state).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    keys = KeyRegistry()
    market = Market(source=open_source(prices, market_data_url=market_data_url))
    exchange = Exchange(state, on_new_key=keys.on_new_key, market=market)
    keys.from_accounts(accounts, os.environ)
    for account in accounts:
        exchange.ensure_user(account.name)
    log.info("paper exchange: %d account(s) from %s, state in %s", len(accounts), tools_md, state)
    return SimulatorApp(exchange, keys)


def run_standalone(
    tools_md: Path, state: str, *, host: str, port: int, prices: str = "auto", market_data_url: str | None = None
) -> int:
    """Serve until interrupted, with a ticker applying price moves about every second."""
    app = build_app(tools_md, state, prices=prices, market_data_url=market_data_url)
    ticker = Ticker(app.exchange.tick).start()
    try:
        run_forever(app, host, port)
    finally:
        ticker.stop()
        app.exchange.market.source.close()
    return 0
