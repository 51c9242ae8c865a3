"""What a tool call does, independent of MCP: pick the account, validate, gate, send, shape the result.

The adapter turns `Outcome`s into MCP results; everything that decides what reaches Binance is here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from binance_margin_mcp.catalog.model import Endpoint
from binance_margin_mcp.client import BinanceClient
from binance_margin_mcp.credentials import Account, LoadResult, ToolsMdStore
from binance_margin_mcp.errors import AccountError, ConfirmationError, McpToolError
from binance_margin_mcp.execution import Executor
from binance_margin_mcp.gate import (
    CONFIRM_WORD,
    PendingIds,
    PreparedRequest,
    TokenStore,
    needs_confirmation,
    preview,
    preview_text,
)
from binance_margin_mcp.journal import Journal
from binance_margin_mcp.paper import IN_PROCESS_URL, PAPER_BASE_URL, PaperVenue
from binance_margin_mcp.params import build_wire_params, reject_unknown
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
    """Runs catalog entries for accounts from a TOOLS.md store, behind the confirmation gate."""

    def __init__(
        self,
        store: ToolsMdStore,
        client: BinanceClient,
        *,
        confirm_mode: str = "auto",
        clock: Callable[[], float] = time.monotonic,
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
        self.confirm_mode = confirm_mode
        self.tokens = TokenStore(clock)
        self.pending = PendingIds(clock)
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
        cache_key = f"{account.name}\0{_fingerprint(account)}\0{account.private_key_file}"
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

    # -- preparing and gating ---------------------------------------------------------------

    def request_key(self, entry: Endpoint, args: Mapping[str, Any], account: Account) -> str:
        canonical = json.dumps({"a": account.name, "e": entry.name, "p": dict(args)}, sort_keys=True, default=repr)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def prepare(self, entry: Endpoint, args: Mapping[str, Any], account: Account) -> PreparedRequest:
        """Validate and build the exact request; a transaction's generated ids stay stable until it is sent."""
        if not entry.transaction:
            return self.prepare_fresh(entry, args, account)
        key = self.request_key(entry, args, account)
        return self.pending.get_or_make(key, lambda: self.prepare_fresh(entry, args, account))

    def check_arguments(self, entry: Endpoint, supplied: Mapping[str, Any]) -> None:
        reject_unknown(entry, supplied, {"account"})

    def gated(self, entry: Endpoint, account: Account) -> bool:
        return needs_confirmation(entry, account.environment)

    def question(self, request: PreparedRequest) -> str:
        return preview_text(request)

    def prepare_fresh(self, entry: Endpoint, args: Mapping[str, Any], account: Account) -> PreparedRequest:
        """Validate `args` into the exact wire parameters (new client ids generated now)."""
        params = tuple(build_wire_params(entry, args))
        return PreparedRequest(
            account.name, account.environment, account.base_url, _fingerprint(account), entry, params
        )

    def token_required(self, request: PreparedRequest) -> Outcome:
        """No elicitation available: hand back a preview and a one-time token instead of sending."""
        if self.confirm_mode == "elicitation":
            return error_outcome(
                ConfirmationError(
                    "Not sent: this server requires the human to confirm mainnet transactions through the client's "
                    "confirmation dialog (elicitation), and this client does not support it."
                )
            )
        token = self.tokens.issue(request)
        data = {
            "status": "confirmation_required",
            "preview": preview(request),
            "token": token,
            "expiresInSeconds": int(self.tokens.ttl),
            "instructions": (
                f"NOT SENT. Show this preview to the user and ask them to type {CONFIRM_WORD}. Only if they type it, "
                f"call confirm_transaction with this token and their exact text. Never type {CONFIRM_WORD} yourself."
            ),
        }
        text = preview_text(request) + f"\n\nconfirmation token: {token} (valid {int(self.tokens.ttl)} s, single use)"
        return Outcome(data, is_error=False, text=f"NOT SENT - confirmation required.\n{text}")

    def not_sent(self, reason: str) -> Outcome:
        return error_outcome(ConfirmationError(f"Not sent: {reason}"))

    # -- sending ----------------------------------------------------------------------------

    async def precheck(self, request: PreparedRequest, account: Account) -> None:
        """Operator limits and exchange filters: refuse before anyone is asked and before anything is signed."""
        await self.pretrade.check(request, account, self.credentials(account))

    async def send(self, request: PreparedRequest, confirmed_by: str) -> Outcome:
        try:
            account = self.resolve_account(request.account)
            creds = self.credentials(account)
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

    def not_sent_for(self, request: PreparedRequest, confirmed_by: str, reason: str) -> Outcome:
        """A gate refusal of a prepared request: journalled like every transaction attempt."""
        error = ConfirmationError(f"Not sent: {reason}")
        self.executor.record(request, confirmed_by, "not_sent", error=error)
        return error_outcome(error)

    async def confirm(self, token: str, confirmation: str) -> Outcome:
        """The token path: send exactly the previewed request once the human's CONFIRM arrives."""
        try:
            request = self.tokens.redeem(token, confirmation, self._rebuild)
        except McpToolError as error:
            return error_outcome(error)
        return await self.send(request, "token")

    def _rebuild(self, request: PreparedRequest) -> PreparedRequest:
        account = self.resolve_account(request.account)
        return PreparedRequest(
            account.name,
            account.environment,
            account.base_url,
            _fingerprint(account),
            request.entry,
            request.params,
        )


def _fingerprint(account: Account) -> str:
    return hashlib.sha256(account.api_key.reveal().encode()).hexdigest()[:16]
