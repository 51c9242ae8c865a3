"""API keys the paper exchange accepts: each maps to a user and to what verifies its signatures.

HMAC keys keep their secret; RSA and Ed25519 keys keep only a public key (a private key read from
TOOLS.md is used once to derive it, then dropped). Verification is written independently of the
client's signer, over the exact bytes received.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from binance_margin_mcp.credentials import Account, mask_api_key

logger = logging.getLogger("binance_margin_mcp.simulator")

KeyKind = Literal["HMAC", "RSA", "Ed25519"]
PublicKey = RSAPublicKey | Ed25519PublicKey
_KINDS: dict[str, KeyKind] = {"hmac": "HMAC", "rsa": "RSA", "ed25519": "Ed25519"}
# A key travels in the X-MBX-APIKEY header: one word of printable ASCII.
API_KEY_RE = re.compile(r"[\x21-\x7e]{1,256}")


@dataclass(frozen=True, repr=False)
class KeyEntry:
    """One registered key. `material` is the HMAC secret (bytes) or the public key object."""

    user: str
    kind: KeyKind
    material: bytes | PublicKey
    masked_key: str

    def __repr__(self) -> str:
        return f"KeyEntry(user={self.user!r}, kind={self.kind!r}, api_key={self.masked_key!r})"


def kind_of(kind: str) -> KeyKind:
    """Canonical key kind ("hmac" -> "HMAC"), or ValueError."""
    canonical = _KINDS.get(str(kind).strip().casefold())
    if canonical is None:
        raise ValueError("key kind must be HMAC, RSA or Ed25519")
    return canonical


def load_public_key(material: object) -> PublicKey:
    """An RSA/Ed25519 public key from a key object, PEM text/bytes or base64 DER (SubjectPublicKeyInfo).

    A private key object is accepted and reduced to its public half; a private key in PEM is refused,
    so nothing secret is ever parsed here by accident.
    """
    if isinstance(material, RSAPrivateKey | Ed25519PrivateKey):
        return material.public_key()
    if isinstance(material, RSAPublicKey | Ed25519PublicKey):
        return material
    if not isinstance(material, str | bytes):
        raise ValueError("public key must be a key object, PEM text or base64 DER")
    data = material.encode("ascii", "replace") if isinstance(material, str) else material
    if b"PRIVATE KEY" in data:
        raise ValueError("expected a public key, got a private key")
    try:
        if b"-----BEGIN" in data:
            key = serialization.load_pem_public_key(data.strip())
        else:
            key = serialization.load_der_public_key(base64.b64decode(b"".join(data.split()), validate=True))
    except (ValueError, TypeError, UnsupportedAlgorithm, binascii.Error) as exc:
        raise ValueError(f"not a readable RSA or Ed25519 public key ({type(exc).__name__})") from None
    if not isinstance(key, RSAPublicKey | Ed25519PublicKey):
        raise ValueError(f"unsupported public key type {type(key).__name__}; use RSA or Ed25519")
    return key


def _public_kind(key: PublicKey) -> KeyKind:
    return "RSA" if isinstance(key, RSAPublicKey) else "Ed25519"


def verify(entry: KeyEntry, payload: bytes, signature: str) -> bool:
    """True if `signature` (already percent-decoded) signs `payload` for this key.

    HMAC: SHA-256 hex, case-insensitive. RSA: PKCS#1 v1.5 with SHA-256. Ed25519: RFC 8032. The last
    two are base64 (case-sensitive, strict alphabet).
    """
    if entry.kind == "HMAC":
        expected = hmac.new(cast(bytes, entry.material), payload, hashlib.sha256).hexdigest().encode("ascii")
        # compare_digest refuses non-ASCII str, so compare bytes.
        return hmac.compare_digest(expected, signature.lower().encode("utf-8", "replace"))
    try:
        raw = base64.b64decode(signature.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return False
    try:
        if isinstance(entry.material, RSAPublicKey):
            entry.material.verify(raw, payload, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(entry.material, Ed25519PublicKey):
            entry.material.verify(raw, payload)
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


class KeyRegistry:
    """Thread-safe api_key -> KeyEntry map. Nothing it prints or raises contains a key or secret."""

    verify = staticmethod(verify)

    def __init__(self) -> None:
        self._entries: dict[str, KeyEntry] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"KeyRegistry({len(self)} keys, users={sorted(self.users())!r})"

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, api_key: object) -> bool:
        with self._lock:
            return api_key in self._entries

    def add_hmac(self, api_key: str, secret: str, user: str) -> None:
        if not secret:
            raise ValueError("HMAC secret is empty")
        self._add(api_key, KeyEntry(user, "HMAC", secret.encode("utf-8"), mask_api_key(api_key)))

    def add_public_key(self, api_key: str, public_key: object, user: str) -> None:
        """Register an RSA or Ed25519 key (key object, PEM, or base64 DER of the public key)."""
        key = load_public_key(public_key)
        self._add(api_key, KeyEntry(user, _public_kind(key), key, mask_api_key(api_key)))

    def on_new_key(self, user: str, api_key: str, kind: str, material: object) -> None:
        """Hook for the exchange's special keys: HMAC -> material is the secret; RSA/Ed25519 -> a public key."""
        canonical = kind_of(kind)
        if canonical == "HMAC":
            if not isinstance(material, str):
                raise ValueError("HMAC key material must be the secret string")
            self.add_hmac(api_key, material, user)
            return
        key = load_public_key(material)
        if _public_kind(key) != canonical:
            raise ValueError(f"kind is {canonical} but the public key is {_public_kind(key)}")
        self.add_public_key(api_key, key, user)

    def remove(self, api_key: str) -> bool:
        """Forget a key (e.g. a deleted special key); True if it was registered."""
        with self._lock:
            return self._entries.pop(api_key, None) is not None

    def lookup(self, api_key: str) -> KeyEntry | None:
        with self._lock:
            return self._entries.get(api_key)

    def users(self) -> set[str]:
        with self._lock:
            return {entry.user for entry in self._entries.values()}

    def _add(self, api_key: str, entry: KeyEntry) -> None:
        if not isinstance(api_key, str) or not API_KEY_RE.fullmatch(api_key):
            raise ValueError("API key must be one word of printable ASCII (at most 256 characters)")
        if not entry.user:
            raise ValueError("user is empty")
        with self._lock:
            current = self._entries.get(api_key)
            if current is not None and current.user != entry.user:
                # One key naming two users would let one act as the other.
                raise ValueError(f"API key {entry.masked_key} is already registered for another user")
            self._entries[api_key] = entry

    def from_accounts(
        self,
        accounts: Mapping[str, Account] | Iterable[Account],
        environ: Mapping[str, str] | None = None,
        *,
        environments: Iterable[str] | None = None,
    ) -> KeyRegistry:
        """Add the keys of TOOLS.md accounts (the user is the account name); returns self.

        `environments` keeps only accounts of those environments (default: all). An account whose key
        cannot be loaded (missing file or passphrase, wrong key type) is skipped with a warning that
        names the account, never the key, the secret or the file.
        """
        environ = os.environ if environ is None else environ
        wanted = None if environments is None else set(environments)
        items = accounts.values() if isinstance(accounts, Mapping) else accounts
        for account in items:
            if wanted is not None and account.environment not in wanted:
                continue
            try:
                self._add_account(account, environ)
            except ValueError as exc:
                logger.warning("paper exchange: account '%s' skipped: %s", account.name, exc)
        return self

    def _add_account(self, account: Account, environ: Mapping[str, str]) -> None:
        api_key = account.api_key.reveal()
        if account.signing == "HMAC":
            if account.secret is None:
                raise ValueError("HMAC account without a secret")
            self.add_hmac(api_key, account.secret.reveal(), account.name)
            return
        if account.private_key_file is None:
            raise ValueError(f"{account.signing} account without a private key file")
        public = _public_from_private_file(account.private_key_file, account.passphrase_env, environ)
        if _public_kind(public) != account.signing:
            raise ValueError(f"Signing is {account.signing} but the private key is {_public_kind(public)}")
        self.add_public_key(api_key, public, account.name)


def _public_from_private_file(path: Path, passphrase_env: str | None, environ: Mapping[str, str]) -> PublicKey:
    password: bytes | None = None
    if passphrase_env:
        if passphrase_env not in environ:
            raise ValueError(f"passphrase variable {passphrase_env} is not set")
        password = environ[passphrase_env].encode("utf-8")
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ValueError(f"private key file cannot be read ({type(exc).__name__})") from None
    try:
        private = serialization.load_pem_private_key(data, password=password)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        # The library's text can mention the password; report only the kind of failure.
        raise ValueError(f"private key file is not a usable PEM private key ({type(exc).__name__})") from None
    if not isinstance(private, RSAPrivateKey | Ed25519PrivateKey):
        raise ValueError(f"unsupported private key type {type(private).__name__}")
    return private.public_key()
