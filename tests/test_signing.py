"""Signing: Binance's published HMAC vectors, RSA/Ed25519 checked with the public key, key loading."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from binance_margin_mcp.errors import AccountError
from binance_margin_mcp.signing import (
    Ed25519Signer,
    HmacSigner,
    RsaSigner,
    load_private_key,
    make_signer,
)

# Official example credentials (Binance rest-api.md / margin general-info; fact sheet §1.6).
API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"

H1_PAYLOAD = (
    b"symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
)
H1_HEX = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
FULL_WIDTH = "１２３４５６"
H2_SYMBOL = "%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96"
H2_REST = "&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
H2_HEX = "e1353ec6b14d888f1164ae9af8228a3dbd508bc82eb867db8ab6046442f33ef3"
H2_UNENCODED_HEX = "ca2cdfbf21d2e2958de492c7f2dd1f059dd2ed4d4459d26a5ec7928db50c8d4f"
H3_PAYLOAD = b"timestamp=1578963600000"
H3_HEX = "d84e6641b1e328e7b418fff030caed655c266299c9355e36ce801ed14631eed4"
H4_PAYLOAD = (
    b"symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTCquantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
)
H4_HEX = "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77"

PASSPHRASE = b"correct horse battery staple"


# -- HMAC ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("payload", "expected"),
    [(H1_PAYLOAD, H1_HEX), (H3_PAYLOAD, H3_HEX), (H4_PAYLOAD, H4_HEX)],
    ids=["H1-query", "H3-sigex", "H4-mixed-query-body"],
)
def test_hmac_signer_reproduces_binance_published_vectors(payload: bytes, expected: str) -> None:
    """The HMAC signer gives Binance's published hex for the published payloads."""
    assert HmacSigner(SECRET).sign(payload) == expected


def test_hmac_signs_the_percent_encoded_payload_h2() -> None:
    """Non-ASCII values are signed in their percent-encoded UTF-8 form (vector H2)."""
    assert quote(FULL_WIDTH, safe="") == H2_SYMBOL
    payload = f"symbol={H2_SYMBOL}{H2_REST}".encode("ascii")
    assert HmacSigner(SECRET).sign(payload) == H2_HEX


def test_hmac_of_the_unencoded_h2_payload_differs() -> None:
    """Negative control: signing the decoded text gives another value, rejected since 2026-01-15."""
    unencoded = f"symbol={FULL_WIDTH}{H2_REST}".encode()
    signature = HmacSigner(SECRET).sign(unencoded)
    assert signature == H2_UNENCODED_HEX
    assert signature != H2_HEX


def test_hmac_signature_is_64_lower_case_hex_chars_and_changes_with_the_payload() -> None:
    """Output format is what Binance expects, and one changed byte changes the signature."""
    signer = HmacSigner(SECRET)
    signature = signer.sign(H1_PAYLOAD)
    assert len(signature) == 64
    assert signature == signature.lower()
    int(signature, 16)
    assert signer.sign(H1_PAYLOAD.replace(b"price=0.1", b"price=0.2")) != signature


def test_hmac_signer_matches_an_independent_stdlib_hmac_on_arbitrary_bytes() -> None:
    """Cross-check against hashlib on bytes beyond the published vectors (non-ASCII secret too)."""
    for secret, payload in [("s3cr€t", b"a=%2F&b=1+2&c=~*"), ("", b""), (SECRET, bytes(range(256)))]:
        expected = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
        assert HmacSigner(secret).sign(payload) == expected


# -- RSA and Ed25519 -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ed_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def test_rsa_signature_verifies_with_the_public_key(rsa_key: rsa.RSAPrivateKey) -> None:
    """RSA: base64 PKCS#1 v1.5 SHA-256 (344 chars for 2048 bits) that the public key accepts."""
    signature = RsaSigner(rsa_key).sign(H1_PAYLOAD)
    assert len(signature) == 344
    raw = base64.b64decode(signature, validate=True)
    rsa_key.public_key().verify(raw, H1_PAYLOAD, padding.PKCS1v15(), hashes.SHA256())


def test_rsa_signature_fails_for_a_tampered_payload(rsa_key: rsa.RSAPrivateKey) -> None:
    """A signature over one payload does not verify for another."""
    raw = base64.b64decode(RsaSigner(rsa_key).sign(H1_PAYLOAD))
    with pytest.raises(InvalidSignature):
        rsa_key.public_key().verify(raw, H1_PAYLOAD + b"0", padding.PKCS1v15(), hashes.SHA256())


def test_ed25519_signature_verifies_with_the_public_key(ed_key: ed25519.Ed25519PrivateKey) -> None:
    """Ed25519: base64 of 64 bytes (88 chars, ends '==') that the public key accepts."""
    signature = Ed25519Signer(ed_key).sign(H1_PAYLOAD)
    assert len(signature) == 88
    assert signature.endswith("==")
    ed_key.public_key().verify(base64.b64decode(signature, validate=True), H1_PAYLOAD)


def test_ed25519_signature_fails_for_a_tampered_payload(ed_key: ed25519.Ed25519PrivateKey) -> None:
    """A signature over one payload does not verify for another."""
    raw = base64.b64decode(Ed25519Signer(ed_key).sign(H1_PAYLOAD))
    with pytest.raises(InvalidSignature):
        ed_key.public_key().verify(raw, H1_PAYLOAD.replace(b"BUY", b"SELL"))


def test_ed25519_matches_rfc8032_test_key_vector() -> None:
    """Pinned vector from the fact sheet (RFC 8032 test-1 key over the R1 payload)."""
    seed = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    payload = (
        b"symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=1&price=0.2"
        b"&timestamp=1668481559918&recvWindow=5000"
    )
    expected = "XtZirsmmi0noRzUfkqktvkVfxpkq/WtbLg2UOL3QGYdUBZVlqOBEMuEVw8zioY93N54NcKj9UuAXQEa9zgTDBg=="
    assert Ed25519Signer(ed25519.Ed25519PrivateKey.from_private_bytes(seed)).sign(payload) == expected


def test_signer_constructors_reject_the_wrong_key_type(
    rsa_key: rsa.RSAPrivateKey, ed_key: ed25519.Ed25519PrivateKey
) -> None:
    with pytest.raises(TypeError):
        RsaSigner(ed_key)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Ed25519Signer(rsa_key)  # type: ignore[arg-type]


def test_signer_repr_never_shows_key_material(rsa_key: rsa.RSAPrivateKey, ed_key: ed25519.Ed25519PrivateKey) -> None:
    """repr/str of every signer is a fixed masked string."""
    assert repr(HmacSigner(SECRET)) == "HmacSigner(***)"
    assert SECRET not in str(HmacSigner(SECRET))
    assert repr(RsaSigner(rsa_key)) == "RsaSigner(***)"
    assert repr(Ed25519Signer(ed_key)) == "Ed25519Signer(***)"
    assert [HmacSigner.mode, RsaSigner.mode, Ed25519Signer.mode] == ["HMAC", "RSA", "Ed25519"]


# -- load_private_key ----------------------------------------------------------------------------
def _pem(key: object, fmt: serialization.PrivateFormat, passphrase: bytes | None = None) -> bytes:
    encryption = serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, fmt, encryption)  # type: ignore[attr-defined]


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _assert_no_key_text(message: str, pem: bytes) -> None:
    assert "-----BEGIN" not in message
    assert "PRIVATE KEY-----" not in message
    for line in pem.decode("ascii", "replace").splitlines():
        if line and not line.startswith("-----"):
            assert line not in message


PKCS8 = serialization.PrivateFormat.PKCS8
TRADITIONAL = serialization.PrivateFormat.TraditionalOpenSSL


@pytest.mark.parametrize("fmt", [PKCS8, TRADITIONAL], ids=["pkcs8", "traditional"])
def test_load_rsa_private_key_from_pem(tmp_path: Path, rsa_key: rsa.RSAPrivateKey, fmt) -> None:
    """PKCS#8 PEM and traditional 'BEGIN RSA PRIVATE KEY' both load to the same key."""
    path = _write(tmp_path, "rsa.pem", _pem(rsa_key, fmt))
    loaded = load_private_key(path)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    assert loaded.private_numbers() == rsa_key.private_numbers()


def test_load_ed25519_private_key_from_pkcs8_pem(tmp_path: Path, ed_key: ed25519.Ed25519PrivateKey) -> None:
    path = _write(tmp_path, "ed.pem", _pem(ed_key, PKCS8))
    loaded = load_private_key(path)
    assert isinstance(loaded, ed25519.Ed25519PrivateKey)
    raw = serialization.Encoding.Raw
    assert loaded.public_key().public_bytes(raw, serialization.PublicFormat.Raw) == ed_key.public_key().public_bytes(
        raw, serialization.PublicFormat.Raw
    )


@pytest.mark.parametrize("fmt", [PKCS8, TRADITIONAL], ids=["pkcs8", "traditional"])
def test_encrypted_key_loads_with_the_right_passphrase(tmp_path: Path, rsa_key: rsa.RSAPrivateKey, fmt) -> None:
    path = _write(tmp_path, "enc.pem", _pem(rsa_key, fmt, PASSPHRASE))
    loaded = load_private_key(path, PASSPHRASE)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    assert loaded.private_numbers() == rsa_key.private_numbers()


@pytest.mark.parametrize(
    ("passphrase", "reason"),
    [(b"wrong", "passphrase is wrong"), (None, "encrypted and no passphrase")],
    ids=["wrong", "missing"],
)
def test_encrypted_key_with_wrong_or_missing_passphrase_is_an_account_error(
    tmp_path: Path, ed_key: ed25519.Ed25519PrivateKey, passphrase: bytes | None, reason: str
) -> None:
    pem = _pem(ed_key, PKCS8, PASSPHRASE)
    path = _write(tmp_path, "enc.pem", pem)
    with pytest.raises(AccountError) as info:
        load_private_key(path, passphrase)
    assert reason in info.value.message
    assert str(path) in info.value.message
    _assert_no_key_text(info.value.message, pem)


def test_passphrase_for_an_unencrypted_key_is_ignored(tmp_path: Path, ed_key: ed25519.Ed25519PrivateKey) -> None:
    path = _write(tmp_path, "ed.pem", _pem(ed_key, PKCS8))
    assert isinstance(load_private_key(path, b"unused"), ed25519.Ed25519PrivateKey)


def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, bytes, str]]:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ed_key = ed25519.Ed25519PrivateKey.generate()
    public_pem = ed_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    ssh = _pem(ed_key, serialization.PrivateFormat.OpenSSH)
    broken = b"-----BEGIN PRIVATE KEY-----\nTUlJQ2RnSUJBREFOQmdrcWhraUc5dzBCQVFFRkFBU0NB\n-----END PRIVATE KEY-----\n"
    cases = {
        "garbage": (b"this is not a key at all \x00\xff", "not a PEM file"),
        "der": (
            ed_key.private_bytes(serialization.Encoding.DER, PKCS8, serialization.NoEncryption()),
            "not a PEM",
        ),
        "broken-pem": (broken, "does not hold a valid PEM private key"),
        "ec-key": (_pem(ec_key, PKCS8), "holds an EC key; only RSA and Ed25519"),
        "public-key": (public_pem, "holds a public key"),
        "openssh": (ssh, "OpenSSH format"),
    }
    return {name: (_write(tmp_path, f"{name}.pem", data), data, reason) for name, (data, reason) in cases.items()}


@pytest.mark.parametrize("case", ["garbage", "der", "broken-pem", "ec-key", "public-key", "openssh"])
def test_unusable_key_files_are_account_errors_without_key_text(tmp_path: Path, case: str) -> None:
    """Each bad file gives an AccountError naming the file and reason, never quoting its content."""
    path, data, reason = _bad_files(tmp_path)[case]
    with pytest.raises(AccountError) as info:
        load_private_key(path)
    message = info.value.message
    assert message.startswith(f"Private key file {path} cannot be used: ")
    assert reason in message
    assert info.value.__cause__ is None
    if data.startswith(b"-----"):
        _assert_no_key_text(message, data)


def test_missing_and_unreadable_key_files_are_account_errors(tmp_path: Path) -> None:
    with pytest.raises(AccountError, match="does not exist"):
        load_private_key(tmp_path / "nope.pem")
    with pytest.raises(AccountError, match="cannot be read"):
        load_private_key(tmp_path)  # a directory


# -- make_signer ---------------------------------------------------------------------------------
def test_make_signer_builds_each_mode(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey, ed_key: ed25519.Ed25519PrivateKey
) -> None:
    """Mode names are case-insensitive; each signer's output verifies with the matching public key."""
    assert make_signer("hmac", secret=SECRET).sign(H1_PAYLOAD) == H1_HEX

    rsa_path = _write(tmp_path, "rsa.pem", _pem(rsa_key, PKCS8, PASSPHRASE))
    rsa_signer = make_signer("RSA", private_key_file=rsa_path, passphrase=PASSPHRASE)
    assert rsa_signer.mode == "RSA"
    raw = base64.b64decode(rsa_signer.sign(H1_PAYLOAD))
    rsa_key.public_key().verify(raw, H1_PAYLOAD, padding.PKCS1v15(), hashes.SHA256())

    ed_path = _write(tmp_path, "ed.pem", _pem(ed_key, PKCS8))
    ed_signer = make_signer("ed25519", private_key_file=ed_path)
    assert ed_signer.mode == "Ed25519"
    ed_key.public_key().verify(base64.b64decode(ed_signer.sign(H1_PAYLOAD)), H1_PAYLOAD)


@pytest.mark.parametrize(
    ("mode", "file_key", "expected"),
    [
        ("RSA", "ed", "Signing is RSA but the key file holds an Ed25519 key"),
        ("Ed25519", "rsa", "Signing is Ed25519 but the key file holds an RSA key"),
    ],
)
def test_make_signer_rejects_a_key_of_the_other_type(
    tmp_path: Path,
    rsa_key: rsa.RSAPrivateKey,
    ed_key: ed25519.Ed25519PrivateKey,
    mode: str,
    file_key: str,
    expected: str,
) -> None:
    pem = _pem(rsa_key if file_key == "rsa" else ed_key, PKCS8)
    path = _write(tmp_path, "key.pem", pem)
    with pytest.raises(AccountError) as info:
        make_signer(mode, private_key_file=path)
    assert expected in info.value.message
    _assert_no_key_text(info.value.message, pem)


def test_make_signer_reports_missing_configuration() -> None:
    with pytest.raises(AccountError, match="HMAC but no secret"):
        make_signer("HMAC")
    with pytest.raises(AccountError, match="HMAC but no secret"):
        make_signer("HMAC", secret="")
    with pytest.raises(AccountError, match="RSA but no private key file"):
        make_signer("RSA", secret=SECRET)
    with pytest.raises(AccountError, match="Unknown signing mode 'ECDSA'"):
        make_signer("ECDSA", secret=SECRET)
