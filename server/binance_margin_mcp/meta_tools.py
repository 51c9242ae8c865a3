"""The hand-written account tools: list, show (masked), add from a file, remove.

Listing shows names and environments only; showing masks the key (first 5 + last 4) and the
secret (last 5). No result ever carries a full key or secret.
"""

from __future__ import annotations

from pathlib import Path

from binance_margin_mcp.errors import McpToolError
from binance_margin_mcp.service import MarginService, Outcome, error_outcome


class MetaTools:
    """Account management on top of the service's TOOLS.md store."""

    def __init__(self, service: MarginService) -> None:
        self.service = service

    def list_accounts(self) -> Outcome:
        try:
            loaded = self.service.load()
        except McpToolError as error:
            return error_outcome(error)
        rows = [{"name": a.name, "environment": a.environment} for a in loaded.accounts.values()]
        lines = ["Binance Accounts:"] + [f"{r['name']} ({r['environment']})" for r in rows]
        if not rows:
            lines.append("(none configured: add one with add_account)")
        problems = [p.message for p in loaded.problems]
        if problems:
            lines.append("Not loaded:")
            lines += [f"- {message}" for message in problems]
        return Outcome({"accounts": rows, "problems": problems}, text="\n".join(lines))

    def show_account(self, name: str | None) -> Outcome:
        try:
            account = self.service.resolve_account(name)
        except McpToolError as error:
            return error_outcome(error)
        masked = account.masked()
        text = "\n".join(f"{key}: {value}" for key, value in masked.items())
        return Outcome(masked, text=text)

    def add_account(
        self,
        *,
        name: str,
        environment: str,
        signing: str,
        credentials_file: str | None,
        private_key_file: str | None,
        passphrase_env: str | None,
        base_url: str | None,
        description: str | None,
    ) -> Outcome:
        try:
            account = self.service.store.add_account(
                name=name,
                environment=environment,
                signing=signing,
                credentials_file=Path(credentials_file).expanduser() if credentials_file else None,
                private_key_file=Path(private_key_file).expanduser() if private_key_file else None,
                passphrase_env=passphrase_env,
                base_url=base_url,
                description=description,
            )
        except McpToolError as error:
            return error_outcome(error)
        masked = account.masked()
        text = f"Added account '{account.name}' to TOOLS.md:\n" + "\n".join(f"{k}: {v}" for k, v in masked.items())
        return Outcome({"status": "added", **masked}, text=text)

    def remove_account(self, name: str) -> Outcome:
        try:
            self.service.store.remove_account(name)
        except McpToolError as error:
            return error_outcome(error)
        return Outcome({"status": "removed", "account": name}, text=f"Removed account '{name}' from TOOLS.md.")
