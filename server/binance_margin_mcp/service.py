"""What a tool call does, independent of MCP: pick the account, validate, gate, send, shape the result.

The adapter turns `Outcome`s into MCP results; everything that decides what reaches Binance is here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from binance_margin_mcp.catalog.model import Endpoint
from binance_margin_mcp.client import BinanceClient
from binance_margin_mcp.credentials import Account, LoadResult, ToolsMdStore
from binance_margin_mcp.errors import AccountError, McpToolError
from binance_margin_mcp.execution import Executor, jsonable
from binance_margin_mcp.journal import Journal
from binance_margin_mcp.paper import IN_PROCESS_URL, PAPER_BASE_URL, PaperVenue
from binance_margin_mcp.params import build_wire_params, reject_unknown
from binance_margin_mcp.prepared import PreparedRequest
from binance_margin_mcp.pretrade import MarketData, PreTrade
from binance_margin_mcp.signing import Signer, make_signer
from binance_margin_mcp.transport import Credentials

DEFAULT_ACCOUNT = "main"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """A tool result before it becomes MCP: structured data, its text, error flag and metadata."""

    data: dict[str, Any]
    is_error: bool = False
    text: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def rendered(self) -> str:
        return self.text if self.text is not None else json.dumps(self.data, ensure_ascii=False, default=str)


def error_outcome(error: McpToolError) -> Outcome:
    return Outcome(error.payload(), is_error=True, text=error.message)


class MarginService:
    """Accounts from a TOOLS.md store, their signers, and sending prepared requests (the gate is in pipeline)."""

    def __init__(
        self,
        store: ToolsMdStore,
        client: BinanceClient,
        *,
        environ: Mapping[str, str] | None = None,
        venue: PaperVenue | None = None,
        journal: Journal | None = None,
        enabled_tools: frozenset[str] = frozenset(),
    ) -> None:
        self.store = store
        self.venue = venue
        self.journal = journal or Journal(None)
        self.executor = Executor(client, self.journal, client.clock.local)
        self.pretrade = PreTrade(MarketData(client), enabled_tools)
        self._environ = environ if environ is not None else os.environ
        self._signers: dict[str, Signer] = {}

    # -- accounts ---------------------------------------------------------------------------

    def load(self) -> LoadResult:
        """TOOLS.md's accounts; with none configured, the built-in paper account stands in."""
        loaded = self.store.load()
        if loaded.accounts or self.venue is None:
            return loaded
        return LoadResult({self.venue.builtin.name: self.venue.builtin}, loaded.problems)

    def resolve_account(self, name: str | None) -> Account:
        """The named account, or `main`, or the only one; otherwise ask which (with the list)."""
        loaded = self.load()
        accounts = loaded.accounts
        names = list(accounts)
        if name is not None:
            if name in accounts:
                return accounts[name]
            for problem in loaded.problems:
                if problem.name == name:
                    raise AccountError(f"Account '{name}' cannot be used: {problem.message}", names)
            raise AccountError(f"No account named '{name}'. Known accounts: {', '.join(names) or 'none'}.", names)
        if DEFAULT_ACCOUNT in accounts:
            return accounts[DEFAULT_ACCOUNT]
        if len(accounts) == 1:
            return next(iter(accounts.values()))
        if not accounts:
            raise AccountError("No Binance accounts are configured yet. Add one with add_account.", [])
        raise AccountError(
            f"There is no '{DEFAULT_ACCOUNT}' account and several others exist: {', '.join(names)}. Ask the user "
            "which one to use and pass it as `account`.",
            names,
        )

    def credentials(self, account: Account) -> Credentials:
        # Defence in depth: the journal scrubs these should one ever reach a line.
        self.journal.add_secret(account.api_key.reveal())
        if account.secret is not None:
            self.journal.add_secret(account.secret.reveal())
        base_url = account.base_url
        if self.venue is not None and self.venue.serves(account):
            self.venue.admit(account)
            base_url = IN_PROCESS_URL
        elif account.base_url == PAPER_BASE_URL:
            raise AccountError(f"Account '{account.name}' is a Paper account but the paper exchange is not running.")
        return Credentials(base_url, account.api_key.reveal(), self._signer(account), account.environment)

    def _signer(self, account: Account) -> Signer:
        cache_key = f"{account.name}\0{fingerprint(account)}\0{account.private_key_file}"
        signer = self._signers.get(cache_key)
        if signer is None:
            passphrase = None
            if account.passphrase_env:
                value = self._environ.get(account.passphrase_env)
                if value is None:
                    raise AccountError(
                        f"Account '{account.name}': the environment variable {account.passphrase_env} (the private "
                        "key's passphrase) is not set."
                    )
                passphrase = value.encode()
            signer = make_signer(
                account.signing,
                secret=account.secret.reveal() if account.secret else None,
                private_key_file=account.private_key_file,
                passphrase=passphrase,
            )
            self._signers[cache_key] = signer
        return signer

    # -- preparing and sending ---------------------------------------------------------------

    def prepare(self, entry: Endpoint, args: Mapping[str, Any], account: Account) -> PreparedRequest:
        """Validate `args` into the exact wire parameters (new client ids generated now, once per call)."""
        params = tuple(build_wire_params(entry, args))
        return PreparedRequest(account.name, account.environment, account.base_url, fingerprint(account), entry, params)

    def rebound(self, request: PreparedRequest, account: Account) -> PreparedRequest:
        """The same wire parameters against the account as it is now (its binding shows any change)."""
        return PreparedRequest(
            account.name, account.environment, account.base_url, fingerprint(account), request.entry, request.params
        )

    def check_arguments(self, entry: Endpoint, supplied: Mapping[str, Any]) -> None:
        reject_unknown(entry, supplied, {"account"})

    async def precheck(self, request: PreparedRequest, account: Account) -> None:
        """Operator limits and exchange filters: refuse before anyone is asked and before anything is signed."""
        await self.pretrade.check(request, account, self.credentials(account))

    async def send(self, request: PreparedRequest, account: Account, confirmed_by: str, *, checked: bool) -> Outcome:
        """Sign and send; `checked` says the pre-trade checks already passed for exactly this request."""
        try:
            creds = self.credentials(account)
            if not checked:
                try:
                    await self.pretrade.check(request, account, creds)
                except McpToolError as refusal:
                    self.executor.record(request, confirmed_by, "refused", error=refusal)
                    raise
            data, response = await self.executor.execute(request, creds, confirmed_by)
        except McpToolError as error:
            log.info("%s on %s failed: %s", request.entry.endpoint_id, request.account, type(error).__name__)
            return error_outcome(error)
        structured = data if isinstance(data, dict) else {"result": data}
        meta = {
            "endpoint": request.entry.endpoint_id,
            "account": request.account,
            "environment": request.environment,
            "confirmedBy": confirmed_by,
            "usedWeight": response.weights,
            "rateLimit": response.budget,
        }
        log.info("%s on %s: HTTP %s", request.entry.endpoint_id, request.account, response.http_status)
        return Outcome(structured, meta=meta)

    async def read(self, entry: Endpoint, params: list[tuple[str, str]], account: Account) -> Any:
        """A signed (or keyed) read for a preview or a lookup; raises McpToolError."""
        response, _ = await self.executor.client.send(entry, params, self.credentials(account))
        return jsonable(response.data)


def fingerprint(account: Account) -> str:
    return hashlib.sha256(account.api_key.reveal().encode()).hexdigest()[:16]
