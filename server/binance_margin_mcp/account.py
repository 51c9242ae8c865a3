"""A TOOLS.md account as the server holds it, with the masking rules for showing one.

Keys and secrets live only inside `Secret`; no message, repr or log line built here contains one.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NoReturn

Environment = Literal["Mainnet", "Testnet", "Paper"]
SigningMode = Literal["HMAC", "RSA", "Ed25519"]
ENVIRONMENTS: tuple[str, ...] = ("Mainnet", "Testnet", "Paper")
SIGNING_MODES: tuple[str, ...] = ("HMAC", "RSA", "Ed25519")
CONFIRM_WITH: tuple[str, ...] = ("TOTP",)  # optional per-account confirmation channel (set by the human only)


class Secret:
    """A secret string that never shows itself: repr, str and format are masked, pickling is refused."""

    __slots__ = ("_value",)
    __hash__ = None  # type: ignore[assignment]  # equal by value, but no hash of a secret to leak

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return format(repr(self), spec)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError("Secret cannot be pickled")

    def __copy__(self) -> Secret:  # immutable: copy/deepcopy (and dataclasses.asdict) keep it wrapped
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self


def mask_api_key(key: str) -> str:
    return "***" if len(key) < 12 else f"{key[:5]}...{key[-4:]}"


def mask_secret(secret: str) -> str:
    return "***" if len(secret) < 10 else f"...{secret[-5:]}"


@dataclass(frozen=True, repr=False)
class Account:
    name: str
    environment: Environment
    signing: SigningMode
    api_key: Secret
    secret: Secret | None
    private_key_file: Path | None
    passphrase_env: str | None
    base_url: str
    description: str
    limits: dict[str, str]
    line: int
    confirm_with: str | None = None  # "TOTP": mainnet transactions are confirmed with a one-time code
    totp_secret_file: Path | None = None  # never shown: tool results only say "enrolled"
    recv_window: int | None = None  # ms, sent with every signed request; None: Binance's default (5000)

    def masked(self) -> dict[str, str]:
        out = {"account": self.name, "environment": self.environment, "signing": self.signing}
        out["apiKey"] = mask_api_key(self.api_key.reveal())
        if self.secret is not None:
            out["secret"] = mask_secret(self.secret.reveal())
        elif self.private_key_file is not None:
            out["privateKeyFile"] = "..." + str(self.private_key_file)[-5:]
        out["baseUrl"] = self.base_url
        if self.recv_window is not None:
            out["recvWindow"] = f"{self.recv_window} ms"
        if self.description:
            out["description"] = self.description
        if self.confirm_with == "TOTP":  # neither the secret file's path nor its content
            out["confirmWith"] = "TOTP"
            out["totp"] = "enrolled"
        return out

    def __repr__(self) -> str:
        shown = f"name={self.name!r}, environment={self.environment!r}, signing={self.signing!r}"
        return f"Account({shown}, api_key={mask_api_key(self.api_key.reveal())!r})"


def key_material_digest(account: Account, passphrase: bytes | None = None) -> str:
    """A digest of everything that decides how the account signs: a changed secret, key or PEM file changes it.

    Caches of signers and registered keys are keyed by it, so an edited TOOLS.md counts from the next call;
    the secret itself is never part of a key. A PEM file counts by its identity (device, inode, size, mtime).
    """
    digest = hashlib.sha256()
    parts = [account.name, account.signing, account.api_key.reveal()]
    parts.append(account.secret.reveal() if account.secret is not None else "")
    parts.append(str(account.private_key_file or ""))
    if account.private_key_file is not None:
        try:
            info = os.stat(account.private_key_file)
            parts.append(f"{info.st_dev}:{info.st_ino}:{info.st_size}:{info.st_mtime_ns}")
        except OSError:
            parts.append("unreadable")
    for part in parts:
        digest.update(part.encode() + b"\0")
    digest.update(hashlib.sha256(passphrase).digest() if passphrase is not None else b"-")
    return digest.hexdigest()


@dataclass(frozen=True)
class AccountProblem:
    line: int
    name: str | None
    message: str  # names the line and the field, never a value


@dataclass(frozen=True)
class LoadResult:
    accounts: dict[str, Account]
    problems: list[AccountProblem]
    # The valid name of every '### name' block of the accounts section, loadable or not, in file order.
    entries: tuple[str, ...] = ()

    @property
    def configured(self) -> bool:
        """TOOLS.md holds account entries (or lines that tried to be): never fall back to the built-in paper."""
        return bool(self.entries or self.problems)

    def problems_of(self, name: str) -> list[str]:
        return [p.message for p in self.problems if p.name == name]
