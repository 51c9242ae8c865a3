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

from binance_margin_mcp.account import key_material_digest
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
        self._signers: dict[str, tuple[str, Signer]] = {}  # account name -> (key material digest, signer)

    # -- accounts ---------------------------------------------------------------------------

    def load(self) -> LoadResult:
        """TOOLS.md's accounts; only when it has no account entries at all does the built-in paper account stand in."""
        loaded = self.store.load()
        if loaded.configured or self.venue is None:
            return loaded
        return LoadResult({self.venue.builtin.name: self.venue.builtin}, loaded.problems)

    def uses_builtin_paper(self, loaded: LoadResult) -> bool:
        return self.venue is not None and loaded.accounts.get(self.venue.builtin.name) is self.venue.builtin

    def resolve_account(self, name: str | None) -> Account:
        """The named account, else the default (see `default_account`). Never a guess: an account that does
        not load, or that TOOLS.md defines twice, is an error naming the line, never a fallback to another."""
        loaded = self.load()
        chosen = name if name is not None else default_account(loaded)
        account = loaded.accounts.get(chosen)
        trouble = loaded.problems_of(chosen)
        if account is not None and not trouble:
            return account
        known = list(dict.fromkeys([*loaded.entries, *loaded.accounts]))
        if trouble or chosen in loaded.entries:
            others = [n for n in known if n != chosen]
            raise AccountError(cannot_use(chosen, trouble, others, default=name is None), known)
        raise AccountError(f"No account named '{chosen}'. Known accounts: {', '.join(known) or 'none'}.", known)

    def credentials(self, account: Account) -> Credentials:
        # Defence in depth: the journal scrubs these should one ever reach a line.
        self.journal.add_secret(account.api_key.reveal())
        if account.secret is not None:
            self.journal.add_secret(account.secret.reveal())
        base_url = account.base_url
        if self.venue is not None and self.venue.serves(account):
            self.venue.admit(account)  # refuses with what is wrong when the paper state cannot be used
            base_url = IN_PROCESS_URL
        elif account.base_url == PAPER_BASE_URL:
            raise AccountError(f"Account '{account.name}' is a Paper account but the paper exchange is not running.")
        signer = self._signer(account)
        return Credentials(base_url, account.api_key.reveal(), signer, account.environment, account.recv_window)

    def _signer(self, account: Account) -> Signer:
        """One signer per account, made again whenever its key material changes (an edited secret counts at once)."""
        passphrase = None
        if account.passphrase_env:
            value = self._environ.get(account.passphrase_env)
            if value is None:
                raise AccountError(
                    f"Account '{account.name}': the environment variable {account.passphrase_env} (the private "
                    "key's passphrase) is not set."
                )
            passphrase = value.encode()
        digest = key_material_digest(account, passphrase)
        cached = self._signers.get(account.name)
        if cached is not None and cached[0] == digest:
            return cached[1]
        signer = make_signer(
            account.signing,
            secret=account.secret.reveal() if account.secret else None,
            private_key_file=account.private_key_file,
            passphrase=passphrase,
        )
        self._signers[account.name] = (digest, signer)  # replaces the old one: old secrets are not kept
        return signer

    # -- preparing and sending ---------------------------------------------------------------

    def prepare(self, entry: Endpoint, args: Mapping[str, Any], account: Account) -> PreparedRequest:
        """Validate `args` into the exact wire parameters (new client ids generated now, once per call)."""
        # The account's recvWindow is part of the request itself, so the preview, the approval and the journal
        # show it and reconciliation knows how late Binance may still accept it.
        params = tuple(build_wire_params(entry, args, server_values={"recvWindow": account.recv_window}))
        return PreparedRequest(account.name, account.environment, account.base_url, fingerprint(account), entry, params)

    def rebound(self, request: PreparedRequest, account: Account) -> PreparedRequest:
        """The same wire parameters against the account as it is now (its binding shows any change)."""
        return PreparedRequest(
            account.name, account.environment, account.base_url, fingerprint(account), request.entry, request.params
        )

    def check_arguments(self, entry: Endpoint, supplied: Mapping[str, Any]) -> None:
        reject_unknown(entry, supplied, {"account", "dryRun"} if entry.transaction else {"account"})

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


def default_account(loaded: LoadResult) -> str:
    """`main` if TOOLS.md has it (loadable or not); else its only account; else ask. The built-in paper account
    only when TOOLS.md has no account entries at all."""
    if DEFAULT_ACCOUNT in loaded.entries or DEFAULT_ACCOUNT in loaded.accounts:
        return DEFAULT_ACCOUNT
    if not loaded.configured:
        if len(loaded.accounts) == 1:  # the built-in paper account
            return next(iter(loaded.accounts))
        raise AccountError("No Binance accounts are configured yet. Add one with add_account.", [])
    names = list(dict.fromkeys(loaded.entries))
    if len(names) == 1 and len(loaded.entries) == 1 and all(p.name == names[0] for p in loaded.problems):
        return names[0]  # TOOLS.md's only account (resolve_account refuses it if it does not load)
    problems = [p.message for p in loaded.problems]
    not_loaded = f" Not usable: {'; '.join(problems)}." if problems else ""
    if not names:
        raise AccountError(
            f"TOOLS.md has no usable account.{not_loaded} Nothing was sent. Ask the user to fix TOOLS.md, or add an "
            "account with add_account.",
            [],
        )
    raise AccountError(
        f"There is no '{DEFAULT_ACCOUNT}' account and TOOLS.md has several: {', '.join(names)}.{not_loaded} Ask the "
        "user which one to use and pass it as `account`; nothing was sent.",
        names,
    )


def cannot_use(name: str, problems: list[str], others: list[str], *, default: bool) -> str:
    """Why an account that TOOLS.md has cannot be used, and how to fix it (never a path, never a value)."""
    text = f"Account '{name}' cannot be used: {'; '.join(problems) or 'its entry in TOOLS.md does not load'}."
    text += " Nothing was sent."
    if default:
        text += f" Calls without `account` use '{name}' and never fall back to another account."
    text += " Ask the user to fix that entry in TOOLS.md (or remove the account and add it again with add_account)"
    return text + (f", or pass another account: {', '.join(others)}." if others else ".")
