"""`binance-margin-mcp simulator` serves the paper exchange on loopback to any signed Binance client."""

from __future__ import annotations

import base64
import hashlib
import hmac
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from test_mcp_over_http import free_port, wait_listening

from conftest import TEST_KEY, TEST_SECRET, account_block, write_tools_md

ROOT = Path(__file__).parent.parent


def _pem(path: Path, key) -> Path:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return path


def test_standalone_simulator_accepts_hmac_rsa_and_ed25519_signed_requests(tmp_path):
    """Plain httpx requests signed by hand with each key type get each account's own margin account."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ed_key = ed25519.Ed25519PrivateKey.generate()
    blocks = [
        account_block("hmac-acct", TEST_KEY, TEST_SECRET, "Paper"),
        f"### rsa-acct\n- API Key: RSAkey{'1' * 58}\n- Private Key File: {_pem(tmp_path / 'r.pem', rsa_key)}\n"
        "- Signing: RSA\n- Environment: Paper\n",
        f"### ed-acct\n- API Key: EDkey{'2' * 59}\n- Private Key File: {_pem(tmp_path / 'e.pem', ed_key)}\n"
        "- Signing: Ed25519\n- Environment: Paper\n",
    ]
    tools_md = write_tools_md(tmp_path / "TOOLS.md", blocks)
    port = free_port()
    command = [sys.executable, "-m", "binance_margin_mcp", "simulator", "--tools-md", str(tools_md)]
    command += ["--state", str(tmp_path / "sim.sqlite"), "--port", str(port)]
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.DEVNULL)
    signers = {
        TEST_KEY: lambda p: hmac.new(TEST_SECRET.encode(), p, hashlib.sha256).hexdigest(),
        "RSAkey" + "1" * 58: lambda p: base64.b64encode(rsa_key.sign(p, padding.PKCS1v15(), hashes.SHA256())).decode(),
        "EDkey" + "2" * 59: lambda p: base64.b64encode(ed_key.sign(p)).decode(),
    }
    try:
        wait_listening(port, process)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            for api_key, sign in signers.items():
                payload = f"recvWindow=5000&timestamp={int(time.time() * 1000)}"
                url = f"/sapi/v1/margin/account?{payload}&signature={quote(sign(payload.encode()), safe='')}"
                response = client.get(url, headers={"X-MBX-APIKEY": api_key})
                assert response.status_code == 200, (api_key[:5], response.text)
                assert "userAssets" in response.json()
                assert "x-sapi-used-ip-weight-1m" in response.headers
            tampered = client.get(
                f"/sapi/v1/margin/account?timestamp={int(time.time() * 1000)}&signature={'0' * 64}",
                headers={"X-MBX-APIKEY": TEST_KEY},
            )
            assert tampered.status_code == 400 and tampered.json()["code"] == -1022
            assert client.get("/api/v3/time").json()["serverTime"] > 0
    finally:
        process.terminate()
        process.wait(timeout=10)
