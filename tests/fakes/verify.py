"""Signature checks for the fake exchange, written independently of binance_margin_mcp.signing.

Works on the raw bytes received (fact sheet §1.7): nothing is decoded and re-encoded before hashing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from urllib.parse import unquote_to_bytes

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey


def verify_hmac(secret: str, payload: bytes, signature: str) -> bool:
    """HMAC-SHA256 hex; Binance treats the hex as case-insensitive."""
    expected = hmac.new(secret.encode("utf-8"), payload, hashlib.sha256).hexdigest()
    # compare_digest on str rejects non-ASCII with TypeError, so compare bytes.
    return hmac.compare_digest(expected.encode("ascii"), signature.lower().encode("utf-8"))


def _b64(signature_b64: str) -> bytes | None:
    try:
        return base64.b64decode(signature_b64.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None


def verify_rsa(public_key: RSAPublicKey, payload: bytes, signature_b64: str) -> bool:
    """RSASSA-PKCS1-v1_5 with SHA-256 over the payload; base64 is case-sensitive."""
    raw = _b64(signature_b64)
    if raw is None:
        return False
    try:
        public_key.verify(raw, payload, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def verify_ed25519(public_key: Ed25519PublicKey, payload: bytes, signature_b64: str) -> bool:
    """Ed25519 over the payload; the signature must be exactly 64 bytes."""
    raw = _b64(signature_b64)
    if raw is None or len(raw) != 64:
        return False
    try:
        public_key.verify(raw, payload)
    except InvalidSignature:
        return False
    return True


def _remove_signature(part: bytes) -> tuple[bytes, list[bytes]]:
    """Drop every `signature=` pair from an &-joined part; return the rest and the raw values."""
    kept: list[bytes] = []
    values: list[bytes] = []
    for pair in part.split(b"&"):
        if pair.startswith(b"signature="):
            values.append(pair[len(b"signature=") :])
        else:
            kept.append(pair)
    return b"&".join(kept), values


def split_signed(query: bytes, body: bytes) -> tuple[bytes, str | None]:
    """Split a request into (signed payload, percent-decoded signature or None).

    payload = query without its `signature=` pair + body without it, joined with no separator
    (Binance's legacy mixed example signs `...timeInForce=GTCquantity=1...`). Raises ValueError if
    `signature` is sent more than once.
    """
    query_rest, in_query = _remove_signature(query) if query else (b"", [])
    body_rest, in_body = _remove_signature(body) if body else (b"", [])
    values = in_query + in_body
    if len(values) > 1:
        raise ValueError("signature sent more than once")
    if not values:
        return query_rest + body_rest, None
    # Form decoding: a literal '+' means space, so an un-encoded base64 '+' will not verify.
    decoded = unquote_to_bytes(values[0].replace(b"+", b" ")).decode("utf-8", "replace")
    return query_rest + body_rest, decoded
