"""The hand-written account tools: list, show (masked), add from a file, remove.

Listing shows names and environments only; showing masks the key (first 5 + last 4) and the
secret (last 5). No result ever carries a full key or secret.
"""

from __future__ import annotations

from pathlib import Path

from binance_margin_mcp.account_change import AccountChange, AddArguments
from binance_margin_mcp.catalog.model import Param
from binance_margin_mcp.credentials import Account
from binance_margin_mcp.errors import AccountError, InvalidArguments, McpToolError
from binance_margin_mcp.params import wire_value
from binance_margin_mcp.pipeline import Ask, Caller, Pipeline
from binance_margin_mcp.service import Outcome, error_outcome
from binance_margin_mcp.simulator.errors import SimError
from binance_margin_mcp.simulator.exchange import STARTING_BALANCES, Exchange


class MetaTools:
    """Account management on top of the service's TOOLS.md store."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.service = pipeline.service

    def list_accounts(self) -> Outcome:
        try:
            loaded = self.service.load()
        except McpToolError as error:
            return error_outcome(error)
        rows = [{"name": a.name, "environment": a.environment} for a in loaded.accounts.values()]
        lines = ["Binance Accounts:"] + [f"{r['name']} ({r['environment']})" for r in rows]
        notes = []
        if self.service.store.missing:
            notes.append(
                "the TOOLS.md given at start (--tools-md or $BINANCE_MARGIN_TOOLS_MD) was not found: ask the user "
                "to check that path and restart"
            )
        if self.service.uses_builtin_paper(loaded):
            notes.append("built-in paper account: no accounts in TOOLS.md")
        elif not rows and not loaded.configured:
            notes.append("none configured: add one with add_account")
        lines += [f"({note})" for note in notes]
        problems = [p.message for p in loaded.problems]
        if problems:
            lines.append("Not loaded (calls to these accounts fail until TOOLS.md is fixed):")
            lines += [f"- {message}" for message in problems]
        data: dict[str, object] = {"accounts": rows, "problems": problems}
        if notes:
            data["notes"] = notes
        return Outcome(data, text="\n".join(lines))

    def show_account(self, name: str | None) -> Outcome:
        try:
            account = self.service.resolve_account(name)
        except McpToolError as error:
            return error_outcome(error)
        masked = account.masked()
        text = "\n".join(f"{key}: {value}" for key, value in masked.items())
        return Outcome(masked, text=text)

    async def add_account(
        self,
        caller: Caller,
        *,
        name: str,
        environment: str,
        signing: str,
        credentials_file: str | None,
        private_key_file: str | None,
        passphrase_env: str | None,
        base_url: str | None,
        description: str | None,
    ) -> Outcome | Ask:
        """Add an account; a Mainnet one only after the human approves it (it could sign real trades)."""
        arguments = AddArguments(
            name=name,
            environment=environment,
            signing=signing,
            # `~` is expanded where the file is opened: an unknown home directory is refused like any path.
            credentials_file=Path(credentials_file) if credentials_file else None,
            private_key_file=Path(private_key_file) if private_key_file else None,
            passphrase_env=passphrase_env,
            base_url=base_url,
            description=description,
        )
        try:
            change = AccountChange.adding(self.service.store, arguments)
        except McpToolError as error:
            return error_outcome(error)
        return await self.pipeline.change_account(change, caller)

    async def remove_account(self, caller: Caller, name: str) -> Outcome | Ask:
        """Remove an account; removing a Mainnet one (or one that does not load) needs the human's approval."""
        try:
            change = AccountChange.removing(self.service.store, name)
        except McpToolError as error:
            return error_outcome(error)
        return await self.pipeline.change_account(change, caller)

    # -- paper exchange controls (they never touch a real account) --------------------------------

    def _paper_exchange(self, name: str | None) -> tuple[Account, Exchange]:
        account = self.service.resolve_account(name)
        venue = self.service.venue
        if venue is None or not venue.serves(account):
            raise AccountError(f"Account '{account.name}' is not a built-in paper account; nothing was changed.")
        venue.admit(account)
        return account, venue.exchange

    def reset_paper_account(self, name: str | None) -> Outcome:
        """Starting balances again; a damaged state file is moved aside (kept) and the exchange starts fresh."""
        moved = None
        try:
            account = self.service.resolve_account(name)
            venue = self.service.venue
            if venue is not None and venue.serves(account):
                moved = venue.recover()
            account, exchange = self._paper_exchange(account.name)
            exchange.reset_user(account.name)
        except McpToolError as error:
            return error_outcome(error)
        balances = ", ".join(f"{amount} {asset}" for asset, amount in STARTING_BALANCES.items())
        text = f"Paper account '{account.name}' reset to its starting balances: {balances}"
        data: dict[str, object] = {"status": "reset", "account": account.name, "balances": dict(STARTING_BALANCES)}
        if moved is not None:
            data["movedAside"] = moved
            text += (
                f". The damaged paper state file was moved aside (kept as {moved}) and the paper exchange started "
                "fresh: every paper account now has its starting balances."
            )
        return Outcome(data, text=text)

    def set_paper_price(self, symbol: str, price: str | float) -> Outcome:
        try:
            text_symbol = wire_value(Param("symbol", "string"), symbol)
            text_price = wire_value(Param("price", "decimal"), price)
            _, exchange = self._paper_exchange(self._a_paper_account())
            exchange.set_price(text_symbol, text_price)
        except McpToolError as error:
            return error_outcome(error)
        except SimError as error:
            return error_outcome(AccountError(f"Paper exchange refused: {error.msg}"))
        return Outcome(
            {"symbol": text_symbol, "price": text_price},
            text=f"Paper market {text_symbol} now at {text_price}; resting paper orders were matched.",
        )

    def deposit_paper_funds(
        self, account: str | None, asset: str, amount: str | float, isolated_symbol: str | None
    ) -> Outcome:
        """Paper money in: into cross margin or an isolated pair (Binance moves funds with /sapi/v1/asset/transfer,
        which is not a margin endpoint, so this is how paper isolated pairs get collateral)."""
        try:
            text_asset = wire_value(Param("asset", "string"), asset)
            text_amount = wire_value(Param("amount", "decimal"), amount)
            pair = wire_value(Param("symbol", "string"), isolated_symbol) if isolated_symbol else None
            paper, exchange = self._paper_exchange(account)
            exchange.deposit(paper.name, text_asset, text_amount, pair)
        except McpToolError as error:
            return error_outcome(error)
        except (SimError, ValueError) as error:
            message = error.msg if isinstance(error, SimError) else str(error)
            return error_outcome(InvalidArguments(f"Paper exchange refused the deposit: {message}"))
        where = f"isolated {pair}" if pair else "cross margin"
        data = {"account": paper.name, "asset": text_asset, "amount": text_amount, "into": where}
        return Outcome(data, text=f"Deposited {text_amount} {text_asset} into {where} of paper account '{paper.name}'.")

    def _a_paper_account(self) -> str:
        """The paper market is shared: any paper account opens it (the built-in one when none is configured)."""
        venue = self.service.venue
        for account in self.service.load().accounts.values():
            if venue is not None and venue.serves(account):
                return account.name
        raise AccountError("No paper account is configured, so there is no paper market to move.")

    def list_journal(self, limit: int, account: str | None, outcome: str | None) -> Outcome:
        """The most recent audit-journal entries (transaction attempts), newest last."""
        if not self.service.journal.enabled:
            return Outcome({"entries": []}, text="The audit journal is disabled on this server.")
        try:
            entries = self.service.journal.read(limit, account=account, outcome=outcome)
        except ValueError as error:
            return error_outcome(InvalidArguments(str(error)))
        lines = [
            f"{e['time']} {e['account']} ({e['environment']}) {e['endpoint']} -> {e['outcome']}"
            + (f" {e['status']}" if e.get("status") else "")
            + (f" [{e['errorCode']}]" if e.get("errorCode") is not None else "")
            for e in entries
        ]
        return Outcome({"entries": entries}, text="\n".join(lines) or "No journal entries yet.")
