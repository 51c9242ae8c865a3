"""TOOLS.md edits count from the next call: keys, secrets, PEM files and limits; each parse happens once."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from mcp import Client

from binance_margin_mcp.adapter import build_mcp_server
from binance_margin_mcp.app import build_pipeline, build_service
from binance_margin_mcp.settings import Settings

from conftest import MAIN_KEY, MAIN_SECRET, TEST_KEY, TEST_SECRET, account_block, text_of, write_tools_md

WRONG_SECRET = "W" * 64  # same length as the right one: the file's size does not change when it is fixed
ORDER = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001", "account": "practice"}


def rewrite_keeping_size_and_mtime(path: Path, old: str, new: str) -> None:
    """Replace text in place so that size and mtime stay the same: only the content tells the edit apart."""
    info = os.stat(path)
    text = path.read_text()
    assert len(old) == len(new) and old in text
    path.write_text(text.replace(old, new))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert os.stat(path).st_size == info.st_size


async def test_a_secret_fixed_in_tools_md_signs_the_next_call(connect, tmp_path, fake):
    """Wrong secret: Binance answers -1022. The user fixes TOOLS.md: the very next call is signed with the new one."""
    path = write_tools_md(tmp_path / "T.md", [account_block("practice", TEST_KEY, WRONG_SECRET, "Testnet")])
    async with connect(path=path) as client:
        before = await client.call_tool("get_cross_margin_account", {})
        rewrite_keeping_size_and_mtime(path, WRONG_SECRET, TEST_SECRET)
        after = await client.call_tool("get_cross_margin_account", {})
    assert before.is_error and "-1022" in text_of(before)
    assert not after.is_error, text_of(after)


async def test_a_changed_api_key_is_sent_from_the_next_call(connect, tmp_path, fake):
    """A new key and secret in TOOLS.md replace the old pair at once (header and signature)."""
    path = write_tools_md(tmp_path / "T.md", [account_block("practice", TEST_KEY, TEST_SECRET, "Testnet")])
    async with connect(path=path) as client:
        await client.call_tool("get_cross_margin_account", {})
        write_tools_md(path, [account_block("practice", MAIN_KEY, MAIN_SECRET, "Testnet")])
        after = await client.call_tool("get_cross_margin_account", {})
    assert not after.is_error, text_of(after)
    assert [r.headers["x-mbx-apikey"] for r in fake.requests[-2:]] == [TEST_KEY, MAIN_KEY]


async def test_a_limit_added_or_removed_in_tools_md_applies_to_the_next_call(connect, tmp_path, fake):
    """`- Trading: disabled` refuses the next order; removing the line allows the one after."""
    block = account_block("practice", TEST_KEY, TEST_SECRET, "Testnet")
    path = write_tools_md(tmp_path / "T.md", [block + "- Trading: disabled\n"])
    async with connect(path=path) as client:
        refused = await client.call_tool("create_margin_order", ORDER)
        write_tools_md(path, [block])
        allowed = await client.call_tool("create_margin_order", ORDER)
    assert refused.is_error and "trading is disabled" in text_of(refused)
    assert not allowed.is_error, text_of(allowed)


def _pem(key: ed25519.Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


async def test_a_private_key_file_replaced_at_the_same_path_signs_the_next_call(connect, tmp_path, fake):
    """The signer follows the PEM file's identity: a rotated key at the same path is used at once."""
    old, new = ed25519.Ed25519PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate()
    pem = tmp_path / "ed.pem"
    pem.write_bytes(_pem(old))
    api_key = "EdKey" + "0" * 59
    fake.add_public_key(api_key, old.public_key())
    block = f"### main\n- API Key: {api_key}\n- Private Key File: {pem}\n- Signing: Ed25519\n- Environment: Testnet\n"
    path = write_tools_md(tmp_path / "T.md", [block])
    async with connect(path=path) as client:
        first = await client.call_tool("get_cross_margin_account", {})
        fake.add_public_key(api_key, new.public_key())  # the user registered the new key with Binance
        replacement = tmp_path / "ed.pem.new"
        replacement.write_bytes(_pem(new))
        os.replace(replacement, pem)
        second = await client.call_tool("get_cross_margin_account", {})
    assert not first.is_error and not second.is_error, text_of(second)


async def test_a_paper_account_secret_edited_in_tools_md_is_accepted_by_the_paper_exchange(connect, tmp_path, fake):
    """The paper exchange registers the account's key again when its material changes (no stale -1022)."""
    path = write_tools_md(tmp_path / "T.md", [account_block("sim", TEST_KEY, WRONG_SECRET, "Paper")])
    async with connect(path=path) as client:
        first = await client.call_tool("get_cross_margin_account", {})
        rewrite_keeping_size_and_mtime(path, WRONG_SECRET, TEST_SECRET)
        second = await client.call_tool("get_cross_margin_account", {})
    assert not first.is_error and not second.is_error, text_of(second)
    assert fake.requests == []  # served in process


async def test_tools_md_is_parsed_once_per_change_not_once_per_call(tmp_path, fake):
    """Calls on an unchanged file reuse the parse; an edit is parsed once, by the next call."""
    path = write_tools_md(tmp_path / "T.md", [account_block("practice", TEST_KEY, TEST_SECRET, "Testnet")])
    settings = Settings(tools_md=path)
    service = build_service(settings, http_transport=fake.transport())
    async with Client(build_mcp_server(build_pipeline(service, settings))) as client:
        for _ in range(3):
            assert not (await client.call_tool("get_cross_margin_account", {})).is_error
        await client.call_tool("list_accounts", {})
        assert service.store.parses == 1
        rewrite_keeping_size_and_mtime(path, "Testnet", "testnet")
        await client.call_tool("create_margin_order", ORDER)
        await client.call_tool("get_cross_margin_account", {})
    assert service.store.parses == 2
