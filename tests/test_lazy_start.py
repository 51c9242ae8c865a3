"""Start-up builds only what tools/list needs: httpx, the simulator and `cryptography` load when first used,
the paper exchange opens on the first paper call, and the TLS context is built off the request path."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from mcp import Client

from binance_margin_mcp.adapter import build_mcp_server
from binance_margin_mcp.app import build_pipeline, build_service
from binance_margin_mcp.settings import Settings
from binance_margin_mcp.transport import BinanceHttp

from conftest import TEST_KEY, TEST_SECRET, account_block, write_tools_md

HEAVY = ("httpx", "httpcore", "cryptography", "binance_margin_mcp.simulator", "sqlite3")


def loaded_after(code: str) -> list[str]:
    """The HEAVY packages a fresh interpreter has imported after running `code`."""
    probe = f"import json, sys\n{code}\nprint(json.dumps(sorted({{m.split('.')[0] if not m.startswith('binance') "
    probe += f"else '.'.join(m.split('.')[:2]) for m in sys.modules if m.startswith({HEAVY!r})}})))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def test_the_request_path_modules_import_nothing_heavy():
    """Service, transport, client, pre-trade, paper and signing load neither httpx nor cryptography nor the
    simulator (nor sqlite3) at import time."""
    modules = ("service", "transport", "client", "pretrade", "paper", "signing")
    assert loaded_after("\n".join(f"import binance_margin_mcp.{m}" for m in modules)) == []


def test_a_built_server_has_not_loaded_httpx_or_the_simulators_front_end(tmp_path):
    """Building the whole server (what answers tools/list) loads no HTTP client and no paper exchange front end."""
    tools_md = write_tools_md(tmp_path / "T.md", [account_block("practice", TEST_KEY, TEST_SECRET, "Testnet")])
    code = (
        "from binance_margin_mcp.app import build_server\nfrom binance_margin_mcp.settings import Settings\n"
        f"build_server(Settings(tools_md={str(tools_md)!r}, paper_state=':memory:', journal_path=None))\n"
        "assert 'binance_margin_mcp.simulator.http' not in sys.modules"
    )
    loaded = loaded_after(code)
    assert "httpx" not in loaded and "httpcore" not in loaded


def test_hmac_signing_never_loads_cryptography_and_rsa_does():
    """HMAC uses the standard library (the known-answer vector is pinned in test_signing)."""
    hmac_only = "from binance_margin_mcp.signing import make_signer\nmake_signer('HMAC', secret='s').sign(b'x=1')"
    assert "cryptography" not in loaded_after(hmac_only)
    pem = "from binance_margin_mcp.signing import make_signer\nfrom pathlib import Path\n"
    pem += "try:\n    make_signer('RSA', private_key_file=Path('/nonexistent.pem'))\nexcept Exception:\n    pass"
    assert "cryptography" in loaded_after(pem)


async def test_the_paper_exchange_opens_on_the_first_paper_call(tmp_path: Path):
    """No state file is touched at start; the first paper call creates it and answers from it."""
    state = tmp_path / "paper" / "paper.sqlite"
    settings = Settings(tools_md=tmp_path / "absent.md", paper_state=str(state), journal_path=None)
    service = build_service(settings)
    async with Client(build_mcp_server(build_pipeline(service, settings))) as client:
        listed = await client.list_tools()
        assert listed.tools and not state.parent.exists()
        result = await client.call_tool("get_cross_margin_account", {})
    assert not result.is_error and state.exists()
    service.venue.close()


def test_the_warm_up_builds_one_tls_context_for_every_host():
    """warm_up() builds the TLS context on a thread at once (httpx's imports wait there until start-up is over,
    or until the first request asks); clients then share that one context."""
    http = BinanceHttp()
    http.warm_up()
    assert http._warming is not None
    deadline = time.monotonic() + 30
    while http._tls is None and time.monotonic() < deadline:
        time.sleep(0.01)
    context = http._tls
    assert context is not None
    first, second = http._client("https://api.binance.com"), http._client("https://testnet.binance.vision")
    assert http._tls is context and not http._warming.is_alive()  # the first client woke it and waited for it
    assert first._transport._pool._ssl_context is context is second._transport._pool._ssl_context


def test_an_injected_transport_needs_no_warm_up():
    """Tests and the in-process paper route never start the thread."""
    from fakes.fake_binance import FakeBinance

    http = BinanceHttp(FakeBinance().transport())
    http.warm_up()
    assert http._warming is None
