"""The hand-written tools: accounts (list, show masked, add from a file, remove), paper controls, the journal.

Listing shows names and environments only; showing masks the key (first 5 + last 4) and the
secret (last 5). No result ever carries a full key or secret.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from binance_margin_mcp.account_change import AccountChange, AddArguments
from binance_margin_mcp.catalog.model import Param
from binance_margin_mcp.credentials import Account
from binance_margin_mcp.errors import AccountError, InvalidArguments, McpToolError
from binance_margin_mcp.intents import PENDING, merge
from binance_margin_mcp.journal import MAX_READ, OUTCOMES
from binance_margin_mcp.params import wire_value
from binance_margin_mcp.pipeline import Ask, Caller, Pipeline
from binance_margin_mcp.recovery import RECOVER_AFTER_MS, SCAN_LINES, Recovery, service_credentials, view_of
from binance_margin_mcp.service import Outcome, error_outcome
from binance_margin_mcp.simulator.errors import SimError  # a small module: no simulator state or storage

if TYPE_CHECKING:  # the exchange loads with the first paper call, not at start-up
    from binance_margin_mcp.simulator.exchange import Exchange

MAX_ATTENTION = 50  # pending/UNKNOWN entries shown ahead of the recent ones


class MetaTools:
    """Account management on top of the service's TOOLS.md store."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.service = pipeline.service
        self.recovery = Recovery(self.service.executor, service_credentials(self.service))

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
        from binance_margin_mcp.simulator.ledger import STARTING_BALANCES  # loaded: the reset just used it

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

    def paper_status(self) -> Outcome:
        """The paper market's price source, pair count and last update (opens the exchange if needed)."""
        venue = self.service.venue
        try:
            if venue is None:
                raise AccountError("This server has no paper exchange.")
            if not self.has_paper_account():
                raise AccountError("No paper account is configured: TOOLS.md has no Paper account.")
            data = venue.status()
        except McpToolError as error:
            return error_outcome(error)
        updated = data.get("lastUpdate")
        when = "never by itself" if updated is None else f"at {updated} ms"
        text = f"Paper market: prices from {data['source']}, {data['symbols']} pairs, last moved {when}."
        return Outcome(data, text=text)

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

    def has_paper_account(self) -> bool:
        """Whether some account trades on the built-in paper exchange now (the built-in one when TOOLS.md has no
        accounts, or an `Environment: Paper` account); an unreadable TOOLS.md has none."""
        try:
            self._a_paper_account()
        except McpToolError:
            return False
        return True

    def _a_paper_account(self) -> str:
        """The paper market is shared: any paper account opens it (the built-in one when none is configured)."""
        venue = self.service.venue
        for account in self.service.load().accounts.values():
            if venue is not None and venue.serves(account):
                return account.name
        raise AccountError("No paper account is configured, so there is no paper market to move.")

    # -- the audit journal ------------------------------------------------------------------------

    async def list_journal(self, limit: int, account: str | None, outcome: str | None) -> Outcome:
        """Pending and UNKNOWN requests first (with what to check), then the most recent entries, newest last."""
        journal = self.service.journal
        if not journal.enabled:
            return Outcome({"attention": [], "entries": []}, text="The audit journal is disabled on this server.")
        if not isinstance(limit, int) or not 1 <= limit <= MAX_READ:
            return error_outcome(InvalidArguments(f"limit must be 1..{MAX_READ}", "limit"))
        if outcome is not None and outcome not in (*OUTCOMES, PENDING):
            return error_outcome(InvalidArguments(f"outcome must be one of {(*OUTCOMES, PENDING)}", "outcome"))
        try:
            merged = await asyncio.to_thread(lambda: merge(journal.newest_first(SCAN_LINES)))
        except OSError as error:  # named without its path: never reveal where files are
            reason = error.strerror or type(error).__name__
            return error_outcome(AccountError(f"The journal cannot be read ({reason}); nothing was changed."))
        mine = [e for e in merged if account is None or e.get("account") == account]
        attention = [self._open(e) for e in mine if e.get("outcome") in (PENDING, "UNKNOWN")][-MAX_ATTENTION:]
        entries = [e for e in mine if outcome is None or e.get("outcome") == outcome][-limit:]
        lines = []
        if attention:
            lines.append(f"Needs attention ({len(attention)}): pending or UNKNOWN, check before sending anything new")
            lines += [f"- {_line(e)}; {e['state']}; check: {e['check']}" for e in attention]
            lines.append("Recent:")
        lines += [_line(e) for e in entries]
        return Outcome({"attention": attention, "entries": entries}, text="\n".join(lines) or "No journal entries yet.")

    def _open(self, entry: dict[str, Any]) -> dict[str, Any]:
        """A pending or UNKNOWN entry with what to check, and for a pending one whether it may still be running."""
        view = view_of(entry)
        if view["outcome"] == "UNKNOWN":
            view["state"] = "outcome UNKNOWN"
        elif view.get("intent") in self.service.executor.in_flight:
            view["state"] = "being sent or looked up by this server now"
        elif (
            not isinstance(view.get("time"), int) or self.service.executor.clock_ms() - view["time"] < RECOVER_AFTER_MS
        ):
            view["state"] = "may still be in flight"
        else:
            view["state"] = "interrupted before its outcome was recorded: recover_journal settles it"
        return view

    async def recover_journal(self) -> Outcome:
        """Settle every request whose outcome never reached the journal (a killed or cut-off server)."""
        if not self.service.journal.enabled:
            return Outcome({"resolved": [], "unknown": []}, text="The audit journal is disabled on this server.")
        try:
            report = await self.recovery.run()
        except OSError as error:  # named without its path: never reveal where files are
            reason = error.strerror or type(error).__name__
            return error_outcome(AccountError(f"The journal cannot be read ({reason}); nothing was changed."))
        data = {
            "resolved": report.resolved,
            "unknown": report.unknown,
            "waiting": report.waiting,
            "unchecked": report.unchecked,
        }
        lines = [f"Resolved {len(report.resolved)} interrupted request(s):"] if report.resolved else []
        lines += [f"- {_line(e)} ({e.get('note', '')})" for e in report.resolved]
        if report.unknown:
            lines.append(f"Outcome UNKNOWN for {len(report.unknown)}: check each before sending anything new")
            lines += [f"- {_line(e)}; check: {e['check']}" for e in report.unknown]
        if report.unchecked:
            lines.append(f"Could not check {len(report.unchecked)} now (still pending; run recover_journal later):")
            lines += [f"- {_line(e)}: {e.get('note', '')}; check: {e['check']}" for e in report.unchecked]
        if report.waiting:
            minutes = RECOVER_AFTER_MS // 60_000
            lines.append(
                f"{len(report.waiting)} request(s) may still be in flight (younger than {minutes} minutes, or being "
                "sent by this server): left alone"
            )
        if not lines:
            lines.append("Nothing to recover: every request in the journal has its outcome.")
        return Outcome(data, text="\n".join(lines))


def _line(entry: dict[str, Any]) -> str:
    """One journal entry on one line: when, which account, what, the client ids, what became of it."""
    ids = ",".join(entry.get("clientIds", {}).values()) if isinstance(entry.get("clientIds"), dict) else ""
    text = f"{entry.get('time')} {entry.get('account')} ({entry.get('environment')}) {entry.get('endpoint')}"
    text += f" [{ids}]" if ids else ""
    text += f" -> {entry.get('outcome')}"
    text += f" {entry['status']}" if entry.get("status") and entry.get("status") != entry.get("outcome") else ""
    text += f" [{entry['errorCode']}]" if entry.get("errorCode") is not None else ""
    text += " (recovered)" if entry.get("recovered") else ""
    return text
