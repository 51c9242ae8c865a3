"""A change of TOOLS.md credentials as something a human approves: adding or removing an account.

Adding or removing a Mainnet account changes which key signs real trades (and which account is the
default), so it goes through the same gate as a transaction. The approval binds the account name,
environment, host and API-key fingerprint; the change is applied only if they are still the same.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from binance_margin_mcp.account import mask_api_key
from binance_margin_mcp.credentials import ToolsMdStore
from binance_margin_mcp.errors import AccountError
from binance_margin_mcp.preview import describe_host, escape_text


@dataclass(frozen=True)
class AddArguments:
    """What `add_account` was given; files are read again when the approved change is applied."""

    name: str
    environment: str
    signing: str
    credentials_file: Path | None
    private_key_file: Path | None
    passphrase_env: str | None
    base_url: str | None
    description: str | None

    def planned(self, store: ToolsMdStore) -> dict[str, str]:
        return store.plan_account(**self.__dict__)


@dataclass(frozen=True)
class AccountChange:
    """One add or remove of an account, as the human sees it and as the approval binds it."""

    kind: str  # "add" | "remove"
    account: str
    environment: str
    base_url: str
    key_fingerprint: str
    shown: tuple[tuple[str, str], ...] = ()  # masked details for the preview: never a secret, never a path
    arguments: AddArguments | None = field(default=None, compare=False)

    @property
    def action(self) -> str:
        return f"TOOLS.md {self.kind}_account"

    def binding(self) -> str:
        parts = [
            self.kind,
            self.account,
            self.environment,
            self.base_url,
            self.key_fingerprint,
            *map("=".join, self.shown),
        ]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def preview(self) -> dict[str, Any]:
        """What the human sees, in the same shape as a request preview (values escaped)."""
        host, note = describe_host(self.base_url)
        what = "Add" if self.kind == "add" else "Remove"
        return {
            "account": escape_text(self.account),
            "environment": self.environment,
            "host": host,
            "hostNote": note,
            "endpoint": self.action,
            "tool": f"{self.kind}_account",
            "notes": [f"{what} the {self.environment} account '{escape_text(self.account)}' in TOOLS.md"],
            "parameters": {name: escape_text(value) for name, value in self.shown},
        }

    @classmethod
    def adding(cls, store: ToolsMdStore, arguments: AddArguments) -> AccountChange:
        plan = arguments.planned(store)
        shown = (("apiKey", plan["maskedKey"]), ("signing", plan["signing"]))
        if plan.get("description"):
            shown += (("description", plan["description"]),)
        return cls("add", arguments.name, plan["environment"], plan["baseUrl"], plan["fingerprint"], shown, arguments)

    @classmethod
    def removing(cls, store: ToolsMdStore, name: str) -> AccountChange:
        loaded = store.load().accounts.get(name)
        if loaded is not None:
            key = loaded.api_key.reveal()
            shown = (("apiKey", mask_api_key(key)), ("signing", loaded.signing))
            return cls("remove", name, loaded.environment, loaded.base_url, key_fingerprint(key), shown)
        block = store.block_text(name)
        if block is None:
            raise AccountError(f"No account '{name}' in TOOLS.md.")
        # It does not load, so its environment is unknown: treat it as Mainnet, bound to its exact text.
        digest = hashlib.sha256(block.encode()).hexdigest()[:16]
        return cls("remove", name, "Mainnet", "unknown (the entry does not load)", digest)

    def current(self, store: ToolsMdStore) -> AccountChange:
        """The same change worked out again from the files as they are now."""
        if self.kind == "add" and self.arguments is not None:
            return AccountChange.adding(store, self.arguments)
        return AccountChange.removing(store, self.account)


def key_fingerprint(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]
