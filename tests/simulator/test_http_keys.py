"""Keys: RSA and Ed25519 signed requests, keys derived from TOOLS.md, the special-key hook, no secret shown.

Keys are generated here and requests signed with `cryptography` directly, never with the project's signer.
"""

from __future__ import annotations

import base64
import logging
import os
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from test_http_support import NOW, ORDER, ORDER_PATH, SECRET, StubExchange, call, encode, hmac_hex

from binance_margin_mcp.credentials import ToolsMdStore
from binance_margin_mcp.simulator.http import SimulatorApp
from binance_margin_mcp.simulator.keys import KeyEntry, KeyRegistry, verify

RSA_KEY = "rsaKEY000011112222333344445555666677778888999900aabbccddeeff0011"
ED_KEY = "edKEY0000111122223333444455556666777788889999000aabbccddeeff0011"
HMAC_KEY = "hmacKEY00011112222333344445555666677778888999900aabbccddeeff0011"


@pytest.fixture(scope="module")
def rsa_private() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def sign_rsa(key: rsa.RSAPrivateKey, payload: bytes) -> str:
    return base64.b64encode(key.sign(payload, padding.PKCS1v15(), hashes.SHA256())).decode()


def sign_ed25519(key: ed25519.Ed25519PrivateKey, payload: bytes) -> str:
    return base64.b64encode(key.sign(payload)).decode()


def key_signed(sign, pairs, timestamp: int = NOW) -> bytes:
    """`pairs` + timestamp + the percent-encoded base64 signature, as a client sends it."""
    payload = encode([*pairs, ("timestamp", str(timestamp))])
    return payload + b"&signature=" + quote(sign(payload), safe="").encode()


def app_with(keys: KeyRegistry) -> tuple[SimulatorApp, StubExchange]:
    exchange = StubExchange()
    return SimulatorApp(exchange, keys, clock_ms=lambda: NOW), exchange


def test_rsa_signed_requests_verify_with_the_registered_public_key(rsa_private):
    """PKCS#1 v1.5 SHA-256 over the payload, base64 then percent-encoded, passes; another key's fails."""
    keys = KeyRegistry()
    keys.add_public_key(RSA_KEY, rsa_private.public_key(), "rita")
    app, exchange = app_with(keys)
    good = call(app, "POST", ORDER_PATH, key_signed(lambda p: sign_rsa(rsa_private, p), ORDER), key=RSA_KEY)
    assert good.status == 200, good.raw
    assert exchange.calls[0][0] == "rita"
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    bad = call(app, "POST", ORDER_PATH, key_signed(lambda p: sign_rsa(stranger, p), ORDER), key=RSA_KEY)
    assert bad.code == -1022
    hmac_signed = call(app, "POST", ORDER_PATH, key_signed(lambda p: hmac_hex(SECRET, p), ORDER), key=RSA_KEY)
    assert hmac_signed.code == -1022
    assert len(exchange.calls) == 1


def test_ed25519_signed_requests_verify_and_a_tampered_request_fails():
    """Ed25519 over the payload verifies; the same signature on a changed byte does not."""
    private = ed25519.Ed25519PrivateKey.generate()
    keys = KeyRegistry()
    keys.add_public_key(ED_KEY, private.public_key(), "eddie")
    app, exchange = app_with(keys)
    query = key_signed(lambda p: sign_ed25519(private, p), ORDER)
    assert call(app, "POST", ORDER_PATH, query, key=ED_KEY).status == 200
    tampered = query.replace(b"price=30000", b"price=30001")
    assert call(app, "POST", ORDER_PATH, tampered, key=ED_KEY).code == -1022
    assert exchange.calls[0][0] == "eddie"
    assert len(exchange.calls) == 1


def test_an_unencoded_plus_in_a_base64_signature_reads_as_a_space_and_fails():
    """Form decoding turns a literal '+' into a space, so base64 must be percent-encoded (as Binance's SDK does)."""
    private = ed25519.Ed25519PrivateKey.generate()
    keys = KeyRegistry()
    keys.add_public_key(ED_KEY, private.public_key(), "eddie")
    app, exchange = app_with(keys)
    for timestamp in range(NOW, NOW - 500, -1):
        payload = encode([*ORDER, ("timestamp", str(timestamp))])
        signature = sign_ed25519(private, payload)
        if "+" in signature:
            break
    else:
        pytest.fail("no signature with a '+' in 500 tries")
    raw = call(app, "POST", ORDER_PATH, payload + b"&signature=" + signature.encode(), key=ED_KEY)
    assert raw.code == -1022
    encoded = payload + b"&signature=" + quote(signature, safe="").encode()
    assert call(app, "POST", ORDER_PATH, encoded, key=ED_KEY).status == 200
    assert len(exchange.calls) == 1


def write_tools_md(tmp_path: Path, rsa_private: rsa.RSAPrivateKey, ed_private: ed25519.Ed25519PrivateKey) -> Path:
    rsa_pem = tmp_path / "rsa.pem"
    rsa_pem.write_bytes(
        rsa_private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"open sesame"),
        )
    )
    ed_pem = tmp_path / "ed25519.pem"
    ed_pem.write_bytes(
        ed_private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    for pem in (rsa_pem, ed_pem):
        os.chmod(pem, 0o600)
    text = f"""# Tools

## Binance Accounts

### practice-hmac
- API Key: {HMAC_KEY}
- Secret: {SECRET}
- Signing: HMAC
- Environment: Paper

### practice-rsa
- API Key: {RSA_KEY}
- Private Key File: {rsa_pem}
- Private Key Passphrase Env: SIM_TEST_RSA_PASSPHRASE
- Signing: RSA
- Environment: Paper

### practice-ed
- API Key: {ED_KEY}
- Private Key File: {ed_pem}
- Signing: Ed25519
- Environment: Testnet
"""
    path = tmp_path / "TOOLS.md"
    path.write_text(text)
    os.chmod(path, 0o600)
    return path


def test_keys_from_a_tools_md_sign_for_hmac_rsa_and_ed25519_accounts(tmp_path, rsa_private):
    """Each TOOLS.md account becomes a user named after it; the RSA key's passphrase comes from its env var."""
    ed_private = ed25519.Ed25519PrivateKey.generate()
    accounts = ToolsMdStore(write_tools_md(tmp_path, rsa_private, ed_private)).load().accounts
    keys = KeyRegistry().from_accounts(accounts, {"SIM_TEST_RSA_PASSPHRASE": "open sesame"})
    app, exchange = app_with(keys)
    requests = [
        (HMAC_KEY, key_signed(lambda p: hmac_hex(SECRET, p), ORDER)),
        (RSA_KEY, key_signed(lambda p: sign_rsa(rsa_private, p), ORDER)),
        (ED_KEY, key_signed(lambda p: sign_ed25519(ed_private, p), ORDER)),
    ]
    for api_key, query in requests:
        assert call(app, "POST", ORDER_PATH, query, key=api_key).status == 200
    assert [user for user, _, _ in exchange.calls] == ["practice-hmac", "practice-rsa", "practice-ed"]
    assert isinstance(keys.lookup(RSA_KEY).material, RSAPublicKey), "only the public key is kept"
    assert isinstance(keys.lookup(ED_KEY).material, Ed25519PublicKey)
    only_paper = KeyRegistry().from_accounts(
        accounts, {"SIM_TEST_RSA_PASSPHRASE": "open sesame"}, environments={"Paper"}
    )
    assert only_paper.users() == {"practice-hmac", "practice-rsa"}


def test_an_account_whose_key_cannot_load_is_skipped_with_a_warning_naming_no_secret(tmp_path, rsa_private, caplog):
    """Without its passphrase variable the RSA account is skipped; the others still load."""
    ed_private = ed25519.Ed25519PrivateKey.generate()
    accounts = ToolsMdStore(write_tools_md(tmp_path, rsa_private, ed_private)).load().accounts
    with caplog.at_level(logging.WARNING, logger="binance_margin_mcp.simulator"):
        keys = KeyRegistry().from_accounts(accounts, {})
    assert keys.users() == {"practice-hmac", "practice-ed"}
    assert "practice-rsa" in caplog.text and "SIM_TEST_RSA_PASSPHRASE" in caplog.text
    wrong = KeyRegistry().from_accounts(accounts, {"SIM_TEST_RSA_PASSPHRASE": "wrong"})
    assert wrong.lookup(RSA_KEY) is None
    for secret in (RSA_KEY, HMAC_KEY, SECRET, "open sesame", str(tmp_path)):
        assert secret not in caplog.text


def test_the_registry_and_its_entries_never_show_a_key_or_secret():
    """repr of the registry and of an entry show the user and kind, a masked key and no secret."""
    keys = KeyRegistry()
    keys.add_hmac(HMAC_KEY, SECRET, "alice")
    text = repr(keys) + repr(keys.lookup(HMAC_KEY)) + str(keys.lookup(HMAC_KEY))
    assert "alice" in text and "HMAC" in text
    assert HMAC_KEY not in text and SECRET not in text and SECRET[:8] not in text


def test_on_new_key_registers_hmac_secrets_and_pem_or_base64_der_public_keys(rsa_private):
    """The special-key hook accepts HMAC secrets, PEM and base64-DER public keys, and checks the kind."""
    keys = KeyRegistry()
    ed_public = ed25519.Ed25519PrivateKey.generate().public_key()
    pem = rsa_private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    der = ed_public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    keys.on_new_key("alice", "special1", "HMAC", "s3cret")
    keys.on_new_key("alice", "special2", "RSA", pem.decode())
    keys.on_new_key("alice", "special3", "ed25519", base64.b64encode(der).decode())
    assert [keys.lookup(k).kind for k in ("special1", "special2", "special3")] == ["HMAC", "RSA", "Ed25519"]
    with pytest.raises(ValueError, match="kind is Ed25519"):
        keys.on_new_key("alice", "special4", "Ed25519", pem)
    with pytest.raises(ValueError, match="private key"):
        keys.on_new_key(
            "alice",
            "special5",
            "RSA",
            rsa_private.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        )
    with pytest.raises(ValueError, match="another user"):
        keys.on_new_key("bob", "special1", "HMAC", "other")
    with pytest.raises(ValueError, match="key kind"):
        keys.on_new_key("alice", "special6", "DSA", "x")
    assert keys.remove("special1") and keys.lookup("special1") is None


def test_hmac_verification_is_case_insensitive_hex_and_survives_odd_input():
    """verify() accepts upper-case hex, rejects a near miss, and returns False on non-ASCII junk."""
    entry = KeyEntry("alice", "HMAC", SECRET.encode(), "***")
    digest = hmac_hex(SECRET, b"timestamp=1")
    assert verify(entry, b"timestamp=1", digest.upper())
    assert not verify(entry, b"timestamp=2", digest)
    assert not verify(entry, b"timestamp=1", "é" * 64)
    rsa_entry = KeyEntry("rita", "RSA", ed25519.Ed25519PrivateKey.generate().public_key(), "***")
    assert not verify(rsa_entry, b"x", "not base64!")
