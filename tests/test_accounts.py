"""Account tools over MCP: listing, masked display, adding from files, removing, choosing, key types."""

from __future__ import annotations

import os
import stat
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from conftest import (
    MAIN_KEY,
    MAIN_SECRET,
    TEST_KEY,
    TEST_SECRET,
    account_block,
    assert_no_secret,
    text_of,
    write_tools_md,
)


async def test_list_accounts_shows_names_and_environments_only(connect):
    """Listing shows `name (Environment)` lines and never any key material."""
    async with connect() as client:
        result = await client.call_tool("list_accounts", {})
    assert text_of(result) == "Binance Accounts:\nmain (Mainnet)\npractice (Testnet)"
    assert result.structured_content["accounts"] == [
        {"name": "main", "environment": "Mainnet"},
        {"name": "practice", "environment": "Testnet"},
    ]
    assert_no_secret(str(result))


async def test_show_account_masks_key_and_secret(connect):
    """The key shows first 5 + last 4, the secret only its last 5."""
    async with connect() as client:
        result = await client.call_tool("show_account", {"account": "main"})
    data = result.structured_content
    assert data["apiKey"] == f"{MAIN_KEY[:5]}...{MAIN_KEY[-4:]}"
    assert data["secret"] == f"...{MAIN_SECRET[-5:]}"
    assert data["environment"] == "Mainnet" and data["signing"] == "HMAC"
    assert_no_secret(str(result))


async def test_add_account_reads_a_credentials_file_and_answers_masked(connect, tmp_path, fake):
    """add_account takes a file path (key line 1, secret line 2), writes TOOLS.md 0600, answers masked."""
    creds = tmp_path / "new.txt"
    creds.write_text(f"{TEST_KEY}\n{TEST_SECRET}\n")
    creds.chmod(0o600)
    path = tmp_path / "fresh" / "TOOLS.md"
    async with connect(path=path) as client:
        added = await client.call_tool(
            "add_account",
            {"name": "main", "environment": "Testnet", "signing": "HMAC", "credentials_file": str(creds)},
        )
        listed = await client.call_tool("list_accounts", {})
        read = await client.call_tool("get_cross_margin_account", {})
    assert not added.is_error, text_of(added)
    assert added.structured_content["apiKey"] == f"{TEST_KEY[:5]}...{TEST_KEY[-4:]}"
    assert "main (Testnet)" in text_of(listed)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert not read.is_error  # the new account signs requests the fake accepts
    assert_no_secret(str(added) + str(listed))


async def test_remove_account_forgets_it(connect, tools_md):
    """remove_account deletes the block; the account can no longer be used."""
    async with connect() as client:
        removed = await client.call_tool("remove_account", {"name": "practice"})
        used = await client.call_tool("get_cross_margin_account", {"account": "practice"})
    assert not removed.is_error
    assert used.is_error and "No account named 'practice'" in text_of(used)
    assert "### practice" not in tools_md.read_text()


async def test_several_accounts_without_main_means_ask_which(connect, tmp_path, fake):
    """With no `main` and several accounts, the tool answers with the list and asks; nothing is sent."""
    path = write_tools_md(
        tmp_path / "T.md",
        [
            account_block("alpha", MAIN_KEY, MAIN_SECRET, "Mainnet"),
            account_block("beta", TEST_KEY, TEST_SECRET, "Testnet"),
        ],
    )
    async with connect(path=path) as client:
        result = await client.call_tool("get_cross_margin_account", {})
    assert result.is_error
    assert result.structured_content["accounts"] == ["alpha", "beta"]
    assert "Ask the user" in text_of(result)
    assert fake.requests == []


async def test_a_single_account_is_the_default_even_if_not_named_main(connect, tmp_path, fake):
    """One account, whatever its name, is used when none is given."""
    path = write_tools_md(tmp_path / "T.md", [account_block("solo", TEST_KEY, TEST_SECRET, "Testnet")])
    async with connect(path=path) as client:
        result = await client.call_tool("get_cross_margin_account", {})
    assert not result.is_error
    assert fake.requests[-1].headers["x-mbx-apikey"] == TEST_KEY


async def test_missing_tools_md_means_the_built_in_paper_account(connect, tmp_path, fake):
    """With no TOOLS.md the server offers `paper (Paper)` as the default, seeded with the documented balances."""
    async with connect(path=tmp_path / "absent" / "TOOLS.md") as client:
        listed = await client.call_tool("list_accounts", {})
        used = await client.call_tool("get_cross_margin_account", {})
    assert text_of(listed) == "Binance Accounts:\npaper (Paper)\n(built-in paper account: no accounts in TOOLS.md)"
    assert not used.is_error, text_of(used)
    free = {a["asset"]: a["free"] for a in used.structured_content["userAssets"]}
    assert (Decimal(free["USDT"]), Decimal(free["BTC"])) == (Decimal("10000"), Decimal("0.1"))
    assert fake.requests == []  # served in process, nothing went over the (fake) network


async def test_malformed_tools_md_names_the_line_and_keeps_other_accounts(connect, tmp_path):
    """A broken account block is reported by line number; the good accounts still work."""
    path = write_tools_md(
        tmp_path / "T.md",
        [account_block("main", TEST_KEY, TEST_SECRET, "Testnet"), "### broken\n- API Key: abc\n- Environment: Moon\n"],
    )
    async with connect(path=path) as client:
        listed = await client.call_tool("list_accounts", {})
        broken = await client.call_tool("get_cross_margin_account", {"account": "broken"})
    assert listed.structured_content["accounts"] == [{"name": "main", "environment": "Testnet"}]
    assert any("line" in p for p in listed.structured_content["problems"])
    assert broken.is_error and "line" in text_of(broken)


def _write_pem(path, key) -> None:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


@pytest.mark.parametrize("kind", ["RSA", "Ed25519"])
async def test_rsa_and_ed25519_accounts_sign_requests_the_fake_verifies_with_the_public_key(
    connect, fake, tmp_path, kind
):
    """Asymmetric accounts sign with their PEM; the fake checks with the public key only."""
    key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if kind == "RSA"
        else ed25519.Ed25519PrivateKey.generate()
    )
    pem = tmp_path / f"{kind}.pem"
    _write_pem(pem, key)
    api_key = f"{kind}apikey" + "0" * 40
    fake.add_public_key(api_key, key.public_key())
    path = write_tools_md(
        tmp_path / "T.md",
        [f"### main\n- API Key: {api_key}\n- Private Key File: {pem}\n- Signing: {kind}\n- Environment: Testnet\n"],
    )
    async with connect(path=path) as client:
        read = await client.call_tool("get_cross_margin_account", {})
        shown = await client.call_tool("show_account", {})
    assert not read.is_error, text_of(read)
    assert shown.structured_content["privateKeyFile"] == "..." + str(pem)[-5:]
    raw = fake.requests[-1].raw_query.decode()
    assert "&signature=" in raw and raw.index("&signature=") > raw.index("timestamp=")


async def test_add_account_refuses_a_file_that_is_not_binance_credentials(connect, tmp_path):
    """Pointing add_account at some other file shows nothing of it: no masked fragment, nothing added."""
    other = tmp_path / "passwd"
    other.write_text("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n")
    other.chmod(0o600)  # private and ours: only its shape is wrong
    async with connect() as client:
        result = await client.call_tool(
            "add_account", {"name": "oops", "environment": "Testnet", "credentials_file": str(other)}
        )
        listed = await client.call_tool("list_accounts", {})
    assert result.is_error and "credentials_file must be a regular file you own" in text_of(result)
    assert "root" not in text_of(result) and "bash" not in text_of(result)
    assert "oops" not in text_of(listed)
