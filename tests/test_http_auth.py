"""`--transport http`: loopback unless --allow-remote, a bearer token on every request, Host/Origin checks.

The server runs in-process on real uvicorn (a thread, 127.0.0.x, a free port) except where the command
line itself is under test (subprocesses).
"""

from __future__ import annotations

import logging
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from binance_margin_mcp import http_auth
from binance_margin_mcp.app import build_server
from binance_margin_mcp.catalog import CORE
from binance_margin_mcp.cli import main
from binance_margin_mcp.http_app import build_http_app
from binance_margin_mcp.http_auth import BearerAuth, HttpPolicy, HttpRefused, allowed_hosts, is_loopback, load_token
from binance_margin_mcp.settings import Settings

ROOT = Path(__file__).parent.parent
TOKEN = "test-token-0123456789abcdefghijklmnopqrstuvwxyz"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
MCP_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def token_file(directory: Path, token: str = TOKEN, mode: int = 0o600) -> Path:
    path = directory / "token"
    path.write_text(token + "\n")
    os.chmod(path, mode)
    return path


@contextmanager
def serving(tools_md: Path, host: str = "127.0.0.2", http_transport: Any = None, **overrides: Any) -> Iterator[str]:
    """The real HTTP app (Host/Origin + bearer + MCP) on uvicorn in a thread; yields the /mcp URL."""
    port = free_port(host)
    settings = Settings(
        tools_md=tools_md,
        transport="http",
        host=host,
        port=port,
        http_token_file=str(token_file(tools_md.parent)),
        **overrides,
    )
    policy = HttpPolicy.from_settings(settings, {})
    mcp_server = build_server(settings, http_transport=http_transport)
    config = uvicorn.Config(build_http_app(mcp_server, policy), host=host, port=port, log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        yield f"http://{host}:{port}/mcp"
    finally:
        server.should_exit = True
        thread.join(timeout=5)


def post_initialize(url: str, **headers: str) -> httpx.Response:
    return httpx.post(url, json=INITIALIZE, headers={**MCP_HEADERS, **headers}, timeout=5)


def test_missing_token_is_401(tools_md):
    with serving(tools_md) as url:
        response = post_initialize(url)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_wrong_token_is_401(tools_md):
    with serving(tools_md) as url:
        wrong = post_initialize(url, authorization=f"Bearer {TOKEN}x")
        prefix = post_initialize(url, authorization=f"Bearer {TOKEN[:-1]}")
        basic = post_initialize(url, authorization=f"Basic {TOKEN}")
    assert [r.status_code for r in (wrong, prefix, basic)] == [401, 401, 401]
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
    assert TOKEN not in wrong.text


async def test_right_token_lists_tools_through_the_sdk_client(tools_md):
    with serving(tools_md) as url:
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http_client,
            Client(streamable_http_client(url, http_client=http_client)) as client,
        ):
            tools = await client.list_tools()
    assert {tool.name for tool in tools.tools} >= {*CORE, "search_tools", "describe_tool", "execute_tool"}


def test_foreign_host_is_refused_with_421_even_on_127_0_0_2(tools_md):
    """The SDK only protects the literal 127.0.0.1/localhost by itself; 127.0.0.2 gets the same checks."""
    with serving(tools_md) as url:
        with_token = post_initialize(url, host="evil.example", authorization=f"Bearer {TOKEN}")
        without_token = post_initialize(url, host="evil.example:8000")
    assert with_token.status_code == 421
    assert without_token.status_code == 421


def test_foreign_origin_is_refused_with_403(tools_md):
    with serving(tools_md) as url:
        response = post_initialize(url, origin="http://evil.example", authorization=f"Bearer {TOKEN}")
        lookalike = post_initialize(url, origin="http://127.0.0.2.evil.example", authorization=f"Bearer {TOKEN}")
    assert response.status_code == 403
    assert lookalike.status_code == 403


def test_own_host_and_origin_are_served(tools_md):
    with serving(tools_md) as url:
        port = url.split(":")[2].split("/")[0]
        auth = f"Bearer {TOKEN}"
        own = post_initialize(url, authorization=auth, origin=f"http://127.0.0.2:{port}")
        local_name = post_initialize(url, authorization=auth, host=f"localhost:{port}")
        no_port = post_initialize(url, authorization=auth, host="127.0.0.2")
    assert [own.status_code, local_name.status_code, no_port.status_code] == [200, 200, 200]


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.7", "mybox.example"])
def test_non_loopback_bind_is_refused_without_allow_remote(tmp_path, host):
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data")}
    result = subprocess.run(
        [sys.executable, "-m", "binance_margin_mcp", "--transport", "http", "--host", host],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"binance-margin-mcp: refusing to serve MCP on {host} without --allow-remote")
    assert not (tmp_path / "config").exists()  # refused before any token was made


def test_generated_token_file_is_private_used_and_never_logged(tmp_path):
    """First start: <config>/http-token, mode 0600 in a 0700 directory; stderr names the path, not the token."""
    port = free_port("127.0.0.2")
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data")}
    command = [sys.executable, "-m", "binance_margin_mcp", "--transport", "http", "--host", "127.0.0.2"]
    command += ["--port", str(port), "--paper-state", ":memory:", "--tools-md", str(tmp_path / "TOOLS.md")]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    path = tmp_path / "config" / "binance-margin-mcp" / "http-token"
    try:
        deadline = time.monotonic() + 15
        while True:
            assert process.poll() is None, "server exited"
            assert time.monotonic() < deadline, "server did not start listening"
            try:
                socket.create_connection(("127.0.0.2", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        token = path.read_text().strip()
        served = post_initialize(f"http://127.0.0.2:{port}/mcp", authorization=f"Bearer {token}")
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert served.status_code == 200
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len(token) >= 43
    assert str(path) in stderr
    assert token not in stderr
    assert "Traceback" not in stderr


def test_token_file_is_reused_on_a_second_start(tmp_path, caplog):
    environ = {"XDG_CONFIG_HOME": str(tmp_path)}
    settings = Settings(tools_md=tmp_path / "TOOLS.md", transport="http", port=8000)
    with caplog.at_level(logging.INFO):
        first = HttpPolicy.from_settings(settings, environ)
        second = HttpPolicy.from_settings(settings, environ)
    assert first.token == second.token == first.token_path.read_text().strip()
    assert first.token_path == tmp_path / "binance-margin-mcp" / "http-token"
    assert stat.S_IMODE(first.token_path.stat().st_mode) == 0o600
    assert first.token not in caplog.text and first.token not in repr(first)
    assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.WARNING]
    assert all(str(first.token_path) in r.getMessage() for r in caplog.records)
    assert not [p for p in first.token_path.parent.iterdir() if p.name != "http-token"]  # no temporary left


def test_given_token_file_is_used(tmp_path):
    token, path = load_token(str(token_file(tmp_path, "  my-own-token-value \n")), {})
    assert (token, path) == ("my-own-token-value", tmp_path / "token")


@pytest.mark.parametrize(
    ("content", "mode", "message"),
    [
        ("secret-token", 0o640, "readable by other users (mode 640): run `chmod 600"),
        ("secret-token", 0o604, "readable by other users"),
        (" \n", 0o600, "is empty"),
        ("two words", 0o600, "printable ASCII"),
    ],
)
def test_unusable_token_file_is_refused_in_one_line(tmp_path, capsys, content, mode, message):
    path = token_file(tmp_path, content, mode)
    code = main(["--transport", "http", "--http-token-file", str(path), "--tools-md", str(tmp_path / "TOOLS.md")])
    stderr = capsys.readouterr().err
    assert code == 2
    assert stderr.startswith("binance-margin-mcp: ") and stderr.count("\n") == 1
    assert message in stderr
    assert "secret-token" not in stderr


def test_missing_token_file_is_refused(tmp_path):
    with pytest.raises(HttpRefused, match="cannot read the HTTP token file"):
        load_token(str(tmp_path / "absent"), {})


def test_allowed_host_needs_allow_remote(tmp_path, capsys):
    code = main(["--transport", "http", "--allowed-host", "mybox.lan", "--tools-md", str(tmp_path / "TOOLS.md")])
    assert code == 2
    assert "--allowed-host needs --allow-remote" in capsys.readouterr().err


def test_allowed_hosts_lists():
    assert allowed_hosts("127.0.0.2", 8000) == [
        "127.0.0.2",
        "127.0.0.2:8000",
        "127.0.0.1:8000",
        "localhost:8000",
        "[::1]:8000",
    ]
    assert allowed_hosts("::1", 9) == ["[::1]", "[::1]:9", "127.0.0.1:9", "localhost:9"]
    assert allowed_hosts("192.0.2.7", 8000, ("MyBox.lan", "proxy.example:443", "[fd00::5]")) == [
        "192.0.2.7",
        "192.0.2.7:8000",
        "mybox.lan",
        "mybox.lan:8000",
        "proxy.example:443",
        "[fd00::5]",
        "[fd00::5]:8000",
    ]
    for bad in ("http://mybox.lan", "mybox.lan/mcp", "", "a b", "[nope]:1", "host:port"):
        with pytest.raises(HttpRefused, match="--allowed-host"):
            allowed_hosts("192.0.2.7", 8000, (bad,))


def test_allow_remote_policy_allows_given_hosts_and_origins(tmp_path):
    settings = Settings(
        tools_md=tmp_path / "TOOLS.md",
        transport="http",
        host="0.0.0.0",
        port=8000,
        allow_remote=True,
        allowed_hosts=("mybox.lan",),
        http_token_file=str(token_file(tmp_path)),
    )
    policy = HttpPolicy.from_settings(settings, {})
    assert "mybox.lan:8000" in policy.allowed_hosts and "localhost:8000" in policy.allowed_hosts
    assert "https://mybox.lan:8000" in policy.allowed_origins and "http://mybox.lan" in policy.allowed_origins


def test_loopback_addresses():
    assert all(map(is_loopback, ["127.0.0.1", "127.0.0.2", "127.255.0.9", "::1", "[::1]", "localhost", "LOCALHOST"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "10.0.0.1", "192.0.2.7", "example.com", "", "localhost.evil"]))


def test_token_comparison_is_constant_time(monkeypatch):
    calls = []
    real = http_auth.hmac.compare_digest
    monkeypatch.setattr(http_auth.hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    auth = BearerAuth(lambda *_: None, TOKEN)  # type: ignore[arg-type]
    assert auth.accepts(TOKEN.encode()) and not auth.accepts(b"short")
    assert len(calls) == 2 and all(len(a) == len(b) == 32 for a, b in calls)  # digests: no length leak
