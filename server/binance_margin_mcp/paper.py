"""The built-in paper venue: Paper accounts trade against the local exchange in process, with no socket.

It owns one exchange (SQLite state), its key registry and its HTTP app, and supplies the built-in
`paper` account offered when TOOLS.md has no accounts. The exchange is opened (and the simulator
imported) on the first paper use, not at start. A state file that cannot be opened does not
stop the server: paper calls answer with what is wrong, everything else works, and
`reset_paper_account` moves a damaged file aside and starts fresh.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from binance_margin_mcp.account import key_material_digest
from binance_margin_mcp.credentials import DEFAULT_BASE_URLS, Account, Secret
from binance_margin_mcp.errors import AccountError
from binance_margin_mcp.params import random_alphanumerics

if TYPE_CHECKING:
    import httpx

    from binance_margin_mcp.simulator.exchange import Exchange
    from binance_margin_mcp.simulator.http import SimulatorApp
    from binance_margin_mcp.simulator.keys import KeyRegistry
    from binance_margin_mcp.simulator.prices import PriceSource
    from binance_margin_mcp.simulator.prices.ticker import Ticker

PAPER_BASE_URL = DEFAULT_BASE_URLS["Paper"]  # "paper://local" in TOOLS.md
IN_PROCESS_URL = "http://paper.local"  # what the in-process httpx client addresses
BUILTIN_ACCOUNT = "paper"
DAMAGED = (
    "The paper exchange's state file is damaged, so paper accounts cannot be used (Mainnet and Testnet accounts "
    "are not affected); nothing was sent. reset_paper_account moves it aside (it is kept) and starts fresh."
)
UNOPENED = (
    "The paper exchange's state file cannot be opened ({reason}), so paper accounts cannot be used (Mainnet and "
    "Testnet accounts are not affected); nothing was sent. Ask the user to check --paper-state; "
    "reset_paper_account tries again."
)
SIDE_FILES = ("", "-wal", "-shm", "-journal")  # SQLite's database and the files it keeps next to it

log = logging.getLogger(__name__)


class PaperVenue:
    """One local exchange shared by every Paper account of this server process."""

    def __init__(
        self,
        state_path: str | Path = ":memory:",
        *,
        clock_ms: Callable[[], int] | None = None,
        environ: Mapping[str, str] | None = None,
        prices: str = "static",
        market_data_url: str | None = None,
        ticker: bool = False,
        market_transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.state_path = state_path
        self._clock_ms = clock_ms
        self._environ = environ
        # Where prices come from (--prices) and whether a background ticker applies them between calls.
        self.prices, self.market_data_url, self.ticker = prices, market_data_url, ticker
        self._market_transport = market_transport  # tests: a fake of Binance's public market data
        self._source: PriceSource | None = None
        self._ticker: Ticker | None = None
        self._exchange: Exchange | None = None
        self._app: SimulatorApp | None = None
        self._tried = False  # opening is tried on the first paper use, not at start
        self.problem: str | None = None  # why the exchange is not open (a message for the agent)
        self.damaged = False  # the file is there but is not a readable paper state: moving it aside helps
        self.keys: KeyRegistry | None = None  # made with the exchange
        self._admitted: dict[str, tuple[str, str]] = {}  # account name -> (key material digest, API key)
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

    # -- the exchange, when it could be opened ------------------------------------------------------

    @property
    def exchange(self) -> Exchange:
        self._first_use()
        if self._exchange is None:
            raise AccountError(self.problem or DAMAGED)
        return self._exchange

    @property
    def app(self) -> SimulatorApp:
        self._first_use()
        if self._app is None:
            raise AccountError(self.problem or DAMAGED)
        return self._app

    def _first_use(self) -> None:
        if not self._tried:
            self._open()

    def _open(self) -> None:
        """Open the state; on failure remember why (logged once, on stderr) instead of failing the server."""
        import sqlite3

        from binance_margin_mcp.simulator.exchange import Exchange
        from binance_margin_mcp.simulator.http import SimulatorApp
        from binance_margin_mcp.simulator.keys import KeyRegistry

        self._tried = True
        self.keys = KeyRegistry()
        self._admitted.clear()
        self._stop_prices()
        try:
            market = self._market()
        except Exception as exc:  # --prices live and Binance does not answer
            self._exchange, self._app, self.damaged = None, None, False
            self.problem = f"The paper market's prices are unavailable ({exc}); nothing was sent."
            log.warning("paper exchange: no prices (%s); paper accounts are unavailable", exc)
            return
        try:
            if isinstance(self.state_path, Path):
                self.state_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._exchange = Exchange(
                self.state_path, clock_ms=self._clock_ms, on_new_key=self.keys.on_new_key, market=market
            )
        except (sqlite3.OperationalError, OSError) as exc:
            self._fail(UNOPENED.format(reason=_reason(exc)), damaged=False, detail=_reason(exc))
            return
        except Exception as exc:  # not a database, malformed pages, documents that do not decode: damaged
            self._fail(DAMAGED, damaged=True, detail=type(exc).__name__)
            return
        self._app = SimulatorApp(self._exchange, self.keys, clock_ms=self._clock_ms)
        self.problem, self.damaged = None, False
        if self.ticker:
            from binance_margin_mcp.simulator.prices.ticker import Ticker

            self._ticker = Ticker(self._exchange.tick).start()

    def _market(self):  # type: ignore[no-untyped-def]
        from binance_margin_mcp.simulator.market import Market
        from binance_margin_mcp.simulator.prices import open_source

        self._source = open_source(
            self.prices, market_data_url=self.market_data_url, clock_ms=self._clock_ms, transport=self._market_transport
        )
        return Market(source=self._source)

    def _stop_prices(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
        if self._source is not None:
            self._source.close()
        self._ticker = self._source = None

    def status(self) -> dict[str, object]:
        """The price source, how many pairs trade, when prices last moved by themselves (get_paper_status)."""
        exchange = self.exchange
        source = exchange.market.source
        extra = dict(source.status())
        return {
            "source": source.name,
            "symbols": len(exchange.market.symbols),
            "lastUpdate": extra.pop("lastUpdate", None),
            "ticker": self._ticker is not None and self._ticker.running,
            **extra,
        }

    def _fail(self, message: str, *, damaged: bool, detail: str) -> None:
        self._exchange, self._app = None, None
        self.problem, self.damaged = message, damaged
        what = "is damaged" if damaged else "cannot be opened"
        log.warning(
            "paper exchange: the state file (--paper-state) %s (%s); paper accounts are unavailable, Mainnet and "
            "Testnet accounts work. reset_paper_account %s.",
            what,
            detail,
            "moves it aside and starts fresh" if damaged else "tries again",
        )

    def recover(self) -> str | None:
        """Make the exchange usable again: a damaged file is renamed `<name>.corrupt-<UTC time>` (kept), then a
        fresh state is opened. Returns the new name of the damaged file (no directory), if one was moved."""
        self._first_use()
        if self._exchange is not None:
            return None
        moved = None
        if self.damaged and isinstance(self.state_path, Path):
            moved = self._move_aside(self.state_path)
        self._open()
        if self._exchange is None:
            raise AccountError(self.problem or DAMAGED)
        return moved

    def _move_aside(self, path: Path) -> str:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        suffix = f".corrupt-{stamp}"
        while any(os.path.lexists(f"{path}{side}{suffix}") for side in SIDE_FILES):
            suffix += "x"  # two resets within a second: keep both
        try:
            for side in SIDE_FILES:
                if os.path.lexists(f"{path}{side}"):
                    os.replace(f"{path}{side}", f"{path}{side}{suffix}")
        except OSError as exc:
            raise AccountError(
                f"The damaged paper state file could not be moved aside ({_reason(exc)}); nothing was changed."
            ) from None
        log.warning("paper exchange: the damaged state file was moved aside as %s%s", path.name, suffix)
        return f"{path.name}{suffix}"

    def close(self) -> None:
        self._stop_prices()
        if self._exchange is not None:
            self._exchange.close()

    # -- accounts ---------------------------------------------------------------------------------

    def transport(self) -> httpx.AsyncBaseTransport:
        """The in-process route; it always reaches the exchange that is open now (after a reset too)."""
        return _venue_transport(self)

    def admit(self, account: Account) -> None:
        """Make the exchange accept this Paper account's key (as its own user) before its request.

        Registered again whenever the key material changes, so an edited TOOLS.md counts at once.
        """
        exchange = self.exchange
        digest = key_material_digest(account)
        previous = self._admitted.get(account.name)
        if previous is not None and previous[0] == digest:
            return
        api_key = account.api_key.reveal()
        assert self.keys is not None  # made with the exchange
        if previous is not None and previous[1] != api_key:
            entry = self.keys.lookup(previous[1])
            if entry is not None and entry.user == account.name:
                self.keys.remove(previous[1])  # the replaced key no longer signs for this account
        self.keys.from_accounts([account], self._environ)
        exchange.ensure_user(account.name)
        self._admitted[account.name] = (digest, api_key)

    def serves(self, account: Account) -> bool:
        return account.environment == "Paper" and account.base_url == PAPER_BASE_URL


def _venue_transport(venue: PaperVenue) -> httpx.AsyncBaseTransport:
    """Routes to the venue's current app; with no exchange open, the request is not sent (admit refuses first).

    Built on first use: httpx and the simulator are imported only when a paper account is used."""
    import httpx

    class VenueTransport(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            venue._first_use()
            app = venue._app
            if app is None:
                raise httpx.ConnectError("the paper exchange is not available", request=request)
            return await app.transport().handle_async_request(request)

    return VenueTransport()


def _reason(exc: BaseException) -> str:
    """A short reason with no path (sqlite and OSError texts can carry one)."""
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    text = str(exc)
    return text if text and "/" not in text and len(text) <= 80 else type(exc).__name__
