"""The built-in paper venue: Paper accounts trade against the local exchange in process, with no socket.

It owns one exchange (SQLite state), its key registry and its HTTP app, and supplies the built-in
`paper` account offered when TOOLS.md has no accounts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import httpx

from binance_margin_mcp.credentials import DEFAULT_BASE_URLS, Account, Secret
from binance_margin_mcp.params import random_alphanumerics
from binance_margin_mcp.simulator.exchange import Exchange
from binance_margin_mcp.simulator.http import SimulatorApp
from binance_margin_mcp.simulator.keys import KeyRegistry

PAPER_BASE_URL = DEFAULT_BASE_URLS["Paper"]  # "paper://local" in TOOLS.md
IN_PROCESS_URL = "http://paper.local"  # what the in-process httpx client addresses
BUILTIN_ACCOUNT = "paper"


class PaperVenue:
    """One local exchange shared by every Paper account of this server process."""

    def __init__(
        self,
        state_path: str | Path = ":memory:",
        *,
        clock_ms: Callable[[], int] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        if isinstance(state_path, Path):
            state_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.keys = KeyRegistry()
        self.exchange = Exchange(state_path, clock_ms=clock_ms, on_new_key=self.keys.on_new_key)
        self.app = SimulatorApp(self.exchange, self.keys, clock_ms=clock_ms)
        self._environ = environ
        self._registered: set[str] = set()
        # The built-in account's keys live only in this process: nothing to leak, nothing to configure.
        self.builtin = Account(
            name=BUILTIN_ACCOUNT,
            environment="Paper",
            signing="HMAC",
            api_key=Secret(random_alphanumerics(64)),
            secret=Secret(random_alphanumerics(64)),
            private_key_file=None,
            passphrase_env=None,
            base_url=PAPER_BASE_URL,
            description="Built-in paper account (no TOOLS.md accounts configured)",
            limits={},
            line=0,
        )

    def transport(self) -> httpx.AsyncBaseTransport:
        return self.app.transport()

    def admit(self, account: Account) -> None:
        """Make the exchange accept this Paper account's key (as its own user) before its first request."""
        api_key = account.api_key.reveal()
        if api_key in self._registered:
            return
        self.keys.from_accounts([account], self._environ)
        self.exchange.ensure_user(account.name)
        self._registered.add(api_key)

    def serves(self, account: Account) -> bool:
        return account.environment == "Paper" and account.base_url == PAPER_BASE_URL
