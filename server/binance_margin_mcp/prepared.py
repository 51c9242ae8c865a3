"""A validated request ready to sign, and the digest that binds an approval to exactly it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from binance_margin_mcp.catalog.model import Endpoint


@dataclass(frozen=True)
class PreparedRequest:
    """A validated request ready to sign: the account, the entry and its exact wire parameters."""

    account: str
    environment: str
    base_url: str
    key_fingerprint: str  # sha256 prefix of the API key: binds an approval to the key without holding it
    entry: Endpoint
    params: tuple[tuple[str, str], ...]

    @property
    def action(self) -> str:
        """What an approval or journal line calls this request: the Binance endpoint."""
        return self.entry.endpoint_id

    def binding(self) -> str:
        """Digest of everything that decides what is sent and where."""
        parts = [self.account, self.environment, self.base_url, self.key_fingerprint, self.entry.endpoint_id]
        parts += [f"{name}={value}" for name, value in self.params]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()
