"""`--transport http` serves streamable HTTP at /mcp on loopback (bearer token: see test_http_auth.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from binance_margin_mcp.catalog import CATALOG

ROOT = Path(__file__).parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_listening(port: int, process: subprocess.Popen, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("server did not start listening")


async def test_http_transport_lists_every_tool(tools_md):
    """The HTTP server started with `--toolsets all` answers tools/list at /mcp with every catalog tool."""
    port = free_port()
    token_file = tools_md.parent / "http-token"
    token_file.write_text("over-http-test-token\n")
    os.chmod(token_file, 0o600)
    command = [
        sys.executable,
        "-m",
        "binance_margin_mcp",
        "--transport",
        "http",
        "--port",
        str(port),
        "--paper-state",
        ":memory:",
        "--journal",
        str(tools_md.parent / "journal.jsonl"),  # never the user's data directory
        "--toolsets",
        "all",  # every endpoint listed
        "--http-token-file",
        str(token_file),  # never the user's config directory
    ]
    process = subprocess.Popen([*command, "--tools-md", str(tools_md)], cwd=ROOT, stderr=subprocess.PIPE)
    try:
        wait_listening(port, process)
        url = f"http://127.0.0.1:{port}/mcp"
        async with (
            httpx2.AsyncClient(headers={"Authorization": "Bearer over-http-test-token"}) as http_client,
            Client(streamable_http_client(url, http_client=http_client)) as client,
        ):
            tools = await client.list_tools()
            accounts = await client.call_tool("list_accounts", {})
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert {tool.name for tool in tools.tools} >= set(CATALOG)
    assert "main (Mainnet)" in accounts.content[0].text
