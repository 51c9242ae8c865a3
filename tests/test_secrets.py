"""Canary secrets: drive every tool through success and failure; no key or secret fragment appears anywhere."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from mcp import Client

from binance_margin_mcp.app import build_server
from binance_margin_mcp.catalog import CATALOG
from binance_margin_mcp.settings import Settings

from conftest import Elicitor, Sleeps, account_block, make_fake, write_tools_md

CANARY_KEY = "CanaryKEYq7Wm2Zp9Lx4Rt6Yv8Bn3Hd5Jf1Kg0Qs2Uw4Ea6Ic8Oe0Gi2Ok4Mm6Nn8Pp"
CANARY_SECRET = "CanarySECRETz9Xy8Wv7Ut6Sr5Qp4On3Ml2Kj1Ih0Gf9Ed8Cb7Aa6Zz5Yy4Xx3Ww2"
ED_KEY = "CanaryEDKEYa1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8s9t0u1v2w3x4y5z6"
CANARIES = [CANARY_KEY, CANARY_SECRET, ED_KEY]


def fragments(secrets: list[str]) -> set[str]:
    return {s[i : i + 8] for s in secrets for i in range(len(s) - 7)}


def assert_clean(text: str, secrets: list[str]) -> None:
    leaked = [f for f in fragments(secrets) if f in text]
    assert not leaked, f"{len(leaked)} secret fragments leaked, e.g. {leaked[0][:3]}..."


def canary_tools_md(tmp_path: Path) -> tuple[Path, bytes]:
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (tmp_path / "ed.pem").write_bytes(pem)
    blocks = [
        account_block("main", CANARY_KEY, CANARY_SECRET, "Mainnet"),
        account_block("practice", CANARY_KEY, CANARY_SECRET, "Testnet"),
        f"### ed\n- API Key: {ED_KEY}\n- Private Key File: {tmp_path / 'ed.pem'}\n- Signing: Ed25519\n"
        "- Environment: Testnet\n",
        # malformed blocks that carry secret-looking values: the problem reports must not echo them
        f"### broken\n- API Key: {CANARY_KEY}\n- Secrte: {CANARY_SECRET}\n- Environment: Mainnet\n",
        f"### broken2\n{CANARY_SECRET}\n- Environment: Moon\n",
    ]
    return write_tools_md(tmp_path / "TOOLS.md", blocks), pem


def key_material(pem: bytes) -> str:
    """The private part of the PEM body (its start is a fixed ASN.1 header shared with public keys)."""
    return "".join(pem.decode().splitlines()[1:-1])[-40:]


def dump(result: Any) -> str:
    return json.dumps(result.model_dump(mode="json", by_alias=True), default=str)


async def test_no_secret_in_any_result_log_line_or_journal(tmp_path, caplog):
    """Every tool, success and failure paths, logs at DEBUG: results, logs and the journal hold no fragment."""
    tools_md, pem = canary_tools_md(tmp_path)
    secrets = [*CANARIES, key_material(pem)]
    caplog.set_level(logging.DEBUG)
    fake = make_fake()
    fake.add_hmac_key(CANARY_KEY, CANARY_SECRET)
    journal = tmp_path / "journal.jsonl"
    settings = Settings(
        tools_md=tools_md, journal_path=str(journal), enable_special_key_creation=True, enable_manual_liquidation=True
    )
    server = build_server(settings, http_transport=fake.transport(), sleep=Sleeps())
    creds = tmp_path / "creds.txt"
    creds.write_text(f"{CANARY_KEY}\n{CANARY_SECRET}\n")
    outputs: list[str] = []
    from test_requests import all_args  # the same valid-ish arguments as the request-shape test

    async with Client(server, elicitation_callback=Elicitor("accept", "CONFIRM")) as client:
        for name, entry in CATALOG.items():  # success on every endpoint
            outputs.append(dump(await client.call_tool(name, {**all_args(entry), "account": "practice"})))
        fake.fail_next("GET", "/sapi/v1/margin/account", status=401, code=-2015, msg="Invalid API-key")
        outputs.append(dump(await client.call_tool("get_cross_margin_account", {"account": "practice"})))
        outputs.append(dump(await client.call_tool("create_margin_order", {"symbol": "BTCUSDT", "quantity": "1e-3"})))
        fake.timeout_next("POST", "/sapi/v1/margin/order")
        order = {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.01", "account": "practice"}
        outputs.append(dump(await client.call_tool("create_margin_order", order)))
        outputs.append(dump(await client.call_tool("create_margin_order", {**order, "account": "main"})))  # gated
        outputs.append(dump(await client.call_tool("get_cross_margin_account", {"account": "ed"})))
        for tool, args in [
            ("list_accounts", {}),
            ("show_account", {"account": "main"}),
            ("show_account", {"account": "broken"}),
            ("show_account", {"account": "ed"}),
            ("add_account", {"name": "copy", "environment": "Testnet", "credentials_file": str(creds)}),
            ("list_journal", {"limit": 50}),
        ]:
            outputs.append(dump(await client.call_tool(tool, args)))
    logs = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert len(outputs) == len(CATALOG) + 11
    assert_clean("\n".join(outputs), secrets)
    assert_clean(logs, secrets)
    assert_clean(journal.read_text(), secrets)
    assert journal.read_text().count("\n") >= 10


def test_no_secret_on_stderr_of_the_stdio_server_at_debug(tmp_path):
    """The real process at --log-level DEBUG, driven over raw JSON-RPC: stderr and stdout hold no fragment."""
    tools_md, pem = canary_tools_md(tmp_path)
    fake = make_fake()
    fake.add_hmac_key(CANARY_KEY, CANARY_SECRET)
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
    ]
    calls = [
        ("list_accounts", {}),
        ("show_account", {"account": "main"}),
        ("get_cross_margin_account", {"account": "practice"}),
        ("get_cross_margin_account", {"account": "ed"}),
        (
            "create_margin_order",
            {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "LIMIT",
                "quantity": "0.001",
                "price": "100",
                "timeInForce": "GTC",
                "account": "main",
            },
        ),
        ("get_cross_margin_account", {"account": "broken"}),
        (
            "create_margin_order",
            {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.001", "account": "practice"},
        ),
    ]
    messages += [
        {"jsonrpc": "2.0", "id": i + 2, "method": "tools/call", "params": {"name": n, "arguments": a}}
        for i, (n, a) in enumerate(calls)
    ]
    with fake.serve() as base_url:
        text = tools_md.read_text()
        for environment in ("Testnet", "Mainnet"):
            line = f"- Environment: {environment}\n"
            text = text.replace(line, f"{line}- Base URL: {base_url}\n")
        tools_md.write_text(text)
        command = [
            sys.executable,
            "-m",
            "binance_margin_mcp",
            "--tools-md",
            str(tools_md),
            "--log-level",
            "DEBUG",
            "--paper-state",
            ":memory:",
            "--journal",
            str(tmp_path / "j.jsonl"),
            "--approval-wait",
            "0.2",  # no dialog here: the approval page is offered and nobody approves it
            "--no-browser",
        ]
        stdout, stderr = converse(command, messages, expected=len(calls) + 1)
    secrets = [*CANARIES, key_material(pem)]
    answers = [json.loads(line) for line in stdout.splitlines()]
    assert len(answers) == len(calls) + 1 and "DEBUG" in stderr  # every call answered; it really logged at DEBUG
    assert all("result" in a for a in answers), [a for a in answers if "result" not in a][:1]
    assert_clean(stdout, secrets)
    assert_clean(stderr, secrets)
    assert_clean((tmp_path / "j.jsonl").read_text(), secrets)


def converse(command: list[str], messages: list[dict], expected: int) -> tuple[str, str]:
    """Write JSON-RPC lines to the server, wait for `expected` answers, then close stdin and collect stderr."""
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    assert process.stdin and process.stdout
    process.stdin.write("\n".join(json.dumps(m) for m in messages) + "\n")
    process.stdin.flush()
    lines = [process.stdout.readline() for _ in range(expected)]
    process.stdin.close()  # EOF: the server shuts down
    rest, stderr = process.stdout.read(), process.stderr.read() if process.stderr else ""
    process.wait(timeout=30)
    return "".join(lines) + rest, stderr
