"""`--transport http` serves streamable HTTP at /mcp on loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from mcp import Client

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
    """The HTTP server answers tools/list at /mcp with every catalog tool."""
    port = free_port()
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
    ]
    process = subprocess.Popen([*command, "--tools-md", str(tools_md)], cwd=ROOT, stderr=subprocess.PIPE)
    try:
        wait_listening(port, process)
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            tools = await client.list_tools()
            accounts = await client.call_tool("list_accounts", {})
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert {tool.name for tool in tools.tools} >= set(CATALOG)
    assert "main (Mainnet)" in accounts.content[0].text
