"""Request signing: bytes in, signature out (HMAC-SHA256 hex, RSA PKCS#1 v1.5 / Ed25519 base64).

Pure and I/O-free except `load_private_key`; the caller percent-encodes the result before sending.
HMAC uses the standard library; `cryptography` is imported only when an RSA or Ed25519 key is used, so
a server with HMAC accounts (the usual case) never loads it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from binance_margin_mcp.errors import AccountError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    PrivateKey = RSAPrivateKey | Ed25519PrivateKey

MODES = ("HMAC", "RSA", "Ed25519")

# PEM markers of an encrypted key: PKCS#8 ("ENCRYPTED PRIVATE KEY") and traditional OpenSSL (Proc-Type).
_ENCRYPTED_MARKERS = (b"-----BEGIN ENCRYPTED PRIVATE KEY-----", b"Proc-Type: 4,ENCRYPTED")


class Signer(Protocol):
    """Signs the exact payload bytes that will be sent; `mode` names the key type."""

    mode: str

    def sign(self, payload: bytes) -> str: ...


class HmacSigner:
    """HMAC-SHA256 with the account's secret key; lower-case hex."""

    __slots__ = ("_key",)
    mode: str = "HMAC"

    def __init__(self, secret: str) -> None:
        self._key = secret.encode("utf-8")

    def sign(self, payload: bytes) -> str:
        return hmac.new(self._key, payload, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return "HmacSigner(***)"


class RsaSigner:
    """RSASSA-PKCS1-v1_5 with SHA-256; standard base64 (not yet percent-encoded)."""

    __slots__ = ("_key",)
    mode: str = "RSA"

    def __init__(self, private_key: RSAPrivateKey) -> None:
        from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

        if not isinstance(private_key, RSAPrivateKey):
            raise TypeError(f"RsaSigner needs an RSA private key, not {type(private_key).__name__}")
        self._key = private_key

    def sign(self, payload: bytes) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        signature = self._key.sign(payload, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode("ascii")

    def __repr__(self) -> str:
        return "RsaSigner(***)"


class Ed25519Signer:
    """Ed25519 (RFC 8032) over the payload; base64 of the 64-byte signature (88 chars)."""

    __slots__ = ("_key",)
    mode: str = "Ed25519"

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        if not isinstance(private_key, Ed25519PrivateKey):
            raise TypeError(f"Ed25519Signer needs an Ed25519 private key, not {type(private_key).__name__}")
        self._key = private_key

    def sign(self, payload: bytes) -> str:
        return base64.b64encode(self._key.sign(payload)).decode("ascii")

    def __repr__(self) -> str:
        return "Ed25519Signer(***)"


def _key_error(path: Path, reason: str) -> AccountError:
    return AccountError(f"Private key file {path} cannot be used: {reason}")


def _key_kind(key: object) -> str:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    if isinstance(key, RSAPrivateKey):
        return "RSA"
    if isinstance(key, Ed25519PrivateKey):
        return "Ed25519"
    return type(key).__name__.lstrip("_").removesuffix("PrivateKey") or "unknown"


def load_private_key(path: Path, passphrase: bytes | None = None) -> PrivateKey:
    """Load an RSA or Ed25519 private key from a PEM file (PKCS#8, or traditional RSA).

    Every failure is an AccountError naming the file and the reason; messages never quote file
    content, and library exceptions are not chained because their text is not ours to vouch for.
    """
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise _key_error(path, "the file does not exist") from None
    except OSError as exc:
        raise _key_error(path, f"the file cannot be read ({exc.strerror or type(exc).__name__})") from None

    if b"-----BEGIN" not in data:
        raise _key_error(path, "it is not a PEM file (expected '-----BEGIN PRIVATE KEY-----', PKCS#8)")
    if b"-----BEGIN OPENSSH PRIVATE KEY-----" in data:
        raise _key_error(path, "it is in OpenSSH format; a PKCS#8 PEM key is needed (e.g. from openssl genpkey)")
    if b"PRIVATE KEY-----" not in data and b"PUBLIC KEY-----" in data:
        raise _key_error(path, "it holds a public key; the private key is needed for signing")

    encrypted = any(marker in data for marker in _ENCRYPTED_MARKERS)
    if encrypted and not passphrase:
        raise _key_error(path, "the key is encrypted and no passphrase was given")
    try:
        # A passphrase for an unencrypted key is harmless: ignore it rather than fail.
        key = load_pem_private_key(data, password=passphrase if encrypted else None)
    except (ValueError, TypeError):
        if encrypted:
            raise _key_error(path, "the passphrase is wrong (or the file is damaged)") from None
        raise _key_error(path, "it does not hold a valid PEM private key") from None
    except UnsupportedAlgorithm:
        raise _key_error(path, "the key type or its encryption is not supported") from None

    if not isinstance(key, RSAPrivateKey | Ed25519PrivateKey):
        raise _key_error(path, f"it holds an {_key_kind(key)} key; only RSA and Ed25519 are supported")
    return key


def make_signer(
    mode: str,
    *,
    secret: str | None = None,
    private_key_file: Path | None = None,
    passphrase: bytes | None = None,
) -> Signer:
    """Build the signer an account's `Signing` mode asks for, checking the key matches the mode."""
    canonical = {m.lower(): m for m in MODES}.get(mode.strip().lower())
    if canonical is None:
        raise AccountError(f"Unknown signing mode {mode!r}: use one of {', '.join(MODES)}.")
    if canonical == "HMAC":
        if not secret:
            raise AccountError("Signing is HMAC but no secret key is configured for the account.")
        return HmacSigner(secret)

    if private_key_file is None:
        raise AccountError(f"Signing is {canonical} but no private key file is configured for the account.")
    key = load_private_key(private_key_file, passphrase)
    kind = _key_kind(key)
    if kind != canonical:
        raise AccountError(f"Signing is {canonical} but the key file holds an {kind} key ({private_key_file}).")
    return RsaSigner(key) if kind == "RSA" else Ed25519Signer(key)  # type: ignore[arg-type]
